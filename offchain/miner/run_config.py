"""``RunConfig``: everything the miners of one run must agree on, defined once.

The command line derives its run options from these fields (:mod:`offchain.cli.options`);
``pofl run --processes`` hands its child miners the same configuration as a JSON file
(:meth:`RunConfig.to_json` / :meth:`RunConfig.from_json`) instead of re-spelling it as flags.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.defaults import MAX_MINERS
from offchain.errors import ConfigError, PoflValueError
from offchain.fl.config import EngineConfig, TrainConfig
from offchain.jsonfile import json_object
from offchain.settings import setting

PARTITIONS = ("benchmark", "iid", "dirichlet", "shards")
MAX_SEED = 2**32 - 1


@functools.lru_cache(maxsize=16)
def _clients_in(path: Path, _mtime_ns: int) -> int:
    from offchain.fl.federation import from_file

    try:
        return from_file(path).n_clients
    except PoflValueError as exc:
        raise ConfigError(f"--partition {exc}") from None


@dataclass(frozen=True)
class RunConfig(EngineConfig):
    """The engine's rules plus the federation and the contract's timing, with the flexBlock
    notebook's values as defaults. Every value is checked when the object is made."""

    partition: str = setting("benchmark", "--partition",
                             "benchmark (the shipped Dirichlet(0.5) 1,000-client split), iid, dirichlet, shards, "
                             "or a federation .npz file.")
    n_clients: int = setting(1000, "--n-clients", "Clients of an iid/dirichlet/shards federation.")
    alpha: float = setting(0.5, "--alpha", "Dirichlet concentration of a dirichlet federation.")
    phase_seconds: int = setting(30, "--phase-seconds",
                                 "Phase deadline in seconds (phases close early when every miner has acted).")
    min_committee: int = setting(3, "--min-committee",
                                 "Fewest committee seats a validation may have (no block with fewer).")
    tolerance_bps: int = 100
    scaled: bool = False  # the scaled mode (PoFLScaled, docs/scaling.md): no cap on the number of miners

    def __post_init__(self) -> None:
        super().__post_init__()
        checks: list[tuple[bool, str]] = [
            (self.n_miners >= 2, f"--miners must be at least 2 (one miner claims, the others measure its model), "
                                 f"got {self.n_miners}"),
            (self.clients_per_round >= 1, f"--clients-per-round must be at least 1, got {self.clients_per_round}"),
            (0.0 <= self.threshold <= 1.0, f"--threshold must lie within [0, 1], got {self.threshold}"),
            (self.scaled or self.n_miners <= MAX_MINERS,
             f"--miners must be at most {MAX_MINERS} (the per-miner contract's cap; the scaled mode, "
             f"docs/scaling.md, has none), got {self.n_miners}"),
            (0 <= self.seed <= MAX_SEED, f"--seed must lie within [0, {MAX_SEED}], got {self.seed}"),
            (self.n_clients >= 1, f"--n-clients must be at least 1, got {self.n_clients}"),
            (self.alpha > 0, f"--alpha must be > 0, got {self.alpha}"),
            (self.phase_seconds >= 1, f"--phase-seconds must be at least 1, got {self.phase_seconds}"),
            (0 <= self.tolerance_bps <= 1000, f"tolerance_bps must lie within [0, 1000], got {self.tolerance_bps}"),
            (self.n_miners < 2 or 1 <= self.min_committee < self.n_miners,
             f"--min-committee must lie within [1, {self.n_miners - 1}] with --miners {self.n_miners} (the committee "
             f"is drawn among the claimant's fellow committers), got {self.min_committee}"),
            (self.train.lr > 0, f"--lr must be > 0, got {self.train.lr}"),
            (self.train.batch_size >= 1, f"--batch-size must be at least 1, got {self.train.batch_size}"),
            (self.train.epochs >= 1, f"--epochs must be at least 1, got {self.train.epochs}"),
            (self.partition in PARTITIONS or Path(self.partition).suffix == ".npz",
             f"--partition {self.partition!r}: not one of {PARTITIONS} and not a federation .npz file"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        clients = self.federation_clients()
        if self.clients_per_round > clients:
            raise ConfigError(f"--clients-per-round {self.clients_per_round} is more than the federation's "
                              f"{clients} clients")
        if self.n_miners > clients:
            raise ConfigError(f"--miners {self.n_miners} is more than the federation's {clients} clients: every "
                              f"miner leads at least one")

    def federation_clients(self) -> int:
        """How many clients the federation has (a federation file is read, and checked, to know)."""
        if self.partition in PARTITIONS and self.partition != "benchmark":
            return self.n_clients
        from offchain.fl.federation import BENCHMARK_FEDERATION

        path = BENCHMARK_FEDERATION if self.partition == "benchmark" else Path(self.partition)
        try:
            return _clients_in(path, path.stat().st_mtime_ns)
        except OSError as exc:
            raise ConfigError(f"--partition {self.partition}: cannot read it ({exc.strerror})") from None

    @property
    def fetch_timeout_s(self) -> float:
        """How long a validator waits for a candidate's model before measuring it 0: a third of a phase,
        within [2, 20] s, so that a withheld model cannot make honest votes miss the deadline."""
        return max(2.0, min(20.0, self.phase_seconds / 3))

    @property
    def commit_grace_s(self) -> int:
        """The contract's ``commitGrace``: seconds from a round's first commit before the commit phase may end
        early (every active miner committed), so that a miner back from a partition, which adopts each block
        a little after the others, still commits: a third of a phase, at most 5 s."""
        return min(self.phase_seconds // 3, 5)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "run configuration") -> RunConfig:
        """The configuration in ``text`` (from :meth:`to_json`); unknown or ill-typed keys are refused."""
        data = json_object(text, source, ConfigError)
        train = data.pop("train", {})
        return cls(**_checked(cls, data, source), train=TrainConfig(**_checked(TrainConfig, train, source)))

    @classmethod
    def read(cls, path: Path) -> RunConfig:
        try:
            return cls.from_json(path.read_text(), f"--config {path}")
        except OSError as exc:
            raise ConfigError(f"--config {path}: cannot read it ({exc.strerror})") from None


def _checked(cls: type, data: Any, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {cls.__name__} must be a JSON object")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known) - {"train"})
    if unknown:
        raise ConfigError(f"{source}: unknown settings {unknown}")
    out = {}
    for name, value in data.items():
        default = known[name].default
        if isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        expected = type(default) if default is not dataclasses.MISSING else None
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if (expected is not None and not isinstance(value, expected)) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{source}: {name} must be a {expected.__name__}, got {value!r}")  # type: ignore[union-attr]
        out[name] = value
    return out
