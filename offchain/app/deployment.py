"""A run's chain side: deploy or attach the consensus, check that miners agree with it, register them,
publish the genesis model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.deploy import DeploymentError
from offchain.chain.holdout import HoldoutContract, deploy_holdout_task, plan_holdout_task
from offchain.chain.pofl import PoFLConfig, PoFLContract, to_bps
from offchain.chain.tx import wait_all
from offchain.defaults import (
    BLOCK_REWARD_WEI,
    ETH,
    HOLDOUT_BOND_WEI,
    MIN_STAKE_WEI,
    MISS_BOND_WEI,
    MISSED_KEY_PAY_WEI,
    REWARD_POOL_WEI,
)
from offchain.errors import ConfigError, PoflValueError
from offchain.fl.architectures import architecture_id
from offchain.fl.images import LabeledImages
from offchain.holdout.keyfile import Keys
from offchain.holdout.split import DEFAULT_FINAL_SIZE, DEFAULT_SHARD_SIZE, DEFAULT_SHARDS
from offchain.holdout.task import seal_task
from offchain.miner.workload import RunConfig, Workload
from offchain.store.base import ModelStore
from offchain.store.cid import compute_cid

GAS_BUDGET = 2_000_000
"""Gas a miner's account must be able to pay for besides its stake (registering and a few rounds)."""


class ConfigMismatch(ConfigError):
    """The contract was deployed for another evaluation set or architecture than this miner's."""


def contract_config(config: RunConfig, eval_set_hash: bytes, *, min_stake: int = MIN_STAKE_WEI,
                    miss_bond: int = MISS_BOND_WEI, block_reward: int = BLOCK_REWARD_WEI) -> PoFLConfig:
    """The contract's configuration for a run of ``config`` evaluated on the set hashing to ``eval_set_hash``."""
    return PoFLConfig(threshold_bps=to_bps(config.threshold), eval_set_hash=eval_set_hash,
                      architecture_id=architecture_id(config.architecture), tolerance_bps=config.tolerance_bps,
                      require_improvement=config.require_improvement, commit_duration=config.phase_seconds,
                      reveal_duration=config.phase_seconds, validation_duration=config.phase_seconds,
                      min_committee=config.min_committee, min_stake=min_stake, miss_bond=miss_bond,
                      block_reward=block_reward)


STAKE_MARGIN_BONDS = 20
"""Forfeitable bonds a miner stakes above ``minStake`` (offchain.defaults.STAKE_WEI on the default deployment)."""


def stake_target(onchain: PoFLConfig) -> int:
    """What a miner keeps staked on a contract of ``onchain``: its ``minStake`` and a margin of bonds, so that a
    missed reveal or vote does not evict it at once (offchain.defaults.STAKE_WEI on the default deployment)."""
    return onchain.min_stake + STAKE_MARGIN_BONDS * onchain.miss_bond


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


def deploy_run(w3: Web3, owner: LocalSigner, config: RunConfig, workload: Workload, store: ModelStore,
               deployments_dir: Path | None) -> PoFLContract:
    """Deploy a new contract for ``config`` (its genesis model put into ``store``) and record it, with the
    run's settings, in ``deployments_dir`` unless that is None."""
    genesis_cid = publish_genesis(store, config)
    contract, _ = PoFLContract.deploy(owner, contract_config(config, workload.eval_set_hash), genesis_cid,
                                      reward_pool=REWARD_POOL_WEI, deployments_dir=deployments_dir,
                                      settings=run_settings(config))
    return contract


@dataclass(frozen=True)
class HoldoutSpec:
    """How a hold-out deployment splits its requester's evaluation set (see :mod:`offchain.holdout.split`)."""

    data: LabeledImages
    n_shards: int = DEFAULT_SHARDS
    shard_size: int = DEFAULT_SHARD_SIZE
    final_size: int = DEFAULT_FINAL_SIZE
    bond: int = HOLDOUT_BOND_WEI
    pay_per_committer: int = MISSED_KEY_PAY_WEI


@dataclass(frozen=True)
class HoldoutRun:
    """A deployed hold-out run: the consensus, its task, the requester's keys and the public part of the data."""

    contract: PoFLContract
    holdout: HoldoutContract
    keys: Keys
    public: LabeledImages


def deploy_holdout_run(owner: LocalSigner, config: RunConfig, store: ModelStore, spec: HoldoutSpec,
                       deployments_dir: Path | None) -> HoldoutRun:
    """Deploy a hold-out run of ``config``: split ``spec.data``, seal and store its shards, deploy the task (the
    owner is its requester, depositing ``spec.bond``) and its consensus, whose ``evalSetHash`` is the public
    part's sha256. The caller keeps the keys (:func:`~offchain.holdout.keyfile.write_keys`)."""
    genesis_cid = publish_genesis(store, config)
    plan = plan_holdout_task(owner)
    sealed, keys = seal_task(spec.data, spec.n_shards, store, task=plan.task, shard_size=spec.shard_size,
                             final_size=spec.final_size, seed=config.seed)
    onchain = contract_config(config, bytes.fromhex(sealed.public.sha256()))
    contract, holdout, _ = deploy_holdout_task(owner, plan, sealed, onchain, genesis_cid, bond=spec.bond,
                                               pay_per_committer=spec.pay_per_committer,
                                               reward_pool=REWARD_POOL_WEI, deployments_dir=deployments_dir,
                                               settings=run_settings(config))
    return HoldoutRun(contract, holdout, keys, sealed.public)


def deploy_or_attach(w3: Web3, owner: LocalSigner, config: RunConfig, workload: Workload, store: ModelStore,
                     deployments_dir: Path | None, address: str | None = None) -> PoFLContract:
    """Attach to ``address`` or the deployment recorded in ``deployments_dir`` when there is one, else deploy
    a new contract (and record it there)."""
    if address is not None:
        return PoFLContract.attach(w3, address)
    if deployments_dir is not None:
        try:
            return PoFLContract.attach(w3, deployments_dir=deployments_dir)
        except DeploymentError:
            pass
    return deploy_run(w3, owner, config, workload, store, deployments_dir)


def check_compatible(contract: PoFLContract, workload: Workload) -> None:
    """Refuse to mine against a contract whose evaluation set (public mode) or architecture differ from ours."""
    onchain = contract.config()
    if contract.holdout_address() is None and onchain.eval_set_hash != workload.eval_set_hash:
        raise ConfigMismatch(f"the contract's evaluation set sha256 is {onchain.eval_set_hash.hex()}, this miner's is "
                             f"{workload.evaluator.sha256}: every miner must evaluate on the same data")
    if onchain.architecture_id != architecture_id(workload.config.architecture):
        raise ConfigMismatch(f"the contract expects architecture id {onchain.architecture_id.hex()}, not "
                             f"{workload.config.architecture!r}")


def differences(onchain: PoFLConfig, config: RunConfig) -> dict[str, tuple[object, object]]:
    """The settings the contract holds that ``config`` gives otherwise: option -> (contract's, config's).
    (The architecture and the evaluation set are checked by :func:`check_compatible`.)"""
    mine = contract_config(config, onchain.eval_set_hash)
    pairs = {"--threshold": (onchain.threshold_bps / 10_000, mine.threshold_bps / 10_000),
             "--no-improvement": (not onchain.require_improvement, not mine.require_improvement),
             "--phase-seconds": (onchain.commit_duration, mine.commit_duration)}
    return {option: pair for option, pair in pairs.items() if pair[0] != pair[1]}


def miner_signers(w3: Web3, n: int, keys: list[str] | None = None) -> list[LocalSigner]:
    """Signers for the miners: the given keys, or dev accounts 1..n on a devnet."""
    if keys is not None:
        if len(keys) < n:
            raise PoflValueError(f"{n} miners need {n} keys, got {len(keys)}")
        return [LocalSigner(w3, k) for k in keys[:n]]
    return [LocalSigner(w3, dev_key(i)) for i in range(1, n + 1)]


def stake_needed(contract: PoFLContract, signer: LocalSigner) -> int:
    """Wei :func:`ensure_registered` would stake for ``signer`` on ``contract``: the stake target
    (:func:`stake_target`) when it is not registered, else what tops its stake up to it (0 when it holds it)."""
    info = contract.miner_info(signer.address)
    target = stake_target(contract.config())
    return target if not info.registered else max(0, target - info.stake)


def unfunded(w3: Web3, signers: list[LocalSigner], stakes: list[int]) -> list[tuple[LocalSigner, int, int]]:
    """(signer, balance, wei needed) of every signer that cannot pay its stake (``stakes``, in order) and the
    gas of mining; asks the chain, sends nothing."""
    gas_price = max(int(w3.eth.gas_price), 10**9)
    short = []
    for signer, stake in zip(signers, stakes, strict=True):
        need = stake + GAS_BUDGET * gas_price
        balance = signer.balance()
        if balance < need:
            short.append((signer, balance, need))
    return short


def describe_unfunded(short: list[tuple[LocalSigner, int, int]]) -> str:
    signer, balance, need = short[0]
    more = f" (and {len(short) - 1} more)" if len(short) > 1 else ""
    return (f"account {signer.address}{more} holds {balance / ETH:g} ETH, needs {need / ETH:g} ETH for its stake "
            f"and gas")


def ensure_registered(contract: PoFLContract, signers: list[LocalSigner]) -> None:
    """Register every signer that is not a miner, staking :func:`stake_target`, or top up the stake of one that
    holds less (its bonds forfeited, or inactive)."""
    target = stake_target(contract.config())
    pending = []
    for signer in signers:
        info = contract.miner_info(signer.address)
        if not info.registered:  # new, or evicted (slashed under minStake)
            pending.append(contract.register(signer, target))
        elif info.stake < target:  # bonds forfeited (or inactive): top the margin up
            pending.append(contract.add_stake(signer, target - info.stake))
    wait_all(pending)
