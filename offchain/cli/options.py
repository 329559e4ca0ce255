"""Options shared by several ``pofl`` commands."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import click

from offchain.cli.types import ADDRESS, PRIVATE_KEY

if TYPE_CHECKING:
    from offchain.chain.keys import KeySources

F = TypeVar("F", bound=Callable[..., object])


DEFAULT_OWNER_KEY_INDEX = 0


def rpc_url_option(required: bool = False) -> Callable[[F], F]:
    return click.option("--rpc-url", envvar="POFL_RPC_URL", required=required, default=None,
                        help="JSON-RPC URL of the chain (Anvil, Hardhat, any node) or 'eth-tester'. [env POFL_RPC_URL]")


def contract_option(help_text: str = "The PoFLConsensus address; default: this chain's recorded deployment.",
                    ) -> Callable[[F], F]:
    return click.option("--contract", "address", type=ADDRESS, default=None, help=help_text)


def _key_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """The key file's key is checked when the command line is parsed."""
    if value is not None:
        from offchain.chain.keys import read_key_file
        from offchain.errors import ConfigError

        try:
            read_key_file(value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc).removeprefix(f"--key-file {value}").lstrip(": "), ctx, param) from None
    return value


def key_options(help_text: str = "Private key that signs (0x-hex).") -> Callable[[F], F]:
    """``--key``, ``--key-file`` and ``--keystore``; ``POFL_KEY`` is read too (see offchain.chain.keys)."""
    def decorate(fn: F) -> F:
        for option in reversed([
            click.option("--key", type=PRIVATE_KEY, default=None,
                         help=f"{help_text} Visible in `ps`: prefer POFL_KEY, --key-file or --keystore off a devnet."),
            click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                         callback=_key_file, help="File holding the private key (0x-hex)."),
            click.option("--keystore", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                         help="Encrypted eth-account keystore; password from POFL_KEYSTORE_PASSWORD or a prompt."),
        ]):
            fn = option(fn)
        return fn
    return decorate


def key_sources(key: str | None, key_file: Path | None, keystore: Path | None,
                env_var: str | None = None) -> KeySources:
    """Where the command was given a key, each checked for form now, before anything starts: ``--key`` and
    ``--key-file`` were checked by their option types, the environment variable is checked here."""
    from offchain.chain.keys import KEY_ENV, KeySources, check_private_key

    env_var = env_var or KEY_ENV
    env_key = os.environ.get(env_var) or None
    if env_key is not None:
        env_key = check_private_key(env_key, env_var)
    return KeySources(keystore, key_file, env_key, key, env_name=env_var)


def signing_key(endpoint: Endpoint, chain_id: int, sources: KeySources, *,
                dev_key_index: int | None = DEFAULT_OWNER_KEY_INDEX) -> str:
    """The key a command signs with (offchain.chain.keys.resolve_key, with a password prompt and warnings)."""
    from offchain.chain.keys import resolve_key

    return resolve_key(sources, rpc_url=endpoint.url, chain_id=chain_id, started_here=endpoint.started_here,
                       dev_key_index=dev_key_index, password=lambda: click.prompt("keystore password", hide_input=True),
                       warn=lambda msg: click.echo(f"warning: {msg}", err=True))


class Endpoint(NamedTuple):
    """A chain RPC URL, and whether this process started the devnet behind it."""

    url: str
    started_here: bool = False


def echo_json(obj: Any) -> None:
    from offchain.cli.output import to_json

    click.echo(to_json(obj))
