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
import {PoFLScaledLens} from "./PoFLScaledLens.sol";
import {ScaledAppeal} from "./consensus/ScaledAppeal.sol";
import {ScaledPhases} from "./consensus/ScaledPhases.sol";
import {ScaledStorage} from "./consensus/ScaledStorage.sol";
import {ServedByLens} from "./consensus/ServedByLens.sol";
import {IndexSampling} from "./libraries/IndexSampling.sol";
import {Treasury} from "./libraries/Treasury.sol";

/// @title PoFLScaled: PoFL consensus whose round costs the same at 10 miners and at 10,000 (issue 25)
/// @notice See `IPoFLScaled` for the round and docs/scaling.md for the design and its trust assumptions. In short:
/// signed claims aggregated off chain into one Merkle root (the list in a blob), forced inclusion by direct
/// commits, fraud proofs that slash the poster, K reveals, a committee of `seats` sampled by index, an appeal of
/// the first dispute to a jury of `appealSeats` sampled by index, and a `finalize` in O(seats x K + appealSeats).
/// @dev Design notes:
/// - No per-miner loop anywhere: miners are an array (index -> address) and a mapping; per-round sets are the
///   K-entry tops (`_rootTop`, `_directTop`, reused every round) and the seat slots (`_votes`, reused every
///   round, tagged with the round: a vote writes a non-zero slot, never a fresh one; the jurors' slots alike).
/// - Indices move only while no round depends on them: `leave` in the Claims phase, evictions at the close of a
///   round and after a fraud proof (Forced phase); the committee samples the first `population` indices, fixed
///   when the reveals end.
/// - Burden of proof for an unrevealed root claim: the poster holds every miner's signature; a root candidate
///   that does not reveal costs its miner the bond when someone shows its signature (`showSignature`), and the
///   poster its whole stake otherwise (it posted a claim nobody signed, or sat on the signature). So nobody can
///   frame a miner with a claim it did not sign, and reveals need no proof from the miners (the top leaves were
///   proven at `postRoot`).
/// - The phase machine is lazy: `_advance` applies the clock's rules at the start of every action.
/// - By concern: consensus/ScaledStorage.sol (the layout and pure helpers), ScaledBooks.sol (penalties,
///   evictions, blocks), ScaledPhases.sol (the round's transitions), ScaledDecision.sol (the committee's reports
///   and the decisions), ScaledAppeal.sol (the jury's verdict); PoFLScaledLens.sol the views (served here by
///   ServedByLens's `fallback`); this file holds the actions and the clock.
contract PoFLScaled is IPoFLScaled, ScaledAppeal, ScaledPhases, ServedByLens, EIP712, ReentrancyGuard {
    using Treasury for Treasury.Books;

    /// @dev The read-only code of this contract's views (see `fallback`).
    PoFLScaledLens private immutable _lens;

    /// @notice Deploys the scaled consensus with its configuration and genesis model, and its lens; opens round 1.
    /// @param config_ the configuration (see `Config`)
    /// @param genesisDigest sha2-256 digest of the initial model
    /// @param genesisKind how the genesis digest becomes its CID
    /// @dev `msg.value` seeds the reward pool.
    constructor(
        Config memory config_,
        bytes32 genesisDigest,
        IPoFLConsensus.CidKind genesisKind
    ) payable ScaledStorage(config_, genesisDigest) EIP712("PoFLScaled", "1") {
        _lens = new PoFLScaledLens(config_, genesisDigest);
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
            // one top leaf a miner: copies of a miner's signed leaf could not all be revealed (one digest), and each
            // unrevealed copy would cost its miner the bond
            for (uint256 p = 0; p < i; ++p) if (top[p].miner == leaf.miner) revert ScaledBadLeaf(i);
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

    /// @inheritdoc IPoFLScaled
    function appealVote(uint64 round, uint16 juror, uint16 reportBps) external {
        Round storage s = _current(round, Phase.Appeal);
        Appeal storage a = _appeal;
        if (!a.seeded) revert ScaledSeedPending(a.seedBlock);
        if (
            juror >= a.jurors ||
            _minerOfIndex(IndexSampling.permute(bytes32(uint256(a.seed)), juror, s.population)) != msg.sender ||
            _entry(s.order, a.candidate).miner == msg.sender
        ) revert ScaledNotAJuror(juror, msg.sender);
        if (_jurorVotes[juror] >> JUROR_BITS == round) revert ScaledJurorAlreadyVoted(juror);
        if (reportBps > BPS && reportBps != NO_REPORT) revert ScaledAccuracyOutOfRange(reportBps);
        _jurorVotes[juror] = (uint256(round) << JUROR_BITS) | reportBps;
        emit JuryVoted(round, juror, msg.sender, reportBps);
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
        uint256 appealed = _appeal.round == round ? _appeal.candidate : type(uint256).max;
        Verdict[] memory verdicts = new Verdict[](candidates);
        uint256 disputed = type(uint256).max;
        for (uint256 i = 0; i < candidates; ++i) {
            Entry storage e = _entry(order, i);
            if (!e.revealed) continue;
            verdicts[i] = _judge(e.accuracyBps, i, seats.length, lanes);
            Outcome outcome = verdicts[i].outcome;
            if (disputed == type(uint256).max && (outcome == Outcome.Disputed || outcome == Outcome.NoQuorum)) {
                disputed = i;
            }
        }
        if (disputed != type(uint256).max && appealed == type(uint256).max) {
            // the round's first claim left undecided goes to appeal; nothing is settled until the jury has spoken
            _enterAppeal(s, disputed, claimants[disputed]);
            return;
        }
        address[] memory losers = new address[](
            seats.length + candidates + (appealed == type(uint256).max ? 0 : _appeal.jurors)
        );
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
            Verdict memory verdict = verdicts[i];
            emit ClaimDecided(
                round,
                claimants[i],
                verdict.outcome,
                e.accuracyBps,
                verdict.median,
                uint16(verdict.reports)
            );
            (Outcome outcome, uint16 median, uint256 misreports) = (
                verdict.outcome,
                verdict.median,
                verdict.misreports
            );
            if (i == appealed) {
                (outcome, median, misreports, lost) = _hearAppeal(e, i, lanes, losers, lost);
            }
            misreported |= misreports;
            if (outcome == Outcome.Rejected || outcome == Outcome.Unavailable) {
                Miner storage c = _miners[claimants[i]];
                bool rejected = outcome == Outcome.Rejected;
                uint256 amount = rejected ? c.stake : Math.mulDiv(c.stake, _misreportPenaltyBps, BPS);
                _penalize(claimants[i], c, amount, rejected ? PenaltyReason.FalseClaim : PenaltyReason.UnservedClaim);
                losers[lost++] = claimants[i];
            }
            if (!searching) continue;
            // a claim left undecided (a dispute that stands, or short of the quorum and not appealed: only the round's
            // first undecided claim is) keeps every lower claim from the block: abstaining on the best cannot hand
            // the block to a lower claim
            if (outcome == Outcome.Disputed || outcome == Outcome.NoQuorum) searching = false;
            else if (outcome == Outcome.Accepted && (best == type(uint256).max || median > bestMedian)) {
                (best, bestMedian) = (slot, median);
            }
        }
        for (uint256 j = 0; j < seats.length; ++j) {
            bool missed = (voted >> j) & 1 == 0;
            if (!missed && (misreported >> j) & 1 == 0) continue;
            losers[lost++] = _penalizeReporter(seats[j], missed, PenaltyReason.MissedVote);
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
    function lens() external view returns (address) {
        return address(_lens);
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

    /// @dev The lens whose code serves the views of `IPoFLScaledLens` (ServedByLens's `fallback`).
    function _lensCode() internal view override returns (address) {
        return address(_lens);
    }

    // ------------------------------------------------------------ the phases

    /// @dev The live round, after the clock's rules, checked to be `round` in `phase`.
    function _current(uint64 round, Phase phase) private returns (Round storage s) {
        _advance();
        s = _round;
        if (round != s.round) revert ScaledWrongRound(s.round, round);
        if (s.phase != phase) revert ScaledWrongPhase(phase, s.phase);
    }

    /// @dev Applies the clock's rules (the one place that moves a phase by time; the lens's `roundInfo` mirrors
    /// it), and draws the committee (the jury) once its seed block is mined.
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
            else (s.phase, s.deadline) = (Phase.Finalize, 0); // the vote or the appeal window is over
        }
        if (s.phase == Phase.Vote) _drawCommittee(s);
        else if (s.phase == Phase.Appeal) _drawJury(s);
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

    function _claimDigest(
        uint64 round,
        address miner,
        uint16 accuracyBps,
        bytes32 commitment
    ) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(CLAIM_TYPEHASH, round, miner, accuracyBps, commitment)));
    }
}
