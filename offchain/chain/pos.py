"""Typed client of PoSConsensus (``contracts/IPoSConsensus.sol``): flexBlock's proof of stake on chain, the
proposer drawn by weight from a future block's hash, its model attested loadable by other members.

    contract = PoSContract.deploy(owner, genesis_cid, PoSSettings())
    turn = contract.current_turn()                  # turn.proposer, once the seed block is mined
    contract.propose(proposer, contract.head_hash(), cid).wait()
    contract.attest(member, turn.height, turn.attempt, loaded=True).wait()
    contract.finalize(anyone).wait()
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import ClassVar

from offchain.chain.accounts import LocalSigner
from offchain.chain.client import View
from offchain.chain.ledger import LedgerBlock, StakeLedgerClient
from offchain.chain.tx import PendingTx
from offchain.store.cid import cid_from_digest, cid_to_digest

CONTRACT_NAME = "PoSConsensus"
ZERO_ADDRESS = "0x" + "00" * 20


class TurnPhase(IntEnum):
    """``IPoSConsensus.TurnPhase``."""

    DRAWING = 0
    PROPOSING = 1
    ATTESTING = 2


@dataclass(frozen=True)
class PoSSettings:
    """A PoS deployment's settings: flexBlock's initial stake (each member's starting weight in the draw), the
    seed block's distance, the attestations that decide early, the phases' longest durations (s), the bond a
    proposer loses with its turn, the stake to register and the reward a block earns (wei)."""

    initial_weight: int = 32
    seed_lookahead: int = 1
    quorum: int = 3
    propose_seconds: int = 300
    attest_seconds: int = 300
    bond: int = 10**16
    min_stake: int = 10**17
    block_reward: int = 10**16
    reward_pool: int = 0


@dataclass(frozen=True)
class Turn:
    """The current turn (``IPoSConsensus.Turn``); ``cid`` once proposed."""

    height: int
    attempt: int
    phase: TurnPhase
    seed_block: int
    deadline: int
    loaded: int
    unloadable: int
    proposer: str | None
    cid: str | None


class PoSContract(StakeLedgerClient):
    """A deployed PoSConsensus."""

    CONTRACT = CONTRACT_NAME

    ENUMS: ClassVar[Mapping[str, type[IntEnum]]] = {**StakeLedgerClient.ENUMS, "TurnPhase": TurnPhase}

    weight_of = View("weightOf", int, "The weight of ``account`` in the draw (flexBlock's stake).")
    total_weight = View("totalWeight", int, "The weight of all members.")
    bond = View("bond", int, "Wei of stake a proposer loses with its turn.")
    quorum = View("quorum", int, "Attestations that decide a proposal early.")

    @classmethod
    def deploy(cls, signer: LocalSigner, genesis_cid: str, settings: PoSSettings = PoSSettings(), *,
               deployments_dir: Path | None = None) -> PoSContract:
        """Deploy with the genesis model ``genesis_cid``; the ``settings.reward_pool`` wei fund block rewards."""
        s = settings
        return cls._deploy(signer, genesis_cid, [s.initial_weight, s.seed_lookahead, s.quorum, s.propose_seconds,
                                                 s.attest_seconds, s.bond, s.min_stake, s.block_reward],
                           value=s.reward_pool, deployments_dir=deployments_dir)

    def current_turn(self) -> Turn:
        """The current turn; ``proposer`` as drawn now once the seed block is mined (None before)."""
        f = self._fields("currentTurn")
        proposed = f["phase"] == TurnPhase.ATTESTING
        return Turn(int(f["height"]), int(f["attempt"]), f["phase"], int(f["seed_block"]), int(f["deadline"]),
                    int(f["loaded"]), int(f["unloadable"]),
                    None if f["proposer"] == ZERO_ADDRESS else f["proposer"],
                    cid_from_digest(f["digest"], f["cid_kind"]) if proposed else None)

    def _block(self, height: int) -> LedgerBlock:
        f = self._fields("blockAt", height)
        return self._ledger_block(height, f, f["proposer"])

    def draw(self, signer: LocalSigner) -> PendingTx:
        return self._send(signer, "draw")

    def propose(self, signer: LocalSigner, parent_hash: bytes, cid: str) -> PendingTx:
        digest, kind = cid_to_digest(cid)
        return self._send(signer, "propose", parent_hash, digest, kind)

    def attest(self, signer: LocalSigner, height: int, attempt: int, loaded: bool) -> PendingTx:
        """Whether ``signer`` could fetch and load the proposal of turn (``height``, ``attempt``)."""
        return self._send(signer, "attest", height, attempt, loaded)

    def finalize(self, signer: LocalSigner) -> PendingTx:
        return self._send(signer, "finalize")

    def skip(self, signer: LocalSigner) -> PendingTx:
        return self._send(signer, "skip")
