"""Data sets that cannot be had offline fail fast and say what to do: a download from a closed port on the
loopback interface (a socket, hence not a unit test) is refused at once, and nothing half-written is left."""

from __future__ import annotations

from pathlib import Path

import pytest

from offchain.fl import emnist
from offchain.fl import fashion_mnist as fm


def test_emnist_offline_fails_fast_with_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POFL_CACHE", str(tmp_path))
    with pytest.raises(emnist.EmnistUnavailable, match="cannot download EMNIST .* put it at"):
        emnist.fetch_archive("http://127.0.0.1:9/matlab.zip", timeout=2)
    assert not (tmp_path / "emnist" / "matlab.zip").exists()


def test_offline_without_the_files_fails_fast_with_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POFL_FASHION_MNIST_DIR", str(tmp_path / "empty"))
    with pytest.raises(fm.FashionMnistUnavailable, match="cannot be downloaded .*apt-get install "
                                                         "dataset-fashion-mnist.* put the four files"):
        fm.fetch(tmp_path / "empty", url="http://127.0.0.1:9/", timeout=2)
    assert not any((tmp_path / "empty").glob("*")), "no partial download left behind"
    assert fm.search_dirs() == [tmp_path / "empty"]
    monkeypatch.delenv("POFL_FASHION_MNIST_DIR")
    monkeypatch.setenv("POFL_CACHE", str(tmp_path / "cache"))
    assert fm.search_dirs() == [fm.DEBIAN_DIR, tmp_path / "cache" / "fashion-mnist"]
