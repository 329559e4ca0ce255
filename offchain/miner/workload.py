"""A run's learning side, built from its configuration: data, federation, model, trainer, evaluator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from offchain.errors import PoflValueError
from offchain.fl import federation as fedmod
from offchain.fl.device import default_device
from offchain.fl.evaluation import Evaluator
from offchain.fl.images import LabeledImages
from offchain.fl.mnist import load_mnist
from offchain.fl.round_training import RoundTrainer
from offchain.fl.simulation import genesis_model
from offchain.fl.training import DeviceDataset, FlatParams
from offchain.miner.run_config import PARTITIONS, RunConfig

__all__ = ["PARTITIONS", "RunConfig", "Workload", "build_federation"]

def build_federation(config: RunConfig, train: LabeledImages) -> fedmod.Federation:
    if config.partition == "benchmark":
        return fedmod.from_file(fedmod.BENCHMARK_FEDERATION, n_samples=len(train))
    if config.partition == "iid":
        return fedmod.iid(len(train), config.n_clients, config.seed)
    if config.partition == "dirichlet":
        return fedmod.dirichlet(train.labels, config.n_clients, config.alpha, config.seed)
    if config.partition == "shards":
        return fedmod.shards(train.labels, config.n_clients, 2, config.seed)
    path = Path(config.partition)
    if not path.is_file():
        raise PoflValueError(f"--partition {config.partition!r}: not one of {PARTITIONS} and not a federation "
                             f".npz file")
    return fedmod.from_file(path, n_samples=len(train))


class Workload:
    """The data, federation, client ownership, model layout, trainer and evaluator of a run."""

    def __init__(self, config: RunConfig, device: torch.device | None = None) -> None:
        self.config = config
        self.device = device or default_device()
        train, self.eval_set = load_mnist("train"), load_mnist("test")
        self.federation = build_federation(config, train)
        self.owners = fedmod.assign_to_miners(self.federation.n_clients, config.n_miners, config.seed)
        module = genesis_model(config.architecture, config.seed).to(self.device)
        self.flat = FlatParams(module)
        self.genesis = self.flat.flatten(module.state_dict())
        self.base_data = DeviceDataset(train.images, train.labels, self.device)
        self.trainer = RoundTrainer.from_config(self.federation, self.owners, self.base_data, self.flat, config)
        self.evaluator = Evaluator(self.eval_set, self.flat, config.architecture, self.device)

    @property
    def eval_set_hash(self) -> bytes:
        return bytes.fromhex(self.evaluator.sha256)

    def restricted_to(self, clients: np.ndarray) -> RoundTrainer:
        """A trainer whose miner 0 owns exactly ``clients`` (one miner's view in its own process)."""
        owners = np.full(self.federation.n_clients, -1, dtype=np.int64)
        owners[clients] = 0
        return RoundTrainer.from_config(self.federation, owners, self.base_data, self.flat, self.config,
                                       attack_owners=self.owners)
