"""A user's evaluation set as an .npz file (``pofl deploy --holdout DATA``).

The accepted layout: an uncompressed or compressed ``.npz`` (``numpy.savez`` /
``numpy.savez_compressed``) holding exactly two arrays,

    images   uint8, shape (N, 28, 28)         pixels 0..255, MNIST's orientation
    labels   any integer dtype, shape (N,)    classes 0..9

with 1 <= N <= MAX_FILE_IMAGES. Object arrays are refused: the file is opened with
``allow_pickle=False``, so nothing in it is ever unpickled.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from numpy.lib.npyio import NpzFile

from offchain.errors import PoflValueError
from offchain.fl.images import LabeledImages
from offchain.holdout.shard_format import check_labeled

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_FILE_IMAGES = 1_000_000
ARRAYS = ("images", "labels")


class DatasetFileError(PoflValueError):
    """An evaluation-set file that is not in the accepted .npz layout."""


def save_dataset(path: str | Path, data: LabeledImages) -> None:
    """Write ``data`` in the accepted layout (compressed)."""
    check_labeled(data.images, data.labels, str(path), DatasetFileError, MAX_FILE_IMAGES)
    np.savez_compressed(path, images=data.images, labels=data.labels)


def load_dataset(path: str | Path) -> LabeledImages:
    """The evaluation set in ``path``; :class:`DatasetFileError` unless it has the module's layout."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(f"{path}: no such file; give an .npz with arrays 'images' (uint8 N x 28 x 28) and "
                               f"'labels' (integers 0..9)")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DatasetFileError(f"{path}: {path.stat().st_size} bytes, over the {MAX_FILE_BYTES}-byte limit")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, NpzFile):
            raise DatasetFileError(f"{path}: a single .npy array, expected an .npz with arrays {list(ARRAYS)}")
        with loaded as npz:
            names = sorted(npz.files)
            arrays = {name: npz[name] for name in ARRAYS} if names == sorted(ARRAYS) else {}
    except DatasetFileError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:  # object arrays, not a zip, truncated
        raise DatasetFileError(f"{path}: not a readable .npz without object arrays ({exc})") from None
    if names != sorted(ARRAYS):
        raise DatasetFileError(f"{path}: holds arrays {names}, expected exactly {list(ARRAYS)}")
    return check_labeled(arrays["images"], arrays["labels"], str(path), DatasetFileError, MAX_FILE_IMAGES)
