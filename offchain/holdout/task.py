"""A requester's task: its evaluation set split, each shard sealed and put into the store.

:func:`seal_task` is what ``pofl deploy --holdout`` does off chain: split, seal every shard
with a fresh key, ``put`` the ciphertexts (and the public part, in the clear) into the store,
and return what goes on chain (:class:`SealedTask`: per shard the CID and the key hash) and what
stays with the requester (:class:`~offchain.holdout.keyfile.Keys`). :func:`open_shard` is what a
miner or validator does once a key is revealed: check the key against its hash, fetch, decrypt,
parse. Anything wrong with a revealed shard raises a :class:`~offchain.errors.PoflValueError`
(``KeyMismatch``, ``UnsealFailed``, ``ShardFormatError``), which a round driver turns into a
rejection, never a crash; a store that fails raises its ``StoreError``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak

from offchain.errors import PoflValueError
from offchain.fl.images import LabeledImages
from offchain.holdout.keyfile import Keys
from offchain.holdout.sealing import (
    FINAL_INDEX,
    NONCE_BYTES,
    TAG_BYTES,
    UnsealFailed,
    check_key,
    key_hash,
    new_key,
    seal,
    unseal,
)
from offchain.holdout.shard_format import MAX_SHARD_BYTES, shard_from_bytes, shard_to_bytes
from offchain.holdout.split import DEFAULT_FINAL_SIZE, DEFAULT_SHARD_SIZE, HoldoutSplit, split_holdout, stratified_parts
from offchain.store.base import ModelStore

MAX_SEALED_BYTES = 1 + NONCE_BYTES + MAX_SHARD_BYTES + TAG_BYTES


@dataclass(frozen=True)
class SealedShard:
    """One shard as the chain records it."""

    index: int  # 0, 1, ... for selection shards; FINAL_INDEX for the final shard
    cid: str  # of the sealed bytes in the store
    key_hash: bytes  # keccak256 of its key


@dataclass(frozen=True)
class SealedTask:
    """What a task publishes: sealed shards (CID, key hash) and the public part."""

    task: bytes
    shards: tuple[SealedShard, ...]
    final: SealedShard
    public: LabeledImages
    public_cid: str | None  # the public part's shard bytes in the clear; None if the part is empty


def task_id(chain_id: int, contract: str) -> bytes:
    """A task's 32-byte id: ``keccak256(abi.encodePacked(uint256 chainId, address contract))``."""
    try:
        address = bytes.fromhex(contract.removeprefix("0x"))
    except ValueError:
        address = b""
    if len(address) != 20:
        raise PoflValueError(f"contract must be a 20-byte address, got {contract!r}")
    return keccak(chain_id.to_bytes(32, "big") + address)


def seal_split(split: HoldoutSplit, store: ModelStore, task: bytes) -> tuple[SealedTask, Keys]:
    """Seal every shard of ``split`` under a fresh key and put it into ``store``."""
    def put(shard: LabeledImages, index: int, key: bytes) -> SealedShard:
        return SealedShard(index, store.put(seal(shard_to_bytes(shard), key, task, index)), key_hash(key))

    keys = Keys(task, tuple(new_key() for _ in split.shards), new_key())
    sealed = tuple(put(shard, i, key) for i, (shard, key) in enumerate(zip(split.shards, keys.shards, strict=True)))
    final = put(split.final, FINAL_INDEX, keys.final)
    public_cid = store.put(shard_to_bytes(split.public)) if len(split.public) else None
    return SealedTask(task, sealed, final, split.public, public_cid), keys


def seal_task(data: LabeledImages, n_shards: int, store: ModelStore, *, task: bytes,
              shard_size: int = DEFAULT_SHARD_SIZE, final_size: int = DEFAULT_FINAL_SIZE, seed: int = 0,
              ) -> tuple[SealedTask, Keys]:
    """Split ``data`` (:func:`~offchain.holdout.split.split_holdout`), seal and store every shard.

    Parameters:
        data: the requester's evaluation set.
        n_shards: selection shards (one a round).
        store: where the sealed shards (and the public part) are put.
        task: the task's 32-byte id (:func:`task_id`), bound into every ciphertext.
        shard_size, final_size, seed: as in :func:`~offchain.holdout.split.split_holdout`.
    Returns:
        the sealed task (for the chain) and the keys (for :func:`~offchain.holdout.keyfile.write_keys`).
    """
    split = split_holdout(data, n_shards=n_shards, shard_size=shard_size, final_size=final_size, seed=seed)
    return seal_split(split, store, task)


def seal_more_shards(data: LabeledImages, n_shards: int, store: ModelStore, *, task: bytes, first_index: int,
                     shard_size: int = DEFAULT_SHARD_SIZE, seed: int = 0,
                     ) -> tuple[tuple[SealedShard, ...], tuple[bytes, ...]]:
    """``n_shards`` more selection shards of ``shard_size`` images from ``data`` (fresh data: no earlier shard or
    public part may hold its images), stratified by label, sealed under fresh keys for indices ``first_index``,
    ``first_index + 1``, ... of ``task`` and put into ``store``: what the chain records, and the keys."""
    if n_shards < 1 or shard_size < 1 or n_shards * shard_size > len(data):
        raise PoflValueError(f"{n_shards} shards of {shard_size} images need {n_shards * shard_size} images; the "
                             f"set has {len(data)}")
    _rest, *parts = stratified_parts(data.labels, [len(data) - n_shards * shard_size] + [shard_size] * n_shards,
                                     seed)
    keys = tuple(new_key() for _ in parts)
    sealed = tuple(SealedShard(first_index + i, store.put(seal(shard_to_bytes(data.subset(part)), key, task,
                                                               first_index + i)), key_hash(key))
                   for i, (part, key) in enumerate(zip(parts, keys, strict=True)))
    return sealed, keys


def fetch_sealed(store: ModelStore, cid: str) -> bytes:
    """The sealed bytes stored at ``cid`` (public from the task's deployment: a miner may fetch them before
    the key is revealed); ``UnsealFailed`` if they are larger than any sealed shard can be."""
    sealed = store.get(cid)
    if len(sealed) > MAX_SEALED_BYTES:
        raise UnsealFailed(f"sealed shard at {cid} is {len(sealed)} bytes, over the {MAX_SEALED_BYTES}-byte limit")
    return sealed


def unseal_shard(sealed: bytes, key: bytes, expected_hash: bytes, *, task: bytes, index: int) -> LabeledImages:
    """Shard ``index`` of ``task`` from its sealed bytes and a revealed ``key`` (checked against
    ``expected_hash`` first). Raises ``KeyMismatch``, ``UnsealFailed`` or ``ShardFormatError``."""
    check_key(key, expected_hash)
    return shard_from_bytes(unseal(sealed, key, expected_hash, task, index))


def open_shard(store: ModelStore, cid: str, key: bytes, expected_hash: bytes, *, task: bytes, index: int,
               ) -> LabeledImages:
    """The shard ``index`` of ``task`` stored sealed at ``cid``, opened with a revealed ``key``.

    The key is checked against ``expected_hash`` (the chain's record) before anything is fetched;
    then the bytes are fetched, decrypted and parsed. Raises ``KeyMismatch``, ``UnsealFailed`` or
    ``ShardFormatError`` (all ``PoflValueError``) for a bad key, ciphertext or shard.
    """
    check_key(key, expected_hash)
    return unseal_shard(fetch_sealed(store, cid), key, expected_hash, task=task, index=index)
