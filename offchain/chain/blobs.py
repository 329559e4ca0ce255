"""EIP-4844 blobs: bytes packed into a blob, and the sidecar (KZG commitment, proof, versioned hash) that a
type-3 transaction carries.

A blob is 4,096 field elements of 32 bytes; each element's first byte is kept zero so that every element is
below the BLS12-381 modulus, which leaves 31 bytes of data an element (:data:`BLOB_CAPACITY` bytes a blob).
:func:`pack_blob` and :func:`unpack_blob` are pure; :func:`sidecar` computes the KZG commitment and proof with
``ckzg`` and the Ethereum trusted setup that eth-account ships (loaded once a process).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from offchain.errors import PoflValueError

FIELD_ELEMENTS = 4096
BLOB_SIZE = 32 * FIELD_ELEMENTS
BLOB_CAPACITY = 31 * FIELD_ELEMENTS
"""Bytes of data a blob holds (31 of each 32-byte field element)."""
VERSIONED_HASH_VERSION_KZG = b"\x01"


class BlobTooLarge(PoflValueError):
    """The data does not fit in one blob."""


def pack_blob(data: bytes) -> bytes:
    """``data`` (at most :data:`BLOB_CAPACITY` bytes) as one blob, 31 bytes a field element, zero-padded."""
    if len(data) > BLOB_CAPACITY:
        raise BlobTooLarge(f"{len(data)} bytes do not fit in one blob ({BLOB_CAPACITY} at most): "
                           f"split the data")
    padded = data.ljust(BLOB_CAPACITY, b"\x00")
    return b"".join(b"\x00" + padded[i:i + 31] for i in range(0, BLOB_CAPACITY, 31))


def unpack_blob(blob: bytes) -> bytes:
    """The :data:`BLOB_CAPACITY` data bytes of ``blob`` (trailing padding included)."""
    if len(blob) != BLOB_SIZE:
        raise PoflValueError(f"a blob has {BLOB_SIZE} bytes, got {len(blob)}")
    return b"".join(blob[i + 1:i + 32] for i in range(0, BLOB_SIZE, 32))


@dataclass(frozen=True)
class BlobSidecar:
    """A blob with its KZG commitment and proof, and the versioned hash the transaction (and BLOBHASH) names."""

    blob: bytes
    commitment: bytes
    proof: bytes

    @property
    def versioned_hash(self) -> bytes:
        return versioned_hash(self.commitment)


def versioned_hash(commitment: bytes) -> bytes:
    """EIP-4844's versioned hash of a KZG commitment: 0x01 || sha256(commitment)[1:]."""
    return VERSIONED_HASH_VERSION_KZG + hashlib.sha256(commitment).digest()[1:]


@cache
def _trusted_setup() -> Any:
    import ckzg
    from eth_account.typed_transactions.base import TRUSTED_SETUP

    return ckzg.load_trusted_setup(TRUSTED_SETUP, 0)


def sidecar(blob: bytes) -> BlobSidecar:
    """The KZG commitment and proof of ``blob``."""
    import ckzg

    setup = _trusted_setup()
    commitment = bytes(ckzg.blob_to_kzg_commitment(blob, setup))
    return BlobSidecar(blob, commitment, bytes(ckzg.compute_blob_kzg_proof(blob, commitment, setup)))
