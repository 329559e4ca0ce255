"""Sealed shards: each encrypted under its own random key, committed on chain by the key's hash.

Encryption is AES-256-GCM (``cryptography``'s AEAD), authenticated: a ciphertext that was
altered, truncated, or is opened with another key fails as a whole. The sealed bytes are::

    version (1 byte, 0x01) || nonce (12 random bytes) || AES-256-GCM(key, nonce, shard, ad)

with the *associated data* ``ad = b"pofl-holdout-v1" || task (32 bytes) || index (uint32, big-endian)``:
it binds the ciphertext to its task and its shard index, so a ciphertext cannot be replayed as
another shard of the same task, or as a shard of another task, even by the holder of its key.
Selection shards have indices 0, 1, ...; the final shard has :data:`FINAL_INDEX`.

The on-chain commitment to a key is ``keccak256(key)`` (as Solidity's ``keccak256(abi.encodePacked(key))``
of a ``bytes32``); :func:`unseal` checks it before it decrypts anything. Each key encrypts one
shard once, so the random 96-bit nonce never repeats under a key.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_utils import keccak

from offchain.errors import PoflValueError

VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
TASK_BYTES = 32
FINAL_INDEX = 2**32 - 1
AD_PREFIX = b"pofl-holdout-v1"


class SealError(PoflValueError):
    """A sealed shard could not be opened; nothing was decrypted or nothing came out."""


class KeyMismatch(SealError):
    """A key does not hash to the committed key hash; it was not used."""


class UnsealFailed(SealError):
    """A ciphertext did not decrypt under its key and associated data: altered, truncated, or another shard's."""


def new_key() -> bytes:
    """A fresh random 256-bit key (the OS's CSPRNG)."""
    return os.urandom(KEY_BYTES)


def key_hash(key: bytes) -> bytes:
    """The on-chain commitment to ``key``: ``keccak256(key)``, 32 bytes."""
    _check_length("key", key, KEY_BYTES)
    return keccak(key)


def check_key(key: bytes, expected_hash: bytes) -> None:
    """:class:`KeyMismatch` unless ``keccak256(key) == expected_hash`` (the key committed on chain)."""
    _check_length("key hash", expected_hash, 32)
    if key_hash(key) != expected_hash:
        raise KeyMismatch(f"key 0x{key.hex()[:8]}... hashes to 0x{key_hash(key).hex()}, not the committed "
                          f"0x{expected_hash.hex()}: it is not this shard's key; nothing was decrypted")


def associated_data(task: bytes, index: int) -> bytes:
    """What a sealed shard is bound to: its task (32 bytes) and its shard index."""
    _check_length("task id", task, TASK_BYTES)
    if not 0 <= index <= FINAL_INDEX:
        raise PoflValueError(f"shard index must be in 0..{FINAL_INDEX} (the final shard), got {index}")
    return AD_PREFIX + task + index.to_bytes(4, "big")


def seal(plaintext: bytes, key: bytes, task: bytes, index: int) -> bytes:
    """``plaintext`` encrypted under ``key`` for shard ``index`` of ``task`` (layout: module docstring)."""
    _check_length("key", key, KEY_BYTES)
    nonce = os.urandom(NONCE_BYTES)
    return bytes([VERSION]) + nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data(task, index))


def unseal(sealed: bytes, key: bytes, expected_hash: bytes, task: bytes, index: int) -> bytes:
    """The plaintext of ``sealed`` if ``key`` hashes to ``expected_hash`` and the ciphertext is intact and
    sealed for shard ``index`` of ``task``; :class:`KeyMismatch` or :class:`UnsealFailed` otherwise."""
    check_key(key, expected_hash)
    ad = associated_data(task, index)
    if len(sealed) < 1 + NONCE_BYTES + TAG_BYTES or sealed[0] != VERSION:
        raise UnsealFailed(f"sealed shard {_name(index)}: {len(sealed)} bytes starting with "
                           f"{sealed[:1].hex() or 'nothing'}, expected version {VERSION:02x}, a {NONCE_BYTES}-byte "
                           f"nonce and a {TAG_BYTES}-byte tag at least; it is truncated or not a sealed shard")
    nonce, ciphertext = sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, ad)
    except InvalidTag:
        raise UnsealFailed(f"sealed shard {_name(index)} does not decrypt under its committed key: the ciphertext "
                           f"was altered or truncated, or it was sealed for another shard or task") from None


def _name(index: int) -> str:
    return "final" if index == FINAL_INDEX else str(index)


def _check_length(what: str, value: bytes, length: int) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != length:
        raise PoflValueError(f"{what} must be {length} bytes, got {type(value).__name__} of "
                             f"{len(value) if isinstance(value, bytes | bytearray) else '?'} bytes")
