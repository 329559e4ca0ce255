"""flexBlock's ``PoolConfig``: when the miners gossip their clients' weights and when they aggregate.

Both of flexBlock's spellings are accepted: 0.0.1's ``gossip_before_agg`` / ``aggregate_before_agg`` and its
repository head's ``gossip_before_consensus`` / ``aggregate_before_consensus`` (the fields; the old names read
them too).
"""

from __future__ import annotations

from dataclasses import dataclass

from offchain.errors import PoflValueError


@dataclass(frozen=True, init=False)
class PoolConfig:
    """``gossip_before_consensus``: every miner receives every miner's client weights before the consensus;
    ``gossip_on_agg``: otherwise the selected miner receives them after it; ``aggregate_before_consensus``:
    miners average their weights into their models before the consensus (flexBlock's PoFL)."""

    gossip_before_consensus: bool
    gossip_on_agg: bool
    aggregate_before_consensus: bool

    def __init__(self, gossip_before_consensus: bool | None = None, gossip_on_agg: bool = True,
                 aggregate_before_consensus: bool | None = None, *, gossip_before_agg: bool | None = None,
                 aggregate_before_agg: bool | None = None) -> None:
        if gossip_before_consensus is not None and gossip_before_agg is not None:
            raise PoflValueError("PoolConfig: give gossip_before_consensus or gossip_before_agg (its 0.0.1 name), "
                                 "not both")
        if aggregate_before_consensus is not None and aggregate_before_agg is not None:
            raise PoflValueError("PoolConfig: give aggregate_before_consensus or aggregate_before_agg (its 0.0.1 "
                                 "name), not both")
        gossip = next((v for v in (gossip_before_consensus, gossip_before_agg) if v is not None), True)
        aggregate = next((v for v in (aggregate_before_consensus, aggregate_before_agg) if v is not None), False)
        object.__setattr__(self, "gossip_before_consensus", bool(gossip))
        object.__setattr__(self, "gossip_on_agg", bool(gossip_on_agg))
        object.__setattr__(self, "aggregate_before_consensus", bool(aggregate))

    @property
    def gossip_before_agg(self) -> bool:
        """flexBlock 0.0.1's name of ``gossip_before_consensus``."""
        return self.gossip_before_consensus

    @property
    def aggregate_before_agg(self) -> bool:
        """flexBlock 0.0.1's name of ``aggregate_before_consensus``."""
        return self.aggregate_before_consensus

    @property
    def gossips(self) -> bool:
        """Whether the block's model averages every miner's client weights (gossip before or on aggregation)."""
        return self.gossip_before_consensus or self.gossip_on_agg
