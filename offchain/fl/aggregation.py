"""Aggregation rules: pure functions over client models.

Each rule has a flat form over a stacked ``(n_clients, n_params)`` tensor (what the fast
path holds) and a state-dict form over a list of state dicts (what users hold); the latter
stacks and calls the former.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from offchain.errors import PoflValueError

StateDict = Mapping[str, torch.Tensor]


def fed_avg_flat(stacked: torch.Tensor) -> torch.Tensor:
    """Uniform FedAvg (flex's ``fed_avg``): the mean over clients."""
    return stacked.mean(dim=0)


def weighted_fed_avg_flat(stacked: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """FedAvg weighted by ``weights`` (e.g. sample counts); weights need not sum to one."""
    weights = torch.as_tensor(weights, dtype=stacked.dtype, device=stacked.device)
    if weights.shape != stacked.shape[:1] or bool((weights < 0).any()) or float(weights.sum()) <= 0:
        raise PoflValueError("weights must be non-negative, one per client, and not all zero")
    return (weights / weights.sum()) @ stacked


def median_flat(stacked: torch.Tensor) -> torch.Tensor:
    """Coordinate-wise median (for an even count, the mean of the two middle values)."""
    return torch.quantile(stacked, 0.5, dim=0) if stacked.shape[0] % 2 == 0 else stacked.median(dim=0).values


def trimmed_mean_flat(stacked: torch.Tensor, trim_ratio: float = 0.1) -> torch.Tensor:
    """Coordinate-wise mean after dropping the ``trim_ratio`` largest and smallest values."""
    if not 0 <= trim_ratio < 0.5:
        raise PoflValueError(f"trim_ratio must be in [0, 0.5), got {trim_ratio}")
    n = stacked.shape[0]
    k = int(n * trim_ratio)
    ordered = stacked.sort(dim=0).values
    return ordered[k:n - k].mean(dim=0)


def stack_states(states: Sequence[StateDict]) -> tuple[torch.Tensor, list[tuple[str, torch.Size]]]:
    """States as one (n, P) tensor, and the (name, shape) layout to undo it."""
    if not states:
        raise PoflValueError("nothing to aggregate: no client models")
    names = sorted(states[0])
    for s in states[1:]:
        if sorted(s) != names or any(s[k].shape != states[0][k].shape for k in names):
            raise PoflValueError("client models differ in tensor names or shapes")
    layout = [(k, states[0][k].shape) for k in names]
    return torch.stack([torch.cat([s[k].reshape(-1).float() for k in names]) for s in states]), layout


def unstack_state(flat: torch.Tensor, layout: list[tuple[str, torch.Size]]) -> dict[str, torch.Tensor]:
    out, start = {}, 0
    for name, shape in layout:
        n = shape.numel()
        out[name] = flat[start:start + n].reshape(shape).clone()
        start += n
    return out


def _over_states(rule: Callable[..., torch.Tensor]) -> Callable[..., dict[str, torch.Tensor]]:
    def apply(states: Sequence[StateDict], *args: object) -> dict[str, torch.Tensor]:
        stacked, layout = stack_states(states)
        return unstack_state(rule(stacked, *args), layout)

    apply.__doc__ = f"{rule.__doc__} Over a list of state dicts."
    return apply


fed_avg = _over_states(fed_avg_flat)
weighted_fed_avg = _over_states(weighted_fed_avg_flat)
coordinate_median = _over_states(median_flat)
trimmed_mean = _over_states(trimmed_mean_flat)
