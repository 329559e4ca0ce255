"""``pofl store put | get | verify``: content-addressed model storage for users."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from offchain.defaults import STORE_DIR


def store_options(fn):  # type: ignore[no-untyped-def]
    fn = click.option("--store-dir", type=click.Path(file_okay=False), default=STORE_DIR, show_default=True,
                      help="Embedded store directory (used when --ipfs-api is not given).")(fn)
    fn = click.option("--ipfs-api", envvar="POFL_IPFS_API", default=None,
                      help="Kubo-compatible RPC API multiaddr, e.g. /ip4/127.0.0.1/tcp/5001/http. "
                           "[env POFL_IPFS_API]")(fn)
    return fn


@click.group("store")
def store_group() -> None:
    """Put, get and verify blobs and models by CID."""


@store_group.command("put")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@store_options
def put_cmd(file: Path, ipfs_api: str | None, store_dir: str) -> None:
    """Store FILE (pinned) and print its CID."""
    from offchain.store import open_store

    click.echo(open_store(ipfs_api, store_dir).put(file.read_bytes()))


@store_group.command("get")
@click.argument("cid")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of standard output.")
@store_options
def get_cmd(cid: str, output: Path | None, ipfs_api: str | None, store_dir: str) -> None:
    """Fetch CID, verify that its bytes hash to it, write them out."""
    from offchain.store import open_store

    data = open_store(ipfs_api, store_dir).get(cid)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)


@store_group.command("verify")
@click.argument("cid")
@click.option("--architecture", default=None, help="Also load it as a model of this architecture (e.g. simplenet).")
@store_options
def verify_cmd(cid: str, architecture: str | None, ipfs_api: str | None, store_dir: str) -> None:
    """Check that CID is in the store, hashes right and (with --architecture) is a valid model."""
    from offchain.store import open_store
    from offchain.store.model_bytes import load_model_bytes

    data = open_store(ipfs_api, store_dir).get(cid)
    line = f"{cid}: {len(data)} bytes, hash verified"
    if architecture:
        state, meta = load_model_bytes(data, architecture)
        line += f"; a valid {architecture} model ({sum(t.numel() for t in state.values())} parameters, " \
                f"round {meta.get('round')})"
    click.echo(line)


COMMANDS = [store_group]
