"""What varies between the users of the round driver: how a miner trains and how it evaluates.

As Flower's ``Strategy`` is to its server loop, a :class:`MinerStrategy` is to
:class:`~offchain.miner.driver.RoundDriver`: the loop is written once, and ``pofl run`` (all
miners batched in one process), ``pofl miner`` (one miner) and the notebook's
``PoFLBlockchainPool`` (the user's ``eval_function``) plug in their own training and evaluation.
Local miners are named by their position in the driver's list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from offchain.fl.evaluation import Evaluator
from offchain.fl.images import LabeledImages
from offchain.fl.round_training import RoundTrainer
from offchain.miner.selection import select_clients
from offchain.miner.workload import Workload


@dataclass
class Trained:
    """What a round's training produced: new models of the local miners that trained."""

    models: dict[int, torch.Tensor]  # local position -> new flat parameters
    clients_trained: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # e.g. train, aggregate


class MinerStrategy(Protocol):
    """Training and evaluation for a driver's local miners."""

    device: torch.device

    def train(self, round_id: int, models: dict[int, torch.Tensor]) -> Trained:
        """Train round ``round_id``'s clients of the miners in ``models`` (position -> current model).
        Miners absent from the result keep their model (none of their clients was drawn)."""
        ...

    def evaluate(self, models: list[torch.Tensor], evaluators: list[int]) -> list[float]:
        """The accuracy of each of ``models``, as measured by the local miner at the same place in
        ``evaluators`` (a batched implementation may ignore who evaluates)."""
        ...

    def evaluate_on(self, models: list[torch.Tensor], data: LabeledImages) -> list[float]:
        """The accuracy of each of ``models`` on ``data`` (hold-out mode: a round's shard, the same for every
        local miner)."""
        ...

    def adopted(self, position: int, params: torch.Tensor) -> None:
        """The miner at ``position`` now holds ``params`` (a block's model); a hook for callers that
        keep their own copy of each miner's model (the notebook pool). No-op by default."""
        ...


class WorkloadStrategy:
    """Training and evaluation of a :class:`~offchain.miner.workload.Workload`, batched over all local miners.

    ``trainer_index`` maps a local position to the trainer's miner number: the identity for ``pofl
    run`` (all miners in one process), ``{0: 0}`` for a ``pofl miner`` whose trainer was restricted
    to its own clients.
    """

    def __init__(self, workload: Workload, trainer: RoundTrainer | None = None,
                 trainer_index: dict[int, int] | None = None) -> None:
        self.workload = workload
        self.trainer = trainer or workload.trainer
        self.trainer_index = trainer_index
        self.device = workload.device
        self._shard: tuple[LabeledImages, Evaluator] | None = None  # the last shard evaluated on

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

    def evaluate(self, models: list[torch.Tensor], evaluators: list[int]) -> list[float]:
        if not models:
            return []
        return self.workload.evaluator.accuracies(torch.stack([m.to(self.device) for m in models])).tolist()

    def evaluate_on(self, models: list[torch.Tensor], data: LabeledImages) -> list[float]:
        if not models:
            return []
        if self._shard is None or self._shard[0] is not data:
            self._shard = (data, Evaluator(data, self.workload.flat, self.workload.config.architecture,
                                           self.device))
        return self._shard[1].accuracies(torch.stack([m.to(self.device) for m in models])).tolist()

    def adopted(self, position: int, params: torch.Tensor) -> None:
        self.trainer.on_block(params.to(self.device))  # the look-ahead of block momentum follows the chain
