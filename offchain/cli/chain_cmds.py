"""``pofl compile | info | blocks | verify | plot``: the commands that compile, read and replay a chain."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from offchain.cli.options import contract_option, rpc_url_option
from offchain.cli.output import json_option, output
from offchain.cli.store_cmds import open_checked_store, store_options
from offchain.cli.tables import blocks_table
from offchain.cli.types import PNG_FILE, MetricsFile
from offchain.defaults import ETH

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from offchain.app.holdout_report import FinalAccuracy
    from offchain.chain.consensus import PoFLContract
    from offchain.chain.holdout import HoldoutContract


@click.command("compile")
@click.option("--check", is_flag=True, help="Fail if contracts/out is not what the sources compile to.")
@json_option
def compile_cmd(check: bool, as_json: bool) -> None:
    """Compile contracts/*.sol into contracts/out/<Name>.json."""
    from offchain.chain.compile import artifact_text, compile_contracts, write_artifacts
    from offchain.paths import ARTIFACTS_DIR

    out = output(as_json)
    artifacts = compile_contracts()
    if check:
        stale = [n for n, a in artifacts.items()
                 if not (ARTIFACTS_DIR / f"{n}.json").exists()
                 or (ARTIFACTS_DIR / f"{n}.json").read_text() != artifact_text(a)]
        if stale:
            raise click.ClickException(f"stale artifacts: {', '.join(stale)}; run `pofl compile`")
        out.result({"current": sorted(artifacts)}, lambda: click.echo("artifacts are current"))
        return
    written = [str(p) for p in write_artifacts(artifacts)]
    out.result({"written": written}, lambda: click.echo("\n".join(f"wrote {p}" for p in written)))


@click.command("info")
@rpc_url_option(required=True)
@contract_option()
@json_option
def info_cmd(rpc_url: str, address: str | None, as_json: bool) -> None:
    """Read back a deployed PoFLConsensus: configuration, round, phase, miners, latest block."""
    from offchain.app.reporting import contract_summary
    from offchain.chain.connect import connect
    from offchain.chain.consensus import PoFLContract

    info = contract_summary(PoFLContract.attach(connect(rpc_url), address))

    def human() -> None:
        c, head = info["config"], info["latestBlock"]
        click.echo(f"PoFLConsensus at {info['address']}")
        click.echo(f"round {info['round']}, phase {info['phase']}; {info['miners']} miners; {info['blocks']} blocks; "
                   f"head: block {head['height']} by {head['miner']}, accuracy "
                   + ("- (genesis, not scored)" if head["height"] == 0 else f"{head['accuracy_bps'] / 10_000:.4f}")
                   + f", {head['cid']}")
        click.echo(f"threshold {c['threshold_bps'] / 10_000:g}, tolerance {c['tolerance_bps']} bps, "
                   f"{'improvement required' if c['require_improvement'] else 'no improvement required'}, phases "
                   f"{c['commit_duration']}/{c['reveal_duration']}/{c['validation_duration']} s, min stake "
                   f"{c['min_stake'] / ETH:g} ETH, reward {c['block_reward'] / ETH:g} ETH")
        click.echo(f"balance {info['balance'] / ETH:g} ETH: staked {info['totalStaked'] / ETH:g}, reward pool "
                   f"{info['rewardPool'] / ETH:g}, pending rewards {info['totalPendingRewards'] / ETH:g}")
        click.echo(f"evaluation: hold-out task {info['holdout']} (rounds judged on its sealed shards)"
                   if info["holdout"] else "evaluation: public (every miner measures on the evaluation set)")

    output(as_json).result(info, human)


def reads_a_chain(fn: F) -> F:
    """The options of a command that reads a deployed consensus and its models: --rpc-url, --contract, the
    store's, --json."""
    for option in reversed([rpc_url_option(required=True), contract_option(), store_options, json_option]):
        fn = option(fn)
    return fn


@click.command("blocks")
@reads_a_chain
@click.option("--watch", is_flag=True,
              help="Print every block, then each new block as it is finalized, one line each (with --json, one JSON "
                   "object a line), until Ctrl-C.")
def blocks_cmd(rpc_url: str, address: str | None, ipfs_api: str | None, store_dir: str, ipfs_timeout: float,
               as_json: bool, watch: bool) -> None:
    """List the PoFL chain's blocks as the contract stores them. Hold-out mode, once the task has ended: each
    block's model measured on the final shard (from the store) and its gap (recorded minus final accuracy)."""
    from dataclasses import asdict

    from offchain.chain.connect import connect
    from offchain.chain.consensus import PoFLContract
    from offchain.chain.holdout import HoldoutContract

    if watch:
        from offchain.cli.watch_cmds import follow_blocks, watched_contract

        follow_blocks(watched_contract(rpc_url, address), output(as_json), as_json=as_json)
        return
    contract = PoFLContract.attach(connect(rpc_url), address)
    blocks = contract.blocks()
    holdout = HoldoutContract.of(contract)
    out = output(as_json)
    finals = _final_report(contract, holdout, ipfs_api, store_dir, ipfs_timeout) if holdout is not None else {}

    def final_fields(height: int) -> dict[str, Any]:
        record = finals.get(height)
        return {"final_accuracy": None if record is None else record.final_accuracy,
                "gap": None if record is None else record.gap}

    if as_json:
        out.result([{**asdict(b), "cid": b.cid, "accuracy": b.accuracy, "hash": "0x" + b.block_hash.hex(),
                     **(final_fields(b.height) if holdout else {})} for b in blocks])
        return
    out.table(blocks_table(blocks, finals if holdout else None))


def _fraction(value: float | None, sign: str = "") -> str:
    return "-" if value is None else f"{value:{sign}.4f}"


def _final_report(contract: PoFLContract, holdout: HoldoutContract, ipfs_api: str | None, store_dir: str,
                  ipfs_timeout: float) -> dict[int, FinalAccuracy]:
    """Hold-out mode: each block's record on the final shard by height; empty (and a note) before the task
    ended or when the final shard does not open (`pofl verify` reports that as a problem)."""
    from offchain.app.holdout_report import FinalShardError, final_accuracies
    from offchain.store.base import StoreUnavailable

    out = output()
    if not holdout.ended():
        out.note("the hold-out task has not ended: final-shard accuracies appear once the requester ends it")
        return {}
    try:
        records = final_accuracies(contract, holdout, open_checked_store(ipfs_api, store_dir, ipfs_timeout)) or []
    except (FinalShardError, StoreUnavailable) as exc:
        out.warn(f"no final-shard accuracies: {exc} (`pofl verify` checks the final shard)")
        return {}
    for r in records:
        if r.error:
            out.warn(f"block {r.height}: no final-shard accuracy: {r.error}")
    return {r.height: r for r in records}


@click.command("verify")
@reads_a_chain
def verify_cmd(rpc_url: str, address: str | None, ipfs_api: str | None, store_dir: str, ipfs_timeout: float,
               as_json: bool) -> None:
    """Replay the chain: every block's model by CID, its integrity, parent links and accuracy. Exit 1 unless
    every block checks out (verdict OK; UNAVAILABLE when models could not be had; MISMATCH when one is wrong).
    Hold-out mode: each block is measured on its round's shard (opened with the key the chain recorded) and
    its parent on the same shard; once the task has ended, every block on the final shard too."""
    from offchain.app.verify import verify_chain
    from offchain.chain.connect import connect
    from offchain.chain.consensus import PoFLContract

    contract = PoFLContract.attach(connect(rpc_url), address)
    report = verify_chain(contract, open_checked_store(ipfs_api, store_dir, ipfs_timeout))

    def human() -> None:
        for b in report.blocks:
            measured = _fraction(b.measured)
            recorded = "- (genesis, not scored)" if b.height == 0 else f"{b.claimed:.4f}"
            if report.holdout and b.height:
                measured += (f" on round {b.round}'s shard, parent {_fraction(b.parent_measured)} on it (the chain's "
                             f"median: {_fraction(b.parent_median)})")
            status = "ok" if not b.problems else "; ".join(str(p) for p in b.problems)
            click.echo(f"block {b.height} (round {b.round}) {b.cid}: recorded {recorded}, measured {measured}: "
                       f"{status}")
        for f in report.final or []:
            click.echo(f"final shard: block {f.height}: recorded {_fraction(f.selection_accuracy)}, final "
                       f"{_fraction(f.final_accuracy)}, gap {_fraction(f.gap, '+')}" + (f" ({f.error})" if f.error
                                                                                         else ""))
        if report.holdout and report.final is None and not report.problems:
            click.echo("the hold-out task has not ended: no final-shard report yet")
        for problem in report.problems:
            click.echo(f"chain: {problem}")
        click.echo(f"{len(report.blocks)} blocks verified: {report.verdict}")

    output(as_json).result(report.as_dict(), human)
    if not report.ok:
        raise SystemExit(1)


@click.command("plot")
@click.argument("metrics", type=MetricsFile())
@click.option("-o", "--output", "png", type=PNG_FILE, default=None,
              help="The PNG to write (default: METRICS with .png).")
@json_option
def plot_cmd(metrics: Path, png: Path | None, as_json: bool) -> None:
    """Plot accuracy per round (each miner and the chain) from a `pofl run --metrics` file to a PNG."""
    from offchain.app.reporting import plot_metrics

    path = plot_metrics(metrics, png or metrics.with_suffix(".png"))
    output(as_json).result({"png": str(path)}, lambda: click.echo(path))


COMMANDS = [compile_cmd, info_cmd, blocks_cmd, verify_cmd, plot_cmd]
