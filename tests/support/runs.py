"""A run's chain side for tests: a fresh PoFLConsensus for a RunConfig on a devnet, with registered miners (fresh
funded accounts, owner included: no test picks dev accounts by hand), and a hold-out run's likewise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from offchain.app.deployment import Deployment, HoldoutSpec, setup_run
from offchain.app.deployment import deploy_run as deploy_app_run
from offchain.app.preflight import ensure_registered
from offchain.chain.accounts import LocalSigner
from offchain.chain.connect import connect
from offchain.chain.consensus import PoFLContract
from offchain.defaults import HOLDOUT_BOND_WEI, REWARD_POOL_WEI
from offchain.fl.mnist import load_mnist
from offchain.miner.workload import RunConfig, Workload
from offchain.store.base import ModelStore
from offchain.testing.accounts import FUNDED_WEI, fresh_signers


@dataclass
class RunChain:
    contract: PoFLContract
    signers: list[LocalSigner]


@dataclass
class HonestChain:
    """Honest blocks on the session Anvil, their models in a local store, and a snapshot to return to."""

    contract: PoFLContract
    signers: list[LocalSigner]
    store_dir: Path
    snapshot: str


def deploy_run(rpc_url: str, config: RunConfig, workload: Workload, store: ModelStore,
               n_miners: int | None = None) -> RunChain:
    """Deploy for ``config`` (genesis model put in ``store``) from a fresh funded owner, and register ``n_miners``
    (default: the config's) fresh funded miners."""
    w3 = connect(rpc_url)
    (owner,) = fresh_signers(w3, 1, REWARD_POOL_WEI + FUNDED_WEI)
    signers = fresh_signers(w3, config.n_miners if n_miners is None else n_miners)
    contract = setup_run(owner, signers, config, workload, store)
    return RunChain(contract, signers)


def holdout_run(rpc_url: str, config: RunConfig, store: ModelStore, n_shards: int = 4,
                ) -> tuple[Deployment, list[LocalSigner]]:
    """A hold-out run for ``config`` (MNIST's test set split into ``n_shards`` shards of 400 images and a final
    shard of 600), its requester and ``config.n_miners`` registered miners fresh funded accounts; returns the
    deployment and [requester, *miners]."""
    w3 = connect(rpc_url)
    (requester,) = fresh_signers(w3, 1, REWARD_POOL_WEI + HOLDOUT_BOND_WEI + FUNDED_WEI)
    spec = HoldoutSpec(load_mnist("test"), n_shards=n_shards, shard_size=400, final_size=600)
    run = deploy_app_run(requester, config, store, holdout=spec)
    miners = fresh_signers(w3, config.n_miners)
    ensure_registered(run.contract, miners)
    return run, [requester, *miners]


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
