#!/usr/bin/env python3
"""The flexBlock PoW MNIST notebook's workload, in its shape, on a real chain (PoWConsensus).

    .venv/bin/python scripts/pow_mnist_example.py [--rounds 10] [--miners 10] [--rpc-url URL]

Ten miners lead the 1,000 clients of the shipped MNIST federation; each round 20 clients train one epoch (Adam,
batch 20) from their miner's model; every miner averages every miner's clients (flexBlock's PoW gossips them to
the winner) and the miners race for the block: keccak256(head || model digest || miner || nonce) under the
contract's target (flexBlock's 3 leading zero hex digits to start), checked on chain. Every miner then loads the
block's model from the store. Without ``--rpc-url`` it starts its own Anvil and uses a temporary store.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offchain.datasets import load
from offchain.pool import PoWBlockchainPool
from offchain.pool.notebook import build_server_model
from offchain.pool.runner import PoolRound, run_rounds


def show(row: PoolRound) -> None:
    print(f"round {row.round}: block {row.height} by {row.miner[:10]}, accuracy {row.accuracy:.4f}, "
          f"{row.gas:,} gas, {row.seconds:.1f} s")


def main(argv: list[str] | None = None) -> PoWBlockchainPool:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--miners", type=int, default=10)
    parser.add_argument("--clients-per-round", type=int, default=20)
    parser.add_argument("--rpc-url", default=None)
    parser.add_argument("--ipfs-api", default=None)
    args = parser.parse_args(argv)
    flex_dataset, test_data = load("federated_mnist", return_test=True)
    pool = PoWBlockchainPool(fed_dataset=flex_dataset, init_func=build_server_model, number_of_miners=args.miners,
                             rpc_url=args.rpc_url, ipfs_api=args.ipfs_api)
    print(f"Number of nodes in the pool {len(pool)}: {len(pool.servers)} miners plus {len(pool.clients)} clients")
    run_rounds(pool, test_data, args.rounds, args.clients_per_round, show)
    rate = pool.hashes / pool.hashing_seconds if pool.hashing_seconds else 0.0
    print(f"\n{len(pool.blockchain) - 1} blocks; difficulty now {pool.contract.difficulty()} zero hex digits; "
          f"{pool.hashes:,} hashes at {rate:,.0f} hashes/s")
    return pool


if __name__ == "__main__":
    main().close()
