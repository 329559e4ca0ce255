"""The PoFL workload without chain or store: the reference engine and the seed benchmark's core.

Each round: ``clients_per_round`` clients are drawn from all clients; every miner trains its
own drawn clients from its current model and aggregates them (the run's pool aggregator,
attacks and block momentum act inside :class:`~offchain.fl.pool_trainer.PoolTrainer`); every
miner that trained is evaluated on the whole evaluation set; the best model at or above the
target (the threshold, or KFC's rising target) and, with ``require_improvement``, better than
the consensus becomes the consensus, which every miner adopts — the contract's rule. Miners
without a drawn client keep their model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from offchain.fl.config import BLOCK_MOMENTUM, EngineConfig
from offchain.fl.data import LabeledImages
from offchain.fl.evaluation import Evaluator
from offchain.fl.federation import Federation, assign_to_miners, select_clients
from offchain.fl.models import build_model
from offchain.fl.pool_trainer import PoolTrainer, synchronize
from offchain.fl.targets import block_target
from offchain.fl.training import DeviceDataset, FlatParams

__all__ = ["BLOCK_MOMENTUM", "EngineConfig", "PoFLEngine", "RoundResult", "genesis_model"]


@dataclass
class RoundResult:
    round: int
    accuracies: dict[int, float]  # miner -> accuracy of its new model (miners that trained)
    winner: int | None  # miner whose model became the consensus, if any
    consensus_accuracy: float
    clients_trained: int
    seconds: dict[str, float]
    poisoned_miners: list[int] = field(default_factory=list)  # miners whose pool held poisoned clients


def genesis_model(architecture: str, seed: int) -> torch.nn.Module:
    """The initial model every miner starts from, seeded."""
    torch.manual_seed(seed)
    return build_model(architecture)


class PoFLEngine:
    """Miners' models as rows of one tensor; rounds as in the module docstring."""

    def __init__(self, federation: Federation, train_set: LabeledImages, eval_set: LabeledImages,
                 config: EngineConfig, device: torch.device) -> None:
        self.config = config
        self.device = device
        module = genesis_model(config.architecture, config.seed).to(device)
        self.flat = FlatParams(module)
        genesis = self.flat.flatten(module.state_dict())
        self.models = genesis.unsqueeze(0).repeat(config.n_miners, 1)
        self.consensus = genesis.clone()
        self.consensus_accuracy = 0.0
        self.target = block_target(config.target_schedule, config.threshold, None)
        self.round = 0
        data = DeviceDataset(train_set.images, train_set.labels, device)
        self.owners: np.ndarray = assign_to_miners(federation.n_clients, config.n_miners, config.seed)
        self.trainer = PoolTrainer.from_config(federation, self.owners, data, self.flat, config)
        self.trainer.on_block(genesis)
        self.evaluator = Evaluator(eval_set, self.flat, config.architecture, device)
        self.n_clients = federation.n_clients

    def run_round(self) -> RoundResult:
        self.round += 1
        pool = self.trainer.train(self.models, select_clients(self.config.seed, self.round, self.n_clients,
                                                              self.config.clients_per_round))
        t0 = time.perf_counter()
        accs = self.evaluator.accuracies(pool.models).tolist() if pool.trained_miners else []
        synchronize(self.device)
        seconds = {**pool.seconds, "evaluate": time.perf_counter() - t0}
        for row, miner in enumerate(pool.trained_miners):
            self.models[miner] = pool.models[row]
        accuracies = dict(zip(pool.trained_miners, accs, strict=True))
        winner = self._decide(accuracies)
        if winner is not None:
            self.consensus = self.models[winner].clone()
            self.consensus_accuracy = accuracies[winner]
            self.target = block_target(self.config.target_schedule, self.config.threshold, self.consensus_accuracy)
            self.models[:] = self.consensus
            self.trainer.on_block(self.consensus)
        return RoundResult(self.round, accuracies, winner, self.consensus_accuracy, len(pool.selected), seconds,
                           sorted(pool.poisoned_per_miner))

    def _decide(self, accuracies: dict[int, float]) -> int | None:
        """The contract's rule: best claim at or above the target and, if required, above the consensus;
        ties go to the first (the contract: earliest reveal)."""
        best: int | None = None
        for miner, acc in accuracies.items():
            eligible = acc >= self.target and (
                not self.config.require_improvement or acc > self.consensus_accuracy)
            if eligible and (best is None or acc > accuracies[best]):
                best = miner
        return best
