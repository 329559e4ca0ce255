"""What varies between the users of the round driver: how a miner trains and how it evaluates.

As Flower's ``Strategy`` is to its server loop, a :class:`MinerStrategy` is to
:class:`~offchain.miner.driver.RoundDriver`: the loop is written once, and ``pofl run`` (all
miners batched in one process), ``pofl miner`` (one miner) and the notebook's
``PoFLBlockchainPool`` (the user's ``eval_function``) plug in their own training and evaluation.
Local miners are named by their position in the driver's list.
"""

from __future__ import annotations

from typing import Protocol

import torch

from offchain.fl.evaluation import Evaluator
from offchain.fl.images import LabeledImages
from offchain.fl.round_training import RoundTrainer
from offchain.miner.pools import InProcessPool, PoolBackend, Trained
from offchain.miner.workload import Workload

__all__ = ["MinerStrategy", "Trained", "WorkloadStrategy"]


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
    to its own clients. ``pool`` is where the clients train (:mod:`offchain.miner.pools`): by default
    in this process; the trainer still keeps the chain's block delta for the look-ahead either way.
    """

    def __init__(self, workload: Workload, trainer: RoundTrainer | None = None,
                 trainer_index: dict[int, int] | None = None, pool: PoolBackend | None = None) -> None:
        self.workload = workload
        self.trainer = trainer or workload.trainer
        self.trainer_index = trainer_index
        self.pool: PoolBackend = pool or InProcessPool(workload, self.trainer, trainer_index)
        self.device = workload.device
        self._shard: tuple[LabeledImages, Evaluator] | None = None  # the last shard evaluated on

    def train(self, round_id: int, models: dict[int, torch.Tensor]) -> Trained:
        return self.pool.train(round_id, models)

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
