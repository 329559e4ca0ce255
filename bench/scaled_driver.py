#!/usr/bin/env python3
"""The scaled mode's round driver end to end in one process: seconds a round at 1,000 miners, as JSON.

    .venv/bin/python bench/scaled_driver.py [--miners 1000] [--rounds 3] [--out scaled_driver.json]
    .venv/bin/python bench/scaled_driver.py --tiny     # a quick smoke run (20 miners, 2 rounds)

One `ScaledRoundDriver` (offchain/miner/scaled.py) runs every miner of a PoFLScaled deployment (docs/scaling.md's
design point: c = 48 seats, K = 8 candidates) on Anvil with N + 1 funded accounts and `--enable-tx-gas-limit`
(EIP-7825): real MNIST, an iid federation of 2N clients of which N train a round (about one a miner), so that
every miner that trained signs a claim; the aggregator posts them all (root + blob); the 8 best reveal (their
models into a local store); the 48 seats measure them and vote; finalize; every miner adopts the block.
Alone on a devnet, the driver moves the clock past the windows a round only waits out (forced, vote, the seed
block): `seconds_a_round` is the round's work, not its configured windows. `seconds` splits it (train,
evaluate, sign: the miners' side; chain: every RPC, transactions included; store, validate: the seats').
The first round pays first-time storage writes and warm-up; `median_later_rounds` is over the rounds after it.
Timings are this machine's (2 cores, CPU) and depend on its load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import emit, peak_rss_mb
from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.chain.scaled import ScaledConfig, ScaledContract
from offchain.miner.run_config import RunConfig
from offchain.miner.scaled import ScaledRoundDriver
from offchain.miner.strategy import WorkloadStrategy
from offchain.miner.workload import Workload
from offchain.servers.devnet import start_devnet
from offchain.store import LocalStore
from offchain.store.cid import compute_cid
from offchain.store.model_bytes import model_to_bytes
from offchain.testing.scaled_rounds import register_all

STAKE = 10**18


def run(n: int, rounds: int) -> dict[str, Any]:
    config = ScaledConfig(threshold_bps=1000)
    run_config = RunConfig(n_miners=n, partition="iid", n_clients=2 * n, clients_per_round=n, scaled=True)
    started = time.perf_counter()
    workload = Workload(run_config)
    setup = {"workload_s": round(time.perf_counter() - started, 2)}
    with start_devnet("anvil", accounts=n + 1, tx_gas_limit=True) as devnet, \
            tempfile.TemporaryDirectory(prefix="pofl-scaled-") as tmp:
        w3 = connect(devnet.rpc_url)
        owner, miners = LocalSigner(w3, dev_key(0)), [LocalSigner(w3, dev_key(i)) for i in range(1, n + 1)]
        store = LocalStore(Path(tmp))
        genesis = store.put(model_to_bytes(workload.flat.unflatten(workload.genesis.cpu()), run_config.architecture))
        contract, _ = ScaledContract.deploy(owner, config, genesis, reward_pool=10**20, deployments_dir=None)
        started = time.perf_counter()
        register_all(contract, miners, STAKE)
        setup["register_s"] = round(time.perf_counter() - started, 2)
        driver = ScaledRoundDriver(contract, store, workload.flat, run_config.architecture, miners,
                                   WorkloadStrategy(workload), workload.genesis)
        records = []
        try:
            for _ in range(rounds):
                started = time.perf_counter()
                record = driver.run_round(max_seconds=1800)
                records.append({"round": record.round, "seconds_a_round": round(time.perf_counter() - started, 2),
                                "seconds": record.seconds, "claims": len(record.miner_accuracies),
                                "block": record.block_height, "accuracy": record.chain_accuracy,
                                "gas": record.gas_used, "clients_trained": record.clients_trained})
        finally:
            driver.close()
        assert compute_cid(store.get(contract.latest_block().cid)) == contract.latest_block().cid
    later = [r["seconds_a_round"] for r in records[1:]] or [records[0]["seconds_a_round"]]
    return {"miners": n, "seats": config.seats, "top_k": config.top_k, "setup": setup, "rounds": records,
            "median_later_rounds_s": statistics.median(later), "blocks": sum(r["block"] is not None for r in records),
            "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--miners", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="smoke run: 20 miners, 2 rounds")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    n, rounds = (20, 2) if args.tiny else (args.miners, max(1, args.rounds))
    emit(run(n, rounds), args.out)


if __name__ == "__main__":
    main()
