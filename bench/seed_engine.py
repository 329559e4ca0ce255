#!/usr/bin/env python3
"""The flexBlock notebook's workload on the FL engine alone (no chain, no store), as JSON.

    .venv/bin/python bench/seed_engine.py                       # W1, W2 for seeds 0 1 2, and the scale run
    .venv/bin/python bench/seed_engine.py --workload w2 --seeds 0 --out w2.json
    .venv/bin/python bench/seed_engine.py --workload w2 --dataset fashion_mnist

W1: rounds and seconds until the first consensus block at or above 0.6.
W2: 30 rounds with threshold 0: the consensus accuracy per round, rounds to 0.8 and 0.9, with the
engine's default pool strategy (block momentum 0.5) and, beside it, the strategy before it (no
block momentum) as ``W2_without_block_momentum``; ``--sweep 0.4 0.6`` adds other momenta.
Scale: 100 miners, 1,000 clients a round. Every miner that trained is evaluated on all
10,000 test images every round. Seconds per round are split into train / aggregate /
evaluate; peak RSS is the process's maximum resident set.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from bench._report import emit
from offchain.fl.device import default_device
from offchain.fl.federation import BENCHMARK_FEDERATION, Federation, from_file
from offchain.fl.images import LabeledImages
from offchain.fl.mnist import load_mnist
from offchain.fl.simulation import EngineConfig, PoFLEngine


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(dataset: str, federation_path: Path) -> tuple[Federation, LabeledImages, LabeledImages]:
    if dataset == "fashion_mnist":
        from offchain.fl.fashion_mnist import benchmark_federation, load_fashion_mnist

        train = load_fashion_mnist("train")
        return benchmark_federation(train), train, load_fashion_mnist("test")
    return from_file(federation_path), load_mnist("train"), load_mnist("test")


def run(data: tuple[Federation, LabeledImages, LabeledImages], config: EngineConfig, rounds: int | None,
        until: float | None) -> dict:
    device = default_device()
    engine = PoFLEngine(*data, config, device)
    engine.run_round()  # warm-up: first vmap/kernels; the engine is then reset to a fresh run
    engine = PoFLEngine(*data, config, device)
    curve, parts, walls = [], [], []
    start = time.perf_counter()
    first_block = None
    while True:
        t0 = time.perf_counter()
        result = engine.run_round()
        walls.append(time.perf_counter() - t0)
        parts.append(result.seconds)
        curve.append(round(result.consensus_accuracy, 4))
        if first_block is None and result.winner is not None:
            first_block = {"round": result.round, "seconds": round(time.perf_counter() - start, 3),
                           "accuracy": round(result.consensus_accuracy, 4)}
        if until is not None and first_block is not None:
            break
        if rounds is not None and result.round >= rounds:
            break
        if until is not None and result.round >= 200:
            break
    return {
        "seed": config.seed, "device": str(device), "rounds": len(walls),
        "first_block": first_block, "wall_seconds": round(time.perf_counter() - start, 3),
        "round_seconds_median": round(statistics.median(walls), 4),
        "round_seconds_min": round(min(walls), 4),  # the least disturbed round, when others share the CPU
        "round_seconds_split_median": {k: round(statistics.median(p[k] for p in parts), 4) for k in parts[0]},
        "consensus_accuracy_per_round": curve,
        "rounds_to": {str(t): next((i + 1 for i, a in enumerate(curve) if a >= t), None) for t in (0.6, 0.8, 0.9)},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--federation", type=Path, default=BENCHMARK_FEDERATION, help="MNIST federation file")
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist",
                        help="fashion_mnist: Fashion-MNIST with its Dirichlet(0.5) 1,000-client federation")
    parser.add_argument("--workload", choices=["w1", "w2", "scale", "all"], default="all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sweep", type=float, nargs="*", default=[], metavar="BETA",
                        help="W2 also with these block momenta (the measurement behind the default)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    data = load(args.dataset, args.federation)
    report: dict[str, object] = {"dataset": args.dataset, "threads": torch.get_num_threads(),
                                 "federation": str(args.federation) if args.dataset == "mnist" else
                                 "Dirichlet(0.5), 1,000 clients, seed 0"}
    if args.workload in ("w1", "all"):
        runs = [run(data, EngineConfig(threshold=0.6, seed=s), None, 0.6) for s in args.seeds]
        report["W1"] = {"runs": runs, "median_seconds_to_first_block": statistics.median(
            r["first_block"]["seconds"] for r in runs), "median_rounds_to_first_block": statistics.median(
            r["first_block"]["round"] for r in runs)}
    if args.workload in ("w2", "all"):
        variants = [("W2", EngineConfig().block_momentum), ("W2_without_block_momentum", 0.0),
                    *((f"W2_block_momentum_{b}", b) for b in args.sweep)]
        for key, momentum in variants:
            runs = [run(data, EngineConfig(threshold=0.0, seed=s, block_momentum=momentum), 30, None)
                    for s in args.seeds]
            report[key] = {"block_momentum": momentum, "runs": runs,
                           "median_round_seconds": statistics.median(r["round_seconds_median"] for r in runs),
                           "median_accuracy_round_30": statistics.median(r["consensus_accuracy_per_round"][-1]
                                                                        for r in runs)}
    if args.workload in ("scale", "all"):
        report["scale_100_miners_1000_clients"] = run(
            data, EngineConfig(n_miners=100, clients_per_round=1000, threshold=0.0, seed=0), 5, None)
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    emit(report, args.out)


if __name__ == "__main__":
    main()
