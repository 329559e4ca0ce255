"""Round-driver strategies for system tests: miners that train honestly but misbehave in one way."""

from __future__ import annotations

import torch

from offchain.miner.strategy import WorkloadStrategy
from offchain.miner.workload import Workload


class Misreporting(WorkloadStrategy):
    """Trains honestly, but the miner at position ``liar`` measures every model at 0: its own (it claims nothing
    a block could be made of) and every candidate it validates (a false report)."""

    def __init__(self, workload: Workload, liar: int) -> None:
        super().__init__(workload)
        self.liar = liar

    def evaluate(self, models: list[torch.Tensor], evaluators: list[int]) -> list[float]:
        measured = super().evaluate(models, evaluators)
        return [0.0 if e == self.liar else a for a, e in zip(measured, evaluators, strict=True)]
