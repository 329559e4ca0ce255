"""Poisoned clients, for experiments and tests: they never run unless a run names them.

An attack is a composition of small components (one idea each), written ``labelflip+boost``:

- :class:`LabelFlip`: the client trains on labels mapped through a fixed permutation;
- :class:`Backdoor`: a pixel trigger stamped on a share of the client's images, relabelled to a
  target class; its success rate is measured on the triggered test set (:func:`triggered_test_set`);
- :class:`Boost`: KFC's model poisoning: the client's update is scaled by (clean + poisoned) /
  poisoned clients of its pool, so that it survives the pool's mean.

Data components transform the whole training set once (a poisoned client trains on the
poisoned copy of its samples); update components act on the trained client's update. An
:class:`AttackPlan` says which clients attack: a seeded share of all clients (``clients``), all
clients of a seeded share of miners (``miners``), or, every round, one drawn client of every
pool (``one_per_pool``, KFC's "one poisoned client per miner per round"). Everything is a pure
function of the run's seed, so the in-memory engine and every miner on a chain agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from offchain.errors import ConfigError
from offchain.fl.components import build, option_names
from offchain.fl.images import LabeledImages
from offchain.fl.names import ASSIGNMENTS as ASSIGNMENTS
from offchain.fl.names import ATTACK_CHOICES, check_assignment

ATTACK_STREAM = 0xA77AC  # mixed into the run's seed: attack draws are independent of client selection


class ClientAttack:
    """One component. ``poison_data`` maps the whole training set (uint8 ``(N, H, W)`` images and
    int64 labels) to its poisoned copy; ``poison_update`` maps one poisoned client's update. Every
    hook defaults to no change: a component overrides what it poisons."""

    name: ClassVar[str]
    changes_data: ClassVar[bool] = False

    def poison_data(self, images: torch.Tensor, labels: torch.Tensor, n_classes: int, seed: int,
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        return images, labels

    def poison_update(self, update: torch.Tensor, pool_size: int, poisoned_in_pool: int) -> torch.Tensor:
        return update

    def check(self, n_classes: int) -> None:
        """Raise ConfigError for a parameter that does not fit the data."""


@dataclass(frozen=True)
class LabelFlip(ClientAttack):
    name = "labelflip"
    changes_data = True
    permutation: tuple[int, ...] | None = field(
        default=None, metadata={"help": "label i is trained as permutation[i] (default: n_classes - 1 - i)"})

    def mapping(self, n_classes: int) -> torch.Tensor:
        return torch.tensor(self.permutation) if self.permutation is not None else torch.arange(n_classes - 1, -1, -1)

    def check(self, n_classes: int) -> None:
        if self.permutation is not None and sorted(self.permutation) != list(range(n_classes)):
            raise ConfigError(f"--attack labelflip: permutation must reorder 0..{n_classes - 1}, got "
                              f"{self.permutation}")

    def poison_data(self, images: torch.Tensor, labels: torch.Tensor, n_classes: int, seed: int,
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        return images, self.mapping(n_classes).to(labels.device)[labels]


@dataclass(frozen=True)
class Backdoor(ClientAttack):
    name = "backdoor"
    changes_data = True
    target: int = field(default=0, metadata={"help": "class the trigger maps to"})
    poison_fraction: float = field(default=0.5, metadata={"help": "share of the attacker's images triggered"})
    trigger_size: int = field(default=4, metadata={"help": "side of the white square, one pixel from the corner"})

    def check(self, n_classes: int) -> None:
        if not 0 <= self.target < n_classes or self.target != int(self.target):
            raise ConfigError(f"--attack backdoor: target must be a class in 0..{n_classes - 1}, got {self.target}")
        if not 0 < self.poison_fraction <= 1:
            raise ConfigError(f"--attack backdoor: poison_fraction must be in (0, 1], got {self.poison_fraction}")
        if not 1 <= self.trigger_size <= 8:
            raise ConfigError(f"--attack backdoor: trigger_size must be in 1..8, got {self.trigger_size}")

    def stamp(self, images: torch.Tensor) -> torch.Tensor:
        """A copy of ``images`` (..., H, W) with the trigger: a white square near the bottom-right corner."""
        s = int(self.trigger_size)
        out = images.clone()
        out[..., -s - 1:-1, -s - 1:-1] = 255
        return out

    def poison_data(self, images: torch.Tensor, labels: torch.Tensor, n_classes: int, seed: int,
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        chosen = torch.from_numpy(np.random.default_rng([seed, ATTACK_STREAM, 1]).random(len(labels))
                                  < self.poison_fraction).to(labels.device)
        images = torch.where(chosen[:, None, None], self.stamp(images), images)
        return images, torch.where(chosen, torch.full_like(labels, int(self.target)), labels)


@dataclass(frozen=True)
class Boost(ClientAttack):
    name = "boost"
    factor: float | None = field(default=None, metadata={
        "help": "update scale (default KFC's: the pool's clients / its poisoned clients)"})

    def check(self, n_classes: int) -> None:
        if self.factor is not None and not self.factor > 0:
            raise ConfigError(f"--attack boost: factor must be > 0, got {self.factor}")

    def poison_update(self, update: torch.Tensor, pool_size: int, poisoned_in_pool: int) -> torch.Tensor:
        return update * (self.factor if self.factor is not None else pool_size / poisoned_in_pool)


COMPONENTS: dict[str, type[ClientAttack]] = {cls.name: cls for cls in (LabelFlip, Backdoor, Boost)}


@dataclass(frozen=True)
class Attack:
    """Components applied in order (``labelflip+boost``: flipped labels, then a boosted update)."""

    components: tuple[ClientAttack, ...] = ()

    @property
    def changes_data(self) -> bool:
        return any(c.changes_data for c in self.components)

    @property
    def backdoor(self) -> Backdoor | None:
        return next((c for c in self.components if isinstance(c, Backdoor)), None)

    def poison_data(self, images: torch.Tensor, labels: torch.Tensor, n_classes: int, seed: int,
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        for c in self.components:
            images, labels = c.poison_data(images, labels, n_classes, seed)
        return images, labels

    def poison_update(self, update: torch.Tensor, pool_size: int, poisoned_in_pool: int) -> torch.Tensor:
        for c in self.components:
            update = c.poison_update(update, pool_size, poisoned_in_pool)
        return update

    def __str__(self) -> str:
        return "+".join(c.name for c in self.components) or "none"


def parse_attack(spec: str, options: Mapping[str, object] | None = None, n_classes: int = 10) -> Attack:
    """The attack ``spec`` ('none', a component, or components joined by '+'); each option goes to the
    component that has a field of its name."""
    names = [] if spec == "none" else spec.split("+")
    unknown = [n for n in names if n not in COMPONENTS]
    if unknown or len(set(names)) != len(names):
        raise ConfigError(f"--attack: unknown attack {spec!r}; choose 'none' or components joined by '+' from "
                          f"{', '.join(COMPONENTS)} (e.g. {', '.join(ATTACK_CHOICES[1:])})")
    options = dict(options or {})
    components = []
    for name in names:
        cls = COMPONENTS[name]
        components.append(build(cls, {k: options.pop(k) for k in option_names(cls) if k in options}))
    if options:
        offered = sorted({k for n in names for k in option_names(COMPONENTS[n])})
        raise ConfigError(f"--attack-option {sorted(options)[0]!r} does not apply to --attack {spec}: its options "
                          f"are {', '.join(offered) or 'none'}")
    for c in components:
        c.check(n_classes)
    return Attack(tuple(components))


@dataclass(frozen=True)
class AttackPlan:
    """Which clients attack, and how. ``static`` marks the clients of the ``clients``/``miners``
    assignments (drawn once, from the run's seed and the run's client-to-miner assignment)."""

    attack: Attack
    assignment: str
    seed: int
    static: np.ndarray  # bool (n_clients,)

    def poisoned(self, selected: np.ndarray, owners: np.ndarray) -> np.ndarray:
        """Which of the ``selected`` clients (owned by ``owners``, one per selected client) are poisoned."""
        if self.assignment != "one_per_pool":
            return self.static[selected]
        mask = np.zeros(len(selected), dtype=bool)
        for miner in np.unique(owners):
            rows = np.flatnonzero(owners == miner)
            # seeded by the pool's own clients: a miner's process and the whole-run trainer agree
            rng = np.random.default_rng([self.seed, ATTACK_STREAM, 2, *selected[rows].tolist()])
            mask[rng.choice(rows)] = True
        return mask


def make_plan(attack: Attack, assignment: str, fraction: float, seed: int, owners: np.ndarray) -> AttackPlan | None:
    """The plan for ``attack`` over clients owned by ``owners`` (miner of every client); None for no attack."""
    check_assignment(assignment, fraction)
    if not attack.components:
        return None
    static = np.zeros(len(owners), dtype=bool)
    if assignment == "clients":
        rng = np.random.default_rng([seed, ATTACK_STREAM, 0])
        static[rng.choice(len(owners), size=round(fraction * len(owners)), replace=False)] = True
    elif assignment == "miners":
        static = np.isin(owners, compromised_miners(owners, fraction, seed))
    return AttackPlan(attack, assignment, seed, static)


def compromised_miners(owners: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """The miners whose every client attacks under the ``miners`` assignment: ``round(fraction * m)`` of the
    ``m`` miners that own clients (``owners``: the miner of every client, -1 for none), drawn from the run's
    seed, sorted. ``fraction`` 0 draws none and 1 all of them."""
    check_assignment("miners", fraction)
    miners = np.unique(owners[owners >= 0])
    rng = np.random.default_rng([seed, ATTACK_STREAM, 0])
    return np.sort(rng.choice(miners, size=round(fraction * len(miners)), replace=False))


def poisoned_copy(attack: Attack, images: torch.Tensor, labels: torch.Tensor, seed: int,
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The training set as the attackers hold it: ``images`` (N, D) flattened square images."""
    side = round(images.shape[1] ** 0.5)
    n_classes = int(labels.max()) + 1
    poisoned, new_labels = attack.poison_data(images.reshape(len(images), side, side), labels, n_classes, seed)
    return poisoned.reshape(len(images), -1), new_labels


def triggered_test_set(eval_set: LabeledImages, backdoor: Backdoor) -> LabeledImages:
    """The test images not of the target class, with the trigger, labelled as the target: accuracy
    on it is the backdoor's success rate."""
    keep = eval_set.labels != backdoor.target
    images = backdoor.stamp(torch.from_numpy(eval_set.images[keep].copy())).numpy()
    return LabeledImages(images, np.full(int(keep.sum()), int(backdoor.target), dtype=np.int64))
