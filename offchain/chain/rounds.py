"""Driving a round's steps for many miners at once: commit, reveal, vote, finalize.

Each helper sends every miner's transaction before waiting for any receipt, so a batch costs
about one block's latency rather than one per miner. Used by the miners, the tests and the
gas benchmark.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from web3.types import TxReceipt

from offchain.chain.accounts import LocalSigner
from offchain.chain.errors import StaleCandidate, WrongPhase, WrongRound
from offchain.chain.pofl import Phase, PoFLContract
from offchain.chain.tx import wait_all


@dataclass(frozen=True)
class SealedClaim:
    """A miner's claim for one round and the secret salt that seals its commitment."""

    round_id: int
    cid: str
    accuracy_bps: int
    salt: bytes = field(default_factory=PoFLContract.new_salt, repr=False)

    def commitment(self, contract: PoFLContract, miner: str) -> bytes:
        return contract.commitment(self.round_id, self.cid, self.accuracy_bps, self.salt, miner)


def commit_claims(contract: PoFLContract, claims: Sequence[tuple[LocalSigner, SealedClaim]]) -> list[TxReceipt]:
    pending = [contract.commit(s, c.round_id, c.commitment(contract, s.address)) for s, c in claims]
    return wait_all(pending)


def reveal_claims(contract: PoFLContract, claims: Sequence[tuple[LocalSigner, SealedClaim]]) -> list[TxReceipt]:
    pending = [contract.reveal(s, c.round_id, c.cid, c.accuracy_bps, c.salt) for s, c in claims]
    return wait_all(pending)


def committee_of(contract: PoFLContract, round_id: int, miners: Iterable[LocalSigner]) -> list[LocalSigner]:
    """The miners that sit on the current candidate's committee (asking the contract)."""
    return [m for m in miners if contract.is_validator(round_id, m.address)]


def committee_indices(seed: int, n: int, k: int, candidate_index: int) -> list[int]:
    """Positions in the miner list of a candidate's committee: the ``k`` positions that follow
    ``seed % n`` cyclically, skipping the candidate's. A pure mirror of the contract's isValidator
    (tests/test_contract_protocol.py checks the two agree); inactive members are not filtered here."""
    if n == 0 or k == 0:
        return []
    start = seed % n
    window = [(start + d) % n for d in range(min(k + 1, n))]
    return [i for i in window if i != candidate_index][:k]


def cast_votes(contract: PoFLContract, round_id: int, votes: Sequence[tuple[LocalSigner, int]]) -> list[TxReceipt]:
    """Send each validator's measured accuracy for the current candidate.

    Votes are sent one after another, each mined before the next is estimated; once the candidate
    is decided (quorum reached) the phase leaves Validation and the remaining votes are not sent:
    a decided vote is not an error.
    """
    candidate = contract.round_info(round_id).candidate
    receipts: list[TxReceipt] = []
    for signer, measured_bps in votes:
        try:
            receipts.append(contract.vote(signer, round_id, candidate, measured_bps).wait())
        except (WrongPhase, WrongRound, StaleCandidate):
            break
    return receipts


def finalize_if_due(contract: PoFLContract, signer: LocalSigner) -> TxReceipt | None:
    """Call finalize() if the round is in its Finalize phase; None otherwise."""
    if contract.current_phase().phase != Phase.FINALIZE:
        return None
    return contract.finalize(signer).wait()
