"""flexBlock 0.0.1's own PoW and PoS pools on the seed workload, run by flexBlock's interpreter (not this
project's: it imports only flexBlock, flex, torch and numpy). bench/flexblock.py writes the data and runs

    FLEXBLOCK_PYTHON bench/_flexblock_driver.py DATA.npz CONSENSUS ROUNDS MINERS CLIENTS_PER_ROUND SEED

(PoS: MINERS is its number of nodes, the federation's first clients)

and reads one JSON document from stdout. Written against 0.0.1 as published (``flexBlock.pool``:
``PoWBlockchainPool(fed_dataset, init_func, number_of_miners, **kwargs)``, ``PoSBlockchainPool(fed_dataset,
init_func, initial_stake=32, **kwargs)``; decorators ``deploy_miner_model`` and ``send_weights_to_miner`` in
``flexBlock.pool.decorators``; flex's ``init_server_model``, ``set_aggregated_weights``, ``fed_avg``): the
MNIST notebook's MLP 784-128-10, Adam, batch 20, one local epoch, FedAvg. PoS runs with
``seconds_to_mine=0`` (0.0.1's ``BlockchainPoS`` sleeps that many seconds a block, 10 by default), the
pool's own keyword passed down to its chain. DATA.npz: ``train_x`` (N, 28, 28) uint8, ``train_y``,
``test_x``, ``test_y``, ``client_starts`` / ``client_index`` (client c's samples:
``client_index[client_starts[c]:client_starts[c + 1]]``).
"""

from __future__ import annotations

import copy
import json
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from flex.data import Dataset, FedDataset
from flex.model import FlexModel
from flex.pool import fed_avg, init_server_model, set_aggregated_weights
from flexBlock.pool import PoSBlockchainPool, PoWBlockchainPool
from flexBlock.pool.decorators import deploy_miner_model, send_weights_to_miner

BATCH_SIZE = 20


class SimpleNet(torch.nn.Module):
    """The notebook's MLP: 784-128-10, ReLU, log_softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten = torch.nn.Flatten()
        self.fc1 = torch.nn.Linear(28 * 28, 128)
        self.fc2 = torch.nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.fc2(F.relu(self.fc1(self.flatten(x)))), dim=1)


@init_server_model
def build_server_model(**_pool_kwargs) -> FlexModel:  # the pools pass their keywords (seconds_to_mine) down
    model = FlexModel()
    model["model"] = SimpleNet()
    model["criterion"] = torch.nn.CrossEntropyLoss()
    model["optimizer_func"] = torch.optim.Adam
    model["optimizer_kwargs"] = {}
    return model


@deploy_miner_model
def copy_server_model_to_clients(server_flex_model: FlexModel) -> FlexModel:
    return copy.deepcopy(server_flex_model)


def normalized(x: np.ndarray) -> torch.Tensor:
    """The notebook's ToTensor + Normalize((0.5,), (0.5,))."""
    return (torch.from_numpy(np.asarray(x, dtype=np.float32)) / 255.0 - 0.5) / 0.5


def train(client_flex_model: FlexModel, client_data: Dataset) -> None:
    x, y = client_data.to_numpy()
    images, labels = normalized(x), torch.from_numpy(np.asarray(y, dtype=np.int64))
    model = client_flex_model["model"].train()
    optimizer = client_flex_model["optimizer_func"](model.parameters(), **client_flex_model["optimizer_kwargs"])
    for start in range(0, len(labels), BATCH_SIZE):
        optimizer.zero_grad()
        client_flex_model["criterion"](model(images[start:start + BATCH_SIZE]),
                                       labels[start:start + BATCH_SIZE]).backward()
        optimizer.step()


@send_weights_to_miner
def get_clients_weights(client_flex_model: FlexModel) -> list:
    state = client_flex_model["model"].state_dict()
    return [state[name] for name in state]


@set_aggregated_weights
def set_aggregated_weights_to_server(server_flex_model: FlexModel, aggregated_weights: list) -> None:
    with torch.no_grad():
        state = server_flex_model["model"].state_dict()
        for key, new in zip(state, aggregated_weights, strict=True):
            state[key].copy_(torch.as_tensor(new))


def head_accuracy(pool, images: torch.Tensor, labels: torch.Tensor) -> float:  # type: ignore[no-untyped-def]
    """The accuracy of the head block's weights (the chain's model), in a copy of a miner's model."""
    model = copy.deepcopy(next(iter(pool.servers._models.values()))["model"]).eval()
    with torch.no_grad():
        for tensor, weights in zip(model.state_dict().values(), pool.blockchain.get_last_block().weights,
                                   strict=True):
            tensor.copy_(torch.as_tensor(weights))
        return float((model(images).argmax(1) == labels).float().mean())


def main(path: str, consensus: str, rounds: int, miners: int, clients_per_round: int, seed: int) -> dict:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    data = np.load(path)
    starts, index = data["client_starts"], data["client_index"]
    n_clients = miners if consensus == "pos" else len(starts) - 1  # PoS: every node a miner, the first ones
    fed = FedDataset({f"client_{c}": Dataset.from_array(data["train_x"][index[starts[c]:starts[c + 1]]],
                                                         data["train_y"][index[starts[c]:starts[c + 1]]])
                      for c in range(n_clients)})
    test_x, test_y = normalized(data["test_x"]), torch.from_numpy(data["test_y"].astype(np.int64))
    started = time.perf_counter()
    if consensus == "pow":
        pool = PoWBlockchainPool(fed, build_server_model, number_of_miners=miners)
    else:
        pool = PoSBlockchainPool(fed, build_server_model, initial_stake=32, seconds_to_mine=0)
    setup = time.perf_counter() - started
    seconds, accuracies, blocks = [], [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        pool.servers.map(copy_server_model_to_clients, pool.clients)
        selected = pool.clients.select(min(clients_per_round, len(pool.clients)))
        selected.map(train)
        pool.aggregators.map(get_clients_weights, selected)
        blocks += bool(pool.aggregate(fed_avg, set_aggregated_weights_to_server))
        seconds.append(time.perf_counter() - started)
        accuracies.append(head_accuracy(pool, test_x, test_y))
    return {"setup_seconds": setup, "round_seconds": seconds, "accuracy_per_round": accuracies, "blocks": blocks,
            "nodes": len(pool.servers), "chain_length": len(pool.blockchain.chain)}


if __name__ == "__main__":
    path, consensus, *numbers = sys.argv[1:]
    print(json.dumps(main(path, consensus, *map(int, numbers))))
