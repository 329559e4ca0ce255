"""Driving a round's steps for many miners at once: commit, reveal, draw, vote, finalize.

Each batch helper sends every miner's transaction before waiting for any receipt, so a batch costs
about one block's latency rather than one per miner. Used by the tests, the attack and gas
benchmarks (the miners' own round driver lives in ``offchain/miner``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from web3.types import TxReceipt

from offchain.chain.accounts import LocalSigner
from offchain.chain.pofl import Phase, PoFLContract
from offchain.chain.tx import wait_all
from offchain.errors import PoflRuntimeError


@dataclass(frozen=True)
class SealedClaim:
    """A miner's claim for one round and the secret salt that seals its commitment."""

    round_id: int
    cid: str
    accuracy_bps: int
    salt: bytes = field(default_factory=PoFLContract.new_salt, repr=False)

    def commitment(self, miner: str) -> bytes:
        return PoFLContract.commitment(self.round_id, self.cid, self.accuracy_bps, self.salt, miner)


def commit_claims(contract: PoFLContract, claims: Sequence[tuple[LocalSigner, SealedClaim]]) -> list[TxReceipt]:
    pending = [contract.commit(s, c.round_id, c.commitment(s.address)) for s, c in claims]
    return wait_all(pending)


def reveal_claims(contract: PoFLContract, claims: Sequence[tuple[LocalSigner, SealedClaim]]) -> list[TxReceipt]:
    pending = [contract.reveal(s, c.round_id, c.cid, c.accuracy_bps, c.salt) for s, c in claims]
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


def cast_votes(contract: PoFLContract, round_id: int, votes: Sequence[tuple[LocalSigner, int]]) -> list[TxReceipt]:
    """Send each seat's measured accuracy for the current candidate (all sent before any receipt is awaited);
    once every seat has reported the phase is Finalize."""
    attempt = contract.round_info(round_id).attempt
    return wait_all([contract.vote(signer, round_id, attempt, measured_bps) for signer, measured_bps in votes])


def finalize_if_due(contract: PoFLContract, signer: LocalSigner) -> TxReceipt | None:
    """Call finalize() if the round is in its Finalize phase; None otherwise."""
    if contract.current_phase().phase != Phase.FINALIZE:
        return None
    return contract.finalize(signer).wait()
