"""Local client training as the flexBlock notebook does it, and a fast path for many clients.

The notebook's recipe: Adam (default lr 1e-3), batch 20, one local epoch, batches in the
client's sample order (a DataLoader without shuffling), CrossEntropyLoss on the model's
log_softmax output, inputs normalised as (x/255 - 0.5)/0.5.

:func:`train_client` is that recipe for one client, with torch.optim.Adam. :func:`train_clients`
trains many clients at once: their parameters are stacked as a ``(clients, P)`` tensor, one
``torch.func.vmap(grad(...))`` over ``functional_call`` computes every client's gradient per
step, and a functional Adam (the same update as torch.optim.Adam) keeps per-client moments.
Clients of unequal size are padded: padded samples are masked out of the loss, and a client
whose batches are used up keeps its parameters and moments unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from offchain.fl.config import TrainConfig


def normalize(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float in [-1, 1], the notebook's Normalize((0.5,), (0.5,)) after ToTensor()."""
    return (images_u8.float() / 255.0 - 0.5) / 0.5


class DeviceDataset:
    """Training images (uint8, flattened) and labels, on the training device once."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, device: torch.device) -> None:
        self.images = torch.from_numpy(np.array(images, dtype=np.uint8).reshape(len(images), -1)).to(device)
        self.labels = torch.from_numpy(np.array(labels, dtype=np.int64)).to(device)
        self.device = device

    @classmethod
    def of_tensors(cls, images: torch.Tensor, labels: torch.Tensor) -> DeviceDataset:
        """A dataset of (N, D) uint8 images and (N,) labels already on their device, without a copy."""
        dataset = cls.__new__(cls)
        dataset.images, dataset.labels, dataset.device = images, labels, images.device
        return dataset


class FlatParams:
    """A model's parameters as one flat vector: layout by sorted name, as in the aggregation."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        state = module.state_dict()
        self.layout = [(name, state[name].shape) for name in sorted(state)]
        self.numel = sum(shape.numel() for _, shape in self.layout)

    def flatten(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([state[name].reshape(-1).float() for name, _ in self.layout])

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of one (P,) vector as named tensors."""
        return {name: t.view(shape) for (name, shape), t in zip(self.layout, self._split(flat), strict=True)}

    def unflatten_rows(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of (R, P) rows as named (R, *shape) tensors."""
        return {name: t.reshape(len(flat), *shape)
                for (name, shape), t in zip(self.layout, self._split(flat), strict=True)}

    def flatten_rows(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        """Named (R, *shape) tensors as (R, P) rows."""
        return torch.cat([tensors[name].reshape(len(tensors[name]), -1) for name, _ in self.layout], dim=1)

    def _split(self, flat: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return torch.split(flat, [shape.numel() for _, shape in self.layout], dim=-1)


@dataclass(frozen=True)
class BatchPlan:
    """Per client and step: the sample indices of its batch (padded), their mask, and whether it steps."""

    index: torch.Tensor  # (C, S, B) int64
    mask: torch.Tensor  # (C, S, B) float32
    active: torch.Tensor  # (C, S) bool

    @property
    def steps(self) -> int:
        return int(self.index.shape[1])


def make_plan(clients: list[np.ndarray], config: TrainConfig, device: torch.device) -> BatchPlan:
    """Sequential batches of ``batch_size`` over each client's samples, ``epochs`` times."""
    b = config.batch_size
    per_client = [math.ceil(len(c) / b) * config.epochs for c in clients]
    steps = max(per_client, default=0)
    index = np.zeros((len(clients), steps, b), dtype=np.int64)
    mask = np.zeros((len(clients), steps, b), dtype=np.float32)
    for ci, samples in enumerate(clients):
        if len(samples) == 0:
            continue
        one_epoch = math.ceil(len(samples) / b)
        padded = np.zeros(one_epoch * b, dtype=np.int64)
        padded[:len(samples)] = samples
        valid = np.zeros(one_epoch * b, dtype=np.float32)
        valid[:len(samples)] = 1.0
        for e in range(config.epochs):
            index[ci, e * one_epoch:(e + 1) * one_epoch] = padded.reshape(one_epoch, b)
            mask[ci, e * one_epoch:(e + 1) * one_epoch] = valid.reshape(one_epoch, b)
    index_t = torch.from_numpy(index).to(device)
    mask_t = torch.from_numpy(mask).to(device)
    return BatchPlan(index_t, mask_t, mask_t.sum(dim=2) > 0)


def train_clients(flat: FlatParams, start: torch.Tensor, data: DeviceDataset, plan: BatchPlan,
                  config: TrainConfig) -> torch.Tensor:
    """Train every client from its row of ``start`` (C, P); returns the trained (C, P) parameters.

    Clients are processed longest first, so that at every step the clients still training
    are a prefix of the rows: the fused Adam kernel then updates one contiguous slice per
    tensor, and finished clients are left exactly as they were.
    """
    if plan.steps == 0 or len(start) == 0:
        return start.clone()
    module = flat.module
    n_classes = int(data.labels.max()) + 1
    steps_of = plan.active.sum(dim=1)
    order = torch.argsort(steps_of, descending=True, stable=True)
    active_count = [int((steps_of > s).sum()) for s in range(plan.steps)]
    params = {name: t.contiguous() for name, t in flat.unflatten_rows(start[order]).items()}
    names = sorted(params)
    exp_avg = {n: torch.zeros_like(params[n]) for n in names}
    exp_avg_sq = {n: torch.zeros_like(params[n]) for n in names}
    step = [torch.zeros((), device=start.device) for _ in names]
    index, mask = plan.index[order], plan.mask[order]

    def loss(p: dict[str, torch.Tensor], x: torch.Tensor, y1h: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        logp = torch.log_softmax(functional_call(module, p, (x,)), dim=1)
        # CrossEntropyLoss on the model's log_softmax output: log_softmax is idempotent, so this is it.
        return -((logp * y1h).sum(dim=1) * m).sum() / m.sum().clamp(min=1.0)

    grads_of = vmap(grad(loss))
    beta1, beta2 = config.betas
    for s in range(plan.steps):
        k = active_count[s]
        idx = index[:k, s]
        batch = {n: params[n][:k] for n in names}
        g = grads_of(batch, normalize(data.images[idx]), F.one_hot(data.labels[idx], n_classes).float(),
                     mask[:k, s])
        for st in step:
            st.fill_(s + 1)  # a client steps on a prefix of the steps: its Adam step count is s + 1
        torch._fused_adam_([batch[n] for n in names], [g[n] for n in names], [exp_avg[n][:k] for n in names],
                           [exp_avg_sq[n][:k] for n in names], [], step, amsgrad=False, lr=config.lr,
                           beta1=beta1, beta2=beta2, weight_decay=0.0, eps=config.eps, maximize=False)
    trained = flat.flatten_rows(params)
    out = torch.empty_like(trained)
    out[order] = trained
    return out


def train_one(flat: FlatParams, start: torch.Tensor, data: DeviceDataset, samples: np.ndarray,
              config: TrainConfig) -> torch.Tensor:
    """One client's local training from ``start`` (P,) on its ``samples`` of ``data``: the fast path of
    :func:`train_clients` for one client (a Flower ClientApp trains this way, by the same rule as the in-process
    engine); the trained (P,) parameters."""
    return train_clients(flat, start[None], data, make_plan([np.asarray(samples)], config, start.device), config)[0]


def train_client(model: nn.Module, data: DeviceDataset, samples: np.ndarray, config: TrainConfig) -> nn.Module:
    """The notebook's loop for one client, in place on ``model`` (torch.optim.Adam, sequential batches)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas, eps=config.eps)
    criterion = nn.CrossEntropyLoss()
    model.train()
    idx = torch.from_numpy(np.asarray(samples, dtype=np.int64)).to(data.device)
    for _ in range(config.epochs):
        for start in range(0, len(idx), config.batch_size):
            batch = idx[start:start + config.batch_size]
            optimizer.zero_grad()
            loss = criterion(model(normalize(data.images[batch])), data.labels[batch])
            loss.backward()
            optimizer.step()
    return model
