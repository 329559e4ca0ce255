"""What a round driver keeps about the round open now, and about each of its local miners.

A :class:`RoundContext` is made when the driver first sees a round and dropped when the round
ends, after its :class:`~offchain.miner.records.RoundRecord` is taken: nothing of a past round is
kept, so a long-running miner keeps no history. A :class:`LocalMiner` lives as long as the
driver: its key, its model and what it measured of the models it holds. :class:`RoundLoop` is the loop every
round driver shares.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from offchain.chain.accounts import LocalSigner
from offchain.chain.commitment import SealedClaim
from offchain.chain.types import ChainBlock
from offchain.miner.protocol import MinerMemory
from offchain.miner.records import RoundRecord


class Stopwatch:
    """Seconds spent per category."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, category: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[category] += time.perf_counter() - start


class RoundLoop:
    """The loop every round driver shares (the per-miner mode's and the scaled mode's): a subclass says what one
    look at the chain does (:meth:`step`) and appends a :class:`RoundRecord` to :attr:`records` when a round ends."""

    records: list[RoundRecord]

    def step(self) -> bool:
        """One look at the chain and what is due. True if anything was done."""
        raise NotImplementedError

    def run(self, stop: Callable[[], bool]) -> None:
        """Step until ``stop()`` is true."""
        while not stop():
            self.step()

    def run_round(self, max_seconds: float | None = None) -> RoundRecord:
        """Step until the round current at the call has ended; its record."""
        done = len(self.records)
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        while len(self.records) == done:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"round did not end within {max_seconds:.0f} s")
            self.step()
        return self.records[-1]


@dataclass(eq=False)
class LocalMiner:
    """One miner this process runs: its key, its model and what it measured itself."""

    position: int  # place in the driver's list (the strategy's name for it)
    index: int  # the miner's number in the run, for logs and records
    signer: LocalSigner
    memory: MinerMemory
    params: torch.Tensor | None = None
    cid: str | None = None
    measured: dict[str, float] = field(default_factory=dict)  # CID -> accuracy this miner computed
    claim: SealedClaim | None = None
    copies: dict[str, torch.Tensor] = field(default_factory=dict)  # candidates fetched this round
    unpublished: dict[str, bytes] = field(default_factory=dict)  # CID -> model bytes kept private until reveal
    head_failures: int = 0

    @property
    def address(self) -> str:
        return self.signer.address

    @property
    def accuracy(self) -> float | None:
        """What this miner measured of the model it holds (None: not measured yet)."""
        return self.measured.get(self.cid) if self.cid is not None else None

    def hold(self, params: torch.Tensor, cid: str) -> None:
        self.params, self.cid = params, cid

    def forget_round(self, keep: str) -> None:
        """Drop what concerned only the round that ended: copies of its candidates and measurements of models,
        but those of the model it holds and of ``keep`` (the new head block's, which it adopts next)."""
        self.copies = {cid: params for cid, params in self.copies.items() if cid == keep}
        self.measured = {cid: acc for cid, acc in self.measured.items() if cid in (keep, self.cid)}


@dataclass
class RoundContext:
    """The round open now, as one driver sees it: timings, gas, its revealed CIDs and committees."""

    round: int
    first_block: int  # the chain's block number when the driver first saw the round (events are read from it)
    watch: Stopwatch = field(default_factory=Stopwatch)
    gas: int = 0
    clients_trained: int = 0
    validations: int = 0
    miner_accuracies: dict[int, float] = field(default_factory=dict)  # miner index -> its own model's accuracy
    cids: dict[str, str] = field(default_factory=dict)  # claimant -> the CID it revealed
    committees: dict[int, frozenset[str]] = field(default_factory=dict)  # validation attempt -> seats
    give_up: dict[int, float] = field(default_factory=dict)  # attempt -> chain time seats stop waiting

    def record(self, head: ChainBlock, miners: list[LocalMiner], rejected: list[int | str]) -> RoundRecord:
        """The round's record, once it has ended with ``head`` the chain's newest block."""
        made_block = head.round == self.round
        by_address = {m.address: m for m in miners}
        winner = by_address.get(head.miner) if made_block else None
        validated = [m.measured[head.cid] for m in miners
                     if made_block and head.cid in m.measured and m.address != head.miner]
        return RoundRecord(
            round=self.round, block_height=head.height if made_block else None,
            winner=winner.index if winner else None,
            claimed_accuracy=head.accuracy if made_block else None,
            validated_accuracy=sum(validated) / len(validated) if validated else None,
            cid=head.cid if made_block else None, chain_accuracy=head.accuracy, chain_height=head.height,
            miner_accuracies=dict(self.miner_accuracies), rejected=rejected, gas_used=self.gas,
            clients_trained=self.clients_trained, validations=self.validations,
            seconds={k: round(v, 4) for k, v in self.watch.seconds.items()})
