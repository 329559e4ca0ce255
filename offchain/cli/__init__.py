"""The ``pofl`` command line."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from offchain.cli import chain_cmds


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """PoFL-chain: federated learning whose consensus is a smart contract."""


for command in chain_cmds.COMMANDS:
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``pofl`` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="pofl")


if __name__ == "__main__":
    main(sys.argv[1:])
