"""How a miner combines its clients' models: pure rules, and one small aggregator class per idea.

The rules are pure functions. Each has a flat form over a stacked ``(n_clients, n_params)``
tensor (what the fast path holds) and a state-dict form over a list of state dicts (what users
hold); the latter stacks and calls the former.

The aggregators are what a run names (``--aggregator``). As Flower's strategies, each is a small
class whose constructor takes the rule's parameters (documented on its fields) and whose
:meth:`Aggregator.aggregate` maps a miner's stacked client models ``(n, P)`` — the batched fast
path's rows — to the miner's model ``(P,)``. :data:`AGGREGATORS` is the registry the command
line's choices come from; :func:`make_aggregator` builds one by name and options and turns a bad
name, option or value into a :class:`~offchain.errors.ConfigError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from offchain.errors import ConfigError, PoflValueError
from offchain.fl.components import build, option_names

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


@dataclass(frozen=True)
class Aggregator(ABC):
    """One pool's rule. ``models``: (n, P) client models; ``weights``: (n,) sample counts;
    ``start``: (P,) the model every client of the pool started from."""

    name: ClassVar[str]

    @abstractmethod
    def aggregate(self, models: torch.Tensor, weights: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        ...

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ConfigError for a parameter outside its range (no parameters: nothing to check)."""
        return None


@dataclass(frozen=True)
class _OfModels(Aggregator):
    """A parameterless rule of the client models alone."""

    rule: ClassVar[Callable[[torch.Tensor], torch.Tensor]]

    def aggregate(self, models: torch.Tensor, weights: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        return type(self).rule(models)


@dataclass(frozen=True)
class FedAvg(_OfModels):
    """Uniform mean of the client models (flex's fed_avg)."""

    name = "fedavg"
    rule = staticmethod(fed_avg_flat)


@dataclass(frozen=True)
class Median(_OfModels):
    """Coordinate-wise median."""

    name = "median"
    rule = staticmethod(median_flat)


@dataclass(frozen=True)
class WeightedFedAvg(Aggregator):
    """Mean weighted by the clients' sample counts (McMahan et al., 2017)."""

    name = "weighted"

    def aggregate(self, models: torch.Tensor, weights: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        return weighted_fed_avg_flat(models, weights)


@dataclass(frozen=True)
class TrimmedMean(Aggregator):
    """Coordinate-wise mean without the ``beta`` share of largest and of smallest values."""

    name = "trimmed"
    beta: float = field(default=0.1, metadata={"help": "share trimmed at each end, in [0, 0.5)"})

    def check(self) -> None:
        if not 0 <= self.beta < 0.5:
            raise ConfigError(f"--aggregator trimmed: beta must be in [0, 0.5), got {self.beta}")

    def aggregate(self, models: torch.Tensor, weights: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        return trimmed_mean_flat(models, self.beta)


@dataclass(frozen=True)
class MultiKrum(Aggregator):
    """Mean of the ``m`` client models of lowest Krum score (El Mhamdi et al., 2018)."""

    name = "multikrum"
    f: int = field(default=1, metadata={"help": "Byzantine clients assumed per pool (KFC: one per pool)"})
    m: int | None = field(default=None, metadata={"help": "models kept (default n - f)"})

    def check(self) -> None:
        if self.f < 0 or self.f != int(self.f):
            raise ConfigError(f"--aggregator {self.name}: f must be an integer >= 0, got {self.f}")
        if self.m is not None and (self.m < 1 or self.m != int(self.m)):
            raise ConfigError(f"--aggregator {self.name}: m must be an integer >= 1, got {self.m}")

    def aggregate(self, models: torch.Tensor, weights: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        return multi_krum_flat(models, int(self.f), None if self.m is None else int(self.m))


@dataclass(frozen=True)
class Krum(MultiKrum):
    """The client model of lowest Krum score (Blanchard et al., 2017)."""

    name = "krum"
    m: int | None = field(default=1, metadata={"help": "always 1"})

    def check(self) -> None:
        super().check()
        if self.m != 1:
            raise ConfigError(f"--aggregator krum keeps one model (m=1); use multikrum for m={self.m}")


@dataclass(frozen=True)
class NormClipping(Aggregator):
    """Mean of the client updates, each clipped to L2 norm ``max_norm``, added to the start model."""

    name = "clip"
    max_norm: float | None = field(default=None, metadata={"help": "clipping bound (default: the median norm)"})

    def check(self) -> None:
        if self.max_norm is not None and not self.max_norm > 0:
            raise ConfigError(f"--aggregator clip: max_norm must be > 0, got {self.max_norm}")

    def aggregate(self, models: torch.Tensor, weights: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        return norm_clipped_mean_flat(models, start, self.max_norm)


AGGREGATORS: dict[str, type[Aggregator]] = {
    cls.name: cls for cls in (FedAvg, WeightedFedAvg, Median, TrimmedMean, Krum, MultiKrum, NormClipping)}


def make_aggregator(name: str, options: Mapping[str, float] | None = None) -> Aggregator:
    """The aggregator ``name`` with ``options`` (its fields, e.g. ``{"beta": 0.2}``)."""
    cls = AGGREGATORS.get(name)
    if cls is None:
        raise ConfigError(f"--aggregator: unknown aggregator {name!r}; choose one of {', '.join(AGGREGATORS)}")
    unknown = sorted(set(options or {}) - set(option_names(cls)))
    if unknown:
        raise ConfigError(f"--aggregator-option {unknown[0]!r} does not apply to {name}: its options are "
                          f"{', '.join(option_names(cls)) or 'none'}")
    return build(cls, options or {})  # type: ignore[no-any-return]
