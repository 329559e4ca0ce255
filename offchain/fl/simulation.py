"""The PoFL workload without chain or store: the reference engine and the seed benchmark's core.

Each round: ``clients_per_round`` clients are drawn from all clients; every miner trains its
own drawn clients from its current model and aggregates them (the run's pool aggregator,
attacks and block momentum act inside :class:`~offchain.fl.round_training.RoundTrainer`); every
miner that trained is evaluated on the whole evaluation set; the best model at or above the
target (the threshold, or KFC's rising target) and, with ``require_improvement``, better than
the consensus becomes the consensus, which every miner adopts — the contract's rule. Miners
without a drawn client keep their model.

Hold-out mode (``holdout_shards``): round ``r``'s claims are measured on shard ``r`` only, and
"better than the consensus" compares like with like: the consensus (the parent) is measured on
the same shard (and KFC's target follows from that measurement). The ``eval_trainer`` option makes
one miner an attacker that also trains on every evaluation image it can read — ``eval_set``,
which in hold-out mode is only the public part: the images join the training set as extra
clients of that miner, trained every round.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from offchain.errors import PoflRuntimeError, PoflValueError
from offchain.fl.architectures import build_model
from offchain.fl.config import BLOCK_MOMENTUM, EngineConfig
from offchain.fl.evaluation import Evaluator
from offchain.fl.federation import Federation, assign_to_miners, select_clients
from offchain.fl.images import LabeledImages
from offchain.fl.round_training import RoundTrainer, synchronize
from offchain.fl.targets import block_target
from offchain.fl.training import DeviceDataset, FlatParams

__all__ = ["BLOCK_MOMENTUM", "EngineConfig", "EvalTrainer", "PoFLEngine", "RoundResult", "ShardsExhausted",
           "add_eval_clients", "genesis_model"]


@dataclass(frozen=True)
class EvalTrainer:
    """An attacker: ``miner`` also trains on every evaluation image it can read, each round, as extra
    clients of its pool holding ``client_size`` images each, repeated ``epochs`` times.

    The defaults were chosen by measurement (bench/holdout.py's public mode, 8,500 readable images):
    few large clients memorize them best for the compute (17 clients of 500 x 10 epochs: a mean gap
    of 1.8 points over 15 rounds; 5 clients of 2,000 x 5 epochs: 2.2 points over 12 rounds, at half
    the compute; 100-image clients x 1 epoch: 1.7 points over 30 rounds).
    """

    miner: int
    client_size: int = 2000
    epochs: int = 5

    def __post_init__(self) -> None:
        if self.client_size < 1 or self.epochs < 1:
            raise PoflValueError(f"EvalTrainer needs client_size >= 1 and epochs >= 1, got {self.client_size} and "
                                 f"{self.epochs}")


class ShardsExhausted(PoflRuntimeError):
    """Hold-out mode: every selection shard has judged a round; no claim can be judged any more."""


@dataclass
class RoundResult:
    round: int
    accuracies: dict[int, float]  # miner -> accuracy of its new model (miners that trained)
    winner: int | None  # miner whose model became the consensus, if any
    consensus_accuracy: float
    clients_trained: int
    seconds: dict[str, float]
    poisoned_miners: list[int] = field(default_factory=list)  # miners whose pool held poisoned clients
    parent_accuracy: float | None = None  # hold-out mode: the consensus before the round, on this round's shard


def genesis_model(architecture: str, seed: int) -> torch.nn.Module:
    """The initial model every miner starts from, seeded."""
    torch.manual_seed(seed)
    return build_model(architecture)


class PoFLEngine:
    """Miners' models as rows of one tensor; rounds as in the module docstring.

    Parameters:
        federation, train_set: the clients and their samples.
        eval_set: the public evaluation set. Public mode judges every claim on it; in hold-out mode
            it judges nothing and is what anyone may read (the split's public part).
        config: the run's rules.
        device: where models train and are evaluated.
        holdout_shards: hold-out mode if given: round ``r`` is judged on ``holdout_shards[r - 1]``,
            the parent included; a round past the last shard raises :class:`ShardsExhausted`.
        eval_trainer: the attacker, if any, that also trains on every image of ``eval_set``
            (:class:`EvalTrainer`).
    """

    def __init__(self, federation: Federation, train_set: LabeledImages, eval_set: LabeledImages,
                 config: EngineConfig, device: torch.device, *, holdout_shards: Sequence[LabeledImages] = (),
                 eval_trainer: EvalTrainer | None = None) -> None:
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
        self.n_clients = federation.n_clients
        self.owners: np.ndarray = assign_to_miners(federation.n_clients, config.n_miners, config.seed)
        self.eval_clients = np.zeros(0, dtype=np.int64)  # clients trained every round: the attacker's
        if eval_trainer is not None:
            if not 0 <= eval_trainer.miner < config.n_miners:
                raise PoflValueError(f"eval_trainer must be a miner 0..{config.n_miners - 1}, got "
                                     f"{eval_trainer.miner}")
            federation, train_set, self.owners, self.eval_clients = add_eval_clients(
                federation, train_set, self.owners, eval_set, eval_trainer)
        data = DeviceDataset(train_set.images, train_set.labels, device)
        self.trainer = RoundTrainer.from_config(federation, self.owners, data, self.flat, config)
        self.trainer.on_block(genesis)
        self.holdout_shards = tuple(holdout_shards)
        self.evaluator = None if self.holdout_shards else Evaluator(eval_set, self.flat, config.architecture, device)
        self.has_block = False

    def run_round(self) -> RoundResult:
        if self.holdout_shards and self.round >= len(self.holdout_shards):
            raise ShardsExhausted(f"all {len(self.holdout_shards)} hold-out shards have judged a round: append "
                                  f"shards to go on")
        self.round += 1
        selected = select_clients(self.config.seed, self.round, self.n_clients, self.config.clients_per_round)
        pool = self.trainer.train(self.models, np.concatenate([selected, self.eval_clients]))
        t0 = time.perf_counter()
        parent_accuracy = None
        if self.holdout_shards:  # the parent is measured beside the candidates, on this round's shard
            evaluator = Evaluator(self.holdout_shards[self.round - 1], self.flat, self.config.architecture,
                                  self.device)
            *accs, parent_accuracy = evaluator.accuracies(torch.cat([pool.models, self.consensus[None]])).tolist()
            self.consensus_accuracy = parent_accuracy
            if self.has_block:
                self.target = block_target(self.config.target_schedule, self.config.threshold, parent_accuracy)
        else:
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
            self.has_block = True
        return RoundResult(self.round, accuracies, winner, self.consensus_accuracy, len(pool.selected), seconds,
                           sorted(pool.poisoned_per_miner), parent_accuracy)

    def _decide(self, accuracies: dict[int, float]) -> int | None:
        """The contract's rule: best claim at or above the target and, if required, above the consensus
        (in hold-out mode: the consensus measured on this round's shard); ties go to the first (the
        contract: earliest reveal)."""
        best: int | None = None
        for miner, acc in accuracies.items():
            eligible = acc >= self.target and (
                not self.config.require_improvement or acc > self.consensus_accuracy)
            if eligible and (best is None or acc > accuracies[best]):
                best = miner
        return best


def add_eval_clients(federation: Federation, train_set: LabeledImages, owners: np.ndarray, eval_set: LabeledImages,
                     attacker: EvalTrainer) -> tuple[Federation, LabeledImages, np.ndarray, np.ndarray]:
    """``eval_set`` appended to ``train_set`` and cut into clients of ``attacker.client_size`` images (each
    image ``attacker.epochs`` times, in order) owned by ``attacker.miner``.

    Returns the extended federation, training set and client owners, and the new clients' ids.
    """
    base = len(train_set)
    n_new = max(1, -(-len(eval_set) // attacker.client_size))
    cuts = [np.tile(c, attacker.epochs) for c in np.array_split(np.arange(base, base + len(eval_set)), n_new)]
    parts = [federation.client(i) for i in range(federation.n_clients)] + cuts
    extended = LabeledImages(np.concatenate([train_set.images, eval_set.images]),
                             np.concatenate([train_set.labels, eval_set.labels]))
    new_ids = np.arange(federation.n_clients, federation.n_clients + n_new, dtype=np.int64)
    return Federation.from_parts(parts), extended, np.concatenate([owners, np.full(n_new, attacker.miner)]), new_ids
