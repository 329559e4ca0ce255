"""flex's FlexPool: a set of actors (miners or clients) and ``map`` over them."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from offchain.data import Dataset
from offchain.errors import PoflValueError
from offchain.model import FlexModel
from offchain.pool.decorators import COLLECT, DEPLOY, kind_of


class FlexPool:
    """Actors by id: their FlexModels, their data (clients), and which miner leads each client."""

    def __init__(self, models: dict[str, FlexModel], data: dict[str, Dataset], miner_of: dict[str, str],
                 rng: random.Random) -> None:
        self.models = models
        self.data = data
        self.miner_of = miner_of
        self._rng = rng

    @property
    def actor_ids(self) -> list[str]:
        return list(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterator[str]:
        return iter(self.models)

    def select(self, n: int) -> FlexPool:
        """``n`` actors drawn at random (flex's ``select``)."""
        if n > len(self.models):
            raise PoflValueError(f"cannot select {n} of {len(self.models)} actors")
        chosen = self._rng.sample(self.actor_ids, n)
        return FlexPool({i: self.models[i] for i in chosen}, {i: self.data[i] for i in chosen if i in self.data},
                        self.miner_of, self._rng)

    def _led_clients(self, dst_pool: FlexPool | None, what: str) -> Iterator[tuple[str, str]]:
        """(client, its miner) for every client of ``dst_pool`` led by a miner of this pool."""
        if dst_pool is None:
            raise PoflValueError(f"{what} needs the pool of clients as the destination")
        for client_id in dst_pool:
            miner_id = self.miner_of[client_id]
            if miner_id in self.models:
                yield client_id, miner_id

    def map(self, func: Callable[..., Any], dst_pool: FlexPool | None = None, **kwargs: Any) -> list[Any]:
        """Apply ``func`` as its decorator says (see offchain.pool.decorators); otherwise to every actor
        with its data, as ``func(model, data)``, or ``func(model)`` for actors without data."""
        kind = kind_of(func)
        if kind == DEPLOY:
            for client_id, miner_id in self._led_clients(dst_pool, "deploying a miner's model"):
                copy = func(self.models[miner_id], **kwargs)
                copy.actor_id = client_id
                dst_pool.models[client_id].clear()  # type: ignore[union-attr]
                dst_pool.models[client_id].update(copy)  # type: ignore[union-attr]
            return []
        if kind == COLLECT:
            for client_id, miner_id in self._led_clients(dst_pool, "collecting weights"):
                weights = func(dst_pool.models[client_id], **kwargs)  # type: ignore[union-attr]
                self.models[miner_id].setdefault("weights", []).append(weights)
            return []
        return [func(model, self.data[i], **kwargs) if i in self.data else func(model, **kwargs)
                for i, model in self.models.items()]
