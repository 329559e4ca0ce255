"""The ``pofl`` command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from offchain.cli import chain_cmds, holdout_cmds, run_cmds, server_cmds, store_cmds, watch_cmds
from offchain.cli.interrupts import INTERRUPTED, Interrupts, exit_now
from offchain.cli.output import DEBUG, NORMAL, QUIET, VERBOSE, configure_logging, verbosity_options

ENVIRONMENT = """\b
Environment:
  POFL_RPC_URL            --rpc-url of every command
  POFL_IPFS_API           --ipfs-api of every command
  POFL_KEY                the signing key (0x-hex) of deploy, run and miner
  POFL_KEYSTORE_PASSWORD  the password of --keystore (else a prompt)
  POFL_DEPLOYMENTS        where deployment records live (default ./deployments)
  POFL_DEBUG=1            show tracebacks (as --debug)
  POFL_DEVICE             torch device for training and evaluation (default cuda if available)
  POFL_ANVIL, POFL_SOLC   the anvil and solc binaries to use
  POFL_ROOT, POFL_NODE_MODULES   the checkout and its node_modules, for installs outside a checkout
"""


def _debug_requested() -> bool:
    return os.environ.get("POFL_DEBUG", "") not in ("", "0", "false")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pofl-chain")
    except PackageNotFoundError:
        return "0+unknown"


class PoflGroup(click.Group):
    """Every error is one line on stderr: a :class:`~offchain.errors.PoflError` names what was wrong and
    what to do (exit 1; usage errors 2), a usage error names the option (exit 2). ``--debug`` or
    ``POFL_DEBUG=1`` shows the traceback of a PoflError instead."""

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

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        Interrupts().install()
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"Error: {' '.join(exc.format_message().split())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("Aborted.", err=True)
            exit_now(INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=PoflGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=ENVIRONMENT)
@click.version_option(version=None, package_name="pofl-chain", prog_name="pofl", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors (also POFL_DEBUG=1).")
@click.option("-v", "--verbose", count=True, help="More log lines on stderr (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only results and errors: no progress or notes on stderr.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int, quiet: bool) -> None:
    """PoFL-chain: federated learning whose consensus is a smart contract.

    A session on a local devnet:

    \b
      pofl devnet                      # terminal 1: a chain (prints its accounts and keys)
      pofl ipfs                        # terminal 2: an IPFS node
      pofl deploy --rpc-url http://127.0.0.1:8545 --ipfs-api /ip4/127.0.0.1/tcp/5001/http --miners 3 \\
                  --min-committee 2
      pofl miner --clients 0/3 ...     # one per miner (see the README's walkthrough)
    """
    if quiet and verbose:
        raise click.UsageError("-q and -v contradict each other: give one of them")
    ctx.meta["pofl.debug"] = debug
    ctx.meta["pofl.verbosity"] = QUIET if quiet else {0: NORMAL, 1: VERBOSE}.get(verbose, DEBUG)
    configure_logging(ctx.meta["pofl.verbosity"])


def _with_verbosity(command: click.Command) -> click.Command:
    """``command`` (and a group's subcommands) taking -v/-vv/-q too."""
    verbosity_options(command)
    for sub in getattr(command, "commands", {}).values():
        _with_verbosity(sub)
    return command


for command in [*chain_cmds.COMMANDS, *holdout_cmds.COMMANDS, *server_cmds.COMMANDS, *store_cmds.COMMANDS,
                *run_cmds.COMMANDS, *watch_cmds.COMMANDS]:
    cli.add_command(_with_verbosity(command))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``pofl`` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="pofl")


if __name__ == "__main__":
    main(sys.argv[1:])
