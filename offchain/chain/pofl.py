"""Typed client of the PoFLConsensus contract.

    contract = PoFLContract.deploy(owner, PoFLConfig(...), genesis_cid)
    contract.register(miner, stake).wait()
    contract.commit(miner, round_id, contract.commitment(round_id, cid, acc_bps, salt, miner.address))

Every action takes the :class:`LocalSigner` that sends it and returns a
:class:`~offchain.chain.tx.PendingTx`; reverts surface as the contract's own errors
(:mod:`offchain.chain.errors`). Views return dataclasses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from enum import IntEnum
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from web3 import Web3
from web3.contract import Contract

from offchain.chain.accounts import LocalSigner
from offchain.chain.deploy import DeploymentRecord, attach, deploy_contract, load_artifact
from offchain.chain.errors import ErrorDecoder
from offchain.chain.tx import REVERT_ERRORS, PendingTx, poll, raise_decoded, send
from offchain.errors import PoflValueError
from offchain.paths import DEPLOYMENTS_DIR

CONTRACT_NAME = "PoFLConsensus"
BPS = 10_000
# Upper bounds of the gas of the O(1) round actions (bench/gas.py measures at most ~90k, ~215k and
# ~105k with CIDv0; a 128-byte CID adds two storage words to a reveal), used instead of estimating.
# advance() and finalize() are deadline-driven: their gas is not estimated (an estimate taken before a
# deadline is wrong after it) but fixed above their worst case (finalize's next-best search over 256
# claimants, ~1.4M gas).
GAS_LIMITS = {"commit": 150_000, "reveal": 400_000, "vote": 200_000, "advance": 2_000_000, "finalize": 2_000_000}


class Phase(IntEnum):
    COMMIT = 0
    REVEAL = 1
    VALIDATION = 2
    FINALIZE = 3


class FailReason(IntEnum):
    NO_ELIGIBLE_CLAIM = 0
    ALL_CLAIMS_REJECTED = 1
    VALIDATION_INCONCLUSIVE = 2


class VoteKind(IntEnum):
    NONE = 0
    APPROVE = 1
    REJECT = 2


def to_bps(accuracy: float) -> int:
    """Accuracy in [0, 1] as basis points, rounded down (a claim never overstates)."""
    if not 0.0 <= accuracy <= 1.0:
        raise PoflValueError(f"accuracy must be within [0, 1], got {accuracy}")
    return int(accuracy * BPS + 1e-9)


@dataclass(frozen=True)
class PoFLConfig:
    """The contract's deploy-time configuration (mirrors ``PoFLConsensus.Config``)."""

    threshold_bps: int
    eval_set_hash: bytes
    architecture_id: bytes
    tolerance_bps: int = 100
    quorum_bps: int = 5001
    committee_size: int = 0
    commit_duration: int = 60
    reveal_duration: int = 60
    validation_duration: int = 60
    require_improvement: bool = True
    min_stake: int = 10**18
    block_reward: int = 10**17

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.threshold_bps, self.tolerance_bps, self.quorum_bps, self.committee_size,
                self.commit_duration, self.reveal_duration, self.validation_duration,
                self.require_improvement, self.min_stake, self.block_reward, self.eval_set_hash,
                self.architecture_id)

    @classmethod
    def from_tuple(cls, t: tuple[Any, ...]) -> PoFLConfig:
        (threshold, tolerance, quorum, committee, commit_d, reveal_d, validation_d, improve, min_stake, reward,
         eval_hash, arch) = t
        return cls(threshold, bytes(eval_hash), bytes(arch), tolerance, quorum, committee, commit_d, reveal_d,
                   validation_d, improve, min_stake, reward)


@dataclass(frozen=True)
class ChainBlock:
    """One block of the PoFL chain, as stored by the contract."""

    height: int
    round: int
    miner: str
    accuracy_bps: int
    parent_hash: bytes
    block_hash: bytes
    cid: str

    @property
    def accuracy(self) -> float:
        return self.accuracy_bps / BPS

    @property
    def hash(self) -> bytes:
        """flexBlock's name for the block hash."""
        return self.block_hash

    def expected_hash(self) -> bytes:
        """keccak256(abi.encode(parentHash, round, miner, cid, accuracyBps)), as the contract computes it."""
        return Web3.keccak(abi_encode(["bytes32", "uint64", "address", "string", "uint16"],
                                      [self.parent_hash, self.round, self.miner, self.cid, self.accuracy_bps]))


@dataclass(frozen=True)
class RoundState:
    opened_at: int
    commit_deadline: int
    reveal_deadline: int
    validation_deadline: int
    commits: int
    reveals: int
    approvals: int
    rejections: int
    committee_n: int
    committee_k: int
    quorum: int
    phase: Phase
    candidate: str
    seed: int


@dataclass(frozen=True)
class ClaimState:
    commitment: bytes
    accuracy_bps: int
    revealed: bool
    eligible: bool
    rejected: bool
    cid: str


@dataclass(frozen=True)
class PhaseState:
    """The current round, its effective phase and that phase's deadline (0 = none)."""

    round: int
    phase: Phase
    deadline: int


@dataclass(frozen=True)
class MinerState:
    stake: int
    index: int
    registered: bool
    active: bool


def _build(cls: type, values: tuple[Any, ...]) -> Any:
    converted = []
    for f, v in zip(fields(cls), values, strict=True):
        if f.type == "Phase":
            v = Phase(v)
        elif f.type == "bytes":
            v = bytes(v)
        converted.append(v)
    return cls(*converted)


class PoFLContract:
    """A deployed PoFLConsensus."""

    def __init__(self, contract: Contract, artifact: dict[str, Any] | None = None, *,
                 estimate_gas: bool = True) -> None:
        self.contract = contract
        self.estimate_gas = estimate_gas  # False: commit/reveal/vote use GAS_LIMITS; reverts surface at wait()
        self.w3: Web3 = contract.w3
        self.address: str = contract.address
        self.artifact = artifact or load_artifact(CONTRACT_NAME)
        self.errors = ErrorDecoder(self.artifact["abi"])
        self._functions = contract.functions

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def deploy(cls, signer: LocalSigner, config: PoFLConfig, genesis_cid: str, *, reward_pool: int = 0,
               deployments_dir: Path | None = DEPLOYMENTS_DIR, settings: dict[str, Any] | None = None,
               ) -> tuple[PoFLContract, DeploymentRecord]:
        """Deploy with ``config``; ``reward_pool`` wei fund block rewards. Records the deployment (with the
        run's ``settings``, which miners read) in ``deployments_dir`` unless that is None."""
        artifact = load_artifact(CONTRACT_NAME)
        contract, record = deploy_contract(signer, artifact, [config.as_tuple(), genesis_cid], value=reward_pool,
                                           deployments_dir=deployments_dir, settings=settings)
        return cls(contract, artifact), record

    @classmethod
    def attach(cls, w3: Web3, address: str | None = None,
               deployments_dir: Path = DEPLOYMENTS_DIR) -> PoFLContract:
        """The contract at ``address``, or the one recorded for this chain; checks its code is there."""
        artifact = load_artifact(CONTRACT_NAME)
        return cls(attach(w3, artifact, address, deployments_dir), artifact)

    # ---------------------------------------------------------------- views

    def _view(self, name: str, *args: Any, at: str | int = "latest") -> Any:
        try:
            return getattr(self._functions, name)(*args).call(block_identifier=at)
        except REVERT_ERRORS as exc:
            raise_decoded(exc, self.errors, name)

    def config(self) -> PoFLConfig:
        return PoFLConfig.from_tuple(self._view("config"))

    def current_round(self) -> int:
        return int(self._view("currentRound"))

    def current_phase(self, at: str | int = "latest") -> PhaseState:
        """The effective phase as of block ``at``; ``"pending"`` asks at the node's own current time."""
        round_id, phase, deadline = self._view("currentPhase", at=at)
        return PhaseState(round_id, Phase(phase), deadline)

    def deadline_passed(self) -> bool:
        """Whether, at the node's current time, a deadline has moved the phase on without a transaction
        recording it yet (then anyone may call advance()). Uses the node's clock, never the local one."""
        return self.current_phase("pending") != self.current_phase("latest")

    def round_info(self, round_id: int) -> RoundState:
        return _build(RoundState, self._view("roundInfo", round_id))

    def claim_of(self, round_id: int, miner: str) -> ClaimState:
        return _build(ClaimState, self._view("claimOf", round_id, miner))

    def vote_of(self, round_id: int, claimant: str, validator: str) -> VoteKind:
        return VoteKind(self._view("voteOf", round_id, claimant, validator))

    def is_validator(self, round_id: int, miner: str) -> bool:
        return bool(self._view("isValidator", round_id, miner))

    def miner_info(self, account: str) -> MinerState:
        return MinerState(*self._view("minerInfo", account))

    def miners(self) -> list[str]:
        return list(self._view("miners"))

    def active_miner_count(self) -> int:
        return int(self._view("activeMinerCount"))

    def block_count(self) -> int:
        return int(self._view("blockCount"))

    def block_at(self, height: int) -> ChainBlock:
        return _build(ChainBlock, self._view("blockAt", height))

    def latest_block(self) -> ChainBlock:
        return _build(ChainBlock, self._view("latestBlock"))

    def blocks(self) -> list[ChainBlock]:
        return [self.block_at(h) for h in range(self.block_count())]

    def balances(self) -> dict[str, int]:
        """The contract's ETH and how it is owed: stakes, reward pool, credited rewards."""
        return {"balance": self.w3.eth.get_balance(self.address), "totalStaked": self._view("totalStaked"),
                "rewardPool": self._view("rewardPool"), "totalPendingRewards": self._view("totalPendingRewards")}

    def pending_rewards(self, account: str) -> int:
        return int(self._view("pendingRewards", account))

    def commitment(self, round_id: int, cid: str, accuracy_bps: int, salt: bytes, miner: str) -> bytes:
        """keccak256(abi.encode(round, cid, accuracyBps, salt, miner)), computed locally."""
        return Web3.keccak(abi_encode(["uint64", "string", "uint16", "bytes32", "address"],
                                      [round_id, cid, accuracy_bps, salt, miner]))

    @staticmethod
    def new_salt() -> bytes:
        return os.urandom(32)

    # -------------------------------------------------------------- actions

    def _send(self, signer: LocalSigner, name: str, *args: Any, value: int = 0) -> PendingTx:
        gas = None if self.estimate_gas else GAS_LIMITS.get(name)
        return send(signer, getattr(self._functions, name)(*args), self.errors, value=value, gas=gas, action=name)

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

    def reveal(self, signer: LocalSigner, round_id: int, cid: str, accuracy_bps: int, salt: bytes) -> PendingTx:
        return self._send(signer, "reveal", round_id, cid, accuracy_bps, salt)

    def vote(self, signer: LocalSigner, round_id: int, claimant: str, measured_bps: int) -> PendingTx:
        return self._send(signer, "vote", round_id, claimant, measured_bps)

    def advance(self, signer: LocalSigner) -> PendingTx:
        return self._send(signer, "advance")

    def finalize(self, signer: LocalSigner) -> PendingTx:
        return self._send(signer, "finalize")

    def set_phase_durations(self, signer: LocalSigner, commit: int, reveal: int, validation: int) -> PendingTx:
        return self._send(signer, "setPhaseDurations", commit, reveal, validation)

    def set_validation(self, signer: LocalSigner, tolerance_bps: int, quorum_bps: int,
                       committee_size: int) -> PendingTx:
        return self._send(signer, "setValidation", tolerance_bps, quorum_bps, committee_size)

    def set_block_reward(self, signer: LocalSigner, reward: int) -> PendingTx:
        return self._send(signer, "setBlockReward", reward)

    def transfer_ownership(self, signer: LocalSigner, new_owner: str) -> PendingTx:
        return self._send(signer, "transferOwnership", new_owner)

    # -------------------------------------------------------------- waiting

    def wait_for_phase(self, phases: set[Phase] | Phase, *, round_id: int | None = None, timeout: float = 300.0,
                       interval: float = 0.05) -> PhaseState:
        """Poll until the current phase is one of ``phases`` (and, if given, the round is ``round_id``),
        or the chain has moved past ``round_id``."""
        wanted = {phases} if isinstance(phases, Phase) else set(phases)

        def reached() -> PhaseState | None:
            state = self.current_phase()
            if round_id is not None and state.round > round_id:
                return state
            if state.phase in wanted and (round_id is None or state.round == round_id):
                return state
            return None

        return poll(reached, timeout, interval, f"phase {sorted(p.name for p in wanted)}")

    def events(self, name: str, from_block: int = 0, to_block: int | str = "latest") -> list[Any]:
        """Decoded logs of event ``name`` in a block range."""
        event = getattr(self.contract.events, name)
        return list(event.get_logs(from_block=from_block, to_block=to_block))

    def wait_for_event(self, name: str, from_block: int, timeout: float = 300.0, interval: float = 0.1) -> Any:
        """The first ``name`` event at or after ``from_block``, polling until ``timeout``."""
        return poll(lambda: self.events(name, from_block), timeout, interval, f"event {name}")[0]


def increase_time(w3: Web3, seconds: int) -> None:
    """Advance a devnet's clock by ``seconds`` and mine a block (Anvil, Hardhat: ``evm_increaseTime``)."""
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


