// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IndexSampling} from "../libraries/IndexSampling.sol";
import {PoFLMath} from "../libraries/PoFLMath.sol";
import {ScaledBooks} from "./ScaledBooks.sol";

/// @title ScaledDecision: the committee's reports and what they decide, in O(seats x K)
/// @notice Each revealed candidate is decided as in consensus v3 from the reports of the seats that voted (not its
/// own miner's seat): the quorum, then 2/3 of the reports agreeing and 2/3 within the tolerance of their lower
/// median accept it; 2/3 not agreeing reject it (the claimant slashed whole); anything else is a dispute. The hot
/// loops over the seats run in assembly over memory: via-IR spills this code's variables to memory, and the
/// Solidity loops cost several times the gas.
abstract contract ScaledDecision is ScaledBooks {
    /// @dev What a candidate's reports decide: the outcome, the lower median of its `reports` reports, and the
    /// seats whose report of it is a misreport if it is decided (bit j: seat j).
    struct Verdict {
        Outcome outcome;
        uint16 median;
        uint256 misreports;
        uint256 reports;
    }

    /// @dev The seats (their miners' indices) and their reports: a seat that did not vote this round (`voted`
    /// bit j clear), and the lane of its own candidacy, read NO_REPORT. None before the committee was drawn. A
    /// seat's address is read only where it pays: its own candidacy is found by index (`claimants`' indices,
    /// K reads), not by reading every seat's address (c reads).
    function _committee(
        Round storage s,
        address[] memory claimants
    ) internal view returns (uint256[] memory seats, uint256[] memory lanes, uint256 voted) {
        uint256 n = s.seeded ? s.seats : 0;
        (seats, lanes) = (new uint256[](n), new uint256[](n));
        uint256[] memory claimantIndex = new uint256[](claimants.length);
        for (uint256 i = 0; i < claimants.length; ++i) {
            Miner storage m = _miners[claimants[i]];
            claimantIndex[i] = m.registered ? m.index : type(uint256).max;
        }
        (bytes32 seed, uint256 population, uint256 round) = (bytes32(uint256(s.seed)), s.population, s.round);
        for (uint256 j = 0; j < n; ++j) {
            uint256 index = IndexSampling.permute(seed, j, population);
            uint256 v = _votes[j];
            bool inRound = v >> REPORT_BITS == round;
            if (inRound) voted |= 1 << j;
            (seats[j], lanes[j]) = (index, inRound ? v | _ownLanes(claimantIndex, index) : type(uint256).max);
        }
    }
    /// @dev The lanes (NO_REPORT) of the candidates whose miner has index `index`.
    function _ownLanes(uint256[] memory claimantIndex, uint256 index) internal pure returns (uint256 own) {
        assembly ("memory-safe") {
            let at := add(claimantIndex, 0x20)
            for {
                let i := 0
            } lt(i, mload(claimantIndex)) {
                i := add(i, 1)
            } {
                if eq(mload(add(at, shl(5, i))), index) {
                    own := or(own, shl(shl(4, i), 0xffff))
                }
            }
        }
    }
    /// @dev Judges revealed candidate `index`, claimed at `claimed`, from the reports of `seatCount` seats (`lanes`,
    /// see `_committee`); the caller penalizes the misreporting seats once. No effects: `finalize` judges every
    /// candidate before it knows whether the round goes to appeal.
    function _judge(
        uint256 claimed,
        uint256 index,
        uint256 seatCount,
        uint256[] memory lanes
    ) internal view returns (Verdict memory v) {
        uint256 shift = 16 * index;
        (uint256[] memory reports, uint256 agreeing) = _collect(lanes, shift, claimed, _toleranceBps);
        uint256 n = reports.length;
        v.reports = n;
        if (n == 0 || n < Math.mulDiv(seatCount, _quorumBps, BPS, Math.Rounding.Ceil)) {
            v.outcome = Outcome.NoQuorum;
            return v;
        }
        uint16 median = _lowerMedian(reports);
        uint256 outliers = _outside(lanes, shift, _sub(median, _toleranceBps), median + _toleranceBps);
        bool clustered = 3 * (n - PoFLMath.popcount(outliers)) >= 2 * n;
        Outcome outcome = Outcome.Disputed;
        if (3 * agreeing >= 2 * n && clustered) {
            outcome = median >= _thresholdBps ? Outcome.Accepted : Outcome.BelowThreshold;
        } else if (3 * (n - agreeing) >= 2 * n) outcome = Outcome.Rejected;
        (v.outcome, v.median) = (outcome, median);
        if (outcome != Outcome.Disputed && clustered) v.misreports = outliers;
    }
    /// @dev The reports in lane `shift` of `lanes` (NO_REPORT skipped), and how many of them agree with `claimed`
    /// (at least claimed - tolerance).
    function _collect(
        uint256[] memory lanes,
        uint256 shift,
        uint256 claimed,
        uint256 tolerance
    ) internal pure returns (uint256[] memory reports, uint256 agreeing) {
        reports = new uint256[](lanes.length);
        assembly ("memory-safe") {
            let src := add(lanes, 0x20)
            let end := add(src, shl(5, mload(lanes)))
            let dst := add(reports, 0x20)
            let n := 0
            for {} lt(src, end) {
                src := add(src, 0x20)
            } {
                let r := and(shr(shift, mload(src)), 0xffff)
                if iszero(eq(r, 0xffff)) {
                    mstore(add(dst, shl(5, n)), r)
                    n := add(n, 1)
                    if iszero(lt(add(r, tolerance), claimed)) {
                        agreeing := add(agreeing, 1)
                    }
                }
            }
            mstore(reports, n)
        }
    }
    /// @dev The seats (bit j: seat j) whose report in lane `shift` lies outside [`lo`, `hi`].
    function _outside(
        uint256[] memory lanes,
        uint256 shift,
        uint256 lo,
        uint256 hi
    ) internal pure returns (uint256 outliers) {
        assembly ("memory-safe") {
            let src := add(lanes, 0x20)
            for {
                let j := 0
            } lt(j, mload(lanes)) {
                j := add(j, 1)
            } {
                let r := and(shr(shift, mload(add(src, shl(5, j)))), 0xffff)
                if iszero(eq(r, 0xffff)) {
                    if or(gt(r, hi), lt(r, lo)) {
                        outliers := or(outliers, shl(j, 1))
                    }
                }
            }
        }
    }
    /// @dev `a - b`, or 0 when b > a.
    function _sub(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a - b : 0;
    }
    /// @dev The lower median (rank (n - 1) / 2) of `values`, sorted in place by insertion: O(n) for the nearly
    /// equal reports of an honest committee, O(n^2) at worst for n <= MAX_SEATS. (PoFLMath.lowerMedian counts
    /// in O(n + 200) with two 100-word tables: for a committee of tens of seats, several times the gas.)
    function _lowerMedian(uint256[] memory values) internal pure returns (uint16 median) {
        assembly ("memory-safe") {
            let at := add(values, 0x20)
            let n := mload(values)
            for {
                let i := 1
            } lt(i, n) {
                i := add(i, 1)
            } {
                let v := mload(add(at, shl(5, i)))
                let j := i
                for {} and(gt(j, 0), gt(mload(add(at, shl(5, sub(j, 1)))), v)) {
                    j := sub(j, 1)
                } {
                    mstore(add(at, shl(5, j)), mload(add(at, shl(5, sub(j, 1)))))
                }
                mstore(add(at, shl(5, j)), v)
            }
            median := mload(add(at, shl(5, shr(1, sub(n, 1)))))
        }
    }
}
