"""`pofl verify` and `pofl blocks` on a hold-out task: each block re-measured on its round's shard, "must beat
the parent" on that same shard, a shard that does not open reported (never a crash), and the final held-out
report once the requester ends the task.

A real Anvil and a real js-ipfs node; real models (SimpleNet trained on slices of MNIST's training set) on a
real sealed task (:func:`seal_task` over the first 2,000 images of MNIST's test set). Rounds are scripted with
``play_round``: the committee reports what the tests measured independently on the split, or lies (the chain
and its models: tests.support.holdout; the models' premise and the pure checks: tests/unit/test_verify_holdout.py).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from offchain.app.holdout_report import FinalShardError, final_accuracies
from offchain.app.verify import ProblemKind, verify_chain
from offchain.chain.holdout import HoldoutContract
from offchain.chain.types import BPS, to_bps
from offchain.cli import cli
from offchain.store import LocalStore
from tests.support.holdout import HoldoutChain, bps_on, on_round, task_split
from tests.support.runs import weak_model_cid


def pofl(chain: HoldoutChain, command: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [command, "--rpc-url", chain.contract.w3.provider.endpoint_uri, "--contract",
                                      chain.contract.address, "--ipfs-api", chain.api, *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


def kinds(report) -> list[tuple[int | None, ProblemKind]]:  # type: ignore[no-untyped-def]
    return [(None, p.kind) for p in report.problems] + [(b.height, p.kind) for b in report.blocks for p in b.problems]


def test_an_honest_holdout_chain_verifies_and_reports_the_final_shard_once_the_task_ends(holdout_chain: HoldoutChain,
                                                                                         ) -> None:
    chain = holdout_chain
    report = verify_chain(chain.contract, chain.store)
    assert report.ok and report.verdict == "OK" and report.holdout == chain.holdout.address
    assert report.final is None  # the task runs: no final shard yet
    for b, (model, parent) in zip(report.blocks[1:], [("m1", "genesis"), ("m2", "m1"), ("m3", "m2")], strict=True):
        assert to_bps(b.measured) == on_round(b.round, model) == round(b.claimed * BPS)
        assert to_bps(b.parent_measured) == on_round(b.round, parent) == round(b.parent_median * BPS)
    assert report.blocks[0].measured is None and report.blocks[0].parent_measured is None
    code, out = pofl(chain, "blocks", "--json")
    listed = json.loads(out)
    assert code == 0 and [(b["height"], b["final_accuracy"], b["gap"]) for b in listed] == [(h, None, None)
                                                                                          for h in range(4)]
    assert final_accuracies(chain.contract, chain.holdout, chain.store) is None

    chain.end()
    report = verify_chain(chain.contract, chain.store)
    assert report.ok and report.final is not None
    expected = [bps_on(task_split().final, m) for m in ["genesis", "m1", "m2", "m3"]]
    assert [to_bps(f.final_accuracy) for f in report.final] == expected
    assert [f.selection_accuracy for f in report.final] == [None] + [b.claimed for b in report.blocks[1:]]
    assert report.final[0].gap is None and all(f.gap == f.selection_accuracy - f.final_accuracy
                                               for f in report.final[1:])
    assert final_accuracies(chain.contract, chain.holdout, chain.store) == report.final  # one report, two commands
    code, out = pofl(chain, "verify", "--json")
    verified = json.loads(out)
    assert code == 0 and verified["verdict"] == "OK" and verified["holdout"] == chain.holdout.address
    assert [f["final_accuracy"] for f in verified["final"]] == [f.final_accuracy for f in report.final]
    assert [b["parent_median"] for b in verified["blocks"]] == [None] + [b.parent_median for b in report.blocks[1:]]
    code, out = pofl(chain, "blocks", "--json")
    listed = json.loads(out)
    assert code == 0 and [(b["final_accuracy"], b["gap"]) for b in listed] == [(f.final_accuracy, f.gap)
                                                                               for f in report.final]
    code, out = pofl(chain, "verify")
    assert code == 0 and "final shard: block 3: recorded" in out and "4 blocks verified: OK" in out, out
    code, out = pofl(chain, "blocks")
    assert code == 0 and "final" in out and "gap" in out and f"{report.final[3].final_accuracy:.4f}" in out, out


def test_a_block_whose_recorded_accuracy_is_off_on_its_shard(holdout_chain: HoldoutChain) -> None:
    chain = holdout_chain
    true_bps = on_round(4, "m4")
    chain.play("m4", true_bps + 300, on_round(4, "m3"))  # a colluding committee confirms 3 points too many
    report = verify_chain(chain.contract, chain.store)
    assert kinds(report) == [(4, ProblemKind.ACCURACY)] and report.verdict == "MISMATCH"
    assert to_bps(report.blocks[4].measured) == true_bps
    code, out = pofl(chain, "verify")
    assert code == 1 and f"is not the recorded {(true_bps + 300) / BPS:.4f}" in out, out


def test_a_block_that_does_not_beat_its_parent_on_the_same_shard(holdout_chain: HoldoutChain) -> None:
    chain = holdout_chain
    chain.cids["m1b"] = weak_model_cid(chain.store, chain.cids["m1"])  # as good as m1 (a fresh digest)
    claimed = on_round(4, "m1")
    parent_truth = on_round(4, "m3")
    assert parent_truth > claimed
    chain.play("m1b", claimed, parent_bps=claimed - 100)  # the committee under-reports the parent
    report = verify_chain(chain.contract, chain.store)
    assert kinds(report) == [(4, ProblemKind.IMPROVEMENT)]
    block = report.blocks[4]
    assert to_bps(block.parent_measured) == parent_truth and round(block.parent_median * BPS) == claimed - 100
    assert "does not improve on the parent's model" in str(block.problems[0])


def test_a_key_that_does_not_match_its_hash_is_a_problem_naming_the_round(holdout_chain: HoldoutChain,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    chain = holdout_chain
    real = HoldoutContract.shard_for_round

    def lying(self: HoldoutContract, round_id: int):  # type: ignore[no-untyped-def]
        shard = real(self, round_id)
        return dataclasses.replace(shard, key=chain.keys.shards[0]) if round_id == 2 else shard

    monkeypatch.setattr(HoldoutContract, "shard_for_round", lying)  # an RPC that answers another key
    report = verify_chain(chain.contract, chain.store)
    assert kinds(report) == [(2, ProblemKind.SHARD)]
    detail = report.blocks[2].problems[0].detail
    assert detail.startswith("round 2's shard 1") and "KeyMismatch" in detail
    assert report.blocks[2].measured is None and report.blocks[3].measured is not None


def test_a_store_without_the_shards_and_models_is_unavailable_not_a_mismatch(holdout_chain: HoldoutChain,
                                                                             tmp_path: Path) -> None:
    chain = holdout_chain
    chain.end()
    report = verify_chain(chain.contract, LocalStore(tmp_path / "empty"))
    assert {kind for _, kind in kinds(report)} == {ProblemKind.UNAVAILABLE} and report.verdict == "UNAVAILABLE"
    final_cid = chain.holdout.final_shard().cid
    assert [p.detail.split(":")[0] for p in report.problems] == [f"the final shard (CID {final_cid})"]
    for b in report.blocks[1:]:  # each block: its model, then its round's shard
        assert [p.detail.startswith(f"round {b.round}'s shard") for p in b.problems] == [False, True], b.problems


def test_shards_that_do_not_open_are_problems_naming_the_round_not_a_crash(broken_holdout_chain: HoldoutChain,
                                                                          ) -> None:
    chain = broken_holdout_chain
    report = verify_chain(chain.contract, chain.store)
    assert kinds(report) == [(None, ProblemKind.SHARD), (2, ProblemKind.SHARD), (3, ProblemKind.SHARD)]
    (final,), two, three = report.problems, report.blocks[2].problems[0], report.blocks[3].problems[0]
    assert final.detail.startswith("the final shard (CID ") and "UnsealFailed" in final.detail
    assert two.detail.startswith("round 2's shard 1 (CID ") and "UnsealFailed" in two.detail
    assert three.detail.startswith("round 3's shard 2 (CID ") and "ShardFormatError" in three.detail
    assert report.final is None and report.blocks[1].measured is not None and report.blocks[2].measured is None
    assert [b.parent_median for b in report.blocks] == [None, on_round(1, "genesis") / BPS, 0.8, 0.81]  # chain's
    with pytest.raises(FinalShardError) as failed:
        final_accuracies(chain.contract, chain.holdout, chain.store)
    assert not failed.value.unavailable and "UnsealFailed" in str(failed.value)
    code, out = pofl(chain, "verify")
    assert code == 1 and "shard: round 3's shard 2" in out and "chain: shard: the final shard" in out, out
    assert "Traceback" not in out and "verified: MISMATCH" in out
    code, out = pofl(chain, "blocks", "--json")
    assert code == 0 and [b["final_accuracy"] for b in json.loads(out)] == [None] * 4


# ------------------------------------------------------------------ the pure checks


