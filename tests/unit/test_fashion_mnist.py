"""Fashion-MNIST: Debian's files (CI installs dataset-fashion-mnist), the checksum, and the federated loader (the
offline error: tests/node/test_downloads.py)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from offchain.fl import fashion_mnist as fm
from offchain.fl.images import DataIntegrityError, encode_idx

FILES = [name for name, _ in fm.FASHION_MNIST_FILES.values()]


def test_debian_files_load_with_the_published_contents(installed: Path) -> None:
    train, test = fm.read_fashion_mnist("train", installed), fm.read_fashion_mnist("test", installed)
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert np.bincount(train.labels).tolist() == [6000] * 10 and np.bincount(test.labels).tolist() == [1000] * 10
    assert len(fm.CLASSES) == 10


def test_federated_fashion_mnist_is_a_dirichlet_split_of_every_sample(installed: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from offchain.datasets import load

    monkeypatch.setenv("POFL_FASHION_MNIST_DIR", str(installed))
    fm.load_fashion_mnist.cache_clear()
    fed, test = load("federated_fashion_mnist", return_test=True)
    assert len(fed) == fm.N_CLIENTS and len(test) == 10000
    federation = fm.benchmark_federation()
    assert np.array_equal(np.sort(federation.indices), np.arange(60000))
    assert sum(len(fed[f"client_{i}"]) for i in range(fm.N_CLIENTS)) == 60000
    client = fed["client_7"]
    assert np.array_equal(client.y_data, fm.load_fashion_mnist("train").labels[federation.client(7)])


def _fake_files(directory: Path) -> None:
    """Well-formed idx files of the right names but other contents."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        array = np.zeros((3, 28, 28) if "images" in name else (3,), dtype=np.uint8)
        (directory / name).write_bytes(gzip.compress(encode_idx(array)))


def test_a_file_of_other_contents_is_refused_by_its_checksum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_files(tmp_path / "fashion")
    monkeypatch.setenv("POFL_FASHION_MNIST_DIR", str(tmp_path / "fashion"))
    assert fm.locate() == tmp_path / "fashion"  # the directory named by the environment wins
    with pytest.raises(DataIntegrityError, match="sha256 .* expected c59f468a.* delete it to download it again"):
        fm.read_fashion_mnist("train", fm.locate())
    with pytest.raises(DataIntegrityError, match="expected 5b4141f0"):
        fm.read_fashion_mnist("test", fm.locate())


def test_a_corrupted_debian_file_is_refused(installed: Path, tmp_path: Path) -> None:
    for name in FILES:
        shutil.copy(installed / name, tmp_path / name)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] ^= 1
    labels.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataIntegrityError, match="sha256 .* expected 0402a96d"):
        fm.read_fashion_mnist("test", tmp_path)


