"""Loaders: shipped MNIST (checksummed), idx format, EMNIST (.mat fixture made here), federation files (the offline
error: tests/node/test_downloads.py)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from offchain.fl import emnist
from offchain.fl.federation import BENCHMARK_FEDERATION, from_file
from offchain.fl.images import DataIntegrityError, decode_idx, encode_idx
from offchain.fl.mnist import MNIST_FILES, load_mnist


def test_mnist_loads_with_expected_shapes_and_hash() -> None:
    train, test = load_mnist("train"), load_mnist("test")
    assert train.images.shape == (60000, 28, 28) and train.images.dtype == np.uint8
    assert test.images.shape == (10000, 28, 28) and test.labels.dtype == np.int64
    assert np.bincount(test.labels).tolist()[:3] == [980, 1135, 1032]
    assert test.sha256() == "18489308deedfe2f7bd3a11e599a597126f161d991b1ffcffb71642aa76f7f62"


def test_checksum_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    src = Path(load_mnist.__wrapped__.__defaults__[1])  # the shipped directory
    for name, _ in MNIST_FILES.values():
        shutil.copy(src / name, tmp_path / name)
    labels = tmp_path / MNIST_FILES["test-labels"][0]
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] ^= 1
    labels.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataIntegrityError, match="sha256 .* expected .* restore it"):
        load_mnist.__wrapped__("test", tmp_path)
    (tmp_path / MNIST_FILES["test-images"][0]).unlink()
    with pytest.raises(DataIntegrityError, match="missing"):
        load_mnist.__wrapped__("test", tmp_path)
    (tmp_path / MNIST_FILES["train-images"][0]).write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(DataIntegrityError, match="not a valid gzip"):
        load_mnist.__wrapped__("train", tmp_path)


def test_bad_split_and_idx_errors() -> None:
    with pytest.raises(ValueError, match="split must be"):
        load_mnist("validation")  # type: ignore[arg-type]
    with pytest.raises(DataIntegrityError, match="magic"):
        decode_idx(b"\x01\x02\x03\x04")
    with pytest.raises(DataIntegrityError, match="header says"):
        decode_idx(encode_idx(np.zeros((2, 3), np.uint8))[:-1])
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(decode_idx(encode_idx(arr)), arr)


def test_federation_file_loads_and_bad_files_are_refused(tmp_path: Path) -> None:
    fed = from_file(BENCHMARK_FEDERATION, n_samples=60000)
    sizes = fed.sizes()
    assert fed.n_clients == 1000 and (sizes.min(), int(np.median(sizes)), sizes.max()) == (10, 56, 206)
    np.savez(tmp_path / "bad.npz", offsets=np.array([0, 2]))
    with pytest.raises(ValueError, match="lacks array"):
        from_file(tmp_path / "bad.npz")
    np.savez(tmp_path / "oob.npz", offsets=np.array([0, 2]), indices=np.array([0, 70000]))
    with pytest.raises(ValueError, match="outside"):
        from_file(tmp_path / "oob.npz", n_samples=60000)
    np.savez(tmp_path / "offs.npz", offsets=np.array([0, 3]), indices=np.array([0, 1]))
    with pytest.raises(ValueError, match="end at len"):
        from_file(tmp_path / "offs.npz")


def _emnist_fixture(path: Path, n: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n)
    writers = rng.integers(100, 105, n)
    as_matlab = images.transpose(0, 2, 1).reshape(n, 784)  # column-major, as NIST stores them
    split = {"images": as_matlab, "labels": labels.reshape(-1, 1), "writers": writers.reshape(-1, 1)}
    savemat(path, {"dataset": {"train": split, "test": split, "mapping": np.arange(10).reshape(-1, 1)}})
    return images, labels, writers


def test_emnist_loader_reads_the_nist_mat_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    monkeypatch.setenv("POFL_CACHE", str(tmp_path / "cache"))
    mat = tmp_path / "emnist-digits.mat"
    images, labels, writers = _emnist_fixture(mat)
    archive = tmp_path / "matlab.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(mat, "matlab/emnist-digits.mat")
    train, train_writers, test = emnist.load_emnist("digits", archive=archive)
    assert np.array_equal(train.images, images) and np.array_equal(train.labels, labels)
    assert np.array_equal(train_writers, writers) and len(test) == 30


def test_emnist_cached_archive_checksum_is_enforced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POFL_CACHE", str(tmp_path))
    (tmp_path / "emnist").mkdir()
    (tmp_path / "emnist" / "matlab.zip").write_bytes(b"tampered")
    (tmp_path / "emnist" / "matlab.zip.sha256").write_text("0" * 64 + "\n")
    with pytest.raises(DataIntegrityError, match="delete it to download again"):
        emnist.fetch_archive()


def test_emnist_file_of_other_format_is_refused(tmp_path: Path) -> None:
    from scipy.io import savemat

    savemat(tmp_path / "x.mat", {"something": np.zeros(3)})
    with pytest.raises(DataIntegrityError, match="not an EMNIST .mat file"):
        emnist.read_emnist_mat(tmp_path / "x.mat")
