"""The round driver against a real Anvil and real MNIST: validators judge the published bytes, each from
its own fetch; a restarted driver resumes from the head block's model; the chain follows the in-memory engine
round for round."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import torch

from offchain.chain.commitment import SealedClaim
from offchain.chain.types import ClaimStatus, PenaltyReason, to_bps
from offchain.fl.mnist import load_mnist
from offchain.miner.claims import HeldModel, HonestClaims
from offchain.miner.driver import RoundDriver
from offchain.miner.strategy import WorkloadStrategy
from offchain.miner.workload import RunConfig, Workload
from offchain.servers.devnet import Devnet
from offchain.store import LocalStore
from offchain.store.base import NotFound
from offchain.store.fetching import fetch_model
from tests.support.accounts import Funded
from tests.support.runs import deploy_run, mine_blocks, weak_model_cid

CONFIG = RunConfig(n_miners=3, min_committee=2, threshold=0.0, require_improvement=False, phase_seconds=5)


class CountingStore(LocalStore):
    """A local store that counts the reads of each CID."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: Counter[str] = Counter()
        self._lock = threading.Lock()

    def get(self, cid: str) -> bytes:
        with self._lock:
            self.reads[cid] += 1
        return super().get(cid)


class PublishesOtherBytes:
    """From round ``from_round`` on, miner 0 claims the accuracy of the model it holds in memory but reveals
    the CID of other bytes (the genesis model); the others then claim 0 so that miner 0's claim is the one
    validated. Before, everyone is honest (so the model in memory has learned something)."""

    def __init__(self, published_cid: str, from_round: int) -> None:
        self.published_cid = published_cid
        self.from_round = from_round

    def claim(self, round_id: int, model: HeldModel) -> SealedClaim:
        if round_id < self.from_round:
            return HonestClaims().claim(round_id, model)
        if model.position == 0:
            return SealedClaim(round_id, self.published_cid, to_bps(model.accuracy))
        return SealedClaim(round_id, model.cid, 0)


def test_validators_measure_the_published_bytes_each_from_its_own_fetch(anvil: Devnet, workload: Workload,
                                                                        tmp_path: Path) -> None:
    store = CountingStore(tmp_path)
    run = deploy_run(anvil.rpc_url, CONFIG, workload, store)
    contract, signers = run.contract, run.signers
    genesis = weak_model_cid(store, contract.latest_block().cid)  # other bytes, as weak as genesis
    cheat_round = contract.current_round() + 3
    driver = RoundDriver(contract, store, workload.flat, CONFIG.architecture, signers, WorkloadStrategy(workload),
                         claims=PublishesOtherBytes(genesis, cheat_round))
    try:
        while contract.current_round() < cheat_round:  # three honest rounds
            driver.run_round(max_seconds=120)
        reads_before = store.reads[genesis]
        record = driver.run_round(max_seconds=120)
    finally:
        driver.close()
    r = record.round
    assert r == cheat_round
    validation_reads = store.reads[genesis] - reads_before
    genesis_accuracy = workload.evaluator.accuracy(workload.flat.flatten(fetch_model(store, genesis, "simplenet")))
    (decided,) = [e["args"] for e in contract.events("ClaimDecided", 0) if e["args"]["round"] == r
                  and e["args"]["claimant"] == signers[0].address]
    # the in-memory model is better than the published bytes; the committee measured the bytes
    assert decided["claimedBps"] > to_bps(genesis_accuracy) + 100
    assert decided["medianBps"] == to_bps(genesis_accuracy)
    assert decided["outcome"] == ClaimStatus.REJECTED  # claimed above the median + tolerance: slashed
    first_attempt = next(e["args"]["attempt"] for e in contract.events("ValidationOpened", 0)
                         if e["args"]["round"] == r and e["args"]["candidate"] == signers[0].address)
    votes = [e["args"] for e in contract.events("Voted", 0) if e["args"]["round"] == r
             and e["args"]["attempt"] == first_attempt]
    assert {v["validator"] for v in votes} == {s.address for s in signers[1:]}
    assert all(v["measuredBps"] == to_bps(genesis_accuracy) for v in votes), votes
    assert not contract.miner_info(signers[0].address).registered  # evicted with nothing left at stake
    assert validation_reads == len(votes) == 2  # one own fetch per validator


def test_a_restarted_driver_resumes_from_the_head_blocks_model(anvil: Devnet, workload: Workload,
                                                               tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    run = deploy_run(anvil.rpc_url, CONFIG, workload, store)
    contract, signers = run.contract, run.signers
    mine_blocks(run, workload, store, 2)
    head = contract.latest_block()
    assert head.height == 2
    restarted = RoundDriver(contract, store, workload.flat, CONFIG.architecture, signers,
                            WorkloadStrategy(workload), claims=HonestClaims())
    try:
        restarted.step()
    finally:
        restarted.close()
    expected = workload.flat.flatten(fetch_model(store, head.cid, "simplenet"))
    assert restarted.started_from == head
    for m in restarted.miners:
        assert m.cid == head.cid and m.memory.adopted_height == head.height
        assert torch.equal(m.params.cpu(), expected)  # type: ignore[union-attr]


class LaggingStore(LocalStore):
    """A store whose blobs become readable only ``lag`` seconds after they are put: an IPFS network that has not
    propagated them yet, or a claimant that reveals its digest and publishes the bytes late."""

    def __init__(self, root: Path, lag: float) -> None:
        super().__init__(root)
        self.lag = lag
        self.put_at: dict[str, float] = {}
        self.misses = 0

    def put(self, data: bytes) -> str:
        cid = super().put(data)
        self.put_at.setdefault(cid, time.monotonic())
        return cid

    def get(self, cid: str) -> bytes:
        if time.monotonic() - self.put_at.get(cid, float("-inf")) < self.lag:
            self.misses += 1
            raise NotFound(f"{cid} is not in the store (yet)")
        return super().get(cid)


def test_a_model_published_late_is_measured_when_it_arrives_not_reported_0(anvil: Devnet, workload: Workload,
                                                                           tmp_path: Path) -> None:
    """Red team, round 2: seats that measured a candidate at 0 the moment the store did not have it yet were
    penalized as misreporters once the later seats measured the real model (and a claimant could time its
    publication to make that happen). A seat fetches a missing model again until half of the time left to vote
    has passed: every seat measures the published model; nobody is penalized."""
    store = LaggingStore(tmp_path, lag=1.5)
    run = deploy_run(anvil.rpc_url, CONFIG, workload, store)
    contract = run.contract
    driver = RoundDriver(contract, store, workload.flat, CONFIG.architecture, run.signers, WorkloadStrategy(workload))
    try:
        record = driver.run_round(max_seconds=120)
    finally:
        driver.close()
    assert record.block_height == 1 and store.misses > 0  # the seats did find the candidate missing at first
    decided = contract.decisions(record.round)
    accepted = [d for d in decided if d.outcome == ClaimStatus.ACCEPTED]
    assert accepted and all(v > 0 for v in contract.reports(record.round, accepted[-1].attempt).values())
    assert not [e for e in contract.events("Penalized") if e["args"]["reason"] == PenaltyReason.MISREPORT]


def test_a_round_that_ends_between_two_reads_of_one_look_is_looked_at_again(anvil: Devnet, workload: Workload,
                                                                          tmp_path: Path) -> None:
    """Seen in a 4-process run: the phase was read in round 8's validation, round 9 opened, and roundInfo(8)
    reverted PoFLWrongRound, which ended the miner. A step that finds the round gone looks again."""
    from offchain.chain import errors as E

    run = deploy_run(anvil.rpc_url, CONFIG, workload, LocalStore(tmp_path))
    driver = RoundDriver(run.contract, LocalStore(tmp_path), workload.flat, CONFIG.architecture, run.signers,
                         WorkloadStrategy(workload))
    real_view, calls = driver._view, []

    def racing_view():  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise E.PoFLWrongRound("PoFLWrongRound", {"expected": 9, "given": 8}, "roundInfo")
        return real_view()

    driver._view = racing_view  # type: ignore[method-assign]
    try:
        assert driver.step() is False
        record = driver.run_round(max_seconds=120)
    finally:
        driver.close()
    assert record.block_height == 1


def test_another_process_signing_with_a_miners_key_is_reported_and_the_miner_goes_on(
        anvil: Devnet, workload: Workload, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Two processes with one key take the same nonces: the driver notices it at the next round and says so."""
    from offchain.chain.accounts import LocalSigner

    run = deploy_run(anvil.rpc_url, CONFIG, workload, LocalStore(tmp_path))
    driver = RoundDriver(run.contract, LocalStore(tmp_path), workload.flat, CONFIG.architecture, run.signers,
                         WorkloadStrategy(workload))
    try:
        driver.run_round(max_seconds=120)
        assert not [r for r in caplog.records if "another process is signing" in r.message]
        intruder = LocalSigner(run.contract.w3, run.signers[1].account.key.to_0x_hex())  # the same key, elsewhere
        run.contract.fund_rewards(intruder, 1).wait()
        record = driver.run_round(max_seconds=120)
    finally:
        driver.close()
    warned = [r.message for r in caplog.records if "another process is signing" in r.message]
    assert len(warned) == 1 and run.signers[1].address in warned[0], warned
    assert record.winner is not None, "the miner took the node's nonce and went on"


@pytest.mark.timeout(600)
def test_a_miner_alone_waits_for_peers_instead_of_closing_round_after_round(
        anvil: Devnet, funded: Funded, workload: Workload, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """With a long commit phase, a lone miner commits nothing while no peer is active, and says why; once two
    more miners are active it commits and the round makes a block."""
    config = RunConfig(n_miners=3, min_committee=2, threshold=0.0, require_improvement=False, phase_seconds=600)
    run = deploy_run(anvil.rpc_url, config, workload, LocalStore(tmp_path), n_miners=1)
    contract = run.contract
    lone = RoundDriver(contract, LocalStore(tmp_path), workload.flat, config.architecture, run.signers,
                       WorkloadStrategy(workload))
    stop = threading.Event()
    worker = threading.Thread(target=lambda: lone.run(stop.is_set), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # ten seconds alone: nothing committed, the same round
            assert contract.round_info(1).commits == 0 and contract.current_round() == 1
            time.sleep(0.5)
        assert any("waiting for peers: 1 miner(s) here and 0 other active" in r.message for r in caplog.records)
        from offchain.app.preflight import ensure_registered
        peers = funded(2)
        ensure_registered(contract, peers)
        peer_workload = Workload(workload.config)  # its own model: the lone driver trains at once in its thread
        others = RoundDriver(contract, LocalStore(tmp_path), peer_workload.flat, config.architecture, peers,
                             WorkloadStrategy(peer_workload))
        try:
            record = others.run_round(max_seconds=300)
        finally:
            others.close()
    finally:
        stop.set()
        worker.join(timeout=30)
        lone.close()
    assert record.round == 1 and record.block_height == 1  # the lone miner took part: its peers came


@pytest.mark.slow
@pytest.mark.parametrize("config", [
    RunConfig(threshold=0.0),
    # poisoned clients and a robust pool aggregator act inside the trainer both share
    RunConfig(threshold=0.0, attack="backdoor+boost", attack_assignment="one_per_pool", aggregator="multikrum"),
], ids=["seed", "backdoor-multikrum"])
def test_on_chain_run_follows_the_in_memory_engine_round_for_round(anvil: Devnet, tmp_path: Path,
                                                                   config: RunConfig) -> None:
    """Same seed, same clients drawn, same rule: the chain's accuracy per round is the engine's (to 1 bps)."""
    from offchain.fl.simulation import PoFLEngine
    from offchain.miner.driver import RoundDriver
    from offchain.miner.strategy import WorkloadStrategy

    workload = Workload(config)
    store = LocalStore(tmp_path)
    chain = deploy_run(anvil.rpc_url, config, workload, store)
    contract, signers = chain.contract, chain.signers
    run = RoundDriver(contract, store, workload.flat, config.architecture, signers, WorkloadStrategy(workload))
    engine = PoFLEngine(workload.federation, load_mnist("train"), workload.eval_set, config, workload.device)
    for _ in range(4):  # 4 rounds, 4 blocks (threshold 0); 6 took 37 s of CI each
        on_chain, in_memory = run.run_round(), engine.run_round()
        assert on_chain.chain_accuracy == pytest.approx(in_memory.consensus_accuracy, abs=1.5e-4)
        assert (on_chain.winner is None) == (in_memory.winner is None)
