"""Hold-out evaluation (issue 14): the split, shard bytes, sealing, the key file, and the engine's hold-out rule
and the evaluation-set attacker on real MNIST."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
import torch
from torch.func import functional_call

from offchain.errors import PoflError, PoflValueError
from offchain.fl.evaluation import Evaluator
from offchain.fl.federation import BENCHMARK_FEDERATION, from_file
from offchain.fl.images import LabeledImages
from offchain.fl.mnist import load_mnist
from offchain.fl.simulation import EngineConfig, EvalTrainer, PoFLEngine, ShardsExhausted
from offchain.fl.targets import block_target
from offchain.fl.training import normalize
from offchain.holdout import sealing
from offchain.holdout.dataset_file import DatasetFileError, load_dataset, save_dataset
from offchain.holdout.keyfile import KeyFileError, Keys, read_keys, write_keys
from offchain.holdout.sealing import FINAL_INDEX, KeyMismatch, UnsealFailed, key_hash, new_key, seal, unseal
from offchain.holdout.shard_format import FORMAT, ShardFormatError, shard_from_bytes, shard_to_bytes
from offchain.holdout.split import mnist_split, split_holdout, split_indices, stratified_parts
from offchain.holdout.stats import images_for_resolution, standard_error
from offchain.holdout.task import open_shard, seal_task, task_id
from offchain.store.local import LocalStore
from offchain.store.model_bytes import canonical_safetensors
from tests.support.holdout import TASK

CPU = torch.device("cpu")


def small(n: int = 20, seed: int = 0) -> LabeledImages:
    rng = np.random.default_rng(seed)
    return LabeledImages(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.int64))


# ------------------------------------------------------------------ statistics


def test_standard_error_and_the_shard_sizes_it_justifies() -> None:
    assert standard_error(0.85, 250) == pytest.approx(0.02258, abs=1e-5)  # the README's 2.3 points
    assert standard_error(0.9, 1500) == pytest.approx(0.00775, abs=1e-5)
    assert images_for_resolution(0.85, 0.02) == 319 and standard_error(0.85, 319) <= 0.02 < standard_error(0.85, 318)
    with pytest.raises(PoflValueError, match="accuracy must be between 0 and 1"):
        standard_error(1.5, 10)
    with pytest.raises(PoflValueError, match="at least 1"):
        standard_error(0.5, 0)


# ------------------------------------------------------------------ split


def test_mnist_split_sizes_cover_the_test_set_once(test_set) -> None:
    parts = split_indices(test_set.labels, n_shards=30, shard_size=250, final_size=1500, seed=0)
    assert [len(p) for p in parts] == [1000, 1500] + [250] * 30
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(10_000)), "every image in exactly one part"
    split = mnist_split(0)
    assert len(split.public) == 1000 and len(split.final) == 1500 and len(split.shards) == 30
    assert np.array_equal(split.shards[4].labels, test_set.labels[parts[2 + 4]])


def test_split_is_stratified_by_label(split, test_set) -> None:
    share = np.bincount(test_set.labels, minlength=10) / len(test_set)
    for shard in split.shards:  # the floor or the ceiling of its share of every class
        expected = share * len(shard)
        counts = np.bincount(shard.labels, minlength=10)
        assert np.all((counts >= np.floor(expected)) & (counts <= np.ceil(expected))), counts
    for part in (split.public, split.final):
        assert np.abs(np.bincount(part.labels, minlength=10) - share * len(part)).max() <= 2.5


def test_split_is_deterministic_and_seeded(split) -> None:
    again, other = mnist_split(0), mnist_split(1)
    assert all(np.array_equal(a.images, b.images) for a, b in zip(split.shards, again.shards, strict=True))
    assert np.array_equal(split.final.labels, again.final.labels)
    assert not np.array_equal(split.shards[0].images, other.shards[0].images)


def test_split_refuses_impossible_sizes() -> None:
    data = small(100)
    with pytest.raises(PoflValueError, match=r"need 101 images, the evaluation set has 100: use fewer or smaller"):
        split_holdout(data, n_shards=10, shard_size=9, final_size=11)
    with pytest.raises(PoflValueError, match="need at least one shard"):
        split_holdout(data, n_shards=0, shard_size=10, final_size=10)
    with pytest.raises(PoflValueError, match="add up to the 100 samples"):
        stratified_parts(data.labels, [50, 49], 0)
    no_public = split_holdout(data, n_shards=9, shard_size=10, final_size=10)
    assert len(no_public.public) == 0 and len(no_public.shards) == 9


# ------------------------------------------------------------------ a user's .npz


def test_dataset_file_round_trip_and_rejections(tmp_path) -> None:
    data = small(30)
    save_dataset(tmp_path / "eval.npz", data)
    loaded = load_dataset(tmp_path / "eval.npz")
    assert np.array_equal(loaded.images, data.images) and loaded.labels.dtype == np.int64
    cases = {
        "extra.npz": ({"images": data.images, "labels": data.labels, "writers": data.labels},
                      r"holds arrays \['images', 'labels', 'writers'\], expected exactly"),
        "float.npz": ({"images": data.images.astype(np.float32), "labels": data.labels},
                      r"images must be uint8 of shape \(N, 28, 28\), got float32"),
        "range.npz": ({"images": data.images, "labels": data.labels + 5}, r"labels must be in 0..9, found 5..14"),
        "pickled.npz": ({"images": data.images, "labels": np.array([object()] * 30, dtype=object)},
                        "not a readable .npz without object arrays"),
    }
    for name, (arrays, message) in cases.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(DatasetFileError, match=message):
            load_dataset(tmp_path / name)
    np.save(tmp_path / "one.npy", data.images)
    with pytest.raises(DatasetFileError, match="a single .npy array"):
        load_dataset(tmp_path / "one.npy")
    with pytest.raises(DatasetFileError, match="no such file"):
        load_dataset(tmp_path / "absent.npz")


# ------------------------------------------------------------------ shard bytes


def _safetensors(images: torch.Tensor, labels: torch.Tensor, metadata: dict | None = None, **extra) -> bytes:
    return canonical_safetensors({"images": images, "labels": labels, **extra}, metadata or {"format": FORMAT})


def test_shard_bytes_round_trip_canonically(split) -> None:
    shard = split.shards[0]
    raw = shard_to_bytes(shard)
    back = shard_from_bytes(raw)
    assert np.array_equal(back.images, shard.images) and np.array_equal(back.labels, shard.labels)
    assert back.images.flags.writeable and shard_to_bytes(back) == raw
    assert len(raw) == 8 + struct.unpack("<Q", raw[:8])[0] + 250 * (784 + 8)


def test_shard_parsing_rejects_every_malformed_input() -> None:
    shard = small(4)
    images, labels = torch.from_numpy(shard.images), torch.from_numpy(shard.labels)
    good = shard_to_bytes(shard)
    header_len = struct.unpack("<Q", good[:8])[0]
    spaced = json.dumps(json.loads(good[8:8 + header_len])).encode()  # the same header, not compact
    spaced += b" " * (-len(spaced) % 8)
    cases = [
        (good, {"max_bytes": len(good) - 1}, f"{len(good)} bytes, over the {len(good) - 1}-byte limit"),
        (good[:5], {}, "shorter than its 8-byte header length"),
        (good[:100], {}, "runs past the end"),
        (struct.pack("<Q", 8) + b"not json" + b"", {}, "its header is not JSON"),
        (_safetensors(images, labels, {"format": "pofl-model-v1"}), {}, "metadata is {'format': 'pofl-model-v1'}"),
        (_safetensors(images, labels, writers=labels), {}, r"tensors \['images', 'labels', 'writers'\], expected"),
        (canonical_safetensors({"images": images}, {"format": FORMAT}), {}, r"tensors \['images'\], expected"),
        (_safetensors(images, labels.int()), {}, "tensor 'labels' has dtype I32, expected I64"),
        (_safetensors(images.float(), labels), {}, "tensor 'images' has dtype F32, expected U8"),
        (_safetensors(images[:, :, :27].contiguous(), labels), {}, r"shapes images \[4, 28, 27\]"),
        (_safetensors(images, labels[:3]), {}, r"labels \[3\], expected \[N, 28, 28\] and \[N\]"),
        (_safetensors(images, labels + 10), {}, r"labels must be in 0..9, found 1\d..1\d"),
        (_safetensors(images[:0], labels[:0]), {}, "holds 0 images, expected 1 to"),
        (struct.pack("<Q", len(spaced)) + spaced + good[8 + header_len:], {}, "not in the canonical form"),
    ]
    for raw, kwargs, message in cases:
        with pytest.raises(ShardFormatError, match=message) as caught:
            shard_from_bytes(raw, **kwargs)
        assert isinstance(caught.value, PoflValueError) and str(caught.value).startswith("not a valid shard")


# ------------------------------------------------------------------ sealing


def test_seal_task_round_trip_every_shard(sealed) -> None:
    store, task, keys, split = sealed
    assert len(task.shards) == 30 and [s.index for s in task.shards] == list(range(30))
    assert task.final.index == FINAL_INDEX and len(set(keys.shards) | {keys.final}) == 31, "a key per shard"
    for index in (0, 29):
        record = task.shards[index]
        assert record.key_hash == key_hash(keys.shards[index]) and store.has(record.cid)
        opened = open_shard(store, record.cid, keys.key(index), record.key_hash, task=TASK, index=index)
        assert np.array_equal(opened.images, split.shards[index].images)
        assert np.array_equal(opened.labels, split.shards[index].labels)
    final = open_shard(store, task.final.cid, keys.final, task.final.key_hash, task=TASK, index=FINAL_INDEX)
    assert np.array_equal(final.labels, split.final.labels)
    assert shard_from_bytes(store.get(task.public_cid)).labels.tolist() == split.public.labels.tolist()
    assert sealing.key_hash(keys.shards[0]) != task.shards[0].cid  # the chain records a hash, the store a CID


def test_seal_task_from_data(tmp_path) -> None:
    task, keys = seal_task(small(60), 5, LocalStore(tmp_path), task=TASK, shard_size=10, final_size=10)
    assert len(task.shards) == 5 and len(task.public) == 0 and task.public_cid is None
    assert len(keys.shards) == 5


def test_a_wrong_key_is_refused_before_anything_is_fetched_or_decrypted(sealed) -> None:
    store, task, keys, _ = sealed
    record = task.shards[3]
    for wrong in (keys.shards[4], new_key()):
        with pytest.raises(KeyMismatch, match="not the committed") as caught:
            open_shard(store, record.cid, wrong, record.key_hash, task=TASK, index=3)
        assert isinstance(caught.value, PoflValueError)
        with pytest.raises(KeyMismatch, match="nothing was decrypted"):
            unseal(b"\x01" + bytes(40), wrong, record.key_hash, TASK, 3)
    assert store.gets == 0


def test_tampered_truncated_or_replayed_ciphertexts_do_not_decrypt(sealed) -> None:
    store, task, keys, _ = sealed
    record, key = task.shards[3], keys.shards[3]
    blob = store.get(record.cid)
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 1
    cases = [
        (bytes(flipped), TASK, 3, "does not decrypt under its committed key"),
        (blob[:-1], TASK, 3, "does not decrypt"),
        (blob[:20], TASK, 3, "it is truncated or not a sealed shard"),
        (b"\x02" + blob[1:], TASK, 3, "expected version 01"),
        (blob, TASK, 4, "sealed for another shard or task"),  # replayed as shard 4, with shard 3's own key
        (blob, TASK, FINAL_INDEX, "sealed shard final does not decrypt"),
        (blob, task_id(1, "0x" + "ab" * 20), 3, "sealed for another shard or task"),  # another task
    ]
    for data, task_bytes, index, message in cases:
        with pytest.raises(UnsealFailed, match=message):
            unseal(data, key, record.key_hash, task_bytes, index)


def test_a_sealed_blob_that_is_not_a_shard_is_a_format_error(tmp_path) -> None:
    store, key = LocalStore(tmp_path), new_key()
    cid = store.put(seal(b"{}" * 40, key, TASK, 0))
    with pytest.raises(ShardFormatError, match="not a valid shard") as caught:
        open_shard(store, cid, key, key_hash(key), task=TASK, index=0)
    assert isinstance(caught.value, PoflError)


def test_an_oversized_sealed_blob_is_refused_before_decrypting(sealed, monkeypatch) -> None:
    store, task, keys, _ = sealed
    monkeypatch.setattr("offchain.holdout.task.MAX_SEALED_BYTES", 1000)
    with pytest.raises(UnsealFailed, match=r"is 198229 bytes, over the 1000-byte limit"):
        open_shard(store, task.shards[0].cid, keys.shards[0], task.shards[0].key_hash, task=TASK, index=0)


def test_nonces_are_fresh_and_the_associated_data_binds_task_and_index() -> None:
    key = new_key()
    assert seal(b"x", key, TASK, 0) != seal(b"x", key, TASK, 0)
    assert sealing.associated_data(TASK, 7) == b"pofl-holdout-v1" + TASK + bytes([0, 0, 0, 7])
    with pytest.raises(PoflValueError, match="task id must be 32 bytes"):
        seal(b"x", key, b"short", 0)
    with pytest.raises(PoflValueError, match="key must be 32 bytes"):
        seal(b"x", b"k" * 16, TASK, 0)
    for contract in ("0x1234", "0x" + "zz" * 20):
        with pytest.raises(PoflValueError, match="contract must be a 20-byte address"):
            task_id(1, contract)
    assert task_id(1, "0x" + "ab" * 20) != task_id(2, "0x" + "ab" * 20) != TASK


# ------------------------------------------------------------------ key file


def test_key_file_is_written_0600_and_read_back(tmp_path) -> None:
    keys = Keys(TASK, (new_key(), new_key()), new_key())
    path = tmp_path / "keys.json"
    write_keys(path, keys)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert read_keys(path) == keys and keys.key(FINAL_INDEX) == keys.final and keys.key(1) == keys.shards[1]
    assert keys.shards[0].hex() not in repr(keys)
    assert not [p for p in tmp_path.iterdir() if p.name != "keys.json"], "no temporary file left behind"
    with pytest.raises(KeyFileError, match="exists: it may hold another task's keys"):
        write_keys(path, keys)
    write_keys(path, Keys(TASK, (), keys.final), overwrite=True)
    assert read_keys(path).shards == () and os.stat(path).st_mode & 0o777 == 0o600
    with pytest.raises(KeyFileError, match=r"no key for shard 2"):
        keys.key(2)


def test_key_file_open_to_others_or_malformed_is_refused(tmp_path) -> None:
    path = tmp_path / "keys.json"
    write_keys(path, Keys(TASK, (new_key(),), new_key()))
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match=rf"is open to group or others \(mode -rw-r--r--\).*chmod 600 {path}"):
        read_keys(path)
    os.chmod(path, 0o600)
    doc = json.loads(path.read_text())
    for broken, message in [("{", "not JSON"), (json.dumps({**doc, "format": "v0"}), "not a pofl-holdout-keys-v1"),
                            (json.dumps({**doc, "final": "0x12"}), "final key must be 32 bytes"),
                            (json.dumps({**doc, "shards": ["zz"]}), "expected a 0x-hex string")]:
        path.write_text(broken)
        with pytest.raises(KeyFileError, match=message):
            read_keys(path)
    with pytest.raises(KeyFileError, match="no such key file"):
        read_keys(tmp_path / "absent.json")


# ------------------------------------------------------------------ the engine: hold-out rule


@pytest.mark.parametrize("schedule", ["fixed", "kfc"])
def test_holdout_rounds_judge_candidates_and_parent_on_the_same_shard(test_set, schedule) -> None:
    """After four rounds on an ordinary shard, round 5's shard is made of images the head block mostly gets
    wrong: measured there the parent is at 0.1, far under what it claimed, and a candidate that beats it on
    this shard is a block (compared with the parent's claimed accuracy, no candidate would be). KFC's
    target, too, follows from the parent measured on the round's shard."""
    shard = test_set.subset(np.arange(250))
    config = EngineConfig(threshold=0.0, seed=0, target_schedule=schedule)
    engine = PoFLEngine(from_file(BENCHMARK_FEDERATION), load_mnist("train"), test_set.subset(np.arange(250, 500)),
                        config, CPU, holdout_shards=[shard] * 5)
    on_shard = Evaluator(shard, engine.flat, "simplenet", CPU)
    for _ in range(4):
        parent, had_block = engine.consensus.clone(), engine.has_block
        result = engine.run_round()
        assert result.parent_accuracy == pytest.approx(on_shard.accuracy(parent))
        target = block_target(schedule, 0.0, result.parent_accuracy if had_block else None)
        best = max(result.accuracies.values())
        assert (result.winner is not None) == (best > result.parent_accuracy and best >= target)
    claimed = engine.consensus_accuracy
    rest = test_set.subset(np.arange(500, 10_000))
    correct = _correct(engine, rest)
    hard = rest.subset(np.concatenate([np.flatnonzero(~correct)[:225], np.flatnonzero(correct)[:25]]))
    engine.holdout_shards = (*engine.holdout_shards[:4], hard)
    fifth = engine.run_round()
    assert fifth.parent_accuracy == pytest.approx(25 / 250)
    assert fifth.winner is not None and fifth.accuracies[fifth.winner] > fifth.parent_accuracy
    assert fifth.consensus_accuracy == fifth.accuracies[fifth.winner]
    assert max(fifth.accuracies.values()) < claimed, "the parent's claimed accuracy would have refused every claim"
    with pytest.raises(ShardsExhausted, match="all 5 hold-out shards have judged a round: append shards"):
        engine.run_round()


def _correct(engine: PoFLEngine, data: LabeledImages) -> np.ndarray:
    """Whether the engine's consensus classifies each image of ``data`` right."""
    inputs = normalize(torch.from_numpy(data.images.reshape(len(data), -1).copy()))
    with torch.no_grad():
        logits = functional_call(engine.flat.module, engine.flat.unflatten(engine.consensus), (inputs,))
    return (logits.argmax(dim=1) == torch.from_numpy(data.labels)).numpy()


# ------------------------------------------------------------------ the engine: the evaluation-set attacker


def test_eval_trainer_options_are_checked(test_set) -> None:
    with pytest.raises(PoflValueError, match="client_size >= 1 and epochs >= 1, got 0 and 5"):
        EvalTrainer(0, client_size=0)
    with pytest.raises(PoflValueError, match=r"eval_trainer must be a miner 0..9, got 10"):
        PoFLEngine(from_file(BENCHMARK_FEDERATION), load_mnist("train"), test_set, EngineConfig(), CPU,
                   eval_trainer=EvalTrainer(10))


def test_the_evaluation_set_attacker_pays_in_public_mode_and_not_in_holdout_mode(test_set) -> None:
    """Miner 0 also trains on the 200 evaluation images anyone can read. Judged on those images (public
    mode) it wins the blocks with claims far above what its models score on 1,000 unseen images; judged on
    fresh shards (hold-out mode) its blocks' claims are what they score on unseen images."""
    from bench.holdout import ATTACKER, run_engine

    data = test_set.subset(np.random.default_rng(0).permutation(len(test_set))[:3700])
    split = split_holdout(data, n_shards=5, shard_size=500, final_size=1000, seed=0)
    assert len(split.public) == 200
    federation, train, config = from_file(BENCHMARK_FEDERATION), load_mnist("train"), EngineConfig(threshold=0.0)
    attacker = EvalTrainer(ATTACKER, client_size=200, epochs=5)
    public = run_engine(PoFLEngine(federation, train, split.public, config, CPU, eval_trainer=attacker),
                        split.final, 5)
    holdout = run_engine(PoFLEngine(federation, train, split.public, config, CPU, holdout_shards=split.shards,
                                    eval_trainer=attacker), split.final, 5)
    assert public["attacker"]["blocks"] >= 3 and public["attacker"]["gap_points"] >= 5, public
    assert holdout["attacker"]["blocks"] >= 1 and abs(holdout["attacker"]["gap_points"]) < 2, holdout
