"""The scaled mode's round driver (offchain/miner/scaled.py) on a real Anvil with real MNIST: miners train, sign,
aggregate, reveal, measure and vote through PoFLScaled, and the chain adopts the best claim."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from web3 import Web3

from offchain.chain.accounts import LocalSigner
from offchain.chain.scaled import Outcome, ScaledConfig, ScaledContract, ScaledPenaltyReason
from offchain.chain.types import to_bps
from offchain.miner.claim_inbox import ClaimInbox, ClaimRelay
from offchain.miner.claims import InflatedClaims, Misreporting
from offchain.miner.run_config import RunConfig
from offchain.miner.scaled import ScaledRoundDriver
from offchain.miner.strategy import WorkloadStrategy
from offchain.miner.workload import Workload
from offchain.store import LocalStore
from offchain.store.cid import compute_cid
from offchain.store.model_bytes import model_to_bytes
from offchain.testing.scaled_rounds import register_all

STAKE = 10**18
# every miner trains about one client of 1,000 images a round; 3 seats measure the 2 best claims
RUN = RunConfig(n_miners=6, partition="iid", n_clients=60, clients_per_round=6, scaled=True)
CONFIG = ScaledConfig(seats=3, top_k=2, threshold_bps=1000, min_stake=STAKE, bond=10**17, block_reward=10**16)


def deploy(funded: Callable[..., list[LocalSigner]], store: LocalStore, workload: Workload,
           config: ScaledConfig = CONFIG) -> tuple[ScaledContract, list[LocalSigner]]:
    owner, *miners = funded(RUN.n_miners + 1)
    genesis = model_to_bytes(workload.flat.unflatten(workload.genesis.cpu()), RUN.architecture)
    assert store.put(genesis) == compute_cid(genesis)
    contract, _ = ScaledContract.deploy(owner, config, compute_cid(genesis), reward_pool=10**18,
                                        deployments_dir=None)
    register_all(contract, miners, STAKE)
    return contract, miners


def two_processes(contract: ScaledContract, store: LocalStore, workload: Workload, miners: list[LocalSigner],
                  relays: tuple[ClaimRelay | None, ClaimRelay | None] = (None, None)) -> list[ScaledRoundDriver]:
    """Two drivers of three miners each (miners 0-2 and 3-5), as two machines would run them, stepped by one thread
    until each has recorded one round; closed."""
    drivers = [ScaledRoundDriver(contract, store, workload.flat, RUN.architecture, miners[i:i + 3],
                                 WorkloadStrategy(workload, trainer_index={p: i + p for p in range(3)}),
                                 workload.genesis, indices=[i, i + 1, i + 2], relay=relay)
               for i, relay in zip((0, 3), relays, strict=True)]
    deadline = time.monotonic() + 240
    try:
        while not all(d.records for d in drivers):
            assert time.monotonic() < deadline, [d.round for d in drivers]
            for d in drivers:
                if not d.records:
                    d.step()
    finally:
        for d in drivers:
            d.close()
    return drivers


def test_the_driver_makes_the_best_claim_the_block_and_a_false_top_claim_is_slashed(
        anvil_w3: Web3, funded: Callable[..., list[LocalSigner]], tmp_path) -> None:
    """Two rounds of six miners in one driver. Round 1 (opened before anyone registered: no aggregator, a local
    miner posts): miner 0 claims 99%, a candidate; the seats measure it, it is rejected, slashed whole and
    evicted; the best honest claim is the block at the seats' median and every miner adopts its model. Round 2:
    the evicted miner claims nothing, the aggregator drawn among the five others posts, the best claim is the
    block again."""
    workload = Workload(RUN)
    store = LocalStore(tmp_path / "store")
    contract, miners = deploy(funded, store, workload)
    driver = ScaledRoundDriver(contract, store, workload.flat, RUN.architecture, miners, WorkloadStrategy(workload),
                               workload.genesis, claims=InflatedClaims(frozenset({0}), 0.99))
    try:
        first = driver.run_round(max_seconds=120)
        slashed = [(e["args"]["miner"], ScaledPenaltyReason(e["args"]["reason"]))
                   for e in contract.events("Penalized")]
        assert slashed == [(miners[0].address, ScaledPenaltyReason.FALSE_CLAIM)], slashed  # no honest miner paid
        assert not contract.miner_of(miners[0].address)[2] and not driver.miners[0].registered
        second = driver.run_round(max_seconds=120)
    finally:
        driver.close()
    for r in (first, second):
        best_honest = max(acc for i, acc in r.miner_accuracies.items() if i != 0)
        assert r.block_height is not None and r.winner != 0, r
        assert r.claimed_accuracy == to_bps(best_honest) / 10_000 == r.chain_accuracy, r  # the median of truthful seats
        assert r.gas_used > 0 and r.clients_trained >= 1
    assert contract.round_info().aggregator != "0x" + "00" * 20
    head = contract.latest_block()
    assert head.cid == second.cid and contract.block_count() == 3
    assert {m.cid for m in driver.miners} == {head.cid}
    assert all(torch.equal(m.params, driver.miners[second.winner].params) for m in driver.miners)


def test_claims_of_a_process_without_the_aggregator_enter_by_forced_inclusion(
        anvil_w3: Web3, funded: Callable[..., list[LocalSigner]], tmp_path) -> None:
    """Two drivers of three miners each, as two machines would run them (neither alone: the chain's clock is real,
    windows of a few seconds): claims travel to the aggregator only inside a process, so the driver that posts the
    root posts its own claims; the other driver finds its claims out of the root and commits each directly in the
    forced window (15 s, from the root). Every claim is a candidate (K = 8), the committee is drawn on a devnet
    that mines only on transactions, and the best claim of all six, whichever process made it, is the block."""
    workload = Workload(RUN)
    store = LocalStore(tmp_path / "store")
    config = ScaledConfig(seats=3, top_k=8, threshold_bps=1000, min_stake=STAKE, bond=10**17, block_reward=10**16,
                          # the claims and reveal windows end early (a post, the last reveal): long, so that a
                          # loaded machine's training misses none; the forced and vote windows run to their end
                          aggregator_duration=60, fallback_duration=60, forced_duration=15, reveal_duration=60,
                          vote_duration=12)
    contract, miners = deploy(funded, store, workload, config)
    drivers = two_processes(contract, store, workload, miners)
    root = contract.events("RootPosted")
    assert len(root) == 1
    poster = next(d for d in drivers if any(m.address == root[0]["args"]["poster"] for m in d.miners))
    other = next(d for d in drivers if d is not poster)
    signed = {m.address for m in other.miners if m.index in other.records[0].miner_accuracies}
    direct = {e["args"]["miner"] for e in contract.events("DirectCommitted")}
    assert signed and direct == signed, (signed, direct)  # each of the other process's claims, and only those
    record = poster.records[0]
    accuracies = {**poster.records[0].miner_accuracies, **other.records[0].miner_accuracies}
    assert record.block_height == 1 and record.chain_accuracy == to_bps(max(accuracies.values())) / 10_000, record
    assert record.winner == max(accuracies, key=accuracies.get)


def test_a_false_claim_vouched_for_by_a_third_of_the_seats_is_rejected_on_appeal(
        anvil_w3: Web3, funded: Callable[..., list[LocalSigner]], tmp_path) -> None:
    """Miner 0 claims 99% and miners 1 and 2 vouch for it (they report 99% for its claim, the truth for others).
    Every miner sits on the committee (six seats): two of the five reports on the false claim agree with it, too
    few to accept it and too many to reject it (a dispute). The driver opens the appeal, its jurors (all miners
    but the claimant) report, the majority rejects the claim: miner 0 loses its stake, each voucher pays the
    misreport penalty as a seat and as a juror, and the best honest claim is the block."""
    workload = Workload(RUN)
    store = LocalStore(tmp_path / "store")
    config = ScaledConfig(seats=6, top_k=2, appeal_seats=6, threshold_bps=1000, min_stake=STAKE, bond=10**17,
                          block_reward=10**16)
    contract, miners = deploy(funded, store, workload, config)
    vouchers = Misreporting(frozenset({1, 2}), frozenset({miners[0].address}), 9900)
    driver = ScaledRoundDriver(contract, store, workload.flat, RUN.architecture, miners, WorkloadStrategy(workload),
                               workload.genesis, claims=InflatedClaims(frozenset({0}), 0.99), reports=vouchers)
    try:
        record = driver.run_round(max_seconds=180)
    finally:
        driver.close()
    appeal = contract.events("AppealDecided")
    assert [(e["args"]["miner"], Outcome(e["args"]["outcome"])) for e in appeal] == [(miners[0].address,
                                                                                      Outcome.REJECTED)]
    paid = sorted((e["args"]["miner"], ScaledPenaltyReason(e["args"]["reason"])) for e in contract.events("Penalized"))
    assert paid == sorted([(miners[0].address, ScaledPenaltyReason.FALSE_CLAIM)]
                          + [(miners[i].address, ScaledPenaltyReason.MISREPORT) for i in (1, 2) for _ in range(2)])
    best_honest = max(acc for i, acc in record.miner_accuracies.items() if i != 0)
    assert record.block_height == 1 and record.winner != 0, record
    assert record.chain_accuracy == to_bps(best_honest) / 10_000, record


def test_claims_of_a_process_without_the_aggregator_reach_it_through_its_inbox(
        anvil_w3: Web3, funded: Callable[..., list[LocalSigner]], tmp_path) -> None:
    """The same two processes, now each with a claim inbox and the other's as its peer: each hands its claims to
    the other and says it is done, the aggregator's process posts every claim of both in its root (no direct
    commit), and the best claim of all is the block."""
    workload = Workload(RUN)
    store = LocalStore(tmp_path / "store")
    config = ScaledConfig(seats=3, top_k=8, threshold_bps=1000, min_stake=STAKE, bond=10**17, block_reward=10**16,
                          aggregator_duration=120, fallback_duration=60, forced_duration=5, reveal_duration=60,
                          vote_duration=8)
    contract, miners = deploy(funded, store, workload, config)
    inboxes = [ClaimInbox(contract), ClaimInbox(contract)]
    relays = (ClaimRelay(inboxes[0], [inboxes[1].url]), ClaimRelay(inboxes[1], [inboxes[0].url]))
    try:
        drivers = two_processes(contract, store, workload, miners, relays)
    finally:
        for box in inboxes:
            box.close()
    accuracies = {**drivers[0].records[0].miner_accuracies, **drivers[1].records[0].miner_accuracies}
    root = contract.events("RootPosted")  # every miner that trained this round signed a claim
    assert len(root) == 1 and root[0]["args"]["count"] == len(accuracies) >= 2, (root, accuracies)
    assert contract.events("DirectCommitted") == []
    record = drivers[0].records[0]
    assert record.block_height == 1 and record.chain_accuracy == to_bps(max(accuracies.values())) / 10_000, record
    assert record.winner == max(accuracies, key=accuracies.get)
