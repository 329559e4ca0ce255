// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {PoFLMath} from "../libraries/PoFLMath.sol";
import {NO_POSITION, toOptional} from "../libraries/OptionalPosition.sol";
import {PoFLAppealCourt} from "./PoFLAppealCourt.sol";
import {PoFLStaking} from "./PoFLStaking.sol";

/// @title PoFLCommittee: drawing a candidate's committee, and deciding the claim from its reports
/// @notice Randomness follows EIP-4399's advice to roll the dice with randomness fixed after every choice it
/// decides: the pool of seats is the round's committers (fixed when commits end), and when the reveals end
/// (every reveal made or not) the round fixes `seedBlock = block.number + seedLookahead`; seats are drawn from
/// blockhash(seedBlock) once that block exists, by a partial Fisher-Yates shuffle of the committers other than
/// the candidate and those already excluded. Neither revealing nor timing a transaction selects a seat.
/// Residual: the producer of block `seedBlock` could grind its hash (PREVRANDAO would leave it one bit; a header
/// proof of it, OpenZeppelin's BlockHeader, is the upgrade path); use a larger lookahead where block producers
/// may also mine here. If nobody draws within 256 blocks, a new seed block is fixed ahead.
/// @dev Decision: two thirds decide, the median is recorded. Each seat also reports the parent block measured
/// on the same data: the parent's reports must cluster by the same rule (else a dispute), the candidate's
/// median must beat theirs (else Unimproved, which ends the search where more than a third of the seats
/// measured the candidate above the parent: a majority under-reporting the best claim within the tolerance
/// cannot hand the block to a worse one), and a parent report off the parent's median is a misreport. A report "agrees" when it is at least the claim
/// minus the tolerance. At least 2/3 of the reports agreeing, and 2/3 within the tolerance of their lower median
/// (so that the median is a measurement, not a coalition's number), accepts the claim at that median; at least
/// 2/3 disagreeing rejects it (whole stake slashed); anything else is a dispute. The round's first dispute goes
/// to appeal (`_openAppeal`): every committer that may still sit validates the same claim again, and stake
/// decides (`_decideAppeal`, arithmetic in PoFLAppealCourt): the side holding more than half of all staked ether
/// wins, and every report it contradicts, of either committee, costs misreportPenaltyBps; a dispute that stands
/// (neither side over half on appeal, or a later dispute) costs nobody anything, the claim makes no block and
/// the round's search ends (no lower claim profits from it). So disputing is not free: a coalition under half
/// of the stake that splits committees loses every appeal and pays each time. Misreports are
/// penalized only where 2/3 of the reports lie within the tolerance of the median. A seat that withholds its
/// report forfeits a bond, sits no more this round and its own claim becomes ineligible (silence cannot steer
/// the block to its claim). With >= 2/3 honest seats and quorumBps <= 6666 the honest seats alone reach the
/// quorum and are 2/3 of the reports, so they decide and the median is an honest measurement: a coalition below
/// 1/3 of the seats cannot fake, reject or stall a block. A coalition below 2/3 that reports falsely can neither
/// slash an honest claim, nor have a false one accepted or recorded, nor have honest seats penalized: the most
/// it can do is a dispute. (One at or above 1/3 can still stall a round by withholding reports, at a bond a
/// seat; without a quorum the next-best claim is validated.)
abstract contract PoFLCommittee is PoFLStaking {
    /// @dev The reports of the current validation: the candidate's and the parent's (measured on the same
    /// data), their number, how many agree with the claim (at least claim - tolerance) and how many measured
    /// the candidate above the parent; and how many seats reported the candidate `UNAVAILABLE` (not reports).
    struct Tally {
        uint256[] reports;
        uint256[] parents;
        uint256 n;
        uint256 agreeing;
        uint256 beating;
        uint256 unavailable;
    }

    // ------------------------------------------------------------------ draw

    /// @dev The first validation's draw, once its seed block is mined: fixes the round's seed from the block's
    /// hash and draws (returning the reports' deadline), or, when nobody drew within 256 blocks (the hash is
    /// gone), fixes a new seed block ahead. Returns 0 when no committee was drawn.
    function _drawWhenSeeded() internal returns (uint40 deadline) {
        LiveRound storage s = _round;
        uint64 seedBlock = _extra.seedBlock;
        if (block.number <= seedBlock) return 0;
        bytes32 hash = blockhash(seedBlock);
        if (hash == bytes32(0)) {
            seedBlock = uint64(block.number) + _seedLookahead;
            _extra.seedBlock = seedBlock;
            emit ValidationOpened(s.round, _committerAt[s.candidate.get()], s.candidateBps, s.attempt, seedBlock);
            return 0;
        }
        _seed = keccak256(abi.encode(hash, address(this), s.round));
        return _drawCommittee();
    }

    /// @dev Draws the current candidate's seats from the round's seed; returns the deadline of their reports.
    /// The only draw: `committee()` reads the seats it records.
    function _drawCommittee() internal returns (uint40 deadline) {
        LiveRound storage s = _round;
        Params memory p = _params;
        // the appeal seats every committer that may still sit
        uint256 size = s.attempt == _extra.appeal ? 0 : p.committeeSize;
        (uint256 bits, uint256 seats) = _committeeBits(_seed, s.attempt, _available(s.candidate), size);
        uint16 quorum = uint16(Math.mulDiv(seats, p.quorumBps, BPS, Math.Rounding.Ceil));
        _seatBits = SENTINEL | bits;
        _extra.quorum = quorum;
        s.seats = uint16(seats);
        deadline = uint40(block.timestamp) + p.validationDuration;
        emit CommitteeDrawn(s.round, s.attempt, _seed, uint16(seats), quorum, deadline);
    }

    /// @dev `size` seats (0 = all) drawn uniformly from the positions in `available`: a partial Fisher-Yates
    /// shuffle driven by keccak256(seed, attempt, i).
    function _committeeBits(
        bytes32 seed,
        uint256 attempt,
        uint256 available,
        uint256 size
    ) private pure returns (uint256 bits, uint256 count) {
        uint256 n = PoFLMath.popcount(available);
        count = size == 0 || size > n ? n : size;
        if (count == n) return (available, n);
        uint256[] memory positions = new uint256[](n);
        uint256 j;
        for (uint256 rest = available; rest != 0; rest &= rest - 1) {
            positions[j++] = PoFLMath.lowestBit(rest);
        }
        for (uint256 i = 0; i < count; ++i) {
            uint256 k = i + (uint256(keccak256(abi.encode(seed, attempt, i))) % (n - i));
            (positions[i], positions[k]) = (positions[k], positions[i]);
            bits |= 1 << positions[i];
        }
    }

    // ---------------------------------------------------------------- decide

    /// @dev Decides the claim under validation (see `finalize`). Returns true when no other claim can beat the
    /// outcome (accepted at its claim, which was the best left, or disputed), so none is searched for.
    function _decide() internal returns (bool settled) {
        LiveRound storage s = _round;
        Params memory p = _params;
        uint256 position = s.candidate.get();
        address claimant = _committerAt[position];
        DigestClaim storage claim = _digests[_seals[claimant]];
        uint256 seats = _seatBits & ~SENTINEL;
        uint16 claimed = claim.claimBps;
        Tally memory t = _tally(seats, claimed, p);
        ClaimStatus outcome = ClaimStatus.NoQuorum;
        uint16 median;
        if (3 * t.unavailable >= s.seats) {
            // a third of the seats could not fetch the model by the fetch deadline: a coalition below a third
            // cannot say so of a served model, so the claimant did not serve it (to all): it pays, no seat does
            outcome = ClaimStatus.Unavailable;
            Miner storage c = _miners[claimant];
            _penalize(claimant, c, Math.mulDiv(c.stake, p.misreportPenaltyBps, BPS), PenaltyReason.UnservedClaim);
            _excludedBits |= 1 << position;
        } else if (s.attempt == _extra.appeal) {
            (outcome, median, settled) = _decideAppeal(position, claim, seats, p);
        } else if (t.n >= _extra.quorum) {
            median = PoFLMath.lowerMedian(t.reports);
            // the parent is measured beside the candidate, on the same data, and decided by the same rules: its
            // median is a measurement only where 2/3 of its reports lie within the tolerance of it
            uint16 parentMedian = PoFLMath.lowerMedian(t.parents);
            bool parentClustered = !_requireImprovement || _clustered(t.parents, t.n, parentMedian, p.toleranceBps);
            emit ParentMeasured(s.round, s.attempt, parentMedian);
            // the median is a measurement only where 2/3 of the reports lie within the tolerance of it
            bool clustered = _clustered(t.reports, t.n, median, p.toleranceBps);
            if (3 * t.agreeing >= 2 * t.n && clustered && parentClustered) {
                // confirmed within the tolerance; if no better than the parent: where more than a third of the
                // seats measured it above the parent, the search ends (a majority under-reporting the best claim
                // within the tolerance cannot hand the block to a worse one: no lower claim beats the parent by
                // more than the tolerance); where fewer did, a lower claim may still be the block (an over-claim
                // of a model no better than the parent stalls nothing)
                (outcome, settled) = _confirm(position, claimed, median, parentMedian, 3 * t.beating > t.n);
            } else if (3 * (t.n - t.agreeing) >= 2 * t.n) {
                outcome = ClaimStatus.Rejected;
                Miner storage c = _miners[claimant];
                _penalize(claimant, c, c.stake, PenaltyReason.FalseClaim);
                _excludedBits |= 1 << position;
            } else {
                // the first dispute of the round goes to appeal (`_openAppeal`); a later one ends the search
                outcome = ClaimStatus.Disputed;
                settled = true;
                if (_extra.appeal == 0) _openAppeal(claimant, seats);
            }
            if (outcome != ClaimStatus.Disputed && clustered) {
                _penalizeMisreports(seats, median, parentClustered ? parentMedian : BPS + 1, p);
            }
        }
        claim.status = outcome;
        emit ClaimDecided(s.round, claimant, outcome, claimed, median, uint16(t.n), s.seats);
    }

    /// @dev The outcome of a claim confirmed at `median` (the parent measured at `parentMedian`): Unimproved
    /// when under the threshold or no better than the parent (then the search ends if `endsSearch` and the
    /// median reaches the threshold), else Accepted, and the round's best if its median is the highest yet (the
    /// search ends if the median reaches the claim: no other claim can beat it).
    function _confirm(
        uint256 position,
        uint16 claimed,
        uint16 median,
        uint256 parentMedian,
        bool endsSearch
    ) private returns (ClaimStatus outcome, bool settled) {
        if (median < _thresholdBps || (_requireImprovement && median <= parentMedian)) {
            return (ClaimStatus.Unimproved, median >= _thresholdBps && endsSearch);
        }
        if (_extra.best.isNone() || median > _extra.bestBps) {
            (_extra.best, _extra.bestBps) = (toOptional(position), median);
            settled = median >= claimed;
        }
        return (ClaimStatus.Accepted, settled);
    }

    // ---------------------------------------------------------------- appeal

    /// @dev Opens the round's appeal of `claimant`'s disputed claim (its first dispute): the next validation is of
    /// the same claim, by every committer that may still sit (`_drawCommittee`), decided by stake
    /// (`_decideAppeal`). The first committee's reports (of `seats`) are kept, since the appeal's votes overwrite
    /// the seats' report slots: the appeal's decision judges them too.
    function _openAppeal(address claimant, uint256 seats) private {
        uint16 attempt = _round.attempt;
        uint256 reported = SENTINEL;
        for (uint256 bits = seats; bits != 0; bits &= bits - 1) {
            uint256 seat = PoFLMath.lowestBit(bits);
            Miner storage v = _miners[_committerAt[seat]];
            if (v.reportAttempt == attempt && v.reportBps != UNAVAILABLE) {
                reported |= 1 << seat;
                _firstReports[seat] = (uint32(v.reportBps) << 16) | v.parentReportBps;
            }
        }
        _firstSeatBits = reported;
        _extra.appeal = attempt + 1;
        emit AppealOpened(_round.round, claimant, attempt + 1);
    }

    /// @dev Decides the appealed claim by stake (`PoFLAppealCourt.judge` says how): confirmed (Accepted or
    /// Unimproved at the stake-weighted median), rejected (the claimant slashed whole) or, where neither side
    /// holds more than half of all staked ether, the dispute stands (nobody pays, the search ends). Either
    /// decision costs every report it contradicts, of the appeal or of the first committee, misreportPenaltyBps
    /// of its seat's stake, once, and the seat sits no more this round.
    function _decideAppeal(
        uint256 position,
        DigestClaim storage claim,
        uint256 seats,
        Params memory p
    ) private returns (ClaimStatus outcome, uint16 median, bool settled) {
        (PoFLAppealCourt.Verdict verdict, uint16 m, uint16 parentMedian, uint256 losers) = _judgeAppeal(
            position,
            seats
        );
        if (verdict == PoFLAppealCourt.Verdict.Stands) return (ClaimStatus.Disputed, 0, true);
        if (verdict == PoFLAppealCourt.Verdict.Confirmed) {
            median = m;
            if (parentMedian <= BPS) emit ParentMeasured(_round.round, _round.attempt, parentMedian);
            (outcome, settled) = _confirm(position, claim.claimBps, median, parentMedian, true);
        } else {
            outcome = ClaimStatus.Rejected;
            Miner storage c = _miners[_committerAt[position]];
            _penalize(_committerAt[position], c, c.stake, PenaltyReason.FalseClaim);
            losers |= 1 << position;
        }
        for (uint256 bits = losers; bits != 0; bits &= bits - 1) {
            uint256 seat = PoFLMath.lowestBit(bits);
            if (seat == position) continue;
            Miner storage v = _miners[_committerAt[seat]];
            _penalize(_committerAt[seat], v, Math.mulDiv(v.stake, p.misreportPenaltyBps, BPS), PenaltyReason.Misreport);
        }
        _excludedBits |= losers;
    }

    /// @dev The verdict of the appeal under way (`PoFLAppealCourt.judge`, run on this contract's storage).
    function _judgeAppeal(
        uint256 position,
        uint256 seats
    ) internal virtual returns (PoFLAppealCourt.Verdict, uint16, uint16, uint256);

    /// @dev Collects the seats' reports (an `UNAVAILABLE` one is counted apart); a seat without one forfeits missBond, sits no more this round and loses
    /// its own claim: its eligibility, and its place as the round's best if it was already accepted
    /// (withholding a report cannot make its own claim the block).
    function _tally(uint256 seats, uint16 claimed, Params memory p) private returns (Tally memory t) {
        LiveRound storage s = _round;
        (t.reports, t.parents) = (new uint256[](s.votes), new uint256[](s.votes));
        uint256 excluded = _excludedBits;
        for (uint256 bits = seats; bits != 0; bits &= bits - 1) {
            uint256 seat = PoFLMath.lowestBit(bits);
            address account = _committerAt[seat];
            Miner storage v = _miners[account];
            if (v.reportAttempt == s.attempt && v.reportBps == UNAVAILABLE) {
                ++t.unavailable; // not a report: neither counted nor judged
            } else if (v.reportAttempt == s.attempt) {
                (t.reports[t.n], t.parents[t.n]) = (v.reportBps, v.parentReportBps);
                ++t.n;
                if (uint256(v.reportBps) + p.toleranceBps >= claimed) ++t.agreeing;
                if (v.reportBps > v.parentReportBps) ++t.beating;
            } else {
                _penalize(account, v, p.missBond, PenaltyReason.MissedVote);
                excluded |= 1 << seat;
                DigestClaim storage own = _digests[_seals[account]];
                if (own.miner == account && own.round == s.round) own.eligible = false;
                if (_extra.best.equals(seat)) (_extra.best, _extra.bestBps) = (NO_POSITION, 0);
            }
        }
        _excludedBits = excluded;
        (uint256[] memory reports, uint256[] memory parents, uint256 n) = (t.reports, t.parents, t.n);
        assembly ("memory-safe") {
            // only the n measurements: the arrays were sized for every vote, UNAVAILABLE ones included
            mstore(reports, n)
            mstore(parents, n)
        }
    }

    /// @dev Whether at least 2/3 of the `n` `reports` lie within `tolerance` of `median` (then it is a measurement).
    function _clustered(
        uint256[] memory reports,
        uint256 n,
        uint16 median,
        uint16 tolerance
    ) private pure returns (bool) {
        uint256 close;
        for (uint256 i = 0; i < n; ++i) {
            if (PoFLMath.distance(uint16(reports[i]), median) <= tolerance) ++close;
        }
        return 3 * close >= 2 * n;
    }

    /// @dev Each report further than the tolerance from `median`, or a parent report further than it from
    /// `parentMedian` (BPS + 1: the parent reports are not judged), costs its seat misreportPenaltyBps of its
    /// stake (and its seat this round). Called only where 2/3 of the reports lie within the tolerance of the
    /// median (and the parent's where it is judged): without such a majority nobody can tell the honest
    /// reports, and nobody is penalized.
    function _penalizeMisreports(uint256 seats, uint16 median, uint256 parentMedian, Params memory p) private {
        uint256 excluded = _excludedBits;
        uint16 attempt = _round.attempt;
        for (uint256 bits = seats; bits != 0; bits &= bits - 1) {
            uint256 seat = PoFLMath.lowestBit(bits);
            Miner storage v = _miners[_committerAt[seat]];
            if (
                v.reportAttempt == attempt &&
                v.reportBps != UNAVAILABLE &&
                (PoFLMath.distance(v.reportBps, median) > p.toleranceBps ||
                    (parentMedian <= BPS &&
                        PoFLMath.distance(v.parentReportBps, uint16(parentMedian)) > p.toleranceBps))
            ) {
                _penalize(
                    _committerAt[seat],
                    v,
                    Math.mulDiv(v.stake, p.misreportPenaltyBps, BPS),
                    PenaltyReason.Misreport
                );
                excluded |= 1 << seat;
            }
        }
        _excludedBits = excluded;
    }
}
