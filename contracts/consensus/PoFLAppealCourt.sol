// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "../IPoFLConsensus.sol";
import {PoFLMath} from "../libraries/PoFLMath.sol";
import {PoFLPhases} from "./PoFLPhases.sol";
import {PoFLStorage} from "./PoFLStorage.sol";

/// @title PoFLAppealCourt: the arithmetic of an appeal's decision by stake, read-only
/// @notice The round's first dispute goes to appeal (`PoFLCommittee._openAppeal`): the same claim is validated
/// again by every committer that may still sit, and decided by stake rather than by seat count, since a third of
/// the seats is enough to split a committee but addresses cost nothing, while stake does. `judge` says what the
/// appeal's reports decide; the consensus applies it (`PoFLCommittee._decideAppeal`).
/// @dev Deployed by the consensus's constructor and run only by DELEGATECALL from it, on its storage (both
/// inherit PoFLStorage first): `judge` is a view, and tests/unit/test_compile.py checks that this contract's code
/// holds no instruction that writes state, logs, calls or creates. It lives apart so that the consensus keeps
/// room under EIP-170.
contract PoFLAppealCourt is PoFLPhases {
    /// @notice What an appeal's reports decide.
    /// @dev `Stands`: neither side holds more than half of all staked ether (the dispute stands); `Confirmed`:
    /// the voters agreeing with the claim do (the claimant among them), at `median` against `parentMedian`;
    /// `Rejected`: the disagreeing seats do.
    enum Verdict {
        Stands,
        Confirmed,
        Rejected
    }

    /// @notice Sets the immutables the consensus has (its configuration and hold-out task).
    constructor(IPoFLConsensus.Config memory config_, address holdout_) PoFLStorage(config_, holdout_) {}

    /// @notice The verdict of the appeal under way on the claim at commit position `position`, whose seats are
    /// `seats`; the median of the agreeing voters' reports and of every voter's parent report (BPS + 1 when the
    /// parent is not judged: no `requireImprovement`), weighted by stake; and the seats, of the appeal or of the
    /// first committee, whose report the verdict contradicts (`losers`, a bit per position; none if it stands).
    /// @dev The claimant votes for its claim (its report: the claim; its parent report: the parent it declared at
    /// its reveal); each seat that reported (not UNAVAILABLE) votes with its reports; each voter weighs its
    /// stake. A weighted lower median is the smallest value the voters up to which hold at least half of the
    /// weight: a party holding less than half moves it out of the range of the others' measurements in neither
    /// direction. Contradicted: on a confirmation, a report further than the tolerance from the median, or a
    /// parent report further than it from the parent's median; on a rejection, a report that agreed.
    function judge(
        uint256 position,
        uint256 seats
    ) external view returns (Verdict verdict, uint16 median, uint16 parentMedian, uint256 losers) {
        DigestClaim storage claim = _digests[_seals[_committerAt[position]]];
        uint16 claimed = claim.claimBps;
        uint16 tolerance = _params.toleranceBps;
        uint256 stake = _miners[_committerAt[position]].stake;
        uint256 voters = PoFLMath.popcount(seats) + 1;
        (uint256[] memory agreeing, uint256[] memory agreeingStakes) = (new uint256[](voters), new uint256[](voters));
        (uint256[] memory parents, uint256[] memory stakes) = (new uint256[](voters), new uint256[](voters));
        (agreeing[0], agreeingStakes[0], parents[0], stakes[0]) = (claimed, stake, claim.parentBps, stake);
        (uint256 nAgreeing, uint256 n, uint256 agreeingStake, uint256 against) = (1, 1, stake, 0);
        for (uint256 bits = seats; bits != 0; bits &= bits - 1) {
            Miner storage v = _miners[_committerAt[PoFLMath.lowestBit(bits)]];
            if (v.reportAttempt != _round.attempt || v.reportBps == UNAVAILABLE) continue;
            (parents[n], stakes[n]) = (v.parentReportBps, v.stake);
            ++n;
            if (uint256(v.reportBps) + tolerance >= claimed) {
                (agreeing[nAgreeing], agreeingStakes[nAgreeing]) = (v.reportBps, v.stake);
                ++nAgreeing;
                agreeingStake += v.stake;
            } else {
                against += v.stake;
            }
        }
        assembly ("memory-safe") {
            // only the voters: the arrays were sized for every seat and the claimant
            mstore(agreeing, nAgreeing)
            mstore(agreeingStakes, nAgreeing)
            mstore(parents, n)
            mstore(stakes, n)
        }
        parentMedian = BPS + 1;
        if (_majority(agreeingStake)) {
            verdict = Verdict.Confirmed;
            median = PoFLMath.weightedLowerMedian(agreeing, agreeingStakes);
            if (_requireImprovement) parentMedian = PoFLMath.weightedLowerMedian(parents, stakes);
        } else if (_majority(against)) {
            verdict = Verdict.Rejected;
        } else {
            return (Verdict.Stands, 0, parentMedian, 0);
        }
        losers = _losers(seats, verdict == Verdict.Rejected, claimed, median, parentMedian, tolerance);
    }

    /// @dev The seats of the appeal (`seats`) or of the first committee (`_firstSeatBits`) with a report the
    /// verdict contradicts (see `judge`); a seat of both is judged on either report.
    function _losers(
        uint256 seats,
        bool rejected,
        uint16 claimed,
        uint16 median,
        uint16 parentMedian,
        uint16 tolerance
    ) private view returns (uint256 losers) {
        uint256 first = _firstSeatBits & ~SENTINEL;
        uint16 attempt = _round.attempt;
        for (uint256 bits = seats | first; bits != 0; bits &= bits - 1) {
            uint256 seat = PoFLMath.lowestBit(bits);
            Miner storage v = _miners[_committerAt[seat]];
            bool lost =
                (seats >> seat) & 1 == 1 &&
                    v.reportAttempt == attempt &&
                    v.reportBps != UNAVAILABLE &&
                    _contradicted(v.reportBps, v.parentReportBps, rejected, claimed, median, parentMedian, tolerance);
            if ((first >> seat) & 1 == 1) {
                uint32 r = _firstReports[seat];
                lost =
                    lost ||
                    _contradicted(uint16(r >> 16), uint16(r), rejected, claimed, median, parentMedian, tolerance);
            }
            if (lost) losers |= 1 << seat;
        }
    }

    /// @dev Whether a report (`report`, and `parent` for the parent) is on the side the verdict contradicts.
    function _contradicted(
        uint16 report,
        uint16 parent,
        bool rejected,
        uint16 claimed,
        uint16 median,
        uint16 parentMedian,
        uint16 tolerance
    ) private pure returns (bool) {
        if (rejected) return uint256(report) + tolerance >= claimed;
        return
            PoFLMath.distance(report, median) > tolerance ||
            (parentMedian <= BPS && PoFLMath.distance(parent, parentMedian) > tolerance);
    }
}
