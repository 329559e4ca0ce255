"""Which clients train in a round: a pure function of the run's seed and the round number.

Every miner computes the same global draw (the notebook's ``pool.clients.select(20)``) and
trains the drawn clients that belong to it, so one-process and many-process runs agree.
"""

from __future__ import annotations

import numpy as np


def select_clients(seed: int, round_id: int, n_clients: int, k: int) -> np.ndarray:
    """``k`` distinct client ids drawn for ``round_id``, sorted."""
    rng = np.random.default_rng([seed, round_id])
    return np.sort(rng.choice(n_clients, size=min(k, n_clients), replace=False))


def parse_clients(spec: str, owners: np.ndarray) -> np.ndarray:
    """Client ids from ``"i/N"`` (miner i of N under the run's seeded assignment) or ``"0-99,120"``."""
    if "/" in spec:
        index, _, total = spec.partition("/")
        i, n = int(index), int(total)
        if not 0 <= i < n or n != int(owners.max()) + 1:
            raise ValueError(f"--clients {spec!r}: need i/N with 0 <= i < N and N = the run's miner count "
                             f"({int(owners.max()) + 1})")
        return np.flatnonzero(owners == i)
    ids: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        ids.extend(range(int(lo), int(hi or lo) + 1))
    out = np.unique(np.array(ids, dtype=np.int64))
    if len(out) == 0 or out.min() < 0 or out.max() >= len(owners):
        raise ValueError(f"--clients {spec!r}: ids must lie within 0..{len(owners) - 1}")
    return out
