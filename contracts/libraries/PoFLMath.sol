// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title PoFLMath: the pure arithmetic of PoFL consensus (medians of reports, bit sets of commit positions)
/// @dev Internal functions only: they are compiled into the contracts that use them.
library PoFLMath {
    /// @dev The largest value `lowerMedian` counts (basis points in 1.0).
    uint256 internal constant MAX_VALUE = 10000;

    /// @dev The lower median of `values` (each at most MAX_VALUE): the value of rank (n - 1) / 2, found by
    /// counting in two levels (hundreds, then units) in O(n + 200) whatever the order of the values. (A sort would
    /// be O(n^2) in the worst order with insertion, and OpenZeppelin's Arrays.sort adds 4 KB to a contract that
    /// must stay under the EIP-170 size limit.) `weightedLowerMedian` with equal weights, counted more cheaply.
    function lowerMedian(uint256[] memory values) internal pure returns (uint16) {
        uint256 rank = (values.length - 1) / 2;
        uint256[] memory hundreds = new uint256[](MAX_VALUE / 100 + 1);
        for (uint256 i = 0; i < values.length; ++i) {
            ++hundreds[values[i] / 100];
        }
        uint256 hundred;
        for (; hundreds[hundred] <= rank; ++hundred) {
            rank -= hundreds[hundred];
        }
        uint256[] memory units = new uint256[](100);
        for (uint256 i = 0; i < values.length; ++i) {
            if (values[i] / 100 == hundred) ++units[values[i] % 100];
        }
        uint256 unit;
        for (; units[unit] <= rank; ++unit) {
            rank -= units[unit];
        }
        return uint16(hundred * 100 + unit);
    }

    /// @dev The lower weighted median of `values` (each at most MAX_VALUE) under `weights`: the smallest value v
    /// such that the values up to v weigh at least half of the total (with equal weights, `lowerMedian`). A party
    /// weighing less than half of the total can move it out of the range of the others' values in neither
    /// direction. Summed in two levels as `lowerMedian` counts, in O(n + 200).
    function weightedLowerMedian(uint256[] memory values, uint256[] memory weights) internal pure returns (uint16) {
        uint256 total;
        uint256[] memory hundreds = new uint256[](MAX_VALUE / 100 + 1);
        for (uint256 i = 0; i < values.length; ++i) {
            hundreds[values[i] / 100] += weights[i];
            total += weights[i];
        }
        uint256 below;
        uint256 hundred;
        for (; 2 * (below + hundreds[hundred]) < total; ++hundred) {
            below += hundreds[hundred];
        }
        uint256[] memory units = new uint256[](100);
        for (uint256 i = 0; i < values.length; ++i) {
            if (values[i] / 100 == hundred) units[values[i] % 100] += weights[i];
        }
        uint256 unit;
        for (; 2 * (below + units[unit]) < total; ++unit) {
            below += units[unit];
        }
        return uint16(hundred * 100 + unit);
    }

    /// @dev |a - b|.
    function distance(uint16 a, uint16 b) internal pure returns (uint256) {
        return a > b ? a - b : b - a;
    }

    /// @dev Index of the lowest set bit of `bits` (non-zero).
    function lowestBit(uint256 bits) internal pure returns (uint256) {
        unchecked {
            return Math.log2(bits & (~bits + 1));
        }
    }

    /// @dev The number of set bits of `x` (SWAR; lane sums stay below 2**16).
    function popcount(uint256 x) internal pure returns (uint256) {
        unchecked {
            x -= (x >> 1) & 0x5555555555555555555555555555555555555555555555555555555555555555;
            x =
                (x & 0x3333333333333333333333333333333333333333333333333333333333333333) +
                ((x >> 2) & 0x3333333333333333333333333333333333333333333333333333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f;
            x = (x + (x >> 8)) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff;
            return (x * 0x0001000100010001000100010001000100010001000100010001000100010001) >> 240;
        }
    }
}
