// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IndexSampling} from "../libraries/IndexSampling.sol";
import {PoFLMath} from "../libraries/PoFLMath.sol";
import {ScaledDecision} from "./ScaledDecision.sol";

/// @title ScaledAppeal: the jury's verdict on the round's first undecided claim, in O(appealSeats)
/// @notice A third of a committee's seats can split it (a dispute), or leave a claim without a quorum by saying
/// they could not fetch it; without an appeal either would stall a round, or hand its block to a lower claim, for
/// free. So the round's first claim left `Disputed` or `NoQuorum` goes to a jury of up to `appealSeats` miners
/// sampled by index from a later block's hash (the claimant's own place, if drawn, does not count). Each juror
/// answers with what it measured, or that it could not fetch the model. If more than half of the eligible jurors
/// answered (the jury's quorum: a coalition short of half of it cannot deny it by silence, which a committee's
/// two-thirds quorum would let a third do): most of them unable to fetch it makes the claim `Unavailable` (its
/// claimant pays `misreportPenaltyBps`: it did not serve its model); else the reports decide by majority: more than half
/// agreeing with the claim (at least the claim minus the tolerance) uphold it at the lower median of the jury's
/// reports, more than half not agreeing reject it (the claimant loses its whole stake). Every report that
/// contradicts an upheld or rejected claim, a seat's or a juror's, is a misreport (`misreportPenaltyBps`):
/// outside the tolerance of the median when upheld, agreeing with the claim when rejected. A juror that does not
/// answer forfeits the bond. No quorum, or a tie: the dispute stands (no block from this claim nor from any lower
/// one this round).
/// @dev A coalition holding a share p of the miners decides an appeal only by holding a majority of the jury:
/// with 96 jurors, about 1e-4 at p = 1/3 (docs/scaling.md gives the numbers).
abstract contract ScaledAppeal is ScaledDecision {
    /// @dev The jury of the round's appeal: each juror's miner index (type(uint256).max at the place of `claimant`,
    /// who cannot judge its own claim) and its report (NO_REPORT when it did not answer, or could not fetch the
    /// model); which jurors answered (bit j: juror j), and how many may. None before the jury was drawn.
    function _jury(
        address claimant
    ) internal view returns (uint256[] memory jurors, uint256[] memory reports, uint256 answered, uint256 eligible) {
        Appeal storage a = _appeal;
        uint256 n = a.seeded ? a.jurors : 0;
        (jurors, reports) = (new uint256[](n), new uint256[](n));
        Miner storage c = _miners[claimant];
        uint256 own = c.registered ? c.index : type(uint256).max;
        (bytes32 seed, uint256 population, uint256 round) = (bytes32(uint256(a.seed)), _round.population, _round.round);
        for (uint256 j = 0; j < n; ++j) {
            uint256 index = IndexSampling.permute(seed, j, population);
            (jurors[j], reports[j]) = (index == own ? type(uint256).max : index, NO_REPORT);
            if (index == own) continue;
            ++eligible;
            uint256 v = _jurorVotes[j];
            if (v >> JUROR_BITS != round) continue;
            answered |= 1 << j;
            reports[j] = v & NO_REPORT;
        }
    }

    /// @dev The verdict of the appeal on candidate `index` (entry `e`; the seats' reports in `lanes`): the outcome,
    /// the jury's lower median, and the seats whose report of the claim contradicts the verdict (bit j: seat j;
    /// the caller penalizes them once). Penalizes the jurors that contradict it or did not answer, listing them in
    /// `losers` after its first `lost` entries; returns the new count.
    function _hearAppeal(
        Entry storage e,
        uint256 index,
        uint256[] memory lanes,
        address[] memory losers,
        uint256 lost
    ) internal returns (Outcome outcome, uint16 median, uint256 seatMisreports, uint256) {
        (uint256[] memory jurors, uint256[] memory votes, uint256 answered, uint256 eligible) = _jury(e.miner);
        (uint256 claimed, uint256 tolerance) = (e.accuracyBps, _toleranceBps);
        (uint256[] memory reports, uint256 agreeing) = _collect(votes, 0, claimed, tolerance);
        (uint256 n, uint256 answers) = (reports.length, PoFLMath.popcount(answered));
        uint256 jurorMisreports;
        outcome = Outcome.Disputed;
        if (2 * answers > eligible) {
            if (2 * (answers - n) > answers) outcome = Outcome.Unavailable;
            else if (n > 0) {
                median = _lowerMedian(reports);
                // the reports that contradict a verdict lie outside [lo, hi]
                (uint256 lo, uint256 hi) = (_sub(median, tolerance), median + tolerance);
                if (2 * agreeing > n) outcome = median >= _thresholdBps ? Outcome.Accepted : Outcome.BelowThreshold;
                else if (2 * (n - agreeing) > n) {
                    // some report is under claimed - tolerance, so claimed > tolerance
                    (outcome, lo, hi) = (Outcome.Rejected, 0, claimed - tolerance - 1);
                }
                if (outcome != Outcome.Disputed) {
                    seatMisreports = _outside(lanes, 16 * index, lo, hi);
                    jurorMisreports = _outside(votes, 0, lo, hi);
                }
            }
        }
        emit AppealDecided(_round.round, e.miner, outcome, median, uint16(n));
        for (uint256 j = 0; j < jurors.length; ++j) {
            if (jurors[j] == type(uint256).max) continue; // the claimant's own place
            bool missed = (answered >> j) & 1 == 0;
            if (!missed && (jurorMisreports >> j) & 1 == 0) continue;
            losers[lost++] = _penalizeReporter(jurors[j], missed, PenaltyReason.MissedJuryVote);
        }
        return (outcome, median, seatMisreports, lost);
    }
}
