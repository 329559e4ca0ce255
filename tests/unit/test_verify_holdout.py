"""`pofl verify` on a hold-out task, in process: the real models of the hold-out chain (tests.support.holdout)
make an honest chain possible, and the pure checks compare measurements on the same shard (the chain itself:
tests/node/test_verify_holdout.py)."""

from __future__ import annotations

import dataclasses

from offchain.app.holdout_report import FinalAccuracy
from offchain.app.verify import ProblemKind, check_improvement_on_shard, check_links
from offchain.chain.types import ChainBlock
from offchain.holdout.sealing import FINAL_INDEX
from offchain.store.cid import CidKind
from tests.support.holdout import CONFIG, TRAINED_ON, bps_on, task_split


def test_the_models_make_an_honest_chain_possible() -> None:
    """The setup's premise: each model beats the one before it on every shard, and on the final shard."""
    for data in [*task_split().shards, task_split().final]:
        accuracies = [bps_on(data, m) for m in ["genesis", *TRAINED_ON]]
        assert accuracies == sorted(set(accuracies)), accuracies


# ------------------------------------------------------------------ the pure checks


def test_holdout_checks_compare_on_the_same_shard_not_recorded_accuracies() -> None:
    genesis = ChainBlock(0, 0, "0x" + "00" * 20, 0, CidKind.V0_DAG_PB, b"\7" * 32, b"\0" * 32, b"")
    genesis = dataclasses.replace(genesis, block_hash=genesis.expected_hash())

    def block(height: int, parent: ChainBlock, bps: int) -> ChainBlock:
        b = ChainBlock(height, height, "0x" + "11" * 20, bps, CidKind.V0_DAG_PB, bytes([height]) * 32,
                       parent.block_hash, b"")
        return dataclasses.replace(b, block_hash=b.expected_hash())

    b1 = block(1, genesis, 9000)
    b2 = block(2, b1, 8500)  # recorded lower than its parent's: measured on another shard, not compared
    config = dataclasses.replace(CONFIG, require_improvement=True)
    assert check_links(b2, b1, config, holdout=True) == []
    assert [p.kind for p in check_links(b2, b1, config)] == [ProblemKind.IMPROVEMENT]
    assert check_improvement_on_shard(b2, 0.8501, 0.85, config) == []
    assert [p.kind for p in check_improvement_on_shard(b2, 0.85, 0.85, config)] == [ProblemKind.IMPROVEMENT]
    assert [p.kind for p in check_improvement_on_shard(b2, 0.84, 0.85, config)] == [ProblemKind.IMPROVEMENT]
    assert check_improvement_on_shard(b2, 0.84, 0.85, dataclasses.replace(config, require_improvement=False)) == []
    assert FinalAccuracy.of(b2, 0.8) == FinalAccuracy(2, 2, b2.cid, 0.85, 0.8, 0.85 - 0.8)
    assert FinalAccuracy.of(genesis, 0.1) == FinalAccuracy(0, 0, genesis.cid, None, 0.1, None)
    assert FinalAccuracy.of(b1, None, "NotFound: x") == FinalAccuracy(1, 1, b1.cid, 0.9, None, None, "NotFound: x")
    assert FINAL_INDEX == 2**32 - 1
