#!/usr/bin/env python3
"""The flexBlock PoS MNIST notebook's workload, in its shape, on a real chain (PoSConsensus).

    .venv/bin/python scripts/pos_mnist_example.py [--rounds 10] [--nodes 20] [--rpc-url URL]

Every node is client, aggregator and miner (flexBlock's p2p pool), each starting with a stake of 32; the
first ``--nodes`` clients of the shipped MNIST federation are the nodes (flexBlock's notebook makes all 1,000
nodes: each registers on chain, so fewer keep the example quick). Each round ``--clients-per-round`` nodes train
one epoch, all gossip their weights, the proposer drawn by stake from a future block's hash averages them and
proposes the model; other nodes fetch and load it and attest; the block is appended and the winner's stake
grows by one. Without ``--rpc-url`` it starts its own Anvil and uses a temporary store.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offchain.datasets import load
from offchain.pool import PoSBlockchainPool
from offchain.pool.notebook import build_server_model
from offchain.pool.runner import PoolRound, first_nodes, run_rounds


def show(row: PoolRound) -> None:
    print(f"round {row.round}: block {row.height} by {row.miner[:10]}, accuracy {row.accuracy:.4f}, "
          f"{row.gas:,} gas, {row.seconds:.1f} s")


def main(argv: list[str] | None = None) -> PoSBlockchainPool:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--clients-per-round", type=int, default=10)
    parser.add_argument("--rpc-url", default=None)
    parser.add_argument("--ipfs-api", default=None)
    args = parser.parse_args(argv)
    flex_dataset, test_data = load("federated_mnist", return_test=True)
    pool = PoSBlockchainPool(fed_dataset=first_nodes(flex_dataset, args.nodes), init_func=build_server_model,
                             initial_stake=32, rpc_url=args.rpc_url, ipfs_api=args.ipfs_api)
    print(f"Number of nodes in the pool {len(pool)}: each one client, aggregator and miner")
    run_rounds(pool, test_data, args.rounds, args.clients_per_round, show)
    stakes = sorted(((pool.stake_of(n), n) for n in pool.servers.models), reverse=True)[:3]
    print(f"\n{len(pool.blockchain) - 1} blocks; highest stakes: " + ", ".join(f"{n} {s}" for s, n in stakes))
    return pool


if __name__ == "__main__":
    main().close()
