"""Contract scaffolding for the contract tests: a fresh PoFLConsensus with fresh funded miners, rounds played
with scripted claims (the tests' own Solidity contracts are in tests/contracts; the conftest compiles them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from web3 import Web3

from offchain.chain.accounts import LocalSigner
from offchain.chain.commitment import SealedClaim
from offchain.chain.consensus import PoFLContract
from offchain.chain.tx import wait_all
from offchain.chain.types import PoFLConfig
from offchain.store.cid import CidKind
from offchain.testing import holdout_task, rounds
from offchain.testing.accounts import FUNDED_WEI, fresh_signers
from offchain.testing.rounds import Measure, RoundResult

STAKE = 10**18
MISS_BOND = 10**16
BASE_CONFIG = PoFLConfig(threshold_bps=6000, eval_set_hash=b"\x11" * 32, architecture_id=b"\x22" * 32,
                         min_stake=STAKE, miss_bond=MISS_BOND, block_reward=10**17, commit_duration=60,
                         reveal_duration=60, validation_duration=60)


def cid_of(tag: str, kind: CidKind = CidKind.V0_DAG_PB) -> str:
    return rounds.placeholder_cid(tag, kind)


GENESIS_CID = cid_of("genesis")


@dataclass
class Deployed:
    contract: PoFLContract
    owner: LocalSigner
    miners: list[LocalSigner]

    @property
    def w3(self) -> Web3:
        return self.contract.w3

    def by_address(self, address: str) -> LocalSigner:
        return next(m for m in self.miners if m.address == address)


def deploy_with_miners(w3: Web3, n_miners: int, *, register: bool = True, reward_pool: int = 10**19,
                       stake: int = STAKE, **config: object) -> Deployed:
    """A fresh PoFLConsensus (``config`` over :data:`BASE_CONFIG`) owned by a fresh funded account, and
    ``n_miners`` fresh funded miners, registered with ``stake`` unless ``register`` is false."""
    (owner,) = fresh_signers(w3, 1, reward_pool + FUNDED_WEI)
    contract, _ = PoFLContract.deploy(owner, replace(BASE_CONFIG, **config), GENESIS_CID, reward_pool=reward_pool,
                                      deployments_dir=None)
    miners = fresh_signers(w3, n_miners)
    if register:
        wait_all([contract.register(m, stake) for m in miners])
    return Deployed(contract, owner, miners)


def play_round(d: Deployed, claims: Sequence[tuple[LocalSigner, int]], measure: Measure,
               **options: Any) -> RoundResult:
    """:func:`offchain.testing.rounds.play_round` with ``d``'s owner driving and its miners voting."""
    return rounds.play_round(d.contract, d.owner, d.miners, claims, measure, **options)


def ladder(d: Deployed, tag: str) -> list[tuple[LocalSigner, SealedClaim]]:
    """One sealed claim a miner for the current round: miner i claims 7000 + i bps, its CID tagged ``tag`` + i."""
    r = d.contract.current_round()
    return [(m, SealedClaim(r, cid_of(f"{tag}{i}"), 7000 + i)) for i, m in enumerate(d.miners)]


def advance_time(d: Deployed, deadline: int) -> None:
    rounds.advance_time(d.contract, d.owner, deadline)


class HoldoutTask(holdout_task.HoldoutTask):
    """:class:`offchain.testing.holdout_task.HoldoutTask` over :data:`BASE_CONFIG` (``config`` over it), with its
    owner and miners as a :class:`Deployed` (``d``)."""

    def __init__(self, w3: Web3, n_miners: int, n_shards: int, *, stake: int = STAKE, bond: int = 10**18,
                 pay: int = 10**16, **config: object) -> None:
        super().__init__(w3, n_miners, n_shards, replace(BASE_CONFIG, **config), GENESIS_CID, stake=stake,
                         bond=bond, pay=pay)
        self.d = Deployed(self.contract, self.owner, self.miners)

    def play(self, truth: dict[str, int], parent: int):
        return play_round(self.d, [(m, truth[m.address]) for m in self.miners if m.address in truth],
                          lambda cand, _seat: truth[cand], reveal_key=self.reveal, parent=lambda _seat: parent)
