"""A run's chain side for tests: a fresh PoFLConsensus for a RunConfig on a devnet, with registered miners."""

from __future__ import annotations

from dataclasses import dataclass

from offchain.app.deployment import setup_run
from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.chain.consensus import PoFLContract
from offchain.miner.workload import RunConfig, Workload
from offchain.store.base import ModelStore


@dataclass
class RunChain:
    contract: PoFLContract
    signers: list[LocalSigner]


def deploy_run(rpc_url: str, config: RunConfig, workload: Workload, store: ModelStore, first_key: int,
               n_miners: int | None = None) -> RunChain:
    """Deploy for ``config`` (genesis model put in ``store``) and register ``n_miners`` (default: the config's)
    miners with the dev accounts from ``first_key`` on (each test takes its own range of accounts)."""
    w3 = connect(rpc_url)
    signers = [LocalSigner(w3, dev_key(first_key + i)) for i in range(n_miners or config.n_miners)]
    contract = setup_run(LocalSigner(w3, dev_key(0)), signers, config, workload, store)
    return RunChain(contract, signers)


def mine_blocks(run: RunChain, workload: Workload, store: ModelStore, height: int) -> None:
    """Honest rounds by ``run``'s miners (one in-process driver) until the chain reaches ``height``."""
    from offchain.miner.driver import RoundDriver
    from offchain.miner.strategy import WorkloadStrategy

    driver = RoundDriver(run.contract, store, workload.flat, workload.config.architecture, run.signers,
                         WorkloadStrategy(workload))
    try:
        while run.contract.block_count() <= height:
            driver.run_round(max_seconds=120)
    finally:
        driver.close()
    for signer in run.signers:
        signer.resync()


def weak_model_cid(store: ModelStore, cid: str, architecture: str = "simplenet") -> str:
    """A model as weak as the one under ``cid`` but with a digest never revealed (its bias nudged), put in
    ``store``: the contract refuses a digest used before, so a test that needs a bad model needs a fresh one."""
    from offchain.store.fetching import fetch_model, publish_model

    state = fetch_model(store, cid, architecture)
    state["fc1.bias"] = state["fc1.bias"] + 1e-4
    return publish_model(store, state, architecture)
