"""The configurations of a PoFL run's learning, free of torch: the command line derives its options from
them (offchain.cli.config_options), so importing them must be quick (``pofl run --help``).

:class:`TrainConfig` and :class:`EngineConfig` are re-exported from their old homes,
:mod:`offchain.fl.training` and :mod:`offchain.fl.simulation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from offchain.options import setting

ARCHITECTURE_NAMES = ("cnn", "simplenet")
"""The built-in architectures (offchain.fl.models.ARCHITECTURES builds them)."""
AGGREGATORS = ("fedavg", "weighted", "median", "trimmed")
"""How a miner may aggregate its clients (offchain.fl.pool_trainer implements them)."""


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
    aggregator: str = setting("fedavg", "--aggregator", "How a miner averages its clients.", choices=AGGREGATORS)
    seed: int = setting(0, "--seed", "Seed of the federation, the client draws and the genesis model.")
    train: TrainConfig = field(default_factory=TrainConfig)
