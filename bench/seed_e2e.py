#!/usr/bin/env python3
"""The seed workload end to end (Anvil + a js-ipfs daemon store) beside the in-memory engine, as JSON.

    .venv/bin/python bench/seed_e2e.py [--rounds 30] [--store ipfs|local] [--out e2e.json]
    .venv/bin/python bench/seed_e2e.py --tiny        # a smoke run: 3 rounds, local store

W2 semantics (threshold 0, every round can make a block), 10 miners, 20 clients a round.
What is measured, as the output says:
- ``setup_seconds``: devnet and IPFS start, MNIST load, deployment and registration (not in rounds);
- ``warmup_round_seconds``: the first round (vmap tracing, first kernels), left out of the medians;
- ``round_seconds_median`` over the other rounds, split into train / aggregate / evaluate / store /
  chain / validate;
- ``evaluations_per_round``: candidate re-evaluations per round, each by a seat of the committee from
  its own fetch of the stored bytes (every seat reports: the block records their median);
- ``peak_rss_mb`` of each run, measured in a child process of its own.
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

from bench._report import child_main, emit, in_child

CATEGORIES = ("train", "aggregate", "evaluate", "store", "chain", "validate")


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def e2e(rounds: str, store_kind: str, mode: str = "public") -> dict:
    """The W2 seed workload on Anvil, in ``mode`` ``public`` (MNIST's test set) or ``holdout`` (a task splitting
    it into one 250-image shard a round, its keys revealed by a requester in the same process)."""
    from offchain.app.deployment import HoldoutSpec, deploy_run
    from offchain.app.preflight import check_compatible, ensure_registered, miner_signers
    from offchain.app.requester import Requester
    from offchain.chain.accounts import LocalSigner, dev_key
    from offchain.chain.connect import connect
    from offchain.fl.mnist import load_mnist
    from offchain.miner.driver import RoundDriver
    from offchain.miner.strategy import WorkloadStrategy
    from offchain.miner.workload import RunConfig, Workload
    from offchain.servers.devnet import start_devnet
    from offchain.servers.ipfs import start_ipfs_daemon
    from offchain.store import LocalStore
    from offchain.store.ipfs import IpfsStore

    config = RunConfig(threshold=0.0)
    started = time.perf_counter()
    with ExitStack() as stack:
        devnet = stack.enter_context(start_devnet("anvil", accounts=20))
        if store_kind == "ipfs":
            store = IpfsStore(stack.enter_context(start_ipfs_daemon()).api_multiaddr)
        else:
            store = LocalStore(stack.enter_context(tempfile.TemporaryDirectory()))
        w3 = connect(devnet.rpc_url)
        workload = Workload(config)
        owner = LocalSigner(w3, dev_key(0))
        requester = None
        holdout = HoldoutSpec(load_mnist("test"), n_shards=int(rounds)) if mode == "holdout" else None
        deployment = deploy_run(owner, config, store, holdout=holdout)
        contract = deployment.contract
        if deployment.holdout is not None and deployment.keys is not None:
            requester = Requester(deployment.holdout, contract, owner, deployment.keys)
        signers = miner_signers(w3, config.n_miners)
        check_compatible(contract, workload)
        ensure_registered(contract, signers)
        driver = RoundDriver(contract, store, workload.flat, config.architecture, signers, WorkloadStrategy(workload),
                             observers=[requester.observe] if requester else [])
        setup = time.perf_counter() - started
        walls = []
        for _ in range(int(rounds)):
            start = time.perf_counter()
            driver.run_round(max_seconds=300)
            walls.append(time.perf_counter() - start)
        driver.close()
        records = driver.records[1:]
        validated = [(w, r) for w, r in zip(walls[1:], records, strict=True) if r.validations]
        return {"mode": mode, "store": type(store).__name__, "rounds": int(rounds), "setup_seconds": round(setup, 3),
                "warmup_round_seconds": round(walls[0], 4),
                "round_seconds_median": median(walls[1:]),
                "split_median": {k: median([r.seconds.get(k, 0.0) for r in records]) for k in CATEGORIES},
                "evaluations_per_round": [r.validations for r in driver.records],
                "rounds_with_validation": {
                    "count": len(validated), "round_seconds_median": median([w for w, _ in validated]),
                    "split_median": {k: median([r.seconds.get(k, 0.0) for _, r in validated]) for k in CATEGORIES}},
                "chain_plus_store_median": median([r.seconds.get("chain", 0) + r.seconds.get("store", 0)
                                                   for r in records]),
                "blocks": contract.block_count() - 1,
                "chain_accuracy_per_round": [r.chain_accuracy for r in driver.records],
                "gas_per_round_median": int(statistics.median(r.gas_used for r in records)) if records else None}


def in_memory(rounds: str) -> dict:
    from offchain.fl.device import default_device
    from offchain.fl.federation import BENCHMARK_FEDERATION, from_file
    from offchain.fl.mnist import load_mnist
    from offchain.fl.simulation import EngineConfig, PoFLEngine

    started = time.perf_counter()
    engine = PoFLEngine(from_file(BENCHMARK_FEDERATION), load_mnist("train"), load_mnist("test"),
                        EngineConfig(threshold=0.0), default_device())
    setup = time.perf_counter() - started
    walls, curve = [], []
    for _ in range(int(rounds)):
        start = time.perf_counter()
        curve.append(engine.run_round().consensus_accuracy)
        walls.append(time.perf_counter() - start)
    return {"setup_seconds": round(setup, 3), "warmup_round_seconds": round(walls[0], 4),
            "round_seconds_median": median(walls[1:]), "chain_accuracy_per_round": [round(a, 4) for a in curve]}


def child(kind: str, *args: str) -> dict:
    return e2e(*args) if kind == "e2e" else in_memory(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--store", choices=["ipfs", "local"], default="ipfs")
    parser.add_argument("--tiny", action="store_true", help="Smoke run: 3 rounds on the local store.")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rounds, store = (3, "local") if args.tiny else (args.rounds, args.store)
    script = Path(__file__).resolve()
    report = {"end_to_end": in_child(script, "e2e", str(rounds), store),
              "in_memory_engine": in_child(script, "memory", str(rounds))}
    emit(report, args.out)


if __name__ == "__main__":
    if not child_main(child, sys.argv[1:]):
        main()
