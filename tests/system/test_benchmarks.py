"""Every benchmark runs in CI as a smoke test, with tiny parameters: it must finish and print one JSON
document whose figures say what they measure (the real figures come from the full runs in bench/); the
poisoning benchmark also draws its grid and prints its table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.bench import run_bench
from tests.support.paths import BENCH


@pytest.mark.timeout(600)
def test_seed_e2e_smoke() -> None:
    report = run_bench("seed_e2e.py", "--tiny")
    e2e, memory = report["end_to_end"], report["in_memory_engine"]
    assert e2e["rounds"] == 3 and len(e2e["chain_accuracy_per_round"]) == 3
    assert e2e["setup_seconds"] > 0 and e2e["warmup_round_seconds"] > 0 and e2e["round_seconds_median"] > 0
    # threshold 0: every round validates a candidate, re-evaluated by every seat (the 9 other committers),
    # each from its own fetch
    assert e2e["evaluations_per_round"] == [9, 9, 9]
    assert e2e["peak_rss_mb"] > 100 and memory["peak_rss_mb"] > 100
    assert e2e["chain_accuracy_per_round"] == pytest.approx(memory["chain_accuracy_per_round"], abs=1.5e-4)


@pytest.mark.soak  # 80 s: a Flower round is ~25 s here; the pool itself is tested in tests/node and tests/system
@pytest.mark.timeout(300)
def test_flower_smoke() -> None:
    report = run_bench("flower.py", "--tiny")
    (one,) = report["settings"]
    assert one["supernodes"] == 1 and len(one["flower_round_s"]) == len(one["in_process_round_s"]) == 1
    assert one["flower_round_s_median"] > 0 and one["max_abs_diff_vs_in_process"] < 1e-5
    assert sum(one["where_the_time_goes_median_s"].values()) == pytest.approx(one["flower_round_s_median"], abs=0.01)


@pytest.mark.timeout(600)
def test_store_smoke() -> None:
    report = run_bench("store.py", "--tiny")
    assert set(report) == {"LocalStore", "IpfsStore (js-ipfs 0.18 daemon)", "compute_cid"}
    assert report["LocalStore"]["blob 1 MB"]["get_MBps"] > 0 and report["compute_cid"]["bytes"] == 1024 * 1024


@pytest.mark.timeout(600)
def test_holdout_smoke() -> None:
    report = run_bench("holdout.py", "--tiny")
    assert report["split"] == {"public": 1000, "shards": 30, "shard_size": 250, "final": 1500}
    for mode, images, reads in (("public", 8500, 8500), ("holdout", 250, 1000)):
        run = report[mode]
        assert run["rounds"] == 3 and run["evaluation_images"] == images and run["attacker_reads"] == reads
        assert run["attacker"]["blocks"] + run["honest"]["blocks"] == run["blocks"] == len(run["per_block"])
        assert all(0 <= b["claimed"] <= 1 and 0 <= b["final"] <= 1 for b in run["per_block"])
        assert run["round_seconds_median"] > 0 and run["without_attacker"]["round_seconds_median"] > 0


def test_cli_smoke() -> None:
    report = run_bench("cli.py", "--tiny")
    assert set(report["help_seconds"]) >= {"--help", "run --help", "--version"}
    assert all(s > 0 for s in report["help_seconds"].values())
    rows = report["bad_inputs"]
    assert len(rows) == 3 and all(r["exit"] == 2 and r["lines"] == 1 and r["names_option"] for r in rows), rows
    assert all(not r["traceback"] and r["transactions"] == 0 and r["started"] == [] for r in rows), rows


def test_poisoning_benchmark_runs_tiny(tmp_path: Path) -> None:
    """A reduced tiny run (two attacks, two aggregators; KFC's sweep at k = 0, 1, 10 under the backdoor)."""
    bench = str(BENCH / "poisoning.py")
    out = subprocess.run([sys.executable, bench, "--tiny", "--attacks", "none", "backdoor", "--aggregators", "fedavg",
                          "multikrum", "--compromised", "0", "1", "10", "--sweep-attacks", "backdoor",
                          "--png", str(tmp_path / "grid.png"), "--out", str(tmp_path / "grid.json")],
                         capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(out.stdout)
    cells = report["grid"]
    assert {(c["attack"], c["aggregator"]) for c in cells} == {(a, g) for a in ("none", "backdoor")
                                                               for g in ("fedavg", "multikrum")}
    for cell in cells:
        assert 0 <= cell["clean_accuracy"] <= 1 and 0 <= cell["backdoor_success_rate"] <= 1
        assert cell["seconds_per_round"] > 0
        assert cell["attack"] != "none" or cell["poisoned_block_share"] == 0
    sweep = {(c["aggregator"], c["compromised"]): c for c in report["sweep"]}
    assert set(sweep) == {(g, k) for g in ("fedavg", "multikrum") for k in (0, 1, 10)}
    for (_, k), c in sweep.items():
        assert c["attack"] == ("none" if k == 0 else "backdoor") and [len(m) for m in c["compromised_miners"]] == [k]
        assert c["compromised_block_share"] == (0 if k == 0 else 1 if k == 10 else c["compromised_block_share"])
    verdict = report["kfc_verdict"]
    assert {p["compromised"] for p in verdict["per_cell"]} == {1, 10}
    assert verdict["pofl_alone_holds_with_an_honest_miner"] in (True, False)
    assert verdict["krum_pofl_holds_with_every_miner_compromised"] in (True, False)
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = subprocess.run([sys.executable, bench, "--table", str(tmp_path / "grid.json")], capture_output=True,
                           text=True, timeout=60, check=True).stdout.splitlines()
    assert table[0] == "| attack | aggregator | mnist acc | mnist backdoor |"
    blank = table.index("")
    assert blank == 2 + len(cells) and table[blank + 1] == ("| attack | aggregator | compromised | mnist compromised "
                                                            "blocks | mnist acc | mnist backdoor |")
    assert len(table) == blank + 3 + len(sweep)


@pytest.mark.timeout(300)
def test_flexblock_side_by_side_smoke() -> None:
    """This project's three pools on a tiny seed workload; flexBlock 0.0.1's PoW and PoS beside them where
    $FLEXBLOCK_PYTHON names an interpreter that has it, else skipped with the reason."""
    flexblock = os.environ.get("FLEXBLOCK_PYTHON", "")
    report = run_bench("flexblock.py", "--tiny", "--flexblock-python", flexblock or "/nonexistent/python")
    assert report["workload"]["rounds"] == 2 and report["tiny"]
    sides = [report["pofl_chain"], *([report["flexblock"]] if flexblock else [])]
    for side, consensuses in zip(sides, (("pofl", "pow", "pos"), ("pow", "pos")), strict=False):
        assert set(side) >= set(consensuses)
        for name in consensuses:
            row = side[name]
            assert row["rounds"] == 2 == len(row["round_seconds"]) == len(row["accuracy_per_round"])
            assert row["round_seconds_median"] > 0 and 0 <= row["final_accuracy"] <= 1
            assert row["blocks"] == 2 and row["nodes"] == (4 if name == "pos" else 3)
    if not flexblock:
        assert report["flexblock"] == {"skipped": "--flexblock-python /nonexistent/python: no such file (make it: "
                                                  "python3 -m venv /tmp/flexblock-env && /tmp/flexblock-env/bin/pip "
                                                  "install \"torch==2.13.0+cpu\" flexblock==0.0.1 packaging)"}
