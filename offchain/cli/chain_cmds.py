"""``pofl compile | devnet | deploy | info``: the chain-side commands."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from offchain.cli.options import Endpoint, echo_json, key_options, rpc_url_option, signing_key
from offchain.defaults import ETH, STORE_DIR

if TYPE_CHECKING:
    from offchain.chain.pofl import PoFLContract


@click.command("compile")
@click.option("--check", is_flag=True, help="Fail if contracts/out is not what the sources compile to.")
def compile_cmd(check: bool) -> None:
    """Compile contracts/*.sol into contracts/out/<Name>.json."""
    from offchain.chain.compile import artifact_text, compile_contracts, write_artifacts
    from offchain.paths import ARTIFACTS_DIR

    artifacts = compile_contracts()
    if check:
        stale = [n for n, a in artifacts.items()
                 if not (ARTIFACTS_DIR / f"{n}.json").exists()
                 or (ARTIFACTS_DIR / f"{n}.json").read_text() != artifact_text(a)]
        if stale:
            raise click.ClickException(f"stale artifacts: {', '.join(stale)}; run `pofl compile`")
        click.echo("artifacts are current")
        return
    for path in write_artifacts(artifacts):
        click.echo(f"wrote {path}")


@click.command("devnet")
@click.option("--kind", type=click.Choice(["anvil", "hardhat"]), default="anvil", show_default=True)
@click.option("--port", type=int, default=8545, show_default=True, help="0 picks a free port.")
@click.option("--accounts", type=int, default=20, show_default=True, help="Funded dev accounts.")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Anvil state file: loaded if present, saved on exit, so the devnet survives restarts.")
def devnet_cmd(kind: str, port: int, accounts: int, state: Path | None) -> None:
    """Run a local devnet on 127.0.0.1 until Ctrl-C."""
    from offchain.devnet import start_devnet

    with start_devnet(kind, port=port, accounts=accounts, state=state) as devnet:  # type: ignore[arg-type]
        click.echo(f"{kind} devnet on {devnet.rpc_url} (chain {devnet.chain_id()}, pid {devnet.pid}); Ctrl-C stops it")
        _wait_for_interrupt()


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@contextlib.contextmanager
def chain_endpoint(rpc_url: str | None, devnet_kind: str | None = "anvil", state: Path | None = None,
                   ) -> Iterator[Endpoint]:
    """``rpc_url``, or an auto-started devnet's URL (with Anvil's ``--state``) for the duration of the block."""
    if rpc_url:
        if state is not None:
            raise click.UsageError("--state applies to an auto-started Anvil; leave out --rpc-url")
        yield Endpoint(rpc_url)
        return
    from offchain.devnet import start_devnet

    with start_devnet(devnet_kind or "anvil", state=state, accounts=256) as devnet:  # type: ignore[arg-type]
        click.echo(f"auto-started {devnet.kind} on {devnet.rpc_url} (pid {devnet.pid})", err=True)
        yield Endpoint(devnet.rpc_url, started_here=True)


@click.command("deploy")
@rpc_url_option()
@key_options("Deployer key (0x-hex); on a devnet, dev account 0 by default.")
@click.option("--threshold", type=float, default=0.6, show_default=True, help="Accuracy a block must reach.")
@click.option("--architecture", default="simplenet", show_default=True)
@click.option("--genesis-cid", default=None,
              help="CID of the initial model (default: a seeded model of --architecture, put into the store).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the default genesis model.")
@click.option("--store-dir", type=click.Path(file_okay=False), default=STORE_DIR, show_default=True)
@click.option("--ipfs-api", envvar="POFL_IPFS_API", default=None)
@click.option("--no-improvement", is_flag=True, help="flexBlock's rule: blocks need not beat their parent.")
@click.option("--min-stake", type=float, default=1.0, show_default=True, help="ETH a miner stakes.")
@click.option("--block-reward", type=float, default=0.1, show_default=True, help="ETH per block.")
@click.option("--reward-pool", type=float, default=10.0, show_default=True, help="ETH sent to fund rewards.")
@click.option("--phase-seconds", type=int, default=60, show_default=True, help="Each phase's duration.")
@click.option("--deployments-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def deploy_cmd(rpc_url: str | None, key: str | None, key_file: Path | None, keystore: Path | None, threshold: float,
               architecture: str, genesis_cid: str | None, seed: int, store_dir: str, ipfs_api: str | None,
               no_improvement: bool, min_stake: float, block_reward: float, reward_pool: float, phase_seconds: int,
               deployments_dir: Path | None) -> None:
    """Deploy PoFLConsensus and record it in deployments/<chainId>.json (no --rpc-url: on a fresh Anvil)."""
    from offchain.chain.accounts import LocalSigner
    from offchain.chain.connect import connect
    from offchain.chain.pofl import PoFLConfig, PoFLContract, to_bps
    from offchain.fl.data import load_mnist
    from offchain.fl.models import architecture_id
    from offchain.paths import DEPLOYMENTS_DIR

    if genesis_cid is None:
        from offchain.fl.simulation import genesis_model
        from offchain.store import open_store
        from offchain.store.models import publish_model

        genesis_cid = publish_model(open_store(ipfs_api, store_dir), genesis_model(architecture, seed).state_dict(),
                                    architecture)
        click.echo(f"genesis model (architecture {architecture}, seed {seed}) stored as {genesis_cid}")
    with chain_endpoint(rpc_url) as endpoint:
        w3 = connect(endpoint.url)
        signer = LocalSigner(w3, signing_key(endpoint, w3.eth.chain_id, key, key_file, keystore))
        config = PoFLConfig(
            threshold_bps=to_bps(threshold), eval_set_hash=bytes.fromhex(load_mnist("test").sha256()),
            architecture_id=architecture_id(architecture), require_improvement=not no_improvement,
            min_stake=int(min_stake * ETH), block_reward=int(block_reward * ETH),
            commit_duration=phase_seconds, reveal_duration=phase_seconds, validation_duration=phase_seconds)
        contract, record = PoFLContract.deploy(signer, config, genesis_cid, reward_pool=int(reward_pool * ETH),
                                               deployments_dir=deployments_dir or DEPLOYMENTS_DIR)
        click.echo(f"deployed PoFLConsensus at {record.address} (block {record.block_number}, tx {record.tx_hash})")
        _print_info(PoFLContract.attach(w3, contract.address))


@click.command("info")
@rpc_url_option(required=True)
@click.option("--contract", "address", default=None, help="Address; default: the recorded deployment.")
def info_cmd(rpc_url: str, address: str | None) -> None:
    """Read back a deployed PoFLConsensus: configuration, round, phase, miners, latest block."""
    from offchain.chain.connect import connect
    from offchain.chain.pofl import PoFLContract

    _print_info(PoFLContract.attach(connect(rpc_url), address))


def _print_info(contract: PoFLContract) -> None:
    from dataclasses import asdict

    state = contract.current_phase()
    head = contract.latest_block()
    echo_json({"address": contract.address, "config": asdict(contract.config()),
               "round": state.round, "phase": state.phase.name, "miners": len(contract.miners()),
               "blocks": contract.block_count(), "latestBlock": asdict(head), **contract.balances()})


@click.command("blocks")
@rpc_url_option(required=True)
@click.option("--contract", "address", default=None, help="Address; default: the recorded deployment.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def blocks_cmd(rpc_url: str, address: str | None, as_json: bool) -> None:
    """List the PoFL chain's blocks as the contract stores them."""
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from offchain.chain.connect import connect
    from offchain.chain.pofl import PoFLContract

    blocks = PoFLContract.attach(connect(rpc_url), address).blocks()
    if as_json:
        echo_json([asdict(b) for b in blocks])
        return
    table = Table(title="PoFL blocks")
    for col in ("height", "round", "miner", "accuracy", "CID", "hash", "parent"):
        table.add_column(col)
    for b in blocks:
        table.add_row(str(b.height), str(b.round), b.miner[:10] + "…", f"{b.accuracy:.4f}", b.cid,
                      "0x" + b.block_hash.hex()[:10] + "…", "0x" + b.parent_hash.hex()[:10] + "…")
    Console().print(table)


@click.command("verify")
@rpc_url_option(required=True)
@click.option("--contract", "address", default=None, help="Address; default: the recorded deployment.")
@click.option("--store-dir", type=click.Path(file_okay=False), default=STORE_DIR, show_default=True)
@click.option("--ipfs-api", envvar="POFL_IPFS_API", default=None)
def verify_cmd(rpc_url: str, address: str | None, store_dir: str, ipfs_api: str | None) -> None:
    """Replay the chain: every block's model by CID, its integrity, parent links and accuracy. Exit 1 on a mismatch."""
    from offchain.chain.connect import connect
    from offchain.chain.pofl import PoFLContract
    from offchain.miner.verify import verify_chain
    from offchain.store import open_store

    report = verify_chain(PoFLContract.attach(connect(rpc_url), address), open_store(ipfs_api, store_dir))
    for b in report.blocks:
        measured = "-" if b.measured is None else f"{b.measured:.4f}"
        status = "ok" if not b.problems else "; ".join(str(p) for p in b.problems)
        click.echo(f"block {b.height} (round {b.round}) {b.cid}: recorded {b.claimed:.4f}, measured {measured}: "
                   f"{status}")
    for problem in report.problems:
        click.echo(f"chain: {problem}")
    click.echo(f"{len(report.blocks)} blocks verified: {report.verdict}")
    if not report.ok:
        raise SystemExit(1)


@click.command("plot")
@click.argument("metrics", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def plot_cmd(metrics: Path, output: Path | None) -> None:
    """Plot accuracy per round (each miner and the chain) from a `pofl run --metrics` file to a PNG."""
    from offchain.miner.metrics import plot_metrics

    click.echo(plot_metrics(metrics, output or metrics.with_suffix(".png")))


COMMANDS = [compile_cmd, devnet_cmd, deploy_cmd, info_cmd, blocks_cmd, verify_cmd, plot_cmd]
