"""A run's contracts, deployed or attached once for every caller: the command line, the notebook pool, the
benchmarks and the tests.

:func:`deploy` is the one way a consensus is deployed: alone (public evaluation), or behind a hold-out
task whose shards it seals into the store first (the task is deployed at the address the consensus
will name back). :func:`deploy_run` deploys for a :class:`~offchain.miner.run_config.RunConfig` (its
seeded genesis model, its settings recorded for the miners); :func:`attach_or_deploy` resumes a
recorded run or deploys one; :func:`setup_run` is all of it for a run's miners: deploy or attach, check
that the miners agree with the contract, register them. What must hold before anything is sent
(funds, keys, agreement) is checked in :mod:`offchain.app.preflight`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from web3 import Web3

from offchain.app.preflight import check_compatible, ensure_registered
from offchain.chain.accounts import LocalSigner
from offchain.chain.consensus import PoFLContract
from offchain.chain.deploy import DeploymentError
from offchain.chain.holdout import HoldoutContract, deploy_holdout_task, plan_holdout_task
from offchain.chain.types import PoFLConfig, to_bps
from offchain.defaults import (
    BLOCK_REWARD_WEI,
    HOLDOUT_BOND_WEI,
    HOLDOUT_FINAL_SIZE,
    HOLDOUT_SHARD_SIZE,
    HOLDOUT_SHARDS,
    MIN_STAKE_WEI,
    MISS_BOND_WEI,
    MISSED_KEY_PAY_WEI,
    REWARD_POOL_WEI,
)
from offchain.errors import PoflValueError
from offchain.fl.architectures import architecture_id
from offchain.fl.images import LabeledImages
from offchain.fl.mnist import load_mnist
from offchain.holdout.keyfile import Keys
from offchain.holdout.task import seal_task
from offchain.miner.run_config import RunConfig
from offchain.miner.workload import Workload
from offchain.store.base import ModelStore
from offchain.store.cid import compute_cid


@dataclass(frozen=True)
class Economics:
    """What a deployment stakes, forfeits and pays, in wei (the contract records it)."""

    min_stake: int = MIN_STAKE_WEI
    miss_bond: int = MISS_BOND_WEI
    block_reward: int = BLOCK_REWARD_WEI
    reward_pool: int = REWARD_POOL_WEI


@dataclass(frozen=True)
class HoldoutSpec:
    """How a hold-out deployment splits its requester's evaluation set (see :mod:`offchain.holdout.split`).

    Parameters:
        data: the requester's private evaluation set.
        n_shards: selection shards (one judges each round).
        shard_size: images per selection shard.
        final_size: images in the final shard (it measures every block once the task ends).
        bond: wei the requester deposits; a missed key pays from it.
        missed_key_pay: wei a missed key pays in all, shared by the committers in proportion to their stake.
    """

    data: LabeledImages
    n_shards: int = HOLDOUT_SHARDS
    shard_size: int = HOLDOUT_SHARD_SIZE
    final_size: int = HOLDOUT_FINAL_SIZE
    bond: int = HOLDOUT_BOND_WEI
    missed_key_pay: int = MISSED_KEY_PAY_WEI

    def describe(self) -> str:
        """The split, for people."""
        from offchain.holdout.stats import standard_error

        error = standard_error(0.9, self.shard_size)
        public = len(self.data) - self.n_shards * self.shard_size - self.final_size
        return (f"{self.n_shards} shards of {self.shard_size} images (standard error {error:.3f} at accuracy 0.9), "
                f"a final shard of {self.final_size}, {public} public images")


@dataclass(frozen=True)
class Deployment:
    """A deployed consensus; in hold-out mode also its task, the requester's keys and the public part of the
    requester's data (what the miners may train and measure on)."""

    contract: PoFLContract
    holdout: HoldoutContract | None = None
    keys: Keys | None = None
    public: LabeledImages | None = None


def contract_config(config: RunConfig, eval_set_hash: bytes, economics: Economics = Economics()) -> PoFLConfig:
    """The contract's configuration for a run of ``config`` evaluated on the set hashing to ``eval_set_hash``."""
    return PoFLConfig(threshold_bps=to_bps(config.threshold), eval_set_hash=eval_set_hash,
                      architecture_id=architecture_id(config.architecture), tolerance_bps=config.tolerance_bps,
                      require_improvement=config.require_improvement, commit_duration=config.phase_seconds,
                      reveal_duration=config.phase_seconds, validation_duration=config.phase_seconds,
                      min_committee=config.min_committee, min_stake=economics.min_stake,
                      miss_bond=economics.miss_bond, block_reward=economics.block_reward,
                      commit_grace=config.commit_grace_s)


def genesis_bytes(config: RunConfig) -> bytes:
    """The run's seeded initial model as stored (the same bytes, so the same CID, wherever it is made)."""
    from offchain.fl.simulation import genesis_model
    from offchain.store.model_bytes import model_to_bytes

    return model_to_bytes(genesis_model(config.architecture, config.seed).state_dict(), config.architecture)


def genesis_cid(config: RunConfig) -> str:
    return compute_cid(genesis_bytes(config))


def publish_genesis(store: ModelStore, config: RunConfig) -> str:
    """Store the run's seeded initial model; its CID."""
    return store.put(genesis_bytes(config))


def run_settings(config: RunConfig) -> dict[str, object]:
    """``config`` as the JSON object a deployment record keeps for its miners."""
    return dict(json.loads(config.to_json()))


def deploy(owner: LocalSigner, onchain: PoFLConfig, genesis: str, *, store: ModelStore | None = None,
           holdout: HoldoutSpec | None = None, public_eval_set: bool = False, seed: int = 0,
           reward_pool: int = REWARD_POOL_WEI, records: Path | None = None, settings: dict[str, Any] | None = None,
           ) -> Deployment:
    """Deploy a consensus of ``onchain`` whose genesis model is ``genesis`` (a CID).

    Parameters:
        owner: deploys, owns the consensus and, in hold-out mode, is the task's requester.
        store: where hold-out shards are sealed into (needed with ``holdout``).
        holdout: hold-out evaluation: split and seal its data, deploy the task, and evaluate the consensus's
            rounds on its shards.
        public_eval_set: in hold-out mode, record the split's public part as the evaluation set (instead of
            ``onchain.eval_set_hash``).
        seed: the split's seed.
        reward_pool: wei that fund block rewards.
        records: where the deployment is recorded, with ``settings`` (None: not recorded).
    """
    if holdout is None:
        contract, _ = PoFLContract.deploy(owner, onchain, genesis, reward_pool=reward_pool, deployments_dir=records,
                                          settings=settings)
        return Deployment(contract)
    if store is None:
        raise PoflValueError("a hold-out deployment seals its shards into a store: pass store=")
    plan = plan_holdout_task(owner)
    sealed, keys = seal_task(holdout.data, holdout.n_shards, store, task=plan.task, shard_size=holdout.shard_size,
                             final_size=holdout.final_size, seed=seed)
    if public_eval_set:
        onchain = replace(onchain, eval_set_hash=bytes.fromhex(sealed.public.sha256()))
    contract, task, _ = deploy_holdout_task(owner, plan, sealed, onchain, genesis, bond=holdout.bond,
                                            missed_key_pay=holdout.missed_key_pay, reward_pool=reward_pool,
                                            deployments_dir=records, settings=settings)
    return Deployment(contract, task, keys, sealed.public)


def deploy_run(owner: LocalSigner, config: RunConfig, store: ModelStore, *, holdout: HoldoutSpec | None = None,
               economics: Economics = Economics(), records: Path | None = None, genesis: str | None = None,
               ) -> Deployment:
    """Deploy for a run of ``config``: its seeded genesis model put into ``store`` (unless ``genesis`` names
    another), evaluated on MNIST's test set or on ``holdout``'s shards, its settings recorded in ``records``."""
    eval_set_hash = bytes.fromhex(load_mnist("test").sha256())
    return deploy(owner, contract_config(config, eval_set_hash, economics), genesis or publish_genesis(store, config),
                  store=store, holdout=holdout, public_eval_set=True, seed=config.seed,
                  reward_pool=economics.reward_pool, records=records, settings=run_settings(config))


def attach_or_deploy(w3: Web3, owner: LocalSigner, config: RunConfig, store: ModelStore, *,
                     address: str | None = None, records: Path | None = None) -> PoFLContract:
    """The contract at ``address``, or the one recorded in ``records``, else a new one for ``config``."""
    if address is not None:
        return PoFLContract.attach(w3, address)
    if records is not None:
        try:
            return PoFLContract.attach(w3, deployments_dir=records)
        except DeploymentError:
            pass
    return deploy_run(owner, config, store, records=records).contract


def setup_run(owner: LocalSigner, miners: list[LocalSigner], config: RunConfig, workload: Workload,
              store: ModelStore, *, address: str | None = None, records: Path | None = None) -> PoFLContract:
    """A run's chain side in one call: the contract (attached or deployed), checked against the miners'
    workload, with every miner registered."""
    contract = attach_or_deploy(owner.w3, owner, config, store, address=address, records=records)
    check_compatible(contract, workload)
    ensure_registered(contract, miners)
    return contract
