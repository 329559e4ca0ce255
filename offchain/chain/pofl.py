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
import re
from dataclasses import dataclass, fields
from enum import IntEnum
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from eth_abi import encode as abi_encode
from web3 import Web3
from web3.contract import Contract

from offchain.chain.accounts import LocalSigner
from offchain.chain.deploy import DeploymentError, DeploymentRecord, attach, deploy_contract, load_artifact
from offchain.chain.errors import ErrorDecoder
from offchain.chain.tx import PendingTx, call_view, send
from offchain.errors import PoflValueError
from offchain.paths import DEPLOYMENTS_DIR
from offchain.store.cid import CidKind, cid_from_digest, cid_to_digest

CONTRACT_NAME = "PoFLConsensus"
LENS_NAME = "PoFLLens"
BPS = 10_000
# Gas limits of the round actions: the limit without an estimate (without_estimates()), and the least limit
# with one. What a round action costs depends on what is mined before it, and nodes estimate against the
# latest block: the last commit opens the reveals, the last reveal opens the validation, a reveal that takes
# a copied digest back from a later committer re-scans the round's claims, the first vote after the seed
# block draws the committee, a deadline may pass. bench/gas.py measures ~44k a commit, ~64k a reveal, ~39k a
# vote, O(MAX_MINERS) rare paths below these bounds, and finalize() at its heaviest (~6.6M gas: 255 miners,
# 128 evictions).
ZERO_ADDRESS = "0x" + "00" * 20
GAS_LIMITS = {"commit": 150_000, "reveal": 1_500_000, "vote": 400_000, "voteOnShard": 400_000, "advance": 600_000,
              "finalize": 12_000_000}
# advance() is never estimated (it never reverts): it opens a phase or draws a committee when due.
FIXED_GAS = {"advance": GAS_LIMITS["advance"]}


class Phase(IntEnum):
    COMMIT = 0
    REVEAL = 1
    VALIDATION = 2
    FINALIZE = 3


class ClaimStatus(IntEnum):
    NONE = 0
    COMMITTED = 1
    REVEALED = 2
    ACCEPTED = 3
    REJECTED = 4
    NO_QUORUM = 5
    UNIMPROVED = 6
    DISPUTED = 7


class FailReason(IntEnum):
    NO_ELIGIBLE_CLAIM = 0
    NO_COMMITTEE = 1
    NO_ACCEPTED_CLAIM = 2
    KEY_MISSING = 3


class PenaltyReason(IntEnum):
    FALSE_CLAIM = 0
    MISREPORT = 1
    MISSED_REVEAL = 2
    MISSED_VOTE = 3


class ConfigField(IntEnum):
    THRESHOLD_BPS = 0
    TOLERANCE_BPS = 1
    QUORUM_BPS = 2
    COMMITTEE_SIZE = 3
    MIN_COMMITTEE = 4
    DURATION = 5
    SEED_LOOKAHEAD = 6
    MIN_STAKE = 7
    MISS_BOND = 8
    MISREPORT_PENALTY_BPS = 9
    EVAL_SET_HASH = 10
    ARCHITECTURE_ID = 11
    HOLDOUT = 12


# Solidity enum name -> the IntEnum its values decode to (struct fields, error arguments, events).
ENUMS: dict[str, type[IntEnum]] = {"Phase": Phase, "CidKind": CidKind, "ClaimStatus": ClaimStatus,
                                   "FailReason": FailReason, "PenaltyReason": PenaltyReason,
                                   "ConfigField": ConfigField}


def to_bps(accuracy: float) -> int:
    """Accuracy in [0, 1] as basis points, rounded down (a claim never overstates)."""
    if not 0.0 <= accuracy <= 1.0:
        raise PoflValueError(f"accuracy must be within [0, 1], got {accuracy}")
    return int(accuracy * BPS + 1e-9)


@dataclass(frozen=True)
class PoFLConfig:
    """The contract's configuration (mirrors ``IPoFLConsensus.Config``, field by field in snake case)."""

    threshold_bps: int
    eval_set_hash: bytes
    architecture_id: bytes
    tolerance_bps: int = 100
    quorum_bps: int = 6666
    committee_size: int = 0
    min_committee: int = 3
    seed_lookahead: int = 1
    commit_duration: int = 60
    reveal_duration: int = 60
    validation_duration: int = 60
    require_improvement: bool = True
    misreport_penalty_bps: int = 1000
    min_stake: int = 10**18
    miss_bond: int = 10**16
    block_reward: int = 10**17


@dataclass(frozen=True)
class ChainBlock:
    """One block of the PoFL chain, as stored by the contract."""

    height: int
    round: int
    miner: str
    accuracy_bps: int
    cid_kind: CidKind
    digest: bytes
    parent_hash: bytes
    block_hash: bytes

    @property
    def cid(self) -> str:
        """The model's CID string, rebuilt from its digest and kind."""
        return cid_from_digest(self.digest, self.cid_kind)

    @property
    def accuracy(self) -> float:
        return self.accuracy_bps / BPS

    @property
    def hash(self) -> bytes:
        """flexBlock's name for the block hash."""
        return self.block_hash

    def expected_hash(self) -> bytes:
        """keccak256(abi.encode(parentHash, round, miner, digest, cidKind, accuracyBps)), as the contract computes
        it."""
        return Web3.keccak(abi_encode(["bytes32", "uint64", "address", "bytes32", "uint8", "uint16"],
                                      [self.parent_hash, self.round, self.miner, self.digest, self.cid_kind,
                                       self.accuracy_bps]))


@dataclass(frozen=True)
class RoundState:
    """The current round (``IPoFLConsensus.RoundInfo``); ``candidate``/``best`` are the zero address when none."""

    round: int
    phase: Phase
    deadline: int
    commits: int
    reveals: int
    votes: int
    seats: int
    quorum: int
    attempt: int
    candidate: str
    candidate_bps: int
    seed_block: int
    seed: bytes
    best: str
    best_bps: int
    head_bps: int
    active_miners: int


@dataclass(frozen=True)
class ClaimState:
    """A miner's claim in a round (``IPoFLConsensus.Claim``)."""

    status: ClaimStatus
    eligible: bool
    accuracy_bps: int
    cid_kind: CidKind
    position: int
    commitment: bytes
    digest: bytes

    @property
    def committed(self) -> bool:
        return self.status != ClaimStatus.NONE

    @property
    def revealed(self) -> bool:
        return self.status not in (ClaimStatus.NONE, ClaimStatus.COMMITTED)

    @property
    def rejected(self) -> bool:
        return self.status == ClaimStatus.REJECTED

    @property
    def cid(self) -> str | None:
        """The revealed model's CID, None before the reveal."""
        return cid_from_digest(self.digest, self.cid_kind) if self.revealed else None


@dataclass(frozen=True)
class MinerState:
    """A miner's account (``IPoFLConsensus.MinerInfo``)."""

    stake: int
    last_round: int
    registered: bool
    active: bool


@dataclass(frozen=True)
class PhaseState:
    """The current round, its effective phase and that phase's deadline (0 = none yet)."""

    round: int
    phase: Phase
    deadline: int


@dataclass(frozen=True)
class ReportState:
    """Whether a validator reported on the current candidate, and what it measured."""

    voted: bool
    measured_bps: int


@dataclass(frozen=True)
class Decision:
    """One decided validation (a ClaimDecided event): ``median_bps`` of ``reports`` reports of ``seats`` seats."""

    attempt: int
    claimant: str
    outcome: ClaimStatus
    claimed_bps: int
    median_bps: int
    reports: int
    seats: int


def lower_median(values: list[int]) -> int:
    """The value of rank (n - 1) / 2: the contract's median of the reports."""
    return sorted(values)[(len(values) - 1) // 2]


T = TypeVar("T")


@cache
def _lens_artifact() -> dict[str, Any]:
    return load_artifact(LENS_NAME)


def views_abi(consensus_abi: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``consensus_abi`` with the lens's functions added (the views the consensus serves with the lens's code;
    a function both have, such as the public constants, is listed once)."""
    have = {(e["name"], tuple(i["type"] for i in e["inputs"])) for e in consensus_abi if e.get("type") == "function"}
    return consensus_abi + [e for e in _lens_artifact()["abi"] if e.get("type") == "function"
                            and (e["name"], tuple(i["type"] for i in e["inputs"])) not in have]


def snake_case(name: str) -> str:
    """``accuracyBps`` -> ``accuracy_bps``: how ABI component names become dataclass fields."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _from_abi(component: dict[str, Any], value: Any) -> Any:
    internal = str(component.get("internalType", ""))
    if internal.startswith("enum "):
        return ENUMS[internal.rsplit(".", 1)[-1]](value)
    if component["type"].startswith("bytes"):
        return bytes(value)
    return value


def decode_struct(cls: type[T], components: list[dict[str, Any]], values: tuple[Any, ...]) -> T:
    """Build dataclass ``cls`` from an ABI tuple, each value placed by its component's name."""
    by_name = {snake_case(c["name"]): _from_abi(c, v) for c, v in zip(components, values, strict=True)}
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if by_name.keys() != names:
        raise PoflValueError(f"{cls.__name__} does not match the ABI: {sorted(by_name.keys() ^ names)}")
    return cls(**by_name)


def encode_struct(value: Any, components: list[dict[str, Any]]) -> tuple[Any, ...]:
    """The ABI tuple of dataclass ``value``, each component taken from the field of its name."""
    return tuple(getattr(value, snake_case(c["name"])) for c in components)


class PoFLContract:
    """A deployed PoFLConsensus."""

    def __init__(self, contract: Contract, artifact: dict[str, Any] | None = None, *,
                 estimate_gas: bool = True) -> None:
        self.contract = contract
        self.estimate_gas = estimate_gas  # False: commit/reveal/vote use GAS_LIMITS; reverts surface at wait()
        self.w3: Web3 = contract.w3
        self.address: str = contract.address
        self.artifact = artifact or load_artifact(CONTRACT_NAME)
        self.errors = ErrorDecoder.from_artifact(self.artifact, ENUMS)
        abi = views_abi(self.artifact["abi"])
        self._functions = self.w3.eth.contract(address=contract.address, abi=abi).functions
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

    def _view(self, name: str, *args: Any, at: str | int = "latest") -> Any:
        return call_view(getattr(self._functions, name)(*args), self.errors, name, at)

    def _struct(self, cls: type[T], name: str, *args: Any) -> T:
        return decode_struct(cls, self._abi[name]["outputs"][0]["components"], self._view(name, *args))

    def config(self) -> PoFLConfig:
        """The configuration in force in the current round."""
        return self._struct(PoFLConfig, "config")

    def next_config(self) -> PoFLConfig:
        """The configuration that applies from the next round (the owner's latest settings)."""
        return self._struct(PoFLConfig, "nextConfig")

    def owner(self) -> str:
        return str(self._view("owner"))

    def lens_address(self) -> str:
        """The lens whose code serves the views (call them at the consensus's address, as this client does)."""
        return str(self._view("lens"))

    def pending_owner(self) -> str:
        return str(self._view("pendingOwner"))

    def current_round(self) -> int:
        return int(self._view("currentRound"))

    def shards_used(self) -> int:
        """Hold-out mode: shards whose key was revealed (the current round gets this index when its key is)."""
        return int(self._view("shardsUsed"))

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

    def round_info(self, round_id: int) -> RoundState:
        """The current round's state (raises PoFLWrongRound for any other round)."""
        return self._struct(RoundState, "roundInfo", round_id)

    def claim_of(self, round_id: int, miner: str) -> ClaimState:
        return self._struct(ClaimState, "claimOf", round_id, miner)

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

    def miner_info(self, account: str) -> MinerState:
        return self._struct(MinerState, "minerInfo", account)

    def miners(self) -> list[str]:
        return list(self._view("miners"))

    def miner_count(self) -> int:
        return len(self.miners())

    def active_miner_count(self) -> int:
        return int(self._view("activeMinerCount"))

    def digest_use(self, cid: str) -> tuple[bool, int]:
        """(whether the model of ``cid`` was revealed before or is the genesis, the round it first was)."""
        used, round_id = self._view("digestUse", cid_to_digest(cid)[0])
        return bool(used), int(round_id)

    def block_count(self) -> int:
        return int(self._view("blockCount"))

    def block_at(self, height: int) -> ChainBlock:
        return self._struct(ChainBlock, "blockAt", height)

    def latest_block(self) -> ChainBlock:
        return self._struct(ChainBlock, "latestBlock")

    def blocks(self) -> list[ChainBlock]:
        return [self.block_at(h) for h in range(self.block_count())]

    def balances(self) -> dict[str, int]:
        """The contract's ETH and how it is owed: stakes, reward pool, credit (rewards and refunds)."""
        return {"balance": self.w3.eth.get_balance(self.address), "totalStaked": self._view("totalStaked"),
                "rewardPool": self._view("rewardPool"), "totalPendingRewards": self._view("totalPendingRewards")}

    def pending_rewards(self, account: str) -> int:
        return int(self._view("pendingRewards", account))

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

    def _send(self, signer: LocalSigner, name: str, *args: Any, value: int = 0) -> PendingTx:
        gas = FIXED_GAS.get(name) or (None if self.estimate_gas else GAS_LIMITS.get(name))
        return send(signer, getattr(self._functions, name)(*args), self.errors, value=value, gas=gas,
                    min_gas=GAS_LIMITS.get(name, 0), action=name)

    def without_estimates(self) -> PoFLContract:
        """The same contract whose round actions skip gas estimation (one round trip fewer each)."""
        return PoFLContract(self.contract, self.artifact, estimate_gas=False)

    def register(self, signer: LocalSigner, stake: int) -> PendingTx:
        return self._send(signer, "register", value=stake)

    def add_stake(self, signer: LocalSigner, amount: int) -> PendingTx:
        return self._send(signer, "addStake", value=amount)

    def leave(self, signer: LocalSigner) -> PendingTx:
        return self._send(signer, "leave")

    def fund_rewards(self, signer: LocalSigner, amount: int) -> PendingTx:
        return self._send(signer, "fundRewards", value=amount)

    def withdraw_rewards(self, signer: LocalSigner) -> PendingTx:
        return self._send(signer, "withdrawRewards")

    def commit(self, signer: LocalSigner, round_id: int, commitment: bytes) -> PendingTx:
        return self._send(signer, "commit", round_id, commitment)

    def reveal(self, signer: LocalSigner, round_id: int, cid: str, accuracy_bps: int, salt: bytes,
               parent_bps: int = 0) -> PendingTx:
        """Reveal the claim committed as ``commitment(round_id, cid, accuracy_bps, salt, signer.address)`` (in
        hold-out mode with accuracy 0; ``parent_bps``: the head block's accuracy on the round's shard)."""
        digest, kind = cid_to_digest(cid)
        return self._send(signer, "reveal", round_id, digest, kind, accuracy_bps, parent_bps, salt)

    def vote(self, signer: LocalSigner, round_id: int, attempt: int, measured_bps: int) -> PendingTx:
        """Report the accuracy ``signer`` measured for the claim of validation ``attempt`` (``round_info().attempt``;
        its ``candidate``), 0 if its model cannot be fetched."""
        return self._send(signer, "vote", round_id, attempt, measured_bps)

    def vote_on_shard(self, signer: LocalSigner, round_id: int, attempt: int, measured_bps: int,
                      parent_bps: int) -> PendingTx:
        """Hold-out mode: report the candidate's and the head block's accuracy on the round's shard."""
        return self._send(signer, "voteOnShard", round_id, attempt, measured_bps, parent_bps)

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

    def events(self, name: str, from_block: int = 0, to_block: int | str = "latest") -> list[Any]:
        """Decoded logs of event ``name`` in a block range."""
        event = getattr(self.contract.events, name)
        return list(event.get_logs(from_block=from_block, to_block=to_block))

    def decisions(self, round_id: int, from_block: int = 0) -> list[Decision]:
        """How each validated claim of ``round_id`` was decided, in order (from ClaimDecided events)."""
        return [Decision(attempt, a["claimant"], ClaimStatus(a["outcome"]), a["claimedBps"], a["medianBps"],
                         a["reports"], a["seats"])
                for attempt, a in enumerate((e["args"] for e in self.events("ClaimDecided", from_block)
                                             if e["args"]["round"] == round_id), start=1)]

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


def increase_time(w3: Web3, seconds: int) -> None:
    """Advance a devnet's clock by ``seconds`` and mine a block (Anvil, Hardhat: ``evm_increaseTime``)."""
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


def mine_blocks(w3: Web3, count: int = 1) -> None:
    """Mine ``count`` empty blocks on a devnet (``evm_mine``; Anvil, Hardhat and eth-tester)."""
    for _ in range(count):
        w3.provider.make_request("evm_mine", [])
