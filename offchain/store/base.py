"""The one small interface every model store offers, and its errors."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from offchain.errors import ConfigError, PoflRuntimeError
from offchain.store.cid import MalformedCid

DEFAULT_MAX_BLOB = 256 * 1024 * 1024


class StoreError(PoflRuntimeError):
    """A store operation failed."""


class IntegrityError(StoreError):
    """Bytes a store returned do not hash to the CID asked for; they were discarded."""


class NotFound(StoreError, KeyError):
    """The store does not have this CID."""

    def __str__(self) -> str:  # KeyError's own quotes its message as a repr
        return str(self.args[0]) if self.args else ""


class BlobTooLarge(StoreError):
    """A blob is over the store's size limit; it was not read whole."""


class StoreUnavailable(StoreError, ConnectionError):
    """The store's server did not answer after retries."""


class StoreMisconfigured(StoreError, ConfigError):
    """The store's address is wrong: not a multiaddr, or what answers there is not an IPFS RPC API (exit 2)."""


@runtime_checkable
class ModelStore(Protocol):
    """Content-addressed bytes: ``put`` returns the CID, ``get`` verifies it."""

    def put(self, data: bytes) -> str:
        """Store ``data`` (pinned) and return its CID."""
        ...

    def get(self, cid: str) -> bytes:
        """The bytes of ``cid``, verified to hash to it (IntegrityError otherwise)."""
        ...

    def pin(self, cid: str) -> None:
        """Keep ``cid`` from garbage collection."""
        ...

    def has(self, cid: str) -> bool:
        """Whether the store holds ``cid`` locally."""
        ...


__all__ = ["DEFAULT_MAX_BLOB", "BlobTooLarge", "IntegrityError", "MalformedCid", "ModelStore", "NotFound",
           "StoreError", "StoreMisconfigured", "StoreUnavailable"]
