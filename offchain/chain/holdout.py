"""The requester's hold-out task on chain: ``contracts/PoFLHoldout.sol`` and its Python client.

A hold-out task and its consensus contract are deployed together (:func:`deploy_holdout_task`): the
task first, told the address its consensus will have (the deployer's next CREATE address), then the
consensus, which checks that the task names it. Shards are used in order, one per round whose key is
revealed (:meth:`HoldoutContract.shard_for_round`); a key is accepted only once its round's commits
have closed and the round has enough commitments for a committee (:meth:`HoldoutContract.reveal_key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rlp
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract

from offchain.chain.accounts import LocalSigner
from offchain.chain.client import ContractClient, View
from offchain.chain.consensus import CONTRACT_NAME, PoFLContract
from offchain.chain.deploy import DeploymentError, DeploymentRecord, attach, deploy_contract, load_artifact
from offchain.chain.errors import ErrorDecoder
from offchain.chain.tx import PendingTx
from offchain.chain.types import ENUMS, PoFLConfig
from offchain.errors import PoflValueError
from offchain.holdout.sealing import FINAL_INDEX
from offchain.holdout.task import SealedShard, SealedTask, task_id
from offchain.paths import DEPLOYMENTS_DIR
from offchain.store.cid import cid_from_digest, cid_to_digest

HOLDOUT_CONTRACT = "PoFLHoldout"
ZERO_KEY = b"\x00" * 32


def create_address(sender: str, nonce: int) -> str:
    """The address a contract deployed by ``sender`` with account nonce ``nonce`` gets (CREATE)."""
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


@dataclass(frozen=True)
class OnChainShard:
    """A shard as the task records it; ``key`` is None until revealed. ``index``: its place in the task
    (the final shard's is :data:`~offchain.holdout.sealing.FINAL_INDEX`), bound into its ciphertext."""

    cid: str
    key_hash: bytes
    key: bytes | None
    index: int


def _shard(values: tuple[Any, ...], index: int) -> OnChainShard:
    digest, kind, key_hash, key = values
    return OnChainShard(cid_from_digest(bytes(digest), kind), bytes(key_hash), None if bytes(key) == ZERO_KEY
                        else bytes(key), index)


class HoldoutContract(ContractClient):
    """A deployed PoFLHoldout. Reverts raise the errors of both contracts (a key revealed too early reverts
    in the consensus: ``PoFLWrongPhase``)."""

    def __init__(self, contract: Contract) -> None:
        super().__init__(contract, ErrorDecoder.from_artifacts([load_artifact(HOLDOUT_CONTRACT),
                                                                load_artifact(CONTRACT_NAME)], ENUMS))
        self._task: bytes | None = None
        self._count = 0  # shards known to exist (they are only ever appended)
        self._revealed: dict[int, OnChainShard] = {}  # shards whose key is public never change again

    @classmethod
    def attach(cls, w3: Web3, address: str, deployments_dir: Path = DEPLOYMENTS_DIR) -> HoldoutContract:
        return cls(attach(w3, load_artifact(HOLDOUT_CONTRACT), address, deployments_dir))

    @classmethod
    def of(cls, consensus: PoFLContract) -> HoldoutContract | None:
        """The task judging ``consensus``'s rounds, None in public mode."""
        address = consensus.holdout_address()
        return None if address is None else cls.attach(consensus.w3, address)

    # ---------------------------------------------------------------- views

    def task_id(self) -> bytes:
        """The 32-byte id bound into every ciphertext of this task."""
        if self._task is None:
            self._task = task_id(self.w3.eth.chain_id, self.address)
        return self._task

    requester = View("requester", str, "The task's requester: it appends shards, ends the task, owns the bond.")
    consensus = View("consensus", str, "The consensus contract the task judges.")

    def shard_count(self) -> int:
        self._count = int(self._view("shardCount"))
        return self._count

    def shard_at(self, index: int) -> OnChainShard:
        """Selection shard ``index`` (it judges round ``index + 1``)."""
        if index in self._revealed:
            return self._revealed[index]
        shard = _shard(self._view("shardAt", index), index)
        if shard.key is not None:
            self._revealed[index] = shard
        return shard

    def shard_for_round(self, round_id: int) -> OnChainShard | None:
        """The shard judging ``round_id``: the one whose key was revealed for it, or, while no key was (ask for
        the current round only), the next unused shard, which it gets when its key is; None if the task has
        no such shard."""
        _revealed, index = self.shard_of(round_id)
        if index >= self._count and index >= self.shard_count():
            return None
        return self.shard_at(index)

    def shard_of(self, round_id: int) -> tuple[bool, int]:
        """(whether ``round_id``'s key was revealed, the index of the shard that judges it or will); one call."""
        revealed, index = self._view("shardOf", round_id)
        return bool(revealed), int(index)

    def final_shard(self) -> OnChainShard:
        return _shard(self._view("finalShard"), FINAL_INDEX)

    shard_available = View("shardAvailable", bool, "Whether shard ``index`` exists and the task takes commitments to "
                                                   "be judged on it: ``shard_available(index)`` (the current round "
                                                   "is judged on ``PoFLContract.shards_used()``).")
    ended = View("ended", bool, "Whether the requester ended the task.")
    bond = View("bond", int, "Wei of the requester's bond not yet paid out.")
    missed_key_pay = View("missedKeyPay", int, "Wei a missed key pays in all, shared by the committers' stake.")
    credit = View("credit", int, "Wei credited to ``account`` (missed-key payments): ``credit(account)``.")

    # -------------------------------------------------------------- actions

    def reveal_key(self, signer: LocalSigner, round_id: int, key: bytes) -> PendingTx:
        """Reveal ``round_id``'s shard key (allowed once the round's commits have closed)."""
        return self._send(signer, "revealKey", round_id, key)

    def append_shards(self, signer: LocalSigner, shards: tuple[SealedShard, ...]) -> PendingTx:
        return self._send(signer, "appendShards", *_shard_lists(shards))

    def end_task(self, signer: LocalSigner, final_key: bytes) -> PendingTx:
        """End the task and reveal the final shard's key."""
        return self._send(signer, "endTask", final_key)

    def withdraw(self, signer: LocalSigner) -> PendingTx:
        return self._send(signer, "withdraw")

    def withdraw_bond(self, signer: LocalSigner) -> PendingTx:
        return self._send(signer, "withdrawBond")


def _shard_lists(shards: tuple[SealedShard, ...]) -> tuple[list[bytes], list[int], list[bytes]]:
    decoded = [cid_to_digest(s.cid) for s in shards]
    return [d for d, _ in decoded], [int(k) for _, k in decoded], [s.key_hash for s in shards]


@dataclass(frozen=True)
class PlannedTask:
    """Where a hold-out task and its consensus will be deployed (what sealing needs before deployment)."""

    holdout: str
    consensus: str
    task: bytes


def plan_holdout_task(signer: LocalSigner) -> PlannedTask:
    """The addresses :func:`deploy_holdout_task` will deploy to if ``signer`` sends nothing else first, and the
    task id the shards must be sealed under."""
    nonce = signer.w3.eth.get_transaction_count(signer.address, "pending")
    holdout = create_address(signer.address, nonce)
    return PlannedTask(holdout, create_address(signer.address, nonce + 1), task_id(signer.w3.eth.chain_id, holdout))


def deploy_holdout_task(signer: LocalSigner, plan: PlannedTask, sealed: SealedTask, config: PoFLConfig,
                        genesis_cid: str, *, bond: int, missed_key_pay: int, reward_pool: int = 0,
                        deployments_dir: Path | None = DEPLOYMENTS_DIR, settings: dict[str, Any] | None = None,
                        ) -> tuple[PoFLContract, HoldoutContract, DeploymentRecord]:
    """Deploy the task of ``sealed`` (sealed under ``plan.task``) and its consensus, at ``plan``'s addresses.

    Parameters:
        bond: wei the requester deposits; a missed key pays ``missed_key_pay`` from it, shared by the
            round's committers in proportion to their stake.
        the rest: as in :meth:`PoFLContract.deploy`.
    """
    if sealed.task != plan.task:
        raise PoflValueError("the shards were sealed for another task id: seal them under plan_holdout_task()'s id")
    artifact = load_artifact(HOLDOUT_CONTRACT)
    final_digest, final_kind = cid_to_digest(sealed.final.cid)
    args = [plan.consensus, *_shard_lists(sealed.shards), (final_digest, int(final_kind), sealed.final.key_hash,
                                                           ZERO_KEY), missed_key_pay]
    contract, _ = deploy_contract(signer, artifact, args, value=bond, deployments_dir=deployments_dir,
                                  decoder=ErrorDecoder.from_artifact(artifact, ENUMS))
    if contract.address != plan.holdout:
        raise DeploymentError(f"the task was deployed at {contract.address}, not at the planned {plan.holdout}: the "
                           f"deployer sent another transaction in between; seal and deploy again")
    consensus, record = PoFLContract.deploy(signer, config, genesis_cid, reward_pool=reward_pool,
                                            deployments_dir=deployments_dir, settings=settings,
                                            holdout=contract.address)
    return consensus, HoldoutContract(contract), record
