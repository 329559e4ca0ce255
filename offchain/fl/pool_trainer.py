"""One round of training for many miners at once: select clients, train them, FedAvg per miner.

Every miner's selected clients start from that miner's model; all of them are trained in
batched calls of the fast path; each miner's new model is the aggregate of its own clients
only (fresh updates every round: nothing of last round's client updates is carried over).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from offchain.errors import PoflValueError
from offchain.fl.aggregation import fed_avg_flat, median_flat, trimmed_mean_flat, weighted_fed_avg_flat
from offchain.fl.config import AGGREGATORS
from offchain.fl.federation import Federation
from offchain.fl.training import DeviceDataset, FlatParams, TrainConfig, make_plan, train_clients

MAX_CLIENTS_PER_CALL = 128


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class PoolRound:
    """What a round of training produced."""

    selected: np.ndarray  # client ids trained this round
    trained_miners: list[int]  # miners that had at least one selected client
    models: torch.Tensor  # (len(trained_miners), P) aggregated models, in trained_miners order
    clients_per_miner: dict[int, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


class PoolTrainer:
    """Trains the selected clients of every miner and aggregates per miner."""

    def __init__(self, federation: Federation, miner_of_client: np.ndarray, data: DeviceDataset, flat: FlatParams,
                 config: TrainConfig, aggregator: str = "fedavg") -> None:
        if aggregator not in AGGREGATORS:
            raise PoflValueError(f"unknown aggregator {aggregator!r}: choose one of {AGGREGATORS}")
        self.federation = federation
        self.miner_of_client = miner_of_client
        self.data = data
        self.flat = flat
        self.config = config
        self.aggregator = aggregator

    def clients_of(self, miner: int) -> np.ndarray:
        return np.flatnonzero(self.miner_of_client == miner)

    def train(self, miner_models: torch.Tensor, selected: np.ndarray) -> PoolRound:
        """Train ``selected`` clients from their miners' rows of ``miner_models`` (n_miners, P)."""
        device = miner_models.device
        selected = np.asarray(selected, dtype=np.int64)
        owners = self.miner_of_client[selected]
        trained_miners = sorted({int(m) for m in owners})
        t0 = time.perf_counter()
        trained = torch.empty(len(selected), miner_models.shape[1], device=device)
        for lo in range(0, len(selected), MAX_CLIENTS_PER_CALL):
            chunk = selected[lo:lo + MAX_CLIENTS_PER_CALL]
            plan = make_plan([self.federation.client(int(c)) for c in chunk], self.config, device)
            start = miner_models[torch.from_numpy(owners[lo:lo + len(chunk)]).to(device)]
            trained[lo:lo + len(chunk)] = train_clients(self.flat, start, self.data, plan, self.config)
        synchronize(device)
        t1 = time.perf_counter()
        sizes = torch.from_numpy(self.federation.sizes()[selected].astype(np.float32)).to(device)
        models = torch.stack([self._aggregate(trained[owners == m], sizes[torch.from_numpy(owners == m)])
                              for m in trained_miners]) if trained_miners else trained[:0]
        synchronize(device)
        t2 = time.perf_counter()
        return PoolRound(selected, trained_miners, models,
                         {m: int((owners == m).sum()) for m in trained_miners},
                         {"train": t1 - t0, "aggregate": t2 - t1})

    def _aggregate(self, rows: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        if self.aggregator == "fedavg":
            return fed_avg_flat(rows)
        if self.aggregator == "weighted":
            return weighted_fed_avg_flat(rows, sizes)
        if self.aggregator == "median":
            return median_flat(rows)
        return trimmed_mean_flat(rows, 0.2)
