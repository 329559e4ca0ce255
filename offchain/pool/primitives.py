"""flex's aggregation primitive over the weights miners collect (lists of tensors per client)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from offchain.errors import PoflValueError
from offchain.fl.aggregation import fed_avg_flat


def fed_avg(client_weights: Sequence[Sequence[torch.Tensor]]) -> list[torch.Tensor]:
    """Uniform FedAvg (flex's ``fed_avg``): position-wise mean of the clients' weight lists."""
    if not client_weights:
        raise PoflValueError("nothing to aggregate: the miner collected no client weights")
    n = len(client_weights[0])
    if any(len(w) != n for w in client_weights):
        raise PoflValueError("clients sent weight lists of different lengths")
    averaged = []
    for i in range(n):
        stacked = torch.stack([w[i].detach().float().cpu() for w in client_weights])
        averaged.append(fed_avg_flat(stacked).to(client_weights[0][i].dtype))
    return averaged
