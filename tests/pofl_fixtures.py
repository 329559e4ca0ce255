"""Deploying a fresh PoFLConsensus with registered miners, for the contract tests."""

from __future__ import annotations

from dataclasses import dataclass, replace

from web3 import Web3

from offchain.chain.accounts import LocalSigner
from offchain.chain.pofl import PoFLConfig, PoFLContract
from offchain.chain.tx import wait_all
from tests.conftest import signers

STAKE = 10**18
BASE_CONFIG = PoFLConfig(threshold_bps=6000, eval_set_hash=b"\x11" * 32, architecture_id=b"\x22" * 32,
                         min_stake=STAKE, block_reward=10**17, commit_duration=60, reveal_duration=60,
                         validation_duration=60)


@dataclass
class Deployed:
    contract: PoFLContract
    owner: LocalSigner
    miners: list[LocalSigner]

    def by_address(self, address: str) -> LocalSigner:
        return next(m for m in self.miners if m.address == address)


def deploy_with_miners(w3: Web3, n_miners: int, *, register: bool = True, first_key: int = 1,
                       reward_pool: int = 10**19, **config: object) -> Deployed:
    owner = LocalSigner(w3, signers(w3, [0])[0].account.key.to_0x_hex())
    contract, _ = PoFLContract.deploy(owner, replace(BASE_CONFIG, **config), "QmGenesis", reward_pool=reward_pool,
                                      deployments_dir=None)
    miners = signers(w3, range(first_key, first_key + n_miners))
    if register:
        wait_all([contract.register(m, STAKE) for m in miners])
    return Deployed(contract, owner, miners)
