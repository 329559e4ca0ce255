// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IPoFLConsensus} from "../IPoFLConsensus.sol";
import {PoFLMath} from "../libraries/PoFLMath.sol";
import {OptionalPosition} from "../libraries/OptionalPosition.sol";
import {PoFLStorage} from "./PoFLStorage.sol";

/// @title PoFLPhases: the phase rules of a round, in one place
/// @notice A round is Commit -> Reveal -> Validation (one or more candidates) -> Finalize. The recorded phase
/// (`_round.phase`) changes only by a transaction; deadlines pass without one. The rules below say when the
/// recorded phase is over and what follows it: `PoFLConsensus._advance` applies them to storage (entering each
/// phase with its side effects), `_effectivePhase` applies them to a copy for the views (`PoFLLens`).
/// @dev Shared by PoFLConsensus and PoFLLens; views only.
abstract contract PoFLPhases is PoFLStorage {
    /// @dev The rule of a phase's end by the clock: whether `phase`, recorded with `deadline`, is over now. Commit:
    /// at `_commitsEnd`. Reveal: at its deadline. Validation: at its deadline, counted from the committee's draw
    /// (none before it). Finalize ends only by `finalize()`. The actions end a phase early when nobody is left to
    /// act (every active miner committed and the commit grace passed, every committer revealed, every seat
    /// reported): then `_following` says what comes next, as here.
    function _clockEnded(IPoFLConsensus.Phase phase, uint64 deadline) internal view returns (bool) {
        if (phase == IPoFLConsensus.Phase.Commit) return block.timestamp >= _commitsEnd(deadline);
        if (phase == IPoFLConsensus.Phase.Reveal) return block.timestamp >= deadline;
        if (phase == IPoFLConsensus.Phase.Validation) return _round.seats != 0 && block.timestamp >= deadline;
        return false;
    }

    /// @dev The rule of what follows `phase` (recorded with `deadline`) when it ends now: after Commit, Reveal for
    /// revealDuration from the commits' end (their deadline, or now if they end early); after Reveal, Validation of
    /// the best claim if it can have a committee and the round is independent (`_independent`; the committee's
    /// deadline is set by the draw), else Finalize; after
    /// Validation, Finalize.
    function _following(
        IPoFLConsensus.Phase phase,
        uint64 deadline
    ) internal view returns (IPoFLConsensus.Phase next, uint64 nextDeadline) {
        if (phase == IPoFLConsensus.Phase.Commit) {
            uint64 commitsEnded = uint64(Math.min(block.timestamp, _commitsEnd(deadline)));
            return (IPoFLConsensus.Phase.Reveal, commitsEnded + _params.revealDuration);
        }
        if (phase == IPoFLConsensus.Phase.Reveal && _canValidate(_round.candidate) && _independent()) {
            return (IPoFLConsensus.Phase.Validation, 0);
        }
        return (IPoFLConsensus.Phase.Finalize, 0);
    }

    /// @dev When the commit phase recorded with `deadline` ends (max: not before a first commit). At its deadline
    /// (counted from the round's first commit); once every active miner has committed, at the end of the grace
    /// (`commitGrace` from the first commit) if that is earlier. The grace is the rejoin rule: a miner that
    /// was away (inactive, so not waited for) and adopts each block a little after the others still gets its
    /// commit in, instead of finding the phase closed by the others' commits round after round.
    function _commitsEnd(uint64 deadline) internal view returns (uint256) {
        LiveRound storage s = _round;
        uint256 commits = s.commits;
        if (commits == 0) return type(uint256).max;
        if (commits < uint256(s.activeNow) + s.activePrev) return deadline;
        return Math.min(deadline, deadline - _params.commitDuration + _commitGrace);
    }

    /// @dev The phase the rules make of the recorded one now, and that phase's deadline (0: none yet). What
    /// `PoFLConsensus._advance` would record, without recording it.
    function _effectivePhase() internal view returns (IPoFLConsensus.Phase phase, uint64 deadline) {
        (phase, deadline) = (_round.phase, _round.deadline);
        while (_clockEnded(phase, deadline)) {
            (phase, deadline) = _following(phase, deadline);
        }
    }

    /// @dev Whether `candidate` can be validated: it exists and at least minCommittee positions may sit on its
    /// committee.
    function _canValidate(OptionalPosition candidate) internal view returns (bool) {
        return !candidate.isNone() && PoFLMath.popcount(_available(candidate)) >= _params.minCommittee;
    }

    /// @dev Positions that may sit on `candidate`'s committee: the round's committers that are not excluded, but
    /// not the candidate.
    function _available(OptionalPosition candidate) internal view returns (uint256) {
        return ((uint256(1) << _round.commits) - 1) & ~_excludedBits & ~(uint256(1) << candidate.get());
    }

    /// @dev Whether the round's committers hold more than half of the staked ether: only then may its claims
    /// become a block. A committee is drawn among the round's committers, so without this a claimant alone in
    /// an idle round (right after deployment, or while the others pause) could seat its own sybils and have
    /// any number recorded; with it, faking a block needs more stake than every other miner together. In
    /// hold-out mode only such a round is owed a key (spends a shard, or is paid if the key is missed).
    function _independent() internal view returns (bool) {
        return _majority(_committedStake());
    }

    /// @dev Whether `stake` wei is more than half of the staked ether (addresses, which cost nothing, never count).
    function _majority(uint256 stake) internal view returns (bool) {
        return stake * 2 > _books.totalStaked;
    }

    /// @dev Wei staked by the round's committers (bounded by MAX_MINERS; read when a phase ends, by the
    /// requester's key reveal and by finalize, never by a miner's commit, reveal or vote).
    function _committedStake() internal view returns (uint256 committed) {
        uint256 commits = _round.commits;
        for (uint256 position = 0; position < commits; ++position) {
            committed += _miners[_committerAt[position]].stake;
        }
    }
}
