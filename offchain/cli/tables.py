"""The tables ``pofl`` prints for people: a run's rounds, the chain's blocks, the final-shard report (their
cells never wrap: :func:`~offchain.cli.output.data_table`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from offchain.cli.output import data_table

if TYPE_CHECKING:
    from offchain.app.holdout_report import FinalAccuracy
    from offchain.chain.types import ChainBlock
    from offchain.miner.records import RoundRecord


def rounds_table(records: list[RoundRecord], genesis_accuracy: float | None = None) -> Any:
    """Round, winner, claimed and validated accuracy, chain head, CID, gas, seconds."""
    from offchain.app.reporting import chain_text

    table = data_table("PoFL rounds", ["round", "winner", "claimed", "validated", "chain", "CID", "gas", "seconds"],
                       right=("round", "claimed", "validated", "chain", "gas", "seconds"))
    for r in records:
        table.add_row(
            str(r.round), "-" if r.winner is None else f"miner {r.winner}",
            "-" if r.claimed_accuracy is None else f"{r.claimed_accuracy:.4f}",
            "-" if r.validated_accuracy is None else f"{r.validated_accuracy:.4f}",
            chain_text(r, genesis_accuracy), r.cid or "-", f"{r.gas_used / 1e6:.2f}M", f"{sum(r.seconds.values()):.2f}")
    return table


def blocks_table(blocks: list[ChainBlock], finals: dict[int, FinalAccuracy] | None) -> Any:
    """Every block as the contract stores it; in hold-out mode its final-shard accuracy and gap beside it."""
    holdout = finals is not None
    table = data_table("PoFL blocks" + (" (hold-out task: accuracy on its round's shard)" if holdout else ""),
                       ["height", "round", "miner", "accuracy", *(("final", "gap") if holdout else ()), "CID", "hash",
                        "parent"])
    for b in blocks:
        final = (finals or {}).get(b.height)
        table.add_row(str(b.height), str(b.round), b.miner, "genesis" if b.height == 0 else f"{b.accuracy:.4f}",
                      *((_fraction(final and final.final_accuracy), _fraction(final and final.gap, "+"))
                        if holdout else ()),
                      b.cid, "0x" + b.block_hash.hex(), "0x" + b.parent_hash.hex())
    return table


def final_table(finals: list[FinalAccuracy]) -> Any:
    """Hold-out mode: every block measured on the task's final shard beside its recorded (selection) accuracy."""
    table = data_table("every block on the final held-out shard",
                       ["height", "round", "recorded", "final", "gap", "CID"],
                       right=("height", "round", "recorded", "final", "gap"))
    for f in finals:
        table.add_row(str(f.height), str(f.round), _fraction(f.selection_accuracy), _fraction(f.final_accuracy),
                      _fraction(f.gap, "+"), f.cid)
    return table


def _fraction(value: float | None, sign: str = "") -> str:
    return "-" if value is None else f"{value:{sign}.4f}"
