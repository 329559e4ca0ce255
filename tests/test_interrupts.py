"""Ctrl-C and SIGTERM end `pofl run` deterministically, on a loaded machine, wherever the run is.

Each run is started as a shell starts a background job of a script (SIGINT ignored, which Python does not
undo by itself) with two CPU-burning processes beside it; it must still stop on the first signal, keep every
finished round, and leave no child process (miner, devnet) behind, a second signal included.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from offchain.servers.process import pid_alive

pytestmark = pytest.mark.slow

RUN = [sys.executable, "-m", "offchain.cli", "run", "--rounds", "40", "--miners", "3", "--min-committee", "2",
       "--clients-per-round", "6", "--phase-seconds", "4", "--threshold", "0", "--no-improvement",
       "--metrics", "m.json"]


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


def rounds_written(tmp_path: Path) -> list[dict]:
    try:
        return json.loads((tmp_path / "m.json").read_text())["rounds"]
    except (OSError, ValueError):
        return []


def wait_for_rounds(tmp_path: Path, proc: subprocess.Popen[str], n: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while len(rounds_written(tmp_path)) < n:
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


@pytest.mark.timeout(600)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_run_that_a_shell_started_with_ctrl_c_ignored(tmp_path: Path, sig: signal.Signals) -> None:
    with cpu_load():
        proc = start_in_background(RUN, tmp_path)
        wait_for_rounds(tmp_path, proc, 2)
        children = descendants(proc.pid)
        assert any("anvil" in cmd for cmd in children.values()), children
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    rounds = rounds_written(tmp_path)
    assert 2 <= len(rounds) < 40 and f"interrupted after {len(rounds)} rounds" in err, err[-2000:]
    assert "PoFL rounds" in out and "blocks; head" in out, out  # what finished, for people too
    assert "Traceback" not in err
    assert_gone(children)


@pytest.mark.timeout(600)
def test_a_second_ctrl_c_does_not_cut_the_clean_up_short_and_no_miner_outlives_the_run(tmp_path: Path) -> None:
    with cpu_load():
        proc = start_in_background([*RUN, "--processes"], tmp_path)
        wait_for_rounds(tmp_path, proc, 1)
        children = descendants(proc.pid)
        assert sum(" miner " in cmd for cmd in children.values()) == 3, children
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err
    assert rounds_written(tmp_path), "the finished rounds were kept"
    assert_gone(children)
