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
import copy
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offchain.data import Dataset
from offchain.datasets import load
from offchain.model import FlexModel
from offchain.pool import (
    PoFLBlockchainPool,
    deploy_miner_model,
    fed_avg,
    init_server_model,
    send_weights_to_miner,
    set_aggregated_weights,
)

try:
    from torchvision import transforms
except ImportError:  # torchvision does not import beside the CPU torch wheel: the package's own
    from offchain import transforms

device = "cuda" if torch.cuda.is_available() else "cpu"
mnist_transforms = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])


class SimpleNet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.fc2(F.relu(self.fc1(self.flatten(x)))), dim=1)


@init_server_model
def build_server_model() -> FlexModel:
    server_flex_model = FlexModel()
    server_flex_model["model"] = SimpleNet()
    server_flex_model["criterion"] = torch.nn.CrossEntropyLoss()
    server_flex_model["optimizer_func"] = torch.optim.Adam
    server_flex_model["optimizer_kwargs"] = {}
    return server_flex_model


@deploy_miner_model
def copy_server_model_to_clients(server_flex_model: FlexModel) -> FlexModel:
    return copy.deepcopy(server_flex_model)


def train(client_flex_model: FlexModel, client_data: Dataset) -> None:
    loader = DataLoader(client_data.to_torchvision_dataset(transform=mnist_transforms), batch_size=20)
    model = client_flex_model["model"].train().to(device)
    optimizer = client_flex_model["optimizer_func"](model.parameters(), **client_flex_model["optimizer_kwargs"])
    criterion = client_flex_model["criterion"]
    for imgs, labels in loader:
        imgs, labels = imgs.to(device), labels.to(device)
        optimizer.zero_grad()
        criterion(model(imgs), labels).backward()
        optimizer.step()


@send_weights_to_miner
def get_clients_weights(client_flex_model: FlexModel) -> list[torch.Tensor]:
    weight_dict = client_flex_model["model"].state_dict()
    return [weight_dict[name] for name in weight_dict]


@set_aggregated_weights
def set_aggregated_weights_to_server(server_flex_model: FlexModel, aggregated_weights: list[torch.Tensor]) -> None:
    with torch.no_grad():
        weight_dict = server_flex_model["model"].state_dict()
        for layer_key, new in zip(weight_dict, aggregated_weights, strict=True):
            weight_dict[layer_key].copy_(new)


def evaluate_global_model(server_flex_model: FlexModel, test_data: Dataset) -> float:
    model = server_flex_model["model"].eval().to(device)
    loader = DataLoader(test_data.to_torchvision_dataset(transform=mnist_transforms), batch_size=256)
    correct = total = 0
    with torch.no_grad():
        for data, target in loader:
            pred = model(data.to(device)).argmax(1)
            correct += int((pred == target.to(device)).sum())
            total += len(target)
    return correct / total


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
