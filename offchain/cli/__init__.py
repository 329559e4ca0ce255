"""The ``pofl`` command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from offchain.cli import chain_cmds, run_cmds, store_cmds


def _debug_requested() -> bool:
    return os.environ.get("POFL_DEBUG", "") not in ("", "0", "false")


class PoflGroup(click.Group):
    """Turns every :class:`~offchain.errors.PoflError` into one line naming what was wrong and what
    to do (exit 1); ``--debug`` or ``POFL_DEBUG=1`` shows the traceback instead."""

    def invoke(self, ctx: click.Context) -> Any:
        from offchain.errors import PoflError

        try:
            return super().invoke(ctx)
        except PoflError as exc:
            if ctx.meta.get("pofl.debug") or _debug_requested():
                raise
            error = click.ClickException(f"{exc.__class__.__name__}: {exc}")
            error.exit_code = exc.exit_code
            raise error from None


@click.group(cls=PoflGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks of errors (also POFL_DEBUG=1).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """PoFL-chain: federated learning whose consensus is a smart contract."""
    ctx.meta["pofl.debug"] = debug


for command in [*chain_cmds.COMMANDS, *store_cmds.COMMANDS, *run_cmds.COMMANDS]:
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``pofl`` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="pofl")


if __name__ == "__main__":
    main(sys.argv[1:])
