"""Scripted rounds for tests and benchmarks: a round's steps for many miners at once on a devnet.

Each batch helper sends every miner's transaction before waiting for any receipt, so a batch costs
about one block's latency rather than one per miner. :func:`play_round` plays a whole round with
scripted claims and measurements, moving the devnet's clock past deadlines. Used by the contract
tests and the attack and gas benchmarks; nothing in production imports it (the miners' own
round driver lives in ``offchain/miner``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from web3 import Web3
from web3.types import TxReceipt

from offchain.chain.accounts import LocalSigner
from offchain.chain.commitment import SealedClaim
from offchain.chain.consensus import PoFLContract
from offchain.chain.tx import wait_all
from offchain.chain.types import Phase
from offchain.errors import PoflRuntimeError
from offchain.store.cid import CidKind, cid_from_digest


def placeholder_cid(tag: str, kind: CidKind = CidKind.V0_DAG_PB) -> str:
    """A well-formed CID standing for a model named ``tag`` (its digest is sha256(tag)), for scripted rounds."""
    return cid_from_digest(hashlib.sha256(tag.encode()).digest(), kind)


def commit_claims(contract: PoFLContract, claims: Sequence[tuple[LocalSigner, SealedClaim]]) -> list[TxReceipt]:
    pending = [contract.commit(s, c.round_id, c.commitment(s.address)) for s, c in claims]
    return wait_all(pending)


def reveal_claims(contract: PoFLContract, claims: Sequence[tuple[LocalSigner, SealedClaim]]) -> list[TxReceipt]:
    pending = [contract.reveal(s, c.round_id, c.cid, c.accuracy_bps, c.salt, c.parent_bps) for s, c in claims]
    return wait_all(pending)


def draw_committee(contract: PoFLContract, signer: LocalSigner, max_blocks: int = 300) -> list[str]:
    """Once a validation is open: send advance() until the seed block is mined and the committee drawn (on an
    automining devnet every transaction mines a block); returns the seats. Outside Validation: []."""
    round_id = contract.current_round()
    for _ in range(max_blocks):
        info = contract.round_info(round_id)
        if info.phase != Phase.VALIDATION or info.seats:
            return contract.committee(round_id) if info.seats else []
        contract.advance(signer).wait()
    raise PoflRuntimeError(f"no committee drawn after {max_blocks} blocks")


def committee_of(contract: PoFLContract, round_id: int, miners: Iterable[LocalSigner]) -> list[LocalSigner]:
    """The given miners that sit on the current candidate's committee, in committee order."""
    by_address = {m.address: m for m in miners}
    return [by_address[a] for a in contract.committee(round_id) if a in by_address]


def cast_votes(contract: PoFLContract, round_id: int, votes: Sequence[tuple[LocalSigner, int]],
               parent: Callable[[LocalSigner], int] | None = None) -> list[TxReceipt]:
    """Send each seat's measured accuracy for the current candidate (all sent before any receipt is awaited);
    once every seat has reported the phase is Finalize. ``parent``: what each seat measures for the head block
    on the same data (default: the head's recorded accuracy, what an honest seat measures in public mode)."""
    attempt = contract.round_info(round_id).attempt
    if parent is None:
        head_bps = contract.latest_block().accuracy_bps
        parent = lambda _signer: head_bps  # noqa: E731
    return wait_all([contract.vote(signer, round_id, attempt, measured_bps, parent(signer))
                     for signer, measured_bps in votes])


def finalize_if_due(contract: PoFLContract, signer: LocalSigner) -> TxReceipt | None:
    """Call finalize() if the round is in its Finalize phase; None otherwise."""
    if contract.current_phase().phase != Phase.FINALIZE:
        return None
    return contract.finalize(signer).wait()


Measure = Callable[[str, LocalSigner], int]
"""What a seat reports for a candidate: measure(candidate address, seat) -> bps."""


def truthful(truth: Mapping[str, int]) -> Measure:
    """Seats that report each candidate's true accuracy (0 for a model they do not know)."""
    return lambda candidate, _seat: truth.get(candidate, 0)


@dataclass
class RoundResult:
    round_id: int
    claims: dict[str, SealedClaim]
    candidates: list[str]  # in the order they were validated


def commits_end(contract: PoFLContract, round_id: int) -> int:
    """When the commit phase of ``round_id`` (with a first commit) ends by the clock: at its deadline, or once
    every active miner has committed at the end of the commit grace, if earlier (``PoFLPhases._commitsEnd``)."""
    info, config = contract.round_info(round_id), contract.config()
    if info.commits < info.active_miners:
        return info.deadline
    return min(info.deadline, info.deadline - config.commit_duration + config.commit_grace)


def advance_time(contract: PoFLContract, caller: LocalSigner, deadline: int) -> None:
    """Move the devnet's clock past ``deadline`` and record what that changed (advance())."""
    now = contract.w3.eth.get_block("latest")["timestamp"]
    contract.w3.provider.make_request("evm_increaseTime", [max(0, deadline - now) + 1])
    contract.advance(caller).wait()


def play_round(contract: PoFLContract, caller: LocalSigner, miners: Sequence[LocalSigner],
               claims: Sequence[tuple[LocalSigner, int]], measure: Measure, *, tag: str = "",
               revealers: Sequence[LocalSigner] | None = None, voters: Sequence[LocalSigner] | None = None,
               cids: Mapping[str, str] | None = None, reveal_key: Callable[[int], object] | None = None,
               parent: Callable[[LocalSigner], int] | None = None,
               declared_parent_bps: int | None = None) -> RoundResult:
    """Play one round to its end on a devnet: ``claims`` commit (each (miner, claimed bps); CIDs from ``cids``
    or placeholders), ``revealers`` (default: all committers) reveal, each committee is drawn, and every seat
    among ``miners`` that is in ``voters`` (default: all) reports ``measure``; ``caller`` sends advance() and
    finalize(), and the clock is moved past deadlines. Returns the claims and the validated candidates.
    Claims reveal ``declared_parent_bps`` as the head's accuracy (default: its recorded accuracy; hold-out: 0) and seats
    report ``parent(seat)`` for the head block (default: its recorded accuracy). Hold-out mode:
    ``reveal_key(round)`` is called once the commits have closed (None: the key is missing) and claims commit
    blind."""
    c = contract
    r = c.current_round()
    blind = c.holdout_address() is not None
    if declared_parent_bps is None:
        declared_parent_bps = 0 if blind else c.latest_block().accuracy_bps
    sealed = {m.address: SealedClaim(r, (cids or {}).get(m.address) or placeholder_cid(f"{tag}r{r}{m.address}"),
                                     acc, blind=blind, parent_bps=declared_parent_bps) for m, acc in claims}
    by_address = {m.address: m for m, _ in claims}
    commit_claims(c, [(by_address[a], s) for a, s in sealed.items()])
    if c.current_phase().phase == Phase.COMMIT:
        advance_time(c, caller, commits_end(c, r))
    if reveal_key is not None:
        reveal_key(r)
    revealing = list(revealers) if revealers is not None else [m for m, _ in claims]
    reveal_claims(c, [(m, sealed[m.address]) for m in revealing])
    if c.current_phase("pending").phase == Phase.REVEAL:
        advance_time(c, caller, c.round_info(r).deadline)
    candidates: list[str] = []
    everyone = {m.address: m for m in miners}
    allowed = set(everyone) if voters is None else {v.address for v in voters}
    while c.current_round() == r:
        if c.current_phase("pending").phase == Phase.VALIDATION:
            seats = draw_committee(c, caller)
            info = c.round_info(r)
            candidates.append(info.candidate)
            cast_votes(c, r, [(everyone[a], measure(info.candidate, everyone[a])) for a in seats if a in allowed],
                       parent)
            if c.current_phase().phase == Phase.VALIDATION:
                advance_time(c, caller, c.round_info(r).deadline)
        c.finalize(caller).wait()
    return RoundResult(r, sealed, candidates)


def increase_time(w3: Web3, seconds: int) -> None:
    """Advance a devnet's clock by ``seconds`` and mine a block (Anvil, Hardhat: ``evm_increaseTime``)."""
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


def mine_blocks(w3: Web3, count: int = 1) -> None:
    """Mine ``count`` empty blocks on a devnet (``evm_mine``; Anvil, Hardhat and eth-tester)."""
    for _ in range(count):
        w3.provider.make_request("evm_mine", [])

