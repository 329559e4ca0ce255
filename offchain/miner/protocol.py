"""The protocol's decisions, as pure functions of what the chain says and what a miner remembers.

:func:`next_action` is the one place that knows the order of a PoFL round — adopt the newest
block, commit, reveal, re-evaluate and vote as a committee member, finalize, record a passed
deadline — and :class:`~offchain.miner.driver.RoundDriver` is the one loop that carries the
actions out. Nothing here sends a transaction, reads the network or looks at a clock: a test
can drive every branch with plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from offchain.chain.types import ChainBlock, Phase, RoundInfo

# ------------------------------------------------------------------ what the chain says


@dataclass(frozen=True)
class ChainView:
    """One consistent look at the chain, taken by the driver before it decides.

    ``phase`` is the effective phase at the latest block; ``deadline_passed`` says that at the
    node's own current time a deadline has moved the phase on without a transaction recording it.
    ``info`` (the round's state) and ``committee`` (the seats of the claim under validation, empty
    until the contract has drawn them from its seed block) are read only in a Validation phase.
    ``key_revealed``: in hold-out mode, whether the round's shard key is public (nothing can be
    measured, so nothing revealed, before it); ``shard_ready``: whether a shard judges the round
    (the task takes no claims when its shards have run out). Both always true in public mode.
    """

    round: int
    phase: Phase
    deadline_passed: bool
    head: ChainBlock
    info: RoundInfo | None = None
    committee: frozenset[str] = frozenset()
    key_revealed: bool = True
    shard_ready: bool = True


# ------------------------------------------------------------------ what a miner remembers


@dataclass
class MinerRound:
    """What one local miner has done in the round open now: made when the miner first sees the round (from
    the chain's record of its claim, or empty when it saw the round open) and dropped when the round ends.

    ``voted`` holds the validation attempts this miner reported on (or gave up on: a hold-out shard not read by
    the fetch deadline); ``vote_retry_at`` is the monotonic time before which a candidate (or shard) not yet in
    the store is not fetched again.
    """

    round: int
    committed: bool = False
    revealed: bool = False
    voted: set[int] = field(default_factory=set)
    vote_retry_at: float = 0.0


@dataclass
class MinerMemory:
    """What one local miner knows of its own part in the protocol.

    ``round`` is its part in the current round (None until learned: a restarted miner asks the chain
    first, so it resumes correctly); ``sealed_round`` is the round whose salt this process still holds (a
    commitment made by an earlier process cannot be revealed).
    """

    address: str
    has_model: bool = False
    adopted_height: int = -1
    head_retry_at: float = 0.0  # monotonic time before which a failed head fetch is not retried
    sealed_round: int | None = None
    round: MinerRound | None = None


# ------------------------------------------------------------------ actions


@dataclass(frozen=True)
class Adopt:
    """Take the head block's model (fetched and verified by this miner) as the current model."""

    block: ChainBlock


@dataclass(frozen=True)
class RoundAction:
    """An action in round ``round``; its class says which."""

    round: int


class Learn(RoundAction):
    """Ask the chain what it holds of this miner's claim in the round (a round first seen)."""


class Commit(RoundAction):
    """Train this round's clients, evaluate, publish and commit the claim."""


class Reveal(RoundAction):
    """Reveal the sealed claim (in hold-out mode, measured first on the round's shard)."""


@dataclass(frozen=True)
class Vote(RoundAction):
    """As a seat of the committee, fetch the candidate's model by its revealed CID, evaluate it and report
    the measurement for validation ``attempt``."""

    candidate: str
    attempt: int


class Draw(RoundAction):
    """A validation waits for its seed block: record it once mined (on a devnet that mines only on
    transactions, the transaction is what mines it), which draws the committee."""


class Finalize(RoundAction):
    """Close the round: append the decided block, validate the next claim, or fail the round."""


class Advance(RoundAction):
    """Record a passed deadline (anyone may)."""


@dataclass(frozen=True)
class Idle:
    """Nothing is due: look again later."""


Action = Adopt | Learn | Commit | Reveal | Vote | Draw | Finalize | Advance | Idle

# The order in which the driver carries out a step's actions when local miners want different ones.
PRIORITY: tuple[type, ...] = (Adopt, Learn, Commit, Reveal, Vote, Draw, Finalize, Advance, Idle)


def next_action(view: ChainView, me: MinerMemory, now: float) -> Action:
    """What ``me`` should do next, given ``view`` (``now`` is only compared with the memory's retry times)."""
    if view.head.height > me.adopted_height and now >= me.head_retry_at:
        return Adopt(view.head)
    r, mine = view.round, me.round
    if mine is None or mine.round != r:
        return Learn(r)
    if view.phase == Phase.COMMIT and not mine.committed and me.has_model and view.shard_ready:
        return Commit(r)
    if (view.phase == Phase.REVEAL and view.key_revealed and mine.committed and not mine.revealed
            and me.sealed_round == r):
        return Reveal(r)
    if view.phase == Phase.VALIDATION and view.info is not None:
        if not view.info.seats:
            return Draw(r)
        if me.address in view.committee and view.info.attempt not in mine.voted and now >= mine.vote_retry_at:
            return Vote(r, view.info.candidate, view.info.attempt)
    if view.phase == Phase.FINALIZE:
        return Finalize(r)
    if view.deadline_passed:
        return Advance(r)
    return Idle()
