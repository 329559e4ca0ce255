"""The benchmark runner: a script of bench/ as CI runs it, its one JSON document parsed."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import BENCH


def run_bench(name: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, str(BENCH / name), *args], capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # JSON on stdout and nothing else
