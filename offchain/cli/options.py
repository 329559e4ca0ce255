"""Options shared by several ``pofl`` commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


DEFAULT_OWNER_KEY_INDEX = 0


def rpc_url_option(required: bool = False) -> click.Option:
    return click.option("--rpc-url", envvar="POFL_RPC_URL", required=required, default=None,
                        help="JSON-RPC URL of the chain (Anvil, Hardhat, any node) or 'eth-tester'. [env POFL_RPC_URL]")


def key_options(help_text: str = "Private key that signs (0x-hex).") -> Callable[[F], F]:
    """``--key``, ``--key-file`` and ``--keystore``; ``POFL_KEY`` is read too (see offchain.chain.keys)."""
    def decorate(fn: F) -> F:
        for option in reversed([
            click.option("--key", default=None,
                         help=f"{help_text} Visible in `ps`: prefer POFL_KEY, --key-file or --keystore off a devnet."),
            click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                         help="File holding the private key (0x-hex)."),
            click.option("--keystore", type=click.Path(dir_okay=False, path_type=Path), default=None,
                         help="Encrypted eth-account keystore; password from POFL_KEYSTORE_PASSWORD or a prompt."),
        ]):
            fn = option(fn)
        return fn
    return decorate


def signing_key(endpoint: Endpoint, chain_id: int, key: str | None, key_file: Path | None, keystore: Path | None,
                *, dev_key_index: int | None = DEFAULT_OWNER_KEY_INDEX, env_var: str | None = None) -> str:
    """The key a command signs with (offchain.chain.keys.resolve_key, with a password prompt and warnings)."""
    import os

    from offchain.chain.keys import KEY_ENV, KeySources, resolve_key

    sources = KeySources(keystore, key_file, os.environ.get(env_var or KEY_ENV) or None, key)
    return resolve_key(sources, rpc_url=endpoint.url, chain_id=chain_id, started_here=endpoint.started_here,
                       dev_key_index=dev_key_index, password=lambda: click.prompt("keystore password", hide_input=True),
                       warn=lambda msg: click.echo(f"warning: {msg}", err=True))


class Endpoint(NamedTuple):
    """A chain RPC URL, and whether this process started the devnet behind it."""

    url: str
    started_here: bool = False


def _json_default(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


def echo_json(obj: object) -> None:
    import json

    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=_json_default))
