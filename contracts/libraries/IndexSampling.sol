// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title IndexSampling: a seeded permutation of the indices 0 .. n - 1, one index at a time
/// @notice `permute(seed, i, n)` for i = 0, 1, ... lists distinct indices (a sample without replacement), each
/// computed alone in O(1) expected gas: a committee seat proves its membership by its index, with no loop over
/// the miners. A 4-round Feistel network over the 2^(2h) >= n values (h = ceil(bits(n - 1) / 2)), its round
/// function keccak256(abi.encode(seed, round, right half)); values >= n walk the cycle on (at most 4 steps
/// expected, since 2^(2h) < 4n). offchain/chain/scaled.py computes the same.
library IndexSampling {
    /// @dev The index at place `x` (< n) of the permutation of 0 .. n - 1 that `seed` draws.
    function permute(bytes32 seed, uint256 x, uint256 n) internal pure returns (uint256) {
        if (n <= 1) return 0;
        uint256 half = (Math.log2(n - 1) + 2) / 2; // ceil(bits(n - 1) / 2)
        uint256 mask = (uint256(1) << half) - 1;
        do {
            uint256 left = x >> half;
            uint256 right = x & mask;
            for (uint256 r = 0; r < 4; ++r) {
                (left, right) = (right, left ^ (_round(seed, r, right) & mask));
            }
            x = (left << half) | right;
        } while (x >= n);
        return x;
    }

    /// @dev uint256(keccak256(abi.encode(seed, r, right))), hashed in scratch space: no memory is allocated (the
    /// committee's draw calls it a few hundred times in one transaction), the free memory pointer is restored.
    function _round(bytes32 seed, uint256 r, uint256 right) private pure returns (uint256 h) {
        assembly ("memory-safe") {
            let free := mload(0x40)
            mstore(0x00, seed)
            mstore(0x20, r)
            mstore(0x40, right)
            h := keccak256(0x00, 0x60)
            mstore(0x40, free)
        }
    }
}
