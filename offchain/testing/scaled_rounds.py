"""Scripted rounds of PoFLScaled for tests and benchmarks: every miner's step of a round at once on a devnet.

:func:`play_scaled_round` plays a whole round (signed claims, the aggregator's root and blob, direct commits,
reveals, the committee's votes, finalize, and the appeal of a dispute with the jury's reports) with scripted
claims and measurements, moving the devnet's clock past deadlines, and returns each transaction's gas by phase.
Each batch is sent before any receipt is awaited. Used by tests/contract/test_scaled*.py and bench/gas.py
--scaled; the miners' own round driver lives in offchain/miner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from web3 import Web3

from offchain.chain.accounts import LocalSigner
from offchain.chain.scaled import Candidate, ScaledClaim, ScaledContract, ScaledPhase, SignedClaim
from offchain.chain.tx import wait_all
from offchain.testing.rounds import placeholder_cid

Measure = Callable[[LocalSigner, Candidate], int | None]
"""What a seat (its miner) reports for a candidate (None: no report)."""


def increase_time(w3: Web3, past: int) -> None:
    """Move the devnet's clock so that the next block is later than ``past``."""
    now = int(w3.eth.get_block("latest")["timestamp"])
    w3.provider.make_request("evm_increaseTime", [max(0, past - now) + 1])  # type: ignore[arg-type]


def mine(w3: Web3, blocks: int) -> None:
    """Mine ``blocks`` empty blocks."""
    for _ in range(blocks):
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@dataclass
class ScaledFederation:
    """A deployed PoFLScaled, the signer that drives the clock (``caller``) and the registered miners."""

    contract: ScaledContract
    caller: LocalSigner
    miners: list[LocalSigner]
    by_address: dict[str, LocalSigner] = field(init=False)

    def __post_init__(self) -> None:
        self.by_address = {m.address: m for m in self.miners}

    @property
    def w3(self) -> Web3:
        return self.contract.w3

    def advance_past(self, deadline: int) -> None:
        """Move the clock past ``deadline`` and record what that changed (advance())."""
        increase_time(self.w3, deadline)
        self.contract.advance(self.caller).wait()


@dataclass
class ScaledRoundResult:
    """A played round: its id, the claims, the root's posting, and each transaction's gas by phase."""

    round_id: int
    claims: dict[str, ScaledClaim]
    signed: dict[str, SignedClaim]
    gas: dict[str, list[int]]
    tree: object | None = None

    @property
    def total_gas(self) -> int:
        return sum(sum(v) for v in self.gas.values())

    @property
    def largest_tx(self) -> int:
        return max(max(v) for v in self.gas.values() if v)


def seal_claims(round_id: int, claims: Mapping[str, int], tag: str = "") -> dict[str, ScaledClaim]:
    """Each miner's claim (``claims``: address -> claimed bps), with a placeholder CID of its own."""
    return {a: ScaledClaim.seal(round_id, placeholder_cid(f"{tag}r{round_id}{a}"), bps, a)
            for a, bps in claims.items()}


def play_scaled_round(fed: ScaledFederation, claims: Mapping[str, int], measure: Measure, *, tag: str = "",
                      posted: Iterable[str] | None = None, direct: Iterable[str] = (),
                      revealers: Iterable[str] | None = None, voters: Iterable[str] | None = None,
                      poster: LocalSigner | None = None, post: bool = True, jury: Measure | None = None,
                      jurors: Iterable[str] | None = None) -> ScaledRoundResult:
    """Play the current round to its end: every miner in ``claims`` (address -> claimed bps) seals and signs its
    claim; ``poster`` (default: the round's aggregator) posts those of ``posted`` (default: all) unless ``post`` is
    False (then the aggregator window passes); the miners of ``direct`` commit directly; the candidates among
    ``revealers`` (default: all) reveal; the seats among ``voters`` (default: all) vote ``measure``; finalize; on a
    dispute, the jurors among ``jurors`` (default: all) report ``jury`` (default: ``measure``), finalize again."""
    c = fed.contract
    info = c.round_info()
    r = info.round
    sealed = seal_claims(r, claims, tag)
    signed = {a: c.sign_claim(fed.by_address[a], claim) for a, claim in sealed.items()}
    gas: dict[str, list[int]] = {"postRoot": [], "commitDirect": [], "reveal": [], "advance": [], "vote": [],
                                 "appealVote": [], "finalize": []}
    tree = None
    if post:
        # round 1 opened before anyone registered: no aggregator, anyone may post
        sender = poster or fed.by_address.get(info.aggregator, fed.miners[0])
        chosen = list(signed) if posted is None else list(posted)
        posting = c.post_root(sender, r, [signed[a] for a in chosen])
        gas["postRoot"].append(int(posting.wait()["gasUsed"]))
        tree = posting.tree
    else:
        fed.advance_past(info.deadline)
    gas["commitDirect"] += [int(x["gasUsed"]) for x in
                            wait_all([c.commit_direct(fed.by_address[a], sealed[a]) for a in direct])]
    finish_round(fed, sealed, measure, revealers=revealers, voters=voters, gas=gas, jury=jury, jurors=jurors)
    return ScaledRoundResult(r, sealed, signed, gas, tree)


def finish_round(fed: ScaledFederation, sealed: Mapping[str, ScaledClaim], measure: Measure, *,
                 revealers: Iterable[str] | None = None, voters: Iterable[str] | None = None,
                 gas: dict[str, list[int]] | None = None, jury: Measure | None = None,
                 jurors: Iterable[str] | None = None) -> dict[str, list[int]]:
    """From the Forced phase to the next round: the forced window passes (the candidates are fixed), the
    candidates among ``revealers`` (default: all) reveal their ``sealed`` claims, the seats among ``voters``
    (default: all) vote ``measure``, finalize; if that opened an appeal, :func:`play_appeal` with ``jury``
    (default: ``measure``) and ``jurors``, finalize again. Returns (or adds to ``gas``) each transaction's gas by
    phase."""
    c = fed.contract
    gas = gas if gas is not None else {"reveal": [], "advance": [], "vote": [], "appealVote": [], "finalize": []}
    r = c.round_info().round
    fed.advance_past(c.round_info().deadline)  # the forced window ends: the candidates are fixed
    _reveal(fed, r, sealed, None if revealers is None else set(revealers), gas)
    info = c.round_info()
    if info.phase == ScaledPhase.VOTE:
        mine(fed.w3, max(0, info.seed_block + 1 - fed.w3.eth.block_number))
        gas["advance"].append(int(c.advance(fed.caller).wait()["gasUsed"]))
        _vote(fed, r, measure, None if voters is None else set(voters), gas)
    if c.round_info().phase != ScaledPhase.FINALIZE:
        fed.advance_past(c.round_info().deadline)
    gas["finalize"].append(int(c.finalize(fed.caller).wait()["gasUsed"]))
    if c.round_info().phase == ScaledPhase.APPEAL:
        play_appeal(fed, jury or measure, voters=jurors, gas=gas)
        gas["finalize"].append(int(c.finalize(fed.caller).wait()["gasUsed"]))
    return gas


def play_appeal(fed: ScaledFederation, measure: Measure, *, voters: Iterable[str] | None = None,
                gas: dict[str, list[int]] | None = None) -> dict[str, list[int]]:
    """The Appeal phase to its end: the jury's seed block is mined and the jury drawn (``advance()``), the jurors
    among ``voters`` (default: all; never the claimant) report ``measure`` of the appealed candidate (None: it
    could not fetch it), and the appeal window passes. Returns (or adds to ``gas``) each transaction's gas by phase."""
    c = fed.contract
    gas = gas if gas is not None else {"advance": [], "appealVote": []}
    appeal = c.appeal_info()
    mine(fed.w3, max(0, appeal.seed_block + 1 - fed.w3.eth.block_number))
    gas["advance"].append(int(c.advance(fed.caller).wait()["gasUsed"]))
    candidate = c.candidate(appeal.candidate)
    chosen = None if voters is None else set(voters)
    pending = []
    for place, address in enumerate(c.jurors()):
        if address == candidate.miner or (chosen is not None and address not in chosen):
            continue
        pending.append(c.appeal_vote(fed.by_address[address], appeal.round, place,
                                     measure(fed.by_address[address], candidate)))
    gas["appealVote"] += [int(x["gasUsed"]) for x in wait_all(pending)]
    fed.advance_past(c.round_info().deadline)
    return gas


def _reveal(fed: ScaledFederation, r: int, sealed: Mapping[str, ScaledClaim], revealers: set[str] | None,
            gas: dict[str, list[int]]) -> None:
    c = fed.contract
    info = c.round_info()
    if info.phase != ScaledPhase.REVEAL:
        return
    pending = []
    for i, cand in enumerate(c.candidates()):
        claim = sealed.get(cand.miner)
        if claim is None or claim.commitment != cand.seal or (revealers is not None and cand.miner not in revealers):
            continue
        pending.append(c.reveal(fed.by_address[cand.miner], r, i, claim))
    gas["reveal"] += [int(x["gasUsed"]) for x in wait_all(pending)]
    if c.round_info().phase == ScaledPhase.REVEAL:
        fed.advance_past(c.round_info().deadline)


def _vote(fed: ScaledFederation, r: int, measure: Measure, voters: set[str] | None,
          gas: dict[str, list[int]]) -> None:
    c = fed.contract
    candidates = c.candidates()
    pending = []
    for seat, address in enumerate(c.seats()):
        if voters is not None and address not in voters:
            continue
        miner = fed.by_address[address]
        reports = [measure(miner, cand) if cand.revealed and cand.miner != address else None for cand in candidates]
        pending.append(c.vote(miner, r, seat, reports))
    gas["vote"] += [int(x["gasUsed"]) for x in wait_all(pending)]


def register_all(contract: ScaledContract, miners: Sequence[LocalSigner], stake: int) -> list[int]:
    """Register every miner (sent at once, then awaited); the gas of each."""
    return [int(x["gasUsed"]) for x in wait_all([contract.register(m, stake) for m in miners])]
