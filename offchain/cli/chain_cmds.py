"""``pofl compile | deploy | info | blocks | verify | plot``: the chain-side commands."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from offchain.cli.holdout_cmds import holdout_options, holdout_spec
from offchain.cli.options import (
    Endpoint,
    config_file_option,
    config_from_file_or_options,
    contract_option,
    key_options,
    key_sources,
    rpc_url_option,
    run_config_class,
    run_options,
    signing_key,
)
from offchain.cli.output import json_option, output
from offchain.cli.store_cmds import open_checked_store, store_options
from offchain.cli.tables import blocks_table
from offchain.cli.types import CID, PNG_FILE, MetricsFile
from offchain.defaults import BLOCK_REWARD_WEI, ETH, IN_PROCESS, MIN_STAKE_WEI, REWARD_POOL_WEI

if TYPE_CHECKING:
    from offchain.app.holdout_report import FinalAccuracy
    from offchain.chain.holdout import HoldoutContract
    from offchain.chain.pofl import PoFLContract


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


@contextlib.contextmanager
def chain_endpoint(rpc_url: str | None, devnet_kind: str | None = "anvil", state: Path | None = None,
                   accounts: int = 20) -> Iterator[Endpoint]:
    """``rpc_url``, or an auto-started devnet's URL (with Anvil's ``--state`` and ``accounts`` funded
    accounts) for the duration of the block."""
    if rpc_url:
        if state is not None:
            raise click.UsageError("--state applies to an auto-started Anvil; leave out --rpc-url")
        yield Endpoint(rpc_url)
        return
    from offchain.servers.devnet import start_devnet

    with start_devnet(devnet_kind or "anvil", state=state, accounts=accounts) as devnet:  # type: ignore[arg-type]
        output().note(f"auto-started {devnet.kind} on {devnet.rpc_url} (pid {devnet.pid}, log {devnet.log_path}, "
                      f"removed when it stops)")
        yield Endpoint(devnet.rpc_url, started_here=True)


@click.command("deploy")
@rpc_url_option()
@key_options("Deployer key (0x-hex); on a devnet, dev account 0 by default.")
@run_options
@config_file_option
@click.option("--genesis-cid", type=CID, default=None,
              help="CID of the initial model (default: the run's seeded model of --architecture, put into the store).")
@store_options
@click.option("--min-stake", type=click.FloatRange(min=0, min_open=True), default=MIN_STAKE_WEI / ETH,
              show_default=True, help="ETH a miner must keep staked (the contract's minStake); miners stake it and a "
                                      "margin of forfeitable bonds.")
@click.option("--block-reward", type=click.FloatRange(min=0), default=BLOCK_REWARD_WEI / ETH, show_default=True,
              help="ETH per block.")
@click.option("--reward-pool", type=click.FloatRange(min=0), default=REWARD_POOL_WEI / ETH, show_default=True,
              help="ETH sent to fund rewards.")
@click.option("--deployments-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to record the deployment (default ./deployments, or POFL_DEPLOYMENTS).")
@holdout_options
@json_option
@click.pass_context
def deploy_cmd(ctx: click.Context, rpc_url: str | None, key: str | None, key_file: Path | None,
               keystore: Path | None, config_file: Path | None, genesis_cid: str | None, ipfs_api: str | None,
               store_dir: str, ipfs_timeout: float, min_stake: float, block_reward: float, reward_pool: float,
               deployments_dir: Path | None, holdout_data: str | None, holdout_shards: int | None,
               holdout_shard_size: int, holdout_final_size: int, holdout_keys: Path | None, holdout_bond: float,
               as_json: bool, **options: Any) -> None:
    """Deploy PoFLConsensus for a run and record it, with the run's settings every miner reads, in
    ./deployments/<chainId>-<genesis>/ (start a chain first: `pofl devnet`). With --holdout, deploy a hold-out
    task with it: its rounds are judged on your sealed shards, whose keys `pofl requester` reveals."""
    if not rpc_url or rpc_url == IN_PROCESS:
        raise click.UsageError(("--rpc-url is required" if not rpc_url else f"--rpc-url {IN_PROCESS} is a chain "
                                "inside this command") + ": a contract on a chain this command started would die "
                               "with it. Start a chain with `pofl devnet` (it prints its URL) and pass --rpc-url URL",
                               ctx)
    config = config_from_file_or_options(ctx, run_config_class(), config_file, options)
    if holdout_data is not None and genesis_cid is not None:
        raise click.UsageError("--holdout deploys the run's seeded genesis model: leave out --genesis-cid", ctx)
    if holdout_keys is not None and holdout_keys.exists():
        raise click.BadParameter(f"{holdout_keys} exists: keys are never overwritten", ctx,
                                 param_hint="'--holdout-keys'")
    sources = key_sources(key, key_file, keystore)
    from offchain.app.deployment import Economics, deploy_run
    from offchain.app.preflight import shortfalls
    from offchain.app.requester import planned_keys_path, save_keys
    from offchain.chain.accounts import LocalSigner
    from offchain.chain.connect import connect
    from offchain.chain.tx import InsufficientFunds
    from offchain.paths import DEPLOYMENTS_DIR

    out = output(as_json)
    store = open_checked_store(ipfs_api, store_dir, ipfs_timeout) if genesis_cid is None else None
    w3 = connect(rpc_url)
    signer = LocalSigner(w3, signing_key(Endpoint(rpc_url), w3.eth.chain_id, sources))
    economics = Economics(min_stake=round(min_stake * ETH), block_reward=round(block_reward * ETH),
                          reward_pool=round(reward_pool * ETH))
    bond = holdout_bond if holdout_data is not None else 0.0
    short = shortfalls(w3, [(signer, economics.reward_pool + round(bond * ETH))])
    if short:
        raise InsufficientFunds(f"the deployer {signer.address} holds {short[0].balance / ETH:g} ETH, needs "
                                f"{short[0].needed / ETH:g} ETH for --reward-pool {reward_pool:g}"
                                + (f", --holdout-bond {bond:g}" if bond else "") + " and gas: fund it, lower "
                                "--reward-pool or use another key")
    records = deployments_dir or DEPLOYMENTS_DIR
    spec, keys_path = None, None
    if holdout_data is not None:
        keys_path = planned_keys_path(signer, holdout_keys)
        spec = holdout_spec(holdout_data, holdout_shards, holdout_shard_size, holdout_final_size, holdout_bond)
    elif genesis_cid is None:
        from offchain.app.deployment import publish_genesis

        genesis_cid = publish_genesis(store, config)  # type: ignore[arg-type]
        out.note(f"genesis model ({config.architecture}, seed {config.seed}) stored as {genesis_cid} in {store!r}")
    with out.status(f"sealing {spec.n_shards} shards into the store" if spec else "deploying"):
        deployment = deploy_run(signer, config, store, holdout=spec, economics=economics,  # type: ignore[arg-type]
                                records=records, genesis=genesis_cid)
    extra: dict[str, Any] = {}
    if deployment.holdout is not None and spec is not None:
        assert deployment.keys is not None
        assert keys_path is not None
        keys_path = save_keys(deployment.keys, keys_path)
        out.note(f"hold-out task at {deployment.holdout.address}: {spec.describe()}; keys in {keys_path} (mode "
                 f"0600): keep them, `pofl requester --keys {keys_path}` reveals them on time")
        extra = {"holdout": deployment.holdout.address, "holdout_keys": str(keys_path)}
    _deployed(out, w3, rpc_url, ipfs_api, config, deployment.contract.address, records, extra)


def _deployed(out: Any, w3: Any, rpc_url: str, ipfs_api: str | None, config: Any, address: str, records: Path,
              extra: dict[str, Any]) -> None:
    """Report a deployment recorded in ``records``."""
    from offchain.chain.deploy import chain_key, read_record, record_path
    from offchain.chain.pofl import PoFLContract
    from offchain.redaction import redact_url

    contract = PoFLContract.attach(w3, address)
    record = read_record(chain_key(w3), "PoFLConsensus", records)
    path = record_path(record.chain_key, record.contract, records)
    url = redact_url(rpc_url)
    deployed = [record] + ([read_record(chain_key(w3), "PoFLHoldout", records, extra["holdout"])]
                           if "holdout" in extra else [])
    gas, cost = sum(r.gas_used for r in deployed), sum(r.cost_wei for r in deployed)
    report = {"address": record.address, "tx_hash": record.tx_hash, "block": record.block_number,
              "chain_id": record.chain_id, "record": str(path), "genesis_cid": contract.block_at(0).cid,
              "gas_used": gas, "cost_wei": cost, "value_wei": sum(r.value_wei for r in deployed),
              "settings": record.settings, "contract": _info(contract), **extra}

    def human() -> None:
        click.echo(f"deployed PoFLConsensus at {record.address} (block {record.block_number}, tx {record.tx_hash})")
        click.echo(f"gas used: {gas:,}" + (" (the task and the consensus)" if len(deployed) > 1 else "")
                   + f"; cost {cost / ETH:.6f} ETH besides the {report['value_wei'] / ETH:g} ETH sent")
        click.echo(f"recorded in {path}, with the run's settings every miner reads")
        click.echo(f"miners: pofl miner --rpc-url {url} --clients I/{config.n_miners}"
                   + (f" --ipfs-api {ipfs_api}" if ipfs_api else "") + "   (key: POFL_KEY, --key-file or --keystore)")

    out.result(report, human)


@click.command("info")
@rpc_url_option(required=True)
@contract_option()
@json_option
def info_cmd(rpc_url: str, address: str | None, as_json: bool) -> None:
    """Read back a deployed PoFLConsensus: configuration, round, phase, miners, latest block."""
    from offchain.chain.connect import connect
    from offchain.chain.pofl import PoFLContract

    info = _info(PoFLContract.attach(connect(rpc_url), address))

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


def _info(contract: PoFLContract) -> dict[str, Any]:
    from dataclasses import asdict

    state = contract.current_phase()
    head = contract.latest_block()
    return {"address": contract.address, "config": asdict(contract.config()),
            "round": state.round, "phase": state.phase.name, "miners": len(contract.miners()),
            "blocks": contract.block_count(), "latestBlock": {**asdict(head), "cid": head.cid},
            "holdout": contract.holdout_address(), **contract.balances()}


@click.command("blocks")
@rpc_url_option(required=True)
@contract_option()
@store_options
@json_option
def blocks_cmd(rpc_url: str, address: str | None, ipfs_api: str | None, store_dir: str, ipfs_timeout: float,
               as_json: bool) -> None:
    """List the PoFL chain's blocks as the contract stores them. Hold-out mode, once the task has ended: each
    block's model measured on the final shard (from the store) and its gap (recorded minus final accuracy)."""
    from dataclasses import asdict

    from offchain.chain.connect import connect
    from offchain.chain.holdout import HoldoutContract
    from offchain.chain.pofl import PoFLContract

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
@rpc_url_option(required=True)
@contract_option()
@store_options
@json_option
def verify_cmd(rpc_url: str, address: str | None, ipfs_api: str | None, store_dir: str, ipfs_timeout: float,
               as_json: bool) -> None:
    """Replay the chain: every block's model by CID, its integrity, parent links and accuracy. Exit 1 unless
    every block checks out (verdict OK; UNAVAILABLE when models could not be had; MISMATCH when one is wrong).
    Hold-out mode: each block is measured on its round's shard (opened with the key the chain recorded) and
    its parent on the same shard; once the task has ended, every block on the final shard too."""
    from offchain.app.verify import verify_chain
    from offchain.chain.connect import connect
    from offchain.chain.pofl import PoFLContract

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


COMMANDS = [compile_cmd, deploy_cmd, info_cmd, blocks_cmd, verify_cmd, plot_cmd]
