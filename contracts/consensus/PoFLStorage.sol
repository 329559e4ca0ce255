// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IPoFLConsensus} from "../IPoFLConsensus.sol";
import {IPoFLHoldout} from "../IPoFLHoldout.sol";
import {OptionalPosition} from "../libraries/OptionalPosition.sol";
import {Treasury} from "../libraries/Treasury.sol";

/// @title PoFLStorage: every constant, immutable and state variable of PoFL consensus, in one place
/// @notice The storage layout's one home. `PoFLConsensus` (which writes it) and `PoFLLens` (whose views run on
/// the consensus's storage, see `PoFLConsensus.fallback`) both inherit it first, so each variable has the same
/// slot in both (tests/test_compile.py pins this against solc's storage layouts).
/// @dev Holds no logic but how the stored configuration reads as an `IPoFLConsensus.Config`.
abstract contract PoFLStorage {
    // -------------------------------------------------------------- constants

    // The protocol's limits are public: their getters answer at the consensus's address (and at the lens's).

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

    /// @dev Hold-out mode: the `parentBps` a revealer declares when the round's shard does not open (its bytes
    /// do not decrypt or parse with the revealed key). Revealers holding more than half the stake saying so make a
    /// round without a block fail `ShardUnopened`, paid from the requester's bond.
    uint16 internal constant SHARD_UNOPENED = type(uint16).max;

    /// @dev The `measuredBps` a seat reports when it could not fetch the candidate's model by the fetch deadline
    /// (the committee's draw plus half the validation window). Never a misreport; a third of the seats
    /// reporting it makes the claim `Unavailable` (the claimant pays).
    uint16 internal constant UNAVAILABLE = type(uint16).max - 1;

    /// @dev Bit 255 of every per-round bitmap: never a position (positions < MAX_MINERS), always set, so that no
    /// round action writes a zero slot.
    uint256 internal constant SENTINEL = 1 << 255;

    // ------------------------------------------------------------------ types

    /// @dev The live round, read (and mostly written) by every round action. Two slots: every field up to
    /// `deadline` fills the first; `keyRevealed`, `shardReady` and `unopenedStake` (hold-out mode only) sit in
    /// the second.
    struct LiveRound {
        uint48 round;
        IPoFLConsensus.Phase phase;
        uint16 commits;
        uint16 reveals;
        uint16 votes;
        uint16 seats;
        OptionalPosition candidate; // the best claim (during reveals) or the claim under validation
        uint16 candidateBps;
        uint16 attempt;
        uint16 activeNow; // miners whose lastRound is this round
        uint16 activePrev; // miners whose lastRound is the previous round
        uint16 headBps; // the head block's accuracy when the round opened
        uint40 deadline; // of the recorded phase; 0 = none yet
        bool keyRevealed; // hold-out mode: this round's shard key is public
        bool shardReady; // hold-out mode: a shard judges this round
        uint96 unopenedStake; // hold-out mode: stake of the revealers that declared the shard does not open
    }

    /// @dev The rest of the live round (one slot).
    struct LiveRoundExtra {
        uint64 seedBlock;
        uint40 openedAt;
        OptionalPosition best; // the accepted claim with the highest median
        uint16 bestBps;
        uint16 penalized; // penalties this round (a non-zero count makes the round's close look for evictions)
        uint16 quorum;
        uint16 appeal; // the attempt that is the round's appeal (0: none opened); see PoFLCommittee
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
        IPoFLConsensus.CidKind reusedKind;
        bool registered;
    }

    /// @dev One slot per revealed digest: who owns it and its claim. Written once per reveal (the digest
    /// registry and the claim in one SSTORE); a status other than None marks the digest as used.
    struct DigestClaim {
        address miner;
        uint32 round;
        uint16 claimBps;
        IPoFLConsensus.ClaimStatus status;
        IPoFLConsensus.CidKind cidKind;
        bool eligible;
        uint16 parentBps; // the parent's accuracy the claimant declared at its reveal: its parent report on appeal
    }

    /// @dev A block as stored (its height is its index; its parent hash, the previous block's hash).
    struct StoredBlock {
        uint64 round;
        address miner;
        uint16 accuracyBps;
        IPoFLConsensus.CidKind cidKind;
        bytes32 digest;
        bytes32 blockHash;
    }

    // ------------------------------------------------------------- immutables

    uint16 internal immutable _thresholdBps;
    bool internal immutable _requireImprovement;
    uint16 internal immutable _seedLookahead;
    uint96 internal immutable _minStake;
    bytes32 internal immutable _evalSetHash;
    bytes32 internal immutable _architectureId;
    IPoFLHoldout internal immutable _holdout; // zero: public evaluation
    uint32 internal immutable _commitGrace; // seconds from the first commit before an early end of the commits

    // ------------------------------------------------------------------ state

    // Two words first: with a struct at slot 0, solc's via-IR optimizer copied `_params = _nextParams` (each
    // round's opening) field by field, about 2,000 gas more per round.
    uint256 internal _shardsUsed; // hold-out mode: shards whose key was revealed (the next round gets this index)
    bytes32 internal _seed;
    Params internal _nextParams;
    uint96 internal _nextBlockReward;
    Params internal _params;
    uint96 internal _blockReward;

    LiveRound internal _round;
    LiveRoundExtra internal _extra;
    uint256 internal _seatBits; // SENTINEL | 1 << position of every seat of the current committee
    uint256 internal _excludedBits; // SENTINEL | positions that may no longer sit this round
    address[MAX_MINERS] internal _committerAt; // commit position -> miner, this round (positions 0..commits-1)

    mapping(address account => Miner) internal _miners;
    mapping(address miner => bytes32) internal _seals; // the commitment until revealed, then the digest
    mapping(bytes32 digest => DigestClaim) internal _digests;
    EnumerableSet.AddressSet internal _registry;
    StoredBlock[] internal _blocks;

    Treasury.Books internal _books; // the ether: stakes, the reward pool, credit

    // The round's appeal (PoFLCommittee): the first committee's reports, kept when the appeal opens (the appeal's
    // votes overwrite the seats' report slots) and judged by the appeal's decision.
    uint256 internal _firstSeatBits; // SENTINEL | the first committee's seats that reported (not UNAVAILABLE)
    uint32[MAX_MINERS] internal _firstReports; // position -> its first report << 16 | its parent report

    /// @dev Sets the immutables: the parts of `config_` fixed at deployment, and the hold-out task (or zero).
    constructor(IPoFLConsensus.Config memory config_, address holdout_) {
        _thresholdBps = config_.thresholdBps;
        _requireImprovement = config_.requireImprovement;
        _seedLookahead = config_.seedLookahead;
        _minStake = config_.minStake;
        _evalSetHash = config_.evalSetHash;
        _architectureId = config_.architectureId;
        _holdout = IPoFLHoldout(holdout_);
        _commitGrace = config_.commitGrace;
    }

    /// @dev The configuration `p` and `blockReward` make with the immutables.
    function _configOf(Params memory p, uint96 blockReward) internal view returns (IPoFLConsensus.Config memory) {
        return
            IPoFLConsensus.Config({
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
                architectureId: _architectureId,
                commitGrace: _commitGrace
            });
    }
}
