"""What `pofl` prints, for people and for programs: `--json` is one JSON document on stdout and nothing else,
`--version`, quick `--help`, absent content on IPFS reported as absent in bounded time, deployment records
of every deploy, a warning for an option a deployed contract overrides."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from offchain.chain.connect import connect
from offchain.chain.deploy import chain_key
from offchain.servers.devnet import Devnet
from offchain.servers.ipfs import IpfsDaemon
from offchain.servers.process import free_port
from offchain.store.cid import compute_cid

POFL = [sys.executable, "-m", "offchain.cli"]


def pofl(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*POFL, *args], capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=cwd, timeout=timeout, check=False)


def test_version_and_a_quick_help() -> None:
    done = pofl("--version")
    assert done.returncode == 0 and done.stdout.startswith("pofl ") and done.stderr == ""
    done = pofl("run", "--help")  # how fast: bench/cli.py measures it; that it imports neither torch nor web3: the
    assert done.returncode == 0 and "--until-accuracy" in done.stdout  # test_the_command_line_starts_without_torch
    done = pofl("--help")
    assert "POFL_DEPLOYMENTS" in done.stdout and "POFL_KEY" in done.stdout


def test_absent_content_on_ipfs_is_not_found_in_bounded_time(ipfs_daemon: IpfsDaemon) -> None:
    absent = compute_cid(b"content that was never added anywhere")
    started = time.perf_counter()
    done = pofl("store", "get", absent, "--ipfs-api", ipfs_daemon.api_multiaddr)
    seconds = time.perf_counter() - started
    assert done.returncode == 1 and done.stderr.startswith(f"Error: NotFound: {absent} was not found"), done.stderr
    assert "the node answers" in done.stderr and seconds <= 30, seconds  # bounded by --ipfs-timeout (10 s) and slack
    started = time.perf_counter()
    done = pofl("store", "get", absent, "--ipfs-api", ipfs_daemon.api_multiaddr, "--ipfs-timeout", "1")
    assert done.returncode == 1 and "within 1 s" in done.stderr and time.perf_counter() - started < 20
    dead = f"/ip4/127.0.0.1/tcp/{free_port()}/http"
    done = pofl("store", "get", absent, "--ipfs-api", dead)
    assert done.returncode == 1 and "StoreUnavailable: no IPFS node answers" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.timeout(600)
def test_run_json_is_one_document_records_the_deployment_and_warns_of_overrides(anvil: Devnet, tmp_path: Path,
                                                                                 ) -> None:
    records = tmp_path / "deployments"
    settings = ["--miners", "3", "--min-committee", "2", "--clients-per-round", "6", "--threshold", "0",
                "--store-dir", str(tmp_path / "s")]
    argv = [*POFL, "run", "--rpc-url", anvil.rpc_url, "--rounds", "2", "--json", *settings]
    if shutil.which("jq"):  # as a user pipes it; tee keeps the document for the checks below
        document = tmp_path / "run.json"
        done = subprocess.run(f"{' '.join(argv)} | tee {document} | jq -e .blocks", shell=True, capture_output=True,
                              text=True, env={**os.environ, "POFL_DEPLOYMENTS": str(records)}, timeout=300,
                              check=False)
        assert done.returncode == 0 and done.stdout.strip() == "2", done.stderr[-2000:]
        assert "round 2:" in done.stderr  # the progress went to stderr
        stdout = document.read_text()
    else:
        done = pofl(*argv[3:], env={"POFL_DEPLOYMENTS": str(records)})
        assert done.returncode == 0, done.stderr[-2000:]
        stdout = done.stdout
    summary = json.loads(stdout)  # stdout is the JSON document and nothing else
    assert summary["blocks"] == 2 and [r["round"] for r in summary["rounds"]] == [1, 2]
    assert summary["genesis_accuracy"] == pytest.approx(0.126, abs=0.01)  # the genesis model scores, though unscored
    record = json.loads((records / chain_key(connect(anvil.rpc_url)) / "PoFLConsensus.json").read_text())
    assert record["address"] == summary["contract"] and record["settings"]["n_miners"] == 3

    done = pofl("-q", "run", "--rpc-url", anvil.rpc_url, "--contract", summary["contract"], "--rounds", "1",
                *settings[:4], "--threshold", "0.1", "--phase-seconds", "7", "--store-dir", str(tmp_path / "s"))
    assert done.returncode == 0, done.stderr[-2000:]
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and "--threshold 0.1 is ignored" in warnings[0] and "--phase-seconds" in warnings[1]
    assert done.stderr.strip() == "\n".join(warnings)  # -q: nothing but the warnings on stderr


def test_devnet_json_and_the_accounts_it_prints(tmp_path: Path) -> None:
    proc = subprocess.Popen([*POFL, "devnet", "--port", "0", "--accounts", "3", "--json"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("}"):
                break
        report = json.loads("".join(lines))
        assert [a["private_key"] for a in report["accounts"]][:1] == [
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"]  # Anvil's account 0
        assert len(report["accounts"]) == 3 and report["chain_id"] == 31337
        assert all(type(a["balance_wei"]) is int for a in report["accounts"])  # wei: JSON integers, exact
        assert connect(report["rpc_url"]).eth.get_balance(report["accounts"][2]["address"]) > 0
        assert (tmp_path / report["log"]).is_file() and report["log"].startswith(".pofl/logs/anvil-")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0


CID = re.compile(r"\bQm[1-9A-HJ-NP-Za-km-z]{44}\b")
SPINNER = re.compile("[\u2800-\u28ff]")  # rich's spinner frames are braille glyphs


@pytest.mark.timeout(600)
def test_nothing_is_wrapped_or_cut_when_stdout_is_not_a_terminal(anvil: Devnet, tmp_path: Path) -> None:
    records = tmp_path / "deployments"
    done = pofl("run", "--rpc-url", anvil.rpc_url, "--rounds", "2", "--miners", "3", "--min-committee", "2",
                "--clients-per-round", "6", "--threshold", "0", "--store-dir", str(tmp_path / "s"),
                env={"POFL_DEPLOYMENTS": str(records), "COLUMNS": "60"})
    assert done.returncode == 0, done.stderr[-2000:]
    header = next(line for line in done.stdout.splitlines() if "round" in line and "CID" in line)
    assert all(col in header for col in ("winner", "claimed", "validated", "chain", "gas", "seconds")), header
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 2 and all(CID.search(row) for row in rows), done.stdout  # one line a round, CIDs whole
    contract = json.loads((records / chain_key(connect(anvil.rpc_url)) / "PoFLConsensus.json").read_text())["address"]
    done = pofl("blocks", "--rpc-url", anvil.rpc_url, "--contract", contract, env={"COLUMNS": "60"})
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 3 and all(CID.search(r) and re.search(r"0x[0-9a-f]{64}", r) for r in rows), done.stdout
    assert "genesis" in rows[0]


def run_in_terminal(argv: list[str], cwd: Path, cols: int = 120, rows: int = 60, timeout: float = 300) -> list[str]:
    """``argv`` in a pseudo-terminal of ``cols`` x ``rows``, as a person's terminal would show it at the end."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    import pyte

    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of its own
        os.chdir(cwd)
        os.execvpe(argv[0], argv, {**os.environ, "COLUMNS": str(cols), "LINES": str(rows)})
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    data, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            data += chunk
    os.waitpid(pid, 0)
    screen = pyte.Screen(cols, rows)
    pyte.ByteStream(screen).feed(data)
    return [line.rstrip() for line in screen.display]


@pytest.mark.timeout(600)
def test_in_a_terminal_the_progress_line_is_cleared_and_every_round_starts_a_line(tmp_path: Path) -> None:
    screen = run_in_terminal([*POFL, "run", "--rounds", "2", "--miners", "3", "--min-committee", "2",
                              "--clients-per-round", "6", "--threshold", "0", "--phase-seconds", "4"], tmp_path)
    assert not any(SPINNER.search(line) for line in screen), "\n".join(screen)
    assert [line.split(":")[0] for line in screen if line.startswith("round ")] == ["round 1", "round 2"], screen


@pytest.mark.timeout(600)
def test_q_and_v_work_on_the_command_too_and_vv_adds_the_debug_lines(anvil: Devnet, tmp_path: Path) -> None:
    base = ["--rpc-url", anvil.rpc_url, "--rounds", "1", "--miners", "3", "--min-committee", "2",
            "--clients-per-round", "6", "--threshold", "0", "--store-dir", str(tmp_path / "s")]
    env = {"POFL_DEPLOYMENTS": str(tmp_path / "d")}
    quiet = pofl("run", "-q", *base, env=env)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr[-2000:]
    verbose, debug = pofl("run", "-v", *base, env=env), pofl("run", "-vv", *base, env=env)
    assert verbose.returncode == debug.returncode == 0, debug.stderr[-2000:]
    assert " INFO pofl.miner " in verbose.stderr and " DEBUG " not in verbose.stderr
    sent = re.findall(r" DEBUG pofl\.tx sent (\w+) from 0x", debug.stderr)
    assert {"register", "commit", "reveal", "vote", "finalize"} <= set(sent), debug.stderr[-3000:]
    assert re.search(r" DEBUG pofl\.miner round 1, commit: commit for miners \[0, 1, 2\]", debug.stderr)


WEI_KEYS = re.compile(r"(_wei|^balance|^rewardPool|^totalStaked|^totalPendingRewards|^min_stake|^miss_bond"
                      r"|^block_reward)$")


def wei_values(doc: object, key: str = "") -> list[tuple[str, object]]:
    """Every (key, value) of ``doc`` whose key names an amount of wei."""
    if isinstance(doc, dict):
        return [kv for k, v in doc.items() for kv in wei_values(v, k)]
    if isinstance(doc, list):
        return [kv for v in doc for kv in wei_values(v, key)]
    return [(key, doc)] if WEI_KEYS.search(key) else []


def test_deploy_reports_its_gas_and_cost_wei_are_integers_and_a_replaced_record_is_said(anvil: Devnet,
                                                                                       tmp_path: Path) -> None:
    records = tmp_path / "deployments"
    argv = ["deploy", "--rpc-url", anvil.rpc_url, "--miners", "3", "--min-committee", "2", "--store-dir",
            str(tmp_path / "s"), "--deployments-dir", str(records)]
    first = pofl(*argv, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["gas_used"] > 1_000_000 and report["cost_wei"] > 0 and report["value_wei"] == 10 * 10**18
    record = json.loads((records / chain_key(connect(anvil.rpc_url)) / "PoFLConsensus.json").read_text())
    assert record["gas_used"] == report["gas_used"] and record["cost_wei"] == report["cost_wei"]
    info = json.loads(pofl("info", "--rpc-url", anvil.rpc_url, "--contract", report["address"], "--json").stdout)
    amounts = wei_values(report) + wei_values(record) + wei_values(info)
    assert len(amounts) >= 15 and all(type(v) is int for _, v in amounts), amounts
    assert "replaced" not in first.stderr and "now names" not in first.stderr
    second = pofl(*argv)
    assert second.returncode == 0, second.stderr
    assert "gas used: " in second.stdout and "ETH besides the 10 ETH sent" in second.stdout, second.stdout
    assert f"named PoFLConsensus {report['address']}" in second.stderr and "now names" in second.stderr, second.stderr
