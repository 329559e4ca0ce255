"""The contract benchmarks run and say what they must: the gas budget per miner, every attack defeated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench(*args: str) -> object:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True,
                         timeout=600).stdout
    return json.loads(out)


def test_gas_bench_tiny_is_within_budget_and_o1() -> None:
    report = run_bench("bench/gas.py", "--tiny")
    for n in (5, 7):
        per_miner = report[f"{n} miners"]["per_miner_round"]
        assert per_miner["within"] and per_miner["commit + reveal + vote"] <= 150_000, per_miner
    assert report["o1"]["commit"]["same"] and report["o1"]["vote"]["same"], report["o1"]


def test_attack_bench_defeats_every_attack() -> None:
    report = run_bench("bench/attacks.py")
    assert [entry["attack"] for entry in report] == run_bench_names()
    for entry in report:
        assert set(entry) == {"attack", "defeated", "attacker_gain_wei", "honest_loss_wei", "rounds"}
        assert entry["defeated"] and entry["attacker_gain_wei"] <= 0 and entry["honest_loss_wei"] <= 0, entry


def run_bench_names() -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "bench/attacks.py", "--list"], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True).stdout.split("\n")[:-1]
