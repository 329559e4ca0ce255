"""What must hold before a run sends anything, and the miners' stakes.

Every caller checks here, before a contract is deployed or a miner registered: that the accounts
that will send transactions can pay for them (:func:`shortfalls`), that a miner's workload and
settings agree with the contract's (:func:`check_compatible`, :func:`differences`); and registers its
miners here (:func:`ensure_registered`), staking the contract's minimum and a margin of bonds.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.consensus import PoFLContract
from offchain.chain.tx import wait_all
from offchain.chain.types import PoFLConfig, to_bps
from offchain.defaults import ETH
from offchain.errors import ConfigError, PoflValueError
from offchain.fl.architectures import architecture_id
from offchain.miner.run_config import RunConfig
from offchain.miner.workload import Workload

GAS_BUDGET = 2_000_000
"""Gas an account must be able to pay for besides what it sends (registering and a few rounds)."""

STAKE_MARGIN_BONDS = 20
"""Forfeitable bonds a miner stakes above ``minStake`` (offchain.defaults.STAKE_WEI on the default deployment)."""


class ConfigMismatch(ConfigError):
    """The contract was deployed for another evaluation set, architecture or settings than this miner's."""


@dataclass(frozen=True)
class Shortfall:
    """An account that cannot pay what it must: its balance and the wei it needs (value and gas)."""

    signer: LocalSigner
    balance: int
    needed: int


def shortfalls(w3: Web3, payers: list[tuple[LocalSigner, int]]) -> list[Shortfall]:
    """Every payer (signer, wei it sends) that cannot also pay :data:`GAS_BUDGET` of gas; asks, sends nothing."""
    gas_price = max(int(w3.eth.gas_price), 10**9)
    out = []
    for signer, value in payers:
        need, balance = value + GAS_BUDGET * gas_price, signer.balance()
        if balance < need:
            out.append(Shortfall(signer, balance, need))
    return out


def describe(short: list[Shortfall]) -> str:
    first = short[0]
    more = f" (and {len(short) - 1} more)" if len(short) > 1 else ""
    return (f"account {first.signer.address}{more} holds {first.balance / ETH:g} ETH, needs {first.needed / ETH:g} "
            f"ETH for its stake and gas")


def stake_target(onchain: PoFLConfig) -> int:
    """What a miner keeps staked on a contract of ``onchain``: its ``minStake`` and a margin of bonds, so that a
    missed reveal or vote does not evict it at once (offchain.defaults.STAKE_WEI on the default deployment)."""
    return onchain.min_stake + STAKE_MARGIN_BONDS * onchain.miss_bond


def stake_needed(contract: PoFLContract, signer: LocalSigner) -> int:
    """Wei :func:`ensure_registered` would stake for ``signer``: the stake target when it is not registered, else
    what tops its stake up to it (0 when it holds it)."""
    info = contract.miner_info(signer.address)
    target = stake_target(contract.config())
    return target if not info.registered else max(0, target - info.stake)


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


def miner_signers(w3: Web3, n: int, keys: list[str] | None = None) -> list[LocalSigner]:
    """Signers for the miners: the given keys, or dev accounts 1..n on a devnet."""
    if keys is not None:
        if len(keys) < n:
            raise PoflValueError(f"{n} miners need {n} keys, got {len(keys)}")
        return [LocalSigner(w3, k) for k in keys[:n]]
    return [LocalSigner(w3, dev_key(i)) for i in range(1, n + 1)]


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
    pairs = {"--threshold": (onchain.threshold_bps / 10_000, to_bps(config.threshold) / 10_000),
             "--no-improvement": (not onchain.require_improvement, not config.require_improvement),
             "--phase-seconds": (onchain.commit_duration, config.phase_seconds)}
    return {option: pair for option, pair in pairs.items() if pair[0] != pair[1]}
