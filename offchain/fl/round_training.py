"""One round of training for many miners at once: select clients, train them, aggregate per miner.

Every miner's selected clients start from that miner's model; all of them are trained in
batched calls of the fast path; each miner's new model is the aggregate of its own clients
only (fresh updates every round: nothing of last round's client updates is carried over), by
the run's :class:`~offchain.fl.aggregation.Aggregator`.

Two optional hooks act on the same path, so that the in-memory engine and every miner on a
chain see them alike:

- an :class:`~offchain.fl.attacks.AttackPlan`: poisoned clients train on the poisoned copy of
  their samples, and their updates pass through the attack before their pool aggregates them;
- block momentum (``block_momentum`` = beta): clients start from the miner's model moved by
  beta times the last block delta (the newest block minus its parent), a Nesterov look-ahead
  along the chain. The pool's model is still a model its clients trained and the miner
  measured: a block means what it meant. The driver reports each adopted block with
  :meth:`RoundTrainer.on_block`; until two blocks are known the delta is zero.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from offchain.fl.aggregation import AGGREGATORS, Aggregator, make_aggregator
from offchain.fl.attacks import AttackPlan, make_plan, parse_attack, poisoned_copy
from offchain.fl.config import check_block_momentum
from offchain.fl.federation import Federation
from offchain.fl.training import DeviceDataset, FlatParams, TrainConfig, train_clients
from offchain.fl.training import make_plan as make_batch_plan

if TYPE_CHECKING:
    from offchain.fl.config import EngineConfig

__all__ = ["AGGREGATORS", "MAX_CLIENTS_PER_CALL", "RoundTrainer", "TrainedRound", "check_block_momentum", "synchronize"]

MAX_CLIENTS_PER_CALL = 128


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class TrainedRound:
    """What a round of training produced."""

    selected: np.ndarray  # client ids trained this round
    trained_miners: list[int]  # miners that had at least one selected client
    models: torch.Tensor  # (len(trained_miners), P) aggregated models, in trained_miners order
    clients_per_miner: dict[int, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    poisoned_per_miner: dict[int, int] = field(default_factory=dict)  # miners with poisoned clients this round


class RoundTrainer:
    """Trains the selected clients of every miner and aggregates per miner.

    Parameters:
        federation: the clients' samples.
        miner_of_client: the miner (row of the models tensor) of every client; -1 for none.
        data: the training set on the device.
        flat: the model layout.
        config: local training (the notebook's Adam recipe).
        aggregator: a registry name (see :data:`~offchain.fl.aggregation.AGGREGATORS`) or an instance.
        attack: who attacks and how (None: nobody; attacks never run unless a run names them).
        block_momentum: beta of the look-ahead along the last block delta (0: off).
    """

    def __init__(self, federation: Federation, miner_of_client: np.ndarray, data: DeviceDataset, flat: FlatParams,
                 config: TrainConfig, aggregator: str | Aggregator = "fedavg", attack: AttackPlan | None = None,
                 block_momentum: float = 0.0) -> None:
        self.aggregator = make_aggregator(aggregator) if isinstance(aggregator, str) else aggregator
        check_block_momentum(block_momentum)
        self.federation = federation
        self.miner_of_client = miner_of_client
        self.data = data
        self.flat = flat
        self.config = config
        self.attack = attack
        self.block_momentum = block_momentum
        self.last_block: torch.Tensor | None = None
        self.block_delta: torch.Tensor | None = None
        self._block_lock = threading.Lock()  # a driver adopts a block for each of its miners, in threads
        # poisoned copy of every sample at index + len(data): a poisoned client trains there
        self.offset = 0
        if attack is not None and attack.attack.changes_data:
            images, labels = poisoned_copy(attack.attack, data.images, data.labels, attack.seed)
            self.offset = len(data.labels)
            self.data = DeviceDataset.of_tensors(torch.cat([data.images, images]), torch.cat([data.labels, labels]))

    @classmethod
    def from_config(cls, federation: Federation, miner_of_client: np.ndarray, data: DeviceDataset, flat: FlatParams,
                    config: EngineConfig, attack_owners: np.ndarray | None = None) -> RoundTrainer:
        """A trainer for a run's configuration (aggregator, attack, block momentum); ``attack_owners``: the
        run's whole client-to-miner assignment when ``miner_of_client`` is one miner's restricted view."""
        n_classes = int(data.labels.max()) + 1
        attack = parse_attack(config.attack, config.attack_options, n_classes)
        plan = make_plan(attack, config.attack_assignment, config.attack_fraction, config.seed,
                         miner_of_client if attack_owners is None else attack_owners)
        return cls(federation, miner_of_client, data, flat, config.train,
                   make_aggregator(config.aggregator, config.aggregator_options), plan, config.block_momentum)

    def clients_of(self, miner: int) -> np.ndarray:
        return np.flatnonzero(self.miner_of_client == miner)

    def on_block(self, model: torch.Tensor) -> None:
        """A block's model was adopted (repeats of the same block are ignored): the delta from the
        previous block becomes the look-ahead direction."""
        with self._block_lock:
            if self.last_block is not None and torch.equal(model, self.last_block):
                return
            if self.last_block is not None:
                self.block_delta = model - self.last_block
            self.last_block = model.detach().clone()

    def look_ahead(self, models: torch.Tensor) -> torch.Tensor:
        """Where clients start from ``models`` (one or many rows): moved by ``block_momentum`` times the last block
        delta once two blocks are known, else ``models`` themselves. Every pool backend starts its clients here."""
        if self.block_momentum and self.block_delta is not None:
            return models + self.block_momentum * self.block_delta
        return models

    def train(self, miner_models: torch.Tensor, selected: np.ndarray) -> TrainedRound:
        """Train ``selected`` clients from their miners' rows of ``miner_models`` (n_miners, P)."""
        device = miner_models.device
        selected = np.asarray(selected, dtype=np.int64)
        owners = self.miner_of_client[selected]
        trained_miners = sorted({int(m) for m in owners})
        poisoned = self.attack.poisoned(selected, owners) if self.attack else np.zeros(len(selected), dtype=bool)
        miner_models = self.look_ahead(miner_models)
        t0 = time.perf_counter()
        start = miner_models[torch.from_numpy(owners).to(device)]
        trained = torch.empty_like(start)
        for lo in range(0, len(selected), MAX_CLIENTS_PER_CALL):
            chunk = range(lo, min(lo + MAX_CLIENTS_PER_CALL, len(selected)))
            plan = make_batch_plan([self.federation.client(int(selected[i])) + (self.offset if poisoned[i] else 0)
                                    for i in chunk], self.config, device)
            trained[chunk.start:chunk.stop] = train_clients(self.flat, start[chunk.start:chunk.stop], self.data,
                                                            plan, self.config)
        if self.attack is not None:
            for i in np.flatnonzero(poisoned):
                pool = owners == owners[i]
                update = self.attack.attack.poison_update(trained[i] - start[i], int(pool.sum()),
                                                          int(poisoned[pool].sum()))
                trained[i] = start[i] + update
        synchronize(device)
        t1 = time.perf_counter()
        sizes = torch.from_numpy(self.federation.sizes()[selected].astype(np.float32)).to(device)
        rows_of = {m: torch.from_numpy(owners == m).to(device) for m in trained_miners}
        models = torch.stack([self.aggregator.aggregate(trained[rows_of[m]], sizes[rows_of[m]], miner_models[m])
                              for m in trained_miners]) if trained_miners else trained[:0]
        synchronize(device)
        t2 = time.perf_counter()
        return TrainedRound(selected, trained_miners, models,
                         {m: int((owners == m).sum()) for m in trained_miners},
                         {"train": t1 - t0, "aggregate": t2 - t1},
                         {m: int(poisoned[owners == m].sum()) for m in trained_miners if poisoned[owners == m].any()})
