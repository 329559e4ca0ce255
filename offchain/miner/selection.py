"""Which clients a miner leads and trains.

Every miner computes the same global draw of a round's clients (``select_clients``, a pure
function of the run's seed and the round) and trains the drawn clients that belong to it, so
one-process and many-process runs agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from offchain.errors import ConfigError
from offchain.fl.federation import select_clients

__all__ = ["ClientSpec", "parse_client_spec", "parse_clients", "select_clients"]


@dataclass(frozen=True)
class ClientSpec:
    """A miner's clients as ``--clients`` gives them: a share ``i/N`` (miner i of N under the run's seeded
    assignment) or explicit client numbers."""

    text: str
    share: tuple[int, int] | None = None
    ids: tuple[int, ...] = ()

    def clients(self, owners: np.ndarray) -> np.ndarray:
        """The client numbers, checked against the run's assignment ``owners`` (client -> miner)."""
        if self.share is not None:
            i, n = self.share
            miners = int(owners.max()) + 1
            if n != miners:
                raise ConfigError(f"--clients {self.text}: the run has {miners} miners, not {n}")
            return np.flatnonzero(owners == i)
        out = np.array(self.ids, dtype=np.int64)
        if out.max() >= len(owners):
            raise ConfigError(f"--clients {self.text}: client numbers must lie within 0..{len(owners) - 1}")
        return out


def parse_client_spec(text: str) -> ClientSpec:
    """``"i/N"`` or ``"0-99,150"`` as a :class:`ClientSpec`; anything else is a ConfigError naming --clients."""
    text = text.strip()
    share = re.fullmatch(r"(\d+)/(\d+)", text)
    if share:
        i, n = int(share.group(1)), int(share.group(2))
        if not 0 <= i < n:
            raise ConfigError(f"--clients {text}: i/N needs 0 <= i < N (miner i of N)")
        return ClientSpec(text, share=(i, n))
    ids: set[int] = set()
    for part in text.split(","):
        bounds = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not bounds:
            raise ConfigError(f"--clients {text!r} is neither i/N (e.g. 0/3) nor a list of client numbers "
                              f"(e.g. 0-99,150)")
        lo = int(bounds.group(1))
        hi = int(bounds.group(2)) if bounds.group(2) is not None else lo
        if hi < lo:
            raise ConfigError(f"--clients {text}: the range {part.strip()} runs backwards")
        ids.update(range(lo, hi + 1))
    return ClientSpec(text, ids=tuple(sorted(ids)))


def parse_clients(spec: str, owners: np.ndarray) -> np.ndarray:
    """Client ids from ``"i/N"`` (miner i of N under the run's seeded assignment) or ``"0-99,120"``."""
    return parse_client_spec(spec).clients(owners)
