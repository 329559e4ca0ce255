// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHashChain} from "../IHashChain.sol";

/// @title HashChain: IHashChain's views and the parent link, over a consensus contract's own block records
/// @dev Each consensus stores its blocks as it needs (PoW: nonce and difficulty; PoS: proposer) and tells this
/// base how many there are and each one's hash.
abstract contract HashChain is IHashChain {
    /// @dev The number of blocks stored, genesis included (never 0 after construction).
    function _blockCount() internal view virtual returns (uint256);

    /// @dev The hash of stored block `height` (< _blockCount()).
    function _hashAt(uint256 height) internal view virtual returns (bytes32);

    /// @inheritdoc IHashChain
    function headHash() public view returns (bytes32) {
        return _hashAt(_blockCount() - 1);
    }

    /// @inheritdoc IHashChain
    function blockCount() external view returns (uint256) {
        return _blockCount();
    }

    /// @dev The hash block `height` names as its parent (zero for genesis); reverts BlockNotFound past the head.
    function _parentOf(uint256 height) internal view returns (bytes32) {
        uint256 count = _blockCount();
        if (height >= count) revert BlockNotFound(height, count);
        return height == 0 ? bytes32(0) : _hashAt(height - 1);
    }
}
