"""The consensus contract's types on this side: its enums, its structs as dataclasses, basis points.

Every enum mirrors ``IPoFLConsensus``'s, value for value (tests/contract checks them against the ABI);
every struct is a dataclass whose fields are the ABI's component names in snake case
(``accuracyBps`` -> ``accuracy_bps``): :func:`decode_struct` builds one by name, never by position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, TypeVar

from eth_abi import encode as abi_encode
from web3 import Web3

from offchain.errors import PoflValueError
from offchain.store.cid import CidKind, cid_from_digest

BPS = 10_000
"""Basis points in 1.0."""

T = TypeVar("T")


class Phase(IntEnum):
    """``IPoFLConsensus.Phase``: a round's phases, in order (``FINALIZE``: anyone may call finalize())."""

    COMMIT, REVEAL, VALIDATION, FINALIZE = range(4)


class ClaimStatus(IntEnum):
    """``IPoFLConsensus.ClaimStatus``: where a claim stands (its NatSpec says what each means)."""

    NONE, COMMITTED, REVEALED, ACCEPTED, REJECTED, NO_QUORUM, UNIMPROVED, DISPUTED, UNAVAILABLE = range(9)


SHARD_UNOPENED_BPS = 0xFFFF
"""The ``parentBps`` a hold-out reveal declares when the round's shard does not open with its revealed key
(``PoFLStorage.SHARD_UNOPENED``): revealers holding more than half the stake saying so fail a round without a
block as ``ShardUnopened``, and the requester's bond pays its committers."""

UNAVAILABLE_BPS = 0xFFFE
"""The ``measuredBps`` a seat reports for a candidate it could not fetch (``PoFLStorage.UNAVAILABLE``): accepted
only from the fetch deadline on (the committee's draw plus half the validation window), never penalized; a third
of the seats reporting it makes the claim ``UNAVAILABLE`` and the claimant pays."""


class FailReason(IntEnum):
    """``IPoFLConsensus.FailReason``: why a round ended without a block."""

    NO_ELIGIBLE_CLAIM, NO_COMMITTEE, NO_ACCEPTED_CLAIM, KEY_MISSING, NOT_INDEPENDENT, SHARD_UNOPENED = range(6)


class PenaltyReason(IntEnum):
    """``IPoFLConsensus.PenaltyReason``: why stake was taken."""

    FALSE_CLAIM, MISREPORT, MISSED_REVEAL, MISSED_VOTE, UNSERVED_CLAIM = range(5)


class ConfigField(IntEnum):
    """``IPoFLConsensus.ConfigField``: the configuration value a ``PoFLInvalidConfig`` error names."""

    (THRESHOLD_BPS, TOLERANCE_BPS, QUORUM_BPS, COMMITTEE_SIZE, MIN_COMMITTEE, DURATION, SEED_LOOKAHEAD, MIN_STAKE,
     MISS_BOND, MISREPORT_PENALTY_BPS, EVAL_SET_HASH, ARCHITECTURE_ID, HOLDOUT, COMMIT_GRACE) = range(14)


# Solidity enum name -> the IntEnum its values decode to (struct fields, error arguments, events).
ENUMS: dict[str, type[IntEnum]] = {"Phase": Phase, "CidKind": CidKind, "ClaimStatus": ClaimStatus,
                                   "FailReason": FailReason, "PenaltyReason": PenaltyReason,
                                   "ConfigField": ConfigField}


def fetch_deadline(validation_deadline: int, validation_duration: int) -> int:
    """The chain time from which a seat may report a candidate ``UNAVAILABLE_BPS``: the committee's draw plus half
    the validation window (as ``PoFLConsensus.vote`` computes it from the validation's deadline)."""
    return validation_deadline - validation_duration // 2


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
    commit_grace: int = 0


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
class RoundInfo:
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
class Claim:
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
class MinerInfo:
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


def snake_case(name: str) -> str:
    """``accuracyBps`` -> ``accuracy_bps``: how ABI component names become dataclass fields."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _from_abi(component: dict[str, Any], value: Any, enums: Mapping[str, type[IntEnum]]) -> Any:
    internal = str(component.get("internalType", ""))
    if internal.startswith("enum "):
        return enums[internal.rsplit(".", 1)[-1]](value)
    if component["type"].startswith("bytes"):
        return bytes(value)
    return value


def decode_struct(cls: type[T], components: list[dict[str, Any]], values: tuple[Any, ...],
                  enums: Mapping[str, type[IntEnum]] | None = None) -> T:
    """Build dataclass ``cls`` from an ABI tuple, each value placed by its component's name; an enum component
    becomes its member of ``enums`` (by the enum's name; default: PoFLConsensus's, :data:`ENUMS`)."""
    enums = ENUMS if enums is None else enums
    by_name = {snake_case(c["name"]): _from_abi(c, v, enums) for c, v in zip(components, values, strict=True)}
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if by_name.keys() != names:
        raise PoflValueError(f"{cls.__name__} does not match the ABI: {sorted(by_name.keys() ^ names)}")
    return cls(**by_name)


def encode_struct(value: Any, components: list[dict[str, Any]]) -> tuple[Any, ...]:
    """The ABI tuple of dataclass ``value``, each component taken from the field of its name."""
    return tuple(getattr(value, snake_case(c["name"])) for c in components)
