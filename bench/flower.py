#!/usr/bin/env python3
"""The Flower pool's cost as JSON: seconds a round with 2 and 4 SuperNodes, against the in-process engine on
the same clients, and where a Flower round's time goes.

Each setting starts a SuperLink and N SuperNodes on loopback (offchain.flower.servers), connects a FlowerPool
as `pofl miner --pool flower` does, and trains R rounds, each from the model the last produced; then the
in-process engine trains the same clients from the same models. A Flower round's seconds split into the
slowest client's load (the ClientApp's imports of torch and the learning stack, its data) and training (both
measured inside the ClientApp; a ClientApp is a fresh process every round, so its training pays torch's
first-call set-up every time, which the warm in-process engine pays once), and the rest: Flower's transport and
process starts (a SuperNode polls its SuperLink every 3 s, its SuperExec starts one `flwr-clientapp` process per
message). The models of both pools are compared too.

    .venv/bin/python bench/flower.py [--nodes 2 4] [--rounds 3] [--out bench/results/flower.json]
    .venv/bin/python bench/flower.py --tiny      # a smoke run: one SuperNode, one round
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

from bench._report import emit
from offchain.flower.pool import FlowerPool, FlowerSettings
from offchain.flower.servers import launch_superlink, launch_supernode
from offchain.miner.pools import InProcessPool
from offchain.miner.run_config import RunConfig
from offchain.miner.workload import Workload

# 3 miners; iid over 60 clients of 1,000 MNIST samples each, all drawn every round; miner 0's first N clients
CONFIG = RunConfig(n_miners=3, min_committee=2, partition="iid", n_clients=60, clients_per_round=60, seed=5)


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def measure(workload: Workload, n_nodes: int, rounds: int) -> dict[str, Any]:
    clients = np.flatnonzero(workload.owners == 0)[:n_nodes]
    trainer = workload.restricted_to(clients)
    link = launch_superlink()
    nodes = []
    try:
        t0 = time.perf_counter()
        nodes = [launch_supernode(link.address, int(c)) for c in clients]
        t1 = time.perf_counter()
        pool = FlowerPool(workload, trainer, clients, FlowerSettings(link.address, min_nodes=n_nodes))
        t2 = time.perf_counter()
        flower_s, load_s, train_s, starts, models = [], [], [], [], []
        model = workload.genesis
        try:
            for r in range(1, rounds + 1):
                starts.append(model)
                t = time.perf_counter()
                trained = pool.train(r, {0: model})
                flower_s.append(time.perf_counter() - t)
                assert trained.clients_trained == n_nodes, trained
                load_s.append(max(s["load"] for s in pool.client_seconds.values()))
                train_s.append(max(s["train"] for s in pool.client_seconds.values()))
                model = trained.models[0]
                models.append(model)
        finally:
            pool.close()
    finally:
        for node in nodes:
            node.stop()
        link.stop()
    local = InProcessPool(workload, trainer, {0: 0})
    local.train(rounds + 1, {0: workload.genesis})  # warm: torch's first batched call pays a one-off set-up
    local_s, diffs = [], []
    for r, (start, flower_model) in enumerate(zip(starts, models, strict=True), 1):
        t = time.perf_counter()
        ours = local.train(r, {0: start}).models[0]
        local_s.append(time.perf_counter() - t)
        diffs.append((ours - flower_model).abs().max().item())
    rest = [f - lo - tr for f, lo, tr in zip(flower_s, load_s, train_s, strict=True)]
    return {
        "supernodes": n_nodes, "rounds": rounds,
        "start_supernodes_s": round(t1 - t0, 2), "connect_s": round(t2 - t1, 2),
        "flower_round_s": [round(s, 3) for s in flower_s], "flower_round_s_median": median(flower_s),
        "in_process_round_s": [round(s, 3) for s in local_s], "in_process_round_s_median": median(local_s),
        "overhead_s_median": median([f - lo for f, lo in zip(flower_s, local_s, strict=True)]),
        "overhead_x_median": round(statistics.median(flower_s) / statistics.median(local_s), 1),
        "where_the_time_goes_median_s": {
            "client_load (ClientApp imports torch + the learning stack, reads its data)": median(load_s),
            "client_train (slowest client's local training)": median(train_s),
            "flower (SuperNode 3 s polls, a flwr-clientapp process per message, transfers)": median(rest)},
        "max_abs_diff_vs_in_process": float(max(diffs)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--tiny", action="store_true", help="one SuperNode, one round (a smoke run)")
    args = parser.parse_args()
    if args.tiny:
        args.nodes, args.rounds = [1], 1
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    workload = Workload(CONFIG)
    results = [measure(workload, n, args.rounds) for n in args.nodes]
    emit({"benchmark": "flower", "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, "
          f"{os.cpu_count()} cores, {torch.device('cpu')}", "flwr": _flwr_version(),
          "workload": "MNIST, SimpleNet, Adam lr 1e-3, batch 20, 1 epoch, 1,000 samples a client (iid over 60)",
          "settings": results}, args.out)


def _flwr_version() -> str:
    from importlib.metadata import version

    return version("flwr")


if __name__ == "__main__":
    main()
