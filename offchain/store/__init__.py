"""Model storage: canonical safetensors bytes, Kubo-compatible CIDs, IPFS and local stores."""

from offchain.errors import PoflValueError
from offchain.store.base import (
    BlobTooLarge,
    IntegrityError,
    MalformedCid,
    ModelStore,
    NotFound,
    StoreError,
    StoreMisconfigured,
    StoreUnavailable,
)
from offchain.store.cid import compute_cid, parse_cid
from offchain.store.local import LocalStore

__all__ = ["BlobTooLarge", "IntegrityError", "LocalStore", "MalformedCid", "ModelStore", "NotFound", "StoreError",
           "StoreMisconfigured", "StoreUnavailable", "compute_cid", "open_store", "parse_cid"]


def open_store(ipfs_api: str | None = None, store_dir: str | None = None, *, timeout: float | None = None,
               **kwargs: object) -> ModelStore:
    """An IpfsStore on ``ipfs_api`` if given (``timeout`` seconds a request, one retry), else the
    embedded LocalStore in ``store_dir``."""
    if ipfs_api:
        from offchain.store.ipfs import IpfsStore

        if timeout is not None:
            kwargs = {"timeout": timeout, "retries": 1, **kwargs}
        return IpfsStore(ipfs_api, **kwargs)  # type: ignore[arg-type]
    if not store_dir:
        raise PoflValueError("give an IPFS API address (--ipfs-api) or a store directory (--store-dir)")
    return LocalStore(store_dir, **kwargs)  # type: ignore[arg-type]
