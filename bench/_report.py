"""What every benchmark here shares: its JSON report, and runs measured in a child process of their own."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any


def emit(report: dict[str, Any], out: Path | None) -> None:
    """Print ``report`` as JSON on stdout (nothing else goes there) and, with ``out``, write it."""
    text = json.dumps(report, indent=2)
    print(text)
    if out:
        out.write_text(text + "\n")


def peak_rss_mb() -> float:
    """This process's peak resident set so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def in_child(script: Path, *args: str) -> dict[str, Any]:
    """Run ``script --child ARGS`` in a fresh interpreter and return the JSON it prints: one run, measured
    alone, so that its ``peak_rss_mb`` is the run's own peak and not the maximum of everything before it."""
    done = subprocess.run([sys.executable, str(script), "--child", *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def child_main(run: Any, argv: list[str]) -> bool:
    """In a child started by :func:`in_child`: run ``run(*argv)``, add its peak RSS, print JSON. True if it did."""
    if not argv or argv[0] != "--child":
        return False
    result = run(*argv[1:])
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))
    return True
