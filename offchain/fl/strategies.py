"""Pool aggregation strategies: how a miner combines its pool's client models, one class per idea.

As Flower's strategies, each is a small class whose constructor takes the rule's parameters
(documented on its fields) and whose :meth:`PoolAggregator.aggregate` maps the pool's stacked
client models ``(n, P)`` — the batched fast path's rows — to the pool's model ``(P,)``. The math
is in :mod:`offchain.fl.aggregation` (pure functions). :data:`AGGREGATORS` is the registry the
command line's choices come from; :func:`make_aggregator` builds one by name and options and
turns a bad name, option or value into a :class:`~offchain.errors.ConfigError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from offchain.errors import ConfigError
from offchain.fl import aggregation as agg
from offchain.fl.options import build, option_names


@dataclass(frozen=True)
class PoolAggregator(ABC):
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
class _OfModels(PoolAggregator):
    """A parameterless rule of the client models alone."""

    rule: ClassVar[Callable[[torch.Tensor], torch.Tensor]]

    def aggregate(self, models: torch.Tensor, weights: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        return type(self).rule(models)


@dataclass(frozen=True)
class FedAvg(_OfModels):
    """Uniform mean of the client models (flex's fed_avg)."""

    name = "fedavg"
    rule = staticmethod(agg.fed_avg_flat)


@dataclass(frozen=True)
class Median(_OfModels):
    """Coordinate-wise median."""

    name = "median"
    rule = staticmethod(agg.median_flat)


@dataclass(frozen=True)
class WeightedFedAvg(PoolAggregator):
    """Mean weighted by the clients' sample counts (McMahan et al., 2017)."""

    name = "weighted"

    def aggregate(self, models: torch.Tensor, weights: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        return agg.weighted_fed_avg_flat(models, weights)


@dataclass(frozen=True)
class TrimmedMean(PoolAggregator):
    """Coordinate-wise mean without the ``beta`` share of largest and of smallest values."""

    name = "trimmed"
    beta: float = field(default=0.1, metadata={"help": "share trimmed at each end, in [0, 0.5)"})

    def check(self) -> None:
        if not 0 <= self.beta < 0.5:
            raise ConfigError(f"--aggregator trimmed: beta must be in [0, 0.5), got {self.beta}")

    def aggregate(self, models: torch.Tensor, weights: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        return agg.trimmed_mean_flat(models, self.beta)


@dataclass(frozen=True)
class MultiKrum(PoolAggregator):
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
        return agg.multi_krum_flat(models, int(self.f), None if self.m is None else int(self.m))


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
class NormClipping(PoolAggregator):
    """Mean of the client updates, each clipped to L2 norm ``max_norm``, added to the start model."""

    name = "clip"
    max_norm: float | None = field(default=None, metadata={"help": "clipping bound (default: the median norm)"})

    def check(self) -> None:
        if self.max_norm is not None and not self.max_norm > 0:
            raise ConfigError(f"--aggregator clip: max_norm must be > 0, got {self.max_norm}")

    def aggregate(self, models: torch.Tensor, weights: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        return agg.norm_clipped_mean_flat(models, start, self.max_norm)


AGGREGATORS: dict[str, type[PoolAggregator]] = {
    cls.name: cls for cls in (FedAvg, WeightedFedAvg, Median, TrimmedMean, Krum, MultiKrum, NormClipping)}


def make_aggregator(name: str, options: Mapping[str, float] | None = None) -> PoolAggregator:
    """The aggregator ``name`` with ``options`` (its fields, e.g. ``{"beta": 0.2}``)."""
    cls = AGGREGATORS.get(name)
    if cls is None:
        raise ConfigError(f"--aggregator: unknown aggregator {name!r}; choose one of {', '.join(AGGREGATORS)}")
    unknown = sorted(set(options or {}) - set(option_names(cls)))
    if unknown:
        raise ConfigError(f"--aggregator-option {unknown[0]!r} does not apply to {name}: its options are "
                          f"{', '.join(option_names(cls)) or 'none'}")
    return build(cls, options or {})  # type: ignore[no-any-return]
