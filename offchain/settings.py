"""Dataclass fields that also describe their command-line option.

A configuration dataclass (:class:`~offchain.miner.run_config.RunConfig` and the engine and
training configurations it holds) declares each user-facing setting once, with
:func:`setting`; the command line derives its options from those declarations
(:mod:`offchain.cli.options`), so a setting's name, default, help and allowed values
cannot drift apart between the library and the CLI.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any


def setting(default: Any, cli: str, help: str, *, choices: tuple[str, ...] | None = None,
            flag_off: bool = False) -> Any:
    """A dataclass field with default ``default``, exposed as the option ``cli``.

    ``choices`` restricts the values; ``flag_off`` makes a boolean setting a flag that turns it off
    (``--no-improvement`` for ``require_improvement``).
    """
    metadata = {"cli": cli, "help": help, "choices": choices, "flag_off": flag_off}
    if callable(default) and isinstance(default, type):
        return field(default_factory=default, metadata=metadata)
    return field(default=default, metadata=metadata)


def mapping_setting(cli: str, help: str) -> Any:
    """A dataclass field of ``NAME -> number`` parameters (empty by default), exposed as the repeatable option
    ``cli NAME=NUMBER``."""
    return field(default_factory=dict, metadata={"cli": cli, "help": help, "choices": None, "flag_off": False,
                                                 "mapping": True})
