"""A run's chain side: deploy or attach the consensus, register miners, publish the genesis model."""

from __future__ import annotations

from pathlib import Path

from web3 import Web3

from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.deploy import DeploymentError
from offchain.chain.pofl import PoFLConfig, PoFLContract, to_bps
from offchain.chain.tx import wait_all
from offchain.defaults import BLOCK_REWARD_WEI, MIN_STAKE_WEI, MISS_BOND_WEI, REWARD_POOL_WEI, STAKE_WEI
from offchain.errors import ConfigError, PoflValueError
from offchain.fl.models import architecture_id
from offchain.miner.workload import RunConfig, Workload
from offchain.store.base import ModelStore
from offchain.store.models import publish_model


class ConfigMismatch(ConfigError):
    """The contract was deployed for another evaluation set or architecture than this miner's."""


def contract_config(config: RunConfig, workload: Workload) -> PoFLConfig:
    return PoFLConfig(threshold_bps=to_bps(config.threshold), eval_set_hash=workload.eval_set_hash,
                      architecture_id=architecture_id(config.architecture), tolerance_bps=config.tolerance_bps,
                      require_improvement=config.require_improvement, commit_duration=config.phase_seconds,
                      reveal_duration=config.phase_seconds, validation_duration=config.phase_seconds,
                      min_committee=config.min_committee, min_stake=MIN_STAKE_WEI, miss_bond=MISS_BOND_WEI,
                      block_reward=BLOCK_REWARD_WEI)


def publish_genesis(store: ModelStore, workload: Workload) -> str:
    return publish_model(store, workload.flat.unflatten(workload.genesis.detach().cpu()), workload.config.architecture)


def deploy_or_attach(w3: Web3, owner: LocalSigner, config: RunConfig, workload: Workload, store: ModelStore,
                     deployments_dir: Path | None, address: str | None = None) -> PoFLContract:
    """Attach to ``address`` or the recorded deployment when there is one, else deploy a new contract."""
    if address is not None:
        return PoFLContract.attach(w3, address)
    if deployments_dir is not None:
        try:
            return PoFLContract.attach(w3, deployments_dir=deployments_dir)
        except DeploymentError:
            pass
    genesis_cid = publish_genesis(store, workload)
    contract, _ = PoFLContract.deploy(owner, contract_config(config, workload), genesis_cid,
                                      reward_pool=REWARD_POOL_WEI, deployments_dir=deployments_dir)
    return contract


def check_compatible(contract: PoFLContract, workload: Workload) -> None:
    """Refuse to mine against a contract whose evaluation set or architecture differ from ours."""
    onchain = contract.config()
    if onchain.eval_set_hash != workload.eval_set_hash:
        raise ConfigMismatch(f"the contract's evaluation set sha256 is {onchain.eval_set_hash.hex()}, this miner's is "
                             f"{workload.evaluator.sha256}: every miner must evaluate on the same data")
    if onchain.architecture_id != architecture_id(workload.config.architecture):
        raise ConfigMismatch(f"the contract expects architecture id {onchain.architecture_id.hex()}, not "
                             f"{workload.config.architecture!r}")


def miner_signers(w3: Web3, n: int, keys: list[str] | None = None) -> list[LocalSigner]:
    """Signers for the miners: the given keys, or dev accounts 1..n on a devnet."""
    if keys is not None:
        if len(keys) < n:
            raise PoflValueError(f"{n} miners need {n} keys, got {len(keys)}")
        return [LocalSigner(w3, k) for k in keys[:n]]
    return [LocalSigner(w3, dev_key(i)) for i in range(1, n + 1)]


def ensure_registered(contract: PoFLContract, signers: list[LocalSigner]) -> None:
    pending = []
    for signer in signers:
        info = contract.miner_info(signer.address)
        if not info.registered:  # new, or evicted (slashed under minStake)
            pending.append(contract.register(signer, STAKE_WEI))
        elif info.stake < STAKE_WEI:  # bonds forfeited: top the margin up
            pending.append(contract.add_stake(signer, STAKE_WEI - info.stake))
    wait_all(pending)
