#!/usr/bin/env python3
"""PoFL-chain's PoFL, PoW and PoS pools beside flexBlock 0.0.1's own PoW and PoS, on the seed workload, as JSON.

    .venv/bin/python bench/flexblock.py --flexblock-python /tmp/flexblock-env/bin/python [--rounds 30]
    .venv/bin/python bench/flexblock.py --tiny --flexblock-python /tmp/flexblock-env/bin/python   # smoke run

The seed workload: MNIST, the shipped 1,000-client federation, the notebook's MLP 784-128-10 (Adam, batch 20,
one local epoch, FedAvg), 10 miners, 20 clients a round, 30 rounds. PoS makes every node a miner (a p2p pool
on both sides): it runs on the federation's first ``--pos-nodes`` clients (20), all of them training each
round. This project's pools run on an auto-started Anvil with a temporary store (PoFL: threshold 0, no
improvement required: flexBlock's PoFL rule; PoS: no block time but the chain's own); flexBlock's run in its
own interpreter (``bench/_flexblock_driver.py``, written against 0.0.1's published API), PoS with
``seconds_to_mine=0`` instead of its 10 s sleep a block. Per pool: seconds a round (median of rounds 2..,
the first also deploys), setup seconds, final accuracy on the test set (of the head block's model), blocks.

flexBlock's interpreter: ``python3 -m venv /tmp/flexblock-env && /tmp/flexblock-env/bin/pip install
"torch==2.13.0+cpu" flexblock==0.0.1 packaging`` (flexblock pulls flexible-fl 0.7.0; the CPU torch wheel is the
one in /opt/wheels; ``packaging`` is needed by tensorly's PyTorch backend, which flex's ``fed_avg`` selects, and
neither declares it: without it tensorly falls back to numpy and fails on torch tensors). Without
``--flexblock-python`` (or ``$FLEXBLOCK_PYTHON``), or where it cannot import flexBlock, flexBlock's side is
skipped with the reason.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench._report import emit
from offchain.data import Dataset, FedDataset
from offchain.fl import federation as fedmod
from offchain.fl.images import LabeledImages
from offchain.fl.mnist import load_mnist

DRIVER = Path(__file__).with_name("_flexblock_driver.py")
OURS = ("pofl", "pow", "pos")
THEIRS = ("pow", "pos")
INSTALL = ('python3 -m venv /tmp/flexblock-env && /tmp/flexblock-env/bin/pip install "torch==2.13.0+cpu" '
           "flexblock==0.0.1 packaging")


def summary(setup: float, seconds: list[float], accuracies: list[float], blocks: int, nodes: int) -> dict[str, Any]:
    """One pool's row: seconds a round (median of rounds 2.., the first also deploys), final accuracy."""
    steady = seconds[1:] or seconds
    return {"setup_seconds": round(setup, 3), "round_seconds": [round(s, 3) for s in seconds],
            "round_seconds_median": round(statistics.median(steady), 3),
            "accuracy_per_round": [round(a, 4) for a in accuracies], "final_accuracy": round(accuracies[-1], 4),
            "blocks": blocks, "rounds": len(seconds), "nodes": nodes}


def run_ours(consensus: str, fed: FedDataset, test: Dataset, args: argparse.Namespace) -> dict[str, Any]:
    """One of this project's pools (on an auto-started Anvil) for ``args.rounds`` rounds."""
    import torch

    from offchain.pool import PoFLBlockchainPool, PoSBlockchainPool, PoWBlockchainPool, fed_avg
    from offchain.pool.notebook import (
        build_server_model,
        copy_server_model_to_clients,
        evaluate_global_model,
        get_clients_weights,
        set_aggregated_weights_to_server,
        train,
    )
    from offchain.pool.runner import first_nodes

    torch.manual_seed(args.seed)  # the notebook's model is built unseeded; selection draws from the pool's seed
    started = time.perf_counter()
    pool: Any
    extra: dict[str, Any] = {}
    if consensus == "pofl":
        pool = PoFLBlockchainPool(fed, build_server_model, args.miners, require_improvement=False, seed=args.seed)
        extra = {"eval_function": evaluate_global_model, "eval_dataset": test, "accuracy": 0.0}
    elif consensus == "pow":
        pool = PoWBlockchainPool(fed, build_server_model, number_of_miners=args.miners, seed=args.seed)
        pool.deploy()
    else:
        pool = PoSBlockchainPool(first_nodes(fed, args.pos_nodes), build_server_model, initial_stake=32,
                                 seed=args.seed)
        pool.deploy()
    setup = time.perf_counter() - started
    seconds, accuracies, blocks = [], [], 0
    try:
        for _ in range(args.rounds):
            started = time.perf_counter()
            pool.servers.map(copy_server_model_to_clients, pool.clients)
            selected = pool.clients.select(min(args.clients_per_round, len(pool.clients)))
            selected.map(train)
            pool.aggregators.map(get_clients_weights, selected)
            blocks += bool(pool.aggregate(fed_avg, set_aggregated_weights_to_server, **extra))
            seconds.append(time.perf_counter() - started)
            accuracies.append(head_accuracy(pool, test, evaluate_global_model))
        return summary(setup, seconds, accuracies, blocks, len(pool.servers))
    finally:
        pool.close()


def head_accuracy(pool: Any, test: Dataset, evaluate: Any) -> float:
    """The accuracy on ``test`` of the head block's model (a PoFL pool's miners keep their own models until
    the next round adopts the block, so a miner's model is not the head's)."""
    import torch

    server = copy.deepcopy(next(iter(pool.servers.models.values())))
    with torch.no_grad():
        for tensor, weights in zip(server["model"].state_dict().values(), pool.blockchain.get_last_block().weights,
                                   strict=True):
            tensor.copy_(torch.as_tensor(weights))
    return float(evaluate(server, test))


def flexblock_skip_reason(python: str | None) -> str | None:
    """Why flexBlock's side cannot run with the interpreter ``python`` (None: it can)."""
    if not python:
        return f"no flexBlock interpreter: pass --flexblock-python PATH or set FLEXBLOCK_PYTHON (make one: {INSTALL})"
    if not Path(python).exists():
        return f"--flexblock-python {python}: no such file (make it: {INSTALL})"
    probe = subprocess.run([python, "-c", "import flexBlock.pool, flex, torch; from importlib.metadata import "
                            "version; print(version('flexBlock'))"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"{python} cannot import flexBlock, flex and torch: {probe.stderr.strip().splitlines()[-1:]}"
    if probe.stdout.strip() != "0.0.1":
        return f"{python} has flexBlock {probe.stdout.strip()}; the driver is written for 0.0.1"
    return None


def write_data(path: Path, train: LabeledImages, fed: fedmod.Federation, test: LabeledImages) -> None:
    np.savez(path, train_x=train.images, train_y=train.labels, test_x=test.images, test_y=test.labels,
             client_starts=fed.offsets, client_index=fed.indices)


def run_theirs(python: str, consensus: str, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    """flexBlock 0.0.1's pool ``consensus`` in its own interpreter (bench/_flexblock_driver.py)."""
    clients = args.pos_nodes if consensus == "pos" else args.miners
    done = subprocess.run([python, str(DRIVER), str(data), consensus, str(args.rounds), str(clients),
                           str(args.clients_per_round), str(args.seed)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"flexBlock {consensus} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout)
    return summary(out["setup_seconds"], out["round_seconds"], out["accuracy_per_round"], out["blocks"], out["nodes"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--miners", type=int, default=10, help="PoFL and PoW miners")
    parser.add_argument("--pos-nodes", type=int, default=20, help="PoS nodes: the federation's first clients")
    parser.add_argument("--clients-per-round", type=int, default=20)
    parser.add_argument("--clients", type=int, default=None, help="use the federation's first CLIENTS clients")
    parser.add_argument("--test-images", type=int, default=None, help="evaluate on the first TEST_IMAGES")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flexblock-python", default=os.environ.get("FLEXBLOCK_PYTHON"),
                        help="an interpreter with flexblock==0.0.1 installed (default: $FLEXBLOCK_PYTHON)")
    parser.add_argument("--ours", nargs="*", choices=OURS, default=list(OURS))
    parser.add_argument("--theirs", nargs="*", choices=THEIRS, default=list(THEIRS))
    parser.add_argument("--tiny", action="store_true",
                        help="smoke run: 2 rounds, 3 miners, 4 PoS nodes, 4 clients a round, 60 clients, 1,000 images")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.tiny:
        args.rounds, args.miners, args.pos_nodes, args.clients_per_round = 2, 3, 4, 4
        args.clients, args.test_images = 60, 1000
    train, test = load_mnist("train"), load_mnist("test")
    fed = fedmod.from_file(fedmod.BENCHMARK_FEDERATION, n_samples=len(train))
    if args.clients is not None:
        fed = fedmod.Federation.from_parts([fed.client(i) for i in range(args.clients)])
    if args.test_images is not None:
        test = test.subset(np.arange(args.test_images))
    fed_dataset = FedDataset({f"client_{i}": Dataset.from_labeled(train.subset(fed.client(i)))
                              for i in range(fed.n_clients)})
    report: dict[str, Any] = {
        "workload": {"dataset": "mnist", "model": "MLP 784-128-10", "local": "Adam, batch 20, 1 epoch",
                     "clients": fed.n_clients, "miners": args.miners, "pos_nodes": args.pos_nodes,
                     "clients_per_round": args.clients_per_round, "rounds": args.rounds,
                     "test_images": len(test.labels), "seed": args.seed, "pos_block_seconds": 0},
        "tiny": args.tiny, "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "pofl_chain": {c: run_ours(c, fed_dataset, Dataset.from_labeled(test), args) for c in args.ours}}
    reason = flexblock_skip_reason(args.flexblock_python)
    if reason is not None:
        report["flexblock"] = {"skipped": reason}
    else:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data.npz"
            write_data(data, train, fed, test)
            report["flexblock"] = {"version": "0.0.1", "python": args.flexblock_python,
                                   **{c: run_theirs(args.flexblock_python, c, data, args) for c in args.theirs}}
    emit(report, args.out)


if __name__ == "__main__":
    main()
