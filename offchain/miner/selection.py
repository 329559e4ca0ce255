"""Which clients a miner leads and trains.

Every miner computes the same global draw of a round's clients (``select_clients``, a pure
function of the run's seed and the round) and trains the drawn clients that belong to it, so
one-process and many-process runs agree.
"""

from __future__ import annotations

import numpy as np

from offchain.errors import PoflValueError
from offchain.fl.federation import select_clients

__all__ = ["parse_clients", "select_clients"]


def parse_clients(spec: str, owners: np.ndarray) -> np.ndarray:
    """Client ids from ``"i/N"`` (miner i of N under the run's seeded assignment) or ``"0-99,120"``."""
    if "/" in spec:
        index, _, total = spec.partition("/")
        i, n = int(index), int(total)
        if not 0 <= i < n or n != int(owners.max()) + 1:
            raise PoflValueError(f"--clients {spec!r}: need i/N with 0 <= i < N and N = the run's miner count "
                             f"({int(owners.max()) + 1})")
        return np.flatnonzero(owners == i)
    ids: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        ids.extend(range(int(lo), int(hi or lo) + 1))
    out = np.unique(np.array(ids, dtype=np.int64))
    if len(out) == 0 or out.min() < 0 or out.max() >= len(owners):
        raise PoflValueError(f"--clients {spec!r}: ids must lie within 0..{len(owners) - 1}")
    return out
