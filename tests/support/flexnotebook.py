"""A flexBlock notebook's functions, small: the MLP miners build, a client's local epoch on its own images, the
weights a client sends, and the decorators that route them (for the PoW and PoS pool tests)."""

from __future__ import annotations

import copy

import torch

from offchain.data import Dataset, FedDataset
from offchain.fl.architectures import SimpleNet
from offchain.fl.mnist import load_mnist
from offchain.model import FlexModel
from offchain.pool import deploy_miner_model, init_server_model, send_weights_to_miner, set_aggregated_weights


@init_server_model
def build_server_model() -> FlexModel:
    model = FlexModel()
    model["model"] = SimpleNet()
    return model


@deploy_miner_model
def copy_server_model_to_clients(server: FlexModel) -> FlexModel:
    return copy.deepcopy(server)


def train(client: FlexModel, data: Dataset) -> None:
    model = client["model"].train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.tensor(data.X_data, dtype=torch.float32) / 255.0
    y = torch.tensor(data.y_data, dtype=torch.long)
    optimizer.zero_grad()
    torch.nn.functional.nll_loss(model(x), y).backward()
    optimizer.step()


@send_weights_to_miner
def get_clients_weights(client: FlexModel) -> list[torch.Tensor]:
    return [t.detach().clone() for t in client["model"].state_dict().values()]


@set_aggregated_weights
def set_aggregated_weights_to_server(server: FlexModel, weights: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for current, new in zip(server["model"].state_dict().values(), weights, strict=True):
            current.copy_(new)


def small_federation(n_clients: int, per_client: int = 10) -> FedDataset:
    """``n_clients`` clients of ``per_client`` MNIST test images each."""
    test = Dataset.from_labeled(load_mnist("test"))
    return FedDataset({f"c{i}": Dataset(test.X_data[i * per_client:(i + 1) * per_client],
                                         test.y_data[i * per_client:(i + 1) * per_client])
                       for i in range(n_clients)})


def state_list(model: FlexModel) -> list[torch.Tensor]:
    return [t.detach().cpu().clone() for t in model["model"].state_dict().values()]
