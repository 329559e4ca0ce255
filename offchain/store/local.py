"""The embedded store: a content-addressed directory, safe for several writer processes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from offchain.store.base import DEFAULT_MAX_BLOB, BlobTooLarge, IntegrityError, NotFound
from offchain.store.cid import cid_matches, compute_cid, parse_cid


class LocalStore:
    """Blobs in ``root/blocks/<cid>``, keyed by the same CIDs as IPFS.

    Writes go to a temporary file in the same directory and are renamed into place, so a
    reader never sees a partial blob and concurrent writers of the same CID are harmless.
    Every ``get`` re-hashes the bytes. ``pin`` is a no-op: nothing here is ever collected.
    """

    def __init__(self, root: str | Path, *, max_bytes: int = DEFAULT_MAX_BLOB) -> None:
        self.root = Path(root)
        self.blocks = self.root / "blocks"
        self.blocks.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, cid: str) -> Path:
        parse_cid(cid)  # also rejects path tricks: a valid CID is base58/base32 only
        return self.blocks / cid

    def put(self, data: bytes) -> str:
        if len(data) > self.max_bytes:
            raise BlobTooLarge(f"blob of {len(data)} bytes is over this store's {self.max_bytes}-byte limit")
        cid = compute_cid(data)
        path = self._path(cid)
        if path.exists():
            return cid
        fd, tmp = tempfile.mkstemp(dir=self.blocks, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return cid

    def get(self, cid: str) -> bytes:
        path = self._path(cid)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise NotFound(f"{cid} is not in {self}") from None
        if size > self.max_bytes:
            raise BlobTooLarge(f"{cid} is {size} bytes, over this store's {self.max_bytes}-byte limit; not read")
        data = path.read_bytes()
        if not cid_matches(data, cid):
            raise IntegrityError(f"{path} does not hash to {cid}: the file is corrupt; delete it and fetch the "
                                 f"model again")
        return data

    def pin(self, cid: str) -> None:
        if not self.has(cid):
            raise NotFound(f"cannot pin {cid}: not in {self}")

    def has(self, cid: str) -> bool:
        return self._path(cid).exists()
