"""Model architectures, each known by an architecture id that the store and the contract refer to."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from offchain.errors import PoflValueError


class SimpleNet(nn.Module):
    """The flexBlock notebook's MLP: 784-128-10, ReLU, log_softmax."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


class SmallCNN(nn.Module):
    """A small convolutional net for 28x28 digits: conv(1->16) - conv(16->32) - fc(1568->10)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 7 * 7, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, 1, 28, 28)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.log_softmax(self.fc(x.flatten(1)), dim=1)


ARCHITECTURES: dict[str, Callable[[], nn.Module]] = {"simplenet": SimpleNet, "cnn": SmallCNN}


def build_model(name: str) -> nn.Module:
    """A freshly initialised model of architecture ``name`` (see :data:`ARCHITECTURES`)."""
    try:
        return ARCHITECTURES[name]()
    except KeyError:
        raise PoflValueError(f"unknown architecture {name!r}: choose one of {sorted(ARCHITECTURES)}") from None


def tensor_spec(model: nn.Module) -> dict[str, tuple[list[int], str]]:
    """Name -> (shape, dtype) of every tensor in the model's state dict, sorted by name."""
    state = model.state_dict()
    return {k: (list(state[k].shape), str(state[k].dtype).removeprefix("torch.")) for k in sorted(state)}


def architecture_id(name: str) -> bytes:
    """32-byte id of an architecture: sha256 of its name and tensor spec (names, shapes, dtypes)."""
    spec = {"architecture": name, "tensors": tensor_spec(build_model(name))}
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).digest()


def architecture_named(arch_id: bytes) -> str | None:
    """The registered architecture whose :func:`architecture_id` is ``arch_id`` (as a contract records it), or None."""
    return next((name for name in ARCHITECTURES if architecture_id(name) == arch_id), None)


def register_architecture(name: str, factory: Callable[[], nn.Module]) -> str:
    """Make a user's architecture known by ``name`` (for ids, safe loading and verification)."""
    existing = ARCHITECTURES.get(name)
    if existing is not None and tensor_spec(existing()) != tensor_spec(factory()):
        raise PoflValueError(f"architecture {name!r} is already registered with other tensors")
    ARCHITECTURES[name] = factory
    return name


def architecture_for(module: nn.Module) -> str:
    """The registered name of a module's architecture: a built-in one when the tensors match
    (the notebook's SimpleNet is ``simplenet``), else the module's class, registered."""
    spec = tensor_spec(module)
    for name, factory in ARCHITECTURES.items():
        if tensor_spec(factory()) == spec:
            return name
    template = copy.deepcopy(module).cpu()
    return register_architecture(f"custom:{type(module).__name__}", lambda: copy.deepcopy(template))
