"""MNIST, shipped with the project (``offchain/assets/mnist``) and checked by sha256 before use."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from offchain.fl.images import LabeledImages, Split, read_split
from offchain.paths import DATA_DIR

MNIST_DIR = DATA_DIR / "mnist"

# sha256 of the uncompressed idx files (the published md5s are in offchain/assets/LICENSE-MNIST.md's source).
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train-images": ("train-images-idx3-ubyte.gz", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels": ("train-labels-idx1-ubyte.gz", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "test-images": ("t10k-images-idx3-ubyte.gz", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "test-labels": ("t10k-labels-idx1-ubyte.gz", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}


@cache
def load_mnist(split: Split = "train", data_dir: Path = MNIST_DIR) -> LabeledImages:
    """MNIST's ``train`` (60,000) or ``test`` (10,000) split, checksum-verified."""
    return read_split(data_dir, MNIST_FILES, split)
