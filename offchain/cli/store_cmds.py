"""``pofl store put | get | verify``: content-addressed model storage for users."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from offchain.cli.output import json_option, output
from offchain.cli.types import CID, MULTIADDR
from offchain.defaults import IPFS_TIMEOUT_S, STORE_DIR
from offchain.fl.names import ARCHITECTURE_NAMES

if TYPE_CHECKING:
    from offchain.store.base import ModelStore


def store_options(fn):  # type: ignore[no-untyped-def]
    fn = click.option("--ipfs-timeout", type=click.FloatRange(min=0.1), default=IPFS_TIMEOUT_S,
                      show_default=True,
                      help="Seconds the IPFS node may look for a CID before it counts as absent.")(fn)
    fn = click.option("--store-dir", type=click.Path(file_okay=False), default=STORE_DIR, show_default=True,
                      help="Embedded store directory (used when --ipfs-api is not given).")(fn)
    fn = click.option("--ipfs-api", envvar="POFL_IPFS_API", type=MULTIADDR, default=None,
                      help="Kubo-compatible RPC API multiaddr, e.g. /ip4/127.0.0.1/tcp/5001/http (`pofl ipfs` "
                           "prints it). [env POFL_IPFS_API]")(fn)
    return fn


def open_checked_store(ipfs_api: str | None, store_dir: str, timeout: float | None = None) -> ModelStore:
    """The store the options name, an IPFS node checked to answer as one (StoreUnavailable when nothing
    answers, StoreMisconfigured (exit 2) when something else does)."""
    from offchain.store import open_store
    from offchain.store.ipfs import IpfsStore

    store = open_store(ipfs_api, store_dir, **({} if timeout is None else {"timeout": timeout}))
    if isinstance(store, IpfsStore):
        store.check()
    return store


@click.group("store")
def store_group() -> None:
    """Put, get and verify blobs and models by CID."""


@store_group.command("put")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@store_options
@json_option
def put_cmd(file: Path, ipfs_api: str | None, store_dir: str, ipfs_timeout: float, as_json: bool) -> None:
    """Store FILE (pinned) and print its CID."""
    cid = open_checked_store(ipfs_api, store_dir, ipfs_timeout).put(file.read_bytes())
    output(as_json).result({"cid": cid, "bytes": file.stat().st_size}, lambda: click.echo(cid))


@store_group.command("get")
@click.argument("cid", type=CID)
@click.option("-o", "--output", "dest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of standard output.")
@store_options
def get_cmd(cid: str, dest: Path | None, ipfs_api: str | None, store_dir: str, ipfs_timeout: float) -> None:
    """Fetch CID, verify that its bytes hash to it, write them out."""
    data = open_checked_store(ipfs_api, store_dir, ipfs_timeout).get(cid)
    if dest is None:
        sys.stdout.buffer.write(data)
    else:
        dest.write_bytes(data)


@store_group.command("verify")
@click.argument("cid", type=CID)
@click.option("--architecture", type=click.Choice(ARCHITECTURE_NAMES), default=None,
              help="Also load it as a model of this architecture.")
@store_options
@json_option
def verify_cmd(cid: str, architecture: str | None, ipfs_api: str | None, store_dir: str, ipfs_timeout: float,
               as_json: bool) -> None:
    """Check that CID is in the store, hashes right and (with --architecture) is a valid model."""
    from offchain.store.fetching import read_untrusted
    from offchain.store.model_bytes import check_canonical, content_digest, load_model_bytes

    data = open_checked_store(ipfs_api, store_dir, ipfs_timeout).get(cid)
    report: dict[str, object] = {"cid": cid, "bytes": len(data), "hash_verified": True}
    line = f"{cid}: {len(data)} bytes, hash verified"
    if architecture:
        state, _ = load_model_bytes(data, architecture)
        canonical = read_untrusted(lambda: check_canonical(data, cid, state, architecture))
        report.update(architecture=architecture, parameters=sum(t.numel() for t in state.values()),
                      canonical=canonical.error == "", content_digest="0x" + content_digest(state, architecture).hex())
        line += (f"; a valid {architecture} model ({report['parameters']} parameters, "
                 f"{'canonical' if canonical.error == '' else 'NOT canonical: ' + canonical.error})")
    output(as_json).result(report, lambda: click.echo(line))


COMMANDS = [store_group]
