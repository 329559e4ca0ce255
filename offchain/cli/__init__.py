"""The ``pofl`` command line."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from offchain.cli import chain_cmds, run_cmds, store_cmds


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors whose message already says what went wrong and what to do: shown without a traceback."""
    from offchain.chain.connect import ChainConnectionError
    from offchain.chain.deploy import DeploymentError
    from offchain.chain.errors import ContractRevert
    from offchain.fl.data import DataIntegrityError
    from offchain.procs import LauncherError
    from offchain.store.base import StoreError
    from offchain.store.cid import MalformedCid
    from offchain.store.model_bytes import ModelFormatError

    return (ChainConnectionError, DeploymentError, ContractRevert, DataIntegrityError, LauncherError, StoreError,
            MalformedCid, ModelFormatError, TimeoutError)


class PoflGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _user_errors() as exc:
            raise click.ClickException(f"{exc.__class__.__name__}: {exc}") from None


@click.group(cls=PoflGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """PoFL-chain: federated learning whose consensus is a smart contract."""


for command in [*chain_cmds.COMMANDS, *store_cmds.COMMANDS, *run_cmds.COMMANDS]:
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``pofl`` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="pofl")


if __name__ == "__main__":
    main(sys.argv[1:])
