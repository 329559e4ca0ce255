"""The torchvision transforms the flexBlock notebook uses, for machines without torchvision.

torchvision does not import beside this project's CPU torch wheel, so the notebook's
``from torchvision import transforms`` can read ``from offchain import transforms`` instead (the
shipped example falls back to it by itself). Same arithmetic: ToTensor maps an H x W uint8 array
to a 1 x H x W float tensor in [0, 1]; Normalize subtracts the mean and divides by the std per
channel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch


class Compose:
    def __init__(self, steps: Sequence[Callable[[Any], Any]]) -> None:
        self.steps = list(steps)

    def __call__(self, x: Any) -> Any:
        for step in self.steps:
            x = step(x)
        return x


class ToTensor:
    def __call__(self, image: np.ndarray) -> torch.Tensor:
        array = np.asarray(image)
        if array.ndim == 2:
            array = array[:, :, None]
        return torch.from_numpy(array.transpose(2, 0, 1).copy()).float().div(255)


class Normalize:
    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        return (tensor - self.mean) / self.std


__all__ = ["Compose", "Normalize", "ToTensor"]
