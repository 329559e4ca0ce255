"""The names of what the engine implements (architectures, aggregators, attacks), free of torch.

The command line offers these as choices without importing torch (``pofl run --help`` answers at once);
a test checks them against the implementations (:mod:`offchain.fl.architectures`,
:mod:`offchain.fl.aggregation`, :mod:`offchain.fl.attacks`).
"""

from __future__ import annotations

from offchain.errors import ConfigError

ARCHITECTURE_NAMES = ("cnn", "simplenet")
"""The built-in architectures (offchain.fl.architectures.ARCHITECTURES builds them)."""
AGGREGATOR_NAMES = ("fedavg", "weighted", "median", "trimmed", "krum", "multikrum", "clip")
"""How a miner may aggregate its clients (offchain.fl.aggregation.AGGREGATORS implements them, in this order)."""
ATTACK_COMPONENTS = ("labelflip", "backdoor", "boost")
"""The client attacks (offchain.fl.attacks.COMPONENTS implements them, in this order)."""
ATTACK_CHOICES = ("none", *ATTACK_COMPONENTS, "labelflip+boost", "backdoor+boost")
"""The names the command line offers; any ``+``-composition of the components is accepted."""
ASSIGNMENTS = ("clients", "miners", "one_per_pool")
"""Who attacks: a share of all clients, all clients of a share of miners, or one drawn client of every pool."""


def check_assignment(assignment: str, fraction: float) -> None:
    if assignment not in ASSIGNMENTS:
        raise ConfigError(f"--attack-assignment: unknown assignment {assignment!r}; choose one of "
                          f"{', '.join(ASSIGNMENTS)}")
    if not 0 <= fraction <= 1:
        raise ConfigError(f"--attack-fraction must be in [0, 1], got {fraction}")
