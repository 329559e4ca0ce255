"""A store over any Kubo-compatible IPFS RPC API (Kubo for users, js-ipfs in the tests).

``ipfshttpclient.connect()`` refuses daemons of version 0.8 and newer, which is every
current Kubo (0.3x) and js-ipfs (0.18); this store builds ``ipfshttpclient.Client`` directly.
Connection errors and timeouts are retried with exponential backoff; then a
:class:`StoreUnavailable` names the API address. Every blob read back is re-hashed.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import TypeVar

import ipfshttpclient
from ipfshttpclient import exceptions as ipfs_errors

from offchain.store.base import DEFAULT_MAX_BLOB, BlobTooLarge, IntegrityError, NotFound, StoreUnavailable
from offchain.store.cid import cid_matches, compute_cid, parse_cid

T = TypeVar("T")
_TRANSIENT = (ipfs_errors.ConnectionError, ipfs_errors.TimeoutError)

warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)


class IpfsStore:
    """Blobs in an IPFS node, added with Kubo's defaults (CIDv0, 256 KiB chunks) and pinned."""

    def __init__(self, api: str = "/ip4/127.0.0.1/tcp/5001/http", *, timeout: float = 30.0, retries: int = 3,
                 backoff: float = 0.2, max_bytes: int = DEFAULT_MAX_BLOB) -> None:
        self.api = api
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self._client = ipfshttpclient.Client(api, timeout=timeout)

    def __repr__(self) -> str:
        return f"IpfsStore({self.api!r})"

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except _TRANSIENT as exc:
                if attempt == self.retries:
                    raise StoreUnavailable(
                        f"IPFS API at {self.api} did not answer {what} after {self.retries + 1} tries "
                        f"({exc.__class__.__name__}); check that the daemon runs (`ipfs daemon`, or js-ipfs) and "
                        f"that --ipfs-api points at its RPC API address") from None
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def put(self, data: bytes) -> str:
        if len(data) > self.max_bytes:
            raise BlobTooLarge(f"blob of {len(data)} bytes is over this store's {self.max_bytes}-byte limit")
        expected = compute_cid(data)
        cid = self._call("add", lambda: self._client.add_bytes(data, opts={"pin": "true", "cid-version": 0}))
        if cid != expected:
            raise IntegrityError(f"{self.api} stored the blob as {cid}, expected {expected}: the node does not "
                                 f"use Kubo's default layout (256 KiB chunks, CIDv0)")
        return cid

    def get(self, cid: str) -> bytes:
        parse_cid(cid)

        def cat() -> bytes:
            try:
                return bytes(self._client.cat(cid, length=self.max_bytes + 1))
            except ipfs_errors.ErrorResponse as exc:
                raise NotFound(f"{cid} cannot be read from {self.api}: {exc}") from None

        data = self._call("cat", cat)
        if len(data) > self.max_bytes:
            raise BlobTooLarge(f"{cid} is over this store's {self.max_bytes}-byte limit; not read further")
        if not cid_matches(data, cid):
            raise IntegrityError(f"{self.api} returned {len(data)} bytes for {cid} that do not hash to it; "
                                 f"they were discarded")
        return data

    def pin(self, cid: str) -> None:
        parse_cid(cid)
        self._call("pin/add", lambda: self._client.pin.add(cid))

    def has(self, cid: str) -> bool:
        parse_cid(cid)
        try:
            keys = self._call("pin/ls", lambda: self._client.pin.ls(cid, type="recursive"))["Keys"]
        except ipfs_errors.ErrorResponse:
            return False
        return cid in keys

    def close(self) -> None:
        self._client.close()
