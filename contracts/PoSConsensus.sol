// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IPoSConsensus} from "./IPoSConsensus.sol";
import {HashChain} from "./consensus/HashChain.sol";
import {StakeLedger} from "./consensus/StakeLedger.sol";

/// @title PoSConsensus: flexBlock's proof of stake, drawn from a future block hash, with availability checked
/// @notice See IPoSConsensus.
contract PoSConsensus is IPoSConsensus, StakeLedger, HashChain {
    /// @notice Slots of the weighted draw: registrations ever (a slot is not reused after its member leaves).
    uint256 public constant MAX_SLOTS = 1024;
    /// @notice Largest seed lookahead (blocks); the seed block's hash must stay readable (256 blocks).
    uint256 public constant MAX_SEED_LOOKAHEAD = 128;

    /// @dev A stored block (its parent is the previous one).
    struct StoredBlock {
        bytes32 blockHash;
        bytes32 digest;
        address proposer;
        IPoFLConsensus.CidKind cidKind;
        uint64 timestamp;
    }

    uint256 internal immutable _initialWeight;
    uint256 internal immutable _seedLookahead;
    uint256 internal immutable _quorum;
    uint256 internal immutable _proposeSeconds;
    uint256 internal immutable _attestSeconds;
    uint256 internal immutable _bond;

    Turn internal _turn;
    StoredBlock[] internal _blocks;
    uint256 internal _slotsUsed;
    uint256[MAX_SLOTS + 1] internal _tree; // Fenwick tree of weights by slot (1-based)
    mapping(uint256 slot => address) internal _slotOwner;
    mapping(address account => uint256) internal _slotOf;
    mapping(address account => uint256) internal _weight;
    mapping(bytes32 turnAndAttester => bool) internal _attested;

    /// @param genesisDigest The genesis model's digest (its CID's sha2-256), of kind `genesisKind`.
    /// @param initialWeight_ Each member's starting weight (flexBlock: 32). @param seedLookahead_ Blocks from a
    /// turn's opening to its seed block. @param quorum_ Attestations that decide early. @param proposeSeconds,
    /// attestSeconds The phases' longest durations. @param bond_ Wei a proposer loses with its turn.
    /// @param minStake_ Wei a member stakes at least. @param blockReward_ Wei credited per block from the pool;
    /// the value sent funds the pool.
    constructor(
        bytes32 genesisDigest,
        IPoFLConsensus.CidKind genesisKind,
        uint256 initialWeight_,
        uint256 seedLookahead_,
        uint256 quorum_,
        uint256 proposeSeconds,
        uint256 attestSeconds,
        uint256 bond_,
        uint256 minStake_,
        uint256 blockReward_
    ) payable StakeLedger(minStake_, MAX_SLOTS, blockReward_) {
        if (
            initialWeight_ == 0 ||
            seedLookahead_ == 0 ||
            seedLookahead_ > MAX_SEED_LOOKAHEAD ||
            quorum_ == 0 ||
            proposeSeconds == 0 ||
            attestSeconds == 0
        ) revert PoSInvalidConfig();
        if (genesisDigest == bytes32(0)) revert PoSEmptyDigest();
        (_initialWeight, _seedLookahead, _quorum) = (initialWeight_, seedLookahead_, quorum_);
        (_proposeSeconds, _attestSeconds, _bond) = (proposeSeconds, attestSeconds, bond_);
        _blocks.push(
            StoredBlock({
                blockHash: keccak256(abi.encode(bytes32(0), genesisDigest, address(0), uint256(0))),
                digest: genesisDigest,
                proposer: address(0),
                cidKind: genesisKind,
                timestamp: uint64(block.timestamp)
            })
        );
        if (msg.value > 0) _fund(msg.sender, msg.value);
        _openTurn(1, 1);
    }

    // ---------------------------------------------------------------- actions

    /// @inheritdoc IPoSConsensus
    function draw() external {
        _draw();
    }

    /// @inheritdoc IPoSConsensus
    function propose(bytes32 parentHash, bytes32 digest, IPoFLConsensus.CidKind cidKind) external {
        Turn storage t = _turn;
        if (t.phase == TurnPhase.Drawing) _draw();
        if (t.phase != TurnPhase.Proposing) revert PoSWrongPhase(TurnPhase.Proposing, t.phase);
        if (msg.sender != t.proposer) revert PoSNotProposer(t.proposer, msg.sender);
        bytes32 head = headHash();
        if (parentHash != head) revert PoSStaleParent(head, parentHash);
        if (digest == bytes32(0)) revert PoSEmptyDigest();
        (t.phase, t.digest, t.cidKind) = (TurnPhase.Attesting, digest, cidKind);
        t.deadline = uint40(block.timestamp + _attestSeconds);
        emit Proposed(t.height, t.attempt, msg.sender, digest, cidKind);
    }

    /// @inheritdoc IPoSConsensus
    function attest(uint64 height, uint32 attempt, bool loaded) external {
        Turn storage t = _turn;
        if (height != t.height || attempt != t.attempt) revert PoSWrongTurn(t.height, t.attempt);
        if (t.phase != TurnPhase.Attesting) revert PoSWrongPhase(TurnPhase.Attesting, t.phase);
        _onlyMember(msg.sender);
        if (msg.sender == t.proposer) revert PoSProposerCannotAttest(msg.sender);
        bytes32 key = keccak256(abi.encode(height, attempt, msg.sender));
        if (_attested[key]) revert PoSAlreadyAttested(msg.sender);
        _attested[key] = true;
        if (loaded) t.loaded += 1;
        else t.unloadable += 1;
        emit Attested(height, attempt, msg.sender, loaded);
    }

    /// @inheritdoc IPoSConsensus
    function finalize() external {
        Turn storage t = _turn;
        if (t.phase != TurnPhase.Attesting) revert PoSWrongPhase(TurnPhase.Attesting, t.phase);
        if (uint256(t.loaded) + t.unloadable < _quorum && block.timestamp <= t.deadline)
            revert PoSDeadlinePending(t.deadline);
        if (t.unloadable > t.loaded) _lose(t, false);
        else _accept(t);
    }

    /// @inheritdoc IPoSConsensus
    function skip() external {
        Turn storage t = _turn;
        if (t.phase != TurnPhase.Proposing) revert PoSWrongPhase(TurnPhase.Proposing, t.phase);
        if (block.timestamp <= t.deadline) revert PoSDeadlinePending(t.deadline);
        _lose(t, true);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IPoSConsensus
    function currentTurn() external view returns (Turn memory turn) {
        turn = _turn;
        if (turn.phase == TurnPhase.Drawing && block.number > turn.seedBlock) {
            bytes32 seedHash = blockhash(turn.seedBlock);
            if (seedHash != bytes32(0) && _totalWeight() > 0) turn.proposer = _drawn(turn, seedHash);
        }
    }

    /// @inheritdoc IPoSConsensus
    function weightOf(address account) external view returns (uint256) {
        return _weight[account];
    }

    /// @inheritdoc IPoSConsensus
    function totalWeight() external view returns (uint256) {
        return _totalWeight();
    }

    /// @inheritdoc IPoSConsensus
    function initialWeight() external view returns (uint256) {
        return _initialWeight;
    }

    /// @inheritdoc IPoSConsensus
    function seedLookahead() external view returns (uint256) {
        return _seedLookahead;
    }

    /// @inheritdoc IPoSConsensus
    function quorum() external view returns (uint256) {
        return _quorum;
    }

    /// @inheritdoc IPoSConsensus
    function bond() external view returns (uint256) {
        return _bond;
    }

    /// @inheritdoc IPoSConsensus
    function durations() external view returns (uint256 proposing, uint256 attesting) {
        return (_proposeSeconds, _attestSeconds);
    }

    /// @inheritdoc IPoSConsensus
    function blockAt(uint256 height) public view returns (Block memory) {
        bytes32 parentHash = _parentOf(height);
        StoredBlock storage b = _blocks[height];
        return
            Block({
                blockHash: b.blockHash,
                parentHash: parentHash,
                digest: b.digest,
                cidKind: b.cidKind,
                proposer: b.proposer,
                timestamp: b.timestamp
            });
    }

    /// @inheritdoc IPoSConsensus
    function latestBlock() external view returns (Block memory) {
        return blockAt(_blocks.length - 1);
    }

    /// @dev The blocks stored (HashChain).
    function _blockCount() internal view override returns (uint256) {
        return _blocks.length;
    }

    /// @dev Block `height`'s hash (HashChain).
    function _hashAt(uint256 height) internal view override returns (bytes32) {
        return _blocks[height].blockHash;
    }

    // ------------------------------------------------------------------ turns

    function _openTurn(uint256 height, uint256 attempt) internal {
        uint256 seedBlock = block.number + _seedLookahead;
        _turn = Turn({
            height: uint64(height),
            attempt: uint32(attempt),
            phase: TurnPhase.Drawing,
            seedBlock: uint64(seedBlock),
            deadline: 0,
            loaded: 0,
            unloadable: 0,
            proposer: address(0),
            cidKind: IPoFLConsensus.CidKind.V0DagPb,
            digest: bytes32(0)
        });
        emit TurnOpened(height, attempt, seedBlock);
    }

    /// @dev Records the proposer once the seed block is mined; moves an unreadable seed to a block ahead.
    function _draw() internal {
        Turn storage t = _turn;
        if (t.phase != TurnPhase.Drawing) revert PoSWrongPhase(TurnPhase.Drawing, t.phase);
        if (block.number <= t.seedBlock) revert PoSSeedPending(t.seedBlock);
        bytes32 seedHash = blockhash(t.seedBlock);
        if (seedHash == bytes32(0)) {
            // older than 256 blocks: a new seed, ahead (nobody is penalized, nobody could have been drawn)
            t.seedBlock = uint64(block.number + _seedLookahead);
            emit TurnOpened(t.height, t.attempt, t.seedBlock);
            return;
        }
        if (_totalWeight() == 0) revert PoSNoWeight();
        address proposer = _drawn(t, seedHash);
        (t.proposer, t.phase) = (proposer, TurnPhase.Proposing);
        t.deadline = uint40(block.timestamp + _proposeSeconds);
        emit ProposerDrawn(t.height, t.attempt, proposer, t.deadline);
    }

    /// @dev The member drawn for turn `t` from `seedHash`, with probability proportional to its weight.
    function _drawn(Turn memory t, bytes32 seedHash) internal view returns (address) {
        uint256 r = uint256(keccak256(abi.encode(seedHash, t.height, t.attempt))) % _totalWeight();
        uint256 pos = 0;
        for (uint256 step = MAX_SLOTS; step > 0; step >>= 1) {
            uint256 next = pos + step;
            if (next <= MAX_SLOTS && _tree[next] <= r) {
                pos = next;
                r -= _tree[next];
            }
        }
        return _slotOwner[pos + 1];
    }

    function _accept(Turn storage t) internal {
        uint256 height = t.height;
        address proposer = t.proposer;
        bytes32 parent = headHash();
        bytes32 hash = keccak256(abi.encode(parent, t.digest, proposer, height));
        _blocks.push(
            StoredBlock({
                blockHash: hash,
                digest: t.digest,
                proposer: proposer,
                cidKind: t.cidKind,
                timestamp: uint64(block.timestamp)
            })
        );
        if (_slotOf[proposer] != 0) _addWeight(proposer, 1); // flexBlock: the winner's stake + 1
        uint256 paid = _reward(proposer);
        emit BlockAccepted(height, proposer, hash, t.digest, _weight[proposer], paid);
        _openTurn(height + 1, 1);
    }

    function _lose(Turn storage t, bool missed) internal {
        (uint256 height, uint256 attempt, address proposer) = (t.height, t.attempt, t.proposer);
        emit TurnLost(height, attempt, proposer, missed);
        if (isMember(proposer)) {
            _penalize(proposer, _bond, missed ? Penalty.Missed : Penalty.Unavailable);
            _evictIfUnder(proposer);
        }
        _openTurn(height, attempt + 1);
    }

    // ------------------------------------------------------------ the weights

    function _joined(address account) internal override {
        uint256 slot = _slotsUsed + 1;
        if (slot > MAX_SLOTS) revert PoSSlotsExhausted(MAX_SLOTS);
        _slotsUsed = slot;
        (_slotOf[account], _slotOwner[slot]) = (slot, account);
        _addWeight(account, _initialWeight);
    }

    function _leaving(address account) internal override {
        uint256 slot = _slotOf[account];
        uint256 weight = _weight[account];
        for (uint256 i = slot; i <= MAX_SLOTS; i += i & (~i + 1)) _tree[i] -= weight;
        delete _weight[account];
        delete _slotOf[account];
        delete _slotOwner[slot];
    }

    function _addWeight(address account, uint256 amount) internal {
        _weight[account] += amount;
        for (uint256 i = _slotOf[account]; i <= MAX_SLOTS; i += i & (~i + 1)) _tree[i] += amount;
    }

    /// @dev The weight of all members: the Fenwick tree's root (MAX_SLOTS is a power of two).
    function _totalWeight() internal view returns (uint256) {
        return _tree[MAX_SLOTS];
    }
}
