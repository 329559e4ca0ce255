"""The accuracy a block must reach: fixed, or KFC's rising target.

KFC (arXiv 2502.06917) raises the target after each block: with ``a`` the accuracy of the
newest block, the next one must reach ``a + 0.1 * (1 - a)`` — a tenth of the remaining error
closed per block. Pure functions: the engine applies them, and a consensus contract that
records the schedule computes the same value from its head block.
"""

from __future__ import annotations

from offchain.errors import ConfigError

TARGET_SCHEDULES = ("fixed", "kfc")
KFC_STEP = 0.1


def kfc_target(accuracy: float, step: float = KFC_STEP) -> float:
    """KFC's target after a block of ``accuracy``: ``a + step * (1 - a)``."""
    return accuracy + step * (1.0 - accuracy)


def block_target(schedule: str, threshold: float, head_accuracy: float | None) -> float:
    """The accuracy the next block must reach under ``schedule``, given the deployed ``threshold`` and the
    newest block's accuracy (None while only genesis exists). KFC's target never falls below ``threshold``."""
    if schedule not in TARGET_SCHEDULES:
        raise ConfigError(f"--target-schedule: unknown schedule {schedule!r}; choose one of "
                          f"{', '.join(TARGET_SCHEDULES)}")
    if schedule == "fixed" or head_accuracy is None:
        return threshold
    return max(threshold, kfc_target(head_accuracy))
