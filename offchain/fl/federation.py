"""Federations: which training samples each client owns, and which clients each miner leads.

A :class:`Federation` is two arrays, as in ``offchain/assets/federations/*.npz``: client ``i``
owns samples ``indices[offsets[i]:offsets[i+1]]``. Every partitioner is a pure function of
its inputs and seed.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offchain.errors import PoflValueError
from offchain.paths import DATA_DIR

FEDERATIONS_DIR = DATA_DIR / "federations"
BENCHMARK_FEDERATION = FEDERATIONS_DIR / "mnist_dir0.5_1000.npz"


@dataclass(frozen=True)
class Federation:
    offsets: np.ndarray  # int64 (n_clients + 1,)
    indices: np.ndarray  # int64 (n_assigned,)

    def __post_init__(self) -> None:
        if self.offsets.ndim != 1 or len(self.offsets) < 2 or self.offsets[0] != 0:
            raise PoflValueError("offsets must be 1-D, start at 0 and have one entry per client plus one")
        if np.any(np.diff(self.offsets) < 0) or self.offsets[-1] != len(self.indices):
            raise PoflValueError("offsets must be non-decreasing and end at len(indices)")

    @property
    def n_clients(self) -> int:
        return len(self.offsets) - 1

    def client(self, i: int) -> np.ndarray:
        """Sample indices of client ``i``."""
        return self.indices[self.offsets[i]:self.offsets[i + 1]]

    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def from_parts(cls, parts: list[np.ndarray]) -> Federation:
        sizes = np.array([len(p) for p in parts], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        indices = np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]) if parts else np.zeros(0, np.int64)
        return cls(offsets, indices)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, offsets=self.offsets, indices=self.indices)


def from_file(path: str | Path, n_samples: int | None = None) -> Federation:
    """A federation stored as ``offsets``/``indices`` arrays in an .npz file."""
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise PoflValueError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise PoflValueError(f"{path} is not a federation .npz file ({exc.__class__.__name__})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise PoflValueError(f"{path} is a single .npy array, not a federation .npz file")
    with npz:
        missing = {"offsets", "indices"} - set(npz.files)
        if missing:
            raise PoflValueError(f"{path} lacks array(s) {sorted(missing)}: a federation file holds 'offsets' and "
                                 f"'indices'")
        try:
            fed = Federation(npz["offsets"].astype(np.int64), npz["indices"].astype(np.int64))
        except (OSError, ValueError, TypeError, zipfile.BadZipFile) as exc:
            raise PoflValueError(f"{path}: unreadable federation arrays ({exc.__class__.__name__}: {exc})") from None
    if n_samples is not None and len(fed.indices) and (fed.indices.min() < 0 or fed.indices.max() >= n_samples):
        raise PoflValueError(f"{path} refers to samples outside 0..{n_samples - 1}")
    return fed


def iid(n_samples: int, n_clients: int, seed: int) -> Federation:
    """Samples shuffled and dealt into ``n_clients`` near-equal parts."""
    perm = np.random.default_rng(seed).permutation(n_samples)
    return Federation.from_parts([np.sort(p) for p in np.array_split(perm, n_clients)])


def dirichlet(labels: np.ndarray, n_clients: int, alpha: float, seed: int) -> Federation:
    """Label skew: each class's samples split among clients with Dirichlet(alpha) proportions.

    The same algorithm (and so the same result for the same seed) as the tool that made the
    shipped benchmark federation (scripts/make_federation.py).
    """
    if alpha <= 0:
        raise PoflValueError(f"alpha must be > 0, got {alpha}")
    rng = np.random.default_rng(seed)
    owners: list[list[int]] = [[] for _ in range(n_clients)]
    for k in range(int(labels.max()) + 1):
        idx = np.flatnonzero(labels == k)
        rng.shuffle(idx)
        cuts = (np.cumsum(rng.dirichlet(np.full(n_clients, alpha))) * len(idx)).astype(int)[:-1]
        for owner, part in zip(owners, np.split(idx, cuts), strict=True):
            owner.extend(part.tolist())
    return Federation.from_parts([np.sort(np.array(o, dtype=np.int64)) for o in owners])


def shards(labels: np.ndarray, n_clients: int, shards_per_client: int = 2, seed: int = 0) -> Federation:
    """McMahan et al.: sort by label, cut into ``n_clients * shards_per_client`` shards, deal them out."""
    order = np.argsort(labels, kind="stable")
    pieces = np.array_split(order, n_clients * shards_per_client)
    perm = np.random.default_rng(seed).permutation(len(pieces))
    return Federation.from_parts([
        np.sort(np.concatenate([pieces[j] for j in perm[c * shards_per_client:(c + 1) * shards_per_client]]))
        for c in range(n_clients)])


def by_writer(writers: np.ndarray) -> Federation:
    """One client per writer id (as in federated EMNIST), clients in ascending writer order."""
    ids = np.unique(writers)
    return Federation.from_parts([np.flatnonzero(writers == w) for w in ids])


def assign_to_miners(n_clients: int, n_miners: int, seed: int) -> np.ndarray:
    """Miner index of every client: clients shuffled with ``seed`` and dealt round-robin."""
    if n_miners < 1:
        raise PoflValueError(f"need at least one miner, got {n_miners}")
    perm = np.random.default_rng(seed).permutation(n_clients)
    owner = np.empty(n_clients, dtype=np.int64)
    owner[perm] = np.arange(n_clients) % n_miners
    return owner


def select_clients(seed: int, round_id: int, n_clients: int, k: int) -> np.ndarray:
    """The ``k`` distinct clients drawn for ``round_id`` (the notebook's ``pool.clients.select(k)``), sorted.

    A pure function of the run's seed and the round: every miner, in one process or many, and the
    in-memory engine draw the same clients.
    """
    rng = np.random.default_rng([seed, round_id])
    return np.sort(rng.choice(n_clients, size=min(k, n_clients), replace=False))
