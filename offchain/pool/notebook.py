"""The flexBlock MNIST notebooks' own functions (their model, client training, weights and evaluation), for the
examples (``scripts/pofl_mnist_example.py``, ``pow_...``, ``pos_...``) and ``pofl run --consensus pow|pos``: an
MLP 784-128-10 (the notebook's SimpleNet) with Adam, one local epoch in batches of 20, FedAvg. Without
torchvision (it does not import beside the CPU torch wheel) the transforms are the package's own."""

from __future__ import annotations

import copy

import torch
from torch.utils.data import DataLoader

try:
    from torchvision import transforms
except ImportError:  # torchvision does not import beside the CPU torch wheel: the package's own
    from offchain import transforms  # type: ignore[no-redef]
from offchain.data import Dataset
from offchain.fl.architectures import SimpleNet
from offchain.model import FlexModel
from offchain.pool.decorators import (
    deploy_miner_model,
    init_server_model,
    send_weights_to_miner,
    set_aggregated_weights,
)

BATCH_SIZE = 20
mnist_transforms = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])


def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


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
    """One local epoch on the client's own data."""
    loader = DataLoader(client_data.to_torchvision_dataset(transform=mnist_transforms), batch_size=BATCH_SIZE)
    model = client_flex_model["model"].train().to(device())
    optimizer = client_flex_model["optimizer_func"](model.parameters(), **client_flex_model["optimizer_kwargs"])
    criterion = client_flex_model["criterion"]
    for imgs, labels in loader:
        optimizer.zero_grad()
        criterion(model(imgs.to(device())), labels.to(device())).backward()
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
    model = server_flex_model["model"].eval().to(device())
    loader = DataLoader(test_data.to_torchvision_dataset(transform=mnist_transforms), batch_size=256)
    correct = total = 0
    with torch.no_grad():
        for data, target in loader:
            pred = model(data.to(device())).argmax(1)
            correct += int((pred == target.to(device())).sum())
            total += len(target)
    return correct / total
