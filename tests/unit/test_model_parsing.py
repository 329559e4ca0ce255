"""Bounded parsing of model bytes, in process: each hostile safetensors header is a ModelFormatError naming what
is wrong, and what the limits still let through. (Hostile bytes thrown at a loader in a child process that
imported web3 are in tests/node/test_model_parsing.py.)"""

from __future__ import annotations

import json
import re
import struct

import pytest
import safetensors.torch
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.fl.architectures import ARCHITECTURES, SimpleNet, build_model, tensor_spec
from offchain.store import model_bytes
from offchain.store.model_bytes import (
    FORMAT,
    MAX_HEADER_BYTES,
    MAX_HEADER_DEPTH,
    ModelFormatError,
    ModelTooLarge,
    load_model_bytes,
    max_header_length,
    read_header,
)
from tests.support.models import GOOD, HEADER, frame

# ------------------------------------------------------------------ each rejection, with its message


def tensor(dtype: object = "U8", shape: object = (4,), offsets: object = (0, 4)) -> dict[str, object]:
    return {"dtype": dtype, "shape": list(shape) if isinstance(shape, tuple) else shape,
            "data_offsets": list(offsets) if isinstance(offsets, tuple) else offsets}


def one(**entry: object) -> str:
    return json.dumps({"t": tensor(**entry)})  # type: ignore[arg-type]


FOUR = b"\0\1\2\3"
REJECTIONS: dict[str, tuple[bytes, str]] = {
    "short": (b"abc", "shorter than its 8-byte header length"),
    "length past the end": (struct.pack("<Q", 100) + b"{}", "header length 100 runs past the end"),
    "not UTF-8": (frame(b'{"\xff": 1}', b""), "not UTF-8 at byte 2"),
    "deep list": (frame('{"t": {"shape": [[4]]}}', FOUR), "nested deeper than 3"),
    "deep metadata": (frame('{"__metadata__": {"a": {"b": ["c"]}}}', b""), "nested deeper than 3"),
    "deep after an escaped quote": (frame('{"a\\"": [[[[1]]]]}', b""), "nested deeper than 3"),
    "unmatched closer": (frame("{}}", b""), "unmatched '}'"),
    "unmatched first": (frame("]", b""), "unmatched ']'"),
    "unterminated": (frame('{"t": ', b""), "its header is not JSON (Expecting value"),
    "unterminated string": (frame('{"t": "[[[[[', b""), "its header is not JSON (Unterminated string"),
    "duplicate tensor": (frame('{"t": {}, "t": {}}', b""), "repeats the key 't'"),
    "duplicate field": (frame('{"t": {"dtype": "U8", "dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}',
                              FOUR), "repeats the key 'dtype'"),
    "duplicate metadata": (frame('{"__metadata__": {"format": "a", "format": "b"}}', b""), "repeats the key"),
    "25-digit int": (frame(one(shape=[10**24]), FOUR), "integer of 25 digits"),
    "5000-digit int": (frame('{"t": {"shape": [' + "9" * 5000 + "]}}", b""), "integer of 5000 digits"),
    "NaN": (frame('{"t": {"dtype": "U8", "shape": [NaN], "data_offsets": [0, 4]}}', FOUR), "holds NaN"),
    "Infinity": (frame('{"t": {"shape": [-Infinity]}}', FOUR), "holds -Infinity"),
    "a list": (frame("[1, 2]", b""), "not a JSON object"),
    "a string": (frame('"{}"', b""), "not a JSON object"),
    "metadata a list": (frame('{"__metadata__": ["format"]}', b""), "__metadata__ must be an object of strings"),
    "metadata null": (frame('{"__metadata__": null}', b""), "__metadata__ must be an object of strings"),
    "metadata an int value": (frame('{"__metadata__": {"round": 1}}', b""), "__metadata__ must be an object of"),
    "entry a list": (frame('{"t": [0, 4]}', FOUR), "malformed header entry"),
    "entry without offsets": (frame('{"t": {"dtype": "U8", "shape": [4]}}', FOUR), "malformed header entry"),
    "entry with an extra key": (frame({"t": {**tensor(), "x": 1}}, FOUR), "malformed header entry"),
    "dtype an int": (frame(one(dtype=4), FOUR), "unsupported dtype 4"),
    "dtype a list": (frame(one(dtype=["U8"]), FOUR), "unsupported dtype ['U8']"),
    "dtype unknown": (frame(one(dtype="C64"), FOUR), "unsupported dtype 'C64'"),
    "dtype lowercase": (frame(one(dtype="u8"), FOUR), "unsupported dtype 'u8'"),
    "shape a string": (frame(one(shape="4"), FOUR), "bad shape '4'"),
    "shape an int": (frame(one(shape=4), FOUR), "bad shape 4"),
    "shape an object": (frame(one(shape={"4": 1}), FOUR), "bad shape {'4': 1}"),
    "shape negative": (frame(one(shape=[-1]), FOUR), "bad shape [-1]"),
    "shape a boolean": (frame(one(shape=[True, 4]), FOUR), "bad shape [True, 4]"),
    "shape a float": (frame(one(shape=[4.0]), FOUR), "bad shape [4.0]"),
    "shape 2**63": (frame(one(shape=[2**63, 0]), FOUR), "bad shape [9223372036854775808, 0]"),
    "offsets one int": (frame(one(offsets=[4]), FOUR), "bad data_offsets [4]"),
    "offsets three ints": (frame(one(offsets=[0, 4, 4]), FOUR), "bad data_offsets [0, 4, 4]"),
    "offsets a string": (frame(one(offsets="0,4"), FOUR), "bad data_offsets '0,4'"),
    "offsets booleans": (frame(one(shape=[1], offsets=[False, True]), b"\0"), "bad data_offsets [False, True]"),
    "offsets negative": (frame(one(shape=[3], offsets=[-1, 2]), FOUR), "bad data_offsets [-1, 2]"),
    "offsets past the data": (frame(one(offsets=[2, 6]), FOUR), "within the 4-byte data section"),
    "offsets floats": (frame(one(offsets=[0.0, 4]), FOUR), "bad data_offsets [0.0, 4]"),
    "offsets 2**64": (frame(one(offsets=[2**64, 2**64 + 4]), FOUR), "bad data_offsets"),
    "offsets against the shape": (frame(one(shape=[3]), FOUR), "data offsets 0..4 do not match its shape [3]"),
    "huge shape": (frame(one(shape=[2**62, 2**62]), FOUR), "do not match its shape"),
    "overlap": (frame({"a": tensor(offsets=(0, 4)), "b": tensor(offsets=(2, 6))}, FOUR * 2), "tensors overlap"),
    "hole": (frame({"a": tensor(shape=(2,), offsets=(0, 2)), "b": tensor(shape=(2,), offsets=(4, 6))}, FOUR * 2),
             "tensors leave bytes 2..4 unused"),
    "trailing data": (frame(one(), FOUR + b"xy"), "2 bytes after the last tensor belong to none"),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
def test_each_header_rejection_is_a_model_format_error_naming_it(case: str) -> None:
    data, message = REJECTIONS[case]
    with pytest.raises(ModelFormatError, match=re.escape(message)):
        read_header(data)


def test_size_and_header_limits_are_model_format_errors() -> None:
    with pytest.raises(ModelTooLarge, match="model is 20 bytes, over the 10-byte limit"):
        read_header(b"x" * 20, max_bytes=10)
    with pytest.raises(ModelFormatError, match="header length 64 is over the 50-byte header limit"):
        read_header(frame("{}" + " " * 62, b""), max_header=50)
    assert read_header(frame("{}" + " " * 62, b""), max_header=64) == ({}, {})


def test_brackets_and_escapes_inside_strings_are_not_nesting() -> None:
    text = json.dumps({"__metadata__": {"a[[[": '"[[[{{{\\', "b": "\\\"]]]]"}, "t": tensor()})
    assert read_header(frame(text, FOUR)) == ({"t": tensor()}, {"a[[[": '"[[[{{{\\', "b": "\\\"]]]]"})


def json_depth(value: object) -> int:
    if isinstance(value, dict | list):
        children = value.values() if isinstance(value, dict) else value
        return 1 + max(map(json_depth, children), default=0)
    return 0


NASTY_TEXT = st.text(st.sampled_from('[]{}"\\:, a\u00e9\U0001f600'), max_size=10)
SHALLOW_JSON = st.recursive(st.none() | st.integers() | NASTY_TEXT, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(NASTY_TEXT, inner, max_size=3), max_leaves=12)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(SHALLOW_JSON, st.booleans())
def test_the_nesting_check_counts_exactly_the_json_depth(value: object, ascii_only: bool) -> None:
    """In-process (the values are shallow): refused as too deep exactly when {"t": value} is over 3 levels."""
    try:
        read_header(frame(json.dumps({"t": value}, ensure_ascii=ascii_only), b""))
        refused_as_deep = False
    except ModelFormatError as exc:
        refused_as_deep = "nested deeper" in str(exc)
    assert refused_as_deep == (1 + json_depth(value) > MAX_HEADER_DEPTH)


def test_a_safetensors_error_is_a_model_format_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(data: bytes) -> None:
        raise model_bytes.SafetensorError("Error while deserializing header: some rule")

    monkeypatch.setattr(model_bytes, "st_load", refuse)
    with pytest.raises(ModelFormatError, match="not a safetensors file: Error while deserializing header"):
        load_model_bytes(GOOD, "simplenet")


# ------------------------------------------------------------------ what the limits still let through


def test_files_written_by_safetensors_itself_load() -> None:
    state = SimpleNet().state_dict()
    metadata = {"format": FORMAT, "architecture": "simplenet",
                "architecture_id": HEADER["__metadata__"]["architecture_id"], "round": "3"}
    loaded, meta = load_model_bytes(safetensors.torch.save(state, metadata=metadata), "simplenet")
    assert meta == metadata and all(torch.equal(loaded[k], state[k]) for k in state)


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_header_limit_fits_any_writer_of_the_architecture_and_little_more(architecture: str) -> None:
    spec = tensor_spec(build_model(architecture))
    big = 2**64 - 1  # every number at its widest, spaces after ':' and ',' as json.dumps writes them
    metadata = {**HEADER["__metadata__"], "architecture": architecture, "round": str(big)}
    widest = json.dumps({"__metadata__": metadata, **{name: {"dtype": "BF16", "shape": [big] * len(shape),
                                                             "data_offsets": [big, big]}
                                                      for name, (shape, _) in spec.items()}})
    assert len(widest) + 7 <= max_header_length(spec) <= 8 * 1024  # + padding to 8 bytes; far below 1 MiB


def test_header_limit_never_exceeds_the_absolute_cap() -> None:
    spec = {f"layer{i}.weight": ([1, 2, 3, 4], "float32") for i in range(20_000)}
    assert max_header_length(spec) == MAX_HEADER_BYTES
