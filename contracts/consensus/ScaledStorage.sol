// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "../IPoFLConsensus.sol";
import {IPoFLScaledTypes} from "../IPoFLScaledTypes.sol";
import {Treasury} from "../libraries/Treasury.sol";

/// @title ScaledStorage: every constant, immutable and state variable of PoFLScaled, and its pure helpers
/// @notice The storage layout's one home (PoFLScaled's modules and its lens inherit it first): the configuration
/// as immutables, the live round in four slots, the two K-entry tops and the c vote slots reused every round, the
/// miners as an array and a mapping, the digest registry, the blocks, the Treasury books, and the round's appeal
/// in one slot with the jurors' report slots reused every round.
abstract contract ScaledStorage is IPoFLScaledTypes {
    /// @notice Basis points in 1.0.
    uint16 public constant BPS = 10000;
    /// @notice The most candidates (K): 12 reports of 16 bits fill a seat's vote slot beside the round's tag.
    uint16 public constant MAX_TOP_K = 12;
    /// @notice The most seats (c).
    uint16 public constant MAX_SEATS = 128;
    /// @notice The most jurors of an appeal.
    uint16 public constant MAX_JURORS = 128;
    /// @notice A report lane that says nothing (its own claim, an unrevealed or unfetchable candidate).
    uint16 public constant NO_REPORT = type(uint16).max;
    /// @notice The EIP-712 type of a signed claim.
    bytes32 public constant CLAIM_TYPEHASH = keccak256(
        "Claim(uint64 round,address miner,uint16 accuracyBps,bytes32 commitment)"
    );

    /// @dev Bits of a vote slot that hold the reports; the round's tag sits above them.
    uint256 internal constant REPORT_BITS = 192;
    /// @dev Bits of a juror's slot that hold its report; the round's tag sits above them.
    uint256 internal constant JUROR_BITS = 16;
    /// @dev Slot ids of the direct top start here (root top: 0 .. K - 1).
    uint256 internal constant DIRECT = 16;

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

    /// @dev The round's appeal, one slot: the disputed candidate and its jury, drawn from the hash of `seedBlock`.
    /// `round` says which round it belongs to (it is rewritten only when a round is appealed).
    struct Appeal {
        uint48 round;
        uint8 candidate;
        uint16 jurors;
        bool seeded;
        uint64 seedBlock;
        uint64 seed;
    }

    /// @dev The configuration (immutables: read for free).
    uint16 internal immutable _thresholdBps;
    uint16 internal immutable _toleranceBps;
    uint16 internal immutable _quorumBps;
    uint16 internal immutable _seats;
    uint16 internal immutable _topK;
    uint96 internal immutable _minStake;
    uint96 internal immutable _bond;
    uint16 internal immutable _misreportPenaltyBps;
    uint96 internal immutable _blockReward;
    uint32 internal immutable _aggregatorDuration;
    uint32 internal immutable _fallbackDuration;
    uint32 internal immutable _forcedDuration;
    uint32 internal immutable _revealDuration;
    uint32 internal immutable _voteDuration;
    uint16 internal immutable _seedLookahead;
    uint16 internal immutable _appealSeats;
    uint32 internal immutable _appealDuration;

    Round internal _round;
    bytes32 internal _root;
    bytes32 internal _listBlob;
    Entry[MAX_TOP_K] internal _rootTop;
    Entry[MAX_TOP_K] internal _directTop;
    uint256[MAX_SEATS] internal _votes; // seat -> round << 192 | reports
    address[] internal _minerAt;
    mapping(address account => Miner) internal _miners;
    mapping(bytes32 digest => uint64 round) internal _digestRound; // the round that first revealed it
    Block[] internal _blocks;
    Treasury.Books internal _books;
    Appeal internal _appeal;
    uint256[MAX_JURORS] internal _jurorVotes; // juror -> round << 16 | report

    /// @dev Sets the immutables from `config_` (checked).
    constructor(Config memory config_, bytes32 genesisDigest) {
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
        _appealSeats = config_.appealSeats;
        _appealDuration = config_.appealDuration;
    }

    /// @dev The miner at `index`, which the caller knows to be under the array's length (a sampled index is
    /// under the round's population, and no miner is removed while a committee sits): no length read.
    function _minerOfIndex(uint256 index) internal view returns (address miner) {
        assembly ("memory-safe") {
            mstore(0, _minerAt.slot)
            miner := sload(add(keccak256(0, 32), index))
        }
    }
    /// @dev Candidate `index`'s slot id in `order`.
    function _slotOf(uint256 order, uint256 index) internal pure returns (uint256) {
        return (order >> (5 * index)) & 31;
    }
    /// @dev The top entry of slot id `slot`.
    function _entryAt(uint256 slot) internal view returns (Entry storage) {
        return slot < DIRECT ? _rootTop[slot] : _directTop[slot - DIRECT];
    }
    /// @dev Candidate `index`'s entry.
    function _entry(uint256 order, uint256 index) internal view returns (Entry storage) {
        return _entryAt(_slotOf(order, index));
    }
    function _commitment(
        uint64 round,
        bytes32 digest,
        IPoFLConsensus.CidKind cidKind,
        bytes32 salt,
        address miner
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(round, digest, cidKind, salt, miner));
    }
    function _leafHash(uint64 round, Leaf calldata leaf) internal pure returns (bytes32) {
        return
            keccak256(
                bytes.concat(keccak256(abi.encode(round, leaf.rank, leaf.miner, leaf.accuracyBps, leaf.commitment)))
            );
    }
    /// @dev Reverts (ScaledInvalidConfig) unless every value of `c` is in its range.
    function _checkConfig(Config memory c, bytes32 genesisDigest) internal pure {
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
            c.voteDuration == 0 ||
            c.appealDuration == 0
        ) revert ScaledInvalidConfig(ConfigField.Duration);
        if (c.seedLookahead == 0 || c.seedLookahead > 128) revert ScaledInvalidConfig(ConfigField.SeedLookahead);
        if (c.minStake == 0) revert ScaledInvalidConfig(ConfigField.MinStake);
        if (c.bond == 0 || c.bond > c.minStake) revert ScaledInvalidConfig(ConfigField.Bond);
        if (c.misreportPenaltyBps > BPS) revert ScaledInvalidConfig(ConfigField.MisreportPenaltyBps);
        if (c.appealSeats == 0 || c.appealSeats > MAX_JURORS) revert ScaledInvalidConfig(ConfigField.AppealSeats);
        if (genesisDigest == bytes32(0)) revert ScaledInvalidConfig(ConfigField.Genesis);
    }
}
