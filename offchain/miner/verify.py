"""Replaying a PoFL chain from any RPC and store: ``pofl verify``.

For every block: the parent link and block hash are recomputed; the model is fetched by
CID (bytes verified against the CID), loaded safely as the contract's architecture, and
re-evaluated on the evaluation set whose sha256 the contract stores; the block's claimed
accuracy must hold within the contract's tolerance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from offchain.chain.pofl import PoFLContract
from offchain.fl.data import load_mnist
from offchain.fl.evaluation import Evaluator
from offchain.fl.models import ARCHITECTURES, architecture_id, build_model
from offchain.fl.training import FlatParams
from offchain.store.base import ModelStore, StoreError
from offchain.store.cid import MalformedCid
from offchain.store.model_bytes import ModelFormatError
from offchain.store.models import fetch_model


@dataclass
class BlockCheck:
    height: int
    round: int
    cid: str
    claimed: float
    measured: float | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class ChainReport:
    contract: str
    architecture: str | None
    blocks: list[BlockCheck]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(not b.problems for b in self.blocks)

    def as_dict(self) -> dict:  # type: ignore[type-arg]
        return {"ok": self.ok, **asdict(self)}


def architecture_named(arch_id: bytes) -> str | None:
    return next((name for name in ARCHITECTURES if architecture_id(name) == arch_id), None)


def verify_chain(contract: PoFLContract, store: ModelStore, device: torch.device | None = None) -> ChainReport:
    device = device or torch.device("cpu")
    config = contract.config()
    architecture = architecture_named(config.architecture_id)
    report = ChainReport(contract.address, architecture, [])
    if architecture is None:
        report.problems.append(f"unknown architecture id {config.architecture_id.hex()}")
        return report
    eval_set = load_mnist("test")
    if bytes.fromhex(eval_set.sha256()) != config.eval_set_hash:
        report.problems.append("the contract's evaluation set is not MNIST's test set: cannot re-evaluate")
        return report
    flat = FlatParams(build_model(architecture).to(device))
    evaluator = Evaluator(eval_set, flat, architecture, device)
    previous = None
    for block in contract.blocks():
        check = BlockCheck(block.height, block.round, block.cid, block.accuracy)
        if block.block_hash != block.expected_hash():
            check.problems.append("block hash does not match its contents")
        if previous is not None and block.parent_hash != previous.block_hash:
            check.problems.append(f"parent hash does not link to block {previous.height}")
        if previous is not None and config.require_improvement and block.accuracy_bps <= previous.accuracy_bps:
            check.problems.append("accuracy does not improve on the parent")
        try:
            state = fetch_model(store, block.cid, architecture)
            check.measured = evaluator.accuracy(flat.flatten(state).to(device))
            if block.height > 0 and check.measured * 10_000 + config.tolerance_bps < block.accuracy_bps:
                check.problems.append(f"measured accuracy {check.measured:.4f} is below the claimed "
                                      f"{block.accuracy:.4f} beyond the tolerance of {config.tolerance_bps} bps")
        except (StoreError, MalformedCid, ModelFormatError) as exc:
            check.problems.append(f"{exc.__class__.__name__}: {exc}")
        report.blocks.append(check)
        previous = block
    return report
