"""Publishing models by CID, and the one way to read what another party chose.

:func:`publish_model` and :func:`fetch_model` put the codec (:mod:`offchain.store.model_bytes`) over
any :class:`~offchain.store.base.ModelStore`. What another party chose to publish — a candidate's
model, a head block's model, a requester's sealed shard — is read through an
:class:`UntrustedFetcher`: bytes verified against the CID, sizes bounded, nothing unpickled, each
read bounded in time, and nothing it finds raised. Every outcome is an :class:`Untrusted`: the value,
or why there is none, telling what could not be had (absent, timed out, store down) from what was
had and is bad. The round driver, ``pofl verify`` and the hold-out report all read through it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

import torch

from offchain.fl.training import FlatParams
from offchain.store.base import BlobTooLarge, ModelStore, NotFound, StoreUnavailable
from offchain.store.cid import parse_cid
from offchain.store.model_bytes import DEFAULT_MAX_BYTES, check_canonical, load_model_bytes, model_to_bytes

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_FETCH_TIMEOUT_S = 20.0
"""The longest a read of another party's content is waited for before it counts as unavailable."""


def publish_model(store: ModelStore, state: Mapping[str, torch.Tensor], architecture: str) -> str:
    """Serialize ``state`` canonically, store (and pin) it, return its CID (its canonical CIDv0)."""
    return store.put(model_to_bytes(state, architecture))


def fetch_model(store: ModelStore, cid: str, architecture: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                ) -> dict[str, torch.Tensor]:
    """The verified, checked state dict stored under ``cid`` (MalformedCid / IntegrityError / ModelFormatError
    otherwise). The CID is checked here too, before any store sees it, whatever store it is; and the bytes and
    the CID must be the canonical encoding of the tensors (NonCanonicalModel), so that the digest the CID
    carries is the model's content digest: a model re-encoded to look new reads as a mismatch."""
    parse_cid(cid)
    data = store.get(cid)
    state, _ = load_model_bytes(data, architecture, max_bytes=max_bytes)
    check_canonical(data, cid, state, architecture)
    return state


@dataclass(frozen=True)
class Untrusted(Generic[T]):
    """The outcome of reading something another party chose (a model, a sealed shard): the value, or why
    there is none. ``unavailable`` tells what could not be had (not found, timed out, store down) from
    what was had and is bad (bytes not hashing to the CID, not decrypting, not parsing); ``store_down`` (one
    kind of unavailable) that the reader's own store did not answer at all, which says nothing of whoever
    published the content."""

    value: T | None
    error: str = ""
    unavailable: bool = False
    store_down: bool = False

    def then(self, use: Callable[[T], U]) -> Untrusted[U]:
        """``use(value)`` as an outcome (anything it raises reported), or this outcome's reason."""
        if self.value is None:
            return Untrusted(None, self.error, self.unavailable, self.store_down)
        value = self.value
        return read_untrusted(lambda: use(value))

    def named(self, where: str) -> Untrusted[T]:
        """This outcome, its reason prefixed by ``where``."""
        return self if self.value is not None else replace(self, error=f"{where}: {self.error}")


def read_untrusted(read: Callable[[], T]) -> Untrusted[T]:
    """``read()``'s value; anything it raises is reported in the outcome, never raised."""
    try:
        return Untrusted(read())
    except StoreUnavailable as exc:
        return Untrusted(None, f"{exc.__class__.__name__}: {exc}", unavailable=True, store_down=True)
    except (NotFound, TimeoutError, FutureTimeout) as exc:
        return Untrusted(None, f"{exc.__class__.__name__}: {exc}", unavailable=True)
    except Exception as exc:  # hostile bytes may break any parser: reported, never raised
        return Untrusted(None, f"{exc.__class__.__name__}: {exc}")


class UntrustedFetcher:
    """Reads what another party chose from ``store``, each read in a worker thread of its own.

    Parameters:
        store: where the content is published.
        timeout_s: the longest a read is waited for; one that overruns is abandoned to the store's own
            timeout and reported unavailable.
        max_model_bytes: the size limit of a model.
        workers: reads in flight at once (a read never waits on another).
    """

    def __init__(self, store: ModelStore, *, timeout_s: float = DEFAULT_FETCH_TIMEOUT_S,
                 max_model_bytes: int = DEFAULT_MAX_BYTES, workers: int = 16) -> None:
        self.store = store
        self.timeout_s = timeout_s
        self.max_model_bytes = max_model_bytes
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pofl-fetch")

    def model(self, cid: str, architecture: str) -> Untrusted[dict[str, torch.Tensor]]:
        """The model under ``cid``, checked as ``architecture``."""
        return self.wait(self._pool.submit(fetch_model, self.store, cid, architecture,
                                           max_bytes=self.max_model_bytes))

    def params(self, cid: str, flat: FlatParams, architecture: str, device: torch.device) -> Untrusted[torch.Tensor]:
        """The model under ``cid`` as ``flat``'s parameter vector on ``device``."""
        return self.model(cid, architecture).then(lambda state: flat.flatten(state).to(device))

    def start_blob(self, cid: str, max_bytes: int) -> Future[bytes]:
        """Start reading the bytes under ``cid`` (at most ``max_bytes``) now; :meth:`wait` for them later."""
        return self._pool.submit(self._blob, cid, max_bytes)

    def blob(self, cid: str, max_bytes: int) -> Untrusted[bytes]:
        """The bytes under ``cid``, at most ``max_bytes`` of them."""
        return self.wait(self.start_blob(cid, max_bytes))

    def wait(self, future: Future[T]) -> Untrusted[T]:
        """The outcome of a read started here, waited for at most ``timeout_s``."""
        try:
            future.result(timeout=self.timeout_s)
        except FutureTimeout:
            future.cancel()
            return Untrusted(None, f"TimeoutError: not fetched within {self.timeout_s:g} s", unavailable=True)
        except Exception:
            pass
        return read_untrusted(future.result)

    def _blob(self, cid: str, max_bytes: int) -> bytes:
        parse_cid(cid)
        data = self.store.get(cid)
        if len(data) > max_bytes:
            raise BlobTooLarge(f"{cid} holds {len(data)} bytes, over the {max_bytes}-byte limit")
        return data

    def close(self) -> None:
        """Stop taking reads; reads in flight are abandoned."""
        self._pool.shutdown(wait=False, cancel_futures=True)
