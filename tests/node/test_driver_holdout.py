"""Hold-out mode end to end on a real Anvil, a real js-ipfs daemon and real MNIST: miners driven by the round
driver commit blind, a requester in the same process reveals each shard key once commits close, and every
claim, candidate and parent is measured on the round's shard. A shard that does not decrypt is a rejection
(nothing is eligible), never a crash; a key never revealed fails the round and pays the committers."""

from __future__ import annotations

import logging

import pytest
import torch

from offchain.app.deployment import Deployment
from offchain.app.preflight import ensure_registered
from offchain.app.requester import Requester
from offchain.chain.types import FailReason
from offchain.fl.mnist import load_mnist
from offchain.holdout.sealing import KeyMismatch, seal
from offchain.holdout.shard_format import shard_to_bytes
from offchain.miner.driver import RoundDriver
from offchain.miner.strategy import WorkloadStrategy
from offchain.miner.workload import RunConfig, Workload
from offchain.servers.devnet import Devnet
from offchain.store.fetching import fetch_model
from offchain.store.ipfs import IpfsStore
from tests.support.accounts import Funded
from tests.support.runs import holdout_run

CONFIG = RunConfig(n_miners=3, min_committee=2, threshold=0.0, require_improvement=True, phase_seconds=5)


def driver_for(run: Deployment, signers: list, workload: Workload, store: IpfsStore, *,
               requester: bool = True) -> RoundDriver:
    keyholder = Requester(run.holdout, run.contract, signers[0], run.keys) if requester else None
    return RoundDriver(run.contract, store, workload.flat, CONFIG.architecture, signers[1:],
                       WorkloadStrategy(workload), observers=[keyholder.observe] if keyholder else [])


def accuracy_on(workload: Workload, store: IpfsStore, cid: str, data) -> float:
    from offchain.fl.evaluation import Evaluator

    params = workload.flat.flatten(fetch_model(store, cid, CONFIG.architecture))
    return Evaluator(data, workload.flat, CONFIG.architecture, torch.device("cpu")).accuracy(params)


def test_blocks_are_judged_on_their_round_shard_with_the_parent_measured_on_it(
        anvil: Devnet, ipfs_store: IpfsStore, workload: Workload) -> None:
    run, signers = holdout_run(anvil.rpc_url, CONFIG, ipfs_store)
    c, h = run.contract, run.holdout
    driver = driver_for(run, signers, workload, ipfs_store)
    try:
        records = [driver.run_round(max_seconds=120) for _ in range(2)]
    finally:
        driver.close()
    assert [rec.block_height for rec in records] == [1, 2]
    split_shards = [h.shard_at(i) for i in range(2)]
    assert all(s.key == k for s, k in zip(split_shards, run.keys.shards, strict=False))
    from offchain.holdout.task import open_shard
    for block, shard_index in ((c.block_at(1), 0), (c.block_at(2), 1)):
        shard = h.shard_at(shard_index)
        data = open_shard(ipfs_store, shard.cid, shard.key, shard.key_hash, task=h.task_id(), index=shard_index)
        measured = accuracy_on(workload, ipfs_store, block.cid, data)
        assert abs(measured - block.accuracy) * 10_000 <= 1  # the block records what its shard measures
        parent = c.block_at(block.height - 1)
        parent_on_shard = c.parent_measurements(block.round)
        assert list(parent_on_shard.values())[-1] == int(accuracy_on(workload, ipfs_store, parent.cid, data) * 10_000
                                                         + 1e-9)
    assert c.holdout_address() == h.address
    assert {e["args"]["round"] for e in h.events("KeyRevealed")} == {1, 2}


def test_a_shard_that_does_not_decrypt_is_a_rejection_not_a_crash(
        funded: Funded, ipfs_store: IpfsStore, workload: Workload, caplog: pytest.LogCaptureFixture) -> None:
    """The requester recorded, for round 1, the CID of a ciphertext sealed under another key (its key hashes
    right, the bytes do not open): every miner measures 0 on it and declares it unopened, the round fails
    (ShardUnopened: the requester pays) and the miners go on to round 2, which is judged on a good shard."""
    requester, *miners = funded(1 + CONFIG.n_miners)
    from offchain.app.deployment import contract_config, publish_genesis
    from offchain.chain.holdout import deploy_holdout_task, plan_holdout_task
    from offchain.holdout.task import SealedShard, seal_task
    plan = plan_holdout_task(requester)
    sealed, keys = seal_task(load_mnist("test"), 3, ipfs_store, task=plan.task, shard_size=400, final_size=600)
    garbage = ipfs_store.put(seal(shard_to_bytes(load_mnist("test").subset(range(10))), b"\x07" * 32, plan.task, 0))
    bad = (SealedShard(0, garbage, sealed.shards[0].key_hash), *sealed.shards[1:])
    sealed = type(sealed)(sealed.task, bad, sealed.final, sealed.public, sealed.public_cid)
    contract, holdout, _ = deploy_holdout_task(
        requester, plan, sealed, contract_config(CONFIG, bytes.fromhex(sealed.public.sha256())),
        publish_genesis(ipfs_store, CONFIG), bond=10**18, missed_key_pay=10**16, deployments_dir=None)
    ensure_registered(contract, miners)
    run = Deployment(contract, holdout, keys, sealed.public)
    driver = driver_for(run, [requester, *miners], workload, ipfs_store)
    try:
        with caplog.at_level(logging.ERROR, logger="pofl.miner"):
            first = driver.run_round(max_seconds=120)
            second = driver.run_round(max_seconds=120)
    finally:
        driver.close()
    assert first.block_height is None and second.block_height == 1
    # every claim on the undecryptable shard is 0 and every miner declares the shard unopened: the round fails
    # ShardUnopened and the requester's bond pays the committers, by stake (issue 20, finding 9)
    assert [e["args"]["reason"] for e in contract.events("RoundFailed")] == [FailReason.SHARD_UNOPENED]
    assert [(e["args"]["accuracyBps"], e["args"]["eligible"]) for e in contract.events("Revealed")
            if e["args"]["round"] == 1] == [(0, False)] * 3
    assert [e["args"]["round"] for e in holdout.events("MissedKeyPaid")] == [1]
    assert all(holdout.credit(m.address) > 0 for m in miners)
    assert any("round 1's shard" in r.message and "UnsealFailed" in r.message for r in caplog.records)


def test_a_key_never_revealed_fails_the_round_and_pays_the_committers(
        anvil: Devnet, ipfs_store: IpfsStore, workload: Workload) -> None:
    run, signers = holdout_run(anvil.rpc_url, CONFIG, ipfs_store, n_shards=2)
    c, h = run.contract, run.holdout
    driver = driver_for(run, signers, workload, ipfs_store, requester=False)
    try:
        record = driver.run_round(max_seconds=120)
    finally:
        driver.close()
    assert record.block_height is None
    assert [e["args"]["reason"] for e in c.events("RoundFailed")] == [FailReason.KEY_MISSING]
    credits = [h.credit(m.address) for m in signers[1:]]  # equal stakes: equal shares of the pay
    assert len(set(credits)) == 1 and sum(credits) == h.missed_key_pay() - h.missed_key_pay() % len(credits)
    assert c.events("Penalized") == []


def test_a_requester_with_another_tasks_keys_is_refused_before_it_sends(anvil: Devnet,
                                                                         ipfs_store: IpfsStore) -> None:
    run, signers = holdout_run(anvil.rpc_url, CONFIG, ipfs_store, n_shards=1)
    other, _ = holdout_run(anvil.rpc_url, CONFIG, ipfs_store, n_shards=1)
    with pytest.raises(ValueError, match="key file is for task"):
        Requester(run.holdout, run.contract, signers[0], other.keys)
    wrong = type(run.keys)(run.keys.task, other.keys.shards, other.keys.final)  # the right task id, wrong keys
    requester = Requester(run.holdout, run.contract, signers[0], wrong)
    with pytest.raises(KeyMismatch):
        requester.reveal(1)
    assert run.holdout.shard_at(0).key is None
