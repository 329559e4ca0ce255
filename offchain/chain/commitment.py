"""A miner's sealed claim: what it commits to in a round, and the secret salt that seals it."""

from __future__ import annotations

from dataclasses import dataclass, field

from offchain.chain.consensus import PoFLContract


@dataclass(frozen=True)
class SealedClaim:
    """A miner's claim for one round and the secret salt that seals its commitment."""

    round_id: int
    cid: str
    accuracy_bps: int
    salt: bytes = field(default_factory=PoFLContract.new_salt, repr=False)
    blind: bool = False  # hold-out mode: the commitment binds the model only (accuracy 0)
    parent_bps: int = 0  # hold-out mode: the head block's accuracy on the round's shard, declared at the reveal

    def commitment(self, miner: str) -> bytes:
        committed_bps = 0 if self.blind else self.accuracy_bps
        return PoFLContract.commitment(self.round_id, self.cid, committed_bps, self.salt, miner)
