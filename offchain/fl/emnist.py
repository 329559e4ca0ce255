"""Federated EMNIST digits with writer ids, for users with internet.

Source: NIST's EMNIST MATLAB release (Cohen et al., 2017),
https://biometrics.nist.gov/cs_links/EMNIST/matlab.zip, whose ``matlab/emnist-digits.mat``
holds, per split, the images (N x 784, column-major), labels and the writer id of every
sample — the federation by writer that flexBlock's ``federated_emnist`` uses. Reading the
.mat file needs scipy (``pip install 'pofl-chain[emnist]'``).

The download is cached in ``$POFL_CACHE`` (default ``~/.cache/pofl``). NIST publishes no
checksum, so the first download's sha256 is recorded beside it and every later load checks
it (pass ``sha256=`` to pin a known value); the contents are checked for shape and labels too.
Offline, the loader fails at once and says where to put the file.
"""

from __future__ import annotations

import hashlib
import shutil
import urllib.error
import zipfile
from pathlib import Path

import numpy as np

from offchain.errors import PoflRuntimeError
from offchain.fl.download import cache_root, download
from offchain.fl.images import DataIntegrityError, LabeledImages

EMNIST_URL = "https://biometrics.nist.gov/cs_links/EMNIST/matlab.zip"
MEMBER = "matlab/emnist-{split}.mat"


class EmnistUnavailable(PoflRuntimeError):
    """EMNIST is not cached and cannot be downloaded."""


def cache_dir() -> Path:
    return cache_root() / "emnist"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_archive(url: str = EMNIST_URL, sha256: str | None = None, timeout: float = 10.0) -> Path:
    """The cached ``matlab.zip``, downloading it once; checked against ``sha256`` or the first download's."""
    target = cache_dir() / "matlab.zip"
    recorded = target.with_suffix(".zip.sha256")
    if not target.exists():
        try:
            download(url, target, timeout)
        except (urllib.error.URLError, OSError) as exc:
            raise EmnistUnavailable(
                f"cannot download EMNIST from {url} ({exc}); this machine may be offline. Download matlab.zip "
                f"elsewhere and put it at {target}, or use the offline MNIST federation "
                f"(load('federated_mnist'))") from None
        recorded.write_text(_sha256(target) + "\n")
    actual = _sha256(target)
    expected = sha256 or (recorded.read_text().strip() if recorded.exists() else None)
    if expected and actual != expected:
        raise DataIntegrityError(f"{target} has sha256 {actual}, expected {expected}: delete it to download again")
    if not recorded.exists():
        recorded.write_text(actual + "\n")
    return target


def read_emnist_mat(path: Path, split: str = "train") -> tuple[LabeledImages, np.ndarray]:
    """Images, labels and writer ids of ``split`` ('train' or 'test') from an emnist-*.mat file."""
    try:
        from scipy.io import loadmat
    except ImportError:
        raise EmnistUnavailable("reading EMNIST needs scipy: pip install 'pofl-chain[emnist]'") from None
    try:
        dataset = loadmat(path)["dataset"][0][0]
        part = dataset[split][0][0]
        images = np.asarray(part["images"], dtype=np.uint8)
        labels = np.asarray(part["labels"], dtype=np.int64).reshape(-1)
        writers = np.asarray(part["writers"], dtype=np.int64).reshape(-1)
    except (KeyError, IndexError, ValueError) as exc:
        raise DataIntegrityError(f"{path} is not an EMNIST .mat file (dataset/{split}/images|labels|writers): "
                                 f"{exc}") from None
    if images.ndim != 2 or images.shape[1] != 784 or not len(images) == len(labels) == len(writers):
        raise DataIntegrityError(f"{path}: expected N x 784 images with N labels and writers, got {images.shape}, "
                                 f"{labels.shape}, {writers.shape}")
    if labels.min(initial=0) < 0 or labels.max(initial=0) > 61:
        raise DataIntegrityError(f"{path}: labels outside EMNIST's 0..61")
    # MATLAB stores each image column-major: rows of the 784 vector are image columns.
    return LabeledImages(images.reshape(-1, 28, 28).transpose(0, 2, 1).copy(), labels), writers


def load_emnist(split: str = "digits", *, archive: Path | None = None, sha256: str | None = None,
                ) -> tuple[LabeledImages, np.ndarray, LabeledImages]:
    """(train images+labels, train writer ids, test set) of EMNIST ``split`` (e.g. 'digits')."""
    archive = archive or fetch_archive(sha256=sha256)
    extracted = cache_dir() / f"emnist-{split}.mat"
    if not extracted.exists():
        extracted.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zipfile.ZipFile(archive) as zf, zf.open(MEMBER.format(split=split)) as src, \
                    open(extracted, "wb") as out:
                shutil.copyfileobj(src, out)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise DataIntegrityError(f"{archive} has no {MEMBER.format(split=split)}: {exc}") from None
    train, writers = read_emnist_mat(extracted, "train")
    test, _ = read_emnist_mat(extracted, "test")
    return train, writers, test
