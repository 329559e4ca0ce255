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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import emit, peak_rss_mb
from offchain.app.scaled_run import run_scaled
from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.chain.scaled import ScaledConfig
from offchain.miner.run_config import RunConfig
from offchain.servers.devnet import start_devnet
from offchain.store import LocalStore
from offchain.store.cid import compute_cid

STAKE = 10**18


def run(n: int, rounds: int) -> dict[str, Any]:
    config = ScaledConfig(threshold_bps=1000)
    run_config = RunConfig(n_miners=n, partition="iid", n_clients=2 * n, clients_per_round=n, scaled=True)
    with start_devnet("anvil", accounts=n + 1, tx_gas_limit=True) as devnet, \
            tempfile.TemporaryDirectory(prefix="pofl-scaled-") as tmp:
        w3 = connect(devnet.rpc_url)
        owner, miners = LocalSigner(w3, dev_key(0)), [LocalSigner(w3, dev_key(i)) for i in range(1, n + 1)]
        store = LocalStore(Path(tmp))
        done = run_scaled(owner, miners, run_config, store, rounds=rounds, scaled=config, stake=STAKE,
                          reward_pool=10**20)
        head = done.contract.latest_block()
        assert compute_cid(store.get(head.cid)) == head.cid
    records = [{"round": r.round, "seconds_a_round": done.seconds[f"round {r.round}"], "seconds": r.seconds,
                "claims": len(r.miner_accuracies), "block": r.block_height, "accuracy": r.chain_accuracy,
                "gas": r.gas_used, "clients_trained": r.clients_trained} for r in done.records]
    later = [r["seconds_a_round"] for r in records[1:]] or [records[0]["seconds_a_round"]]
    setup = {"workload_s": done.seconds["workload"], "register_s": done.seconds["register"]}
    return {"miners": n, "seats": config.seats, "top_k": config.top_k, "setup": setup, "rounds": records,
            "median_later_rounds_s": statistics.median(later), "blocks": done.blocks, "peak_rss_mb": peak_rss_mb()}


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
