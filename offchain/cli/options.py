"""Options shared by several ``pofl`` commands."""

from __future__ import annotations

import click

from offchain.devnet import DEV_CHAIN_ID

DEFAULT_OWNER_KEY_INDEX = 0


def rpc_url_option(required: bool = False) -> click.Option:
    return click.option("--rpc-url", envvar="POFL_RPC_URL", required=required, default=None,
                        help="JSON-RPC URL of the chain (Anvil, Hardhat, any node) or 'eth-tester'. [env POFL_RPC_URL]")


def key_option(help_text: str = "Private key that signs (0x-hex).") -> click.Option:
    return click.option("--key", envvar="POFL_KEY", default=None, help=f"{help_text} [env POFL_KEY]")


def resolve_key(key: str | None, chain_id: int, index: int = DEFAULT_OWNER_KEY_INDEX) -> str:
    """The given key, or on a local devnet (chain 31337) the dev mnemonic's account ``index``."""
    from offchain.chain.accounts import dev_key

    if key:
        return key
    if chain_id == DEV_CHAIN_ID:
        return dev_key(index)
    raise click.UsageError(f"--key (or POFL_KEY) is required on chain {chain_id}; dev keys only exist on 31337")


def _json_default(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


def echo_json(obj: object) -> None:
    import json

    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=_json_default))
