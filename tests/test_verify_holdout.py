"""`pofl verify` and `pofl blocks` on a hold-out task: each block re-measured on its round's shard, "must beat
the parent" on that same shard, a shard that does not open reported (never a crash), and the final held-out
report once the requester ends the task.

A real Anvil and a real js-ipfs node; real models (SimpleNet trained on slices of MNIST's training set) on a
real sealed task (:func:`seal_task` over the first 2,000 images of MNIST's test set). Rounds are scripted with
``play_round``: the committee reports what the tests measured independently on the split, or lies.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from web3 import Web3

from offchain.app.holdout_report import FinalAccuracy, FinalShardError, final_accuracies
from offchain.app.verify import ProblemKind, check_improvement_on_shard, check_links, verify_chain
from offchain.chain.accounts import LocalSigner
from offchain.chain.consensus import PoFLContract
from offchain.chain.holdout import HoldoutContract, deploy_holdout_task, plan_holdout_task
from offchain.chain.types import BPS, ChainBlock, to_bps
from offchain.cli import cli
from offchain.fl.architectures import architecture_id, build_model
from offchain.fl.config import TrainConfig
from offchain.fl.evaluation import Evaluator
from offchain.fl.images import LabeledImages
from offchain.fl.mnist import load_mnist
from offchain.fl.training import DeviceDataset, FlatParams, train_client
from offchain.holdout.keyfile import Keys
from offchain.holdout.sealing import FINAL_INDEX, seal
from offchain.holdout.split import HoldoutSplit, split_holdout
from offchain.holdout.task import SealedTask, seal_task
from offchain.servers.ipfs import IpfsDaemon
from offchain.store import LocalStore
from offchain.store.base import ModelStore
from offchain.store.cid import CidKind
from offchain.store.fetching import publish_model
from offchain.store.ipfs import IpfsStore
from tests.pofl_fixtures import BASE_CONFIG, STAKE, Deployed, play_round
from tests.run_setup import weak_model_cid
from tests.test_contract_errors import fresh_signer

CPU = torch.device("cpu")
ARCH = "simplenet"
N_SHARDS, SHARD_SIZE, FINAL_SIZE = 4, 200, 400
CONFIG = dataclasses.replace(BASE_CONFIG, architecture_id=architecture_id(ARCH), threshold_bps=0)
TRAINED_ON = {"m1": 300, "m2": 1500, "m3": 6000, "m4": 20000}  # more images each: each model beats the last


def eval_data() -> LabeledImages:
    return load_mnist("test").subset(np.arange(2000))


@cache
def split() -> HoldoutSplit:
    """The task's split, made here independently of the code under test (the split is seeded)."""
    return split_holdout(eval_data(), n_shards=N_SHARDS, shard_size=SHARD_SIZE, final_size=FINAL_SIZE)


@cache
def states() -> dict[str, dict[str, torch.Tensor]]:
    """Genesis (untrained) and m1..m4, each the one before it trained on the next slice of MNIST's training set."""
    torch.manual_seed(0)
    model = build_model(ARCH)
    out = {"genesis": {k: v.detach().clone() for k, v in model.state_dict().items()}}
    train, start = load_mnist("train"), 0
    for name, n in TRAINED_ON.items():
        samples = np.arange(start, start + n)
        train_client(model, DeviceDataset(train.images, train.labels, CPU), samples, TrainConfig())
        out[name] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        start += n
    return out


def bps_on(data: LabeledImages, model: str) -> int:
    """What an honest seat reports for ``model`` on ``data``."""
    flat = FlatParams(build_model(ARCH))
    return to_bps(Evaluator(data, flat, ARCH, CPU).accuracy(flat.flatten(states()[model])))


def on_round(round_id: int, model: str) -> int:
    return bps_on(split().shards[round_id - 1], model)


@dataclasses.dataclass
class HoldoutChain:
    contract: PoFLContract
    holdout: HoldoutContract
    requester: LocalSigner
    caller: LocalSigner
    miners: list[LocalSigner]
    keys: Keys
    store: ModelStore
    api: str
    cids: dict[str, str]
    snapshot: str = ""

    def play(self, model: str, claimed_bps: int, parent_bps: int, reported_bps: int | None = None) -> ChainBlock:
        """A round in which ``miners[0]`` claims ``model`` at ``claimed_bps``; its committee reports
        ``reported_bps`` (default: the claim) for it and ``parent_bps`` for the head block on the round's shard.
        The other miners claim placeholder models below it, never validated."""
        claimant, *others = self.miners
        report = claimed_bps if reported_bps is None else reported_bps
        claims = [(claimant, claimed_bps)] + [(m, 1 + i) for i, m in enumerate(others)]
        played = play_round(Deployed(self.contract, self.caller, self.miners), claims,
                            lambda candidate, _seat: report if candidate == claimant.address else 0,
                            cids={claimant.address: self.cids[model]}, reveal_key=self.reveal,
                            parent=lambda _seat: parent_bps)
        block = self.contract.latest_block()
        assert (block.round, block.cid, block.accuracy_bps) == (played.round_id, self.cids[model], claimed_bps)
        return block

    def reveal(self, round_id: int) -> None:
        self.holdout.reveal_key(self.requester, round_id, self.keys.shards[round_id - 1]).wait()

    def end(self) -> None:
        self.holdout.end_task(self.requester, self.keys.final).wait()

    def resync(self) -> None:
        for s in [self.requester, self.caller, *self.miners]:
            s.resync()


def deploy(w3: Web3, ipfs: IpfsDaemon, tamper: Callable[[SealedTask, Keys, ModelStore], SealedTask] | None = None,
           ) -> HoldoutChain:
    """A hold-out task sealed over the split (``tamper`` may change what the chain records) and its consensus,
    with real models in the store and four registered miners."""
    store = IpfsStore(ipfs.api_multiaddr)
    cids = {name: publish_model(store, state, ARCH) for name, state in states().items()}
    requester = fresh_signer(w3)
    plan = plan_holdout_task(requester)
    sealed, keys = seal_task(eval_data(), N_SHARDS, store, task=plan.task, shard_size=SHARD_SIZE,
                             final_size=FINAL_SIZE)
    if tamper is not None:
        sealed = tamper(sealed, keys, store)
    contract, holdout, _ = deploy_holdout_task(requester, plan, sealed, CONFIG, cids["genesis"], bond=10**18,
                                               pay_per_committer=10**16, reward_pool=10**19, deployments_dir=None)
    miners = [fresh_signer(w3) for _ in range(4)]
    for m in miners:
        contract.register(m, STAKE).wait()
    return HoldoutChain(contract, holdout, requester, fresh_signer(w3), miners, keys, store, ipfs.api_multiaddr, cids)


def play_honest(chain: HoldoutChain, rounds: list[tuple[str, str]]) -> None:
    """Honest rounds: each (model, parent model) claimed and measured truthfully on the round's shard."""
    for model, parent in rounds:
        r = chain.contract.current_round()
        chain.play(model, on_round(r, model), on_round(r, parent))


@pytest.fixture(scope="module")
def honest_chain(anvil_w3: Web3, ipfs_daemon: IpfsDaemon) -> HoldoutChain:
    """Genesis and three honest blocks (rounds 1-3, models m1-m3); a snapshot to return to."""
    chain = deploy(anvil_w3, ipfs_daemon)
    play_honest(chain, [("m1", "genesis"), ("m2", "m1"), ("m3", "m2")])
    chain.snapshot = anvil_w3.provider.make_request("evm_snapshot", [])["result"]
    return chain


@pytest.fixture
def chain(honest_chain: HoldoutChain) -> Iterator[HoldoutChain]:
    """The honest chain as it was (the task running, round 4 open); whatever a test adds is undone."""
    w3 = honest_chain.contract.w3
    honest_chain.resync()
    yield honest_chain
    assert w3.provider.make_request("evm_revert", [honest_chain.snapshot])["result"]
    honest_chain.snapshot = w3.provider.make_request("evm_snapshot", [])["result"]


def pofl(chain: HoldoutChain, command: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [command, "--rpc-url", chain.contract.w3.provider.endpoint_uri, "--contract",
                                      chain.contract.address, "--ipfs-api", chain.api, *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


def kinds(report) -> list[tuple[int | None, ProblemKind]]:  # type: ignore[no-untyped-def]
    return [(None, p.kind) for p in report.problems] + [(b.height, p.kind) for b in report.blocks for p in b.problems]


def test_the_models_make_an_honest_chain_possible() -> None:
    """The setup's premise: each model beats the one before it on every shard, and on the final shard."""
    for data in [*split().shards, split().final]:
        accuracies = [bps_on(data, m) for m in ["genesis", *TRAINED_ON]]
        assert accuracies == sorted(set(accuracies)), accuracies


def test_an_honest_holdout_chain_verifies_and_reports_the_final_shard_once_the_task_ends(chain: HoldoutChain,
                                                                                         ) -> None:
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
    expected = [bps_on(split().final, m) for m in ["genesis", "m1", "m2", "m3"]]
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


def test_a_block_whose_recorded_accuracy_is_off_on_its_shard(chain: HoldoutChain) -> None:
    true_bps = on_round(4, "m4")
    chain.play("m4", true_bps + 300, on_round(4, "m3"))  # a colluding committee confirms 3 points too many
    report = verify_chain(chain.contract, chain.store)
    assert kinds(report) == [(4, ProblemKind.ACCURACY)] and report.verdict == "MISMATCH"
    assert to_bps(report.blocks[4].measured) == true_bps
    code, out = pofl(chain, "verify")
    assert code == 1 and f"is not the recorded {(true_bps + 300) / BPS:.4f}" in out, out


def test_a_block_that_does_not_beat_its_parent_on_the_same_shard(chain: HoldoutChain) -> None:
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


def test_a_key_that_does_not_match_its_hash_is_a_problem_naming_the_round(chain: HoldoutChain,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
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


def test_a_store_without_the_shards_and_models_is_unavailable_not_a_mismatch(chain: HoldoutChain,
                                                                             tmp_path: Path) -> None:
    chain.end()
    report = verify_chain(chain.contract, LocalStore(tmp_path / "empty"))
    assert {kind for _, kind in kinds(report)} == {ProblemKind.UNAVAILABLE} and report.verdict == "UNAVAILABLE"
    final_cid = chain.holdout.final_shard().cid
    assert [p.detail.split(":")[0] for p in report.problems] == [f"the final shard (CID {final_cid})"]
    for b in report.blocks[1:]:  # each block: its model, then its round's shard
        assert [p.detail.startswith(f"round {b.round}'s shard") for p in b.problems] == [False, True], b.problems


@pytest.fixture(scope="module")
def broken_chain(anvil_w3: Web3, ipfs_daemon: IpfsDaemon) -> HoldoutChain:
    """A task whose recorded CIDs are wrong for shards 1 and 2 and the final shard; three blocks; ended."""

    def tamper(sealed: SealedTask, keys: Keys, store: ModelStore) -> SealedTask:
        shards = list(sealed.shards)
        shards[1] = dataclasses.replace(shards[1], cid=store.put(b"not a sealed shard, " * 10))
        garbage = seal(b"decrypts, but is not a shard", keys.shards[2], sealed.task, 2)
        shards[2] = dataclasses.replace(shards[2], cid=store.put(garbage))
        final = dataclasses.replace(sealed.final, cid=sealed.shards[3].cid)  # shard 3's: another key and index
        return dataclasses.replace(sealed, shards=tuple(shards), final=final)

    chain = deploy(anvil_w3, ipfs_daemon, tamper)
    play_honest(chain, [("m1", "genesis")])
    chain.play("m2", 9000, 8000)  # rounds 2 and 3: nobody can measure on these shards; the committee says so
    chain.play("m3", 9100, 8100)
    chain.end()
    return chain


def test_shards_that_do_not_open_are_problems_naming_the_round_not_a_crash(broken_chain: HoldoutChain) -> None:
    chain = broken_chain
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
