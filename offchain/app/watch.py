"""Watching a run as it happens: the consensus's events folded into a typed state of rounds, claims,
committees and blocks.

:class:`WatchState` and its :meth:`~WatchState.apply` are pure folding, no I/O: an :class:`Event` (a decoded
log of the contract, or what the follower saw of the phase and of the hold-out task) changes the state and
says which rounds and blocks it touched. ``pofl watch``'s page, ``pofl blocks --watch`` and the tests fold the
same way. The events come from :class:`offchain.app.follower.ChainFollower`, which reads only the logs mined
since it last looked.

A round's *gas* is the gas of the transactions whose first log names the round (commits, reveals, votes,
the finalize that closes it and the upkeep between), as ``pofl run``'s table counts it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from offchain.chain.types import ClaimStatus, FailReason, PenaltyReason, Phase
from offchain.store.cid import CidKind, cid_from_digest

PHASE = "Phase"
"""The follower's event: the current round's effective phase at the node's time (``round``, ``phase``,
``deadline``), and how far the node's clock is ahead of this machine's (``offset``, seconds: a devnet whose
time was moved on), for a countdown."""
FINAL = "FinalReport"
"""The follower's event, in hold-out mode once the task has ended: every block on the final shard (``rows``:
FinalAccuracy dicts) or why there is no report (``error``)."""

@dataclass(frozen=True)
class Event:
    """One thing the follower saw: a contract event by its name, with its arguments (enums as IntEnums), where
    it was logged, and its transaction's gas on the transaction's first log (0 on the others)."""

    name: str
    args: dict[str, Any]
    block: int = 0
    log_index: int = 0
    tx: str = ""
    gas: int = 0


# ------------------------------------------------------------------------------------------------ the state


@dataclass
class ClaimView:
    """A miner's claim in a round, as its events tell it."""

    miner: str
    revealed: bool = False
    accuracy_bps: int | None = None
    cid: str | None = None
    eligible: bool | None = None
    reused_from: int | None = None  # DigestReused: the round its digest was first revealed in
    outcome: str | None = None  # the ClaimStatus name of its decision: ACCEPTED, REJECTED, NO_QUORUM, ...
    median_bps: int | None = None
    slashed_wei: int = 0  # taken for a false claim or a missed reveal


@dataclass
class ValidationView:
    """One validation of a round: a candidate's claim, its committee and their reports."""

    attempt: int
    candidate: str
    claimed_bps: int
    seed_block: int
    seats: int | None = None  # known once the committee is drawn
    quorum: int | None = None
    deadline: int | None = None
    reports: dict[str, int] = field(default_factory=dict)  # validator -> measured bps (its Voted events)
    report_count: int | None = None  # the reports its decision counted
    outcome: str | None = None
    median_bps: int | None = None
    parent_bps: int | None = None  # the committee's median of the parent on the candidate's data (ParentMeasured)


@dataclass
class PenaltyView:
    miner: str
    reason: str  # the PenaltyReason name
    wei: int


@dataclass
class RoundView:
    round: int
    opened_at: int | None = None
    claims: dict[str, ClaimView] = field(default_factory=dict)
    validations: list[ValidationView] = field(default_factory=list)
    penalties: list[PenaltyView] = field(default_factory=list)
    block: int | None = None  # the height of its block
    failed: str | None = None  # the FailReason name of a round that ended without a block
    gas: int = 0

    def validation(self, attempt: int | None = None) -> ValidationView | None:
        """Validation ``attempt`` (default: the latest)."""
        if not self.validations:
            return None
        if attempt is None:
            return self.validations[-1]
        return next((v for v in self.validations if v.attempt == attempt), None)


@dataclass
class BlockView:
    """A block, as its BlockFinalized event tells it (``accuracy_bps``: the committee's median; genesis 0)."""

    height: int
    round: int
    miner: str
    accuracy_bps: int
    cid: str
    block_hash: str
    parent_hash: str
    reward_wei: int


@dataclass
class PhaseView:
    round: int
    phase: str  # the Phase name
    deadline: int  # 0: none yet
    offset: int = 0  # seconds the node's clock is ahead of this machine's


@dataclass
class Touched:
    """What an event changed: the rounds and blocks to send again, and whether the rest of the header did."""

    rounds: set[int] = field(default_factory=set)
    blocks: set[int] = field(default_factory=set)
    header: bool = False

    def __bool__(self) -> bool:
        return bool(self.rounds or self.blocks or self.header)

    def update(self, other: Touched) -> None:
        self.rounds |= other.rounds
        self.blocks |= other.blocks
        self.header = self.header or other.header


@dataclass
class WatchState:
    """Everything the events of one consensus contract said so far (see the module docstring)."""

    contract: str
    chain_id: int = 0
    holdout: str | None = None
    thresholds: dict[int, int] = field(default_factory=dict)  # from round -> threshold bps
    miners: list[str] = field(default_factory=list)  # in registration order: "miner i" is miners[i]
    departed: dict[str, str] = field(default_factory=dict)  # miner -> "left" or "evicted"
    rounds: dict[int, RoundView] = field(default_factory=dict)
    blocks: dict[int, BlockView] = field(default_factory=dict)
    phase: PhaseView | None = None
    final: dict[str, Any] | None = None  # hold-out mode, once the task has ended: {"rows": [...]} or {"error"}
    link: dict[str, Any] = field(default_factory=lambda: {"connected": None, "error": None, "cursor": None,
                                                          "latest": None})
    seq: int = 0  # bumped by every change: a page drops an update older than its snapshot

    def set_link(self, connected: bool, error: str | None = None, cursor: int | None = None,
                 latest: int | None = None) -> bool:
        """How the follower reaches the chain: connected or not (``error``: why), the last block read and the
        node's latest. Whether that changed."""
        link = {"connected": connected, "error": error,
                "cursor": self.link["cursor"] if cursor is None else cursor,
                "latest": self.link["latest"] if latest is None else latest}
        if link == self.link:
            return False
        self.link = link
        self.seq += 1
        return True

    # ------------------------------------------------------------------ folding

    def apply_all(self, events: Iterable[Event]) -> Touched:
        touched = Touched()
        for event in events:
            touched.update(self.apply(event))
        if touched:
            self.seq += 1
        return touched

    def apply(self, event: Event) -> Touched:
        """Fold one event in; what it changed (an event of no interest to the page changes nothing)."""
        handler = getattr(self, f"_on_{event.name}", None)
        touched = handler(event.args) if handler is not None else Touched()
        round_id = event.args.get("round")
        if event.gas and isinstance(round_id, int) and round_id > 0 and event.name != PHASE:
            self._round(round_id).gas += event.gas
            touched.rounds.add(round_id)
        return touched

    def _round(self, round_id: int) -> RoundView:
        if round_id not in self.rounds:
            self.rounds[round_id] = RoundView(round_id)
        return self.rounds[round_id]

    def _claim(self, round_id: int, miner: str) -> ClaimView:
        claims = self._round(round_id).claims
        if miner not in claims:
            claims[miner] = ClaimView(miner)
        return claims[miner]

    def _on_MinerRegistered(self, a: dict[str, Any]) -> Touched:
        if a["miner"] not in self.miners:
            self.miners.append(a["miner"])
        self.departed.pop(a["miner"], None)
        return Touched(header=True)

    def _on_MinerLeft(self, a: dict[str, Any]) -> Touched:
        self.departed[a["miner"]] = "left"
        return Touched(header=True)

    def _on_MinerEvicted(self, a: dict[str, Any]) -> Touched:
        self.departed[a["miner"]] = "evicted"
        return Touched(header=True)

    def _on_ConfigUpdated(self, a: dict[str, Any]) -> Touched:
        self.thresholds[a["fromRound"]] = config_field(a["config"], "thresholdBps", 0)
        return Touched(header=True)

    def _on_RoundOpened(self, a: dict[str, Any]) -> Touched:
        self._round(a["round"]).opened_at = a["openedAt"]
        if self.phase is None or self.phase.round < a["round"]:
            self.phase = PhaseView(a["round"], Phase.COMMIT.name, 0, self.phase.offset if self.phase else 0)
        return Touched({a["round"]}, header=True)

    def _on_PhaseChanged(self, a: dict[str, Any]) -> Touched:
        if self.phase is None or self.phase.round <= a["round"]:
            offset = self.phase.offset if self.phase is not None else 0
            self.phase = PhaseView(a["round"], Phase(a["phase"]).name, a["deadline"], offset)
        return Touched({a["round"]}, header=True)

    def _on_Phase(self, a: dict[str, Any]) -> Touched:
        seen = PhaseView(a["round"], Phase(a["phase"]).name, a["deadline"], a["offset"])
        if seen == self.phase:
            return Touched()
        self.phase = seen
        return Touched(header=True)

    def _on_Committed(self, a: dict[str, Any]) -> Touched:
        self._claim(a["round"], a["miner"])
        return Touched({a["round"]})

    def _on_Revealed(self, a: dict[str, Any]) -> Touched:
        claim = self._claim(a["round"], a["miner"])
        claim.revealed, claim.accuracy_bps, claim.eligible = True, a["accuracyBps"], a["eligible"]
        claim.cid = cid_from_digest(bytes(a["digest"]), CidKind(a["cidKind"]))
        return Touched({a["round"]})

    def _on_DigestReused(self, a: dict[str, Any]) -> Touched:
        self._claim(a["round"], a["miner"]).reused_from = a["firstRound"]
        return Touched({a["round"]})

    def _on_ValidationOpened(self, a: dict[str, Any]) -> Touched:
        view = self._round(a["round"])
        if view.validation(a["attempt"]) is None:
            view.validations.append(ValidationView(a["attempt"], a["candidate"], a["claimedBps"], a["seedBlock"]))
        return Touched({a["round"]})

    def _validation(self, round_id: int, attempt: int) -> ValidationView:
        view = self._round(round_id)
        found = view.validation(attempt)
        if found is None:  # a log before the follower's first block: keep what this one says
            found = ValidationView(attempt, "", 0, 0)
            view.validations.append(found)
        return found

    def _on_CommitteeDrawn(self, a: dict[str, Any]) -> Touched:
        v = self._validation(a["round"], a["attempt"])
        v.seats, v.quorum, v.deadline = a["seats"], a["quorum"], a["deadline"]
        return Touched({a["round"]})

    def _on_Voted(self, a: dict[str, Any]) -> Touched:
        self._validation(a["round"], a["attempt"]).reports[a["validator"]] = a["measuredBps"]
        return Touched({a["round"]})

    def _on_ParentMeasured(self, a: dict[str, Any]) -> Touched:
        self._validation(a["round"], a["attempt"]).parent_bps = a["parentBps"]
        return Touched({a["round"]})

    def _on_ClaimDecided(self, a: dict[str, Any]) -> Touched:
        outcome = ClaimStatus(a["outcome"]).name
        view = self._round(a["round"])
        # ClaimDecided names no attempt: it decides the claimant's latest undecided validation
        v = next((v for v in reversed(view.validations) if v.candidate == a["claimant"] and v.outcome is None), None)
        if v is None:  # its ValidationOpened came before the follower's first block
            v = ValidationView(len(view.validations) + 1, a["claimant"], a["claimedBps"], 0)
            view.validations.append(v)
        v.outcome, v.median_bps, v.seats, v.report_count = outcome, a["medianBps"], a["seats"], a["reports"]
        claim = self._claim(a["round"], a["claimant"])
        claim.outcome, claim.median_bps = outcome, a["medianBps"]
        if claim.accuracy_bps is None:
            claim.accuracy_bps = a["claimedBps"]
        return Touched({a["round"]})

    def _on_Penalized(self, a: dict[str, Any]) -> Touched:
        reason = PenaltyReason(a["reason"])
        view = self._round(a["round"])
        view.penalties.append(PenaltyView(a["miner"], reason.name, a["amount"]))
        if reason in (PenaltyReason.FALSE_CLAIM, PenaltyReason.MISSED_REVEAL):
            self._claim(a["round"], a["miner"]).slashed_wei += a["amount"]
        return Touched({a["round"]})

    def _on_RoundFailed(self, a: dict[str, Any]) -> Touched:
        self._round(a["round"]).failed = FailReason(a["reason"]).name
        return Touched({a["round"]})

    def _on_BlockFinalized(self, a: dict[str, Any]) -> Touched:
        height, round_id = a["height"], a["round"]
        self.blocks[height] = BlockView(height, round_id, a["miner"], a["accuracyBps"],
                                        cid_from_digest(bytes(a["digest"]), CidKind(a["cidKind"])),
                                        "0x" + bytes(a["blockHash"]).hex(), "0x" + bytes(a["parentHash"]).hex(),
                                        a["reward"])
        if height == 0:
            return Touched(blocks={0}, header=True)
        self._round(round_id).block = height
        return Touched({round_id}, {height})

    def _on_FinalReport(self, a: dict[str, Any]) -> Touched:
        self.final = dict(a)
        return Touched(blocks=set(self.blocks), header=True)

    # ------------------------------------------------------------------ reading it

    @property
    def current_round(self) -> int:
        if self.phase is not None:
            return self.phase.round
        return max(self.rounds, default=0)

    def threshold_at(self, round_id: int) -> int | None:
        starts = [r for r in self.thresholds if r <= round_id]
        return self.thresholds[max(starts)] if starts else None

    def miner_label(self, address: str) -> str:
        """``miner i`` by registration order (as `pofl run` numbers its miners), else the address."""
        return f"miner {self.miners.index(address)}" if address in self.miners else address

    def block_row(self, height: int) -> dict[str, Any]:
        """A block as the blocks table shows it: its round's winning claim and committee beside it."""
        b = self.blocks[height]
        row: dict[str, Any] = {**asdict(b), "winner": self.miner_label(b.miner) if height else "genesis",
                               "claimed_bps": None, "median_bps": None, "seats": None, "reports": None, "gas": None}
        view = self.rounds.get(b.round) if height else None
        if view is not None:
            accepted = next((v for v in view.validations if v.outcome == ClaimStatus.ACCEPTED.name), None)
            if accepted is not None:
                row.update(claimed_bps=accepted.claimed_bps, median_bps=accepted.median_bps, seats=accepted.seats,
                           reports=accepted.report_count)
            row["gas"] = view.gas
        if self.final is not None:
            final = next((r for r in self.final.get("rows", []) if r["height"] == height), None)
            row.update(final_accuracy=final and final["final_accuracy"], gap=final and final["gap"],
                       final_error=final and final["error"])
        return row

    def round_row(self, round_id: int) -> dict[str, Any]:
        view = self.rounds[round_id]
        row = asdict(view)
        row["claims"] = [{**asdict(c), "label": self.miner_label(c.miner)} for c in view.claims.values()]
        for v in row["validations"]:
            v["candidate_label"] = self.miner_label(v["candidate"]) if v["candidate"] else ""
        for p in row["penalties"]:
            p["label"] = self.miner_label(p["miner"])
        return row

    def header(self) -> dict[str, Any]:
        return {"seq": self.seq, "contract": self.contract, "chain_id": self.chain_id, "holdout": self.holdout,
                "thresholds": sorted(self.thresholds.items()),
                "miners": [{"address": m, "label": f"miner {i}", "departed": self.departed.get(m)}
                           for i, m in enumerate(self.miners)],
                "phase": None if self.phase is None else asdict(self.phase), "final": self.final,
                "link": dict(self.link)}

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able data (what ``GET /api/state`` answers)."""
        return {**self.header(), "rounds": [self.round_row(r) for r in sorted(self.rounds)],
                "blocks": [self.block_row(h) for h in sorted(self.blocks)]}

    def delta(self, touched: Touched) -> dict[str, Any]:
        """What ``touched`` changed, as JSON-able data: the header, and the touched rounds and blocks whole (a
        block's row shows its round's, so a touched round sends its block again)."""
        blocks = set(touched.blocks) | {self.rounds[r].block for r in touched.rounds
                                        if r in self.rounds and self.rounds[r].block is not None}
        return {**self.header(), "rounds": [self.round_row(r) for r in sorted(touched.rounds) if r in self.rounds],
                "blocks": [self.block_row(h) for h in sorted(blocks) if h in self.blocks]}


def config_field(config: Any, name: str, index: int) -> Any:
    """A field of a Config struct as an event decodes it (by name, or by position in older decoders)."""
    if isinstance(config, dict) or hasattr(config, "keys"):
        return config[name]
    return config[index]
