"""``pofl run --consensus scaled``: the PoFL workload on a PoFLScaled deployment (docs/scaling.md), every miner
driven by one :class:`~offchain.miner.scaled.ScaledRoundDriver` in this process.

:func:`run_scaled` loads the workload, puts the genesis model in the store, deploys PoFLScaled (the run's
threshold; the design point's c = 48 seats, K = 8 reveals and a jury of 96, each capped by the number of miners),
registers the miners, and drives rounds until a number of rounds or a block at an accuracy; each round's record
goes to ``on_round`` as it ends. ``bench/scaled_driver.py`` runs the same at 1,000 miners.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from offchain.chain.accounts import LocalSigner
from offchain.chain.scaled import ScaledConfig, ScaledContract
from offchain.chain.tx import wait_all
from offchain.chain.types import to_bps
from offchain.defaults import REWARD_POOL_WEI, STAKE_WEI
from offchain.errors import ConfigError
from offchain.miner.records import RoundRecord
from offchain.miner.run_config import RunConfig
from offchain.miner.scaled import ScaledRoundDriver
from offchain.miner.strategy import WorkloadStrategy
from offchain.miner.workload import Workload
from offchain.store.base import ModelStore
from offchain.store.model_bytes import model_to_bytes


@dataclass
class ScaledRun:
    """A finished scaled run: its deployment, its rounds, and how long its setup took."""

    contract: ScaledContract
    records: list[RoundRecord]
    seconds: dict[str, float]  # workload, deploy, register; then each round's under "round N"

    @property
    def blocks(self) -> int:
        return sum(r.block_height is not None for r in self.records)


def run_scaled(owner: LocalSigner, miners: list[LocalSigner], run_config: RunConfig, store: ModelStore, *,
               rounds: int, until_accuracy: float | None = None, scaled: ScaledConfig | None = None,
               stake: int = STAKE_WEI, reward_pool: int = REWARD_POOL_WEI,
               on_round: Callable[[RoundRecord], None] = lambda _record: None,
               max_round_s: float = 1800.0) -> ScaledRun:
    """Deploy, register and drive the run (see the module docstring).

    Parameters:
        owner: deploys the contract and funds its reward pool.
        miners: one signer a miner (``run_config.n_miners`` of them), each staking ``stake`` wei.
        run_config: the workload (``scaled`` must be set: the per-miner mode's cap does not apply).
        store: where the models go (the genesis first).
        rounds: the most rounds to drive.
        until_accuracy: stop after the first round whose block reaches it.
        scaled: the contract's configuration (default: the design point at the run's threshold).
        max_round_s: the longest one round may take.
    """
    if not run_config.scaled:
        raise ConfigError("run_scaled needs a RunConfig with scaled=True (the scaled mode has no cap on miners)")
    if len(miners) != run_config.n_miners:
        raise ConfigError(f"--miners {run_config.n_miners} needs as many miner keys, got {len(miners)}")
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    workload = Workload(run_config)
    seconds["workload"] = time.perf_counter() - started
    config = scaled or ScaledConfig(threshold_bps=to_bps(run_config.threshold), min_stake=stake,
                                    bond=max(1, stake // 10))
    started = time.perf_counter()
    genesis = store.put(model_to_bytes(workload.flat.unflatten(workload.genesis.cpu()), run_config.architecture))
    contract, _ = ScaledContract.deploy(owner, config, genesis, reward_pool=reward_pool, deployments_dir=None)
    seconds["deploy"] = time.perf_counter() - started
    started = time.perf_counter()
    wait_all([contract.register(m, stake) for m in miners])
    seconds["register"] = time.perf_counter() - started
    driver = ScaledRoundDriver(contract, store, workload.flat, run_config.architecture, miners,
                               WorkloadStrategy(workload), workload.genesis)
    records: list[RoundRecord] = []
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            record = driver.run_round(max_seconds=max_round_s)
            seconds[f"round {record.round}"] = time.perf_counter() - started
            records.append(record)
            on_round(record)
            if until_accuracy is not None and record.block_height is not None \
                    and record.chain_accuracy >= until_accuracy:
                break
    finally:
        driver.close()
    return ScaledRun(contract, records, {k: round(v, 2) for k, v in seconds.items()})

