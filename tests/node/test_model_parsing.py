"""Bounded parsing of model bytes: every hostile safetensors header is a ModelFormatError, never a crash.

Loading runs in a child process that imported web3 first: py_ecc (which web3 imports) raises the
recursion limit to 100000, and there a deeply nested header made ``json.loads`` overflow the C
stack and kill the process with SIGSEGV, which no ``except`` catches (tests.support.models.Loader;
each rejection's message is checked in process in tests/unit/test_model_parsing.py).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.models import BOMB, CHILD, GOOD, HEADER, HLEN, Loader, assert_refused, frame
from tests.support.paths import ROOT

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
@given(st.lists(st.tuples(st.integers(0, 8 + HLEN - 1), st.integers(0, 255)), min_size=1, max_size=4))
def test_flipped_header_bytes_are_refused_or_still_valid(loader: Loader, flips: list[tuple[int, int]]) -> None:
    data = bytearray(GOOD)
    for at, value in flips:
        data[at] = value
    assert_refused(loader(bytes(data)), may_load=True)
