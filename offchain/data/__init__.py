"""flex's data containers: a client's ``Dataset`` and a federation of them, ``FedDataset``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch.utils.data

from offchain.errors import PoflValueError
from offchain.fl.images import LabeledImages


class _TorchView(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """(transform(image), label) pairs; the image as an H x W uint8 array, as torchvision's ToTensor expects."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Callable[[Any], Any] | None,
                 target_transform: Callable[[Any], Any] | None) -> None:
        self.images, self.labels = images, labels
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        x: Any = self.images[i]
        y: Any = int(self.labels[i])
        return (self.transform(x) if self.transform else x), (self.target_transform(y) if self.target_transform else y)


class Dataset:
    """Images (uint8, N x H x W) and labels of one client, or of an evaluation set."""

    def __init__(self, X_data: np.ndarray, y_data: np.ndarray) -> None:
        self.X_data = np.asarray(X_data)
        self.y_data = np.asarray(y_data)
        if len(self.X_data) != len(self.y_data):
            raise PoflValueError(f"{len(self.X_data)} images but {len(self.y_data)} labels")

    @classmethod
    def from_labeled(cls, data: LabeledImages) -> Dataset:
        return cls(data.images, data.labels)

    def __len__(self) -> int:
        return len(self.y_data)

    def to_labeled(self) -> LabeledImages:
        return LabeledImages(np.ascontiguousarray(self.X_data, dtype=np.uint8), self.y_data.astype(np.int64))

    def to_torchvision_dataset(self, transform: Callable[[Any], Any] | None = None,
                               target_transform: Callable[[Any], Any] | None = None) -> torch.utils.data.Dataset:  # type: ignore[type-arg]
        """A torch Dataset of (transform(image), label), as flex's method of the same name."""
        return _TorchView(self.X_data, self.y_data, transform, target_transform)


class FedDataset(Mapping[str, Dataset]):
    """Client id -> that client's Dataset."""

    def __init__(self, clients: Mapping[str, Dataset]) -> None:
        self._clients = dict(clients)

    def __getitem__(self, client_id: str) -> Dataset:
        return self._clients[client_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)
