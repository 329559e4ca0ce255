"""Bounded parsing of model bytes: every hostile safetensors header is a ModelFormatError, never a crash.

Loading runs in a child process that imported web3 first: py_ecc (which web3 imports) raises the
recursion limit to 100000, and there a deeply nested header made ``json.loads`` overflow the C
stack and kill the process with SIGSEGV, which no ``except`` catches.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest
import safetensors.torch
import torch
from hypothesis import HealthCheck, given, settings
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
    model_to_bytes,
    read_header,
)

ROOT = Path(__file__).resolve().parents[1]
GOOD = model_to_bytes(SimpleNet().state_dict(), "simplenet")
(_HLEN,) = struct.unpack("<Q", GOOD[:8])
HEADER: dict = json.loads(GOOD[8:8 + _HLEN])
BODY = GOOD[8 + _HLEN:]
BOMB = b"[" * 100_000 + b"]" * 100_000  # the 200 KB header that killed a web3 process

# The child loads each base64 line from stdin twice, as a simplenet model and as a bare header
# (whose 1 MiB limit lets a 200 KB bomb through to the nesting check), and answers one JSON line.
CHILD = r"""
import base64, json, sys
import web3  # noqa: F401
sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))  # the hazard, even if web3 stops setting it
from offchain.store.model_bytes import ModelFormatError, load_model_bytes, read_header

def outcome(call):
    try:
        call()
        return "ok"
    except ModelFormatError as exc:
        return "ModelFormatError: " + str(exc)[:200]
    except BaseException as exc:
        return type(exc).__name__ + ": " + str(exc)[:200]

print(json.dumps({"recursion_limit": sys.getrecursionlimit()}), flush=True)
for line in sys.stdin:
    data = base64.b64decode(line)
    print(json.dumps({"load": outcome(lambda: load_model_bytes(data, "simplenet")),
                      "read": outcome(lambda: read_header(data))}), flush=True)
"""


class Loader:
    """One child process (web3 imported) that loads the bytes it is sent; started again if it died."""

    def __init__(self, stderr: TextIO) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.stderr = stderr

    def _start(self) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=self.stderr, text=True, env=env, cwd=ROOT)
        ready = json.loads(proc.stdout.readline() or "{}")  # type: ignore[union-attr]
        assert ready.get("recursion_limit", 0) >= 100_000, ready
        return proc

    def __call__(self, data: bytes) -> dict[str, str]:
        """{"load": outcome, "read": outcome}, or {"died": how} if the process did not survive."""
        self.proc = self.proc or self._start()
        try:
            self.proc.stdin.write(base64.b64encode(data).decode() + "\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
            line = self.proc.stdout.readline()  # type: ignore[union-attr]
        except BrokenPipeError:
            line = ""
        if line:
            return json.loads(line)
        code = self.proc.wait()
        self.proc = None
        self.stderr.seek(0)
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
        return {"died": f"{how}; stderr: {self.stderr.read()[-500:]}"}

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()  # type: ignore[union-attr]
            assert self.proc.wait(timeout=30) == 0  # the child survived every input and exits 0


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loader]:
    with open(tmp_path_factory.mktemp("loader") / "stderr", "w+") as stderr:
        child = Loader(stderr)
        yield child
        child.close()


def frame(header: bytes | str | object, body: bytes = BODY) -> bytes:
    """Safetensors bytes: 8-byte little-endian header length, the header, the data section."""
    if not isinstance(header, bytes | str):
        header = json.dumps(header)
    raw = header.encode("utf-8", "surrogatepass") if isinstance(header, str) else header
    return struct.pack("<Q", len(raw)) + raw + body


def assert_refused(result: dict[str, str], *, may_load: bool = False) -> None:
    """The child survived; loading as simplenet raised ModelFormatError (or, if ``may_load``, loaded)."""
    assert "died" not in result, f"the loader process died: {result['died']}"
    assert result["load"].startswith("ModelFormatError") or (may_load and result["load"] == "ok"), result
    assert result["read"] == "ok" or result["read"].startswith("ModelFormatError"), result


# ------------------------------------------------------------------ the header bomb


def test_header_bomb_in_a_web3_process_is_a_model_format_error_and_exit_0() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD], input=base64.b64encode(frame(BOMB, b"")).decode() + "\n",
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-500:]}"
    result = json.loads(done.stdout.splitlines()[1])
    assert result["load"].startswith("ModelFormatError") and "header limit" in result["load"], result
    assert result["read"].startswith("ModelFormatError") and "nested deeper than 3" in result["read"], result


# ------------------------------------------------------------------ random bytes and random JSON, in the child

CLOSERS = {"[": "]", '{"a":': "}"}
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=24)
DEEP_TEXT = st.builds(lambda opener, depth, cut: (opener * depth + "1" + CLOSERS[opener] * depth)[:cut],
                      st.sampled_from(sorted(CLOSERS)), st.integers(1, 200_000), st.integers(0, 1_100_000))
ODD_NUMBERS = st.sampled_from(["NaN", "-Infinity", "1e400", "-0", "1.0", "9" * 5000, "-1", str(2**63), str(2**64),
                               "true", "false", "null"])
RAW_VALUES = JSON_VALUES.map(json.dumps) | DEEP_TEXT | ODD_NUMBERS
HEADER_FIELDS = [(name, None) for name in HEADER] + [(name, field) for name in HEADER for field in HEADER[name]]
HOLE = "\0hole\0"
RUN = settings(max_examples=150, deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@RUN
@given(st.binary(max_size=4096), st.booleans())
def test_random_bytes_are_refused(loader: Loader, data: bytes, framed: bool) -> None:
    assert_refused(loader(frame(data, b"") if framed else data))


@RUN
@given(JSON_VALUES, st.binary(max_size=64), st.booleans())
def test_random_json_headers_are_refused(loader: Loader, header: object, body: bytes, as_entry: bool) -> None:
    assert_refused(loader(frame({"fc1.bias": header} if as_entry else header, body)))


@RUN
@given(DEEP_TEXT, st.sampled_from(["", '{"fc1.bias":', "[", '{"__metadata__":{"x":', '{"a":"[{\\"",']))
def test_deeply_nested_headers_are_refused(loader: Loader, deep: str, prefix: str) -> None:
    assert_refused(loader(frame(prefix + deep)))


@RUN
@given(st.sampled_from(HEADER_FIELDS), RAW_VALUES)
def test_forged_fields_of_a_real_header_are_refused(loader: Loader, where: tuple[str, str | None], raw: str) -> None:
    name, field = where
    original = HEADER[name] if field is None else HEADER[name][field]
    forged = HOLE if field is None else {**HEADER[name], field: HOLE}
    text = json.dumps({**HEADER, name: forged}).replace(json.dumps(HOLE), raw)
    # metadata other than format and architecture_id is informative: a forged string there still loads
    informative = name == "__metadata__" and field in ("architecture", "round") and raw.startswith('"')
    assert_refused(loader(frame(text)), may_load=raw == json.dumps(original) or informative)


@RUN
@given(st.lists(st.tuples(st.integers(0, 8 + _HLEN - 1), st.integers(0, 255)), min_size=1, max_size=4))
def test_flipped_header_bytes_are_refused_or_still_valid(loader: Loader, flips: list[tuple[int, int]]) -> None:
    data = bytearray(GOOD)
    for at, value in flips:
        data[at] = value
    assert_refused(loader(bytes(data)), may_load=True)


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
