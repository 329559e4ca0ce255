"""The scaled mode's round driver (offchain/miner/scaled.py) on a real Anvil with real MNIST: miners train, sign,
aggregate, reveal, measure and vote through PoFLScaled, and the chain adopts the best claim."""

from __future__ import annotations

from collections.abc import Callable

import torch
from web3 import Web3

from offchain.chain.accounts import LocalSigner
from offchain.chain.scaled import ScaledConfig, ScaledContract, ScaledPenaltyReason
from offchain.chain.types import to_bps
from offchain.miner.claims import InflatedClaims
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
           ) -> tuple[ScaledContract, list[LocalSigner]]:
    owner, *miners = funded(RUN.n_miners + 1)
    genesis = model_to_bytes(workload.flat.unflatten(workload.genesis.cpu()), RUN.architecture)
    assert store.put(genesis) == compute_cid(genesis)
    contract, _ = ScaledContract.deploy(owner, CONFIG, compute_cid(genesis), reward_pool=10**18,
                                        deployments_dir=None)
    register_all(contract, miners, STAKE)
    return contract, miners


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
