"""What one round was, as a round driver saw it: the record every report is made of."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RoundRecord:
    round: int
    block_height: int | None  # height of the block this round made, None if the round failed
    winner: int | None  # miner index of the block's miner
    claimed_accuracy: float | None
    validated_accuracy: float | None  # mean of the committee's own measurements of the winning model
    cid: str | None
    chain_accuracy: float  # the chain head's accuracy after the round, as recorded (0 for the unscored genesis)
    miner_accuracies: dict[int, float]  # accuracy each miner measured of its own model this round
    rejected: list[int] = field(default_factory=list)  # miners whose claims the committee rejected
    gas_used: int = 0
    clients_trained: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    validations: int = 0  # candidate re-evaluations by this process's committee members (each its own fetch)
    chain_height: int | None = None  # the chain head's height after the round
