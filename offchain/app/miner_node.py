"""``pofl miner`` as a service: one miner, its own key and clients, talking to the others only through the
chain and the store.

:func:`start_miner` checks everything before the miner stakes: that its settings agree with the
contract's, that its evaluation set and architecture are the contract's, that its key may register
here and can pay for it; then registers it (or tops its stake up) and returns the round driver that
mines. The run's settings come from wherever the caller found them (a file, the deployment record,
the options): :func:`recorded_settings` reads the record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from web3 import Web3

from offchain.app.preflight import (
    ConfigMismatch,
    check_compatible,
    describe,
    differences,
    ensure_registered,
    shortfalls,
    stake_needed,
)
from offchain.chain.accounts import LocalSigner
from offchain.chain.consensus import PoFLContract
from offchain.chain.deploy import DeploymentError, DeploymentRecord, chain_key, read_record, record_path
from offchain.chain.keys import dev_keys_allowed
from offchain.chain.tx import InsufficientFunds
from offchain.defaults import ETH
from offchain.errors import ConfigError
from offchain.miner.driver import DriverSettings, RoundDriver
from offchain.miner.pools import PoolBackend
from offchain.miner.run_config import RunConfig
from offchain.miner.selection import ClientSpec
from offchain.miner.strategy import WorkloadStrategy
from offchain.miner.workload import Workload
from offchain.store.base import ModelStore

if TYPE_CHECKING:
    from offchain.flower.pool import FlowerSettings


@dataclass(frozen=True)
class MinerPlan:
    """One miner.

    Parameters:
        config: the run's settings, and ``source``, where they came from (for messages).
        address: the consensus contract.
        clients: the miner's clients.
        index: its number, for logs.
        rpc_grace_s: how long the RPC or store may fail before the miner gives up.
        register: stake and register off a local devnet too (on one the miner always may).
        flower: where the miner's Flower pool is (``offchain.flower.pool.FlowerSettings``); None: its clients train
            in this process.
    """

    config: RunConfig
    source: str
    address: str
    clients: ClientSpec
    index: int
    rpc_grace_s: float = 60.0
    register: bool = False
    flower: FlowerSettings | None = None


def recorded_settings(w3: Web3, records: Path, address: str | None) -> tuple[DeploymentRecord, Path] | None:
    """The deployment record of this chain (of ``address``, if given) and its path, when it holds a run's
    settings; None when there is none."""
    try:
        record = read_record(chain_key(w3), "PoFLConsensus", records, address)
    except DeploymentError:
        return None
    if record is None or record.settings is None:
        return None
    return record, record_path(record.chain_key, record.contract, records)


def settings_of(record: DeploymentRecord, path: Path) -> RunConfig:
    """The run's settings a deployment record keeps."""
    return RunConfig.from_json(json.dumps(record.settings), str(path))


@dataclass
class MinerNode:
    """A started miner: the round driver that mines, on ``contract``, for ``n_clients`` clients trained in
    ``pool``."""

    driver: RoundDriver
    contract: PoFLContract
    n_clients: int
    pool: PoolBackend

    def close(self) -> None:
        """Stop the driver's background work and release the pool (a Flower pool ends its run)."""
        try:
            self.driver.close()
        finally:
            self.pool.close()


def start_miner(signer: LocalSigner, plan: MinerPlan, store: ModelStore, *, url: str,
                note: Callable[[str], None]) -> MinerNode:
    """Check and register the miner ``plan`` describes, signing with ``signer`` on the chain at ``url``; the
    started miner (see the module docstring). ``note`` is told what was staked."""
    w3, config = signer.w3, plan.config
    contract = PoFLContract.attach(w3, plan.address)
    diffs = differences(contract.config(), config)
    if diffs:
        raise ConfigMismatch(f"{plan.source} disagrees with the contract at {plan.address}: " + "; ".join(
            f"{o} {ours} where the contract has {theirs}" for o, (theirs, ours) in diffs.items())
            + " (a miner mines by the contract's settings: change the options or attach to the right contract)")
    workload = Workload(config)
    check_compatible(contract, workload)
    mine = plan.clients.clients(workload.owners)
    trainer = workload.restricted_to(mine)
    pool: PoolBackend | None = None
    if plan.flower is not None:
        from offchain.flower.pool import FlowerPool

        pool = FlowerPool(workload, trainer, mine, plan.flower)  # its nodes are there before the miner stakes
    try:
        _register(signer, plan, url, contract, note)
    except BaseException:
        if pool is not None:
            pool.close()
        raise
    strategy = WorkloadStrategy(workload, trainer, trainer_index={0: 0}, pool=pool)
    settings = DriverSettings(poll_s=0.1, fetch_timeout_s=config.fetch_timeout_s, rpc_grace_s=plan.rpc_grace_s,
                              finalize_stagger_s=0.15)
    driver = RoundDriver(contract, store, workload.flat, config.architecture, [signer], strategy,
                         indices=[plan.index], settings=settings)
    return MinerNode(driver, contract, len(mine), strategy.pool)


def _register(signer: LocalSigner, plan: MinerPlan, url: str, contract: PoFLContract,
              note: Callable[[str], None]) -> None:
    """Stake and register ``signer`` if it is not an active miner yet (see :func:`start_miner`)."""
    w3 = signer.w3
    stake = stake_needed(contract, signer)
    if not stake:
        return
    if not plan.register and not dev_keys_allowed(url, w3.eth.chain_id):
        raise ConfigError(f"--register: {signer.address} is not an active miner of {plan.address} and this chain "
                          f"is not a local devnet; pass --register to stake {stake / ETH:g} ETH and register")
    short = shortfalls(w3, [(signer, stake)])
    if short:
        raise InsufficientFunds(f"register: {describe(short)}; fund it, or use a funded key")
    ensure_registered(contract, [signer])
    note(f"{signer.address} staked {stake / ETH:g} ETH and is a miner of {plan.address}")
