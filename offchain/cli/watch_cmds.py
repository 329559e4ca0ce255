"""``pofl watch`` (a live page of a run, served on loopback) and what ``pofl run --watch`` and ``pofl blocks
--watch`` share with it: the contract checked, the port bound before anything starts, the follower.

Read-only: no key, any RPC and deployment. The chain's events are read by :mod:`offchain.app.follower` and
folded by :mod:`offchain.app.watch`; the page and its server are :mod:`offchain.web`.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from offchain.cli.options import contract_option, rpc_url_option
from offchain.cli.output import Output, json_option, output
from offchain.cli.store_cmds import store_options
from offchain.cli.types import PORT
from offchain.defaults import IN_PROCESS

if TYPE_CHECKING:
    from offchain.app.follower import ChainFollower
    from offchain.app.watch import Event, WatchState
    from offchain.chain.consensus import PoFLContract
    from offchain.store.base import ModelStore
    from offchain.web.server import WatchServer

DEFAULT_PORT = 8750
POLL_S = 1.0
BLOCKS_POLL_S = 0.5
RPC_TIMEOUT_S = 10.0
"""How long one RPC call of the follower may take: an RPC that hangs is said on the page within it."""


def port_option(name: str = "--port", help_text: str = "Loopback port of the page; 0 picks a free one.",
                ) -> Callable[[Any], Any]:
    return click.option(name, type=PORT, default=DEFAULT_PORT, show_default=True, help=help_text)


def bind_page_port(port: int, param_hint: str = "'--port'") -> socket.socket:
    """The page's socket, bound now: a port in use is a usage error naming the option (exit 2)."""
    from offchain.errors import PortInUseError
    from offchain.web.server import bind_loopback

    try:
        return bind_loopback(port)
    except PortInUseError as exc:
        raise click.BadParameter(str(exc), param_hint=param_hint) from None


def watched_contract(rpc_url: str, address: str | None) -> PoFLContract:
    """The consensus to watch, its code checked: an address that is not one is a usage error naming
    ``--contract`` (exit 2); no recorded deployment and no ``--contract`` too."""
    from offchain.chain.connect import connect
    from offchain.chain.consensus import PoFLContract
    from offchain.chain.deploy import DeploymentError

    if rpc_url == IN_PROCESS:
        raise click.BadParameter(f"{IN_PROCESS} is a chain inside this command, where nothing runs to watch: give "
                                 f"the URL of the run's chain", param_hint="'--rpc-url'")
    w3 = connect(rpc_url, timeout=RPC_TIMEOUT_S)
    if address is not None and not w3.eth.get_code(w3.to_checksum_address(address)):
        raise click.BadParameter(f"{address} is not a PoFL consensus: no contract is there on chain {w3.eth.chain_id} "
                                 f"(`pofl deploy` and `pofl run` print the consensus's address)",
                                 param_hint="'--contract'")
    try:
        return PoFLContract.attach(w3, address)
    except DeploymentError as exc:
        if address is None:
            raise click.UsageError(f"--contract is required: {exc}") from None
        raise click.BadParameter(f"{address} is not a PoFL consensus: {exc}", param_hint="'--contract'") from None


def follower_for(contract: PoFLContract, store: ModelStore | None, from_block: int | None = None) -> ChainFollower:
    """A follower of ``contract``; in hold-out mode, with ``store``, it measures every block on the final shard
    once the task has ended."""
    from offchain.app.follower import ChainFollower, final_report_of

    final = final_report_of(contract, store) if store is not None else None
    return ChainFollower(contract, from_block=from_block, final_report=final)


def start_page(contract: PoFLContract, rpc_url: str, sock: socket.socket, *, store: ModelStore | None = None,
               poll_s: float = POLL_S, from_block: int | None = None) -> WatchServer:
    """The page of ``contract`` served on ``sock`` (in a thread) until :meth:`~WatchServer.stop`."""
    from offchain.web.server import WatchServer, WatchService

    service = WatchService(follower_for(contract, store, from_block), poll_s=poll_s, rpc_url=rpc_url)
    return WatchServer(service, sock).start()


def wait_for_interrupt() -> None:
    """Until Ctrl-C or SIGTERM (the command line's handlers raise KeyboardInterrupt): then return normally."""
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


def _store_if_holdout(contract: PoFLContract, ipfs_api: str | None, store_dir: str,
                      ipfs_timeout: float) -> ModelStore | None:
    """The store, opened only in hold-out mode (the final shard and the models are measured from it)."""
    if contract.holdout_address() is None:
        return None
    from offchain.cli.store_cmds import open_checked_store

    return open_checked_store(ipfs_api, store_dir, ipfs_timeout)


@click.command("watch")
@rpc_url_option(required=True)
@contract_option()
@port_option()
@click.option("--poll", type=click.FloatRange(min=0.05), default=POLL_S, show_default=True,
              help="Seconds between two looks at the chain (each reads only the blocks mined since the last).")
@click.option("--from-block", type=click.IntRange(min=0), default=None,
              help="Read the contract's events from this block (default: its deployment block, from the deployment "
                   "record or the chain).")
@store_options
@json_option
def watch_cmd(rpc_url: str, address: str | None, port: int, poll: float, from_block: int | None,
              ipfs_api: str | None, store_dir: str, ipfs_timeout: float, as_json: bool) -> None:
    """Serve a live page of a run on 127.0.0.1 until Ctrl-C: the accuracy curve (the chain, every claim, the
    threshold, the blocks), the blocks table, the current round's phase and countdown, rejected, disputed and
    slashed claims; in hold-out mode each block's final-shard accuracy once the task has ended (measured from
    the store). Read-only: no key. A page opened mid-run shows the history first, then follows the chain."""
    from offchain.redaction import redact_url

    out = output(as_json)
    sock = bind_page_port(port)
    try:
        contract = watched_contract(rpc_url, address)
        store = _store_if_holdout(contract, ipfs_api, store_dir, ipfs_timeout)
        server = start_page(contract, rpc_url, sock, store=store, poll_s=poll, from_block=from_block)
    except BaseException:
        sock.close()
        raise
    try:
        out.result({"url": server.url, "contract": contract.address, "rpc_url": redact_url(rpc_url)},
                   lambda: click.echo(f"watching PoFLConsensus at {contract.address} on {redact_url(rpc_url)}: "
                                      f"{server.url}"))
        out.note("read-only; Ctrl-C stops it")
        sys.stdout.flush()
        wait_for_interrupt()
    finally:
        server.stop()


# ------------------------------------------------------------------ pofl blocks --watch


def block_line(state: WatchState, height: int) -> str:
    """One block for the terminal: round, winner, claimed and median accuracy, committee, CID, gas."""
    row = state.block_row(height)

    def bps(value: int | None) -> str:
        return "-" if value is None else f"{value / 10_000:.4f}"

    committee = ("" if row["seats"] is None
                 else f", {row['reports']} of {row['seats']} seats reported")
    gas = "" if not row["gas"] else f", gas {row['gas'] / 1e6:.2f}M"
    return (f"block {height} (round {row['round']}) by {row['winner']} ({row['miner']}): accuracy "
            f"{bps(row['accuracy_bps'])} (claimed {bps(row['claimed_bps'])}, median {bps(row['median_bps'])}"
            f"{committee}){gas}, {row['cid']}")


def follow_blocks(contract: PoFLContract, out: Output, *, as_json: bool, poll_s: float = BLOCKS_POLL_S) -> None:
    """Print every block, then each new one as it is finalized (one line each; with ``--json``, one JSON object
    a line), until Ctrl-C. A round without a block is a note on stderr; an RPC that stops answering is a
    warning, and the follower goes on from where it was once the node answers again."""
    from offchain.app.follower import ChainFollower
    from offchain.cli.output import to_json

    follower = ChainFollower(contract)
    state = follower.initial_state()
    printed: set[int] = set()
    down: str | None = None
    try:
        while True:
            try:
                events = follower.fetch()
            except Exception as exc:  # the RPC down: said once, retried from the same cursor
                if down is None:
                    down = f"{exc.__class__.__name__}: {' '.join(str(exc).split())[:200]}"
                    out.warn(f"the chain does not answer ({down}); retrying")
                time.sleep(max(poll_s, 1.0))
                continue
            if down is not None:
                out.note("the chain answers again")
                down = None
            _print_new(state, events, printed, out, as_json, to_json)
            if not follower.behind:
                time.sleep(poll_s)
    except KeyboardInterrupt:
        pass


def _print_new(state: WatchState, events: list[Event], printed: set[int], out: Output, as_json: bool,
               to_json: Callable[[Any], str]) -> None:
    import json

    for event in events:
        state.apply(event)
        if event.name == "BlockFinalized" and event.args["height"] > 0 and event.args["height"] not in printed:
            height = event.args["height"]
            printed.add(height)
            if as_json:
                click.echo(json.dumps(json.loads(to_json(state.block_row(height))), separators=(",", ":")))
            else:
                click.echo(block_line(state, height))
            sys.stdout.flush()
        elif event.name == "RoundFailed":
            out.note(f"round {event.args['round']}: no block ({state.rounds[event.args['round']].failed})")


COMMANDS = [watch_cmd]
