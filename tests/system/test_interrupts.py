"""Ctrl-C and SIGTERM end `pofl run` deterministically, on a loaded machine, wherever the run is.

Each run is started as a shell starts a background job of a script (SIGINT ignored, which Python does not
undo by itself) with two CPU-burning processes beside it; it must still stop on the first signal, keep every
finished round, and leave no child process (miner, devnet) behind, a second signal included.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import (
    assert_gone,
    cpu_load,
    descendants,
    rounds_written,
    start_in_background,
    wait_for_rounds,
)

pytestmark = pytest.mark.slow

RUN = [sys.executable, "-m", "offchain.cli", "run", "--rounds", "40", "--miners", "3", "--min-committee", "2",
       "--clients-per-round", "6", "--phase-seconds", "4", "--threshold", "0", "--no-improvement",
       "--metrics", "m.json"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_run_that_a_shell_started_with_ctrl_c_ignored(tmp_path: Path, sig: signal.Signals) -> None:
    with cpu_load():
        proc = start_in_background(RUN, tmp_path)
        wait_for_rounds(tmp_path, proc, 2, timeout=300)
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
        wait_for_rounds(tmp_path, proc, 1, timeout=300)
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
