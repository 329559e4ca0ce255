#!/usr/bin/env python3
"""The flexBlock PoFL MNIST notebook's workload, in its shape, on a real chain: PoFL-chain's own example.

    .venv/bin/python scripts/pofl_mnist_example.py [--target 0.6] [--max-rounds 50] [--rpc-url URL] [--holdout]

Ten miners lead the 1,000 clients of the shipped MNIST federation; each round 20 clients train
one epoch (Adam, batch 20) from their miner's model, every miner averages its clients (FedAvg) and
the on-chain PoFL round picks, validates and adopts the best model. It stops at the first block
at or above ``--target`` — or after ``--max-rounds`` rounds, so that it cannot loop for ever.
Without ``--rpc-url`` it starts its own Anvil and uses a temporary embedded model store.
``--holdout``: the test set becomes the pool's private hold-out set (one sealed 250-image shard judges
each round; the pool reveals the keys) and the run ends with every block measured on the final shard.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offchain.data import Dataset
from offchain.datasets import load
from offchain.pool import PoFLBlockchainPool, fed_avg
from offchain.pool.notebook import (  # the notebook's model, client training, weights and evaluation
    build_server_model,
    copy_server_model_to_clients,
    evaluate_global_model,
    get_clients_weights,
    set_aggregated_weights_to_server,
    train,
)


def train_until_acc(pool: PoFLBlockchainPool, test_data: Dataset, acc: float, max_rounds: int) -> int:
    """Rounds until a block reaches ``acc`` (the notebook's loop, with a round cap); the rounds run."""
    for i in range(1, max_rounds + 1):
        print(f"\nRunning round: {i}")
        pool.servers.map(copy_server_model_to_clients, pool.clients)
        selected_clients = pool.clients.select(20)
        selected_clients.map(train)
        pool.aggregators.map(get_clients_weights, selected_clients)
        if pool.aggregate(fed_avg, set_aggregated_weights_to_server, eval_function=evaluate_global_model,
                          eval_dataset=test_data, accuracy=acc):
            return i
    print(f"\nno block reached {acc} within {max_rounds} rounds")
    return max_rounds


def main(argv: list[str] | None = None) -> PoFLBlockchainPool:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=float, default=0.6)
    parser.add_argument("--max-rounds", type=int, default=50)
    parser.add_argument("--miners", type=int, default=10)
    parser.add_argument("--rpc-url", default=None)
    parser.add_argument("--ipfs-api", default=None)
    parser.add_argument("--holdout", action="store_true", help="judge rounds on sealed shards of the test set")
    args = parser.parse_args(argv)
    flex_dataset, test_data = load("federated_mnist", return_test=True)
    holdout = {"holdout": test_data, "holdout_shards": min(args.max_rounds, 30)} if args.holdout else {}
    pool = PoFLBlockchainPool(fed_dataset=flex_dataset, init_func=build_server_model, number_of_miners=args.miners,
                              rpc_url=args.rpc_url, ipfs_api=args.ipfs_api, **holdout)
    print(f"Number of nodes in the pool {len(pool)}: {len(pool.servers)} miners plus {len(pool.clients)} clients")
    rounds = train_until_acc(pool, test_data, args.target, args.max_rounds)
    last = pool.blockchain.get_last_block()
    print(f"\n{rounds} rounds; last block {last.height} at accuracy {last.accuracy:.4f}")
    if args.holdout:
        for row in pool.end_task()[1:]:
            print(f"block {row.height}: {row.selection_accuracy:.4f} on its round's shard, "
                  f"{row.final_accuracy:.4f} on the final shard")
    return pool


if __name__ == "__main__":
    main().close()
