// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IHashChain} from "./IHashChain.sol";
import {IStakeLedger} from "./IStakeLedger.sol";

/// @title IPoWConsensus: proof of work over federated-learning models (flexBlock's PoW, on chain)
/// @notice A block binds a model (its CID's digest) to the chain: its hash is keccak256(parentHash || digest ||
/// miner || nonce) (abi.encodePacked: 32 + 32 + 20 + 32 bytes) and must start with `difficulty()` zero hex
/// digits. Miners search nonces off chain; the contract checks one hash (O(1)) and appends the block.
/// @dev Difficulty, by flexBlock's rule: it starts at the deployment's initial difficulty, and after each block
/// goes up by one when that block came less than a second (the same timestamp) after its parent, down by one
/// otherwise, within [minDifficulty, maxDifficulty] (never 0). Members are the StakeLedger's (register first).
interface IPoWConsensus is IStakeLedger, IHashChain {
    /// @notice A block as stored; its height is its index, genesis (height 0, miner 0) included.
    struct Block {
        bytes32 blockHash;
        bytes32 parentHash;
        bytes32 digest;
        IPoFLConsensus.CidKind cidKind;
        address miner;
        uint256 nonce;
        uint64 timestamp;
        uint8 difficulty;
    }

    /// @notice `miner` appended block `height` (hash `blockHash`, model `digest`) with `nonce` at `difficulty`;
    /// the next block needs `nextDifficulty`. `reward` wei were credited to the miner.
    event BlockMined(
        uint256 indexed height,
        address indexed miner,
        bytes32 blockHash,
        bytes32 digest,
        IPoFLConsensus.CidKind cidKind,
        uint256 nonce,
        uint8 difficulty,
        uint8 nextDifficulty,
        uint256 reward
    );

    /// @notice The block names a parent that is not the head: another miner was first. Mine again on the head
    /// (headHash()) with your model.
    error PoWStaleParent(bytes32 head, bytes32 given);
    /// @notice The hash does not start with `difficulty` zero hex digits: the nonce is not a solution for this
    /// parent, digest and miner. Keep searching (powHash() computes the hash the contract checks).
    error PoWInsufficientWork(bytes32 hash, uint8 difficulty);
    /// @notice The model digest is zero: submit the sha2-256 digest of the model's CID.
    error PoWEmptyDigest();
    /// @notice The difficulty bounds are not 1 <= min <= initial <= max <= 64.
    error PoWInvalidDifficulty(uint8 initial, uint8 minimum, uint8 maximum);

    /// @notice Append a block: the model `digest` (of kind `cidKind`) on parent `parentHash` with `nonce`, mined
    /// by the caller (a member). The block's hash is powHash(parentHash, digest, caller, nonce).
    /// @return height The new block's height.
    function submitBlock(
        bytes32 parentHash,
        bytes32 digest,
        IPoFLConsensus.CidKind cidKind,
        uint256 nonce
    ) external returns (uint256 height);

    /// @notice The hash a block of these fields has: keccak256(abi.encodePacked(parentHash, digest, miner, nonce)).
    function powHash(bytes32 parentHash, bytes32 digest, address miner, uint256 nonce) external pure returns (bytes32);

    /// @notice Whether `hash` starts with `zeros` zero hex digits.
    function meetsDifficulty(bytes32 hash, uint8 zeros) external pure returns (bool);

    /// @notice Zero hex digits the next block's hash needs.
    function difficulty() external view returns (uint8);

    /// @notice The difficulty's bounds: (minimum, maximum).
    function difficultyBounds() external view returns (uint8 minimum, uint8 maximum);

    /// @notice Block `height` (reverts with BlockNotFound past the head).
    function blockAt(uint256 height) external view returns (Block memory);

    /// @notice The head block.
    function latestBlock() external view returns (Block memory);
}
