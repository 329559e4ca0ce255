"""Model weights as canonical safetensors bytes, and their safe, checked loading.

Same weights give the same bytes (tensors sorted by name, contiguous CPU little-endian, dtype
kept, fixed metadata keys), hence the same CID, whatever device trained them. Loading never
unpickles: it parses the safetensors header itself, checks every tensor name, shape and dtype
against the expected architecture, rejects NaN/Inf and anything over a size limit, and only
then lets safetensors build the tensors.
"""

from __future__ import annotations

import itertools
import json
import math
import struct
import sys
from collections.abc import Mapping

import torch
from safetensors.torch import load as st_load

from offchain.errors import PoflValueError
from offchain.fl.models import architecture_id, build_model, tensor_spec

if sys.byteorder != "little":  # safetensors is little-endian; tensor bytes are written as they lie in memory
    raise ImportError("offchain.store.model_bytes needs a little-endian machine")

FORMAT = "pofl-model-v1"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_DTYPE_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64", "I64": "int64",
                "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}
_DTYPE_CODES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
                torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
                torch.bool: "BOOL"}
_DTYPE_SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


class ModelFormatError(PoflValueError):
    """Bytes that are not a valid model of the expected architecture; nothing was loaded."""


class ModelTooLarge(ModelFormatError):
    """Model bytes over the configured size limit."""


def model_to_bytes(state: Mapping[str, torch.Tensor], architecture: str, round_id: int = 0) -> bytes:
    """Canonical safetensors bytes of ``state`` (a state dict) with the architecture in the metadata.

    Written here rather than by ``safetensors.save``, whose metadata order varies between
    calls: the header is compact JSON with sorted keys, tensors are laid out in name order,
    and the header is padded with spaces to a multiple of 8 bytes, as the format allows.
    """
    metadata = {"architecture": architecture, "architecture_id": architecture_id(architecture).hex(),
                "format": FORMAT, "round": str(int(round_id))}
    header: dict[str, object] = {"__metadata__": metadata}
    chunks, offset = [], 0
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        raw = tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        header[name] = {"dtype": _DTYPE_CODES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def read_header(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[dict[str, dict], dict[str, str]]:
    """Parse and check a safetensors header: (tensor entries by name, metadata)."""
    if len(data) > max_bytes:
        raise ModelTooLarge(f"model is {len(data)} bytes, over the {max_bytes}-byte limit")
    if len(data) < 8:
        raise ModelFormatError("not a safetensors file: shorter than its 8-byte header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8 or header_len > 1024 * 1024:
        raise ModelFormatError(f"not a safetensors file: header length {header_len} does not fit {len(data)} bytes")
    try:
        header = json.loads(data[8:8 + header_len])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFormatError("not a safetensors file: its header is not JSON") from None
    if not isinstance(header, dict):
        raise ModelFormatError("not a safetensors file: its header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    body = len(data) - 8 - header_len
    spans = []
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise ModelFormatError(f"tensor {name!r}: malformed header entry")
        dtype, shape, (start, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in _DTYPE_SIZES:
            raise ModelFormatError(f"tensor {name!r}: unsupported dtype {dtype}")
        if not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ModelFormatError(f"tensor {name!r}: bad shape {shape}")
        if end - start != math.prod(shape) * _DTYPE_SIZES[dtype] or not 0 <= start <= end <= body:
            raise ModelFormatError(f"tensor {name!r}: data offsets {start}..{end} do not match its shape and dtype")
        spans.append((start, end))
    spans.sort()
    if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
        raise ModelFormatError("tensors overlap in the data section")
    return header, metadata


def load_model_bytes(data: bytes, architecture: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                     ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The state dict in ``data``, checked against ``architecture``; raises ModelFormatError otherwise."""
    header, metadata = read_header(data, max_bytes)
    expected = tensor_spec(build_model(architecture))
    if metadata.get("format") != FORMAT:
        raise ModelFormatError(f"metadata format is {metadata.get('format')!r}, expected {FORMAT!r}")
    if metadata.get("architecture_id") != architecture_id(architecture).hex():
        raise ModelFormatError(f"model is of architecture {metadata.get('architecture')!r} "
                               f"({metadata.get('architecture_id')}), expected {architecture!r}")
    if set(header) != set(expected):
        missing, extra = sorted(set(expected) - set(header)), sorted(set(header) - set(expected))
        raise ModelFormatError(f"tensor names differ from {architecture}: missing {missing}, unexpected {extra}")
    for name, (shape, dtype) in expected.items():
        entry = header[name]
        if list(entry["shape"]) != shape:
            raise ModelFormatError(f"tensor {name!r} has shape {entry['shape']}, expected {shape}")
        if _DTYPE_NAMES[entry["dtype"]] != dtype:
            raise ModelFormatError(f"tensor {name!r} has dtype {_DTYPE_NAMES[entry['dtype']]}, expected {dtype}")
    tensors = st_load(bytes(data))
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelFormatError(f"tensor {name!r} holds NaN or Inf values")
    return {name: tensors[name] for name in sorted(tensors)}, dict(metadata)
