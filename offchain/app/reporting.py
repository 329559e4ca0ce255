"""What a run reports: its round records as a table, a JSON metrics file and a PNG plot."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from offchain.chain.consensus import PoFLContract
from offchain.errors import ConfigError
from offchain.miner.records import RoundRecord


def head_accuracy(record: dict[str, Any] | RoundRecord, genesis_accuracy: float | None) -> float:
    """The chain head's accuracy after a round, the genesis model's as measured (the contract records 0: it
    was never scored)."""
    height = record["chain_height"] if isinstance(record, dict) else record.chain_height
    chain = record["chain_accuracy"] if isinstance(record, dict) else record.chain_accuracy
    return genesis_accuracy if height == 0 and genesis_accuracy is not None else chain


def write_metrics(records: list[RoundRecord], path: Path, meta: dict[str, Any]) -> None:
    """Write the metrics file whole or not at all: a temporary file beside it, then an atomic rename, so a
    reader (or a run killed mid-write) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"meta": meta, "rounds": [asdict(r) for r in records]}, indent=2) + "\n")
    os.replace(tmp, path)


class MetricsWriter:
    """A run's metrics file, rewritten after every round (atomically), and its plot, drawn at the end —
    however the run ends (Ctrl-C included: call :meth:`finish` from a ``finally``)."""

    def __init__(self, metrics: Path | None, plot: Path | None, meta: dict[str, Any]) -> None:
        self.path = metrics or (plot.with_suffix(".json") if plot is not None else None)
        self.plot = plot
        self.meta = meta
        self.records: list[RoundRecord] = []

    def write(self, records: list[RoundRecord]) -> None:
        self.records = list(records)
        if self.path is not None:
            write_metrics(self.records, self.path, self.meta)

    def finish(self) -> dict[str, str]:
        """Write the metrics (and the plot, if asked and there is a round to plot); what was written."""
        written: dict[str, str] = {}
        if self.path is None:
            return written
        write_metrics(self.records, self.path, self.meta)
        written["metrics"] = str(self.path)
        if self.plot is not None and self.records:
            written["plot"] = str(plot_metrics(self.path, self.plot))
        return written


def read_metrics(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The meta and round records of a metrics file; a ConfigError names the file if it is not one."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not a metrics file: not JSON ({exc})") from None
    rounds = data.get("rounds") if isinstance(data, dict) else None
    if not isinstance(rounds, list) or not isinstance(data.get("meta"), dict) \
            or not all(isinstance(r, dict) and isinstance(r.get("round"), int)
                       and isinstance(r.get("chain_accuracy"), int | float)
                       and isinstance(r.get("miner_accuracies", {}), dict) for r in rounds):
        raise ConfigError(f"{path} is not a metrics file of `pofl run --metrics`: expected {{\"meta\": {{...}}, "
                          f"\"rounds\": [{{\"round\": N, \"chain_accuracy\": X, ...}}]}}")
    return data["meta"], rounds


def chain_text(record: RoundRecord, genesis_accuracy: float | None) -> str:
    """The chain head's accuracy after ``record``'s round, for people: the genesis model's marked as such."""
    text = f"{head_accuracy(record, genesis_accuracy):.4f}"
    return f"{text} (genesis)" if record.chain_height == 0 else text


def plot_metrics(metrics_path: Path, png_path: Path) -> Path:
    """Accuracy per round of every miner's own model and of the chain head, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    meta, rounds = read_metrics(metrics_path)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    miners = sorted({int(m) for r in rounds for m in r.get("miner_accuracies", {})})
    for m in miners:
        points = [(r["round"], r["miner_accuracies"].get(str(m), r["miner_accuracies"].get(m))) for r in rounds]
        points = [(x, y) for x, y in points if y is not None]
        if points:
            ax.plot(*zip(*points, strict=True), ".", alpha=0.45, label=f"miner {m}" if len(miners) <= 10 else None)
    genesis = meta.get("genesis_accuracy")
    steps = [(r["round"], head_accuracy({"chain_height": None, **r}, genesis)) for r in rounds]
    if rounds and genesis is not None and (meta.get("started_from") or {}).get("height") == 0:
        steps.insert(0, (rounds[0]["round"] - 1, genesis))  # the chain before the first round: the genesis model
    if steps:
        ax.step(*zip(*steps, strict=True), where="post", color="black", linewidth=2, label="chain (latest block)")
    if meta.get("threshold") is not None:
        ax.axhline(meta["threshold"], color="grey", linestyle="--", linewidth=1, label="threshold")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"PoFL on {meta.get('dataset', 'MNIST')}: {meta.get('n_miners', '?')} miners")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="best")
    fig.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path)
    plt.close(fig)
    return png_path


def contract_summary(contract: PoFLContract) -> dict[str, Any]:
    """A deployed consensus as `pofl info` reports it: configuration, round, phase, miners, head, balances."""
    state = contract.current_phase()
    head = contract.latest_block()
    return {"address": contract.address, "config": asdict(contract.config()),
            "round": state.round, "phase": state.phase.name, "miners": len(contract.miners()),
            "blocks": contract.block_count(), "latestBlock": {**asdict(head), "cid": head.cid},
            "holdout": contract.holdout_address(), **contract.balances()}
