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


class SwarmMultiaddrType(click.ParamType):
    """A swarm multiaddr of js-ipfs: one to listen on (``/ip4/ADDRESS/tcp/PORT``) or, with ``peer``, a peer's
    full address (``/ip4/HOST/tcp/PORT/p2p/PEER-ID``)."""

    name = "MULTIADDR"

    def __init__(self, *, peer: bool) -> None:
        self.peer = peer

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from offchain.servers.ipfs import check_listen_multiaddr, check_peer_multiaddr

        try:
            return (check_peer_multiaddr if self.peer else check_listen_multiaddr)(str(value).strip())
        except ConfigError as exc:
            self.fail(str(exc), param, ctx)


class Ipv4Type(click.ParamType):
    """An IPv4 address in dotted-quad form, e.g. ``127.0.0.1``, ``10.0.0.2``, ``0.0.0.0``."""

    name = "IPV4"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        import ipaddress

        try:
            return str(ipaddress.IPv4Address(str(value).strip()))
        except ValueError:
            self.fail(f"{value!r} is not an IPv4 address: write four numbers 0-255, e.g. 10.0.0.2", param, ctx)


IPV4 = Ipv4Type()


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


class SuperLinkType(click.ParamType):
    """A Flower SuperLink's ``HOST:PORT`` (see offchain.flower.address)."""

    name = "HOST:PORT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from offchain.flower.address import SuperLinkAddress

        if isinstance(value, SuperLinkAddress):
            return value
        try:
            return SuperLinkAddress.parse(str(value))
        except ConfigError as exc:
            self.fail(str(exc).removeprefix("--superlink "), param, ctx)


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


class OutputFileType(click.ParamType):
    """A file a command will write: not a folder, under a folder it can create or write into, and with
    ``suffixes`` one of them (checked by writing a temporary file there, nothing left behind)."""

    name = "FILE"

    def __init__(self, suffixes: tuple[str, ...] = ()) -> None:
        self.suffixes = suffixes

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        import tempfile

        path = Path(value).expanduser()
        if self.suffixes and path.suffix.lower() not in self.suffixes:
            self.fail(f"{path}: the file name must end in {' or '.join(self.suffixes)}", param, ctx)
        if path.is_dir():
            self.fail(f"{path} is a folder: give a file name", param, ctx)
        existing = path.absolute().parent
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            self.fail(f"{path}: {existing} is a file, not a folder", param, ctx)
        try:
            tempfile.TemporaryFile(dir=existing).close()
        except OSError as exc:
            self.fail(f"{path}: cannot write into {existing} ({exc.strerror})", param, ctx)
        return path


PRIVATE_KEY = PrivateKeyType()
ADDRESS = AddressType()
CID = CidType()
MULTIADDR = MultiaddrType()
CLIENTS = ClientsType()
SUPERLINK = SuperLinkType()
PORT = click.IntRange(0, 65535)


class RpcUrlType(click.ParamType):
    """A chain's JSON-RPC URL: http(s):// or ws(s):// and a host, or ``eth-tester`` (a chain inside this process)."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from urllib.parse import urlsplit

        from offchain.defaults import IN_PROCESS
        from offchain.redaction import redact_url

        text = str(value).strip()
        if text == IN_PROCESS:
            return text
        try:
            parts = urlsplit(text)
            host = parts.hostname
        except ValueError:
            host = None
        if parts.scheme not in ("http", "https", "ws", "wss") or not host:
            self.fail(f"{redact_url(text)!r} is not a JSON-RPC URL: expected http(s)://HOST[:PORT][/PATH] or "
                      f"ws(s)://..., or {IN_PROCESS}", param, ctx)
        return text


class HoldoutDataType(click.ParamType):
    """``mnist`` or a requester's evaluation set as .npz (checked by loading it)."""

    name = "mnist|FILE.npz"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if text == "mnist":
            return text
        from offchain.holdout.dataset_file import DatasetFileError, load_dataset

        try:
            load_dataset(text)
        except DatasetFileError as exc:
            self.fail(str(exc), param, ctx)
        return text


RPC_URL = RpcUrlType()
JSON_FILE = OutputFileType((".json",))
PNG_FILE = OutputFileType((".png",))
HOLDOUT_DATA = HoldoutDataType()

