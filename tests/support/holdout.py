"""Hold-out helpers: a task id for sealing tests, a store that counts its reads, and a hold-out chain made of
real models (SimpleNet trained on slices of MNIST's training set) on a real sealed task (:func:`seal_task` over
the first 2,000 images of MNIST's test set), whose rounds are scripted with ``play_round``: the committee reports
what the tests measured independently on the split, or lies."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache

import numpy as np
import torch
from web3 import Web3

from offchain.chain.accounts import LocalSigner
from offchain.chain.consensus import PoFLContract
from offchain.chain.holdout import HoldoutContract, deploy_holdout_task, plan_holdout_task
from offchain.chain.types import ChainBlock, to_bps
from offchain.fl.architectures import architecture_id, build_model
from offchain.fl.config import TrainConfig
from offchain.fl.evaluation import Evaluator
from offchain.fl.images import LabeledImages
from offchain.fl.mnist import load_mnist
from offchain.fl.training import DeviceDataset, FlatParams, train_client
from offchain.holdout.keyfile import Keys
from offchain.holdout.split import HoldoutSplit, split_holdout
from offchain.holdout.task import SealedTask, seal_task, task_id
from offchain.servers.ipfs import IpfsDaemon
from offchain.store import LocalStore
from offchain.store.base import ModelStore
from offchain.store.fetching import publish_model
from offchain.store.ipfs import IpfsStore
from offchain.testing.accounts import fresh_signers
from tests.support.contracts import BASE_CONFIG, STAKE, Deployed, play_round

TASK = task_id(31337, "0x" + "ab" * 20)


class CountingStore(LocalStore):
    """A LocalStore that counts fetches: a refused key must not even fetch the ciphertext."""

    gets = 0

    def get(self, cid: str) -> bytes:
        self.gets += 1
        return super().get(cid)


CPU = torch.device("cpu")
ARCH = "simplenet"
N_SHARDS, SHARD_SIZE, FINAL_SIZE = 4, 200, 400
CONFIG = dataclasses.replace(BASE_CONFIG, architecture_id=architecture_id(ARCH), threshold_bps=0)
TRAINED_ON = {"m1": 300, "m2": 1500, "m3": 6000, "m4": 20000}  # more images each: each model beats the last


def eval_data() -> LabeledImages:
    return load_mnist("test").subset(np.arange(2000))


@cache
def task_split() -> HoldoutSplit:
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
    return bps_on(task_split().shards[round_id - 1], model)


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


def deploy_holdout_chain(w3: Web3, ipfs: IpfsDaemon,
                         tamper: Callable[[SealedTask, Keys, ModelStore], SealedTask] | None = None) -> HoldoutChain:
    """A hold-out task sealed over the split (``tamper`` may change what the chain records) and its consensus,
    with real models in the store and four registered miners."""
    store = IpfsStore(ipfs.api_multiaddr)
    cids = {name: publish_model(store, state, ARCH) for name, state in states().items()}
    requester, caller, *miners = fresh_signers(w3, 6)
    plan = plan_holdout_task(requester)
    sealed, keys = seal_task(eval_data(), N_SHARDS, store, task=plan.task, shard_size=SHARD_SIZE,
                             final_size=FINAL_SIZE)
    if tamper is not None:
        sealed = tamper(sealed, keys, store)
    contract, holdout, _ = deploy_holdout_task(requester, plan, sealed, CONFIG, cids["genesis"], bond=10**18,
                                               missed_key_pay=10**16, reward_pool=10**19, deployments_dir=None)
    for m in miners:
        contract.register(m, STAKE).wait()
    return HoldoutChain(contract, holdout, requester, caller, miners, keys, store, ipfs.api_multiaddr, cids)


def play_honest(chain: HoldoutChain, rounds: list[tuple[str, str]]) -> None:
    """Honest rounds: each (model, parent model) claimed and measured truthfully on the round's shard."""
    for model, parent in rounds:
        r = chain.contract.current_round()
        chain.play(model, on_round(r, model), on_round(r, parent))
