"""Labelled images and the idx file format (MNIST's), read only after a sha256 check.

Images are uint8 ``(N, H, W)`` and labels int64 ``(N,)``; the canonical byte form of an
evaluation set (idx3 images followed by idx1 labels) has a sha256 that the consensus contract
stores, so every miner provably evaluates on the same data.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from offchain.errors import PoflValueError

Split = Literal["train", "test"]
"""The two splits of an MNIST-format data set."""

class DataIntegrityError(PoflValueError):
    """A data file is missing, corrupt or not what its checksum says."""


@dataclass(frozen=True)
class LabeledImages:
    """Images (uint8, N x H x W) and their labels (int64, N)."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 3:
            raise PoflValueError(f"images must be uint8 (N, H, W), got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise PoflValueError(f"labels must have shape ({len(self.images)},), got {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: np.ndarray) -> LabeledImages:
        return LabeledImages(self.images[indices], self.labels[indices])

    def sha256(self) -> str:
        """sha256 of the canonical byte form: idx3 images then idx1 labels."""
        return hashlib.sha256(encode_idx(self.images) + encode_idx(self.labels.astype(np.uint8))).hexdigest()


def read_checked(path: Path, sha256: str, remedy: str | None = None) -> bytes:
    """The uncompressed bytes of ``path`` (gzip or raw), verified against ``sha256``; ``remedy`` says
    what to do about a missing or bad file (default: restore it from the repository)."""
    restore = remedy or "restore it from the repository"
    if not path.is_file():
        raise DataIntegrityError(f"{path} is missing: " + (remedy or f"{restore} (git checkout -- {path.name})"))
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataIntegrityError(f"{path} is not a valid gzip file ({exc}); {restore}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise DataIntegrityError(f"{path} has sha256 {digest}, expected {sha256}: the file is corrupt or "
                                 f"another version; {restore}")
    return raw


def decode_idx(raw: bytes) -> np.ndarray:
    """An idx-format array (the MNIST file format) as numpy."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataIntegrityError("not an idx file: bad magic number")
    dtype = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}.get(raw[2])
    if dtype is None:
        raise DataIntegrityError(f"idx file with unknown element type 0x{raw[2]:02x}")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataIntegrityError(f"idx file holds {data.size} elements, its header says {shape}")
    return data.reshape(shape)


def encode_idx(array: np.ndarray) -> bytes:
    """The idx bytes of a uint8 array."""
    if array.dtype != np.uint8:
        raise PoflValueError(f"encode_idx takes uint8 arrays, got {array.dtype}")
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def read_split(data_dir: Path, files: dict[str, tuple[str, str]], split: Split, remedy: str | None = None,
               ) -> LabeledImages:
    """The ``split`` of an MNIST-format data set: ``files`` maps ``{split}-images``/``{split}-labels`` to
    (file name, sha256 of its uncompressed bytes); read-only arrays, checksum-verified."""
    if split not in ("train", "test"):
        raise PoflValueError(f"split must be 'train' or 'test', got {split!r}")
    images_name, images_sha = files[f"{split}-images"]
    labels_name, labels_sha = files[f"{split}-labels"]
    images = decode_idx(read_checked(data_dir / images_name, images_sha, remedy))
    labels = decode_idx(read_checked(data_dir / labels_name, labels_sha, remedy)).astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return LabeledImages(images, labels)
