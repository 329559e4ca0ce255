"""Model weights as canonical safetensors bytes, and their safe, checked loading.

Same weights give the same bytes (tensors sorted by name, contiguous CPU little-endian, dtype
kept, fixed metadata), hence the same CID, whatever device trained them or in which round: a model
is its weights. Its **content digest** (:func:`content_digest`) is the sha2-256 digest of the
CIDv0 of those canonical bytes, a pure function of the tensors' names, dtypes, shapes and values
(and the deployment's architecture); :func:`check_canonical` refuses any other encoding of the same
tensors (other metadata, another header layout, another CID kind), so re-encoding a model never
makes it new (docs/protocol.md, "A model is its weights"). Loading never
unpickles: it parses the safetensors header itself (bounded in length and nesting before any
JSON parser sees it, so a hostile header cannot exhaust the stack), checks every tensor name,
shape and dtype against the expected architecture, rejects NaN/Inf and anything over a size
limit, and only then lets safetensors build the tensors. Every refusal is a ModelFormatError.
"""

from __future__ import annotations

import json
import re
import reprlib
import struct
import sys
from collections import Counter
from collections.abc import Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load

from offchain.errors import PoflValueError
from offchain.fl.architectures import architecture_id, build_model, tensor_spec
from offchain.store.cid import cid_to_digest, compute_cid

if sys.byteorder != "little":  # safetensors is little-endian; tensor bytes are written as they lie in memory
    raise ImportError("offchain.store.model_bytes needs a little-endian machine")

FORMAT = "pofl-model-v1"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024  # for any architecture; load_model_bytes allows what the expected one needs
MAX_HEADER_DEPTH = 3  # {"name": {"shape": [1, 2]}}: object -> tensor entry -> list of integers
_METADATA_BUDGET = 4096
_ENTRY_BUDGET = 128
_DIM_BUDGET = 24
_ENTRY_KEYS = frozenset({"dtype", "shape", "data_offsets"})
_STRUCTURAL = re.compile(r'[\[\]{}"]')
_IN_STRING = re.compile(r'["\\]')
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


class NonCanonicalModel(ModelFormatError):
    """A valid model whose bytes or CID are not the canonical encoding of its tensors: another encoding of a
    model that has a content digest of its own (a copy re-encoded to look new is one)."""


def model_to_bytes(state: Mapping[str, torch.Tensor], architecture: str) -> bytes:
    """Canonical safetensors bytes of ``state`` (a state dict) with the architecture in the metadata.

    The metadata is fixed: ``architecture``, ``architecture_id`` and ``format`` only (no round, no
    author), so the bytes are a pure function of the tensors and the architecture."""
    metadata = {"architecture": architecture, "architecture_id": architecture_id(architecture).hex(),
                "format": FORMAT}
    return canonical_safetensors(state, metadata)


def content_digest(state: Mapping[str, torch.Tensor], architecture: str) -> bytes:
    """The 32-byte content digest of ``state``: the sha2-256 digest of the CIDv0 (Kubo's ``ipfs add`` layout)
    of :func:`model_to_bytes`. What the contract records as a model's digest, so the same tensors (names,
    dtypes, shapes, values) have one digest however a file held them."""
    return cid_to_digest(compute_cid(model_to_bytes(state, architecture)))[0]


def check_canonical(data: bytes, cid: str, state: Mapping[str, torch.Tensor], architecture: str) -> None:
    """Refuse (NonCanonicalModel) ``data`` fetched under ``cid`` unless they are the canonical bytes of ``state``
    (its loaded tensors) and ``cid`` their canonical CIDv0: only then is the digest ``cid`` carries the model's
    content digest."""
    canonical = model_to_bytes(state, architecture)
    if bytes(data) != canonical:
        raise NonCanonicalModel(f"{cid} holds its tensors in a non-canonical encoding (other metadata or header "
                                f"layout than pofl's model_to_bytes): a re-encoded model is measured as a mismatch; "
                                f"its canonical CID is {compute_cid(canonical)}")
    expected = compute_cid(canonical)
    if cid != expected:
        raise NonCanonicalModel(f"{cid} is not the canonical CID of its bytes ({expected}, CIDv0): the same model "
                                f"under another CID kind is measured as a mismatch")


def canonical_safetensors(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> bytes:
    """Safetensors bytes of ``tensors`` and ``metadata``: the same tensors give the same bytes.

    Written here rather than by ``safetensors.save``, whose metadata order varies between
    calls: the header is compact JSON with sorted keys, tensors are laid out in name order,
    and the header is padded with spaces to a multiple of 8 bytes, as the format allows.
    """
    header: dict[str, object] = {"__metadata__": dict(metadata)}
    chunks, offset = [], 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().to("cpu").contiguous()
        raw = tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        header[name] = {"dtype": _DTYPE_CODES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def max_header_length(spec: Mapping[str, tuple[list[int], str]]) -> int:
    """The longest header a model with these tensors may have: what the format needs, with room to spare.

    Each tensor entry gets its quoted name, ``_ENTRY_BUDGET`` bytes (keys, dtype, two 20-digit
    offsets and the spaces a non-compact JSON writer puts after ``:`` and ``,``) and
    ``_DIM_BUDGET`` bytes per dimension; the metadata and the padding to 8 bytes get
    ``_METADATA_BUDGET``. Built-in models need about 500 bytes and are allowed about 5 KiB; never
    more than MAX_HEADER_BYTES, whatever the architecture.
    """
    need = _METADATA_BUDGET + sum(len(json.dumps(name)) + _ENTRY_BUDGET + _DIM_BUDGET * len(shape)
                                  for name, (shape, _) in spec.items())
    return min(need, MAX_HEADER_BYTES)


def _check_nesting(text: str) -> None:
    """Refuse JSON nested deeper than MAX_HEADER_DEPTH, without recursing.

    ``json.loads`` recurses once per level in C; a process whose recursion limit was raised
    (py_ecc, imported by web3, sets 100000) dies of a segfault on a deep enough header instead of
    getting a RecursionError. This counts brackets outside strings, jumping from one bracket,
    quote or backslash to the next, so it takes linear time whatever the input.
    """
    depth, pos = 0, 0
    while token := _STRUCTURAL.search(text, pos):
        pos = token.end()
        char = token.group()
        if char == '"':
            while (quote := _IN_STRING.search(text, pos)) and quote.group() == "\\":
                pos = quote.end() + 1  # skip the escaped character
            if quote is None:
                return  # an unterminated string: json.loads refuses it where it starts
            pos = quote.end()
        elif char in "[{":
            depth += 1
            if depth > MAX_HEADER_DEPTH:
                raise ModelFormatError(f"not a safetensors file: its header is nested deeper than {MAX_HEADER_DEPTH} "
                                       f"levels (object, tensor entry, list of integers)")
        elif depth == 0:
            raise ModelFormatError(f"not a safetensors file: its header is not JSON (unmatched {char!r})")
        else:
            depth -= 1


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        duplicate = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise ModelFormatError(f"not a safetensors file: its header repeats the key {reprlib.repr(duplicate)}")
    return obj


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > 20:  # 2**64 has 20 digits; int() raises a plain ValueError past 4300
        raise ModelFormatError(f"not a safetensors file: its header holds an integer of {len(digits)} digits")
    return int(digits)


def _no_constant(name: str) -> object:
    raise ModelFormatError(f"not a safetensors file: its header holds {name}, which is not JSON")


def _parse_header_json(raw: bytes) -> object:
    """The header's JSON value: UTF-8, at most MAX_HEADER_DEPTH deep, no duplicate keys, no NaN/Infinity."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFormatError(f"not a safetensors file: its header is not JSON (not UTF-8 at byte {exc.start})",
                               ) from None
    _check_nesting(text)
    try:
        return json.loads(text, object_pairs_hook=_object_without_duplicates, parse_int=_bounded_int,
                          parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"not a safetensors file: its header is not JSON ({exc.msg} at byte {exc.pos})",
                               ) from None


def _is_uint(value: object, bound: int) -> bool:
    return type(value) is int and 0 <= value < bound  # type(), not isinstance(): True is an int in Python


def _nbytes(shape: list[int], itemsize: int, limit: int) -> int:
    """Bytes a tensor of ``shape`` takes, or ``limit + 1`` if more (without multiplying out huge shapes)."""
    if 0 in shape:
        return 0
    total = itemsize
    for dim in shape:
        total *= dim
        if total > limit:
            return limit + 1
    return total


def _check_entry(name: str, entry: object, body: int) -> tuple[int, int]:
    """The (start, end) of a well-formed tensor entry; ModelFormatError for anything else."""
    if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
        raise ModelFormatError(f"tensor {reprlib.repr(name)}: malformed header entry, expected exactly the keys "
                               f"{sorted(_ENTRY_KEYS)}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _DTYPE_SIZES:
        raise ModelFormatError(f"tensor {reprlib.repr(name)}: unsupported dtype {reprlib.repr(dtype)}, expected one "
                               f"of {sorted(_DTYPE_SIZES)}")
    if not isinstance(shape, list) or not all(_is_uint(d, 2**63) for d in shape):
        raise ModelFormatError(f"tensor {reprlib.repr(name)}: bad shape {reprlib.repr(shape)}, expected a list of "
                               f"integers from 0 to 2**63-1")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_uint(x, body + 1) for x in offsets):
        raise ModelFormatError(f"tensor {reprlib.repr(name)}: bad data_offsets {reprlib.repr(offsets)}, expected "
                               f"[start, end] within the {body}-byte data section")
    start, end = offsets
    if end - start != _nbytes(shape, _DTYPE_SIZES[dtype], body):
        raise ModelFormatError(f"tensor {reprlib.repr(name)}: data offsets {start}..{end} do not match its shape "
                               f"{reprlib.repr(shape)} and dtype {dtype}")
    return start, end


def read_header(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, max_header: int = MAX_HEADER_BYTES,
                ) -> tuple[dict[str, dict], dict[str, str]]:
    """Parse and check a safetensors header: (tensor entries by name, metadata).

    Every failure is a ModelFormatError. The header is checked for length (``max_header``) and
    nesting before it is parsed; then it must be a flat object of well-formed tensor entries
    (plus an optional ``__metadata__`` object of strings) whose data tiles the data section
    exactly, as the format requires.
    """
    if len(data) > max_bytes:
        raise ModelTooLarge(f"model is {len(data)} bytes, over the {max_bytes}-byte limit")
    if len(data) < 8:
        raise ModelFormatError("not a safetensors file: shorter than its 8-byte header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8:
        raise ModelFormatError(f"not a safetensors file: header length {header_len} runs past the end of its "
                               f"{len(data)} bytes")
    if header_len > max_header:
        raise ModelFormatError(f"header length {header_len} is over the {max_header}-byte header limit for this model")
    header = _parse_header_json(bytes(data[8:8 + header_len]))
    if not isinstance(header, dict):
        raise ModelFormatError("not a safetensors file: its header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFormatError(f"__metadata__ must be an object of strings, got {reprlib.repr(metadata)}")
    body = len(data) - 8 - header_len
    spans = sorted(_check_entry(name, entry, body) for name, entry in header.items())
    covered = 0
    for start, end in spans:
        if start != covered:
            what = "overlap" if start < covered else f"leave bytes {covered}..{start} unused"
            raise ModelFormatError(f"tensors {what} in the data section")
        covered = end
    if covered != body:
        raise ModelFormatError(f"{body - covered} bytes after the last tensor belong to none")
    return header, metadata


def load_model_bytes(data: bytes, architecture: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                     ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The state dict in ``data``, checked against ``architecture``; raises ModelFormatError otherwise."""
    expected = tensor_spec(build_model(architecture))
    header, metadata = read_header(data, max_bytes, max_header_length(expected))
    if metadata.get("format") != FORMAT:
        raise ModelFormatError(f"metadata format is {reprlib.repr(metadata.get('format'))}, expected {FORMAT!r}")
    if metadata.get("architecture_id") != architecture_id(architecture).hex():
        raise ModelFormatError(f"model is of architecture {reprlib.repr(metadata.get('architecture'))} "
                               f"({reprlib.repr(metadata.get('architecture_id'))}), expected {architecture!r}")
    if set(header) != set(expected):
        missing, extra = sorted(set(expected) - set(header)), sorted(set(header) - set(expected))
        raise ModelFormatError(f"tensor names differ from {architecture}: missing {missing}, "
                               f"unexpected {reprlib.repr(extra)}")
    for name, (shape, dtype) in expected.items():
        entry = header[name]
        if list(entry["shape"]) != shape:
            raise ModelFormatError(f"tensor {name!r} has shape {entry['shape']}, expected {shape}")
        if _DTYPE_NAMES[entry["dtype"]] != dtype:
            raise ModelFormatError(f"tensor {name!r} has dtype {_DTYPE_NAMES[entry['dtype']]}, expected {dtype}")
    try:
        tensors = st_load(bytes(data))
    except SafetensorError as exc:  # a rule of the format read_header does not check
        raise ModelFormatError(f"not a safetensors file: {exc}") from None
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelFormatError(f"tensor {name!r} holds NaN or Inf values")
    return {name: tensors[name] for name in sorted(tensors)}, dict(metadata)
