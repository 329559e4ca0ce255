"""Publishing and fetching models by CID: the codec (model_bytes) over any ModelStore."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import torch

from offchain.store.base import ModelStore, NotFound, StoreUnavailable
from offchain.store.cid import parse_cid
from offchain.store.model_bytes import DEFAULT_MAX_BYTES, load_model_bytes, model_to_bytes

T = TypeVar("T")


def publish_model(store: ModelStore, state: Mapping[str, torch.Tensor], architecture: str, round_id: int = 0) -> str:
    """Serialize ``state`` canonically, store (and pin) it, return its CID."""
    return store.put(model_to_bytes(state, architecture, round_id))


def fetch_model(store: ModelStore, cid: str, architecture: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                ) -> dict[str, torch.Tensor]:
    """The verified, checked state dict stored under ``cid`` (MalformedCid / IntegrityError / ModelFormatError
    otherwise). The CID is checked here too, before any store sees it, whatever store it is."""
    parse_cid(cid)
    state, _ = load_model_bytes(store.get(cid), architecture, max_bytes=max_bytes)
    return state


@dataclass(frozen=True)
class Untrusted(Generic[T]):
    """The outcome of reading something another party chose (a model, a sealed shard): the value, or why
    there is none. ``unavailable`` tells what could not be had (not found, timed out, store down) from
    what was had and is bad (bytes not hashing to the CID, not decrypting, not parsing)."""

    value: T | None
    error: str = ""
    unavailable: bool = False


def read_untrusted(read: Callable[[], T]) -> Untrusted[T]:
    """``read()``'s value; anything it raises is reported in the outcome, never raised."""
    try:
        return Untrusted(read())
    except (NotFound, StoreUnavailable, TimeoutError) as exc:
        return Untrusted(None, f"{exc.__class__.__name__}: {exc}", unavailable=True)
    except Exception as exc:  # hostile bytes may break any parser: reported, never raised
        return Untrusted(None, f"{exc.__class__.__name__}: {exc}")


@dataclass(frozen=True)
class UntrustedFetch:
    """The outcome of fetching a model that another party chose: the state dict, or why there is none.

    ``unavailable`` tells a model that could not be had (not found, timed out, store down) from one
    that was had and is bad (bytes not hashing to the CID, not a model of the architecture).
    """

    state: dict[str, torch.Tensor] | None
    error: str = ""
    unavailable: bool = False


def fetch_untrusted(store: ModelStore, cid: str, architecture: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                    ) -> UntrustedFetch:
    """:func:`fetch_model` that never raises for what the CID or its bytes are: anything wrong is reported."""
    fetched = read_untrusted(lambda: fetch_model(store, cid, architecture, max_bytes=max_bytes))
    return UntrustedFetch(fetched.value, fetched.error, fetched.unavailable)
