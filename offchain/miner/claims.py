"""What a miner claims: the sealed claim it commits to, and the policy that chooses it.

An honest miner claims the model it holds at the accuracy it measured itself
(:class:`HonestClaims`, the default everywhere). Tests, benchmarks and demos inject another
:class:`ClaimPolicy` to play an attacker — an inflated accuracy, a CID nobody can fetch, a
header bomb — through the same round driver, so the production path has no cheating branch.
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
