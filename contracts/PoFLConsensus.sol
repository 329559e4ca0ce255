// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IPoFLHoldout, IPoFLHoldoutHooks} from "./IPoFLHoldout.sol";

/// @title PoFLConsensus (v2): Proof-of-Federated-Learning rounds whose blocks no minority can fake, steal or block
/// @notice Each round, miners commit to (model digest, claimed accuracy) while their models stay private, then
/// reveal and publish them. The best eligible claim is measured by a committee drawn among the round's other
/// committers from the hash of a block that did not exist when the reveals ended; every seat reports the
/// accuracy it measured and the block records the median report. Two thirds of the reports decide: a claim that
/// 2/3 measured more than the tolerance below it is slashed, one that 2/3 confirm is accepted, and a split
/// committee disputes it (nothing is paid or slashed, and no lower claim wins the round). A report further
/// than the tolerance from the median of a decided claim costs the reporter part of its stake; an unused seat or
/// an unrevealed commitment forfeits a bond. Without a quorum of reports the next-best claim is validated; after
/// an accepted claim, every claim that could still beat its median is validated too, and the highest median
/// becomes the block. Fewer than `minCommittee` seats means no block.
/// @dev Design:
/// - Privacy and priority: the commitment binds keccak256(round, digest, cidKind, accuracy, salt, miner), so a
///   model needs to be published only in the reveal phase. Every revealed digest is recorded with its round and
///   owner (one slot, which also holds the claim): a digest revealed in an earlier round (or the genesis) is
///   ineligible, and within a round the earlier committer owns it (a later committer's copy is voided even if
///   revealed first).
/// - Committee randomness follows EIP-4399's advice to roll the dice with randomness fixed after every choice
///   it decides: the pool of seats is the round's committers (fixed when commits end), and when the reveals end
///   (every reveal made or not) the contract fixes `seedBlock = block.number + seedLookahead`; seats are drawn
///   from blockhash(seedBlock) once that block exists, by a partial Fisher-Yates shuffle of the committers other
///   than the candidate and those already excluded. Neither revealing nor timing a transaction selects a seat.
///   Residual: the producer of block `seedBlock` could grind its hash (PREVRANDAO would leave it one bit; a
///   header proof of it, OpenZeppelin's BlockHeader, is the upgrade path); use a larger lookahead where block
///   producers may also mine here. If nobody draws within 256 blocks, a new seed block is fixed ahead.
/// - Decision: two thirds decide, the median is recorded. A report "agrees" when it is at least the claim minus
///   the tolerance. At least 2/3 of the reports agreeing, and 2/3 within the tolerance of their lower median
///   (so that the median is a measurement, not a coalition's number), accepts the claim at that median; at
///   least 2/3 disagreeing rejects it (whole stake slashed); anything else is a dispute: nobody is slashed or
///   penalized, the claim makes no block and the round's search ends (no lower claim profits from it).
///   Misreports are penalized only where 2/3 of the reports lie within the tolerance of the median. A seat
///   that withholds its report forfeits a bond, sits no more this round and its own claim becomes ineligible
///   (silence cannot steer the block to its claim). With >= 2/3 honest seats and quorumBps <= 6666 the honest
///   seats alone reach the quorum and are 2/3 of the reports, so they decide and the median is an honest
///   measurement: a coalition below 1/3 of the seats cannot fake, reject or stall a block. A coalition below
///   2/3 that reports falsely can neither slash an honest claim, nor have a false one accepted or recorded,
///   nor have honest seats penalized: the most it can do is a dispute. (One at or above 1/3 can still stall a
///   round by withholding reports, at a bond a seat; without a quorum the next-best claim is validated.)
/// - Accounting: penalties go to the reward pool; miners under `minStake` are evicted when their round closes
///   (the rest of their stake is credited to them); ETH held >= totalStaked + rewardPool + totalPendingRewards
///   (equal unless someone force-feeds the contract with SELFDESTRUCT: that surplus is nobody's).
/// - Activity: a miner is active while it committed (or joined) in this round or the previous one; only active
///   miners count for early phase ends and for the MAX_MINERS cap. `_setLastRound` is the only writer of the
///   activity counters (`_openRound` shifts them by one round).
/// - Configuration: owner changes go to `nextConfig()` and are copied into the round's snapshot when the next
///   round opens. Ownership is two-step (OpenZeppelin Ownable2Step).
/// - Hold-out mode (a `PoFLHoldout` task named at deployment, which names this contract back): round r is judged
///   on the task's shard r - 1. Commitments bind the model only (accuracy 0): nothing can be measured before
///   the shard's key is public. The task reveals the key only once the commits have closed and only for a
///   round with enough commitments for a committee (`onKeyRevealed`, which hands out shards in order and opens
///   a full reveal window); reveals before it are refused. Claims need only reach the threshold at reveal;
///   "must beat the parent" needs 2/3 of the seats to measure the candidate above the parent on the same shard
///   (`voteOnShard`; `ParentMeasured` reports the parent's median). A key missing when the reveal window ends
///   fails the round (`KeyMissing`): no bond is forfeited, the task pays the committers from the requester's
///   bond and the shard, still sealed, judges a later round; a round with too few commitments for a committee
///   ends without a key, a payment or a shard. Commits are refused while no shard is left (`PoFLNoShard`).
/// - Gas: commit, reveal and vote are O(1); loops over the round's committers (at most MAX_MINERS) run only in
///   `finalize`, in drawing a committee and in the rare reveal that takes a copied digest back. Per-round bitmaps
///   keep a sentinel bit so that no round action writes a zero slot.
contract PoFLConsensus is IPoFLConsensus, IPoFLHoldoutHooks, Ownable2Step, ReentrancyGuard {
    using EnumerableSet for EnumerableSet.AddressSet;

    // -------------------------------------------------------------- constants

    /// @notice The most active miners, and so the most commitments in one round; bounds every loop.
    uint256 public constant MAX_MINERS = 255;
    /// @notice Basis points in 1.0.
    uint16 public constant BPS = 10000;
    /// @notice Largest allowed tolerance.
    uint16 public constant MAX_TOLERANCE_BPS = 1000;
    /// @notice Largest allowed quorum (2/3 of the seats, rounded down).
    uint16 public constant MAX_QUORUM_BPS = 6666;
    /// @notice Largest allowed seed lookahead (blocks); the seed block's hash must stay readable (256 blocks).
    uint16 public constant MAX_SEED_LOOKAHEAD = 128;

    /// @dev Bit 255 of every per-round bitmap: never a position (positions < MAX_MINERS), always set.
    uint256 private constant SENTINEL = 1 << 255;

    // ------------------------------------------------------------------ types

    /// @dev The live round, one slot: read (and mostly written) by every round action.
    struct RoundState {
        uint48 round;
        Phase phase;
        uint16 commits;
        uint16 reveals;
        uint16 votes;
        uint16 seats;
        uint16 candidate; // commit position + 1 of the best claim / the claim under validation; 0 = none
        uint16 candidateBps;
        uint16 attempt;
        uint16 activeNow; // miners whose lastRound is this round
        uint16 activePrev; // miners whose lastRound is the previous round
        uint16 headBps; // the head block's accuracy when the round opened
        uint40 deadline; // of the recorded phase; 0 = none yet
        bool keyRevealed; // hold-out mode: this round's shard key is public
        bool shardReady; // hold-out mode: a shard judges this round
    }

    /// @dev The rest of the live round.
    struct RoundExtra {
        uint64 seedBlock;
        uint40 openedAt;
        uint16 best; // commit position + 1 of the accepted claim with the highest median; 0 = none
        uint16 bestBps;
        uint16 penalized; // penalties this round (a non-zero count makes the round's close look for evictions)
        uint16 quorum;
    }

    /// @dev The owner-adjustable parameters, snapshotted per round.
    struct Params {
        uint16 toleranceBps;
        uint16 quorumBps;
        uint16 committeeSize;
        uint16 minCommittee;
        uint16 misreportPenaltyBps;
        uint32 commitDuration;
        uint32 revealDuration;
        uint32 validationDuration;
        uint96 missBond;
    }

    /// @dev What a miner's record says of its claim in `lastRound`: nothing, a commitment (revealed if the digest
    /// in its seal records it as owner), or a reveal of a digest that another claim owns.
    enum Sealed {
        None,
        Committed,
        Reused
    }

    /// @dev One slot per miner: its stake and activity, its position and report in its last round.
    struct Miner {
        uint96 stake;
        uint48 lastRound;
        uint16 position;
        uint16 reportBps;
        uint16 parentReportBps; // hold-out mode: the parent block's accuracy on this round's shard
        uint16 reportAttempt;
        uint16 reusedBps; // the claimed accuracy of a Reused reveal
        Sealed seal;
        CidKind reusedKind;
        bool registered;
    }

    /// @dev One slot per revealed digest: who owns it and its claim. Written once per reveal (the digest
    /// registry and the claim in one SSTORE); a status other than None marks the digest as used.
    struct DigestClaim {
        address miner;
        uint32 round;
        uint16 claimBps;
        ClaimStatus status;
        CidKind cidKind;
        bool eligible;
    }

    struct StoredBlock {
        uint64 round;
        address miner;
        uint16 accuracyBps;
        CidKind cidKind;
        bytes32 digest;
        bytes32 blockHash;
    }

    // -------------------------------------------------------------- immutables

    uint16 private immutable _thresholdBps;
    bool private immutable _requireImprovement;
    uint16 private immutable _seedLookahead;
    uint96 private immutable _minStake;
    bytes32 private immutable _evalSetHash;
    bytes32 private immutable _architectureId;
    IPoFLHoldout private immutable _holdout; // zero: public evaluation

    // ------------------------------------------------------------------ state

    Params private _nextParams;
    uint96 private _nextBlockReward;
    Params private _params;
    uint96 private _blockReward;

    RoundState private _round;
    RoundExtra private _extra;
    uint256 private _seatBits; // SENTINEL | 1 << position of every seat of the current committee
    uint256 private _excludedBits; // SENTINEL | positions that may no longer sit this round
    uint256 private _shardsUsed; // hold-out mode: shards whose key was revealed (the next round gets this index)
    bytes32 private _seed;
    address[MAX_MINERS] private _pool; // commit position -> miner, this round (positions 0..commits-1)

    mapping(address account => Miner) private _miners;
    mapping(address miner => bytes32) private _seals; // the commitment until revealed, then the digest
    mapping(bytes32 digest => DigestClaim) private _digests;
    EnumerableSet.AddressSet private _registry;
    StoredBlock[] private _blocks;

    /// @notice Wei staked by all miners.
    uint256 public totalStaked;
    /// @notice Wei available for block rewards (funding, penalties and slashes).
    uint256 public rewardPool;
    /// @notice Wei credited to accounts (rewards, refunds of evicted stake) and not yet withdrawn.
    uint256 public totalPendingRewards;
    /// @notice Wei credited to each account and not yet withdrawn.
    mapping(address account => uint256) public pendingRewards;

    // ------------------------------------------------------------ constructor

    /// @notice Deploys the consensus with its configuration and genesis model; opens round 1.
    /// @param config_ the protocol parameters (see `Config`)
    /// @param genesisDigest sha2-256 digest of the initial model every miner starts from
    /// @param genesisKind how the genesis digest becomes its CID
    /// @param holdout_ the hold-out task judging the rounds (its `consensus()` must be this contract), or zero
    /// for public evaluation (every miner measures on the evaluation set `evalSetHash` names)
    /// @dev `msg.value` seeds the reward pool.
    constructor(Config memory config_, bytes32 genesisDigest, CidKind genesisKind, address holdout_)
        payable
        Ownable(msg.sender)
    {
        _checkConfig(config_);
        if (holdout_ != address(0) && IPoFLHoldout(holdout_).consensus() != address(this)) {
            revert PoFLInvalidConfig(ConfigField.Holdout);
        }
        _holdout = IPoFLHoldout(holdout_);
        if (genesisDigest == bytes32(0)) revert PoFLEmptyDigest();
        _thresholdBps = config_.thresholdBps;
        _requireImprovement = config_.requireImprovement;
        _seedLookahead = config_.seedLookahead;
        _minStake = config_.minStake;
        _evalSetHash = config_.evalSetHash;
        _architectureId = config_.architectureId;
        _storeConfig(config_);

        bytes32 genesisHash = _hashBlock(bytes32(0), 0, address(0), genesisDigest, genesisKind, 0);
        _blocks.push(StoredBlock(0, address(0), 0, genesisKind, genesisDigest, genesisHash));
        _digests[genesisDigest] = DigestClaim(address(0), 0, 0, ClaimStatus.Accepted, genesisKind, false);
        emit BlockFinalized(0, 0, address(0), genesisDigest, genesisKind, 0, bytes32(0), genesisHash, 0);
        if (msg.value > 0) {
            rewardPool = msg.value;
            emit RewardsFunded(msg.sender, msg.value);
        }
        _openRound(1);
    }

    // ----------------------------------------------------------------- miners

    /// @notice Registers the caller as a miner with `msg.value` (at least minStake) as stake.
    /// @dev The new miner is active from this round (it counts for the commit phase's early end).
function register() external payable {
        Miner storage m = _miners[msg.sender];
        if (m.registered) revert PoFLAlreadyRegistered(msg.sender);
        if (msg.value < _minStake) revert PoFLStakeTooLow(msg.value, _minStake);
        m.registered = true;
        m.stake = SafeCast.toUint96(msg.value);
        _setLastRound(m, _round.round);
        _registry.add(msg.sender);
        totalStaked += msg.value;
        emit MinerRegistered(msg.sender, msg.value);
    }

    /// @notice Adds `msg.value` to the caller's stake (a margin above minStake absorbs bonds and penalties).
    function addStake() external payable {
        Miner storage m = _miners[msg.sender];
        if (!m.registered) revert PoFLNotAMiner(msg.sender);
        if (msg.value == 0) revert PoFLZeroValue();
        uint96 stake = m.stake + SafeCast.toUint96(msg.value);
        m.stake = stake;
        totalStaked += msg.value;
        emit StakeAdded(msg.sender, msg.value, stake);
    }

    /// @notice Leaves the miner set and pays back the caller's stake and credit.
    /// @dev Only in the Commit phase of a round the caller has not committed to: every penalty of earlier
    /// rounds is settled when they close, so leaving never escapes one.
function leave() external nonReentrant {
        Miner storage m = _miners[msg.sender];
        if (!m.registered) revert PoFLNotAMiner(msg.sender);
        _advance();
        RoundState storage s = _round;
        if (s.phase != Phase.Commit) revert PoFLWrongPhase(Phase.Commit, s.phase);
        if (m.lastRound == s.round && m.seal != Sealed.None) revert PoFLAlreadyCommitted(s.round, msg.sender);
        uint256 stake = m.stake;
        uint256 credit = pendingRewards[msg.sender];
        totalStaked -= stake;
        pendingRewards[msg.sender] = 0;
        totalPendingRewards -= credit;
        _removeMiner(msg.sender);
        emit MinerLeft(msg.sender, stake, credit);
        if (s.commits > 0 && s.commits >= uint256(s.activeNow) + s.activePrev) {
            _setPhase(Phase.Reveal, uint40(block.timestamp) + _params.revealDuration);
        }
        Address.sendValue(payable(msg.sender), stake + credit);
    }

    /// @notice Adds `msg.value` to the pool that pays block rewards.
    function fundRewards() external payable {
        if (msg.value == 0) revert PoFLZeroValue();
        rewardPool += msg.value;
        emit RewardsFunded(msg.sender, msg.value);
    }

    /// @notice Pays the caller its credit: block rewards and the stake refunded on eviction.
    function withdrawRewards() external nonReentrant {
        uint256 amount = pendingRewards[msg.sender];
        if (amount == 0) revert PoFLNothingToWithdraw(msg.sender);
        pendingRewards[msg.sender] = 0;
        totalPendingRewards -= amount;
        emit RewardsWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ----------------------------------------------------------------- rounds

    /// @notice Commits to a claim for `round` without revealing it (the model stays private).
    /// @param round must be the current round (guards against acting on a stale one)
    /// @param commitment `computeCommitment(round, digest, cidKind, accuracyBps, salt, msg.sender)`
    /// @dev An inactive miner becomes active again (if the MAX_MINERS cap allows). The commit phase ends
    /// early once every active miner has committed.
function commit(uint64 round, bytes32 commitment) external {
        if (commitment == bytes32(0)) revert PoFLEmptyCommitment();
        Miner storage m = _miners[msg.sender];
        if (!m.registered) revert PoFLNotAMiner(msg.sender);
        RoundState storage s = _currentRound(round, Phase.Commit);
        if (address(_holdout) != address(0) && !s.shardReady) {
            if (!_holdout.shardAvailable(_shardsUsed)) revert PoFLNoShard(round);
            s.shardReady = true;
        }
        if (m.lastRound == round) {
            if (m.seal != Sealed.None) revert PoFLAlreadyCommitted(round, msg.sender);
        } else {
            _setLastRound(m, round);
        }
        uint16 position = s.commits;
        _pool[position] = msg.sender;
        _seals[msg.sender] = commitment;
        (m.position, m.seal, m.reportAttempt) = (position, Sealed.Committed, 0);
        s.commits = position + 1;
        if (position == 0) {
            s.deadline = uint40(block.timestamp) + _params.commitDuration;
            emit PhaseChanged(round, Phase.Commit, s.deadline);
        }
        emit Committed(round, msg.sender);
        if (position + 1 >= uint256(s.activeNow) + s.activePrev) {
            _setPhase(Phase.Reveal, uint40(block.timestamp) + _params.revealDuration);
        }
    }

    /// @notice Reveals the committed claim; publish the model (under its CID) now, not before.
    /// @param round must be the current round
    /// @param digest the sha2-256 digest the model's CID carries
    /// @param cidKind how the digest becomes the CID
    /// @param accuracyBps the accuracy the miner measured on the evaluation set (hold-out mode: on the round's
    /// shard)
    /// @param parentBps hold-out mode: the parent (head) block's accuracy on the round's shard, as the miner
    /// measured it (ignored in public mode: pass 0)
    /// @param salt the secret salt of the commitment
    /// @dev Eligible: at or above the threshold, above the parent's accuracy (with requireImprovement: the head
    /// block's recorded accuracy, or in hold-out mode `parentBps`; the committee then checks the parent on the
    /// shard itself, so a low `parentBps` buys nothing) and a digest not revealed before (see the contract's
    /// notes). The best eligible claim (ties: earliest commit) is the first candidate. The reveal phase ends
    /// early once every committer has revealed.
function reveal(uint64 round, bytes32 digest, CidKind cidKind, uint16 accuracyBps, uint16 parentBps, bytes32 salt)
        external
    {
        RoundState storage s = _currentRound(round, Phase.Reveal);
        bool holdout = address(_holdout) != address(0);
        if (holdout && !s.keyRevealed) revert PoFLShardKeyPending(round);
        Miner storage m = _miners[msg.sender];
        if (!m.registered || m.lastRound != round || m.seal == Sealed.None) revert PoFLNotCommitted(round, msg.sender);
        if (accuracyBps > BPS) revert PoFLAccuracyOutOfRange(accuracyBps);
        if (digest == bytes32(0)) revert PoFLEmptyDigest();
        bytes32 committed = _seals[msg.sender];
        bytes32 opened = computeCommitment(round, digest, cidKind, holdout ? 0 : accuracyBps, salt, msg.sender);
        if (opened != committed) {
            // after a reveal the seal is the digest: a second reveal cannot open it
            if (m.seal == Sealed.Reused || _claimAt(round, m.position).status != ClaimStatus.None) {
                revert PoFLAlreadyRevealed(round, msg.sender);
            }
            revert PoFLRevealMismatch(committed, opened);
        }
        _seals[msg.sender] = digest;
        uint16 position = m.position;

        (bool fresh, bool voidedCandidate) = _takeDigest(round, position, digest);
        bool eligible =
            fresh && accuracyBps >= _thresholdBps && (!_requireImprovement || accuracyBps > (holdout ? parentBps : s.headBps));
        if (fresh) {
            _digests[digest] = DigestClaim(
                msg.sender, SafeCast.toUint32(round), accuracyBps, ClaimStatus.Revealed, cidKind, eligible
            );
        } else {
            (m.seal, m.reusedBps, m.reusedKind) = (Sealed.Reused, accuracyBps, cidKind);
        }
        emit Revealed(round, msg.sender, digest, cidKind, accuracyBps, eligible);

        if (voidedCandidate) {
            (s.candidate, s.candidateBps) = _bestClaim(round, false, 0);
        } else if (eligible) {
            uint16 candidate = s.candidate;
            uint16 candidateBps = s.candidateBps;
            if (
                candidate == 0 || accuracyBps > candidateBps
                    || (accuracyBps == candidateBps && position < candidate - 1)
            ) (s.candidate, s.candidateBps) = (position + 1, accuracyBps);
        }
        uint16 reveals = s.reveals + 1;
        s.reveals = reveals;
        if (reveals == s.commits) _closeReveal();
    }

    /// @notice Reports the accuracy the caller measured for the claim under validation.
    /// @param round must be the current round
    /// @param attempt the validation measured (`roundInfo(round).attempt`; guards against a candidate that
    /// changed since the caller measured it)
    /// @param measuredBps the accuracy measured on the evaluation set (0 for a model that cannot be fetched)
    /// @dev Only seats of the drawn committee report; the first report after the seed block is mined may draw
    /// the committee. Validation ends early once every seat has reported.
function vote(uint64 round, uint16 attempt, uint16 measuredBps) external {
        _vote(round, attempt, measuredBps, 0);
    }

    /// @notice Hold-out mode: reports the accuracy measured on the round's shard for the candidate and for the
    /// parent (head) block's model, so that "must beat the parent" compares measurements on the same data.
    /// @param round must be the current round
    /// @param attempt must be the current validation
    /// @param measuredBps the candidate's accuracy on the round's shard (0 if its model cannot be fetched)
    /// @param parentBps the head block's accuracy on the same shard (recorded but unused in public mode)
    function voteOnShard(uint64 round, uint16 attempt, uint16 measuredBps, uint16 parentBps) external {
        if (parentBps > BPS) revert PoFLAccuracyOutOfRange(parentBps);
        _vote(round, attempt, measuredBps, parentBps);
    }

    /// @inheritdoc IPoFLHoldoutHooks
    /// @dev Only the hold-out task, and only once the round's commits have closed: the reveal window (a full
    /// `revealDuration`) starts now.
    function onKeyRevealed(uint64 round) external returns (uint256 index) {
        if (msg.sender != address(_holdout)) revert PoFLNotHoldout(msg.sender);
        RoundState storage s = _currentRound(round, Phase.Reveal);
        if (s.keyRevealed) revert IPoFLHoldout.PoFLHoldoutKeyAlreadyRevealed(_shardsUsed - 1);
        if (s.commits <= _params.minCommittee) revert PoFLTooFewCommits(s.commits, _params.minCommittee + 1);
        index = _shardsUsed++;
        s.keyRevealed = true;
        _setPhase(Phase.Reveal, uint40(block.timestamp) + _params.revealDuration);
    }

    /// @notice Hold-out mode: the index of the shard the current round gets when its key is revealed (shards
    /// are used in order, each by exactly one round; a round whose key is never revealed uses none).
    function shardsUsed() external view returns (uint256) {
        return _shardsUsed;
    }

    function _vote(uint64 round, uint16 attempt, uint16 measuredBps, uint16 parentBps) private {
        RoundState storage s = _currentRound(round, Phase.Validation);
        uint16 seats = s.seats;
        if (seats == 0) revert PoFLCommitteePending(_extra.seedBlock);
        if (attempt != s.attempt) revert PoFLStaleValidation(s.attempt, attempt);
        Miner storage m = _miners[msg.sender];
        if (m.lastRound != round || m.seal == Sealed.None || (_seatBits >> m.position) & 1 == 0) {
            revert PoFLNotInCommittee(round, msg.sender);
        }
        if (m.reportAttempt == attempt) revert PoFLAlreadyVoted(round, msg.sender);
        if (measuredBps > BPS) revert PoFLAccuracyOutOfRange(measuredBps);
        (m.reportAttempt, m.reportBps, m.parentReportBps) = (attempt, measuredBps, parentBps);
        uint16 votes = s.votes + 1;
        s.votes = votes;
        emit Voted(round, msg.sender, attempt, measuredBps);
        if (votes == seats) _setPhase(Phase.Finalize, 0);
    }

    /// @notice Records what deadlines and the seed block have made happen (phase changes, the committee draw).
    /// Anyone may call it; every action does the same first.
    function advance() external {
        _advance();
    }

    /// @notice Decides the claim under validation and then opens the next validation, or appends the block
    /// (the accepted claim with the highest median) or records a failed round, and opens the next round.
    /// Anyone may call it in the Finalize phase.
    /// @dev Decision ("agreeing": reports at least the claim minus the tolerance; "clustered": 2/3 of the reports
    /// within the tolerance of their lower median): fewer reports than the quorum -> NoQuorum; >= 2/3 agreeing
    /// and clustered -> Unimproved when the median is under the threshold or (with requireImprovement) does not
    /// beat the parent, else Accepted at the median; >= 2/3 not agreeing -> Rejected (whole stake slashed);
    /// otherwise Disputed (no slash, no penalty, the search ends). Seats that did not report forfeit missBond
    /// and their own claims' eligibility; where clustered, reports further than the tolerance from the median
    /// cost misreportPenaltyBps of the reporter's stake. The next candidate is the best unvalidated eligible
    /// claim that could still beat the best median.
function finalize() external {
        _advance();
        RoundState storage s = _round;
        if (s.phase != Phase.Finalize) revert PoFLWrongPhase(Phase.Finalize, s.phase);
        if (s.attempt == 0) {
            FailReason reason = s.candidate == 0 ? FailReason.NoEligibleClaim : FailReason.NoCommittee;
            if (address(_holdout) != address(0) && !s.keyRevealed) {
                // no key, so nothing could be measured or revealed: a round with a possible committee is the
                // requester's failure (it pays); one without is nobody's (and uses no shard)
                reason = s.commits > _params.minCommittee ? FailReason.KeyMissing : FailReason.NoCommittee;
            }
            _endRound(reason);
            return;
        }
        bool settled = _decide();
        (uint16 next, uint16 nextBps) = settled ? (0, 0) : _bestClaim(s.round, _extra.best != 0, _extra.bestBps);
        if (next != 0 && _popcount(_available(next)) >= _params.minCommittee) {
            (s.candidate, s.candidateBps) = (next, nextBps);
            _openValidation();
        } else {
            _endRound(next != 0 ? FailReason.NoCommittee : FailReason.NoAcceptedClaim);
        }
    }

    // ------------------------------------------------------------------ admin

    /// @notice Sets the phase durations (seconds, each > 0); they apply from the next round.
    function setPhaseDurations(uint32 commitSeconds, uint32 revealSeconds, uint32 validationSeconds)
        external
        onlyOwner
    {
        Config memory c = nextConfig();
        (c.commitDuration, c.revealDuration, c.validationDuration) = (commitSeconds, revealSeconds, validationSeconds);
        _storeConfig(c);
    }

    /// @notice Sets the validation rules; they apply from the next round.
    function setValidation(uint16 toleranceBps, uint16 quorumBps, uint16 committeeSize, uint16 minCommittee)
        external
        onlyOwner
    {
        Config memory c = nextConfig();
        (c.toleranceBps, c.quorumBps, c.committeeSize, c.minCommittee) =
            (toleranceBps, quorumBps, committeeSize, minCommittee);
        _storeConfig(c);
    }

    /// @notice Sets the bond for an unrevealed commitment or unused seat and the misreport penalty; they apply
    /// from the next round.
    function setPenalties(uint96 missBond, uint16 misreportPenaltyBps) external onlyOwner {
        Config memory c = nextConfig();
        (c.missBond, c.misreportPenaltyBps) = (missBond, misreportPenaltyBps);
        _storeConfig(c);
    }

    /// @notice Sets the reward credited for each block; it applies from the next round.
    function setBlockReward(uint96 reward) external onlyOwner {
        Config memory c = nextConfig();
        c.blockReward = reward;
        _storeConfig(c);
    }

    // ------------------------------------------------------------------ views

    /// @notice The hold-out task judging the rounds (zero: public evaluation).
    function holdout() external view returns (address) {
        return address(_holdout);
    }

    /// @notice The commitment a miner sends in `commit` (in hold-out mode with `accuracyBps` 0: the accuracy is
    /// measured on the round's shard after commits close, and declared in `reveal`).
    function computeCommitment(
        uint64 round,
        bytes32 digest,
        CidKind cidKind,
        uint16 accuracyBps,
        bytes32 salt,
        address miner
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(round, digest, cidKind, accuracyBps, salt, miner));
    }

    /// @notice The round now open.
    function currentRound() external view returns (uint64) {
        return _round.round;
    }

    /// @notice The configuration in force in the current round.
    function config() external view returns (Config memory) {
        return _config(_params, _blockReward);
    }

    /// @notice The configuration that applies from the next round (the owner's latest settings).
    function nextConfig() public view returns (Config memory) {
        return _config(_nextParams, _nextBlockReward);
    }

    /// @notice The current round, its effective phase now (deadlines included) and that phase's deadline
    /// (0: none yet, as before the first commit, before the committee is drawn, or in Finalize).
    function currentPhase() external view returns (uint64 round, Phase phase, uint64 deadline) {
        (phase, deadline) = _effectivePhase();
        round = _round.round;
    }

    /// @notice The state of the current round; reverts for any other round.
function roundInfo(uint64 round) external view returns (RoundInfo memory info) {
        RoundState storage s = _round;
        if (round != s.round) revert PoFLWrongRound(s.round, round);
        RoundExtra storage x = _extra;
        (info.phase, info.deadline) = _effectivePhase();
        info.round = round;
        info.commits = s.commits;
        info.reveals = s.reveals;
        info.votes = s.votes;
        info.seats = s.seats;
        info.quorum = s.seats == 0 ? 0 : x.quorum;
        info.attempt = s.attempt;
        info.candidate = s.candidate == 0 ? address(0) : _pool[s.candidate - 1];
        info.candidateBps = s.candidateBps;
        info.seedBlock = s.attempt == 0 ? 0 : x.seedBlock;
        info.seed = s.seats == 0 ? bytes32(0) : _seed;
        info.best = x.best == 0 ? address(0) : _pool[x.best - 1];
        info.bestBps = x.bestBps;
        info.headBps = s.headBps;
        info.activeMiners = s.activeNow + s.activePrev;
    }

    /// @notice `miner`'s claim in `round` (empty unless it is the miner's last round with a commitment).
function claimOf(uint64 round, address miner) external view returns (Claim memory claim) {
        Miner storage m = _miners[miner];
        if (!m.registered || m.lastRound != round || m.seal == Sealed.None) return claim;
        bytes32 seal = _seals[miner];
        claim.position = m.position;
        DigestClaim storage d = _digests[seal];
        if (d.miner == miner && d.round == round && d.status != ClaimStatus.None) {
            (claim.status, claim.eligible, claim.accuracyBps, claim.cidKind, claim.digest) =
                (d.status, d.eligible, d.claimBps, d.cidKind, seal);
        } else if (m.seal == Sealed.Reused) {
            (claim.status, claim.accuracyBps, claim.cidKind, claim.digest) =
                (ClaimStatus.Revealed, m.reusedBps, m.reusedKind, seal);
        } else {
            (claim.status, claim.commitment) = (ClaimStatus.Committed, seal);
        }
    }

    /// @notice The seats of the committee of `round`'s current candidate (empty until the seed block is mined).
    function committee(uint64 round) external view returns (address[] memory seats) {
        if (round != _round.round) return seats;
        uint256 bits = _viewSeats();
        seats = new address[](_popcount(bits));
        uint256 i;
        for (; bits != 0; bits &= bits - 1) {
            seats[i++] = _pool[_lowestBit(bits)];
        }
    }

    /// @notice Miner `account`'s stake and activity.
function minerInfo(address account) external view returns (MinerInfo memory) {
        Miner storage m = _miners[account];
        return MinerInfo(m.stake, m.lastRound, m.registered, m.registered && m.lastRound + 1 >= _round.round);
    }

    /// @notice All registered miners (active or not).
    function miners() external view returns (address[] memory) {
        return _registry.values();
    }

    /// @notice Miners that committed or joined in this round or the previous one.
    function activeMinerCount() external view returns (uint256) {
        return uint256(_round.activeNow) + _round.activePrev;
    }

    /// @notice Whether `digest` was revealed (or is the genesis), and in which round first.
    function digestUse(bytes32 digest) external view returns (bool used, uint64 round) {
        DigestClaim memory d = _digests[digest];
        return (d.status != ClaimStatus.None, d.round);
    }

    /// @notice The number of blocks, genesis included.
    function blockCount() external view returns (uint256) {
        return _blocks.length;
    }

    /// @notice The block at `height` (0 = genesis).
    function blockAt(uint256 height) public view returns (Block memory) {
        if (height >= _blocks.length) revert PoFLBlockNotFound(height);
        StoredBlock memory b = _blocks[height];
        bytes32 parentHash = height == 0 ? bytes32(0) : _blocks[height - 1].blockHash;
        return Block(uint64(height), b.round, b.miner, b.accuracyBps, b.cidKind, b.digest, parentHash, b.blockHash);
    }

    /// @notice The newest block.
    function latestBlock() external view returns (Block memory) {
        return blockAt(_blocks.length - 1);
    }

    // -------------------------------------------------------- phase machinery

    /// @dev Records deadline-driven changes, then checks `round` and that the phase is `expected`.
function _currentRound(uint64 round, Phase expected) private returns (RoundState storage s) {
        _advance();
        s = _round;
        if (round != s.round) revert PoFLWrongRound(s.round, round);
        if (s.phase != expected) revert PoFLWrongPhase(expected, s.phase);
    }

    /// @dev The phase that deadlines and the seed block make of the recorded one (what `_advance` records).
function _effectivePhase() private view returns (Phase phase, uint64 deadline) {
        RoundState storage s = _round;
        phase = s.phase;
        deadline = s.deadline;
        if (phase == Phase.Commit) {
            if (s.commits == 0 || block.timestamp < deadline) return (phase, deadline);
            (phase, deadline) = (Phase.Reveal, deadline + _params.revealDuration);
        }
        if (phase == Phase.Reveal) {
            if (block.timestamp < deadline) return (phase, deadline);
            bool validates = s.candidate != 0 && _popcount(_available(s.candidate)) >= _params.minCommittee;
            return (validates ? Phase.Validation : Phase.Finalize, 0);
        }
        if (phase == Phase.Validation) {
            if (s.seats == 0 || block.timestamp < deadline) return (phase, s.seats == 0 ? 0 : deadline);
            return (Phase.Finalize, 0);
        }
    }

    /// @dev Records what `_effectivePhase` says has happened, and draws the committee once the seed block exists.
function _advance() private {
        RoundState storage s = _round;
        Phase phase = s.phase;
        if (phase == Phase.Commit) {
            if (s.commits == 0 || block.timestamp < s.deadline) return;
            _setPhase(Phase.Reveal, s.deadline + _params.revealDuration);
            phase = Phase.Reveal;
        }
        if (phase == Phase.Reveal) {
            if (block.timestamp < s.deadline) return;
            _closeReveal();
            phase = s.phase;
        }
        if (phase == Phase.Validation) {
            if (s.seats == 0) {
                uint64 seedBlock = _extra.seedBlock;
                if (block.number <= seedBlock) return;
                bytes32 hash = blockhash(seedBlock);
                if (hash == bytes32(0)) {
                    // nobody drew within 256 blocks: fix a new seed block ahead
                    seedBlock = uint64(block.number) + _seedLookahead;
                    _extra.seedBlock = seedBlock;
                    emit ValidationOpened(s.round, _pool[s.candidate - 1], s.candidateBps, s.attempt, seedBlock);
                    return;
                }
                _seed = keccak256(abi.encode(hash, address(this), s.round));
                _drawCommittee();
            }
            if (block.timestamp >= s.deadline) _setPhase(Phase.Finalize, 0);
        }
    }

    /// @dev The reveals are over: validate the best claim, or go to Finalize when there is none or too few seats.
function _closeReveal() private {
        RoundState storage s = _round;
        if (s.candidate == 0 || _popcount(_available(s.candidate)) < _params.minCommittee) {
            _setPhase(Phase.Finalize, 0);
        } else {
            _extra.seedBlock = uint64(block.number) + _seedLookahead;
            _openValidation();
        }
    }

    /// @dev Opens validation of `_round.candidate`. The first of a round waits for its seed block; later ones
    /// draw their committee at once from the round's seed.
function _openValidation() private {
        RoundState storage s = _round;
        uint16 attempt = s.attempt + 1;
        (s.attempt, s.votes, s.seats) = (attempt, 0, 0);
        _setPhase(Phase.Validation, 0);
        _seatBits = SENTINEL;
        emit ValidationOpened(s.round, _pool[s.candidate - 1], s.candidateBps, attempt, _extra.seedBlock);
        if (attempt > 1) _drawCommittee();
    }

    /// @dev Draws the current candidate's seats from the round's seed and opens their reporting window.
function _drawCommittee() private {
        RoundState storage s = _round;
        Params memory p = _params;
        (uint256 bits, uint256 seats) = _committeeBits(_seed, s.attempt, _available(s.candidate), p.committeeSize);
        uint16 quorum = uint16(Math.mulDiv(seats, p.quorumBps, BPS, Math.Rounding.Ceil));
        _seatBits = SENTINEL | bits;
        _extra.quorum = quorum;
        s.seats = uint16(seats);
        uint40 deadline = uint40(block.timestamp) + p.validationDuration;
        emit CommitteeDrawn(s.round, s.attempt, _seed, uint16(seats), quorum, deadline);
        _setPhase(Phase.Validation, deadline);
    }

    /// @dev Records `phase` and its deadline in `s` (the caller stores it) and announces them.
function _setPhase(Phase phase, uint40 deadline) private {
        RoundState storage s = _round;
        (s.phase, s.deadline) = (phase, deadline);
        emit PhaseChanged(s.round, phase, deadline);
    }

    /// @dev The reports on the candidate of the current validation: values, parent values (hold-out mode), and
    /// how many agree with `claimed` (at least claimed - tolerance) and measured the candidate above the parent.
    struct Tally {
        uint256[] reports;
        uint256[] parents;
        uint256 n;
        uint256 agreeing;
        uint256 beating;
    }

    /// @dev Decides the claim under validation (see `finalize`). Returns true when no other claim can beat the
    /// outcome (accepted at its claim, which was the best left), so none is searched for.
    function _decide() private returns (bool settled) {
        RoundState storage s = _round;
        Params memory p = _params;
        uint256 position = s.candidate - 1;
        address claimant = _pool[position];
        DigestClaim storage claim = _digests[_seals[claimant]];
        uint256 seats = _seatBits & ~SENTINEL;
        uint16 claimed = claim.claimBps;
        Tally memory t = _tally(seats, claimed, p);
        ClaimStatus outcome = ClaimStatus.NoQuorum;
        uint16 median;
        if (t.n >= _extra.quorum) {
            median = _lowerMedian(t.reports);
            bool improves = !_requireImprovement || median > s.headBps;
            if (address(_holdout) != address(0)) {
                emit ParentMeasured(s.round, s.attempt, _lowerMedian(t.parents));
                improves = !_requireImprovement || 3 * t.beating >= 2 * t.n;
            }
            // the median is a measurement only where 2/3 of the reports lie within the tolerance of it
            bool clustered = 3 * _within(t, median, p.toleranceBps) >= 2 * t.n;
            if (3 * t.agreeing >= 2 * t.n && clustered) {
                if (median < _thresholdBps || !improves) {
                    outcome = ClaimStatus.Unimproved;
                } else {
                    outcome = ClaimStatus.Accepted;
                    if (_extra.best == 0 || median > _extra.bestBps) {
                        (_extra.best, _extra.bestBps) = (uint16(position + 1), median);
                        settled = median >= claimed;
                    }
                }
            } else if (3 * (t.n - t.agreeing) >= 2 * t.n) {
                outcome = ClaimStatus.Rejected;
                Miner storage c = _miners[claimant];
                _penalize(claimant, c, c.stake, PenaltyReason.FalseClaim);
                _excludedBits |= 1 << position;
            } else {
                outcome = ClaimStatus.Disputed;
                settled = true;
            }
            if (outcome != ClaimStatus.Disputed && clustered) _penalizeMisreports(seats, median, p);
        }
        claim.status = outcome;
        emit ClaimDecided(s.round, claimant, outcome, claimed, median, uint16(t.n), s.seats);
    }

    /// @dev Collects the seats' reports; a seat without one forfeits missBond, sits no more this round and loses
    /// its own claim: its eligibility, and its place as the round's best if it was already accepted
    /// (withholding a report cannot make its own claim the block).
    function _tally(uint256 seats, uint16 claimed, Params memory p) private returns (Tally memory t) {
        RoundState storage s = _round;
        (t.reports, t.parents) = (new uint256[](s.votes), new uint256[](s.votes));
        uint256 excluded = _excludedBits;
        for (uint256 bits = seats; bits != 0; bits &= bits - 1) {
            uint256 seat = _lowestBit(bits);
            address account = _pool[seat];
            Miner storage v = _miners[account];
            if (v.reportAttempt == s.attempt) {
                (t.reports[t.n], t.parents[t.n]) = (v.reportBps, v.parentReportBps);
                ++t.n;
                if (uint256(v.reportBps) + p.toleranceBps >= claimed) ++t.agreeing;
                if (v.reportBps > v.parentReportBps) ++t.beating;
            } else {
                _penalize(account, v, p.missBond, PenaltyReason.MissedVote);
                excluded |= 1 << seat;
                DigestClaim storage own = _digests[_seals[account]];
                if (own.miner == account && own.round == s.round) own.eligible = false;
                if (_extra.best == seat + 1) (_extra.best, _extra.bestBps) = (0, 0); // not even an accepted one
            }
        }
        _excludedBits = excluded;
    }

    /// @dev The number of reports within `tolerance` of `median`.
    function _within(Tally memory t, uint16 median, uint16 tolerance) private pure returns (uint256 close) {
        for (uint256 i = 0; i < t.n; ++i) {
            if (_distance(uint16(t.reports[i]), median) <= tolerance) ++close;
        }
    }

    /// @dev Each report further than the tolerance from `median` costs its seat misreportPenaltyBps of its stake
    /// (and its seat this round). Called only where 2/3 of the reports lie within the tolerance of the median:
    /// without such a majority nobody can tell the honest reports, and nobody is penalized.
    function _penalizeMisreports(uint256 seats, uint16 median, Params memory p) private {
        uint256 excluded = _excludedBits;
        uint16 attempt = _round.attempt;
        for (uint256 bits = seats; bits != 0; bits &= bits - 1) {
            uint256 seat = _lowestBit(bits);
            Miner storage v = _miners[_pool[seat]];
            if (v.reportAttempt == attempt && _distance(v.reportBps, median) > p.toleranceBps) {
                _penalize(_pool[seat], v, Math.mulDiv(v.stake, p.misreportPenaltyBps, BPS), PenaltyReason.Misreport);
                excluded |= 1 << seat;
            }
        }
        _excludedBits = excluded;
    }

    /// @dev Appends the best accepted claim as a block (or records the failure), settles the round's bonds and
    /// evictions, and opens the next round.
    function _endRound(FailReason reasonIfNoBlock) private {
        uint64 round = _round.round;
        uint16 best = _extra.best;
        if (best != 0) {
            _appendBlock(round, _pool[best - 1], _extra.bestBps);
        } else {
            emit RoundFailed(round, reasonIfNoBlock);
        }
        if (reasonIfNoBlock == FailReason.KeyMissing) _holdout.payMissedKey(round, _committers());
        _settleRound(round, address(_holdout) == address(0) || _round.keyRevealed);
        _openRound(round + 1);
    }

    /// @dev The round's committers, in commit order.
    function _committers() private view returns (address[] memory committers) {
        committers = new address[](_round.commits);
        for (uint256 i = 0; i < committers.length; ++i) {
            committers[i] = _pool[i];
        }
    }

    /// @dev Forfeits the bond of every unrevealed commitment (unless nobody could reveal: `forfeit` false) and
    /// evicts every committer under minStake.
    function _settleRound(uint64 round, bool forfeit) private {
        uint256 commits = _round.commits;
        if (_round.reveals == commits && _extra.penalized == 0) return;
        uint96 missBond = _params.missBond;
        for (uint256 position = 0; position < commits; ++position) {
            address account = _pool[position];
            Miner storage m = _miners[account];
            if (forfeit && m.seal != Sealed.Reused && _claimAt(round, position).status == ClaimStatus.None) {
                _penalize(account, m, missBond, PenaltyReason.MissedReveal);
            }
            if (m.stake < _minStake) {
                uint256 refund = m.stake;
                totalStaked -= refund;
                pendingRewards[account] += refund;
                totalPendingRewards += refund;
                _removeMiner(account);
                emit MinerEvicted(account, round, refund);
            }
        }
    }

    function _appendBlock(uint64 round, address miner, uint16 accuracyBps) private {
        bytes32 digest = _seals[miner];
        CidKind cidKind = _digests[digest].cidKind;
        bytes32 parentHash = _blocks[_blocks.length - 1].blockHash;
        bytes32 blockHash = _hashBlock(parentHash, round, miner, digest, cidKind, accuracyBps);
        uint64 height = uint64(_blocks.length);
        _blocks.push(StoredBlock(round, miner, accuracyBps, cidKind, digest, blockHash));
        uint256 reward = Math.min(_blockReward, rewardPool);
        if (reward > 0) {
            rewardPool -= reward;
            pendingRewards[miner] += reward;
            totalPendingRewards += reward;
        }
        emit BlockFinalized(height, round, miner, digest, cidKind, accuracyBps, parentHash, blockHash, reward);
    }

    /// @dev Opens `round` with a snapshot of the owner's configuration.
    function _openRound(uint64 round) private {
        _params = _nextParams;
        _blockReward = _nextBlockReward;
        _round = RoundState({
            round: SafeCast.toUint48(round),
            phase: Phase.Commit,
            commits: 0,
            reveals: 0,
            votes: 0,
            seats: 0,
            candidate: 0,
            candidateBps: 0,
            attempt: 0,
            activeNow: 0,
            activePrev: _round.activeNow,
            headBps: _blocks[_blocks.length - 1].accuracyBps,
            deadline: 0,
            keyRevealed: false,
            shardReady: false
        });
        _extra = RoundExtra({
            seedBlock: 0,
            openedAt: uint40(block.timestamp),
            best: 0,
            bestBps: 0,
            penalized: 0,
            quorum: 0
        });
        _seatBits = SENTINEL;
        _excludedBits = SENTINEL;
        emit RoundOpened(round, uint64(block.timestamp));
    }

    // ---------------------------------------------------- miners and activity

    /// @dev The only writer of the activity counters: moves `m` from its last round to `lastRound` (0 = the
    /// miner leaves the set), in memory (the caller stores both). Reverts when it would make one miner too many
    /// active.
function _setLastRound(Miner storage m, uint64 lastRound) private {
        RoundState storage s = _round;
        uint64 current = s.round;
        uint64 previous = m.lastRound;
        bool wasActive = previous != 0 && previous + 1 >= current;
        if (previous == current) s.activeNow -= 1;
        else if (wasActive) s.activePrev -= 1;
        if (lastRound == current) {
            if (!wasActive && uint256(s.activeNow) + s.activePrev >= MAX_MINERS) revert PoFLTooManyMiners(MAX_MINERS);
            s.activeNow += 1;
        }
        m.lastRound = uint48(lastRound);
    }

function _removeMiner(address account) private {
        _setLastRound(_miners[account], 0);
        _registry.remove(account);
        delete _miners[account];
    }

    /// @dev Moves up to `amount` of `m`'s stake to the reward pool.
    function _penalize(address account, Miner storage m, uint256 amount, PenaltyReason reason) private {
        uint96 taken = uint96(Math.min(amount, m.stake));
        if (taken == 0) return;
        m.stake -= taken;
        totalStaked -= taken;
        rewardPool += taken;
        _extra.penalized += 1;
        emit Penalized(_round.round, account, reason, taken);
    }

    // ---------------------------------------------------------------- claims

    /// @dev Whether the revealing miner `m` may use `digest`: a digest first revealed in an earlier round (or the
    /// genesis) is not; within the round, the earlier committer owns it, and an earlier reveal by a later
    /// committer becomes Reused (then `voidedCandidate` says whether that reveal was the candidate).
function _takeDigest(uint64 round, uint16 position, bytes32 digest)
        private
        returns (bool fresh, bool voidedCandidate)
    {
        DigestClaim memory prior = _digests[digest];
        if (prior.status == ClaimStatus.None) return (true, false);
        Miner storage owner = _miners[prior.miner];
        if (prior.round < round || owner.position < position) {
            emit DigestReused(round, msg.sender, digest, prior.round);
            return (false, false);
        }
        (owner.seal, owner.reusedBps, owner.reusedKind) = (Sealed.Reused, prior.claimBps, prior.cidKind);
        emit DigestReused(round, prior.miner, digest, round);
        return (true, _round.candidate == owner.position + 1);
    }

    /// @dev The revealed claim of position `position` in `round`, if it owns its digest.
    function _claimAt(uint64 round, uint256 position) private view returns (DigestClaim memory d) {
        address miner = _pool[position];
        d = _digests[_seals[miner]];
        if (d.miner != miner || d.round != round) d.status = ClaimStatus.None;
    }

    /// @dev The best revealed, eligible, not yet validated claim (above `floorBps` if `hasFloor`), earliest commit
    /// first on ties, as (position + 1, claimed bps); (0, 0) if none. Bounded by MAX_MINERS.
    function _bestClaim(uint64 round, bool hasFloor, uint16 floorBps)
        private
        view
        returns (uint16 best, uint16 bestBps)
    {
        uint256 commits = _round.commits;
        for (uint256 position = 0; position < commits; ++position) {
            DigestClaim memory d = _claimAt(round, position);
            if (d.status != ClaimStatus.Revealed || !d.eligible) continue;
            if ((hasFloor && d.claimBps <= floorBps) || (best != 0 && d.claimBps <= bestBps)) continue;
            (best, bestBps) = (uint16(position + 1), d.claimBps);
        }
    }

    // -------------------------------------------------------------- committee

    /// @dev Positions that may sit on `candidate`'s (position + 1) committee: the round's committers that are not
    /// excluded, but not the candidate.
    function _available(uint16 candidate) private view returns (uint256) {
        return ((uint256(1) << _round.commits) - 1) & ~_excludedBits & ~(uint256(1) << (candidate - 1));
    }

    /// @dev The seats now: the drawn ones, or those the mined seed block gives (view only), or none.
function _viewSeats() private view returns (uint256) {
        RoundState storage s = _round;
        if (s.phase != Phase.Validation) return 0;
        if (s.seats != 0) return _seatBits & ~SENTINEL;
        uint64 seedBlock = _extra.seedBlock;
        bytes32 hash = blockhash(seedBlock);
        if (block.number <= seedBlock || hash == bytes32(0)) return 0;
        bytes32 seed = keccak256(abi.encode(hash, address(this), s.round));
        (uint256 bits,) = _committeeBits(seed, s.attempt, _available(s.candidate), _params.committeeSize);
        return bits;
    }

    /// @dev `size` seats (0 = all) drawn uniformly from the positions in `available`: a partial Fisher-Yates
    /// shuffle driven by keccak256(seed, attempt, i).
    function _committeeBits(bytes32 seed, uint256 attempt, uint256 available, uint256 size)
        private
        pure
        returns (uint256 bits, uint256 count)
    {
        uint256 n = _popcount(available);
        count = size == 0 || size > n ? n : size;
        if (count == n) return (available, n);
        uint256[] memory positions = new uint256[](n);
        uint256 j;
        for (uint256 rest = available; rest != 0; rest &= rest - 1) {
            positions[j++] = _lowestBit(rest);
        }
        for (uint256 i = 0; i < count; ++i) {
            uint256 k = i + uint256(keccak256(abi.encode(seed, attempt, i))) % (n - i);
            (positions[i], positions[k]) = (positions[k], positions[i]);
            bits |= 1 << positions[i];
        }
    }

    // --------------------------------------------------------------- helpers

    function _config(Params memory p, uint96 blockReward) private view returns (Config memory) {
        return Config({
            thresholdBps: _thresholdBps,
            toleranceBps: p.toleranceBps,
            quorumBps: p.quorumBps,
            committeeSize: p.committeeSize,
            minCommittee: p.minCommittee,
            seedLookahead: _seedLookahead,
            commitDuration: p.commitDuration,
            revealDuration: p.revealDuration,
            validationDuration: p.validationDuration,
            requireImprovement: _requireImprovement,
            misreportPenaltyBps: p.misreportPenaltyBps,
            minStake: _minStake,
            missBond: p.missBond,
            blockReward: blockReward,
            evalSetHash: _evalSetHash,
            architectureId: _architectureId
        });
    }

    /// @dev Validates `c` and stores its adjustable part for the next round.
    function _storeConfig(Config memory c) private {
        _checkConfig(c);
        _nextParams = Params({
            toleranceBps: c.toleranceBps,
            quorumBps: c.quorumBps,
            committeeSize: c.committeeSize,
            minCommittee: c.minCommittee,
            misreportPenaltyBps: c.misreportPenaltyBps,
            commitDuration: c.commitDuration,
            revealDuration: c.revealDuration,
            validationDuration: c.validationDuration,
            missBond: c.missBond
        });
        _nextBlockReward = c.blockReward;
        emit ConfigUpdated(_round.round + 1, c);
    }

    function _checkConfig(Config memory c) private pure {
        if (c.thresholdBps > BPS) revert PoFLInvalidConfig(ConfigField.ThresholdBps);
        if (c.toleranceBps > MAX_TOLERANCE_BPS) revert PoFLInvalidConfig(ConfigField.ToleranceBps);
        if (c.quorumBps <= BPS / 2 || c.quorumBps > MAX_QUORUM_BPS) revert PoFLInvalidConfig(ConfigField.QuorumBps);
        if (c.minCommittee == 0 || c.minCommittee >= MAX_MINERS) revert PoFLInvalidConfig(ConfigField.MinCommittee);
        if (c.committeeSize != 0 && c.committeeSize < c.minCommittee) {
            revert PoFLInvalidConfig(ConfigField.CommitteeSize);
        }
        if (c.commitDuration == 0 || c.revealDuration == 0 || c.validationDuration == 0) {
            revert PoFLInvalidConfig(ConfigField.Duration);
        }
        if (c.seedLookahead == 0 || c.seedLookahead > MAX_SEED_LOOKAHEAD) {
            revert PoFLInvalidConfig(ConfigField.SeedLookahead);
        }
        if (c.minStake == 0) revert PoFLInvalidConfig(ConfigField.MinStake);
        if (c.missBond == 0 || c.missBond > c.minStake) revert PoFLInvalidConfig(ConfigField.MissBond);
        if (c.misreportPenaltyBps > BPS) revert PoFLInvalidConfig(ConfigField.MisreportPenaltyBps);
        if (c.evalSetHash == bytes32(0)) revert PoFLInvalidConfig(ConfigField.EvalSetHash);
        if (c.architectureId == bytes32(0)) revert PoFLInvalidConfig(ConfigField.ArchitectureId);
    }

    function _hashBlock(
        bytes32 parentHash,
        uint64 round,
        address miner,
        bytes32 digest,
        CidKind cidKind,
        uint16 accuracyBps
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(parentHash, round, miner, digest, cidKind, accuracyBps));
    }

    /// @dev The lower median of `values` (each at most BPS): the value of rank (n - 1) / 2, found by counting in
    /// two levels (hundreds, then units) in O(n + 200) whatever the order of the values. (A sort would be
    /// O(n^2) in the worst order with insertion, and OpenZeppelin's Arrays.sort adds 4 KB to a contract that
    /// must stay under the EIP-170 size limit.)
    function _lowerMedian(uint256[] memory values) private pure returns (uint16) {
        uint256 rank = (values.length - 1) / 2;
        uint256[] memory hundreds = new uint256[](BPS / 100 + 1);
        for (uint256 i = 0; i < values.length; ++i) {
            ++hundreds[values[i] / 100];
        }
        uint256 hundred;
        for (; hundreds[hundred] <= rank; ++hundred) {
            rank -= hundreds[hundred];
        }
        uint256[] memory units = new uint256[](100);
        for (uint256 i = 0; i < values.length; ++i) {
            if (values[i] / 100 == hundred) ++units[values[i] % 100];
        }
        uint256 unit;
        for (; units[unit] <= rank; ++unit) {
            rank -= units[unit];
        }
        return uint16(hundred * 100 + unit);
    }

    function _distance(uint16 a, uint16 b) private pure returns (uint256) {
        return a > b ? a - b : b - a;
    }

    /// @dev Index of the lowest set bit of `bits` (non-zero).
    function _lowestBit(uint256 bits) private pure returns (uint256) {
        unchecked {
            return Math.log2(bits & (~bits + 1));
        }
    }

    /// @dev The number of set bits of `x` (SWAR; lane sums stay below 2**16).
    function _popcount(uint256 x) private pure returns (uint256) {
        unchecked {
            x -= (x >> 1) & 0x5555555555555555555555555555555555555555555555555555555555555555;
            x = (x & 0x3333333333333333333333333333333333333333333333333333333333333333)
                + ((x >> 2) & 0x3333333333333333333333333333333333333333333333333333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f;
            x = (x + (x >> 8)) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff;
            return (x * 0x0001000100010001000100010001000100010001000100010001000100010001) >> 240;
        }
    }
}
