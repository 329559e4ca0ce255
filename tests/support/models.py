"""Model bytes for the tests: a SimpleNet's state and its canonical safetensors bytes (the header parsed out),
hand-made safetensors frames, and the child process (web3 imported, its recursion limit raised) that loads
bytes for the parsing tests: py_ecc (which web3 imports) raises the recursion limit to 100000, and there a
deeply nested header made ``json.loads`` overflow the C stack and kill the process with SIGSEGV."""

from __future__ import annotations

import base64
import json
import os
import signal
import struct
import subprocess
import sys
from typing import TextIO

import torch

from offchain.fl.architectures import SimpleNet
from offchain.store.model_bytes import model_to_bytes
from tests.support.paths import ROOT


def simplenet_state(seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return SimpleNet().state_dict()


GOOD = model_to_bytes(SimpleNet().state_dict(), "simplenet")
(HLEN,) = struct.unpack("<Q", GOOD[:8])
HEADER: dict = json.loads(GOOD[8:8 + HLEN])
BODY = GOOD[8 + HLEN:]
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


def reencoded(state: dict[str, torch.Tensor], **extra: str) -> bytes:
    """``state`` as a valid safetensors file of another encoding: extra metadata (a round field, as the attack of
    issue 20's finding 3 sets it) and the header's keys in reverse order."""
    canonical = model_to_bytes(state, "simplenet")
    (length,) = struct.unpack("<Q", canonical[:8])
    header = json.loads(canonical[8:8 + length])
    header["__metadata__"].update(extra)
    text = json.dumps(dict(reversed(list(header.items())))).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + canonical[8 + length:]
