"""``pofl devnet | ipfs``: the local servers of a by-hand session, each in its own terminal until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click

from offchain.cli.output import json_option, output
from offchain.cli.types import IPV4, PORT, SwarmMultiaddrType

LOG_DIR = Path(".pofl/logs")
IPFS_REPO = Path(".pofl/ipfs")


def _interrupt_event() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _wait_for_interrupt() -> None:
    _interrupt_event().wait()


@click.command("devnet")
@click.option("--kind", type=click.Choice(["anvil", "hardhat"]), default="anvil", show_default=True)
@click.option("--port", type=PORT, default=8545, show_default=True, help="0 picks a free port.")
@click.option("--host", type=IPV4, default="127.0.0.1", show_default=True,
              help="The address it listens on: loopback, or this machine's address for miners on other machines "
                   "(0.0.0.0: every interface).")
@click.option("--accounts", type=click.IntRange(1, 10_000), default=20, show_default=True,
              help="Funded dev accounts (account 0 deploys; a run of N miners needs N + 1).")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Anvil state file: loaded if present, saved on exit, so the devnet survives restarts.")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path), default=LOG_DIR, show_default=True,
              help="Where the node's log goes (<kind>-<port>.log).")
@json_option
def devnet_cmd(kind: str, port: int, host: str, accounts: int, state: Path | None, log_dir: Path,
               as_json: bool) -> None:
    """Run a local devnet (on 127.0.0.1 unless --host) until Ctrl-C; print its accounts and keys (public test
    keys)."""
    from offchain.chain.accounts import DEV_MNEMONIC, DEV_PATH, dev_address, dev_key
    from offchain.servers.devnet import rpc_call, start_devnet

    if state is not None and kind != "anvil":
        raise click.UsageError("--state is an Anvil option: use --kind anvil with it")
    out = output(as_json)
    with start_devnet(kind, port=port, host=host, accounts=accounts, state=state,  # type: ignore[arg-type]
                      log_dir=log_dir) as devnet:  # type: ignore[arg-type]
        keys = [dev_key(i) for i in range(accounts)]
        addresses = [dev_address(i) for i in range(accounts)]
        balances = [int(str(rpc_call(devnet.rpc_url, "eth_getBalance", [a, "latest"])), 16) for a in addresses]
        chain_id = devnet.chain_id()
        report = {"kind": kind, "rpc_url": devnet.rpc_url, "chain_id": chain_id, "pid": devnet.pid,
                  "log": str(devnet.log_path), "mnemonic": DEV_MNEMONIC, "derivation_path": DEV_PATH,
                  "accounts": [{"address": a, "private_key": k, "balance_wei": b}
                               for a, k, b in zip(addresses, keys, balances, strict=True)]}

        def human() -> None:
            lines = ["", "Available Accounts", "=================="]
            lines += [f"({i}) {a} ({b / 10**18:.0f} ETH)" for i, (a, b) in enumerate(zip(addresses, balances,
                                                                                          strict=True))]
            lines += ["", "Private Keys", "=================="] + [f"({i}) {k}" for i, k in enumerate(keys)]
            lines += ["", "Wallet", "==================", f"Mnemonic:          {DEV_MNEMONIC}",
                      f"Derivation path:   {DEV_PATH}<index>", "", "Chain ID", "==================", str(chain_id),
                      "", "These keys are public: use them on this devnet only.", ""]
            click.echo("\n".join(lines))
            click.echo(f"Listening on {devnet.rpc_url}")

        out.result(report, human)
        out.note(f"{kind} (pid {devnet.pid}) logs to {devnet.log_path}"
                 + (f"; state saved to {state}" if state else "") + "; Ctrl-C stops it")
        sys.stdout.flush()
        _wait_for_interrupt()


@click.command("ipfs")
@click.option("--port", type=PORT, default=5001, show_default=True, help="Its RPC API port; 0 picks a free one.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=IPFS_REPO, show_default=True,
              help="The node's repository (made if absent; kept, so what was added survives a restart).")
@click.option("--listen", "listen", multiple=True, type=SwarmMultiaddrType(peer=False),
              help="Run online: listen for other IPFS nodes here (repeatable), e.g. /ip4/0.0.0.0/tcp/4001. "
                   "Without it the node is offline, on loopback only.")
@click.option("--peer", "peers", multiple=True, type=SwarmMultiaddrType(peer=True),
              help="A peer to dial and keep connected to (repeatable): the address another `pofl ipfs --listen` "
                   "printed, /ip4/HOST/tcp/PORT/p2p/PEER-ID. Needs --listen.")
@json_option
def ipfs_cmd(port: int, repo: Path, listen: tuple[str, ...], peers: tuple[str, ...], as_json: bool) -> None:
    """Run a local IPFS node (js-ipfs) until Ctrl-C; print its API multiaddr. Offline and on loopback only
    unless --listen is given: then online, sharing models with its --peer nodes by bitswap."""
    from offchain.servers.ipfs import launch_ipfs_daemon

    if peers and not listen:
        raise click.UsageError("--peer needs --listen: an offline node meets no peer (e.g. --listen "
                               "/ip4/0.0.0.0/tcp/4001)")
    out = output(as_json)
    repo.mkdir(parents=True, exist_ok=True)
    node = launch_ipfs_daemon(api_port=port, repo=repo.resolve(), listen=listen, peers=peers)
    try:
        report = {"api": node.api_multiaddr, "pid": node.pid, "repo": str(repo), "log": str(node.log_path),
                  "peer_id": node.peer_id, "swarm": node.swarm_addresses, "peers": list(peers)}

        def human() -> None:
            click.echo(f"IPFS RPC API at {node.api_multiaddr} (use it as --ipfs-api)")
            for address in node.swarm_addresses:
                click.echo(f"swarm address {address} (give it to peers as --peer)")

        out.result(report, human)
        out.note(f"js-ipfs (pid {node.pid}) keeps its repository in {repo} and logs to {node.log_path}; "
                 f"Ctrl-C stops it")
        sys.stdout.flush()
        stop = _interrupt_event()
        while not stop.wait(1.0):
            if not node.process.alive():  # a crash of js-ipfs: the node comes back, as a service would
                code, tail = node.process.returncode, node.process.log_tail(600).strip().splitlines()[-3:]
                out.note(f"js-ipfs (pid {node.pid}) exited with status {code} ({' | '.join(tail)}); restarting it "
                         f"on the same repository and addresses")
                node = node.relaunch()
                out.note(f"js-ipfs restarted (pid {node.pid})")
    finally:
        node.stop()


COMMANDS = [devnet_cmd, ipfs_cmd]
