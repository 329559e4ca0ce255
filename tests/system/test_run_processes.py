"""Nothing lost: `pofl run --processes --metrics m.json --plot p.png` interrupted with Ctrl-C keeps every
finished round and draws its plot; a miner process killed with SIGKILL is restarted and takes part again; the
rows per miner are read from the chain's events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from offchain.servers.process import pid_alive
from tests.support.processes import descendants, rounds_written, wait_for_rounds

pytestmark = pytest.mark.slow

SETTINGS = ["--processes", "--miners", "3", "--min-committee", "2", "--clients-per-round", "6", "--phase-seconds", "4",
            "--threshold", "0",
            "--no-improvement", "--metrics", "m.json", "--plot", "p.png"]


def start_run(tmp_path: Path, rounds: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "POFL_DEPLOYMENTS"}
    return subprocess.Popen([sys.executable, "-m", "offchain.cli", "run", "--rounds", str(rounds), *SETTINGS],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_rounds_complete(rounds: list[dict]) -> None:
    assert [r["round"] for r in rounds] == list(range(rounds[0]["round"], rounds[0]["round"] + len(rounds)))
    for r in rounds:  # rows per miner, from the chain's events, whichever process acted
        assert r["miner_accuracies"] and r["gas_used"] > 0 and r["seconds"]["round"] > 0, r
        if r["winner"] is not None:
            assert r["validated_accuracy"] is not None and r["claimed_accuracy"] is not None, r


@pytest.mark.timeout(420)
def test_ctrl_c_keeps_every_finished_round_and_draws_the_plot(tmp_path: Path) -> None:
    proc = start_run(tmp_path, 40)
    wait_for_rounds(tmp_path, proc, 2, timeout=240)
    children = descendants(proc.pid)
    assert sum("offchain.cli miner" in cmd for cmd in children.values()) == 3
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    rounds = rounds_written(tmp_path)
    assert len(rounds) >= 2 and f"interrupted after {len(rounds)} rounds" in err, err[-2000:]
    assert_rounds_complete(rounds)
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert "Traceback" not in err
    time.sleep(0.5)
    assert not any(pid_alive(pid) for pid in children), "a miner or the devnet outlived the run"


@pytest.mark.timeout(600)
def test_a_killed_miner_process_is_restarted_and_takes_part_again(tmp_path: Path) -> None:
    """Killed after round 1, miner 1's process is restarted and acts again. The others do not wait for it, so how
    many rounds its restart takes depends on the machine's load: the run is long, the test waits for a round
    with miner 1 in it, then ends the run with Ctrl-C (every round kept, the plot drawn)."""
    proc = start_run(tmp_path, 40)
    wait_for_rounds(tmp_path, proc, 1, timeout=240)
    victim = next(pid for pid, cmd in descendants(proc.pid).items() if "miner" in cmd and "--index 1" in cmd)
    os.kill(victim, signal.SIGKILL)
    killed_after = len(rounds_written(tmp_path))
    deadline = time.monotonic() + 420
    while not any("1" in r["miner_accuracies"] for r in rounds_written(tmp_path)[killed_after + 1:]):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the restarted miner 1 never took part again"
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "miner 1 exited (status -9); restarting it" in err, err[-2000:]
    rounds = rounds_written(tmp_path)
    assert_rounds_complete(rounds)
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
