"""Watching processes a test started: waiting on a condition while they live, the rounds a `pofl run` has
written, a process's live descendants, CPU load beside a run, a job started as a shell starts one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from offchain.servers.process import ManagedProcess, pid_alive


def wait_for(condition: Callable[[], Any], timeout: float, what: str, procs: Sequence[ManagedProcess] = ()) -> Any:
    """Poll ``condition`` until it returns something true (returned), failing at once if one of ``procs`` exits
    and after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p.name for p in procs if not p.alive()]
        assert not dead, f"{dead} exited while waiting for {what}: {procs[0].log_tail() if procs else ''}"
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def rounds_written(folder: Path) -> list[dict]:
    """The rounds in ``folder``/m.json, the metrics file of a `pofl run --metrics m.json` started there."""
    try:
        return json.loads((folder / "m.json").read_text())["rounds"]
    except (OSError, ValueError):
        return []  # not written yet (and never half-written: it is replaced whole)


def wait_for_rounds(folder: Path, proc: subprocess.Popen[str], n: int, timeout: float) -> None:
    """Until the run ``proc`` (started in ``folder``) has written ``n`` rounds; it must not exit meanwhile."""
    deadline = time.monotonic() + timeout
    while len(rounds_written(folder)) < n:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, f"fewer than {n} rounds in {timeout:.0f} s"
        time.sleep(0.3)


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every live descendant of ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry))
    out, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                out[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            todo.append(child)
    return out


def assert_gone(pids: dict[int, str], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.2)
    alive = {p: cmd for p, cmd in pids.items() if pid_alive(p)}
    assert not alive, f"outlived the run: {alive}"


@contextmanager
def cpu_load(n: int = 2) -> Iterator[None]:
    """``n`` processes burning a CPU each, for the duration of the block."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in burners:
            p.kill()
            p.wait()


def start_in_background(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    """``argv`` as a non-interactive shell starts a background job: with SIGINT ignored."""
    env = {k: v for k, v in os.environ.items() if k != "POFL_DEPLOYMENTS"}
    return subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
