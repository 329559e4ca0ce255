"""What a run reports: one record per round, as a table, a JSON file and a PNG plot."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RoundRecord:
    round: int
    block_height: int | None  # height of the block this round made, None if the round failed
    winner: int | None  # miner index of the block's miner
    claimed_accuracy: float | None
    validated_accuracy: float | None  # mean of the committee's own measurements of the winning model
    cid: str | None
    chain_accuracy: float  # the chain head's accuracy after the round
    miner_accuracies: dict[int, float]  # accuracy each miner measured of its own model this round
    rejected: list[int] = field(default_factory=list)  # miners whose claims the committee rejected
    gas_used: int = 0
    clients_trained: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    validations: int = 0  # candidate re-evaluations by this process's committee members (each its own fetch)


def write_metrics(records: list[RoundRecord], path: Path, meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "rounds": [asdict(r) for r in records]}, indent=2) + "\n")


def read_metrics(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = json.loads(path.read_text())
    return data["meta"], data["rounds"]


def round_table(records: list[RoundRecord], title: str = "PoFL rounds") -> Any:
    """A rich Table: round, winner, claimed and validated accuracy, CID, gas, seconds."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("round", "winner", "claimed", "validated", "chain", "CID", "gas", "seconds"):
        table.add_column(col, justify="right" if col not in ("CID", "winner") else "left")
    for r in records:
        table.add_row(
            str(r.round), "-" if r.winner is None else f"miner {r.winner}",
            "-" if r.claimed_accuracy is None else f"{r.claimed_accuracy:.4f}",
            "-" if r.validated_accuracy is None else f"{r.validated_accuracy:.4f}",
            f"{r.chain_accuracy:.4f}", (r.cid or "-")[:14] + ("…" if r.cid else ""), f"{r.gas_used / 1e6:.2f}M",
            f"{sum(r.seconds.values()):.2f}")
    return table


def plot_metrics(metrics_path: Path, png_path: Path) -> Path:
    """Accuracy per round of every miner's own model and of the chain head, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta, rounds = read_metrics(metrics_path)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    miners = sorted({int(m) for r in rounds for m in r["miner_accuracies"]})
    for m in miners:
        points = [(r["round"], r["miner_accuracies"][str(m)] if str(m) in r["miner_accuracies"]
                   else r["miner_accuracies"].get(m)) for r in rounds]
        points = [(x, y) for x, y in points if y is not None]
        ax.plot(*zip(*points, strict=True), ".", alpha=0.45, label=f"miner {m}" if len(miners) <= 10 else None)
    ax.step([r["round"] for r in rounds], [r["chain_accuracy"] for r in rounds], where="post", color="black",
            linewidth=2, label="chain (latest block)")
    if meta.get("threshold") is not None:
        ax.axhline(meta["threshold"], color="grey", linestyle="--", linewidth=1, label="threshold")
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
