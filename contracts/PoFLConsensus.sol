// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IPoFLHoldout} from "./IPoFLHoldout.sol";
import {PoFLLens} from "./PoFLLens.sol";
import {PoFLAppealCourt} from "./consensus/PoFLAppealCourt.sol";
import {PoFLCommittee} from "./consensus/PoFLCommittee.sol";
import {PoFLSettings} from "./consensus/PoFLSettings.sol";
import {PoFLStorage} from "./consensus/PoFLStorage.sol";
import {ServedByLens} from "./consensus/ServedByLens.sol";
import {NO_POSITION, OptionalPosition, toOptional} from "./libraries/OptionalPosition.sol";
import {Treasury} from "./libraries/Treasury.sol";

/// @title PoFLConsensus (v3): Proof-of-Federated-Learning rounds whose blocks no minority can fake, steal or block
/// @notice Each round, miners commit to (model digest, claimed accuracy) while their models stay private, then
/// reveal and publish them. The best eligible claim is measured by a committee drawn among the round's other
/// committers from the hash of a block that did not exist when the reveals ended; every seat reports the
/// accuracy it measured for the claim and for the parent block on the same data, and the block records the
/// median report. No parent on trust: "must beat the parent" compares the two medians, and the parent's
/// reports must agree by the same two-thirds rule. A round's claims can become a block only when its
/// committers hold more than half of the staked ether (`_independent`). Two thirds of the reports decide: a claim that
/// 2/3 measured more than the tolerance below it is slashed, one that 2/3 confirm is accepted, and a split
/// committee disputes it: the round's first dispute goes to appeal, where every other committer measures it
/// again and stake decides (the contradicted side pays); a dispute that stands costs nothing, and no lower
/// claim wins the round. A report further
/// than the tolerance from the median of a decided claim costs the reporter part of its stake; an unused seat or
/// an unrevealed commitment forfeits a bond. Without a quorum of reports the next-best claim is validated; after
/// an accepted claim, every claim that could still beat its median is validated too, and the highest median
/// becomes the block. Fewer than `minCommittee` seats means no block.
/// @dev The coordinator of the round: its actions (commit, reveal, vote, advance, finalize), the phase machine
/// and the round's opening and close. By concern, the rest lives in:
/// - consensus/PoFLStorage.sol: every constant, immutable and state variable (the storage layout);
/// - consensus/PoFLPhases.sol: the phase rules (`_advance` here records what they say);
/// - consensus/PoFLStaking.sol: stakes, activity, penalties, credits and evictions;
/// - consensus/PoFLCommittee.sol: the committee draw and the decision (its design notes: randomness, 2/3);
/// - consensus/PoFLSettings.sol: the owner's configuration;
/// - PoFLLens.sol: the views, served at this address by `fallback` (IPoFLLens);
/// - libraries/: PoFLMath (median, bit sets) and OptionalPosition (a commit position or none).
/// Design notes of this file:
/// - Privacy and priority: the commitment binds keccak256(round, digest, cidKind, accuracy, salt, miner), so a
///   model needs to be published only in the reveal phase. Every revealed digest is recorded with its round and
///   owner (one slot, which also holds the claim): a digest revealed in an earlier round (or the genesis) is
///   ineligible, and within a round the earlier committer owns it (a later committer's copy is voided even if
///   revealed first).
/// - Hold-out mode (a `PoFLHoldout` task named at deployment, which names this contract back): round r is judged
///   on the task's shard r - 1. Commitments bind the model only (accuracy 0): nothing can be measured before
///   the shard's key is public. The task reveals the key only once the commits have closed and only for a
///   round with enough commitments for a committee whose committers hold more than half the staked wei (the
///   independence rule, `PoFLPhases._independent`; `onKeyRevealed`, which hands out shards in order and opens a
///   full reveal window), so a stake minority can neither spend shards nor draw on the bond; reveals before it
///   are refused. As in public mode, the seats measure the parent on the candidate's data (here the round's
///   shard) and "must beat the parent" compares the two medians. A key missing when the reveal window ends
///   fails the round (`KeyMissing`): no bond is forfeited, the task pays the committers from the requester's
///   bond in proportion to their stake and the shard, still sealed, judges a later round; a round with too few
///   commitments for a committee, or whose committers hold at most half the stake (`NotIndependent`), ends
///   without a key, a payment or a shard. A shard that does not open is the requester's failure too: when
///   revealers holding more than half the stake declare so (`parentBps` = SHARD_UNOPENED) and no block is
///   made, the round fails `ShardUnopened` and the task pays as for a missed key. Commits are refused while no shard is left (`PoFLNoShard`).
/// - Gas: commit, reveal and vote are O(1); loops over the round's committers (at most MAX_MINERS) run only in
///   `finalize`, in drawing a committee and in the rare reveal that takes a copied digest back. Per-round bitmaps
///   keep a sentinel bit so that no round action writes a zero slot.
contract PoFLConsensus is PoFLCommittee, PoFLSettings, ServedByLens {
    using Treasury for Treasury.Books;

    /// @dev The read-only code of this contract's views (see `fallback`).
    PoFLLens private immutable _lens;
    /// @dev The read-only code that judges an appeal (see `_judgeAppeal`).
    PoFLAppealCourt private immutable _court;

    /// @notice Deploys the consensus with its configuration and genesis model, and its lens; opens round 1.
    /// @param config_ the protocol parameters (see `Config`)
    /// @param genesisDigest sha2-256 digest of the initial model every miner starts from
    /// @param genesisKind how the genesis digest becomes its CID
    /// @param holdout_ the hold-out task judging the rounds (its `consensus()` must be this contract), or zero
    /// for public evaluation (every miner measures on the evaluation set `evalSetHash` names)
    /// @dev `msg.value` seeds the reward pool.
    constructor(
        Config memory config_,
        bytes32 genesisDigest,
        CidKind genesisKind,
        address holdout_
    ) payable PoFLStorage(config_, holdout_) Ownable(msg.sender) {
        _checkConfig(config_);
        if (holdout_ != address(0) && IPoFLHoldout(holdout_).consensus() != address(this)) {
            revert PoFLInvalidConfig(ConfigField.Holdout);
        }
        if (genesisDigest == bytes32(0)) revert PoFLEmptyDigest();
        _lens = new PoFLLens(config_, holdout_);
        _court = new PoFLAppealCourt(config_, holdout_);
        _storeConfig(config_);

        bytes32 genesisHash = _hashBlock(bytes32(0), 0, address(0), genesisDigest, genesisKind, 0);
        _blocks.push(StoredBlock(0, address(0), 0, genesisKind, genesisDigest, genesisHash));
        _digests[genesisDigest] = DigestClaim(address(0), 0, 0, ClaimStatus.Accepted, genesisKind, false, 0);
        emit BlockFinalized(0, 0, address(0), genesisDigest, genesisKind, 0, bytes32(0), genesisHash, 0);
        if (msg.value > 0) {
            _books.fund(msg.value);
            emit RewardsFunded(msg.sender, msg.value);
        }
        _openRound(1);
    }

    /// @dev The lens whose code serves the views of `IPoFLLens` (ServedByLens's `fallback`).
    function _lensCode() internal view override returns (address) {
        return address(_lens);
    }

    /// @dev Runs the court's `judge` on this contract's storage (DELEGATECALL). The court is fixed (this contract's
    /// constructor deployed it) and read-only (tests/unit/test_compile.py checks its code), and reverts only on a
    /// bug: its revert is passed on.
    function _judgeAppeal(
        uint256 position,
        uint256 seats
    ) internal override returns (PoFLAppealCourt.Verdict, uint16, uint16, uint256) {
        (bool ok, bytes memory out) = address(_court).delegatecall(
            abi.encodeCall(PoFLAppealCourt.judge, (position, seats))
        );
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(out, 32), mload(out))
            }
        }
        return abi.decode(out, (PoFLAppealCourt.Verdict, uint16, uint16, uint256));
    }

    /// @inheritdoc IPoFLConsensus
    function lens() external view returns (address) {
        return address(_lens);
    }

    // ------------------------------------------------------------ round actions

    /// @inheritdoc IPoFLConsensus
    function commit(uint64 round, bytes32 commitment) external {
        if (commitment == bytes32(0)) revert PoFLEmptyCommitment();
        Miner storage m = _miners[msg.sender];
        if (!m.registered) revert PoFLNotAMiner(msg.sender);
        LiveRound storage s = _currentRound(round, Phase.Commit);
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
        _committerAt[position] = msg.sender;
        _seals[msg.sender] = commitment;
        (m.position, m.seal, m.reportAttempt) = (position, Sealed.Committed, 0);
        s.commits = position + 1;
        if (position == 0) {
            s.deadline = uint40(block.timestamp) + _params.commitDuration;
            emit PhaseChanged(round, Phase.Commit, s.deadline);
        }
        emit Committed(round, msg.sender);
        if (block.timestamp >= _commitsEnd(s.deadline)) _endPhase(); // every active miner committed, grace over
    }

    /// @inheritdoc IPoFLConsensus
    function reveal(
        uint64 round,
        bytes32 digest,
        CidKind cidKind,
        uint16 accuracyBps,
        uint16 parentBps,
        bytes32 salt
    ) external {
        LiveRound storage s = _currentRound(round, Phase.Reveal);
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
        bool eligible = fresh && accuracyBps >= _thresholdBps && (!_requireImprovement || accuracyBps > parentBps);
        if (fresh) {
            _digests[digest] = DigestClaim(
                msg.sender,
                SafeCast.toUint32(round),
                accuracyBps,
                ClaimStatus.Revealed,
                cidKind,
                eligible,
                parentBps
            );
        } else {
            (m.seal, m.reusedBps, m.reusedKind) = (Sealed.Reused, accuracyBps, cidKind);
        }
        emit Revealed(round, msg.sender, digest, cidKind, accuracyBps, eligible);
        if (holdout && parentBps == SHARD_UNOPENED) s.unopenedStake += m.stake;

        if (voidedCandidate) {
            (s.candidate, s.candidateBps) = _bestClaim(round, false, 0);
        } else if (eligible) {
            OptionalPosition candidate = s.candidate;
            uint16 candidateBps = s.candidateBps;
            if (
                candidate.isNone() ||
                accuracyBps > candidateBps ||
                (accuracyBps == candidateBps && position < candidate.get())
            ) (s.candidate, s.candidateBps) = (toOptional(position), accuracyBps);
        }
        uint16 reveals = s.reveals + 1;
        s.reveals = reveals;
        if (reveals == s.commits) _endPhase(); // every committer revealed
    }

    /// @inheritdoc IPoFLConsensus
    function vote(uint64 round, uint16 attempt, uint16 measuredBps, uint16 parentBps) external {
        LiveRound storage s = _currentRound(round, Phase.Validation);
        uint16 seats = s.seats;
        if (seats == 0) revert PoFLCommitteePending(_extra.seedBlock);
        if (attempt != s.attempt) revert PoFLStaleValidation(s.attempt, attempt);
        Miner storage m = _miners[msg.sender];
        if (m.lastRound != round || m.seal == Sealed.None || (_seatBits >> m.position) & 1 == 0) {
            revert PoFLNotInCommittee(round, msg.sender);
        }
        if (m.reportAttempt == attempt) revert PoFLAlreadyVoted(round, msg.sender);
        if (measuredBps == UNAVAILABLE) {
            // "could not fetch" stands only from a time on chain, the same for every seat
            uint256 fetchDeadline = s.deadline - _params.validationDuration / 2;
            if (block.timestamp < fetchDeadline) revert PoFLFetchWindowOpen(fetchDeadline);
        } else if (measuredBps > BPS) revert PoFLAccuracyOutOfRange(measuredBps);
        if (parentBps > BPS) revert PoFLAccuracyOutOfRange(parentBps);
        (m.reportAttempt, m.reportBps, m.parentReportBps) = (attempt, measuredBps, parentBps);
        uint16 votes = s.votes + 1;
        s.votes = votes;
        emit Voted(round, msg.sender, attempt, measuredBps);
        if (votes == seats) _endPhase(); // every seat reported
    }

    /// @inheritdoc IPoFLConsensus
    function onKeyRevealed(uint64 round) external returns (uint256 index) {
        if (msg.sender != address(_holdout)) revert PoFLNotHoldout(msg.sender);
        LiveRound storage s = _currentRound(round, Phase.Reveal);
        if (s.keyRevealed) revert IPoFLHoldout.PoFLHoldoutKeyAlreadyRevealed(_shardsUsed - 1);
        if (s.commits <= _params.minCommittee) revert PoFLTooFewCommits(s.commits, _params.minCommittee + 1);
        if (!_independent()) revert PoFLNotIndependent(_committedStake(), _books.totalStaked);
        index = _shardsUsed++;
        s.keyRevealed = true;
        _enter(Phase.Reveal, block.timestamp + _params.revealDuration); // a full reveal window from now
    }

    /// @inheritdoc IPoFLConsensus
    function advance() external {
        _advance();
    }

    /// @inheritdoc IPoFLConsensus
    function finalize() external {
        _advance();
        LiveRound storage s = _round;
        if (s.phase != Phase.Finalize) revert PoFLWrongPhase(Phase.Finalize, s.phase);
        if (s.attempt == 0) {
            FailReason reason =
                s.candidate.isNone()
                    ? FailReason.NoEligibleClaim
                    : _canValidate(s.candidate)
                        ? FailReason.NotIndependent
                        : FailReason.NoCommittee;
            if (address(_holdout) != address(0) && !s.keyRevealed) {
                // no key, so nothing could be measured or revealed: a round with a possible committee whose
                // committers hold more than half the stake is the requester's failure (it pays); any other is
                // nobody's (and uses no shard)
                if (s.commits <= _params.minCommittee) reason = FailReason.NoCommittee;
                else reason = _independent() ? FailReason.KeyMissing : FailReason.NotIndependent;
            }
            _endRound(reason);
            return;
        }
        bool settled = _decide();
        (OptionalPosition next, uint16 nextBps) = settled
            ? (NO_POSITION, 0)
            : _bestClaim(s.round, !_extra.best.isNone(), _extra.bestBps);
        if (_extra.appeal == s.attempt + 1) (next, nextBps) = (s.candidate, s.candidateBps); // the appeal opened
        if (_canValidate(next)) {
            (s.candidate, s.candidateBps) = (next, nextBps);
            _enter(Phase.Validation, 0);
        } else {
            _endRound(next.isNone() ? FailReason.NoAcceptedClaim : FailReason.NoCommittee);
        }
    }

    /// @inheritdoc IPoFLConsensus
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

    // ---------------------------------------------------------- phase machine

    /// @dev Records what the clock has made happen (`advance()`), then checks `round` and that the phase is
    /// `expected`.
    function _currentRound(uint64 round, Phase expected) private returns (LiveRound storage s) {
        _advance();
        s = _round;
        if (round != s.round) revert PoFLWrongRound(s.round, round);
        if (s.phase != expected) revert PoFLWrongPhase(expected, s.phase);
    }

    /// @dev Records what the phase rules (PoFLPhases) say the clock has ended, entering each phase in turn,
    /// then draws the first committee once its seed block is mined.
    function _advance() internal override {
        LiveRound storage s = _round;
        while (_clockEnded(s.phase, s.deadline)) _endPhase();
        if (s.phase == Phase.Validation && s.seats == 0) {
            uint40 deadline = _drawWhenSeeded();
            if (deadline != 0) _setPhase(Phase.Validation, deadline);
        }
    }

    /// @dev Ends the recorded phase now and enters the one the rules (`_following`) say comes next.
    function _endPhase() internal override {
        (Phase next, uint64 deadline) = _following(_round.phase, _round.deadline);
        _enter(next, deadline);
    }

    /// @dev Enters `phase`: Validation opens the next validation (see `_openValidation`); any other phase is
    /// recorded with `deadline`.
    function _enter(Phase phase, uint256 deadline) private {
        if (phase == Phase.Validation) _openValidation();
        else _setPhase(phase, uint40(deadline));
    }

    /// @dev Opens validation of the round's candidate. The first one fixes the seed block and waits for it
    /// (`_advance` draws); later ones draw their committee at once from the round's seed.
    function _openValidation() private {
        LiveRound storage s = _round;
        uint16 attempt = s.attempt + 1;
        if (attempt == 1) _extra.seedBlock = uint64(block.number) + _seedLookahead;
        (s.attempt, s.votes, s.seats) = (attempt, 0, 0);
        _setPhase(Phase.Validation, 0);
        _seatBits = SENTINEL;
        emit ValidationOpened(s.round, _committerAt[s.candidate.get()], s.candidateBps, attempt, _extra.seedBlock);
        if (attempt > 1) _setPhase(Phase.Validation, _drawCommittee());
    }

    /// @dev Records `phase` and its `deadline` (0: none yet) and announces them.
    function _setPhase(Phase phase, uint40 deadline) private {
        LiveRound storage s = _round;
        (s.phase, s.deadline) = (phase, deadline);
        emit PhaseChanged(s.round, phase, deadline);
    }

    // ------------------------------------------------------- round open, close

    /// @dev Opens `round` with a snapshot of the owner's configuration.
    function _openRound(uint64 round) private {
        _params = _nextParams;
        _blockReward = _nextBlockReward;
        _round = LiveRound({
            round: SafeCast.toUint48(round),
            phase: Phase.Commit,
            commits: 0,
            reveals: 0,
            votes: 0,
            seats: 0,
            candidate: NO_POSITION,
            candidateBps: 0,
            attempt: 0,
            activeNow: 0,
            activePrev: _round.activeNow,
            headBps: _blocks[_blocks.length - 1].accuracyBps,
            deadline: 0,
            keyRevealed: false,
            shardReady: false,
            unopenedStake: 0
        });
        _extra = LiveRoundExtra({
            seedBlock: 0,
            openedAt: uint40(block.timestamp),
            best: NO_POSITION,
            bestBps: 0,
            penalized: 0,
            quorum: 0,
            appeal: 0
        });
        _seatBits = SENTINEL;
        _excludedBits = SENTINEL;
        emit RoundOpened(round, uint64(block.timestamp));
    }

    /// @dev Appends the best accepted claim as a block (or records the failure), settles the round's bonds and
    /// evictions, and opens the next round.
    function _endRound(FailReason reasonIfNoBlock) private {
        uint64 round = _round.round;
        OptionalPosition best = _extra.best;
        bool unopened = address(_holdout) != address(0) && _majority(_round.unopenedStake);
        if (!best.isNone()) {
            _appendBlock(round, _committerAt[best.get()], _extra.bestBps);
        } else {
            if (unopened) reasonIfNoBlock = FailReason.ShardUnopened;
            emit RoundFailed(round, reasonIfNoBlock);
        }
        if (reasonIfNoBlock == FailReason.KeyMissing || reasonIfNoBlock == FailReason.ShardUnopened) {
            (address[] memory committers, uint256[] memory stakes) = _committers();
            _holdout.payMissedKey(round, committers, stakes);
        }
        _settleRound(round, address(_holdout) == address(0) || _round.keyRevealed);
        _openRound(round + 1);
    }

    /// @dev The round's committers, in commit order, and their stakes.
    function _committers() private view returns (address[] memory committers, uint256[] memory stakes) {
        committers = new address[](_round.commits);
        stakes = new uint256[](committers.length);
        for (uint256 i = 0; i < committers.length; ++i) {
            committers[i] = _committerAt[i];
            stakes[i] = _miners[committers[i]].stake;
        }
    }

    /// @dev Forfeits the bond of every unrevealed commitment (unless nobody could reveal: `forfeit` false) and
    /// evicts every committer under minStake.
    function _settleRound(uint64 round, bool forfeit) private {
        uint256 commits = _round.commits;
        if (_round.reveals == commits && _extra.penalized == 0) return;
        uint96 missBond = _params.missBond;
        for (uint256 position = 0; position < commits; ++position) {
            address account = _committerAt[position];
            Miner storage m = _miners[account];
            if (forfeit && m.seal != Sealed.Reused && _claimAt(round, position).status == ClaimStatus.None) {
                _penalize(account, m, missBond, PenaltyReason.MissedReveal);
            }
            if (m.stake < _minStake) _evict(account, m, round);
        }
    }

    /// @dev Appends `miner`'s revealed model as the next block at `accuracyBps` and credits it the block reward.
    function _appendBlock(uint64 round, address miner, uint16 accuracyBps) private {
        bytes32 digest = _seals[miner];
        CidKind cidKind = _digests[digest].cidKind;
        bytes32 parentHash = _blocks[_blocks.length - 1].blockHash;
        bytes32 blockHash = _hashBlock(parentHash, round, miner, digest, cidKind, accuracyBps);
        uint64 height = uint64(_blocks.length);
        _blocks.push(StoredBlock(round, miner, accuracyBps, cidKind, digest, blockHash));
        uint256 reward = _books.payReward(miner, _blockReward);
        emit BlockFinalized(height, round, miner, digest, cidKind, accuracyBps, parentHash, blockHash, reward);
    }

    /// @dev keccak256(abi.encode(parentHash, round, miner, digest, cidKind, accuracyBps)): a block's hash.
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

    // ------------------------------------------------------------------ claims

    /// @dev Whether the revealing miner may use `digest`: a digest first revealed in an earlier round (or the
    /// genesis) is not; within the round, the earlier committer owns it, and an earlier reveal by a later
    /// committer becomes Reused (then `voidedCandidate` says whether that reveal was the candidate).
    function _takeDigest(
        uint64 round,
        uint16 position,
        bytes32 digest
    ) private returns (bool fresh, bool voidedCandidate) {
        DigestClaim memory prior = _digests[digest];
        if (prior.status == ClaimStatus.None) return (true, false);
        Miner storage owner = _miners[prior.miner];
        if (prior.round < round || owner.position < position) {
            emit DigestReused(round, msg.sender, digest, prior.round);
            return (false, false);
        }
        (owner.seal, owner.reusedBps, owner.reusedKind) = (Sealed.Reused, prior.claimBps, prior.cidKind);
        emit DigestReused(round, prior.miner, digest, round);
        return (true, _round.candidate.equals(owner.position));
    }

    /// @dev The revealed claim of position `position` in `round`, if it owns its digest.
    function _claimAt(uint64 round, uint256 position) private view returns (DigestClaim memory d) {
        address miner = _committerAt[position];
        d = _digests[_seals[miner]];
        if (d.miner != miner || d.round != round) d.status = ClaimStatus.None;
    }

    /// @dev The best revealed, eligible, not yet validated claim (above `floorBps` if `hasFloor`), earliest commit
    /// first on ties, and its claimed bps; none if there is none. Bounded by MAX_MINERS.
    function _bestClaim(
        uint64 round,
        bool hasFloor,
        uint16 floorBps
    ) private view returns (OptionalPosition best, uint16 bestBps) {
        uint256 commits = _round.commits;
        for (uint256 position = 0; position < commits; ++position) {
            DigestClaim memory d = _claimAt(round, position);
            if (d.status != ClaimStatus.Revealed || !d.eligible) continue;
            if ((hasFloor && d.claimBps <= floorBps) || (!best.isNone() && d.claimBps <= bestBps)) continue;
            (best, bestBps) = (toOptional(position), d.claimBps);
        }
    }
}
