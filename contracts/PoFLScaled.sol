// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IPoFLScaled} from "./IPoFLScaled.sol";
import {TreasuryViews} from "./consensus/TreasuryViews.sol";
import {IndexSampling} from "./libraries/IndexSampling.sol";
import {PoFLMath} from "./libraries/PoFLMath.sol";
import {Treasury} from "./libraries/Treasury.sol";

/// @title PoFLScaled: PoFL consensus whose round costs the same at 10 miners and at 10,000 (issue 25)
/// @notice See `IPoFLScaled` for the round and docs/scaling.md for the design and its trust assumptions. In short:
/// signed claims aggregated off chain into one Merkle root (the list in a blob), forced inclusion by direct
/// commits, fraud proofs that slash the poster, K reveals, a committee of `seats` sampled by index, and a
/// `finalize` in O(seats x K).
/// @dev Design notes:
/// - No per-miner loop anywhere: miners are an array (index -> address) and a mapping; per-round sets are the
///   K-entry tops (`_rootTop`, `_directTop`, reused every round) and the seat slots (`_votes`, reused every
///   round, tagged with the round: a vote writes a non-zero slot, never a fresh one).
/// - Indices move only while no round depends on them: `leave` in the Claims phase, evictions at the close of a
///   round and after a fraud proof (Forced phase); the committee samples the first `population` indices, fixed
///   when the reveals end.
/// - Burden of proof for an unrevealed root claim: the poster holds every miner's signature; a root candidate
///   that does not reveal costs its miner the bond when someone shows its signature (`showSignature`), and the
///   poster its whole stake otherwise (it posted a claim nobody signed, or sat on the signature). So nobody can
///   frame a miner with a claim it did not sign, and reveals need no proof from the miners (the top leaves were
///   proven at `postRoot`).
/// - The phase machine is lazy: `_advance` applies the clock's rules at the start of every action.
contract PoFLScaled is IPoFLScaled, TreasuryViews, EIP712, ReentrancyGuard {
    using Treasury for Treasury.Books;

    /// @notice Basis points in 1.0.
    uint16 public constant BPS = 10000;
    /// @notice The most candidates (K): 12 reports of 16 bits fill a seat's vote slot beside the round's tag.
    uint16 public constant MAX_TOP_K = 12;
    /// @notice The most seats (c).
    uint16 public constant MAX_SEATS = 128;
    /// @notice A report lane that says nothing (its own claim, an unrevealed or unfetchable candidate).
    uint16 public constant NO_REPORT = type(uint16).max;
    /// @notice The EIP-712 type of a signed claim.
    bytes32 public constant CLAIM_TYPEHASH = keccak256(
        "Claim(uint64 round,address miner,uint16 accuracyBps,bytes32 commitment)"
    );

    /// @dev Bits of a vote slot that hold the reports; the round's tag sits above them.
    uint256 private constant REPORT_BITS = 192;
    /// @dev Slot ids of the direct top start here (root top: 0 .. K - 1).
    uint256 private constant DIRECT = 16;

    /// @dev One slot a miner.
    struct Miner {
        uint96 stake;
        uint32 index;
        uint64 directRound; // the last round it committed directly in
        bool registered;
    }

    /// @dev A top claim (two slots): who, how much, and its commitment (its digest once revealed).
    struct Entry {
        address miner;
        uint16 accuracyBps;
        IPoFLConsensus.CidKind cidKind;
        bool revealed;
        bool signed;
        bytes32 seal;
    }

    /// @dev The live round, four slots. The first holds all that a vote reads (one cold SLOAD a vote); the
    /// last two are rewritten only when used (`posted`, `candidates` and the phase say whether they hold this
    /// round's values).
    struct Round {
        uint48 round;
        Phase phase;
        uint40 deadline;
        uint32 population;
        uint16 seats;
        bool seeded;
        uint8 candidates;
        uint8 reveals;
        uint64 seed; // the committee's seed (64 bits of keccak256(blockhash(seedBlock), this, round))
        address aggregator;
        uint40 openedAt;
        uint8 rootCount;
        uint8 directCount;
        bool posted;
        address poster;
        uint32 count;
        uint64 seedBlock;
        uint256 order; // candidate i's slot id at bits 5i (root top: 0..15, direct top: 16..31)
    }

    /// @dev The configuration (immutables: read for free).
    uint16 private immutable _thresholdBps;
    uint16 private immutable _toleranceBps;
    uint16 private immutable _quorumBps;
    uint16 private immutable _seats;
    uint16 private immutable _topK;
    uint96 private immutable _minStake;
    uint96 private immutable _bond;
    uint16 private immutable _misreportPenaltyBps;
    uint96 private immutable _blockReward;
    uint32 private immutable _aggregatorDuration;
    uint32 private immutable _fallbackDuration;
    uint32 private immutable _forcedDuration;
    uint32 private immutable _revealDuration;
    uint32 private immutable _voteDuration;
    uint16 private immutable _seedLookahead;

    Round private _round;
    bytes32 private _root;
    bytes32 private _listBlob;
    Entry[MAX_TOP_K] private _rootTop;
    Entry[MAX_TOP_K] private _directTop;
    uint256[MAX_SEATS] private _votes; // seat -> round << 192 | reports
    address[] private _minerAt;
    mapping(address account => Miner) private _miners;
    mapping(bytes32 digest => uint64 round) private _digestRound; // the round that first revealed it
    Block[] private _blocks;
    Treasury.Books private _books;

    /// @notice Deploys the scaled consensus with its configuration and genesis model; opens round 1.
    /// @param config_ the configuration (see `Config`)
    /// @param genesisDigest sha2-256 digest of the initial model
    /// @param genesisKind how the genesis digest becomes its CID
    /// @dev `msg.value` seeds the reward pool.
    constructor(
        Config memory config_,
        bytes32 genesisDigest,
        IPoFLConsensus.CidKind genesisKind
    ) payable EIP712("PoFLScaled", "1") {
        _checkConfig(config_, genesisDigest);
        _thresholdBps = config_.thresholdBps;
        _toleranceBps = config_.toleranceBps;
        _quorumBps = config_.quorumBps;
        _seats = config_.seats;
        _topK = config_.topK;
        _minStake = config_.minStake;
        _bond = config_.bond;
        _misreportPenaltyBps = config_.misreportPenaltyBps;
        _blockReward = config_.blockReward;
        _aggregatorDuration = config_.aggregatorDuration;
        _fallbackDuration = config_.fallbackDuration;
        _forcedDuration = config_.forcedDuration;
        _revealDuration = config_.revealDuration;
        _voteDuration = config_.voteDuration;
        _seedLookahead = config_.seedLookahead;
        bytes32 genesisHash = keccak256(abi.encode(bytes32(0), 0, address(0), genesisDigest, genesisKind, 0));
        _blocks.push(Block(0, address(0), 0, genesisKind, genesisDigest, genesisHash));
        _digestRound[genesisDigest] = type(uint64).max;
        emit BlockFinalized(0, 0, address(0), genesisDigest, genesisKind, 0, bytes32(0), genesisHash, 0);
        if (msg.value > 0) {
            _books.fund(msg.value);
            emit RewardsFunded(msg.sender, msg.value);
        }
        _openRound(1);
    }

    // ------------------------------------------------------------ membership

    /// @inheritdoc IPoFLScaled
    function register() external payable {
        Miner storage m = _miners[msg.sender];
        if (m.registered) revert ScaledAlreadyRegistered(msg.sender);
        if (msg.value < _minStake) revert ScaledStakeTooLow(msg.value, _minStake);
        uint32 index = SafeCast.toUint32(_minerAt.length);
        (m.stake, m.index, m.registered) = (SafeCast.toUint96(msg.value), index, true);
        _minerAt.push(msg.sender);
        _books.stake(msg.value);
        emit MinerRegistered(msg.sender, msg.value, index);
    }

    /// @inheritdoc IPoFLScaled
    function leave() external nonReentrant {
        Miner storage m = _miners[msg.sender];
        if (!m.registered) revert ScaledNotAMiner(msg.sender);
        _advance();
        if (_round.phase != Phase.Claims) revert ScaledWrongPhase(Phase.Claims, _round.phase);
        uint256 stake = m.stake;
        uint256 credit = _books.release(msg.sender, stake);
        _remove(msg.sender);
        emit MinerLeft(msg.sender, stake, credit);
        Address.sendValue(payable(msg.sender), stake + credit);
    }

    /// @inheritdoc IPoFLScaled
    function addStake() external payable {
        Miner storage m = _miners[msg.sender];
        if (!m.registered) revert ScaledNotAMiner(msg.sender);
        if (msg.value == 0) revert ScaledZeroValue();
        m.stake += SafeCast.toUint96(msg.value);
        _books.stake(msg.value);
        emit StakeAdded(msg.sender, msg.value, m.stake);
    }

    /// @inheritdoc IPoFLScaled
    function fundRewards() external payable {
        if (msg.value == 0) revert ScaledZeroValue();
        _books.fund(msg.value);
        emit RewardsFunded(msg.sender, msg.value);
    }

    /// @inheritdoc IPoFLScaled
    function withdrawRewards() external nonReentrant {
        uint256 amount = _books.takeCredit(msg.sender);
        if (amount == 0) revert ScaledNothingToWithdraw(msg.sender);
        emit RewardsWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------- claims

    /// @inheritdoc IPoFLScaled
    function postRoot(
        uint64 round,
        bytes32 root,
        uint32 count,
        Leaf[] calldata top,
        bytes32[][] calldata proofs
    ) external {
        Round storage s = _current(round, Phase.Claims);
        if (!_miners[msg.sender].registered) revert ScaledNotAMiner(msg.sender);
        address aggregator = s.aggregator;
        if (
            aggregator != msg.sender &&
            aggregator != address(0) &&
            block.timestamp < uint256(s.openedAt) + _aggregatorDuration
        ) revert ScaledNotAggregator(aggregator, msg.sender);
        bytes32 listBlob = blobhash(0);
        if (listBlob == bytes32(0)) revert ScaledListMissing();
        uint256 n = Math.min(_topK, count);
        if (root == bytes32(0) || count == 0 || top.length != n || proofs.length != n) {
            revert ScaledBadRoot(count, top.length);
        }
        uint16 previous = BPS;
        for (uint256 i = 0; i < n; ++i) {
            Leaf calldata leaf = top[i];
            if (
                leaf.rank != i ||
                leaf.accuracyBps > previous ||
                leaf.commitment == bytes32(0) ||
                !_miners[leaf.miner].registered ||
                !MerkleProof.verifyCalldata(proofs[i], root, _leafHash(round, leaf))
            ) revert ScaledBadLeaf(i);
            previous = leaf.accuracyBps;
            Entry storage e = _rootTop[i];
            (e.miner, e.accuracyBps, e.revealed, e.signed, e.seal) = (
                leaf.miner,
                leaf.accuracyBps,
                false,
                false,
                leaf.commitment
            );
        }
        (_root, _listBlob) = (root, listBlob);
        (s.poster, s.count, s.rootCount, s.posted) = (msg.sender, count, uint8(n), true);
        emit RootPosted(round, msg.sender, root, count, listBlob);
        // a fallback posted: the drawn aggregator forfeits its bond (after the leaves were checked: its own claim
        // may be among them, and stays a candidate if the penalty evicts it)
        if (aggregator != msg.sender) _penalizeAbsentAggregator(aggregator);
        _enterForced(s);
    }

    /// @inheritdoc IPoFLScaled
    function commitDirect(uint64 round, uint16 accuracyBps, bytes32 commitment) external {
        Round storage s = _current(round, Phase.Forced);
        Miner storage m = _miners[msg.sender];
        if (!m.registered) revert ScaledNotAMiner(msg.sender);
        if (m.directRound == round) revert ScaledAlreadyCommitted(round, msg.sender);
        if (commitment == bytes32(0)) revert ScaledEmptyCommitment();
        if (accuracyBps > BPS) revert ScaledAccuracyOutOfRange(accuracyBps);
        uint256 count = s.directCount;
        uint256 k = _topK;
        // sorted by accuracy, highest first; ties keep the earlier commit first
        uint256 at = count;
        while (at > 0 && _directTop[at - 1].accuracyBps < accuracyBps) --at;
        if (at == k) revert ScaledClaimTooLow(accuracyBps, _directTop[k - 1].accuracyBps);
        for (uint256 i = Math.min(count, k - 1); i > at; --i) _directTop[i] = _directTop[i - 1];
        _directTop[at] = Entry(msg.sender, accuracyBps, IPoFLConsensus.CidKind.V0DagPb, false, false, commitment);
        if (count < k) s.directCount = uint8(count + 1);
        m.directRound = round;
        emit DirectCommitted(round, msg.sender, accuracyBps);
    }

    /// @inheritdoc IPoFLScaled
    function proveMisordered(
        uint64 round,
        Leaf calldata higher,
        bytes32[] calldata higherProof,
        Leaf calldata lower,
        bytes32[] calldata lowerProof
    ) external {
        Round storage s = _current(round, Phase.Forced);
        _checkInRoot(s, round, higher, higherProof);
        _checkInRoot(s, round, lower, lowerProof);
        bool sameRank = higher.rank == lower.rank && _leafHash(round, higher) != _leafHash(round, lower);
        bool misordered = higher.rank < lower.rank && higher.accuracyBps < lower.accuracyBps;
        if (!sameRank && !misordered) revert ScaledNoFraud();
        _dropRoot(s);
    }

    /// @inheritdoc IPoFLScaled
    function proveOutOfRange(uint64 round, Leaf calldata leaf, bytes32[] calldata proof) external {
        Round storage s = _current(round, Phase.Forced);
        _checkInRoot(s, round, leaf, proof);
        if (leaf.rank < s.count) revert ScaledNoFraud();
        _dropRoot(s);
    }

    // ---------------------------------------------------------------- reveal

    /// @inheritdoc IPoFLScaled
    function reveal(uint64 round, uint8 index, bytes32 digest, IPoFLConsensus.CidKind cidKind, bytes32 salt) external {
        Round storage s = _current(round, Phase.Reveal);
        if (index >= s.candidates) revert ScaledNotACandidate(index, msg.sender);
        Entry storage e = _entry(s.order, index);
        if (e.miner != msg.sender) revert ScaledNotACandidate(index, msg.sender);
        if (e.revealed) revert ScaledAlreadyRevealed(index);
        if (digest == bytes32(0)) revert ScaledEmptyDigest();
        bytes32 opened = _commitment(round, digest, cidKind, salt, msg.sender);
        if (opened != e.seal) revert ScaledRevealMismatch(e.seal, opened);
        uint64 first = _digestRound[digest];
        if (first != 0) revert ScaledDigestUsed(digest, first);
        _digestRound[digest] = round;
        (e.revealed, e.cidKind, e.seal) = (true, cidKind, digest);
        uint8 reveals = s.reveals + 1;
        s.reveals = reveals;
        emit Revealed(round, index, msg.sender, digest, cidKind);
        if (reveals == s.candidates) _endReveals(s);
    }

    /// @inheritdoc IPoFLScaled
    function showSignature(uint64 round, uint8 index, bytes calldata signature) external {
        _advance();
        Round storage s = _round;
        if (round != s.round) revert ScaledWrongRound(s.round, round);
        Phase phase = s.phase;
        if (phase < Phase.Reveal) revert ScaledWrongPhase(Phase.Reveal, phase);
        if (index >= s.candidates) revert ScaledNotACandidate(index, msg.sender);
        uint256 slot = _slotOf(s.order, index);
        Entry storage e = _entryAt(slot);
        if (e.revealed) revert ScaledAlreadyRevealed(index);
        address signer =
            slot < DIRECT ? ECDSA.recover(_claimDigest(round, e.miner, e.accuracyBps, e.seal), signature) : address(0);
        if (signer != e.miner) revert ScaledBadSignature(index, signer, e.miner);
        e.signed = true;
        emit SignatureShown(round, index, e.miner);
    }

    // ------------------------------------------------------------------ vote

    /// @inheritdoc IPoFLScaled
    function advance() external {
        _advance();
    }

    /// @inheritdoc IPoFLScaled
    function vote(uint64 round, uint16 seat, uint256 reports) external {
        Round storage s = _current(round, Phase.Vote);
        if (!s.seeded) revert ScaledSeedPending(s.seedBlock);
        if (
            seat >= s.seats ||
            _minerOfIndex(IndexSampling.permute(bytes32(uint256(s.seed)), seat, s.population)) != msg.sender
        ) {
            revert ScaledNotInCommittee(seat, msg.sender);
        }
        if (_votes[seat] >> REPORT_BITS == round) revert ScaledAlreadyVoted(seat);
        uint256 candidates = s.candidates;
        for (uint256 i = 0; i < candidates; ++i) {
            uint16 r = uint16(reports >> (16 * i));
            if (r > BPS && r != NO_REPORT) revert ScaledAccuracyOutOfRange(r);
        }
        _votes[seat] = (uint256(round) << REPORT_BITS) | (reports & ((uint256(1) << (16 * candidates)) - 1));
        emit Voted(round, seat, msg.sender, reports);
    }

    // -------------------------------------------------------------- finalize

    /// @inheritdoc IPoFLScaled
    function finalize() external {
        _advance();
        Round storage s = _round;
        if (s.phase != Phase.Finalize) revert ScaledWrongPhase(Phase.Finalize, s.phase);
        uint64 round = s.round;
        uint256 candidates = s.candidates;
        uint256 order = s.order;
        address[] memory claimants = new address[](candidates);
        for (uint256 i = 0; i < candidates; ++i) claimants[i] = _entry(order, i).miner;
        (uint256[] memory seats, uint256[] memory lanes, uint256 voted) = _committee(s, claimants);
        address[] memory losers = new address[](seats.length + candidates);
        uint256 lost;
        uint256 misreported; // bit j: seat j misreported a decided claim
        (uint256 best, uint16 bestMedian) = (type(uint256).max, 0);
        bool searching = true;
        for (uint256 i = 0; i < candidates; ++i) {
            uint256 slot = _slotOf(order, i);
            Entry storage e = _entryAt(slot);
            if (!e.revealed) {
                // the miner pays if it signed (or committed directly), else the poster posted an unsigned claim
                bool owned = slot >= DIRECT || e.signed;
                address payer = owned ? claimants[i] : s.poster;
                Miner storage p = _miners[payer];
                _penalize(
                    payer,
                    p,
                    owned ? _bond : p.stake,
                    owned ? PenaltyReason.MissedReveal : PenaltyReason.UnsignedClaim
                );
                losers[lost++] = payer;
                continue;
            }
            (Outcome outcome, uint16 median, uint256 misreports) = _decide(e, i, seats, lanes);
            misreported |= misreports;
            if (outcome == Outcome.Rejected) losers[lost++] = claimants[i];
            if (!searching) continue;
            if (outcome == Outcome.Disputed) searching = false;
            else if (outcome == Outcome.Accepted && (best == type(uint256).max || median > bestMedian)) {
                (best, bestMedian) = (slot, median);
            }
        }
        for (uint256 j = 0; j < seats.length; ++j) {
            bool missed = (voted >> j) & 1 == 0;
            if (!missed && (misreported >> j) & 1 == 0) continue;
            address seat = _minerOfIndex(seats[j]);
            Miner storage v = _miners[seat];
            if (missed) _penalize(seat, v, _bond, PenaltyReason.MissedVote);
            else _penalize(seat, v, Math.mulDiv(v.stake, _misreportPenaltyBps, BPS), PenaltyReason.Misreport);
            losers[lost++] = seat;
        }
        if (best == type(uint256).max) emit RoundFailed(round);
        else _appendBlock(round, _entryAt(best), bestMedian);
        for (uint256 i = 0; i < lost; ++i) {
            Miner storage m = _miners[losers[i]];
            if (m.registered && m.stake < _minStake) _evict(losers[i], m, round);
        }
        _openRound(round + 1);
    }

    // ----------------------------------------------------------------- views

    /// @inheritdoc IPoFLScaled
    function config() external view returns (Config memory) {
        return
            Config({
                thresholdBps: _thresholdBps,
                toleranceBps: _toleranceBps,
                quorumBps: _quorumBps,
                seats: _seats,
                topK: _topK,
                minStake: _minStake,
                bond: _bond,
                misreportPenaltyBps: _misreportPenaltyBps,
                blockReward: _blockReward,
                aggregatorDuration: _aggregatorDuration,
                fallbackDuration: _fallbackDuration,
                forcedDuration: _forcedDuration,
                revealDuration: _revealDuration,
                voteDuration: _voteDuration,
                seedLookahead: _seedLookahead
            });
    }

    /// @inheritdoc IPoFLScaled
    function roundInfo() external view returns (RoundInfo memory info) {
        Round memory s = _round;
        (Phase phase, uint40 deadline) = (s.phase, s.deadline);
        // the clock's rules, as `_advance` would apply them (without their side effects)
        while (deadline != 0 && block.timestamp >= deadline && phase != Phase.Finalize) {
            if (phase == Phase.Claims) (phase, deadline) = (Phase.Forced, deadline + _forcedDuration);
            else if (phase == Phase.Forced) {
                (phase, deadline) = s.rootCount + s.directCount == 0
                    ? (Phase.Finalize, 0)
                    : (Phase.Reveal, deadline + _revealDuration);
            } else if (phase == Phase.Reveal) (phase, deadline) = (s.reveals == 0 ? Phase.Finalize : Phase.Vote, 0);
            else (phase, deadline) = (Phase.Finalize, 0);
        }
        info = RoundInfo({
            round: s.round,
            phase: phase,
            deadline: deadline,
            openedAt: s.openedAt,
            aggregator: s.aggregator,
            poster: s.posted ? s.poster : address(0),
            root: s.rootCount == 0 ? bytes32(0) : _root,
            count: s.posted ? s.count : 0,
            listBlob: s.rootCount == 0 ? bytes32(0) : _listBlob,
            rootCount: s.rootCount,
            directCount: s.directCount,
            candidates: s.candidates,
            reveals: s.reveals,
            population: s.population,
            seats: s.seats,
            seedBlock: phase >= Phase.Vote ? s.seedBlock : 0,
            seed: s.seeded ? bytes32(uint256(s.seed)) : bytes32(0)
        });
    }

    /// @inheritdoc IPoFLScaled
    function candidate(uint256 index) external view returns (Candidate memory c) {
        Round storage s = _round;
        if (index >= s.candidates) revert ScaledNotACandidate(index, msg.sender);
        uint256 slot = _slotOf(s.order, index);
        Entry storage e = _entryAt(slot);
        return Candidate(e.miner, e.accuracyBps, slot < DIRECT, e.revealed, e.signed, e.cidKind, e.seal);
    }

    /// @inheritdoc IPoFLScaled
    function seatIndex(uint256 seat) external view returns (uint256) {
        Round storage s = _round;
        if (!s.seeded) revert ScaledSeedPending(s.seedBlock);
        if (seat >= s.seats) revert ScaledNotInCommittee(seat, msg.sender);
        return IndexSampling.permute(bytes32(uint256(s.seed)), seat, s.population);
    }

    /// @inheritdoc IPoFLScaled
    function minerAt(uint256 index) external view returns (address) {
        return _minerAt[index];
    }

    /// @inheritdoc IPoFLScaled
    function minerCount() external view returns (uint256) {
        return _minerAt.length;
    }

    /// @inheritdoc IPoFLScaled
    function minerOf(address account) external view returns (uint96 stake, uint32 index, bool registered) {
        Miner storage m = _miners[account];
        return (m.stake, m.index, m.registered);
    }

    /// @inheritdoc IPoFLScaled
    function blockAt(uint256 height) external view returns (Block memory) {
        if (height >= _blocks.length) revert ScaledBlockNotFound(height);
        return _blocks[height];
    }

    /// @inheritdoc IPoFLScaled
    function blockCount() external view returns (uint256) {
        return _blocks.length;
    }

    /// @inheritdoc IPoFLScaled
    function computeCommitment(
        uint64 round,
        bytes32 digest,
        IPoFLConsensus.CidKind cidKind,
        bytes32 salt,
        address miner
    ) external pure returns (bytes32) {
        return _commitment(round, digest, cidKind, salt, miner);
    }

    /// @inheritdoc IPoFLScaled
    function claimDigest(
        uint64 round,
        address miner,
        uint16 accuracyBps,
        bytes32 commitment
    ) external view returns (bytes32) {
        return _claimDigest(round, miner, accuracyBps, commitment);
    }

    /// @inheritdoc IPoFLScaled
    function leafHash(uint64 round, Leaf calldata leaf) external pure returns (bytes32) {
        return _leafHash(round, leaf);
    }

    /// @dev The books TreasuryViews reads (ITreasury: totalStaked, rewardPool, totalPendingRewards, pendingRewards).
    function _treasury() internal view override returns (Treasury.Books storage) {
        return _books;
    }

    // ------------------------------------------------------------ the phases

    /// @dev The live round, after the clock's rules, checked to be `round` in `phase`.
    function _current(uint64 round, Phase phase) private returns (Round storage s) {
        _advance();
        s = _round;
        if (round != s.round) revert ScaledWrongRound(s.round, round);
        if (s.phase != phase) revert ScaledWrongPhase(phase, s.phase);
    }

    /// @dev Applies the clock's rules (the one place that moves a phase by time; `roundInfo` mirrors it), and
    /// draws the committee once its seed block is mined.
    function _advance() private {
        Round storage s = _round;
        while (s.deadline != 0 && block.timestamp >= s.deadline) {
            Phase phase = s.phase;
            if (phase == Phase.Claims) {
                _penalizeAbsentAggregator(s.aggregator);
                _enterForced(s);
                s.deadline = uint40(uint256(s.openedAt) + _aggregatorDuration + _fallbackDuration + _forcedDuration);
            } else if (phase == Phase.Forced) _fixCandidates(s);
            else if (phase == Phase.Reveal) _endReveals(s);
            else (s.phase, s.deadline) = (Phase.Finalize, 0);
        }
        if (s.phase == Phase.Vote && !s.seeded && block.number > s.seedBlock) {
            bytes32 hash = blockhash(s.seedBlock);
            if (hash == bytes32(0)) {
                // nobody drew within 256 blocks: a new seed block ahead
                s.seedBlock = uint64(block.number) + _seedLookahead;
                emit SeedBlockSet(s.round, s.seedBlock);
                return;
            }
            uint64 seed = uint64(uint256(keccak256(abi.encode(hash, address(this), s.round))));
            uint40 deadline = uint40(block.timestamp) + _voteDuration;
            (s.seed, s.seeded, s.deadline) = (seed, true, deadline);
            emit CommitteeDrawn(s.round, bytes32(uint256(seed)), s.population, s.seats, deadline);
        }
    }

    /// @dev The forced-inclusion window opens (again, after a fraud proof) for `forcedDuration`.
    function _enterForced(Round storage s) private {
        (s.phase, s.deadline) = (Phase.Forced, uint40(block.timestamp) + _forcedDuration);
    }

    /// @dev The forced window is over: the K best of the root's top and the direct top, highest claim first (the
    /// root's first on ties), become the candidates; without any, the round goes to Finalize.
    function _fixCandidates(Round storage s) private {
        (uint256 a, uint256 b) = (0, 0);
        (uint256 rootCount, uint256 directCount) = (s.rootCount, s.directCount);
        uint256 order;
        uint256 n;
        for (; n < _topK && (a < rootCount || b < directCount); ++n) {
            bool fromRoot = b == directCount || (a < rootCount && _rootTop[a].accuracyBps >= _directTop[b].accuracyBps);
            order |= (fromRoot ? a++ : DIRECT + b++) << (5 * n);
        }
        (s.order, s.candidates) = (order, uint8(n));
        if (n == 0) {
            (s.phase, s.deadline) = (Phase.Finalize, 0);
            return;
        }
        uint40 deadline = s.deadline + _revealDuration;
        (s.phase, s.deadline) = (Phase.Reveal, deadline);
        emit CandidatesFixed(s.round, uint8(n), deadline);
    }

    /// @dev The reveals are over: the committee will be sampled from the first `population` miners by the hash of
    /// a block mined `seedLookahead` from now; without any reveal, straight to Finalize.
    function _endReveals(Round storage s) private {
        if (s.reveals == 0) {
            (s.phase, s.deadline) = (Phase.Finalize, 0);
            return;
        }
        uint256 population = _minerAt.length;
        uint64 seedBlock = uint64(block.number) + _seedLookahead;
        (s.phase, s.deadline, s.population, s.seats, s.seedBlock) = (
            Phase.Vote,
            0,
            uint32(population),
            uint16(Math.min(_seats, population)),
            seedBlock
        );
        emit SeedBlockSet(s.round, seedBlock);
    }

    /// @dev Opens round `round`: its aggregator is drawn among the miners from the head block's hash.
    function _openRound(uint64 round) private {
        uint256 population = _minerAt.length;
        address aggregator =
            population == 0
                ? address(0)
                : _minerAt[uint256(keccak256(abi.encode(_blocks[_blocks.length - 1].blockHash, round))) % population];
        uint40 now_ = uint40(block.timestamp);
        uint40 deadline = now_ + _aggregatorDuration + _fallbackDuration;
        // slots 3 and 4 (poster, count, seedBlock; order) keep the last round's values: `posted`, the phase and
        // `candidates` say when they are this round's (rewriting them with zeros would cost 20,000 gas each later)
        Round storage s = _round;
        (s.round, s.phase, s.deadline, s.population, s.seats, s.seeded, s.candidates, s.reveals, s.seed) = (
            uint48(round),
            Phase.Claims,
            deadline,
            0,
            0,
            false,
            0,
            0,
            0
        );
        (s.aggregator, s.openedAt, s.rootCount, s.directCount, s.posted) = (aggregator, now_, 0, 0, false);
        emit RoundOpened(round, aggregator, now_ + _aggregatorDuration, deadline);
    }

    // ------------------------------------------------------------- deciding

    /// @dev The seats (their miners' indices) and their reports: a seat that did not vote this round (`voted`
    /// bit j clear), and the lane of its own candidacy, read NO_REPORT. None before the committee was drawn. A
    /// seat's address is read only where it pays: its own candidacy is found by index (`claimants`' indices,
    /// K reads), not by reading every seat's address (c reads).
    function _committee(
        Round storage s,
        address[] memory claimants
    ) private view returns (uint256[] memory seats, uint256[] memory lanes, uint256 voted) {
        uint256 n = s.seeded ? s.seats : 0;
        (seats, lanes) = (new uint256[](n), new uint256[](n));
        uint256[] memory claimantIndex = new uint256[](claimants.length);
        for (uint256 i = 0; i < claimants.length; ++i) {
            Miner storage m = _miners[claimants[i]];
            claimantIndex[i] = m.registered ? m.index : type(uint256).max;
        }
        (bytes32 seed, uint256 population, uint256 round) = (bytes32(uint256(s.seed)), s.population, s.round);
        for (uint256 j = 0; j < n; ++j) {
            uint256 index = IndexSampling.permute(seed, j, population);
            uint256 v = _votes[j];
            bool inRound = v >> REPORT_BITS == round;
            if (inRound) voted |= 1 << j;
            (seats[j], lanes[j]) = (index, inRound ? v | _ownLanes(claimantIndex, index) : type(uint256).max);
        }
    }

    /// @dev The lanes (NO_REPORT) of the candidates whose miner has index `index`.
    function _ownLanes(uint256[] memory claimantIndex, uint256 index) private pure returns (uint256 own) {
        assembly ("memory-safe") {
            let at := add(claimantIndex, 0x20)
            for {
                let i := 0
            } lt(i, mload(claimantIndex)) {
                i := add(i, 1)
            } {
                if eq(mload(add(at, shl(5, i))), index) {
                    own := or(own, shl(shl(4, i), 0xffff))
                }
            }
        }
    }

    /// @dev Decides revealed candidate `index` (entry `e`) from the seats' reports (`lanes`, see `_committee`);
    /// returns the seats whose report of a decided claim is a misreport (bit j: seat j; the caller penalizes
    /// them once); slashes a rejected claimant.
    function _decide(
        Entry storage e,
        uint256 index,
        uint256[] memory seats,
        uint256[] memory lanes
    ) private returns (Outcome outcome, uint16 median, uint256 misreports) {
        (address claimant, uint16 claimed, uint256 shift) = (e.miner, e.accuracyBps, 16 * index);
        (uint256[] memory reports, uint256 agreeing) = _collect(lanes, shift, claimed, _toleranceBps);
        uint256 n = reports.length;
        if (n == 0 || n < Math.mulDiv(seats.length, _quorumBps, BPS, Math.Rounding.Ceil)) {
            outcome = Outcome.NoQuorum;
        } else {
            median = _lowerMedian(reports);
            uint256 outliers = _outliers(lanes, shift, median, _toleranceBps);
            bool clustered = 3 * (n - PoFLMath.popcount(outliers)) >= 2 * n;
            if (3 * agreeing >= 2 * n && clustered) {
                outcome = median >= _thresholdBps ? Outcome.Accepted : Outcome.BelowThreshold;
            } else if (3 * (n - agreeing) >= 2 * n) {
                outcome = Outcome.Rejected;
                Miner storage c = _miners[claimant];
                _penalize(claimant, c, c.stake, PenaltyReason.FalseClaim);
            } else outcome = Outcome.Disputed;
            if (outcome != Outcome.Disputed && clustered) misreports = outliers;
        }
        emit ClaimDecided(_round.round, claimant, outcome, claimed, median, uint16(n));
    }

    /// @dev The reports in lane `shift` of `lanes` (NO_REPORT skipped), and how many of them agree with `claimed`
    /// (at least claimed - tolerance).
    function _collect(
        uint256[] memory lanes,
        uint256 shift,
        uint256 claimed,
        uint256 tolerance
    ) private pure returns (uint256[] memory reports, uint256 agreeing) {
        reports = new uint256[](lanes.length);
        assembly ("memory-safe") {
            let src := add(lanes, 0x20)
            let end := add(src, shl(5, mload(lanes)))
            let dst := add(reports, 0x20)
            let n := 0
            for {} lt(src, end) {
                src := add(src, 0x20)
            } {
                let r := and(shr(shift, mload(src)), 0xffff)
                if iszero(eq(r, 0xffff)) {
                    mstore(add(dst, shl(5, n)), r)
                    n := add(n, 1)
                    if iszero(lt(add(r, tolerance), claimed)) {
                        agreeing := add(agreeing, 1)
                    }
                }
            }
            mstore(reports, n)
        }
    }

    /// @dev The seats (bit j: seat j) whose report in lane `shift` lies further than `tolerance` from `median`.
    function _outliers(
        uint256[] memory lanes,
        uint256 shift,
        uint256 median,
        uint256 tolerance
    ) private pure returns (uint256 outliers) {
        assembly ("memory-safe") {
            let src := add(lanes, 0x20)
            for {
                let j := 0
            } lt(j, mload(lanes)) {
                j := add(j, 1)
            } {
                let r := and(shr(shift, mload(add(src, shl(5, j)))), 0xffff)
                if iszero(eq(r, 0xffff)) {
                    if or(gt(r, add(median, tolerance)), lt(add(r, tolerance), median)) {
                        outliers := or(outliers, shl(j, 1))
                    }
                }
            }
        }
    }

    /// @dev The lower median (rank (n - 1) / 2) of `values`, sorted in place by insertion: O(n) for the nearly
    /// equal reports of an honest committee, O(n^2) at worst for n <= MAX_SEATS. (PoFLMath.lowerMedian counts
    /// in O(n + 200) with two 100-word tables: for a committee of tens of seats, several times the gas.)
    function _lowerMedian(uint256[] memory values) private pure returns (uint16 median) {
        assembly ("memory-safe") {
            let at := add(values, 0x20)
            let n := mload(values)
            for {
                let i := 1
            } lt(i, n) {
                i := add(i, 1)
            } {
                let v := mload(add(at, shl(5, i)))
                let j := i
                for {} and(gt(j, 0), gt(mload(add(at, shl(5, sub(j, 1)))), v)) {
                    j := sub(j, 1)
                } {
                    mstore(add(at, shl(5, j)), mload(add(at, shl(5, sub(j, 1)))))
                }
                mstore(add(at, shl(5, j)), v)
            }
            median := mload(add(at, shl(5, shr(1, sub(n, 1)))))
        }
    }

    /// @dev Appends `e`'s revealed model as the next block at `accuracyBps` and credits its miner the reward.
    function _appendBlock(uint64 round, Entry storage e, uint16 accuracyBps) private {
        (address miner, bytes32 digest, IPoFLConsensus.CidKind cidKind) = (e.miner, e.seal, e.cidKind);
        bytes32 parentHash = _blocks[_blocks.length - 1].blockHash;
        bytes32 blockHash = keccak256(abi.encode(parentHash, round, miner, digest, cidKind, accuracyBps));
        uint64 height = uint64(_blocks.length);
        _blocks.push(Block(round, miner, accuracyBps, cidKind, digest, blockHash));
        uint256 reward = _books.payReward(miner, _blockReward);
        emit BlockFinalized(height, round, miner, digest, cidKind, accuracyBps, parentHash, blockHash, reward);
    }

    // ---------------------------------------------------------------- fraud

    /// @dev Reverts unless a root stands and `leaf` is in it by `proof`.
    function _checkInRoot(Round storage s, uint64 round, Leaf calldata leaf, bytes32[] calldata proof) private view {
        if (s.rootCount == 0) revert ScaledNoRoot(round);
        if (!MerkleProof.verifyCalldata(proof, _root, _leafHash(round, leaf))) revert ScaledNotInRoot(leaf.rank);
    }

    /// @dev A fraud proof stands: the poster loses its whole stake (half of it credited to the prover) and is
    /// evicted, the root's claims are dropped and the forced-inclusion window opens again for direct commits.
    function _dropRoot(Round storage s) private {
        address poster = s.poster;
        Miner storage p = _miners[poster];
        uint256 slashed = _penalize(poster, p, p.stake, PenaltyReason.WrongRoot);
        uint256 reward = _books.payReward(msg.sender, slashed / 2);
        if (p.registered) _evict(poster, p, s.round);
        s.rootCount = 0;
        emit FraudProven(s.round, poster, msg.sender, reward);
        _enterForced(s);
    }

    /// @dev The drawn aggregator posted nothing in its window: it forfeits the bond (once a round).
    function _penalizeAbsentAggregator(address aggregator) private {
        Round storage s = _round;
        if (aggregator == address(0)) return;
        s.aggregator = address(0);
        Miner storage m = _miners[aggregator];
        if (!m.registered) return;
        _penalize(aggregator, m, _bond, PenaltyReason.AggregatorAbsent);
        if (m.stake < _minStake) _evict(aggregator, m, s.round);
    }

    // ---------------------------------------------------------- bookkeeping

    /// @dev Moves up to `amount` of `m`'s stake to the reward pool; returns what it took.
    function _penalize(
        address account,
        Miner storage m,
        uint256 amount,
        PenaltyReason reason
    ) private returns (uint256 taken) {
        taken = Math.min(amount, m.stake);
        if (taken == 0) return 0;
        m.stake -= uint96(taken);
        _books.forfeit(taken);
        emit Penalized(_round.round, account, reason, taken);
    }

    /// @dev Evicts `account` (under minStake): the rest of its stake is credited to it.
    function _evict(address account, Miner storage m, uint64 round) private {
        uint256 refund = m.stake;
        _books.refund(account, refund);
        _remove(account);
        emit MinerEvicted(account, round, refund);
    }

    /// @dev Removes `account` from the miners: the last miner takes its index.
    function _remove(address account) private {
        uint32 index = _miners[account].index;
        address last = _minerAt[_minerAt.length - 1];
        _minerAt[index] = last;
        _miners[last].index = index;
        _minerAt.pop();
        delete _miners[account];
    }

    /// @dev The miner at `index`, which the caller knows to be under the array's length (a sampled index is
    /// under the round's population, and no miner is removed while a committee sits): no length read.
    function _minerOfIndex(uint256 index) private view returns (address miner) {
        assembly ("memory-safe") {
            mstore(0, _minerAt.slot)
            miner := sload(add(keccak256(0, 32), index))
        }
    }

    // --------------------------------------------------------------- hashing

    /// @dev Candidate `index`'s slot id in `order`.
    function _slotOf(uint256 order, uint256 index) private pure returns (uint256) {
        return (order >> (5 * index)) & 31;
    }

    /// @dev The top entry of slot id `slot`.
    function _entryAt(uint256 slot) private view returns (Entry storage) {
        return slot < DIRECT ? _rootTop[slot] : _directTop[slot - DIRECT];
    }

    /// @dev Candidate `index`'s entry.
    function _entry(uint256 order, uint256 index) private view returns (Entry storage) {
        return _entryAt(_slotOf(order, index));
    }

    function _commitment(
        uint64 round,
        bytes32 digest,
        IPoFLConsensus.CidKind cidKind,
        bytes32 salt,
        address miner
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(round, digest, cidKind, salt, miner));
    }

    function _claimDigest(
        uint64 round,
        address miner,
        uint16 accuracyBps,
        bytes32 commitment
    ) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(CLAIM_TYPEHASH, round, miner, accuracyBps, commitment)));
    }

    function _leafHash(uint64 round, Leaf calldata leaf) private pure returns (bytes32) {
        return
            keccak256(
                bytes.concat(keccak256(abi.encode(round, leaf.rank, leaf.miner, leaf.accuracyBps, leaf.commitment)))
            );
    }

    /// @dev Reverts (ScaledInvalidConfig) unless every value of `c` is in its range.
    function _checkConfig(Config memory c, bytes32 genesisDigest) private pure {
        if (c.thresholdBps > BPS) revert ScaledInvalidConfig(ConfigField.ThresholdBps);
        if (c.toleranceBps > 1000) revert ScaledInvalidConfig(ConfigField.ToleranceBps);
        if (c.quorumBps <= BPS / 2 || c.quorumBps > 6666) revert ScaledInvalidConfig(ConfigField.QuorumBps);
        if (c.seats == 0 || c.seats > MAX_SEATS) revert ScaledInvalidConfig(ConfigField.Seats);
        if (c.topK == 0 || c.topK > MAX_TOP_K) revert ScaledInvalidConfig(ConfigField.TopK);
        if (
            c.aggregatorDuration == 0 ||
            c.fallbackDuration == 0 ||
            c.forcedDuration == 0 ||
            c.revealDuration == 0 ||
            c.voteDuration == 0
        ) revert ScaledInvalidConfig(ConfigField.Duration);
        if (c.seedLookahead == 0 || c.seedLookahead > 128) revert ScaledInvalidConfig(ConfigField.SeedLookahead);
        if (c.minStake == 0) revert ScaledInvalidConfig(ConfigField.MinStake);
        if (c.bond == 0 || c.bond > c.minStake) revert ScaledInvalidConfig(ConfigField.Bond);
        if (c.misreportPenaltyBps > BPS) revert ScaledInvalidConfig(ConfigField.MisreportPenaltyBps);
        if (genesisDigest == bytes32(0)) revert ScaledInvalidConfig(ConfigField.Genesis);
    }
}
