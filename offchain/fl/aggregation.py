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


def krum_scores(stacked: torch.Tensor, f: int) -> torch.Tensor:
    """Krum's score of every row (Blanchard et al., 2017): the sum of squared distances to its
    ``n - f - 2`` nearest other rows, at least one and at most ``n - 1`` (a single row scores 0).

    Distances are taken after centring the rows on their mean (they do not change, and the
    Gram-matrix form then loses no precision to the rows' common part).
    """
    n = stacked.shape[0]
    if f < 0:
        raise PoflValueError(f"f (the number of Byzantine clients) must be >= 0, got {f}")
    if n == 1:
        return stacked.new_zeros(1)
    centred = stacked - stacked.mean(dim=0)
    sq = (centred * centred).sum(dim=1)
    gram = centred @ centred.T
    distances = (sq[:, None] + sq[None, :] - (gram + gram.T)).clamp_(min=0.0)  # exactly symmetric: fair ties
    distances.fill_diagonal_(float("inf"))
    k = min(max(n - f - 2, 1), n - 1)
    return distances.sort(dim=1).values[:, :k].sum(dim=1)


def multi_krum_flat(stacked: torch.Tensor, f: int = 1, m: int | None = None) -> torch.Tensor:
    """Multi-Krum: the mean of the ``m`` rows of lowest Krum score (default ``n - f``, at least one);
    ties go to the lower index. ``m = 1`` is Krum."""
    n = stacked.shape[0]
    m = max(n - f, 1) if m is None else min(m, n)
    if m < 1:
        raise PoflValueError(f"m (the number of rows Multi-Krum keeps) must be >= 1, got {m}")
    chosen = torch.sort(krum_scores(stacked, f), stable=True).indices[:m]
    return stacked[chosen].mean(dim=0)


def krum_flat(stacked: torch.Tensor, f: int = 1) -> torch.Tensor:
    """Krum: the row of lowest Krum score (ties: the lower index)."""
    return multi_krum_flat(stacked, f, 1)


def norm_clipped_mean_flat(stacked: torch.Tensor, reference: torch.Tensor, max_norm: float | None = None,
                           ) -> torch.Tensor:
    """Mean of the updates ``stacked - reference``, each scaled down to L2 norm at most ``max_norm``
    (default: the median of the updates' norms), added to ``reference``."""
    updates = stacked - reference
    norms = updates.norm(dim=1)
    bound = norms.median() if max_norm is None else torch.as_tensor(max_norm, dtype=norms.dtype)
    if float(bound) < 0:
        raise PoflValueError(f"max_norm must be >= 0, got {max_norm}")
    scale = torch.where(norms > bound, bound / norms.clamp(min=torch.finfo(norms.dtype).tiny), 1.0)
    return reference + (updates * scale[:, None]).mean(dim=0)


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
