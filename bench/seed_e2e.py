#!/usr/bin/env python3
"""The seed workload end to end (Anvil + a js-ipfs daemon store) beside the in-memory engine, as JSON.

    .venv/bin/python bench/seed_e2e.py [--rounds 30] [--store ipfs|local] [--out e2e.json]

W2 semantics (threshold 0, every round can make a block), 10 miners, 20 clients a round,
validation on (every committee member fetches, verifies and re-evaluates the candidate).
Seconds per round are split into train / aggregate / evaluate / store / chain / validate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import emit
from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.devnet import start_devnet
from offchain.fl.data import load_mnist
from offchain.fl.federation import BENCHMARK_FEDERATION, from_file
from offchain.fl.simulation import EngineConfig, PoFLEngine
from offchain.ipfs_daemon import start_ipfs_daemon
from offchain.miner.driver import RoundDriver
from offchain.miner.network import deploy_or_attach, ensure_registered, miner_signers
from offchain.miner.strategy import WorkloadStrategy
from offchain.miner.workload import RunConfig, Workload
from offchain.store import LocalStore
from offchain.store.ipfs import IpfsStore

CATEGORIES = ("train", "aggregate", "evaluate", "store", "chain", "validate")


def e2e(rounds: int, store_kind: str) -> dict:
    config = RunConfig(threshold=0.0)
    with ExitStack() as stack:
        devnet = stack.enter_context(start_devnet("anvil", accounts=20))
        if store_kind == "ipfs":
            store = IpfsStore(stack.enter_context(start_ipfs_daemon()).api_multiaddr)
        else:
            store = LocalStore(stack.enter_context(tempfile.TemporaryDirectory()))
        w3 = connect(devnet.rpc_url)
        workload = Workload(config)
        contract = deploy_or_attach(w3, LocalSigner(w3, dev_key(0)), config, workload, store, None)
        signers = miner_signers(w3, config.n_miners)
        ensure_registered(contract, signers)
        run = RoundDriver(contract, store, workload.flat, config.architecture, signers, WorkloadStrategy(workload))
        walls = []
        for _ in range(rounds):
            start = time.perf_counter()
            run.run_round()
            walls.append(time.perf_counter() - start)
        records = run.records[1:]  # the first round warms up vmap and the kernels
        split = {k: round(statistics.median(r.seconds.get(k, 0.0) for r in records), 4) for k in CATEGORIES}
        validated = [(w, r) for w, r in zip(walls[1:], records, strict=True) if r.seconds.get("validate")]
        return {"store": repr(store), "rounds": rounds,
                "round_seconds_median": round(statistics.median(walls[1:]), 4),
                "split_median": split,
                "rounds_with_validation": {
                    "count": len(validated),
                    "round_seconds_median": round(statistics.median(w for w, _ in validated), 4) if validated else None,
                    "split_median": {k: round(statistics.median(r.seconds.get(k, 0.0) for _, r in validated), 4)
                                     for k in CATEGORIES} if validated else None},
                "chain_plus_store_median": round(statistics.median(
                    r.seconds.get("chain", 0) + r.seconds.get("store", 0) for r in records), 4),
                "blocks": contract.block_count() - 1,
                "chain_accuracy_per_round": [r.chain_accuracy for r in run.records],
                "gas_per_round_median": int(statistics.median(r.gas_used for r in records))}


def in_memory(rounds: int) -> dict:
    engine = PoFLEngine(from_file(BENCHMARK_FEDERATION), load_mnist("train"), load_mnist("test"),
                        EngineConfig(threshold=0.0), workload_device())
    walls, curve = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        curve.append(engine.run_round().consensus_accuracy)
        walls.append(time.perf_counter() - start)
    return {"round_seconds_median": round(statistics.median(walls[1:]), 4),
            "chain_accuracy_per_round": [round(a, 4) for a in curve]}


def workload_device():  # type: ignore[no-untyped-def]
    from offchain.fl.device import default_device

    return default_device()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--store", choices=["ipfs", "local"], default="ipfs")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    report = {"end_to_end": e2e(args.rounds, args.store), "in_memory_engine": in_memory(args.rounds)}
    emit(report, args.out)


if __name__ == "__main__":
    main()
