"""An evaluation shard as canonical, versioned bytes, and their strict parsing.

A shard is a safetensors file with exactly two tensors and fixed metadata::

    images  U8   [N, 28, 28]   pixels, as MNIST's idx files hold them
    labels  I64  [N]           classes 0..9
    __metadata__ = {"format": "pofl-holdout-shard-v1"}

written canonically (sorted compact JSON header padded to 8 bytes, tensors in name order:
:func:`~offchain.store.model_bytes.canonical_safetensors`), so a shard has one byte form and
one CID. The bytes a requester publishes are untrusted to everyone else: :func:`shard_from_bytes`
bounds the size before reading, parses the header with the model loader's bounded parser,
checks names, dtypes, shapes, metadata and label range, and accepts only the canonical form.
Nothing is ever unpickled. Every refusal is a :class:`ShardFormatError` naming what was wrong.
"""

from __future__ import annotations

import struct

import numpy as np
import torch

from offchain.errors import PoflValueError
from offchain.fl.images import LabeledImages
from offchain.store.model_bytes import ModelFormatError, canonical_safetensors, read_header

FORMAT = "pofl-holdout-shard-v1"
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10
MAX_SHARD_IMAGES = 20_000
MAX_HEADER_BYTES = 1024  # the canonical header is under 300 bytes
MAX_SHARD_BYTES = 8 + MAX_HEADER_BYTES + MAX_SHARD_IMAGES * (IMAGE_SHAPE[0] * IMAGE_SHAPE[1] + 8)
_EXPECTED = {"images": "U8", "labels": "I64"}


class ShardFormatError(PoflValueError):
    """Bytes (or arrays) that are not a valid evaluation shard; nothing was loaded."""


def check_labeled(images: np.ndarray, labels: np.ndarray, what: str,
                  error: type[PoflValueError] = ShardFormatError, max_images: int = MAX_SHARD_IMAGES,
                  ) -> LabeledImages:
    """``images``/``labels`` as LabeledImages if they are a valid evaluation set, else ``error`` naming ``what``.

    Valid: 1 to ``max_images`` uint8 images of 28 x 28, as many integer labels, each in 0..9.
    """
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise error(f"{what}: images must be uint8 of shape (N, 28, 28), got {images.dtype} {images.shape}")
    if not 1 <= len(images) <= max_images:
        raise error(f"{what}: holds {len(images)} images, expected 1 to {max_images}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.shape != (len(images),):
        raise error(f"{what}: labels must be integers of shape ({len(images)},), got {labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() >= N_CLASSES:
        raise error(f"{what}: labels must be in 0..{N_CLASSES - 1}, found {int(labels.min())}..{int(labels.max())}")
    return LabeledImages(np.ascontiguousarray(images), labels.astype(np.int64))


def shard_to_bytes(shard: LabeledImages) -> bytes:
    """The canonical bytes of ``shard`` (checked as :func:`check_labeled` does)."""
    shard = check_labeled(shard.images, shard.labels, "shard")
    tensors = {"images": torch.from_numpy(shard.images.copy()), "labels": torch.from_numpy(shard.labels.copy())}
    return canonical_safetensors(tensors, {"format": FORMAT})


def shard_from_bytes(data: bytes, *, max_bytes: int = MAX_SHARD_BYTES) -> LabeledImages:
    """The shard in ``data``; :class:`ShardFormatError` unless ``data`` is a canonical, valid shard."""
    if len(data) > max_bytes:
        raise ShardFormatError(f"not a valid shard: {len(data)} bytes, over the {max_bytes}-byte limit")
    try:
        header, metadata = read_header(data, max_bytes, MAX_HEADER_BYTES)
    except ModelFormatError as exc:
        raise ShardFormatError(f"not a valid shard: {exc}") from None
    if metadata != {"format": FORMAT}:
        raise ShardFormatError(f"not a valid shard: metadata is {metadata!r}, expected {{'format': {FORMAT!r}}}")
    if set(header) != set(_EXPECTED):
        raise ShardFormatError(f"not a valid shard: tensors {sorted(header)}, expected exactly {sorted(_EXPECTED)}")
    for name, dtype in _EXPECTED.items():
        if header[name]["dtype"] != dtype:
            raise ShardFormatError(f"not a valid shard: tensor {name!r} has dtype {header[name]['dtype']}, "
                                   f"expected {dtype}")
    n = header["labels"]["shape"][0] if len(header["labels"]["shape"]) == 1 else -1
    if header["labels"]["shape"] != [n] or header["images"]["shape"] != [n, *IMAGE_SHAPE]:
        raise ShardFormatError(f"not a valid shard: shapes images {header['images']['shape']}, labels "
                               f"{header['labels']['shape']}, expected [N, 28, 28] and [N]")
    body = 8 + struct.unpack("<Q", data[:8])[0]  # the data section follows the 8-byte length and the header

    def array(name: str, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(data, dtype=dtype, count=count, offset=body + header[name]["data_offsets"][0])

    images = array("images", "u1", n * IMAGE_SHAPE[0] * IMAGE_SHAPE[1]).reshape(n, *IMAGE_SHAPE)
    shard = check_labeled(images, array("labels", "<i8", n), "not a valid shard")
    if shard_to_bytes(shard) != data:
        raise ShardFormatError("not a valid shard: not in the canonical form (compact sorted header, tensors in "
                               "name order); write it with shard_to_bytes")
    return LabeledImages(shard.images.copy(), shard.labels.copy())
