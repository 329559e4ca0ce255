"""PoW's off-chain hashing (the batch keccak256 against eth-hash's, the nonce search, the miners' race) and
flexBlock's PoolConfig in both of its spellings; in process (the contracts are in tests/contract)."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
from eth_utils import keccak

from offchain.chain.powhash import keccak256_batch, leading_zero_hex, pow_prefix, race, search
from offchain.errors import PoflValueError
from offchain.pool import PoolConfig
from offchain.pool.pow_pool import POW_CONFIG


@pytest.mark.parametrize("length", [0, 1, 55, 116, 135])
def test_batch_keccak256_is_keccak256(length: int) -> None:
    messages = np.frombuffer(os.urandom(7 * length), dtype=np.uint8).reshape(7, length)
    assert [bytes(h) for h in keccak256_batch(messages)] == [keccak(bytes(m)) for m in messages]


def test_batch_keccak256_refuses_messages_of_a_rate_or_more() -> None:
    with pytest.raises(PoflValueError, match="under 136 bytes"):
        keccak256_batch(np.zeros((1, 136), dtype=np.uint8))


def test_search_finds_the_first_nonce_under_the_target() -> None:
    prefix = pow_prefix(b"\x01" * 32, b"\x02" * 32, "0x" + "ab" * 20)
    found = search(prefix, 3, 0, 1 << 15)
    assert found is not None
    assert found.hash == keccak(prefix + found.nonce.to_bytes(32, "big")) and found.hash.hex().startswith("000")
    earlier = [keccak(prefix + n.to_bytes(32, "big")).hex() for n in range(found.nonce)]
    assert not any(h.startswith("000") for h in earlier) and found.tried == found.nonce + 1


def test_leading_zero_hex_at_every_boundary() -> None:
    rows = [bytes.fromhex(f"{1 << b:016x}" + "ff" * 24) for b in range(64)] + [bytes(32)]
    zeros = leading_zero_hex(np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), 32))
    assert zeros.tolist() == [(63 - b) // 4 for b in range(64)] + [16]


def test_the_race_is_won_by_the_earliest_solution_and_counts_every_hash() -> None:
    prefixes = {f"m{i}": pow_prefix(bytes([i]) * 32, b"\x09" * 32, "0x" + f"{i:02x}" * 20) for i in range(3)}
    winner, solution, hashed = race(prefixes, 2, 256, random.Random(7))
    assert winner in prefixes and keccak(prefixes[winner] + solution.nonce.to_bytes(32, "big")) == solution.hash
    assert solution.hash.hex().startswith("00") and hashed % (3 * 256) == 0
    assert race(prefixes, 2, 256, random.Random(7)) == (winner, solution, hashed)  # seeded: the same race
    with pytest.raises(PoflValueError, match="no miner"):
        race({}, 2, 256, random.Random(0))


def test_pool_config_takes_both_of_flexblocks_spellings() -> None:
    old = PoolConfig(gossip_before_agg=True, gossip_on_agg=True, aggregate_before_agg=False)
    new = PoolConfig(gossip_before_consensus=True, gossip_on_agg=True, aggregate_before_consensus=False)
    assert old == new == PoolConfig()  # flexBlock's defaults (its PoS pool's)
    assert (old.gossip_before_agg, old.aggregate_before_agg) == (True, False)
    assert PoolConfig(aggregate_before_agg=True).aggregate_before_consensus
    assert not POW_CONFIG.gossip_before_consensus and POW_CONFIG.gossips  # PoW: gossip to the winner only
    assert not PoolConfig(gossip_before_agg=False, gossip_on_agg=False).gossips
    with pytest.raises(PoflValueError, match="not both"):
        PoolConfig(gossip_before_consensus=True, gossip_before_agg=True)
