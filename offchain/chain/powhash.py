"""Proof-of-work hashing off chain: keccak256 of a block's fields for many nonces at once (numpy).

A PoW block's hash is ``keccak256(parentHash || digest || miner || nonce)`` (``abi.encodePacked``: 32 + 32 + 20
+ 32 = 116 bytes, under keccak256's 136-byte rate, so one permutation a hash). :func:`keccak256_batch` runs
Keccak-f[1600] on a batch of such messages as 25 lanes of ``uint64`` arrays, so that a miner hashes a batch of
nonces in one pass; :func:`search` scans nonces for the first hash with ``zeros`` leading zero hex digits.
Both are pure functions (the contract's ``powHash`` and ``meetsDifficulty`` are their on-chain twins).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from offchain.errors import PoflValueError

RATE = 136  # keccak256's rate in bytes
PREFIX_BYTES = 32 + 32 + 20  # parentHash || digest || miner
MESSAGE_BYTES = PREFIX_BYTES + 32

_ROUND_CONSTANTS = np.array([
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000, 0x000000000000808B,
    0x0000000080000001, 0x8000000080008081, 0x8000000000008009, 0x000000000000008A, 0x0000000000000088,
    0x0000000080008009, 0x000000008000000A, 0x000000008000808B, 0x800000000000008B, 0x8000000000008089,
    0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008], dtype=np.uint64)
# rho offsets and pi's destination, lane index x + 5 y
_ROTATIONS = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14]
_PI = [0] * 25
for _x in range(5):
    for _y in range(5):
        _PI[_x + 5 * _y] = _y + 5 * ((2 * _x + 3 * _y) % 5)


def _rotl(v: np.ndarray, n: int) -> np.ndarray:
    return v if n == 0 else (v << np.uint64(n)) | (v >> np.uint64(64 - n))


def _keccak_f(lanes: list[np.ndarray]) -> list[np.ndarray]:
    a = lanes
    for rc in _ROUND_CONSTANTS:
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rotl(c[(x + 1) % 5], 1) for x in range(5)]
        b: list[np.ndarray] = [np.empty(0, np.uint64)] * 25
        for i in range(25):
            b[_PI[i]] = _rotl(a[i] ^ d[i % 5], _ROTATIONS[i])
        a = [b[i] ^ (~b[(i % 5 + 1) % 5 + 5 * (i // 5)] & b[(i % 5 + 2) % 5 + 5 * (i // 5)]) for i in range(25)]
        a[0] = a[0] ^ rc
    return a


def keccak256_batch(messages: np.ndarray) -> np.ndarray:
    """keccak256 of each row of ``messages`` (uint8, shape (n, length), length < 136): shape (n, 32)."""
    n, length = messages.shape
    if length >= RATE:
        raise PoflValueError(f"keccak256_batch hashes messages under {RATE} bytes, got {length}")
    block = np.zeros((n, 200), dtype=np.uint8)
    block[:, :length] = messages
    block[:, length] ^= 0x01  # Keccak's padding (not SHA-3's 0x06)
    block[:, RATE - 1] ^= 0x80
    words = block.view("<u8")  # (n, 25) little-endian lanes
    state = _keccak_f([np.ascontiguousarray(words[:, i]) for i in range(25)])
    return np.stack(state[:4], axis=1).astype("<u8").view(np.uint8).reshape(n, 32)


def pow_prefix(parent_hash: bytes, digest: bytes, miner: str) -> bytes:
    """The 84 bytes a miner's nonces follow: parentHash || digest || miner (20 bytes)."""
    address = bytes.fromhex(miner.removeprefix("0x"))
    if len(parent_hash) != 32 or len(digest) != 32 or len(address) != 20:
        raise PoflValueError("pow_prefix needs a 32-byte parent hash, a 32-byte digest and a 20-byte address")
    return parent_hash + digest + address


def leading_zero_hex(hashes: np.ndarray) -> np.ndarray:
    """The number of leading zero hex digits of each 32-byte hash (rows of ``hashes``), up to 16."""
    top = hashes[:, :8].copy().view(">u8")[:, 0]  # the first 8 bytes, big-endian
    zeros = np.full(len(top), 16, dtype=np.int64)
    nonzero = top != 0
    bits = np.floor(np.log2(top[nonzero].astype(np.float64))).astype(np.int64)
    # float64's log2 may round up just under a power of two: correct against the integer
    bits -= (np.uint64(1) << bits.astype(np.uint64)) > top[nonzero]
    zeros[nonzero] = (63 - bits) // 4
    return zeros


@dataclass(frozen=True)
class Solution:
    """A nonce whose hash meets the difficulty, after ``tried`` hashes."""

    nonce: int
    hash: bytes
    tried: int


def hash_nonces(prefix: bytes, start: int, count: int) -> np.ndarray:
    """The PoW hashes of nonces ``start .. start + count - 1`` after ``prefix``: shape (count, 32)."""
    if start < 0 or start + count > 2**64:
        raise PoflValueError("nonces are searched within [0, 2**64)")
    messages = np.zeros((count, MESSAGE_BYTES), dtype=np.uint8)
    messages[:, :PREFIX_BYTES] = np.frombuffer(prefix, dtype=np.uint8)
    nonces = np.arange(start, start + count, dtype=np.uint64)
    messages[:, MESSAGE_BYTES - 8:] = nonces.astype(">u8").view(np.uint8).reshape(count, 8)
    return keccak256_batch(messages)


def search(prefix: bytes, zeros: int, start: int, count: int) -> Solution | None:
    """The first nonce in ``start .. start + count - 1`` whose hash has ``zeros`` (<= 16) leading zero hex
    digits, or None."""
    if not 0 < zeros <= 16:
        raise PoflValueError(f"search looks for 1 to 16 leading zero hex digits, not {zeros}")
    hashes = hash_nonces(prefix, start, count)
    hits = np.flatnonzero(leading_zero_hex(hashes) >= zeros)
    if not len(hits):
        return None
    i = int(hits[0])
    return Solution(start + i, bytes(hashes[i]), i + 1)


def race(prefixes: Mapping[str, bytes], zeros: int, batch: int, rng: random.Random) -> tuple[str, Solution, int]:
    """Miners hashing side by side at one rate: each tick every miner hashes its next ``batch`` nonces (from a
    random start of its own); the first tick with a solution ends the race, won by the miner whose solution came
    earliest in its batch. Returns (the winner, its solution, the hashes computed by all miners)."""
    if not prefixes:
        raise PoflValueError("race: no miner is mining")
    starts = {m: rng.randrange(2**63) for m in prefixes}
    hashed, tick = 0, 0
    while True:
        found = []
        for miner, prefix in prefixes.items():
            solution = search(prefix, zeros, starts[miner] + tick * batch, batch)
            hashed += batch
            if solution is not None:
                found.append((solution.tried, miner, solution))
        if found:
            _, winner, solution = min(found, key=lambda f: (f[0], f[1]))
            return winner, solution, hashed
        tick += 1
