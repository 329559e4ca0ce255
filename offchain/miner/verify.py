"""Replaying a PoFL chain from any RPC and store: ``pofl verify``.

For every block: the block hash is recomputed from its contents and the parent link checked
(an RPC may lie); the improvement rule is checked; the recorded accuracy must be the (lower)
median of the committee's reports for the validation that accepted it (the contract's events);
the model is fetched by CID (bytes verified against the CID), loaded safely as the contract's
architecture, and re-evaluated on the evaluation set whose sha256 the contract stores; the
recorded accuracy must match that measurement within the contract's tolerance. Nothing a block
points at can crash the replay: every fault is a :class:`Problem` in the report. A model that
cannot be had is *unavailable*, told apart from one that was had and does not match (*mismatch*).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum

import torch

from offchain.chain.pofl import ChainBlock, ClaimStatus, PoFLConfig, PoFLContract, lower_median, to_bps
from offchain.fl.data import load_mnist
from offchain.fl.evaluation import Evaluator
from offchain.fl.models import architecture_named, build_model
from offchain.fl.training import FlatParams
from offchain.store.base import ModelStore
from offchain.store.models import fetch_untrusted


class ProblemKind(StrEnum):
    HASH = "hash"  # the block hash is not the hash of its contents
    LINK = "link"  # the parent hash is not the previous block's hash
    IMPROVEMENT = "improvement"  # the block does not improve on its parent where the contract requires it
    ACCURACY = "accuracy"  # the model measures further than the tolerance from the recorded accuracy
    MEDIAN = "median"  # the recorded accuracy is not the median of the committee's reports
    UNAVAILABLE = "unavailable"  # the model could not be fetched (not found, timed out, store down)
    MODEL = "model"  # the bytes do not hash to the CID, or are not a model of the architecture
    CHAIN = "chain"  # the contract's configuration cannot be replayed here


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass
class BlockCheck:
    height: int
    round: int
    cid: str
    claimed: float
    measured: float | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class ChainReport:
    contract: str
    architecture: str | None
    blocks: list[BlockCheck]
    problems: list[Problem] = field(default_factory=list)

    @property
    def all_problems(self) -> list[Problem]:
        return self.problems + [p for b in self.blocks for p in b.problems]

    @property
    def ok(self) -> bool:
        return not self.all_problems

    @property
    def verdict(self) -> str:
        """OK; UNAVAILABLE when the only faults are models that could not be had; else MISMATCH."""
        kinds = {p.kind for p in self.all_problems}
        if not kinds:
            return "OK"
        return "UNAVAILABLE" if kinds == {ProblemKind.UNAVAILABLE} else "MISMATCH"

    def as_dict(self) -> dict:  # type: ignore[type-arg]
        return {"ok": self.ok, "verdict": self.verdict, **asdict(self)}


def check_links(block: ChainBlock, parent: ChainBlock | None, config: PoFLConfig) -> list[Problem]:
    """What is wrong with ``block``'s own contents and its link to ``parent`` (pure)."""
    problems = []
    if block.block_hash != block.expected_hash():
        problems.append(Problem(ProblemKind.HASH, "block hash does not match its contents"))
    if parent is not None and block.parent_hash != parent.block_hash:
        problems.append(Problem(ProblemKind.LINK, f"parent hash does not link to block {parent.height}"))
    if parent is not None and config.require_improvement and block.accuracy_bps <= parent.accuracy_bps:
        problems.append(Problem(ProblemKind.IMPROVEMENT, f"accuracy {block.accuracy:.4f} does not improve on the "
                                                         f"parent's {parent.accuracy:.4f}"))
    return problems


def check_accuracy(block: ChainBlock, measured: float, tolerance_bps: int) -> list[Problem]:
    """The recorded accuracy must lie within the tolerance of what the model measures (pure)."""
    if block.height > 0 and abs(to_bps(measured) - block.accuracy_bps) > tolerance_bps:
        return [Problem(ProblemKind.ACCURACY, f"measured accuracy {measured:.4f} is not the recorded "
                                              f"{block.accuracy:.4f} within the tolerance of {tolerance_bps} bps")]
    return []


def check_median(block: ChainBlock, reports: list[int]) -> list[Problem]:
    """The recorded accuracy must be the lower median of the reports that accepted the block (pure)."""
    if block.height == 0:
        return []
    if not reports:
        return [Problem(ProblemKind.MEDIAN, "no committee reports accepted this block")]
    median = lower_median(reports)
    if median != block.accuracy_bps:
        return [Problem(ProblemKind.MEDIAN, f"recorded {block.accuracy_bps} bps, but the median of the committee's "
                                            f"{len(reports)} reports {sorted(reports)} is {median} bps")]
    return []


def accepting_reports(contract: PoFLContract, block: ChainBlock) -> list[int]:
    """The measurements the committee reported in the validation that accepted ``block``'s claim."""
    accepted = [d for d in contract.decisions(block.round)
                if d.claimant == block.miner and d.outcome == ClaimStatus.ACCEPTED]
    return list(contract.reports(block.round, accepted[-1].attempt).values()) if accepted else []


def verify_chain(contract: PoFLContract, store: ModelStore, device: torch.device | None = None) -> ChainReport:
    device = device or torch.device("cpu")
    config = contract.config()
    architecture = architecture_named(config.architecture_id)
    report = ChainReport(contract.address, architecture, [])
    if architecture is None:
        report.problems.append(Problem(ProblemKind.CHAIN, f"unknown architecture id {config.architecture_id.hex()}"))
        return report
    eval_set = load_mnist("test")
    if bytes.fromhex(eval_set.sha256()) != config.eval_set_hash:
        report.problems.append(Problem(ProblemKind.CHAIN, "the contract's evaluation set is not MNIST's test set: "
                                                          "cannot re-evaluate"))
        return report
    flat = FlatParams(build_model(architecture).to(device))
    evaluator = Evaluator(eval_set, flat, architecture, device)
    parent = None
    for block in contract.blocks():
        check = BlockCheck(block.height, block.round, block.cid, block.accuracy, problems=check_links(block, parent,
                                                                                                      config))
        check.problems += check_median(block, accepting_reports(contract, block) if block.height else [])
        fetched = fetch_untrusted(store, block.cid, architecture)
        if fetched.state is None:
            kind = ProblemKind.UNAVAILABLE if fetched.unavailable else ProblemKind.MODEL
            check.problems.append(Problem(kind, fetched.error))
        else:
            check.measured = evaluator.accuracy(flat.flatten(fetched.state).to(device))
            check.problems += check_accuracy(block, check.measured, config.tolerance_bps)
        report.blocks.append(check)
        parent = block
    return report
