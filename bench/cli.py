#!/usr/bin/env python3
"""The `pofl` command line as a user meets it, as JSON: `--help` start-up time per command, and every bad
input of issue 11 — exit status, seconds until the answer, whether the answer is one line without a
traceback that names the option, and whether anything happened first (a transaction on the chain, an
Anvil started).

    .venv/bin/python bench/cli.py [--repeats 3] [--out cli.json]
    .venv/bin/python bench/cli.py --tiny        # a smoke run: one repeat, three bad inputs
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import emit
from offchain.servers.devnet import start_devnet

POFL = [sys.executable, "-m", "offchain.cli"]
SERVERS = {"anvil", "node", "python", "python3"}  # devnets, js-ipfs, miner processes (not helpers such as `file`)
HELP = ["--help", "run --help", "miner --help", "deploy --help", "blocks --help", "--version"]
ADDRESS = "0x" + "1" * 40
GENESIS = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
KEY = "0x" + "ab" * 32
FUNDED_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # dev account 2


def _children(pid: int) -> set[tuple[int, str]]:
    """(pid, name) of every descendant of ``pid``."""
    parents: dict[int, list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parents.setdefault(ppid, []).append((int(entry), name))
    out, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.add(child)
            todo.append(child[0])
    return out


def invoke(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> dict:
    """Run ``pofl ARGV``; its exit status, seconds, output and the names of processes it started."""
    started = time.perf_counter()
    proc = subprocess.Popen([*POFL, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    seen: set[str] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.update(name for _, name in _children(proc.pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | str = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        code = "timeout"
    stop.set()
    watcher.join()
    return {"exit": code, "seconds": round(time.perf_counter() - started, 2), "stdout": out, "stderr": err,
            "started": sorted(seen & SERVERS)}


def block_number(url: str) -> int:
    from offchain.servers.devnet import rpc_call

    return int(str(rpc_call(url, "eth_blockNumber")), 16)


def bad_inputs(url: str, url20: str, tmp: Path, records: Path) -> list[tuple[str, str, list[str], dict[str, str]]]:
    """(name, the option the answer must name, argv, environment) of every bad input of issue 11."""
    garbage = tmp / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    metrics = tmp / "garbage.json"
    metrics.write_text("{not json")
    rpc = ["--rpc-url", url]
    miner = ["miner", *rpc, "--contract", ADDRESS]
    anvil_multiaddr = "/ip4/127.0.0.1/tcp/" + url.rsplit(":", 1)[1] + "/http"
    return [
        ("run --key abc", "--key", ["run", "--key", "abc"], {}),
        ("run --key 0x1234", "--key", ["run", "--key", "0x1234"], {}),
        ("run --contract 0x123", "--contract", ["run", *rpc, "--contract", "0x123"], {}),
        ("run --threshold 1.5", "--threshold", ["run", "--threshold", "1.5"], {}),
        ("run --until-accuracy 2", "--until-accuracy", ["run", "--until-accuracy", "2"], {}),
        ("run --miners 0", "--miners", ["run", "--miners", "0"], {}),
        ("run --batch-size 0", "--batch-size", ["run", "--batch-size", "0"], {}),
        ("run --alpha 0", "--alpha", ["run", "--partition", "dirichlet", "--alpha", "0"], {}),
        ("run --seed -1", "--seed", ["run", "--seed", "-1"], {}),
        ("devnet --port 99999", "--port", ["devnet", "--port", "99999"], {}),
        ("deploy --min-stake -1", "--min-stake", ["deploy", *rpc, "--min-stake", "-1"], {}),
        ("miner --clients abc", "--clients", [*miner, "--clients", "abc"], {"POFL_KEY": KEY}),
        ("run --architecture resnet", "--architecture", ["run", "--architecture", "resnet"], {}),
        ("run --partition missing.npz", "--partition", ["run", "--partition", str(tmp / "missing.npz")], {}),
        ("run --partition garbage.npz", "--partition", ["run", "--partition", str(garbage)], {}),
        ("run --ipfs-api http://...", "--ipfs-api", ["run", "--ipfs-api", "http://127.0.0.1:5001"], {}),
        ("run --ipfs-api <not IPFS>", "--ipfs-api", ["run", *rpc, "--ipfs-api", anvil_multiaddr], {}),
        ("plot <garbage metrics>", "METRICS", ["plot", str(metrics)], {}),
        ("run --miners 20 on a 20-account devnet", "--miners", ["run", "--rpc-url", url20, "--miners", "20"], {}),
        ("run --rounds 0", "--rounds", ["run", "--rounds", "0"], {}),
        ("run --rounds -2", "--rounds", ["run", "--rounds", "-2"], {}),
        ("run --epochs 0", "--epochs", ["run", "--epochs", "0"], {}),
        ("run --lr -1", "--lr", ["run", "--lr", "-1"], {}),
        ("run --clients-per-round 0", "--clients-per-round", ["run", "--clients-per-round", "0"], {}),
        ("run --clients-per-round 5000", "--clients-per-round", ["run", "--clients-per-round", "5000"], {}),
        ("deploy --genesis-cid notacid", "--genesis-cid", ["deploy", *rpc, "--genesis-cid", "notacid"], {}),
        ("run --miners 100000", "--miners", ["run", "--miners", "100000"], {}),
        ("miner --clients 0/3 on a 5-miner deployment", "--clients",
         ["miner", *rpc, "--deployments-dir", str(records), "--clients", "0/3"], {"POFL_KEY": FUNDED_KEY}),
        ("deploy without --rpc-url", "--rpc-url", ["deploy"], {}),
    ]


def judge(name: str, option: str, result: dict, blocks_before: int, blocks_after: int) -> dict:
    text = (result["stdout"] + result["stderr"]).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return {"case": name, "exit": result["exit"], "seconds": result["seconds"],
            "traceback": "Traceback" in text, "lines": len(lines), "names_option": option in text,
            "transactions": blocks_after - blocks_before, "started": result["started"],
            "answer": lines[-1][:200] if lines else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=40.0, help="Seconds a bad input may take to be answered.")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    repeats = 1 if args.tiny else args.repeats
    report: dict = {"what": "seconds until `pofl ARGS` answers (median of repeats); every bad input of issue 11: "
                            "exit status, seconds, one line, traceback, option named, transactions sent, "
                            "processes started"}
    report["help_seconds"] = {
        h: round(statistics.median(invoke(h.split(), 60)["seconds"] for _ in range(repeats)), 3) for h in HELP}
    with tempfile.TemporaryDirectory() as tmp, start_devnet("anvil", accounts=30) as chain, \
            start_devnet("anvil", accounts=20) as chain20:
        records = Path(tmp) / "deployments"
        deployed = invoke(["deploy", "--rpc-url", chain.rpc_url, "--miners", "5", "--genesis-cid", GENESIS,
                           "--deployments-dir", str(records)], 120)
        if deployed["exit"] != 0:
            raise RuntimeError(f"pofl deploy failed: {deployed['stderr'][-2000:]}")
        cases = bad_inputs(chain.rpc_url, chain20.rpc_url, Path(tmp), records)
        if args.tiny:
            cases = cases[:3]
        rows = []
        for name, option, argv, env in cases:
            before = block_number(chain.rpc_url) + block_number(chain20.rpc_url)
            result = invoke(argv, args.timeout, env)
            after = block_number(chain.rpc_url) + block_number(chain20.rpc_url)
            rows.append(judge(name, option, result, before, after))
            print(json.dumps(rows[-1]), file=sys.stderr)
    report["bad_inputs"] = rows
    emit(report, args.out)


if __name__ == "__main__":
    main()
