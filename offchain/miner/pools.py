"""Where a miner's clients train: the pool backend seam.

A :class:`PoolBackend` trains the round's selected clients of the local miners and hands back each miner's
aggregated model; the round driver neither knows nor cares where the clients are. Two backends exist:

- :class:`InProcessPool` (the default): every client trains inside the miner's process, batched on the fast
  path of :class:`~offchain.fl.round_training.RoundTrainer`;
- ``offchain.flower.pool.FlowerPool`` (``pofl miner --pool flower``): the clients are Flower SuperNodes, each
  holding its own data, reached through a SuperLink; the miner aggregates their replies with the same
  aggregator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from offchain.fl.round_training import RoundTrainer
from offchain.miner.selection import select_clients
from offchain.miner.workload import Workload


@dataclass
class Trained:
    """What a round's training produced: new models of the local miners that trained."""

    models: dict[int, torch.Tensor]  # local position -> new flat parameters
    clients_trained: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # e.g. train, aggregate


class PoolBackend(Protocol):
    """Trains the clients of a driver's local miners, one round at a time."""

    def train(self, round_id: int, models: dict[int, torch.Tensor]) -> Trained:
        """Train round ``round_id``'s selected clients of the miners in ``models`` (local position -> current
        model), each from its miner's model; each miner's new model is the aggregate of its own clients. Miners
        absent from the result keep their model (none of their clients was drawn, or none replied)."""
        ...

    def close(self) -> None:
        """Release what the backend holds (connections, a run); the default backend holds nothing."""
        ...


class InProcessPool:
    """Today's engine: every selected client of every local miner trains in this process, in batched calls.

    Parameters:
        workload: the run's data, federation and configuration.
        trainer: the trainer whose ``miner_of_client`` says which client belongs to which row.
        trainer_index: local position -> the trainer's miner number (None: the identity, as in ``pofl run``;
            ``{0: 0}`` for a ``pofl miner`` whose trainer was restricted to its own clients).
    """

    def __init__(self, workload: Workload, trainer: RoundTrainer, trainer_index: dict[int, int] | None = None) -> None:
        self.workload = workload
        self.trainer = trainer
        self.trainer_index = trainer_index

    def train(self, round_id: int, models: dict[int, torch.Tensor]) -> Trained:
        config = self.workload.config
        selected = select_clients(config.seed, round_id, self.workload.federation.n_clients,
                                  config.clients_per_round)
        positions = sorted(models)
        index = self.trainer_index or {p: p for p in positions}
        n_rows = int(self.trainer.miner_of_client.max()) + 1 if len(self.trainer.miner_of_client) else 0
        rows = torch.stack([models[positions[0]]] * max(n_rows, 1))
        for p in positions:
            rows[index[p]] = models[p]
        by_row = {index[p]: p for p in positions}
        mine = np.asarray([c for c in selected if int(self.trainer.miner_of_client[c]) in by_row], dtype=np.int64)
        if len(mine) == 0:
            return Trained({}, 0)
        pool = self.trainer.train(rows, mine)
        new = {by_row[m]: pool.models[i] for i, m in enumerate(pool.trained_miners)}
        return Trained(new, len(mine), dict(pool.seconds))

    def close(self) -> None:
        pass
