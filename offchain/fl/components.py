"""Options of a component class (an aggregator, an attack) given as ``name=number`` pairs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from offchain.errors import ConfigError


def option_names(cls: type) -> list[str]:
    """The options a dataclass component takes: its fields, in order."""
    return [f.name for f in dataclasses.fields(cls)]


def build(cls: type, options: Mapping[str, Any]) -> Any:
    """``cls(**options)``, an integral number given for an ``int`` field passed as an int (options
    arrive from the command line as numbers)."""
    types = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    return cls(**{k: int(v) if types[k].startswith("int") and isinstance(v, float) and v.is_integer() else v
                  for k, v in options.items()})


def parse_options(pairs: tuple[str, ...] | list[str], flag: str) -> dict[str, float]:
    """``("beta=0.2", "f=2")`` -> ``{"beta": 0.2, "f": 2.0}``; anything else is a ConfigError naming ``flag``."""
    out: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            out[key.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"{flag} {pair!r}: expected NAME=NUMBER, e.g. {flag} beta=0.2") from None
    return out
