#!/usr/bin/env python3
"""KFC's attack grid on PoFL-chain's in-memory engine, as JSON on stdout, with a PNG heatmap.

    .venv/bin/python bench/poisoning.py --out bench/results/poisoning.json --png bench/results/poisoning.png
    .venv/bin/python bench/poisoning.py --tiny                  # smoke test (CI): seconds, MNIST only
    .venv/bin/python bench/poisoning.py --e2e-only --e2e-rounds 6 --out bench/results/poisoning_e2e.json

The grid: {none, label flip, boosted poisoning, backdoor} x {FedAvg, median, trimmed mean, Krum,
Multi-Krum} x {MNIST, Fashion-MNIST}, on the seed workload (10 miners, 20 clients a round drawn
from 1,000 Dirichlet(0.5) clients, MLP 784-128-10, Adam, batch 20, one local epoch), threshold 0
with blocks that must beat their parent (the contract's default rule), the engine's default block
momentum, 30 rounds, seeds 0-2. Per cell (medians over the seeds, and each seed's value): the final
clean accuracy (the consensus model's, on the whole test set), the backdoor success rate (the
consensus model's accuracy on the triggered test set: test images not of the target class, with the
trigger, labelled as the target; for every attack, so that the clean rate is the baseline), the share
of blocks won by pools that held a poisoned client that round (in the JSON only: with one poisoned
client in every pool it is 1 by construction), and the engine's seconds per round.

The attacks (see ATTACKS): label flip = 30% of all clients train on labels 9 - y; boosted
poisoning = KFC's model poisoning: one drawn client of every pool each round trains on flipped
labels and scales its update by the pool's (clean + poisoned) / poisoned clients; backdoor = the
same one client per pool, boosted, stamps a 4x4 white square on half its images and labels them 0.

KFC's setting (``sweep``, MNIST, the same workload and seeds): k of the 10 miners fully compromised
(every client of those pools attacks, ``--attack-assignment miners``; the pools drawn from the seed by
``offchain.fl.attacks.compromised_miners``) for k in {0, 1, 5, 9, 10}, with FedAvg and Multi-Krum pools,
under label flip, boosted poisoning (label flip, the update scaled by the number of miners: KFC's
factor, clients / poisoned clients of the pool, is 1 in a pool whose every client attacks) and backdoor
(+ KFC's boost). Per cell: the share of blocks won by compromised pools, the final clean accuracy and
the backdoor success rate. ``kfc_verdict`` answers from them whether PoFL alone (FedAvg pools) holds
while at least one miner is honest, and whether Multi-Krum + PoFL holds with every miner compromised,
as KFC reports (arXiv 2502.06917): "holds" = within ``--tolerance`` of the clean accuracy of k = 0 and,
under the backdoor, of its backdoor success rate.

``--e2e`` adds one run of each attack end to end: ``pofl run`` on an auto-started Anvil with a
js-ipfs daemon store, reporting gas and seconds per round from its metrics file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from bench._report import emit
from offchain.fl.attacks import Backdoor, compromised_miners, triggered_test_set
from offchain.fl.device import default_device
from offchain.fl.evaluation import Evaluator
from offchain.fl.federation import BENCHMARK_FEDERATION, Federation, assign_to_miners, from_file
from offchain.fl.images import LabeledImages
from offchain.fl.mnist import load_mnist
from offchain.fl.simulation import EngineConfig, PoFLEngine

ROOT = Path(__file__).resolve().parents[1]
ATTACKS: dict[str, dict[str, object]] = {
    "none": {"attack": "none"},
    "label_flip": {"attack": "labelflip", "attack_assignment": "clients", "attack_fraction": 0.3},
    "boosted_poisoning": {"attack": "labelflip+boost", "attack_assignment": "one_per_pool"},
    "backdoor": {"attack": "backdoor+boost", "attack_assignment": "one_per_pool"},
}
AGGREGATORS = ("fedavg", "median", "trimmed", "krum", "multikrum")
DATASETS = ("mnist", "fashion_mnist")
METRICS = (("clean_accuracy", "final clean accuracy"), ("backdoor_success_rate", "backdoor success rate"))
SWEEP_METRICS = (("compromised_block_share", "share of blocks won by compromised pools"),
                 ("clean_accuracy", "final clean accuracy"), ("backdoor_success_rate", "backdoor success rate"))
COMPROMISED = (0, 1, 5, 9, 10)
SWEEP_AGGREGATORS = ("fedavg", "multikrum")
SWEEP_ATTACKS = ("label_flip", "boosted_poisoning", "backdoor")
N_MINERS = 10
KFC_REPORTS = {"pofl_alone_holds_with_an_honest_miner": True, "krum_pofl_holds_with_every_miner_compromised": True}


def load_dataset(name: str) -> tuple[Federation, LabeledImages, LabeledImages]:
    if name == "mnist":
        train = load_mnist("train")
        return from_file(BENCHMARK_FEDERATION, n_samples=len(train)), train, load_mnist("test")
    from offchain.fl.fashion_mnist import benchmark_federation, load_fashion_mnist

    train = load_fashion_mnist("train")
    return benchmark_federation(train), train, load_fashion_mnist("test")


def run_one(data: tuple[Federation, LabeledImages, LabeledImages], spec: dict[str, object], aggregator: str,
            seed: int, rounds: int, device: torch.device) -> dict[str, object]:
    """One run of ``rounds`` rounds with the attack ``spec`` (EngineConfig fields): its final clean accuracy,
    backdoor success rate, share of blocks won by pools holding poisoned clients, seconds a round."""
    federation, train, test = data
    config = EngineConfig(threshold=0.0, seed=seed, aggregator=aggregator, **spec)  # type: ignore[arg-type]
    engine = PoFLEngine(federation, train, test, config, device)
    walls, blocks, poisoned_blocks = [], 0, 0
    for _ in range(rounds):
        started = time.perf_counter()
        result = engine.run_round()
        walls.append(time.perf_counter() - started)
        if result.winner is not None:
            blocks += 1
            poisoned_blocks += result.winner in result.poisoned_miners
    trigger = Evaluator(triggered_test_set(test, Backdoor()), engine.flat, config.architecture, device)
    return {"clean_accuracy": round(engine.consensus_accuracy, 4),
            "backdoor_success_rate": round(trigger.accuracy(engine.consensus), 4),
            "poisoned_block_share": round(poisoned_blocks / blocks, 4) if blocks else None,
            "blocks": blocks, "seconds_per_round": round(statistics.median(walls), 4)}


def _median(values: list) -> float | None:  # type: ignore[type-arg]
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 4) if present else None


def grid(datasets: list[str], attacks: list[str], aggregators: list[str], seeds: list[int], rounds: int,
         device: torch.device, progress: bool, test_images: int | None = None) -> list[dict[str, object]]:
    cells = []
    for dataset in datasets:
        federation, train, test = load_dataset(dataset)
        data = (federation, train, test if test_images is None else test.subset(np.arange(test_images)))
        if test_images is None:
            run_one(data, ATTACKS["none"], "fedavg", 0, 1, device)  # warm-up: first vmap and kernels
        for attack in attacks:
            for aggregator in aggregators:
                runs = [run_one(data, ATTACKS[attack], aggregator, s, rounds, device) for s in seeds]
                cell = {"dataset": dataset, "attack": attack, "aggregator": aggregator,
                        **{k: _median([r[k] for r in runs]) for k in runs[0] if k != "blocks"},
                        "blocks": [r["blocks"] for r in runs],
                        "per_seed": {k: [r[k] for r in runs] for k in ("clean_accuracy", "backdoor_success_rate",
                                                                       "poisoned_block_share")}}
                cells.append(cell)
                if progress:
                    print(json.dumps({k: cell[k] for k in ("dataset", "attack", "aggregator", "clean_accuracy",
                                                           "backdoor_success_rate", "poisoned_block_share")}),
                          file=sys.stderr, flush=True)
    return cells


def findings(cells: list[dict[str, object]]) -> dict[str, object]:
    """The issue's acceptance questions, answered from the grid (per data set)."""
    at = {(c["dataset"], c["attack"], c["aggregator"]): c for c in cells}
    out: dict[str, object] = {}
    for dataset in sorted({str(c["dataset"]) for c in cells}):
        def acc(attack: str, aggregator: str, d: str = dataset) -> float | None:
            cell = at.get((d, attack, aggregator))
            return None if cell is None else cell["clean_accuracy"]  # type: ignore[return-value]

        def asr(aggregator: str, d: str = dataset) -> float | None:
            cell = at.get((d, "backdoor", aggregator))
            return None if cell is None else cell["backdoor_success_rate"]  # type: ignore[return-value]

        drops = {a: round(acc("none", a) - acc("boosted_poisoning", a), 4)  # type: ignore[operator]
                 for a in AGGREGATORS if acc("none", a) is not None and acc("boosted_poisoning", a) is not None}
        out[dataset] = {
            "boosted_poisoning_accuracy_drop_vs_no_attack": drops,
            "krum_or_multikrum_within_5_points": any(drops.get(a, 1.0) <= 0.05 for a in ("krum", "multikrum")),
            "fedavg_loses_more_than_5_points": drops.get("fedavg", 0.0) > 0.05,
            "backdoor_success_rate": {a: asr(a) for a in AGGREGATORS if asr(a) is not None},
            "multikrum_backdoor_below_fedavg": (asr("multikrum") is not None and asr("fedavg") is not None
                                                and asr("multikrum") < asr("fedavg")),  # type: ignore[operator]
        }
    return out


# ------------------------------------------------------------------ KFC's setting: k of the miners compromised


def compromised_spec(attack: str, k: int, n_miners: int = N_MINERS) -> dict[str, object]:
    """The EngineConfig fields of ``attack`` with every client of ``k`` of the ``n_miners`` pools attacking
    (k = 0: no attack)."""
    if not 0 <= k <= n_miners:
        raise ValueError(f"k must be 0..{n_miners} compromised miners, got {k}")
    if k == 0:
        return dict(ATTACKS["none"])
    spec: dict[str, object] = {"attack": ATTACKS[attack]["attack"], "attack_assignment": "miners",
                               "attack_fraction": k / n_miners}
    if attack == "boosted_poisoning":  # KFC's factor is 1 in a pool whose every client attacks
        spec["attack_options"] = {"factor": float(n_miners)}
    return spec


def sweep(data: tuple[Federation, LabeledImages, LabeledImages], compromised: list[int], attacks: list[str],
          aggregators: list[str], seeds: list[int], rounds: int, device: torch.device,
          progress: bool) -> list[dict[str, object]]:
    """KFC's setting: one cell per aggregator for k = 0 (attack 'none') and per (attack, aggregator, k > 0)."""
    pairs = ([("none", 0)] if 0 in compromised else []) + [(a, k) for a in attacks for k in compromised if k > 0]
    cells = []
    for aggregator in aggregators:
        for attack, k in pairs:
            cells.append(_sweep_cell(data, attack, aggregator, k, seeds, rounds, device))
            if progress:
                print(json.dumps({m: cells[-1][m] for m in ("attack", "aggregator", "compromised",
                                                            *dict(SWEEP_METRICS))}), file=sys.stderr, flush=True)
    return cells


def _sweep_cell(data: tuple[Federation, LabeledImages, LabeledImages], attack: str, aggregator: str, k: int,
                seeds: list[int], rounds: int, device: torch.device) -> dict[str, object]:
    runs = [run_one(data, compromised_spec(attack, k), aggregator, s, rounds, device) for s in seeds]
    for run in runs:  # with the miners assignment a pool holds poisoned clients iff it is compromised
        run["compromised_block_share"] = run.pop("poisoned_block_share")
    return {"attack": attack, "aggregator": aggregator, "compromised": k,
            "compromised_miners": [compromised_miners(assign_to_miners(data[0].n_clients, N_MINERS, s),
                                                      k / N_MINERS, s).tolist() for s in seeds],
            **{m: _median([r[m] for r in runs]) for m in ("compromised_block_share", "clean_accuracy",
                                                          "backdoor_success_rate", "seconds_per_round")},
            "blocks": [r["blocks"] for r in runs],
            "per_seed": {m: [r[m] for r in runs] for m in dict(SWEEP_METRICS)}}


def kfc_verdict(cells: list[dict[str, object]], n_miners: int = N_MINERS, tolerance: float = 0.05) -> dict[str, object]:
    """KFC's two claims, answered from the sweep's cells. A cell *holds* when its clean accuracy is at most
    ``tolerance`` below the same aggregator's at k = 0 and, under the backdoor, its backdoor success rate at
    most ``tolerance`` above it. PoFL alone holds with an honest miner iff every FedAvg cell with
    1 <= k < ``n_miners`` holds; Multi-Krum + PoFL holds with every miner compromised iff every Multi-Krum
    cell with k = ``n_miners`` holds. None where the sweep lacks the cells (or the k = 0 baseline)."""
    base = {c["aggregator"]: c for c in cells if c["compromised"] == 0}

    def holds(cell: dict[str, object]) -> bool | None:
        b = base.get(cell["aggregator"])
        if b is None or cell["clean_accuracy"] is None or b["clean_accuracy"] is None:
            return None
        accuracy_ok = cell["clean_accuracy"] >= b["clean_accuracy"] - tolerance  # type: ignore[operator]
        backdoor_ok = cell["attack"] != "backdoor" or (
            cell["backdoor_success_rate"] <= b["backdoor_success_rate"] + tolerance)  # type: ignore[operator]
        return accuracy_ok and backdoor_ok

    def all_hold(chosen: list[dict[str, object]]) -> bool | None:
        verdicts = [holds(c) for c in chosen]
        return None if not verdicts or None in verdicts else all(verdicts)

    per_cell = [{"attack": c["attack"], "aggregator": c["aggregator"], "compromised": c["compromised"],
                 "holds": holds(c)} for c in cells if c["compromised"] != 0]
    ours = {"pofl_alone_holds_with_an_honest_miner": all_hold(
                [c for c in cells if c["aggregator"] == "fedavg" and 1 <= c["compromised"] < n_miners]),  # type: ignore[operator]
            "krum_pofl_holds_with_every_miner_compromised": all_hold(
                [c for c in cells if c["aggregator"] == "multikrum" and c["compromised"] == n_miners])}
    return {**ours, "tolerance": tolerance, "kfc_reports": KFC_REPORTS,
            "agrees_with_kfc": {k: None if v is None else v == KFC_REPORTS[k] for k, v in ours.items()},
            "failures": [p for p in per_cell if p["holds"] is False], "per_cell": per_cell}


def _panel(ax, values: list[list[float | None]], metric: str, xlabels: list[str], ylabels: list[str],  # type: ignore[no-untyped-def]
           title: str) -> None:
    shown = [[float("nan") if v is None else v for v in line] for line in values]
    ax.imshow(shown, cmap="viridis" if metric == "clean_accuracy" else "magma_r", vmin=0, vmax=1, aspect="auto")
    for i, line in enumerate(values):
        for j, v in enumerate(line):
            ax.text(j, i, "-" if v is None else f"{v:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if (v is not None and (v < 0.5) == (metric == "clean_accuracy")) else "black")
    ax.set_xticks(range(len(xlabels)), xlabels, fontsize=8)
    ax.set_yticks(range(len(ylabels)), ylabels, fontsize=8)
    ax.set_title(title, fontsize=9)


def heatmap(cells: list[dict[str, object]], png: Path, sweep_cells: list[dict[str, object]] | None = None,
            note: str | None = None) -> Path:
    """Top: one heatmap per metric (rows) and data set (columns), attacks x aggregators, values written in.
    Bottom (with ``sweep_cells``): KFC's setting, (attack, aggregator) x compromised miners k, one panel per
    metric of SWEEP_METRICS. ``note`` (e.g. a tiny run's warning) is the figure's title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({str(c["dataset"]) for c in cells}, key=DATASETS.index)
    attacks = [a for a in ATTACKS if any(c["attack"] == a for c in cells)]
    aggregators = [a for a in AGGREGATORS if any(c["aggregator"] == a for c in cells)]
    at = {(c["dataset"], c["attack"], c["aggregator"]): c for c in cells}
    top_h, bottom_h = 3.2 * len(METRICS), (3.6 if sweep_cells else 0.0)
    width = max(4.6 * len(datasets), 13.0 if sweep_cells else 0.0)
    fig = plt.figure(figsize=(width, top_h + bottom_h + (0.4 if note else 0)), dpi=110)
    top, bottom = (fig.subfigures(2, 1, height_ratios=[top_h, bottom_h]) if sweep_cells else (fig, None))
    axes = top.subplots(len(METRICS), len(datasets), squeeze=False)
    for row, (metric, title) in enumerate(METRICS):
        for col, dataset in enumerate(datasets):
            _panel(axes[row][col], [[at[(dataset, a, g)][metric] for g in aggregators] for a in attacks], metric,
                   aggregators, [a.replace("_", " ") for a in attacks], f"{dataset}: {title}")
    if sweep_cells and bottom is not None:
        ks = sorted({int(c["compromised"]) for c in sweep_cells})  # type: ignore[call-overload]
        rows = [(a, g) for g in SWEEP_AGGREGATORS for a in ("none", *SWEEP_ATTACKS)
                if any(c["attack"] == a and c["aggregator"] == g for c in sweep_cells)]
        by = {(c["attack"], c["aggregator"], c["compromised"]): c for c in sweep_cells}
        sweep_axes = bottom.subplots(1, len(SWEEP_METRICS), squeeze=False)[0]
        labels = [f"{a.replace('_', ' ')}, {g}" for a, g in rows]
        for n, (ax, (metric, title)) in enumerate(zip(sweep_axes, SWEEP_METRICS, strict=True)):
            values = [[by[(a, g, k)][metric] if (a, g, k) in by else None for k in ks] for a, g in rows]
            _panel(ax, values, metric, [str(k) for k in ks], labels if n == 0 else [""] * len(rows),
                   f"KFC: {title}\n(x: compromised miners of {N_MINERS})")
    if note:
        fig.suptitle(note, fontsize=11, color="crimson")
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, bbox_inches="tight")
    plt.close(fig)
    return png


def markdown_table(report: dict[str, object]) -> str:
    """The grid as a Markdown table (medians over the seeds): one row per attack and aggregator; then, if the
    report has one, the sweep (KFC's setting): one row per attack, aggregator and number of compromised miners."""
    cells: list[dict[str, object]] = report["grid"]  # type: ignore[assignment]
    datasets = sorted({str(c["dataset"]) for c in cells}, key=DATASETS.index)
    at = {(c["dataset"], c["attack"], c["aggregator"]): c for c in cells}
    short = {"clean_accuracy": "acc", "backdoor_success_rate": "backdoor",
             "compromised_block_share": "compromised blocks"}
    head = ["attack", "aggregator", *(f"{d} {short[m]}" for d in datasets for m, _ in METRICS)]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for attack in ATTACKS:
        for aggregator in AGGREGATORS:
            if not any((d, attack, aggregator) in at for d in datasets):
                continue
            values = [at[(d, attack, aggregator)][m] if (d, attack, aggregator) in at else None
                      for d in datasets for m, _ in METRICS]
            lines.append("| " + " | ".join([attack.replace("_", " "), aggregator,
                                           *("-" if v is None else f"{v:.3f}" for v in values)]) + " |")
    sweep_cells: list[dict[str, object]] = report.get("sweep") or []  # type: ignore[assignment]
    if sweep_cells:
        head = ["attack", "aggregator", "compromised", *(f"mnist {short[m]}" for m, _ in SWEEP_METRICS)]
        lines += ["", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for c in sweep_cells:
            values = [c[m] for m, _ in SWEEP_METRICS]
            lines.append("| " + " | ".join([str(c["attack"]).replace("_", " "), str(c["aggregator"]),
                                           str(c["compromised"]),
                                           *("-" if v is None else f"{v:.3f}" for v in values)]) + " |")
    return "\n".join(lines)


def end_to_end(attacks: list[str], aggregator: str, rounds: int) -> list[dict[str, object]]:
    """Each attack once through ``pofl run`` on an auto-started Anvil and a js-ipfs daemon."""
    from offchain.servers.ipfs import start_ipfs_daemon

    out = []
    with start_ipfs_daemon() as daemon, tempfile.TemporaryDirectory() as tmp:
        for attack in attacks:
            spec = ATTACKS[attack]
            metrics = Path(tmp) / f"{attack}.json"
            argv = [sys.executable, "-m", "offchain.cli", "run", "--rounds", str(rounds), "--threshold", "0",
                    "--aggregator", aggregator, "--attack", str(spec["attack"]),
                    "--attack-assignment", str(spec.get("attack_assignment", "clients")),
                    "--attack-fraction", str(spec.get("attack_fraction", 0.3)),
                    "--ipfs-api", daemon.api_multiaddr, "--store-dir", str(Path(tmp) / "store"),
                    "--metrics", str(metrics)]
            started = time.perf_counter()
            subprocess.run(argv, check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
            wall = time.perf_counter() - started
            records = json.loads(metrics.read_text())["rounds"]
            steady = records[1:] or records  # the first round warms up vmap and the kernels
            out.append({
                "attack": attack, "aggregator": aggregator, "rounds": len(records),
                "command": " ".join(["pofl", *argv[3:]]).replace(daemon.api_multiaddr, "IPFS_API"),
                "gas_per_round_median": int(statistics.median(r["gas_used"] for r in steady)),
                "seconds_per_round_median": round(statistics.median(sum(r["seconds"].values()) for r in steady), 4),
                "seconds_split_median": {k: round(statistics.median(r["seconds"].get(k, 0.0) for r in steady), 4)
                                         for k in sorted({k for r in steady for k in r["seconds"]})},
                "blocks": sum(r["winner"] is not None for r in records),
                "chain_accuracy_final": records[-1]["chain_accuracy"],
                "process_wall_seconds": round(wall, 1)})
    return out


def reused_grid(saved: dict[str, Any], report: dict[str, object], source: Path,
                device: torch.device) -> list[dict[str, Any]]:
    """The grid cells of a saved report, which must have measured this run's workload, attacks, rounds and test
    images; one cell (MNIST, backdoor, Multi-Krum, the saved first seed) is run again and must come out the same,
    or the code has changed what the grid measures (``grid_spot_check``). Its seeds are said in ``grid_seeds``."""
    for key in ("workload", "rounds", "test_images", "tiny", "attacks"):
        if saved.get(key) != report[key]:
            raise SystemExit(f"--grid-from {source}: its {key} is {saved.get(key)!r}, this run's is {report[key]!r}; "
                             "run the grid again instead")
    seed = saved["seeds"][0]
    test_images = None if saved["test_images"] == "all" else int(saved["test_images"])
    (again,) = grid(["mnist"], ["backdoor"], ["multikrum"], [seed], int(saved["rounds"]), device, False, test_images)
    (kept,) = [c for c in saved["grid"] if (c["dataset"], c["attack"], c["aggregator"]) == ("mnist", "backdoor",
                                                                                             "multikrum")]
    check = {"cell": "mnist/backdoor/multikrum", "seed": seed,
             "saved": {m: kept["per_seed"][m][0] for m in ("clean_accuracy", "backdoor_success_rate")},
             "again": {m: again["per_seed"][m][0] for m in ("clean_accuracy", "backdoor_success_rate")}}
    check["same"] = all(abs(check["saved"][m] - check["again"][m]) <= 5e-4 for m in check["saved"])
    report["grid_spot_check"] = check
    if not check["same"]:
        raise SystemExit(f"--grid-from {source}: the spot check differs ({check}); run the grid again instead")
    report["grid_from"] = str(source)
    report["grid_seeds"] = saved["seeds"]
    return list(saved["grid"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--attacks", nargs="+", choices=list(ATTACKS), default=list(ATTACKS))
    parser.add_argument("--aggregators", nargs="+", choices=AGGREGATORS, default=list(AGGREGATORS))
    parser.add_argument("--tiny", action="store_true",
                        help="2 rounds, seed 0, MNIST, the first 2,000 test images: a smoke test in seconds")
    parser.add_argument("--compromised", type=int, nargs="*", default=list(COMPROMISED),
                        help="KFC's setting: numbers k of the 10 miners fully compromised (none: no sweep)")
    parser.add_argument("--sweep-attacks", nargs="+", choices=SWEEP_ATTACKS, default=list(SWEEP_ATTACKS))
    parser.add_argument("--sweep-aggregators", nargs="+", choices=AGGREGATORS, default=list(SWEEP_AGGREGATORS))
    parser.add_argument("--tolerance", type=float, default=0.05,
                        help="KFC's verdict: a cell holds within this of k = 0's accuracy (and backdoor rate)")
    parser.add_argument("--e2e", action="store_true", help="also run each attack end to end on Anvil + IPFS")
    parser.add_argument("--e2e-only", action="store_true", help="only the end-to-end runs")
    parser.add_argument("--e2e-rounds", type=int, default=6)
    parser.add_argument("--e2e-aggregator", default="multikrum")
    parser.add_argument("--png", type=Path, default=None, help="write the grid's heatmap here")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quiet", action="store_true", help="no per-cell progress on stderr")
    parser.add_argument("--table", type=Path, default=None, help="print a saved report's grid as Markdown, and stop")
    parser.add_argument("--grid-from", type=Path, default=None,
                        help="take the grid (its cells, findings and wall time) from this saved report of the same "
                             "workload instead of running it again: to add KFC's sweep to a full grid run")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(json.loads(args.table.read_text())))
        return
    test_images = None
    if args.tiny:
        args.rounds, args.seeds, args.datasets, test_images = 2, [0], ["mnist"], 2000
    device = default_device()
    report: dict[str, object] = {
        "workload": {"n_miners": 10, "clients_per_round": 20, "clients": 1000, "federation": "Dirichlet(0.5)",
                     "model": "MLP 784-128-10", "local": "Adam lr 1e-3, batch 20, 1 epoch", "threshold": 0.0,
                     "require_improvement": True, "block_momentum": EngineConfig().block_momentum},
        "rounds": args.rounds, "seeds": args.seeds, "tiny": args.tiny, "test_images": test_images or "all",
        "attacks": ATTACKS,
        "device": str(device), "threads": torch.get_num_threads()}
    if not args.e2e_only:
        if args.grid_from:
            saved = json.loads(args.grid_from.read_text())
            cells = reused_grid(saved, report, args.grid_from, device)
            report["grid_wall_seconds"] = saved["grid_wall_seconds"]
        else:
            started = time.perf_counter()
            cells = grid(args.datasets, args.attacks, args.aggregators, args.seeds, args.rounds, device,
                         not (args.quiet or args.tiny), test_images)
            report["grid_wall_seconds"] = round(time.perf_counter() - started, 1)
        report["grid"] = cells
        report["findings"] = findings(cells)
        sweep_cells = None
        if args.compromised:
            started = time.perf_counter()
            federation, train, test = load_dataset("mnist")
            data = (federation, train, test if test_images is None else test.subset(np.arange(test_images)))
            sweep_cells = sweep(data, args.compromised, args.sweep_attacks, args.sweep_aggregators, args.seeds,
                                args.rounds, device, not (args.quiet or args.tiny))
            report["sweep_wall_seconds"] = round(time.perf_counter() - started, 1)
            report["sweep"] = sweep_cells
            report["kfc_verdict"] = kfc_verdict(sweep_cells, N_MINERS, args.tolerance)
        if args.png:
            note = (f"TINY SMOKE RUN ({args.rounds} rounds, seed {args.seeds[0]}, {test_images} test images): "
                    "not results" if args.tiny else None)
            report["heatmap"] = str(heatmap(cells, args.png, sweep_cells, note))
    if args.e2e or args.e2e_only:
        report["end_to_end"] = end_to_end(args.attacks, args.e2e_aggregator, args.e2e_rounds)
    emit(report, args.out)


if __name__ == "__main__":
    main()
