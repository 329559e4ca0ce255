"""The scaled mode's pure Python parts, in process: the Merkle tree's proofs at every size, the seats' sampling
as a permutation, the blob's packing and the reports' lanes (their agreement with the contract is checked on
Anvil in tests/contract/test_scaled.py)."""

from __future__ import annotations

import pytest

from offchain.chain.blobs import BLOB_CAPACITY, BLOB_SIZE, BlobTooLarge, pack_blob, unpack_blob
from offchain.chain.scaled import (
    NO_REPORT,
    Leaf,
    MerkleTree,
    SignedClaim,
    decode_claim_list,
    encode_claim_list,
    leaf_hash,
    pack_reports,
    permute,
    process_proof,
    seat_indices,
    sorted_claims,
)
from offchain.errors import PoflValueError


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_every_leaf_proves_the_root_at_every_tree_size(n: int) -> None:
    leaves = [Leaf(i, f"0x{i + 1:040x}", 9000 - i, bytes([i + 1]) * 32) for i in range(n)]
    tree = MerkleTree.of_leaves(3, leaves)
    for i, leaf in enumerate(leaves):
        assert process_proof(tree.proof(i), leaf_hash(3, leaf)) == tree.root
    assert process_proof(tree.proof(0), leaf_hash(4, leaves[0])) != tree.root  # the round is in the leaf
    with pytest.raises(PoflValueError):
        MerkleTree([])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 17, 100, 257])
def test_the_seats_are_a_permutation_of_the_indices(n: int) -> None:
    assert sorted(seat_indices(b"\x07" * 32, n, n)) == list(range(n))
    assert seat_indices(b"\x07" * 32, n, n) != seat_indices(b"\x08" * 32, n, n) or n <= 2
    with pytest.raises(PoflValueError):
        permute(b"\x07", 0, n + 2)


def test_the_claim_list_packs_into_a_blob_and_back() -> None:
    claims = [SignedClaim(9, f"0x{i + 1:040x}", 7000 + i % 3, bytes([i % 256]) * 32,
                          bytes([i % 251]) * 65) for i in range(1066)]
    ordered = sorted_claims(claims)
    assert [c.accuracy_bps for c in ordered] == sorted((c.accuracy_bps for c in claims), reverse=True)
    blob = encode_claim_list(ordered)
    assert len(blob) == BLOB_SIZE and all(blob[i] == 0 for i in range(0, BLOB_SIZE, 32))
    assert [(c.miner.lower(), c.accuracy_bps, c.commitment, c.signature) for c in decode_claim_list(9, blob)] == \
        [(c.miner.lower(), c.accuracy_bps, c.commitment, c.signature) for c in ordered]
    with pytest.raises(BlobTooLarge):
        encode_claim_list(ordered + ordered[:1])
    assert unpack_blob(pack_blob(b"abc"))[:3] == b"abc" and len(unpack_blob(pack_blob(b""))) == BLOB_CAPACITY


def test_reports_pack_sixteen_bits_a_candidate() -> None:
    packed = pack_reports([8000, None, 0])
    assert [(packed >> (16 * i)) & 0xFFFF for i in range(3)] == [8000, NO_REPORT, 0]
    with pytest.raises(PoflValueError):
        pack_reports([1] * 13)


def test_a_scaled_run_refuses_a_per_miner_config_and_a_wrong_number_of_keys(tmp_path) -> None:
    """offchain.app.scaled_run.run_scaled checks its inputs before it loads, deploys or registers anything."""
    from offchain.app.scaled_run import run_scaled
    from offchain.errors import ConfigError
    from offchain.miner.run_config import RunConfig
    from offchain.store import LocalStore

    store = LocalStore(tmp_path)
    with pytest.raises(ConfigError, match="scaled=True"):
        run_scaled(None, [None] * 10, RunConfig(), store, rounds=1)  # type: ignore[arg-type, list-item]
    with pytest.raises(ConfigError, match="--miners 10 needs as many miner keys, got 3"):
        run_scaled(None, [None] * 3, RunConfig(scaled=True), store, rounds=1)  # type: ignore[arg-type, list-item]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # nothing was stored
