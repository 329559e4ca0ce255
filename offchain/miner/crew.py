"""What every part of a round driver works with: the chain, the store, the hooks, the local miners.

A :class:`Crew` is made once per :class:`~offchain.miner.driver.RoundDriver` and handed to each of
its action handlers (:mod:`offchain.miner.handlers`); the driver sets :attr:`Crew.round` when a
round opens and clears it when the round ends. Besides that state it offers what several handlers
need: sending a batch of transactions, encoding and fetching models.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import torch

from offchain.chain.consensus import PoFLContract
from offchain.chain.errors import ContractRevert
from offchain.chain.tx import PendingTx, TransactionFailed
from offchain.chain.types import ChainBlock
from offchain.fl.training import FlatParams
from offchain.miner.claims import ClaimPolicy
from offchain.miner.evaluation import EvaluationMode
from offchain.miner.round import LocalMiner, RoundContext
from offchain.miner.strategy import MinerStrategy
from offchain.store.base import ModelStore
from offchain.store.cid import compute_cid
from offchain.store.fetching import Untrusted, UntrustedFetcher
from offchain.store.model_bytes import model_to_bytes

log = logging.getLogger("pofl.miner")

Send = tuple[LocalMiner, str, Callable[[], PendingTx]]
"""A transaction to send: the miner that sends it, what it is (for logs), and how to send it."""


@dataclass
class Crew:
    """A driver's shared parts and state (see the module docstring)."""

    contract: PoFLContract
    store: ModelStore
    fetcher: UntrustedFetcher
    mode: EvaluationMode
    strategy: MinerStrategy
    claims: ClaimPolicy
    flat: FlatParams
    architecture: str
    miners: list[LocalMiner]
    progress: Callable[[str], None]
    io: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=8,
                                                                              thread_name_prefix="pofl-io"))
    round: RoundContext | None = None  # the round open now
    head: tuple[str, torch.Tensor] | None = None  # the head block's CID and model (the parent in a vote)
    started_from: ChainBlock | None = None  # the first block the local miners adopted (the resume point)

    @property
    def now(self) -> RoundContext:
        """The round open now (a handler runs only while one is)."""
        assert self.round is not None, "a round driver acts only within a round"
        return self.round

    def send_all(self, sends: list[Send]) -> list[LocalMiner]:
        """Send every transaction, then wait for them all (:func:`send_all`), counting their gas in the round's
        record; the miners whose transaction was sent."""
        with self.now.watch("chain"):
            sent, gas = send_all(sends)
        self.now.gas += gas
        return sent

    def parent(self, head: ChainBlock) -> torch.Tensor | None:
        """The head block's model if a local miner holds it (the parent a candidate is measured against)."""
        return self.head[1] if self.head is not None and self.head[0] == head.cid else None

    def encode(self, params: torch.Tensor) -> tuple[str, bytes]:
        """The model's canonical bytes and their CID (as the store will name them): a function of the weights
        only, so a model is its weights (the same weights in two rounds are one model)."""
        data = model_to_bytes(self.flat.unflatten(params.detach().cpu()), self.architecture)
        return compute_cid(data), data

    def fetch(self, cid: str) -> Untrusted[torch.Tensor]:
        """A miner's own copy of the model under ``cid`` (see :class:`~offchain.store.fetching.UntrustedFetcher`),
        flattened onto the strategy's device. Never raises for what the CID or its bytes are."""
        return self.fetcher.params(cid, self.flat, self.architecture, self.strategy.device)


class Sender(Protocol):
    index: int  # the miner's number in the run, for logs


M = TypeVar("M", bound=Sender)


def send_all(sends: list[tuple[M, str, Callable[[], PendingTx]]]) -> tuple[list[M], int]:
    """Send every transaction, then wait for them all; the miners whose transaction was sent and the gas they
    used. A revert at estimation, or once mined, because the round moved on is logged, not raised."""
    pending, sent, gas = [], [], 0
    for m, what, make in sends:
        try:
            pending.append(make())
            sent.append(m)
        except ContractRevert as exc:
            log.info("miner %d %s not sent: %s", m.index, what, exc)
    for p in pending:
        try:
            gas += int(p.wait()["gasUsed"])
        except ContractRevert as exc:
            log.info("%s lost to the chain moving on: %s", p.action, exc)
        except TransactionFailed as exc:
            log.warning("%s", exc)
    return sent, gas
