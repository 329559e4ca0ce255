"""The configurations of a PoFL run's learning, free of torch: the command line derives its options from
them (offchain.cli.options), so importing them must be quick (``pofl run --help``).

:class:`TrainConfig` and :class:`EngineConfig` are re-exported from their old homes,
:mod:`offchain.fl.training` and :mod:`offchain.fl.simulation`. The names of what the torch modules
implement (architectures, pool aggregators, attacks) are kept here as constants, and a test checks
them against the implementations; so are the pure checks of the settings. Checks that need an
implementation (an aggregator's or an attack's parameters) import it only when such a parameter is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from offchain.errors import ConfigError
from offchain.fl.names import AGGREGATOR_NAMES, ARCHITECTURE_NAMES, ASSIGNMENTS, ATTACK_CHOICES, check_assignment
from offchain.fl.targets import TARGET_SCHEDULES, block_target
from offchain.settings import mapping_setting, setting

BLOCK_MOMENTUM = 0.5
"""The default look-ahead along the last block delta, chosen by measurement (README, "Learning raise")."""


def check_block_momentum(beta: float) -> None:
    if not 0 <= beta < 1:
        raise ConfigError(f"--block-momentum must be in [0, 1), got {beta}")


def check_aggregator(name: str, options: Mapping[str, float]) -> None:
    """ConfigError unless ``name`` is an aggregator taking ``options`` (checked by building it, which imports
    torch, only when there are options)."""
    if options or name not in AGGREGATOR_NAMES:
        from offchain.fl.aggregation import make_aggregator

        make_aggregator(name, options)


def check_attack(spec: str, options: Mapping[str, float]) -> None:
    """ConfigError unless ``spec`` is an attack taking ``options`` (checked by parsing it, which imports torch,
    only for an attack other than 'none')."""
    if spec != "none" or options:
        from offchain.fl.attacks import parse_attack

        parse_attack(spec, options)


@dataclass(frozen=True)
class TrainConfig:
    """A client's local training: Adam, as in the flexBlock notebook."""

    lr: float = setting(1e-3, "--lr", "Adam's learning rate.")
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    batch_size: int = setting(20, "--batch-size", "Local mini-batch size.")
    epochs: int = setting(1, "--epochs", "Local epochs per round.")


@dataclass(frozen=True)
class EngineConfig:
    """The rules of a PoFL run's learning (the flexBlock notebook's values by default)."""

    n_miners: int = setting(10, "--miners", "Number of miners.")
    clients_per_round: int = setting(20, "--clients-per-round",
                                     "Clients drawn from all clients each round (the notebook's select(20)).")
    threshold: float = setting(0.6, "--threshold", "Accuracy a block must reach (default: --until-accuracy, else 0.6).")
    require_improvement: bool = setting(True, "--no-improvement",
                                        "flexBlock's rule: blocks need not beat their parent.", flag_off=True)
    architecture: str = setting("simplenet", "--architecture", "Model architecture.",
                                choices=ARCHITECTURE_NAMES)
    aggregator: str = setting("fedavg", "--aggregator", "How a miner averages its clients.",
                              choices=AGGREGATOR_NAMES)
    seed: int = setting(0, "--seed", "Seed of the federation, the client draws and the genesis model.")
    train: TrainConfig = field(default_factory=TrainConfig)
    aggregator_options: Mapping[str, float] = mapping_setting(
        "--aggregator-option", "Aggregator parameter, NAME=NUMBER (trimmed: beta; krum: f; multikrum: f, m; clip: "
                               "max_norm).")
    attack: str = setting("none", "--attack", "Poisoned clients, for experiments: none, or components joined by '+'.",
                          choices=ATTACK_CHOICES)
    attack_assignment: str = setting("clients", "--attack-assignment",
                                     "Who attacks: a share of all clients, all clients of a share of miners, or one "
                                     "drawn client of every pool each round (KFC).", choices=ASSIGNMENTS)
    attack_fraction: float = setting(0.3, "--attack-fraction",
                                     "Share of clients (clients) or of miners (miners) that attack.")
    attack_options: Mapping[str, float] = mapping_setting(
        "--attack-option", "Attack parameter, NAME=NUMBER (backdoor: target, poison_fraction, trigger_size; boost: "
                           "factor).")
    target_schedule: str = setting("fixed", "--target-schedule",
                                   "The accuracy a block must reach: the fixed threshold, or KFC's a + 0.1 (1 - a) "
                                   "after each block.", choices=TARGET_SCHEDULES)
    block_momentum: float = setting(BLOCK_MOMENTUM, "--block-momentum",
                                    "Clients start from the miner's model plus this times the last block delta "
                                    "(0: off).")

    def __post_init__(self) -> None:
        """Refuse a bad option at once, with a ConfigError naming the option and its valid values."""
        check_aggregator(self.aggregator, self.aggregator_options)
        check_attack(self.attack, self.attack_options)
        check_assignment(self.attack_assignment, self.attack_fraction)
        block_target(self.target_schedule, self.threshold, None)
        check_block_momentum(self.block_momentum)
