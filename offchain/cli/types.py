"""Click parameter types that check a value's form when the command line is parsed, before any server
starts or any transaction is sent: a bad value is a one-line usage error naming the option (exit 2).

They import nothing heavy: ``pofl CMD --help`` stays fast.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from offchain.errors import ConfigError

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class PrivateKeyType(click.ParamType):
    """A secp256k1 private key as 64 hex digits (0x optional); the value is never echoed back."""

    name = "KEY"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from offchain.chain.keys import check_private_key

        try:
            return check_private_key(str(value), "the key")
        except ConfigError as exc:
            self.fail(str(exc).removeprefix("the key "), param, ctx)


class AddressType(click.ParamType):
    """An Ethereum address: 0x and 40 hex digits (any case)."""

    name = "ADDRESS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not _ADDRESS.match(text):
            self.fail(f"{text!r} is not an address: expected 0x and 40 hex digits", param, ctx)
        return text


class CidType(click.ParamType):
    """A CID this project can verify (CIDv0 ``Qm...`` or CIDv1 base32 ``b...``)."""

    name = "CID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from offchain.store.cid import MalformedCid, parse_cid

        try:
            parse_cid(str(value))
        except MalformedCid as exc:
            self.fail(str(exc), param, ctx)
        return str(value)


_MULTIADDR = re.compile(r"^/(ip4|ip6|dns|dns4|dns6)/[^/]+/tcp/(\d+)(/(http|https))?/?$")


def check_multiaddr(text: str) -> str:
    """``text`` if it is the multiaddr of an RPC API (``/ip4/HOST/tcp/PORT/http``); else a ValueError saying
    what to write instead (the multiaddr of an ``http://HOST:PORT`` URL)."""
    from urllib.parse import urlsplit

    match = _MULTIADDR.match(text)
    if match and 0 < int(match.group(2)) < 65536:
        return text
    if text.startswith(("http://", "https://")):
        url = urlsplit(text)
        if url.hostname and url.port:
            proto = "ip6" if ":" in url.hostname else "ip4" if url.hostname.replace(".", "").isdigit() else "dns"
            raise ValueError(f"{text!r} is a URL, not a multiaddr: write /{proto}/{url.hostname}/tcp/{url.port}/"
                             f"{url.scheme}")
    raise ValueError(f"{text!r} is not the multiaddr of an IPFS RPC API, e.g. /ip4/127.0.0.1/tcp/5001/http")


class MultiaddrType(click.ParamType):
    """The multiaddr of a Kubo-compatible RPC API, e.g. ``/ip4/127.0.0.1/tcp/5001/http``."""

    name = "MULTIADDR"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return check_multiaddr(str(value).strip())
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class ClientsType(click.ParamType):
    """A miner's clients: ``i/N`` or client numbers and ranges (see offchain.miner.selection.ClientSpec)."""

    name = "i/N|LIST"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from offchain.miner.selection import ClientSpec, parse_client_spec

        if isinstance(value, ClientSpec):
            return value
        try:
            return parse_client_spec(str(value))
        except ConfigError as exc:
            self.fail(str(exc).removeprefix("--clients "), param, ctx)


class MetricsFile(click.ParamType):
    """A metrics file as `pofl run --metrics` writes it: checked to parse."""

    name = "METRICS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        from offchain.app.reporting import read_metrics

        path = Path(value)
        try:
            read_metrics(path)
        except ConfigError as exc:
            self.fail(str(exc), param, ctx)
        return path


PRIVATE_KEY = PrivateKeyType()
ADDRESS = AddressType()
CID = CidType()
MULTIADDR = MultiaddrType()
CLIENTS = ClientsType()
PORT = click.IntRange(0, 65535)
