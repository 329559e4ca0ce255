#!/usr/bin/env python3
"""A miner that trains on every evaluation image it can read, in public and hold-out mode, as JSON.

    .venv/bin/python bench/holdout.py                  # W2 (30 rounds) in both modes, in-memory engine
    .venv/bin/python bench/holdout.py --tiny           # smoke run: 3 rounds a mode
    .venv/bin/python bench/holdout.py --modes public --seed 1 --out holdout.json

The W2 workload (10 miners, 20 clients a round, 30 rounds, threshold 0, "must beat the parent",
Adam, batch 20, one local epoch) with one attacker miner (miner 0) that adds every evaluation
image it can read to its pool each round (``PoFLEngine(eval_trainer=0)``):

- public mode: claims are judged on the public evaluation set, MNIST's test set less the final
  shard (8,500 images), and the attacker trains on all of it;
- hold-out mode: MNIST's test set split by :func:`offchain.holdout.split.mnist_split`: round r is
  judged on selection shard r (250 images), the parent on the same shard; the attacker trains on
  the public part (1,000 images).

In both modes every block is also measured on the same final held-out shard (1,500 images no
one trains on): the *gap* of a block is its claimed accuracy minus its final-shard accuracy. The
report gives, per mode: blocks won by the attacker, the mean claimed and final accuracy of the
blocks it won and their gap (also for the other miners' blocks), the round after which the chain
froze (no block in the last ``FROZEN_AFTER`` rounds or more; null if it did not) and the engine's
seconds per round (wall, and the process's CPU seconds, which a machine shared with other work
disturbs less); ``without_attacker``: the same run with no attacker (its seconds per round are
the mode's own cost; the attacker's extra training dominates the others). Each mode is one
function (``engine_public``, ``engine_holdout``), so an end-to-end run on a chain can be added
beside them. ``end_to_end``: the honest W2 run on Anvil and the store (``bench/seed_e2e.py``) in both
modes, for what hold-out mode costs a round on a chain (``holdout_overhead``: hold-out / public - 1).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from bench._report import emit, peak_rss_mb
from offchain.fl.device import default_device
from offchain.fl.evaluation import Evaluator
from offchain.fl.federation import BENCHMARK_FEDERATION, from_file
from offchain.fl.images import LabeledImages
from offchain.fl.mnist import load_mnist
from offchain.fl.simulation import EngineConfig, EvalTrainer, PoFLEngine
from offchain.holdout.split import (
    DEFAULT_FINAL_SIZE,
    DEFAULT_SHARD_SIZE,
    DEFAULT_SHARDS,
    HoldoutSplit,
    mnist_split,
    split_indices,
)

ATTACKER = 0
FROZEN_AFTER = 5


def public_minus_final(seed: int) -> LabeledImages:
    """MNIST's test set less the final shard of ``mnist_split(seed)``: the public-mode evaluation set."""
    test = load_mnist("test")
    final = split_indices(test.labels, n_shards=DEFAULT_SHARDS, shard_size=DEFAULT_SHARD_SIZE,
                          final_size=DEFAULT_FINAL_SIZE, seed=seed)[1]
    return test.subset(np.setdiff1d(np.arange(len(test)), final))


def run_engine(engine: PoFLEngine, final: LabeledImages, rounds: int) -> dict:
    """Run ``rounds`` rounds; every block measured on ``final``; the attacker's figures summarised."""
    final_eval = Evaluator(final, engine.flat, engine.config.architecture, engine.device)
    blocks, walls, cpus = [], [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        result = engine.run_round()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if result.winner is not None:
            blocks.append({"round": result.round, "miner": result.winner, "claimed": result.consensus_accuracy,
                           "final": final_eval.accuracy(engine.consensus)})
    last_block = max((b["round"] for b in blocks), default=0)

    def summary(of: list[dict]) -> dict:
        if not of:
            return {"blocks": 0, "mean_claimed": None, "mean_final": None, "gap_points": None,
                    "last_block_gap_points": None}
        claimed, final_acc = statistics.mean(b["claimed"] for b in of), statistics.mean(b["final"] for b in of)
        return {"blocks": len(of), "mean_claimed": round(claimed, 4), "mean_final": round(final_acc, 4),
                "gap_points": round(100 * (claimed - final_acc), 2),
                "last_block_gap_points": round(100 * (of[-1]["claimed"] - of[-1]["final"]), 2)}

    return {
        "rounds": rounds,
        "blocks": len(blocks),
        "attacker": summary([b for b in blocks if b["miner"] == ATTACKER]),
        "honest": summary([b for b in blocks if b["miner"] != ATTACKER]),
        "froze_after_round": last_block if rounds - last_block >= FROZEN_AFTER else None,
        "final_accuracy_of_last_block": round(blocks[-1]["final"], 4) if blocks else None,
        "round_seconds_median": round(statistics.median(walls), 4),
        "round_seconds_mean": round(statistics.mean(walls), 4),
        "round_cpu_seconds_median": round(statistics.median(cpus), 4),
        "per_block": [{k: round(v, 4) if isinstance(v, float) else v for k, v in b.items()} for b in blocks],
    }


def engine_public(split: HoldoutSplit, config: EngineConfig, rounds: int, device: torch.device) -> dict:
    """Public mode on the in-memory engine: judged on, and attacked with, MNIST test less the final shard;
    the same run without the attacker beside it."""
    public_eval = public_minus_final(config.seed)

    def engine(attacker: EvalTrainer | None) -> PoFLEngine:
        return PoFLEngine(from_file(BENCHMARK_FEDERATION), load_mnist("train"), public_eval, config, device,
                          eval_trainer=attacker)

    return {"evaluation_images": len(public_eval), "attacker_reads": len(public_eval),
            **run_engine(engine(EvalTrainer(ATTACKER)), split.final, rounds),
            "without_attacker": without_attacker(run_engine(engine(None), split.final, rounds))}


def engine_holdout(split: HoldoutSplit, config: EngineConfig, rounds: int, device: torch.device) -> dict:
    """Hold-out mode on the in-memory engine: round r judged on shard r; the attacker reads the public part;
    the same run without the attacker beside it."""
    def engine(attacker: EvalTrainer | None) -> PoFLEngine:
        return PoFLEngine(from_file(BENCHMARK_FEDERATION), load_mnist("train"), split.public, config, device,
                          holdout_shards=split.shards, eval_trainer=attacker)

    return {"evaluation_images": len(split.shards[0]), "attacker_reads": len(split.public),
            **run_engine(engine(EvalTrainer(ATTACKER)), split.final, rounds),
            "without_attacker": without_attacker(run_engine(engine(None), split.final, rounds))}


def without_attacker(run: dict) -> dict:
    """The figures of a run with no attacker: its seconds per round and the gap of all its blocks."""
    keep = ("blocks", "froze_after_round", "final_accuracy_of_last_block", "round_seconds_median",
            "round_seconds_mean", "round_cpu_seconds_median")
    return {**{k: run[k] for k in keep}, "gap_points": run["honest"]["gap_points"]}


MODES = {"public": engine_public, "holdout": engine_holdout}


def end_to_end(rounds: int, store: str) -> dict[str, object]:
    """The honest W2 workload on Anvil in public and in hold-out mode (bench/seed_e2e.py's run, each in a child
    process, back to back): the seconds per round of each and hold-out mode's overhead."""
    from bench._report import in_child

    script = Path(__file__).resolve().parent / "seed_e2e.py"
    runs = {mode: in_child(script, "e2e", str(rounds), store, mode) for mode in ("public", "holdout")}
    public, holdout = (runs[m]["round_seconds_median"] for m in ("public", "holdout"))
    overhead = round(holdout / public - 1, 4) if public and holdout else None
    return {"store": store, "rounds": rounds, **runs, "holdout_overhead": overhead}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", nargs="*", choices=sorted(MODES), default=["public", "holdout"],
                        help="engine modes to run (none: only the end-to-end comparison)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0, help="seed of the run and of the split")
    parser.add_argument("--tiny", action="store_true", help="smoke run: 3 rounds a mode")
    parser.add_argument("--e2e", choices=["ipfs", "local", "none"], default=None,
                        help="also run the honest W2 end to end on Anvil in both modes with this store, for the "
                             "cost of hold-out mode (default: ipfs; none with --tiny)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rounds = 3 if args.tiny else args.rounds
    device = default_device()
    config = EngineConfig(threshold=0.0, seed=args.seed)
    split = mnist_split(args.seed)
    report: dict[str, object] = {
        "workload": "W2: 10 miners, 20 clients a round, threshold 0, require_improvement, Adam, batch 20, 1 epoch",
        "attacker_miner": ATTACKER, "seed": args.seed, "device": str(device), "threads": torch.get_num_threads(),
        "split": {"public": len(split.public), "shards": len(split.shards), "shard_size": len(split.shards[0]),
                  "final": len(split.final)},
    }
    for mode in args.modes:
        report[mode] = MODES[mode](split, config, rounds, device)
    e2e_store = args.e2e or ("none" if args.tiny else "ipfs")
    if e2e_store != "none":
        report["end_to_end"] = end_to_end(rounds, e2e_store)
    report["peak_rss_mb"] = peak_rss_mb()
    emit(report, args.out)


if __name__ == "__main__":
    main()
