// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IHashChain: a chain of blocks, each naming its parent's hash (PoW and PoS alike)
/// @notice A block's height is its index; genesis is height 0 and names no parent (zero).
interface IHashChain {
    /// @notice No block at `height`: the chain has `count` blocks (heights 0 to count - 1); ask blockCount() first.
    error BlockNotFound(uint256 height, uint256 count);

    /// @notice The head block's hash (the parent the next block must name).
    function headHash() external view returns (bytes32);

    /// @notice The number of blocks, genesis included.
    function blockCount() external view returns (uint256);
}
