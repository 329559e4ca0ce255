// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IPoWConsensus} from "./IPoWConsensus.sol";
import {HashChain} from "./consensus/HashChain.sol";
import {StakeLedger} from "./consensus/StakeLedger.sol";

/// @title PoWConsensus: flexBlock's proof of work, each nonce checked on chain in O(1)
/// @notice See IPoWConsensus. Miners register (StakeLedger) and race off chain; the first valid block on the head
/// wins, is credited the block reward, and moves the difficulty.
contract PoWConsensus is IPoWConsensus, StakeLedger, HashChain {
    /// @notice The most members (bounds nothing on chain here; the same cap as PoFL's miners).
    uint256 public constant MAX_MEMBERS = 255;
    /// @notice The largest difficulty a deployment may set (64 hex digits: every bit of the hash).
    uint8 public constant MAX_DIFFICULTY = 64;

    /// @dev A stored block (its parent is the previous one): 4 slots.
    struct StoredBlock {
        bytes32 blockHash;
        bytes32 digest;
        uint256 nonce;
        address miner;
        IPoFLConsensus.CidKind cidKind;
        uint8 difficulty;
        uint64 timestamp;
    }

    uint8 internal immutable _minDifficulty;
    uint8 internal immutable _maxDifficulty;
    uint8 internal _difficulty;
    StoredBlock[] internal _blocks;

    /// @param genesisDigest The genesis model's digest (its CID's sha2-256), of kind `genesisKind`.
    /// @param initialDifficulty Zero hex digits block 1 needs (flexBlock: 3); within [minDifficulty, maxDifficulty].
    /// @param minStake_ Wei a member stakes at least. @param blockReward_ Wei credited per block from the pool;
    /// the value sent funds the pool.
    constructor(
        bytes32 genesisDigest,
        IPoFLConsensus.CidKind genesisKind,
        uint8 initialDifficulty,
        uint8 minDifficulty,
        uint8 maxDifficulty,
        uint256 minStake_,
        uint256 blockReward_
    ) payable StakeLedger(minStake_, MAX_MEMBERS, blockReward_) {
        if (
            minDifficulty == 0 ||
            minDifficulty > initialDifficulty ||
            initialDifficulty > maxDifficulty ||
            maxDifficulty > MAX_DIFFICULTY
        ) revert PoWInvalidDifficulty(initialDifficulty, minDifficulty, maxDifficulty);
        if (genesisDigest == bytes32(0)) revert PoWEmptyDigest();
        (_minDifficulty, _maxDifficulty, _difficulty) = (minDifficulty, maxDifficulty, initialDifficulty);
        _blocks.push(
            StoredBlock({
                blockHash: _powHash(bytes32(0), genesisDigest, address(0), 0),
                digest: genesisDigest,
                nonce: 0,
                miner: address(0),
                cidKind: genesisKind,
                difficulty: 0,
                timestamp: uint64(block.timestamp)
            })
        );
        if (msg.value > 0) _fund(msg.sender, msg.value);
    }

    /// @inheritdoc IPoWConsensus
    function submitBlock(
        bytes32 parentHash,
        bytes32 digest,
        IPoFLConsensus.CidKind cidKind,
        uint256 nonce
    ) external returns (uint256 height) {
        _onlyMember(msg.sender);
        if (digest == bytes32(0)) revert PoWEmptyDigest();
        StoredBlock storage head = _blocks[_blocks.length - 1];
        if (parentHash != head.blockHash) revert PoWStaleParent(head.blockHash, parentHash);
        bytes32 hash = _powHash(parentHash, digest, msg.sender, nonce);
        uint8 zeros = _difficulty;
        if (!_meets(hash, zeros)) revert PoWInsufficientWork(hash, zeros);
        // flexBlock's rule: up when this block came under a second after its parent, down otherwise
        uint8 next =
            block.timestamp == head.timestamp
                ? (zeros < _maxDifficulty ? zeros + 1 : zeros)
                : (zeros > _minDifficulty ? zeros - 1 : zeros);
        if (next != zeros) _difficulty = next;
        height = _blocks.length;
        _blocks.push(
            StoredBlock({
                blockHash: hash,
                digest: digest,
                nonce: nonce,
                miner: msg.sender,
                cidKind: cidKind,
                difficulty: zeros,
                timestamp: uint64(block.timestamp)
            })
        );
        uint256 paid = _reward(msg.sender);
        emit BlockMined(height, msg.sender, hash, digest, cidKind, nonce, zeros, next, paid);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IPoWConsensus
    function powHash(bytes32 parentHash, bytes32 digest, address miner, uint256 nonce) external pure returns (bytes32) {
        return _powHash(parentHash, digest, miner, nonce);
    }

    /// @inheritdoc IPoWConsensus
    function meetsDifficulty(bytes32 hash, uint8 zeros) external pure returns (bool) {
        return _meets(hash, zeros);
    }

    /// @inheritdoc IPoWConsensus
    function difficulty() external view returns (uint8) {
        return _difficulty;
    }

    /// @inheritdoc IPoWConsensus
    function difficultyBounds() external view returns (uint8 minimum, uint8 maximum) {
        return (_minDifficulty, _maxDifficulty);
    }

    /// @inheritdoc IPoWConsensus
    function blockAt(uint256 height) public view returns (Block memory) {
        bytes32 parentHash = _parentOf(height);
        StoredBlock storage b = _blocks[height];
        return
            Block({
                blockHash: b.blockHash,
                parentHash: parentHash,
                digest: b.digest,
                cidKind: b.cidKind,
                miner: b.miner,
                nonce: b.nonce,
                timestamp: b.timestamp,
                difficulty: b.difficulty
            });
    }

    /// @inheritdoc IPoWConsensus
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

    // --------------------------------------------------------------- internal

    function _powHash(
        bytes32 parentHash,
        bytes32 digest,
        address miner,
        uint256 nonce
    ) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(parentHash, digest, miner, nonce));
    }

    /// @dev `zeros` leading zero hex digits: the hash, as a number, is under 2^(256 - 4 * zeros).
    function _meets(bytes32 hash, uint8 zeros) internal pure returns (bool) {
        return zeros == 0 || (zeros < 64 ? uint256(hash) >> (256 - 4 * uint256(zeros)) == 0 : hash == bytes32(0));
    }
}
