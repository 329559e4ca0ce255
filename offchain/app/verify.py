"""Replaying a PoFL chain from any RPC and store: ``pofl verify``.

For every block: the block hash is recomputed from its contents and the parent link checked
(an RPC may lie); the improvement rule is checked; the recorded accuracy must be the (lower)
median of the committee's reports for the validation that accepted it (the contract's events);
the model is fetched by CID (bytes verified against the CID), loaded safely as the contract's
architecture, and re-evaluated on the evaluation set whose sha256 the contract stores; the
recorded accuracy must match that measurement within the contract's tolerance. Nothing a block
points at can crash the replay: every fault is a :class:`Problem` in the report. A model that
cannot be had is *unavailable*, told apart from one that was had and does not match (*mismatch*).

Hold-out mode (the contract names a hold-out task): each block after genesis is re-evaluated on the
selection shard of its round, opened with the key the chain recorded (a shard that does not open is a
:class:`Problem` naming the round), and "must beat the parent" is checked as the contract decides it:
the parent block's model measured on the same shard must be below the block's measurement (recorded
accuracies come from different shards and are not compared); the chain's ``ParentMeasured`` median is
reported beside it. Once the task has ended, every block is also measured on the final shard
(:mod:`offchain.app.holdout_report`): a final shard that does not open is a problem.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import torch

from offchain.app.holdout_report import FinalAccuracy, FinalShardError, open_final_shard, open_round_shard
from offchain.chain.consensus import PoFLContract
from offchain.chain.holdout import HoldoutContract
from offchain.chain.types import BPS, ChainBlock, ClaimStatus, Decision, PoFLConfig, lower_median, to_bps
from offchain.errors import PoflError
from offchain.fl.architectures import architecture_named, build_model
from offchain.fl.evaluation import Evaluator
from offchain.fl.mnist import load_mnist
from offchain.fl.training import FlatParams
from offchain.store.base import ModelStore
from offchain.store.fetching import UntrustedFetcher


class ProblemKind(StrEnum):
    HASH = "hash"  # the block hash is not the hash of its contents
    LINK = "link"  # the parent hash is not the previous block's hash
    IMPROVEMENT = "improvement"  # the block does not improve on its parent where the contract requires it
    ACCURACY = "accuracy"  # the model measures further than the tolerance from the recorded accuracy
    MEDIAN = "median"  # the recorded accuracy is not the median of the committee's reports
    UNAVAILABLE = "unavailable"  # the model could not be fetched (not found, timed out, store down)
    MODEL = "model"  # the bytes do not hash to the CID, or are not a model of the architecture
    CHAIN = "chain"  # the contract's configuration cannot be replayed here
    SHARD = "shard"  # a hold-out shard does not open: key not matching its hash, ciphertext not decrypting or parsing


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
    measured: float | None = None  # on MNIST's test set; in hold-out mode on its round's shard
    problems: list[Problem] = field(default_factory=list)
    parent_measured: float | None = None  # hold-out mode: the parent's model measured on the same shard
    parent_median: float | None = None  # hold-out mode: the chain's ParentMeasured median for the accepting attempt


HOLDOUT_BLOCK_FIELDS = ("parent_measured", "parent_median")


@dataclass
class ChainReport:
    contract: str
    architecture: str | None
    blocks: list[BlockCheck]
    problems: list[Problem] = field(default_factory=list)
    holdout: str | None = None  # the hold-out task's address; None in public mode
    final: list[FinalAccuracy] | None = None  # hold-out mode, once the task has ended: the final shard's report

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

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data; the hold-out fields only in hold-out mode."""
        data = {"ok": self.ok, "verdict": self.verdict, **asdict(self)}
        if self.holdout is None:
            del data["holdout"], data["final"]
            for block in data["blocks"]:
                for name in HOLDOUT_BLOCK_FIELDS:
                    del block[name]
        return data


def check_links(block: ChainBlock, parent: ChainBlock | None, config: PoFLConfig, *, holdout: bool = False,
                ) -> list[Problem]:
    """What is wrong with ``block``'s own contents and its link to ``parent`` (pure). In hold-out mode
    recorded accuracies were measured on different shards and are not compared (see
    :func:`check_improvement_on_shard`)."""
    problems = []
    if block.block_hash != block.expected_hash():
        problems.append(Problem(ProblemKind.HASH, "block hash does not match its contents"))
    if parent is not None and block.parent_hash != parent.block_hash:
        problems.append(Problem(ProblemKind.LINK, f"parent hash does not link to block {parent.height}"))
    if (parent is not None and not holdout and config.require_improvement
            and block.accuracy_bps <= parent.accuracy_bps):
        problems.append(Problem(ProblemKind.IMPROVEMENT, f"accuracy {block.accuracy:.4f} does not improve on the "
                                                         f"parent's {parent.accuracy:.4f}"))
    return problems


def check_accuracy(block: ChainBlock, measured: float, tolerance_bps: int) -> list[Problem]:
    """The recorded accuracy must lie within the tolerance of what the model measures (pure)."""
    if block.height > 0 and abs(to_bps(measured) - block.accuracy_bps) > tolerance_bps:
        return [Problem(ProblemKind.ACCURACY, f"measured accuracy {measured:.4f} is not the recorded "
                                              f"{block.accuracy:.4f} within the tolerance of {tolerance_bps} bps")]
    return []


def check_improvement_on_shard(block: ChainBlock, measured: float, parent_measured: float, config: PoFLConfig,
                               ) -> list[Problem]:
    """Hold-out mode: where the contract requires improvement, the block's model must measure above its
    parent's model on the same shard (in basis points, as the contract compares them) (pure)."""
    if block.height == 0 or not config.require_improvement or to_bps(measured) > to_bps(parent_measured):
        return []
    return [Problem(ProblemKind.IMPROVEMENT, f"measured {measured:.4f} on round {block.round}'s shard does not "
                                             f"improve on the parent's model, which measures {parent_measured:.4f} "
                                             f"on the same shard")]


def check_median(block: ChainBlock, reports: list[int], *, appeal: bool = False) -> list[Problem]:
    """The recorded accuracy must be the lower median of the reports that accepted the block (pure). On appeal
    (``appeal``: ``reports`` are then the agreeing voters' values, the claim among them) the contract records
    their stake-weighted lower median; stakes at the decision are not rebuilt here, so the check is that the
    recorded accuracy is one of those values."""
    if block.height == 0:
        return []
    if not reports:
        return [Problem(ProblemKind.MEDIAN, "no committee reports accepted this block")]
    if appeal:
        if block.accuracy_bps in reports:
            return []
        return [Problem(ProblemKind.MEDIAN, f"recorded {block.accuracy_bps} bps, but it is none of the agreeing "
                                            f"values of the appeal that accepted the block {sorted(reports)}")]
    median = lower_median(reports)
    if median != block.accuracy_bps:
        return [Problem(ProblemKind.MEDIAN, f"recorded {block.accuracy_bps} bps, but the median of the committee's "
                                            f"{len(reports)} reports {sorted(reports)} is {median} bps")]
    return []


def accepting_decision(contract: PoFLContract, block: ChainBlock) -> Decision | None:
    """The decision of ``block``'s round that accepted its claim (the contract's events), or None."""
    accepted = [d for d in contract.decisions(block.round)
                if d.claimant == block.miner and d.outcome == ClaimStatus.ACCEPTED]
    return accepted[-1] if accepted else None


def accepting_reports(contract: PoFLContract, block: ChainBlock, tolerance_bps: int) -> tuple[list[int], bool]:
    """The measurements the committee reported in the validation that accepted ``block``'s claim, and whether
    that validation was the round's appeal (then: the agreeing voters' values, the claim among them)."""
    decision = accepting_decision(contract, block)
    if decision is None:
        return [], False
    reports = list(contract.reports(block.round, decision.attempt).values())
    if decision.attempt != contract.appeal_attempt(block.round):
        return reports, False
    return [decision.claimed_bps] + [r for r in reports if r + tolerance_bps >= decision.claimed_bps], True


class Judge:
    """The evaluation set each block is measured on: MNIST's test set (public mode), or the selection shard
    of the block's round, opened with the key the chain recorded (hold-out mode)."""

    def __init__(self, contract: PoFLContract, holdout: HoldoutContract | None, fetcher: UntrustedFetcher,
                 flat: FlatParams, architecture: str, device: torch.device) -> None:
        self.contract, self.holdout, self.fetcher = contract, holdout, fetcher
        self.flat, self.architecture, self.device = flat, architecture, device
        self.public = None if holdout else Evaluator(load_mnist("test"), flat, architecture, device)

    def evaluator(self, block: ChainBlock) -> tuple[Evaluator | None, list[Problem]]:
        """What measures ``block`` (None for genesis in hold-out mode, or a shard that does not open)."""
        if self.holdout is None or block.height == 0:
            return self.public, []
        opened = open_round_shard(self.fetcher, self.holdout, block.round)
        if opened.value is None:
            kind = ProblemKind.UNAVAILABLE if opened.unavailable else ProblemKind.SHARD
            return None, [Problem(kind, opened.error)]
        return Evaluator(opened.value, self.flat, self.architecture, self.device), []

    def parent_median(self, block: ChainBlock) -> float | None:
        """The chain's ParentMeasured median of the validation that accepted ``block``."""
        decision = accepting_decision(self.contract, block)
        median = None if decision is None else self.contract.parent_measurements(block.round).get(decision.attempt)
        return None if median is None else median / BPS


def verify_chain(contract: PoFLContract, store: ModelStore, device: torch.device | None = None) -> ChainReport:
    """Replay ``contract``'s chain from ``store`` (see the module docstring); every fault is a problem in the report."""
    with closing(UntrustedFetcher(store)) as fetcher:
        return _verify(contract, fetcher, device or torch.device("cpu"))


def _verify(contract: PoFLContract, fetcher: UntrustedFetcher, device: torch.device) -> ChainReport:
    config = contract.config()
    architecture = architecture_named(config.architecture_id)
    report = ChainReport(contract.address, architecture, [])
    if architecture is None:
        report.problems.append(Problem(ProblemKind.CHAIN, f"unknown architecture id {config.architecture_id.hex()}"))
        return report
    try:
        holdout = HoldoutContract.of(contract)
    except PoflError as exc:
        report.problems.append(Problem(ProblemKind.CHAIN, f"the contract's hold-out task cannot be read: {exc}"))
        return report
    if holdout is None and bytes.fromhex(load_mnist("test").sha256()) != config.eval_set_hash:
        report.problems.append(Problem(ProblemKind.CHAIN, "the contract's evaluation set is not MNIST's test set: "
                                                          "cannot re-evaluate"))
        return report
    flat = FlatParams(build_model(architecture).to(device))
    judge = Judge(contract, holdout, fetcher, flat, architecture, device)
    final: Evaluator | None = None  # hold-out mode, once the task has ended: the final shard
    finals: list[FinalAccuracy] = []
    if holdout is not None:
        report.holdout = holdout.address
        try:
            final_set = open_final_shard(fetcher, holdout)
        except FinalShardError as exc:
            report.problems.append(Problem(ProblemKind.UNAVAILABLE if exc.unavailable else ProblemKind.SHARD,
                                           str(exc)))
        else:
            if final_set is not None:
                final, report.final = Evaluator(final_set, flat, architecture, device), finals
    parent, parent_params = None, None
    for block in contract.blocks():
        check = BlockCheck(block.height, block.round, block.cid, block.accuracy,
                           problems=check_links(block, parent, config, holdout=holdout is not None))
        reports, appeal = accepting_reports(contract, block, config.tolerance_bps) if block.height else ([], False)
        check.problems += check_median(block, reports, appeal=appeal)
        params = fetcher.params(block.cid, flat, architecture, device)
        if params.value is None:
            check.problems.append(Problem(ProblemKind.UNAVAILABLE if params.unavailable else ProblemKind.MODEL,
                                          params.error))
        evaluator, shard_problems = judge.evaluator(block)
        check.problems += shard_problems
        if evaluator is not None and params.value is not None:
            check.measured = evaluator.accuracy(params.value)
            check.problems += check_accuracy(block, check.measured, config.tolerance_bps)
        if holdout is not None and block.height:
            check.parent_median = judge.parent_median(block)
            if evaluator is not None and parent_params is not None:
                check.parent_measured = evaluator.accuracy(parent_params)
                if check.measured is not None:
                    check.problems += check_improvement_on_shard(block, check.measured, check.parent_measured,
                                                                 config)
        if final is not None:
            finals.append(FinalAccuracy.of(block, None if params.value is None else final.accuracy(params.value),
                                           params.error))
        report.blocks.append(check)
        parent, parent_params = block, params.value
    return report
