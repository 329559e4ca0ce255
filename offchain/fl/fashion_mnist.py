"""Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): Zalando's 28x28 clothing images, MNIST's format.

Looked for, in order, in ``$POFL_FASHION_MNIST_DIR``, in Debian's ``dataset-fashion-mnist``
package (``/usr/share/datasets/fashion-mnist``; ``apt-get install dataset-fashion-mnist``) and
in the cache (``$POFL_CACHE/fashion-mnist``); when none holds the four files, they are
downloaded once from Zalando into the cache. Every file is checked against the sha256 of its
uncompressed bytes (the same for Zalando's gzip files and Debian's recompressed ones), so a
corrupt or other file is an error wherever it came from. Offline, the loader fails at once and
says how to get the files.
"""

from __future__ import annotations

import os
import urllib.error
from functools import cache
from pathlib import Path

import numpy as np

from offchain.errors import PoflRuntimeError
from offchain.fl import federation as fedmod
from offchain.fl.download import cache_root, download
from offchain.fl.images import LabeledImages, Split, read_split

ZALANDO_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
INSTALL_HINT = "apt-get install dataset-fashion-mnist"

# sha256 of the uncompressed idx files (Zalando publishes md5s of its gzip files; these are of their contents).
FASHION_MNIST_FILES: dict[str, tuple[str, str]] = {
    "train-images": ("train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels": ("train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "test-images": ("t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "test-labels": ("t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# The federation, as for MNIST's shipped benchmark: 1,000 clients, Dirichlet(0.5) label skew, seed 0.
N_CLIENTS, ALPHA, FEDERATION_SEED = 1000, 0.5, 0


class FashionMnistUnavailable(PoflRuntimeError):
    """Fashion-MNIST is neither installed nor cached, and cannot be downloaded."""


def cache_dir() -> Path:
    return cache_root() / "fashion-mnist"


def search_dirs() -> list[Path]:
    """Where the files are looked for, first match wins."""
    override = os.environ.get("POFL_FASHION_MNIST_DIR")
    return [Path(override)] if override else [DEBIAN_DIR, cache_dir()]


def _complete(directory: Path) -> bool:
    return all((directory / name).is_file() for name, _ in FASHION_MNIST_FILES.values())


def fetch(target: Path | None = None, url: str = ZALANDO_URL, timeout: float = 10.0) -> Path:
    """Download the four files from Zalando into ``target`` (default: the cache); returns the directory."""
    target = target or cache_dir()
    for name, _ in FASHION_MNIST_FILES.values():
        if (target / name).is_file():
            continue
        try:
            download(url + name, target / name, timeout)
        except (urllib.error.URLError, OSError) as exc:
            raise FashionMnistUnavailable(
                f"Fashion-MNIST is not installed and {url + name} cannot be downloaded ({exc}); this machine may be "
                f"offline. Install Debian's package ({INSTALL_HINT}), or put the four files "
                f"{', '.join(n for n, _ in FASHION_MNIST_FILES.values())} in {target} (or in the directory "
                f"named by $POFL_FASHION_MNIST_DIR)") from None
    return target


def locate() -> Path:
    """The first directory of :func:`search_dirs` that holds all four files, downloading them if none does
    (into ``$POFL_FASHION_MNIST_DIR`` when it is set, else the cache)."""
    dirs = search_dirs()
    for directory in dirs:
        if _complete(directory):
            return directory
    return fetch(dirs[0] if os.environ.get("POFL_FASHION_MNIST_DIR") else cache_dir())


def read_fashion_mnist(split: Split, data_dir: Path) -> LabeledImages:
    """Fashion-MNIST's ``split`` from ``data_dir``, checksum-verified."""
    return read_split(data_dir, FASHION_MNIST_FILES, split,
                      remedy=f"delete it to download it again, or reinstall Debian's package ({INSTALL_HINT})")


@cache
def load_fashion_mnist(split: Split = "train") -> LabeledImages:
    """Fashion-MNIST's ``train`` (60,000) or ``test`` (10,000) split, found or fetched as the module says."""
    return read_fashion_mnist(split, locate())


def benchmark_federation(train: LabeledImages | None = None) -> fedmod.Federation:
    """Fashion-MNIST's federation: 1,000 clients, Dirichlet(0.5) label skew, seed 0 (as MNIST's benchmark)."""
    labels = (train or load_fashion_mnist("train")).labels
    return fedmod.dirichlet(np.asarray(labels), N_CLIENTS, ALPHA, FEDERATION_SEED)
