"""Typed client of the PoFLConsensus contract (v2).

    contract, _ = PoFLContract.deploy(owner, PoFLConfig(...), genesis_cid)
    contract.register(miner, stake).wait()
    salt = PoFLContract.new_salt()
    contract.commit(miner, round_id, contract.commitment(round_id, cid, acc_bps, salt, miner.address))
    contract.reveal(miner, round_id, cid, acc_bps, salt)          # publish the model now, not before

CIDs are strings on this side and (sha2-256 digest, :class:`CidKind`) on chain; the client converts
both ways (:func:`offchain.store.cid.cid_to_digest`). Every action takes the :class:`LocalSigner`
that sends it and returns a :class:`~offchain.chain.tx.PendingTx`; reverts surface as the contract's
own errors (:mod:`offchain.chain.errors`). Views return dataclasses built from the ABI's struct
component names (``accuracyBps`` -> ``accuracy_bps``), never from positions.

The contract's views are the code of its lens (``contracts/PoFLLens.sol``, deployed by the consensus's
constructor), served at the consensus's own address: the client calls them there with the lens's ABI
(:func:`views_abi`), so one address answers every call, as before the split.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from eth_abi import encode as abi_encode
from web3 import Web3
from web3.contract import Contract

from offchain.chain.accounts import LocalSigner
from offchain.chain.client import StakingClient, View
from offchain.chain.deploy import (
    DeploymentError,
    DeploymentRecord,
    attach,
    deploy_contract,
    load_artifact,
    with_lens_views,
)
from offchain.chain.errors import ErrorDecoder
from offchain.chain.tx import PendingTx
from offchain.chain.types import (
    ENUMS,
    ChainBlock,
    Claim,
    ClaimStatus,
    Decision,
    MinerInfo,
    Phase,
    PhaseState,
    PoFLConfig,
    ReportState,
    RoundInfo,
    decode_struct,
    encode_struct,
)
from offchain.paths import DEPLOYMENTS_DIR
from offchain.store.cid import cid_to_digest

CONTRACT_NAME = "PoFLConsensus"
LENS_NAME = "PoFLLens"
# Gas limits of the round actions: the limit without an estimate (without_estimates()), and the least limit
# with one. What a round action costs depends on what is mined before it, and nodes estimate against the
# latest block: the last commit opens the reveals, the last reveal opens the validation, a reveal that takes
# a copied digest back from a later committer re-scans the round's claims, the first vote after the seed
# block draws the committee, a deadline may pass. bench/gas.py measures ~44k a commit, ~64k a reveal, ~39k a
# vote, O(MAX_MINERS) rare paths below these bounds, and finalize() at its heaviest (~12.6M gas: an appeal
# with 255 miners, 253 contradicted seats penalized and evicted; under EIP-7825's 16,777,216 per transaction).
ZERO_ADDRESS = "0x" + "00" * 20
GAS_LIMITS = {"commit": 150_000, "reveal": 2_500_000, "vote": 400_000, "advance": 600_000,
              "finalize": 14_000_000}
# advance() is never estimated (it never reverts): it opens a phase or draws a committee when due.
FIXED_GAS = {"advance": GAS_LIMITS["advance"]}


T = TypeVar("T")


@cache
def _lens_artifact() -> dict[str, Any]:
    return load_artifact(LENS_NAME)


def views_abi(consensus_abi: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``consensus_abi`` with the lens's functions added (the views the consensus serves with the lens's code;
    a function both have, such as the public constants, is listed once)."""
    return with_lens_views(consensus_abi, _lens_artifact()["abi"])


class PoFLContract(StakingClient):
    """A deployed PoFLConsensus (its views answered at its address by its lens's code)."""

    def __init__(self, contract: Contract, artifact: dict[str, Any] | None = None, *,
                 estimate_gas: bool = True) -> None:
        self.artifact = artifact or load_artifact(CONTRACT_NAME)
        abi = views_abi(self.artifact["abi"])
        super().__init__(contract.w3.eth.contract(address=contract.address, abi=abi),
                         ErrorDecoder.from_artifact(self.artifact, ENUMS))
        self.estimate_gas = estimate_gas  # False: commit/reveal/vote use GAS_LIMITS; reverts surface at wait()
        self._abi = {e["name"]: e for e in abi if e.get("type") == "function"}

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def deploy(cls, signer: LocalSigner, config: PoFLConfig, genesis_cid: str, *, reward_pool: int = 0,
               deployments_dir: Path | None = DEPLOYMENTS_DIR, settings: dict[str, Any] | None = None,
               holdout: str | None = None) -> tuple[PoFLContract, DeploymentRecord]:
        """Deploy with ``config`` and the genesis model ``genesis_cid``; ``reward_pool`` wei fund block rewards.
        ``holdout``: the hold-out task judging the rounds (see :mod:`offchain.chain.holdout`, which deploys
        both), None for public evaluation. Records the deployment (with the run's ``settings``, which miners
        read) in ``deployments_dir`` unless that is None."""
        artifact = load_artifact(CONTRACT_NAME)
        constructor = next(e for e in artifact["abi"] if e["type"] == "constructor")
        digest, kind = cid_to_digest(genesis_cid)
        args = [encode_struct(config, constructor["inputs"][0]["components"]), digest, kind,
                holdout or ZERO_ADDRESS]
        contract, record = deploy_contract(signer, artifact, args, value=reward_pool, deployments_dir=deployments_dir,
                                           settings=settings, decoder=ErrorDecoder.from_artifact(artifact, ENUMS))
        return cls(contract, artifact), record

    @classmethod
    def attach(cls, w3: Web3, address: str | None = None,
               deployments_dir: Path = DEPLOYMENTS_DIR) -> PoFLContract:
        """The contract at ``address``, or the one recorded for this chain; checks its code is there, and its
        lens's."""
        artifact = load_artifact(CONTRACT_NAME)
        contract = cls(attach(w3, artifact, address, deployments_dir), artifact)
        lens = contract.lens_address()
        try:
            attach(w3, _lens_artifact(), lens, deployments_dir)
        except DeploymentError as exc:
            raise DeploymentError(f"the lens of the contract at {contract.address} (at {lens}): {exc}") from None
        return contract

    # ---------------------------------------------------------------- views

    owner = View("owner", str)
    pending_owner = View("pendingOwner", str)
    current_round = View("currentRound", int, "The round open now.")
    active_miner_count = View("activeMinerCount", int, "Miners that committed or joined in this round or the "
                                                        "previous one.")
    block_count = View("blockCount", int, "The number of blocks, genesis included.")
    pending_rewards = View("pendingRewards", int, "Wei credited to ``account`` and not yet withdrawn: "
                                                  "``pending_rewards(account)``.")

    def _struct(self, cls: type[T], name: str, *args: Any, at: str | int = "latest") -> T:
        return decode_struct(cls, self._abi[name]["outputs"][0]["components"], self._view(name, *args, at=at))

    def config(self, at: str | int = "latest") -> PoFLConfig:
        """The configuration in force in the current round (as of block ``at``)."""
        return self._struct(PoFLConfig, "config", at=at)

    def next_config(self) -> PoFLConfig:
        """The configuration that applies from the next round (the owner's latest settings)."""
        return self._struct(PoFLConfig, "nextConfig")

    lens_address = View("lens", str, "The lens whose code serves the views (called at the consensus's address, as "
                                      "this client does).")

    shards_used = View("shardsUsed", int, "Hold-out mode: shards whose key was revealed (the current round gets this "
                                          "index when its key is).")

    def holdout_address(self) -> str | None:
        """The hold-out task judging the rounds, None in public mode."""
        address = str(self._view("holdout"))
        return None if int(address, 16) == 0 else address

    def current_phase(self, at: str | int = "latest") -> PhaseState:
        """The effective phase as of block ``at``; ``"pending"`` asks at the node's own current time."""
        round_id, phase, deadline = self._view("currentPhase", at=at)
        return PhaseState(round_id, Phase(phase), deadline)

    def deadline_passed(self) -> bool:
        """Whether, at the node's current time, a deadline (or the mined seed block) has moved the phase on
        without a transaction recording it yet: then anyone may call advance()."""
        return self.current_phase("pending") != self.current_phase("latest")

    def round_info(self, round_id: int) -> RoundInfo:
        """The current round's state (raises PoFLWrongRound for any other round)."""
        return self._struct(RoundInfo, "roundInfo", round_id)

    def claim_of(self, round_id: int, miner: str) -> Claim:
        return self._struct(Claim, "claimOf", round_id, miner)

    def report_of(self, round_id: int, validator: str) -> ReportState:
        """Whether ``validator`` reported on ``round_id``'s current candidate, and what (its Voted event)."""
        reports = self.reports(round_id, self.round_info(round_id).attempt)
        return ReportState(validator in reports, reports.get(validator, 0))

    def is_validator(self, round_id: int, miner: str) -> bool:
        """Whether ``miner`` holds a seat on the committee of ``round_id``'s current candidate."""
        return miner in self.committee(round_id)

    def committee(self, round_id: int) -> list[str]:
        """The seats of the current candidate's committee (empty until its seed block is mined)."""
        return list(self._view("committee", round_id))

    def miner_info(self, account: str) -> MinerInfo:
        return self._struct(MinerInfo, "minerInfo", account)

    def miners(self) -> list[str]:
        return list(self._view("miners"))

    def miner_count(self) -> int:
        return len(self.miners())

    def digest_use(self, cid: str) -> tuple[bool, int]:
        """(whether the model of ``cid`` was revealed before or is the genesis, the round it first was)."""
        used, round_id = self._view("digestUse", cid_to_digest(cid)[0])
        return bool(used), int(round_id)

    def block_at(self, height: int) -> ChainBlock:
        return self._struct(ChainBlock, "blockAt", height)

    def latest_block(self) -> ChainBlock:
        return self._struct(ChainBlock, "latestBlock")

    def blocks(self) -> list[ChainBlock]:
        return [self.block_at(h) for h in range(self.block_count())]

    @staticmethod
    def commitment(round_id: int, cid: str, accuracy_bps: int, salt: bytes, miner: str) -> bytes:
        """keccak256(abi.encode(round, digest, cidKind, accuracyBps, salt, miner)) of ``cid``'s digest, computed
        locally (the contract's computeCommitment)."""
        digest, kind = cid_to_digest(cid)
        return Web3.keccak(abi_encode(["uint64", "bytes32", "uint8", "uint16", "bytes32", "address"],
                                      [round_id, digest, kind, accuracy_bps, salt, miner]))

    @staticmethod
    def new_salt() -> bytes:
        return os.urandom(32)

    # -------------------------------------------------------------- actions

    def _send(self, signer: LocalSigner, name: str, *args: Any, value: int = 0, gas: int | None = None,
              min_gas: int = 0) -> PendingTx:
        """A round action's gas limit is fixed (without estimates, or for advance()), else at least its bound."""
        gas = gas or FIXED_GAS.get(name) or (None if self.estimate_gas else GAS_LIMITS.get(name))
        return super()._send(signer, name, *args, value=value, gas=gas, min_gas=min_gas or GAS_LIMITS.get(name, 0))

    def without_estimates(self) -> PoFLContract:
        """The same contract whose round actions skip gas estimation (one round trip fewer each)."""
        return PoFLContract(self.contract, self.artifact, estimate_gas=False)

    def commit(self, signer: LocalSigner, round_id: int, commitment: bytes) -> PendingTx:
        return self._send(signer, "commit", round_id, commitment)

    def reveal(self, signer: LocalSigner, round_id: int, cid: str, accuracy_bps: int, salt: bytes,
               parent_bps: int = 0) -> PendingTx:
        """Reveal the claim committed as ``commitment(round_id, cid, accuracy_bps, salt, signer.address)`` (in
        hold-out mode with accuracy 0; ``parent_bps``: the head block's accuracy as the miner measured it on the
        same data, which the claim must beat to be validated)."""
        digest, kind = cid_to_digest(cid)
        return self._send(signer, "reveal", round_id, digest, kind, accuracy_bps, parent_bps, salt)

    def vote(self, signer: LocalSigner, round_id: int, attempt: int, measured_bps: int,
             parent_bps: int) -> PendingTx:
        """Report the accuracy ``signer`` measured for the claim of validation ``attempt`` (``round_info().attempt``;
        its ``candidate``; 0 if its model cannot be fetched) and for the head block's model on the same data
        (public mode: the evaluation set; hold-out mode: the round's shard)."""
        return self._send(signer, "vote", round_id, attempt, measured_bps, parent_bps)

    def advance(self, signer: LocalSigner) -> PendingTx:
        return self._send(signer, "advance")

    def finalize(self, signer: LocalSigner) -> PendingTx:
        return self._send(signer, "finalize")

    def set_phase_durations(self, signer: LocalSigner, commit: int, reveal: int, validation: int) -> PendingTx:
        return self._send(signer, "setPhaseDurations", commit, reveal, validation)

    def set_validation(self, signer: LocalSigner, tolerance_bps: int, quorum_bps: int, committee_size: int,
                       min_committee: int) -> PendingTx:
        return self._send(signer, "setValidation", tolerance_bps, quorum_bps, committee_size, min_committee)

    def set_penalties(self, signer: LocalSigner, miss_bond: int, misreport_penalty_bps: int) -> PendingTx:
        return self._send(signer, "setPenalties", miss_bond, misreport_penalty_bps)

    def set_block_reward(self, signer: LocalSigner, reward: int) -> PendingTx:
        return self._send(signer, "setBlockReward", reward)

    def transfer_ownership(self, signer: LocalSigner, new_owner: str) -> PendingTx:
        """Step 1 of 2: ``new_owner`` becomes the pending owner."""
        return self._send(signer, "transferOwnership", new_owner)

    def accept_ownership(self, signer: LocalSigner) -> PendingTx:
        """Step 2 of 2: the pending owner takes over."""
        return self._send(signer, "acceptOwnership")

    # --------------------------------------------------------------- events

    def decisions(self, round_id: int, from_block: int = 0) -> list[Decision]:
        """How each validated claim of ``round_id`` was decided, in order (from ClaimDecided events)."""
        return [Decision(attempt, a["claimant"], ClaimStatus(a["outcome"]), a["claimedBps"], a["medianBps"],
                         a["reports"], a["seats"])
                for attempt, a in enumerate((e["args"] for e in self.events("ClaimDecided", from_block)
                                             if e["args"]["round"] == round_id), start=1)]

    def appeal_attempt(self, round_id: int, from_block: int = 0) -> int | None:
        """The validation attempt of ``round_id`` that is its appeal (AppealOpened: the round's first dispute went
        to every committer that may still sit, decided by stake), or None if no claim of the round was disputed."""
        return next((e["args"]["attempt"] for e in self.events("AppealOpened", from_block)
                     if e["args"]["round"] == round_id), None)

    def parent_measurements(self, round_id: int, from_block: int = 0) -> dict[int, int]:
        """Hold-out mode: the committee's median accuracy of the parent block on ``round_id``'s shard, per
        validation attempt (ParentMeasured events)."""
        return {e["args"]["attempt"]: e["args"]["parentBps"] for e in self.events("ParentMeasured", from_block)
                if e["args"]["round"] == round_id}

    def reports(self, round_id: int, attempt: int, from_block: int = 0) -> dict[str, int]:
        """What each seat reported in validation ``attempt`` of ``round_id`` (from Voted events): a block's
        accuracy is the lower median of the reports of its accepted validation (``pofl verify`` can check it)."""
        return {e["args"]["validator"]: e["args"]["measuredBps"] for e in self.events("Voted", from_block)
                if e["args"]["round"] == round_id and e["args"]["attempt"] == attempt}
