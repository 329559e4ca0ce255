"""What a miner claims: the sealed claim it commits to, and the policy that chooses it; and, in the scaled mode,
what it reports of others' claims.

An honest miner claims the model it holds at the accuracy it measured itself
(:class:`HonestClaims`, the default everywhere) and reports what it measured (:class:`HonestReports`). Tests,
benchmarks and demos inject another :class:`ClaimPolicy` or :class:`ReportPolicy` to play an attacker — an
inflated accuracy, a CID nobody can fetch, a header bomb, a coalition of misreporting seats — through the same
round driver, so the production path has no cheating branch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from offchain.chain.commitment import SealedClaim
from offchain.chain.types import to_bps


@dataclass(frozen=True)
class HeldModel:
    """The model a miner would claim: its CID and the accuracy the miner measured itself."""

    position: int
    cid: str
    accuracy: float


class ClaimPolicy(Protocol):
    def claim(self, round_id: int, model: HeldModel) -> SealedClaim:
        """The claim the miner at ``model.position`` commits to in ``round_id``."""
        ...


class HonestClaims:
    """Claim the held model at the accuracy this miner measured itself."""

    def claim(self, round_id: int, model: HeldModel) -> SealedClaim:
        return SealedClaim(round_id, model.cid, to_bps(model.accuracy))


@dataclass(frozen=True)
class InflatedClaims:
    """Miners at ``positions`` claim ``accuracy`` for their real model (a false claim); others are honest."""

    positions: frozenset[int]
    accuracy: float = 0.99

    def claim(self, round_id: int, model: HeldModel) -> SealedClaim:
        if model.position in self.positions:
            return SealedClaim(round_id, model.cid, to_bps(self.accuracy))
        return HonestClaims().claim(round_id, model)


@dataclass(frozen=True)
class ForgedClaims:
    """Miners at ``positions`` (all, if None) claim ``cid_for(round)`` — a CID nobody holds, another model's
    bytes, a header bomb — at ``accuracy``, whatever they trained; the others are honest. An attacker for
    tests and benchmarks."""

    cid_for: Callable[[int], str]
    accuracy: float = 1.0
    positions: frozenset[int] | None = None

    def claim(self, round_id: int, model: HeldModel) -> SealedClaim:
        if self.positions is None or model.position in self.positions:
            return SealedClaim(round_id, self.cid_for(round_id), to_bps(self.accuracy))
        return HonestClaims().claim(round_id, model)


class ReportPolicy(Protocol):
    def report(self, position: int, claimant: str, measured_bps: int | None) -> int | None:
        """What the local miner at ``position``, sitting on a committee or a jury, reports for ``claimant``'s
        claim, having measured it at ``measured_bps`` (None: it could not fetch it). None: no report."""
        ...


class HonestReports:
    """Report what this miner measured."""

    def report(self, position: int, claimant: str, measured_bps: int | None) -> int | None:
        return measured_bps


@dataclass(frozen=True)
class Misreporting:
    """Miners at ``positions`` report ``report_bps`` for the claims of ``claimants``, whatever they measured (a
    coalition that vouches for a false claim, or under-reports an honest one); others, and other claims, honest.
    An attacker for tests and benchmarks."""

    positions: frozenset[int]
    claimants: frozenset[str]
    report_bps: int

    def report(self, position: int, claimant: str, measured_bps: int | None) -> int | None:
        if position in self.positions and claimant in self.claimants:
            return self.report_bps
        return measured_bps
