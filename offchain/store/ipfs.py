"""A store over any Kubo-compatible IPFS RPC API (Kubo for users, js-ipfs in the tests).

``ipfshttpclient.connect()`` refuses daemons of version 0.8 and newer, which is every
current Kubo (0.3x) and js-ipfs (0.18); this store builds ``ipfshttpclient.Client`` directly.
Connection errors are retried with exponential backoff; then a :class:`StoreUnavailable` names
the API address. A read asks the daemon itself to give up after ``timeout`` seconds (the RPC API's
``timeout`` argument, which Kubo and js-ipfs share): an offline node without the content would
otherwise search for it until the connection times out. A daemon that answers "timed out" is up
and lacks the content (:class:`NotFound`); one that does not answer at all is asked for its
version to tell a busy daemon (NotFound) from a dead one (StoreUnavailable). Every blob read back
is re-hashed.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import TypeVar

import ipfshttpclient
from ipfshttpclient import exceptions as ipfs_errors

from offchain.defaults import IPFS_TIMEOUT_S
from offchain.store.base import (
    DEFAULT_MAX_BLOB,
    BlobTooLarge,
    IntegrityError,
    NotFound,
    StoreMisconfigured,
    StoreUnavailable,
)
from offchain.store.cid import cid_matches, compute_cid, parse_cid

T = TypeVar("T")
_TRANSIENT = (ipfs_errors.ConnectionError, ipfs_errors.TimeoutError)
DEFAULT_TIMEOUT = IPFS_TIMEOUT_S
TRANSPORT_SLACK = 5.0
"""Seconds past the daemon's own deadline before this client stops waiting for its answer."""
PROBE_TIMEOUT = 3.0

warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)


class IpfsStore:
    """Blobs in an IPFS node, added with Kubo's defaults (CIDv0, 256 KiB chunks) and pinned."""

    def __init__(self, api: str = "/ip4/127.0.0.1/tcp/5001/http", *, timeout: float = DEFAULT_TIMEOUT, retries: int = 3,
                 backoff: float = 0.2, max_bytes: int = DEFAULT_MAX_BLOB) -> None:
        self.api = api
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        try:
            self._client = ipfshttpclient.Client(api, timeout=max(30.0, timeout + TRANSPORT_SLACK))
        except ipfs_errors.AddressError as exc:
            raise StoreMisconfigured(f"--ipfs-api {api!r} is not a multiaddr ({exc}); e.g. "
                                     f"/ip4/127.0.0.1/tcp/5001/http") from None

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
        wait = f"{self.timeout:g}"

        def absent(why: str) -> NotFound:
            return NotFound(f"{cid} was not found on the IPFS node at {self.api} within {wait} s ({why}): the node "
                            f"answers but neither it nor a peer it reaches holds the content (--ipfs-timeout "
                            f"sets the wait)")

        def cat() -> bytes:
            try:
                return bytes(self._client.cat(cid, length=self.max_bytes + 1, opts={"timeout": f"{wait}s"},
                                              timeout=self.timeout + TRANSPORT_SLACK))
            except ipfs_errors.ErrorResponse as exc:
                if "timed out" in str(exc) or "deadline exceeded" in str(exc):
                    raise absent("the node timed out") from None
                raise NotFound(f"{cid} cannot be read from {self.api}: {exc}") from None
            except ipfs_errors.TimeoutError:
                if self.version(timeout=PROBE_TIMEOUT) is None:
                    raise StoreUnavailable(f"the IPFS node at {self.api} stopped answering: check that the "
                                           f"daemon runs (`pofl ipfs`, `ipfs daemon`)") from None
                raise absent("no answer") from None

        data = self._call("cat", cat)
        if len(data) > self.max_bytes:
            raise BlobTooLarge(f"{cid} is over this store's {self.max_bytes}-byte limit; not read further")
        if not cid_matches(data, cid):
            raise IntegrityError(f"{self.api} returned {len(data)} bytes for {cid} that do not hash to it; "
                                 f"they were discarded")
        return data

    def version(self, timeout: float = PROBE_TIMEOUT) -> str | None:
        """The daemon's version, or None if nothing answers at the API address in ``timeout`` seconds."""
        try:
            return str(self._client.version(timeout=timeout)["Version"])
        except (ipfs_errors.ConnectionError, ipfs_errors.TimeoutError):
            return None

    def check(self) -> str:
        """That an IPFS RPC API answers at the address (its version), else why not: StoreUnavailable when
        nothing answers, StoreMisconfigured when something else (an Ethereum node, a web server) does."""
        try:
            version = self.version()
        except (ipfs_errors.Error, KeyError, TypeError, ValueError) as exc:
            raise StoreMisconfigured(f"--ipfs-api {self.api}: the server there is not an IPFS RPC API "
                                     f"({exc.__class__.__name__}: {str(exc)[:120]}); give the node's API "
                                     f"multiaddr, e.g. /ip4/127.0.0.1/tcp/5001/http") from None
        if version is None:
            raise StoreUnavailable(f"no IPFS node answers at {self.api}: start one with `pofl ipfs` (or "
                                   f"`ipfs daemon`), or give its API address with --ipfs-api")
        return version

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
