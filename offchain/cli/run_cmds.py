"""``pofl deploy`` (a run's contract), ``pofl run`` (the PoFL workload end to end on a chain and a store) and
``pofl miner`` (one miner).

Both check everything they can before anything happens: every option's form and range when the
command line is parsed, then the store (an IPFS node must answer as one), the keys, the funds of
every account that will send a transaction, and the settings against the contract's — only then is
a contract deployed or a miner registered.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from offchain.cli.holdout_cmds import holdout_options, holdout_spec
from offchain.cli.options import (
    Endpoint,
    any_setting_given,
    config_file_option,
    config_from_file_or_options,
    config_from_options,
    contract_option,
    given_on_command_line,
    key_options,
    key_sources,
    rpc_url_option,
    run_config_class,
    run_options,
    signing_key,
)
from offchain.cli.output import NORMAL, Output, configure_logging, json_option, output
from offchain.cli.store_cmds import open_checked_store, store_options
from offchain.cli.types import CID, CLIENTS, JSON_FILE, PNG_FILE, SUPERLINK
from offchain.cli.watch_cmds import bind_page_port, port_option, start_page, wait_for_interrupt
from offchain.defaults import BLOCK_REWARD_WEI, ETH, HOLDOUT_SHARDS, IN_PROCESS, MIN_STAKE_WEI, REWARD_POOL_WEI

if TYPE_CHECKING:
    from offchain.miner.run_config import RunConfig
    from offchain.miner.selection import ClientSpec

DEFAULT_MAX_ROUNDS = 200
CONTRACT_SETTINGS = {"--threshold": ("threshold",), "--no-improvement": ("require_improvement",),
                     "--phase-seconds": ("phase_seconds",)}
"""The run options a deployed contract fixes (offchain.app.deployment.differences), and their settings."""
MINER_LOGS = Path(".pofl/miner-logs")


def _miner_keys(ctx: click.Context, param: click.Parameter, path: Path | None) -> list[str] | None:
    """The --miner-keys file's keys (one per line), checked when the command line is parsed."""
    if path is None:
        return None
    from offchain.chain.keys import check_private_key
    from offchain.errors import ConfigError

    try:
        lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
        return [check_private_key(ln, f"line {i + 1}") for i, ln in enumerate(lines)]
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path}: cannot read it ({exc})", ctx, param) from None
    except ConfigError as exc:
        raise click.BadParameter(f"{path}: {exc}", ctx, param) from None


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
    from offchain.app.reporting import contract_summary
    from offchain.chain.consensus import PoFLContract
    from offchain.chain.deploy import chain_key, read_record, record_path
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
              "settings": record.settings, "contract": contract_summary(contract), **extra}

    def human() -> None:
        click.echo(f"deployed PoFLConsensus at {record.address} (block {record.block_number}, tx {record.tx_hash})")
        click.echo(f"gas used: {gas:,}" + (" (the task and the consensus)" if len(deployed) > 1 else "")
                   + f"; cost {cost / ETH:.6f} ETH besides the {report['value_wei'] / ETH:g} ETH sent")
        click.echo(f"recorded in {path}, with the run's settings every miner reads")
        click.echo(f"miners: pofl miner --rpc-url {url} --clients I/{config.n_miners}"
                   + (f" --ipfs-api {ipfs_api}" if ipfs_api else "") + "   (key: POFL_KEY, --key-file or --keystore)")

    out.result(report, human)


@click.command("run")
@click.option("--consensus", type=click.Choice(["pofl", "scaled", "pow", "pos"]), default="pofl", show_default=True,
              help="pofl; scaled, PoFL on the scaled mode's contract (signed claims, a sampled committee, no cap on "
                   "--miners: docs/scaling.md); or flexBlock's pow / pos notebook on its own contract (--miners: "
                   "PoW's miners, PoS's nodes).")
@run_options
@click.option("--rounds", type=click.IntRange(min=1), default=None, help="Run this many rounds.")
@click.option("--until-accuracy", type=click.FloatRange(0, 1), default=None,
              help="Stop at the first block at or above this accuracy (default 0.6 when --rounds is not given).")
@click.option("--max-rounds", type=click.IntRange(min=1), default=DEFAULT_MAX_ROUNDS, show_default=True,
              help="Stop after this many rounds even if --until-accuracy is not reached.")
@rpc_url_option()
@key_options("Owner key that deploys the contract; on a devnet, dev account 0.")
@click.option("--miner-keys", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              callback=_miner_keys,
              help="File with one private key (0x-hex) per line for the miners; required off a local devnet "
                   "(on one, dev accounts 1..N).")
@contract_option("Use this deployed contract instead of deploying one (its settings win over the options).")
@click.option("--devnet", type=click.Choice(["anvil", "hardhat"]), default="anvil", show_default=True,
              help="The devnet to auto-start when no --rpc-url is given.")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Anvil state file: the whole run (chain and deployment record) resumes from it after a restart.")
@store_options
@click.option("--processes", is_flag=True, help="Run each miner as its own `pofl miner` process.")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path), default=MINER_LOGS, show_default=True,
              help="Where the miner processes of --processes log (miner-<i>.log).")
@click.option("--metrics", type=JSON_FILE, default=None,
              help="Write round metrics (JSON), rewritten after every round.")
@click.option("--plot", type=PNG_FILE, default=None,
              help="Write a PNG of accuracy when the run ends (Ctrl-C included).")
@holdout_options
@click.option("--holdout-keep-open", is_flag=True,
              help="Hold-out mode: leave the task open when the run ends (default: end it, revealing the final "
                   "shard, and report every block's accuracy on it).")
@click.option("--watch", is_flag=True,
              help="Serve a live page of the run on 127.0.0.1 (as `pofl watch`) and print its address; it stays up "
                   "after the run until Ctrl-C.")
@port_option("--watch-port", "The page's loopback port (with --watch); 0 picks a free one.")
@json_option
@click.option("--cheat", "cheaters", type=click.IntRange(min=0), multiple=True, hidden=True,
              help="Miner index that claims 0.99 (a demo of a false claim being slashed).")
@click.pass_context
def run_cmd(ctx: click.Context, consensus: str, rounds: int | None, until_accuracy: float | None, max_rounds: int,
            rpc_url: str | None, key: str | None, key_file: Path | None, keystore: Path | None,
            miner_keys: list[str] | None, address: str | None, devnet: str, state: Path | None, ipfs_api: str | None,
            store_dir: str, ipfs_timeout: float, processes: bool, log_dir: Path, metrics: Path | None,
            plot: Path | None, holdout_data: str | None, holdout_shards: int | None, holdout_shard_size: int,
            holdout_final_size: int, holdout_keys: Path | None, holdout_bond: float, holdout_keep_open: bool,
            watch: bool, watch_port: int, as_json: bool, cheaters: tuple[int, ...], **options: Any) -> None:
    """Run PoFL end to end: N miners on one chain and one store (default: auto-started Anvil, embedded store).
    With --watch, a live page of the run (see `pofl watch`)."""
    from offchain.errors import ConfigError

    out = output(as_json)
    if rpc_url and state is not None:
        raise click.UsageError("--state applies to an auto-started Anvil; leave out --rpc-url", ctx)
    if rounds is None and until_accuracy is None:
        until_accuracy = 0.6
    overrides = {}
    if until_accuracy is not None and not given_on_command_line(ctx, ("threshold",)):
        overrides["threshold"] = until_accuracy
    if consensus == "scaled":
        overrides["scaled"] = True
    config = config_from_options(run_config_class(), options, **overrides)
    if consensus == "scaled":
        _refuse_pofl_only(ctx, consensus, processes=processes, holdout=holdout_data is not None, watch=watch,
                          contract=address is not None, metrics=metrics is not None, plot=plot is not None,
                          cheat=bool(cheaters))
        from offchain.cli.consensus_run import run_scaled_consensus

        store = open_checked_store(ipfs_api, store_dir)
        with chain_endpoint(rpc_url, devnet, state, accounts=max(20, config.n_miners + 2)) as endpoint:
            run_scaled_consensus(config, rounds=rounds or max_rounds,
                                 until_accuracy=until_accuracy if rounds is None else None, endpoint=endpoint,
                                 key_sources=key_sources(key, key_file, keystore), miner_keys=miner_keys, store=store,
                                 out=out)
        return
    if consensus != "pofl":
        _refuse_pofl_only(ctx, consensus, processes=processes, holdout=holdout_data is not None, watch=watch,
                          contract=address is not None, state=state is not None, metrics=metrics is not None,
                          plot=plot is not None, cheat=bool(cheaters))
        from offchain.chain.connect import connect
        from offchain.cli.consensus_run import run_consensus_pool

        with chain_endpoint(rpc_url, devnet, None, accounts=max(20, config.n_miners + 2)) as endpoint:
            owner_key = (signing_key(endpoint, connect(endpoint.url).eth.chain_id, key_sources(key, key_file, keystore))
                         if miner_keys else None)
            run_consensus_pool(consensus, n_miners=config.n_miners, clients_per_round=config.clients_per_round,
                               seed=config.seed, rounds=rounds or max_rounds,
                               until_accuracy=until_accuracy if rounds is None else None, endpoint_url=endpoint.url,
                               owner_key=owner_key, miner_keys=miner_keys, ipfs_api=ipfs_api, store_dir=store_dir,
                               out=out)
        return
    if config.target_schedule != "fixed":
        out.note(f"--target-schedule {config.target_schedule} is recorded in the run's metrics; the deployed "
                 f"contract enforces only its fixed threshold (the engine applies the schedule)")
    bad_cheaters = [i for i in cheaters if i >= config.n_miners]
    if bad_cheaters:
        raise click.BadParameter(f"miner {bad_cheaters[0]} of {config.n_miners}", ctx, param_hint="'--cheat'")
    if miner_keys is not None and len(miner_keys) < config.n_miners:
        raise ConfigError(f"--miner-keys holds {len(miner_keys)} keys; --miners {config.n_miners} needs as many")
    page_socket = bind_page_port(watch_port, "'--watch-port'") if watch else None  # a port in use: said now
    if page_socket is not None:
        ctx.call_on_close(page_socket.close)
    sources = key_sources(key, key_file, keystore)
    from offchain.fl.device import default_device

    default_device()  # a POFL_DEVICE this machine lacks is named now, not after the chain has started
    store = open_checked_store(ipfs_api, store_dir)
    given = {option for option, path in CONTRACT_SETTINGS.items() if given_on_command_line(ctx, path)}
    holdout = None
    if holdout_data is not None:
        if address is not None:
            raise click.UsageError("--holdout deploys a new hold-out task: leave out --contract (for a deployed "
                                   "task, give its key file with --holdout-keys)", ctx)
        holdout = holdout_spec(holdout_data, holdout_shards, holdout_shard_size, holdout_final_size, holdout_bond,
                               default_shards=rounds or HOLDOUT_SHARDS)
    from offchain.app.run import HoldoutPlan, RunPlan, RunSession, Stop

    plan = RunPlan(config, store, ipfs_api, store_dir, miner_keys, address, state, frozenset(given),
                   HoldoutPlan(holdout, holdout_keys, not holdout_keep_open), frozenset(cheaters))
    session = RunSession(plan, out)
    stop = Stop(rounds if rounds is not None else max_rounds, until_accuracy if rounds is None else None)
    from offchain.chain.accounts import LocalSigner
    from offchain.chain.connect import connect

    with contextlib.ExitStack() as stack:
        endpoint = stack.enter_context(chain_endpoint(rpc_url, devnet, state, accounts=max(20, config.n_miners + 1)))
        w3 = connect(endpoint.url)
        owner = LocalSigner(w3, signing_key(endpoint, w3.eth.chain_id, sources))
        session.start(owner, endpoint.url, started_here=endpoint.started_here)
        if page_socket is not None:
            page = _serve_page(session, endpoint.url, page_socket, store)
            stack.callback(page.stop)
            out.line(f"watch the run at {page.url}")
        summary = session.loop(stop, processes=processes, log_dir=log_dir, metrics=metrics, plot=plot)
        _report(out, session, summary)
        if summary.interrupted:
            raise KeyboardInterrupt
        if page_socket is not None:
            out.note(f"the run has ended; its page stays up at {page.url} until Ctrl-C")
            sys.stdout.flush()
            wait_for_interrupt()


def _refuse_pofl_only(ctx: click.Context, consensus: str, **given: bool) -> None:
    """--consensus scaled|pow|pos: the per-miner PoFL run's own options do not apply."""
    used = [f"--{name}" for name, on in given.items() if on]
    if used:
        raise click.UsageError(f"{', '.join(used)} apply to --consensus pofl only, not {consensus}", ctx)


def _serve_page(session: Any, url: str, sock: Any, store: Any) -> Any:
    """``pofl run --watch``: the page of the run's contract, read over a connection of its own."""
    from offchain.chain.connect import connect
    from offchain.chain.consensus import PoFLContract
    from offchain.cli.watch_cmds import RPC_TIMEOUT_S

    return start_page(PoFLContract.attach(connect(url, timeout=RPC_TIMEOUT_S), session.contract.address), url, sock,
                      store=store)


def _report(out: Output, session: Any, summary: Any) -> None:
    """The run's table and summary (one JSON document with --json)."""
    from offchain.app.holdout_report import FinalAccuracy
    from offchain.cli.tables import final_table, rounds_table

    out.table(rounds_table(summary.records, genesis_accuracy=summary.genesis_accuracy))
    if summary.holdout_final:
        out.table(final_table([FinalAccuracy(**row) for row in summary.holdout_final]))
    report = summary.as_dict(session.contract)
    out.result(report, lambda: click.echo(
        f"{report['blocks']} blocks; head: block {report['head_height']}"
        + (f" at {report['head_accuracy']:.4f}" if report["head_height"] else " (genesis)")
        + f", {report['head_cid']}"))


@click.command("miner")
@run_options
@config_file_option
@rpc_url_option(required=True)
@contract_option("The PoFLConsensus address; default: this chain's recorded deployment (./deployments).")
@key_options("This miner's private key (0x-hex).")
@click.option("--key-env", default=None, help="Read the key from this environment variable (default POFL_KEY).")
@click.option("--clients", "clients", type=CLIENTS, required=True,
              help="This miner's clients: 'i/N' (miner i of N under the run's seeded assignment) or '0-99,150'.")
@click.option("--index", type=click.IntRange(min=0), default=None,
              help="This miner's number, for logs (default: i of --clients i/N).")
@click.option("--rpc-grace", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds the chain RPC or the store may fail before the miner gives up (exit status 3).")
@click.option("--rounds", type=click.IntRange(min=1), default=None,
              help="Stop after this many rounds (default: run until stopped).")
@click.option("--register", is_flag=True,
              help="Stake the contract's minimum and register if this key is not a miner yet (required off a local "
                   "devnet; on one the miner registers itself).")
@click.option("--deployments-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where deployment records are (default ./deployments, or POFL_DEPLOYMENTS).")
@click.option("--pool", type=click.Choice(["in-process", "flower"]), default="in-process", show_default=True,
              help="Where the miner's clients train: in this process, or on Flower SuperNodes reached through "
                   "--superlink (needs the `flower` extra; docs/flower.md).")
@click.option("--superlink", type=SUPERLINK, default=None,
              help="--pool flower: the SuperLink's HOST:PORT (started with --isolation process). Plain HTTP on "
                   "loopback, else TLS.")
@click.option("--superlink-ca", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="--pool flower: PEM file of the CA that signed the SuperLink's TLS certificate.")
@click.option("--min-nodes", type=click.IntRange(min=1), default=1, show_default=True,
              help="--pool flower: SuperNodes of this miner's clients that must be connected before it starts.")
@click.option("--node-wait", type=click.FloatRange(min=1), default=120.0, show_default=True,
              help="--pool flower: seconds to wait for --min-nodes SuperNodes.")
@click.option("--reply-timeout", type=click.FloatRange(min=1), default=120.0, show_default=True,
              help="--pool flower: seconds a round waits for its nodes' replies before it goes on with those it has.")
@store_options
@click.pass_context
def miner_cmd(ctx: click.Context, config_file: Path | None, rpc_url: str, address: str | None, key: str | None,
              key_file: Path | None, keystore: Path | None, key_env: str | None, clients: ClientSpec,
              index: int | None, rpc_grace: float, rounds: int | None, register: bool, pool: str,
              superlink: Any, superlink_ca: Path | None, min_nodes: int, node_wait: float, reply_timeout: float,
              deployments_dir: Path | None, ipfs_api: str | None, store_dir: str, ipfs_timeout: float,
              **options: Any) -> None:
    """Run one miner: its own key, its own clients, talking to the others only through the chain and the store.

    The run's settings (seed, partition, clients per round, training) come from --config FILE, else from the
    deployment record `pofl deploy` wrote for this chain, else from the options; they are checked against the
    contract, and the miner stakes only after every check has passed."""
    if rpc_url == IN_PROCESS:
        raise click.UsageError(f"--rpc-url {IN_PROCESS} is a chain inside one process: a miner needs the chain the "
                               "other miners use (`pofl devnet` prints its URL)", ctx)
    flower = _flower_settings(ctx, pool, superlink, superlink_ca, min_nodes, node_wait, reply_timeout)
    out = output()
    configure_logging(ctx.find_root().meta.get("pofl.verbosity", NORMAL), default=logging.INFO)
    sources = key_sources(key, key_file, keystore, key_env)
    from offchain.fl.device import default_device

    default_device()
    config = None
    source = "the options"
    if config_file is not None:
        config = config_from_file_or_options(ctx, run_config_class(), config_file, options)
        source = f"--config {config_file}"
    from offchain.app.miner_node import MinerPlan, start_miner
    from offchain.chain.accounts import LocalSigner
    from offchain.chain.connect import connect

    w3 = connect(rpc_url)
    signer = LocalSigner(w3, signing_key(Endpoint(rpc_url), w3.eth.chain_id, sources, dev_key_index=None))
    if config is None:
        config, source, address = _recorded_settings(ctx, w3, address, deployments_dir, options)
    if address is None:
        raise click.UsageError("--contract is required: no deployment is recorded for this chain in "
                               f"{deployments_dir or 'deployments'}/ (run `pofl deploy`, or pass the address)", ctx)
    if clients.share is not None:
        config = _miner_count(ctx, config, clients, source)
    if index is None:
        index = clients.share[0] if clients.share is not None else 0
    store = open_checked_store(ipfs_api, store_dir, timeout=config.fetch_timeout_s)
    plan = MinerPlan(config, source, address, clients, index, rpc_grace, register, flower)
    node = start_miner(signer, plan, store, url=rpc_url, note=out.note)
    where = f" on Flower SuperNodes via {flower.superlink}" if flower is not None else ""
    click.echo(f"miner {index} ({signer.address}) with {node.n_clients} clients{where}, from round "
               f"{node.contract.current_round()}; settings from {source}")
    try:
        node.driver.run(lambda: rounds is not None and len(node.driver.records) >= rounds)
    finally:
        node.close()


def _given(ctx: click.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source != click.core.ParameterSource.DEFAULT


def _flower_settings(ctx: click.Context, pool: str, superlink: Any, superlink_ca: Path | None, min_nodes: int,
                     node_wait: float, reply_timeout: float) -> Any:
    """The Flower pool's settings (None for the in-process pool), checked before anything connects: --superlink
    is required with --pool flower and meaningless without it, and Flower must be installed."""
    flower_only = {"--superlink": superlink is not None, "--superlink-ca": superlink_ca is not None,
                   "--min-nodes": _given(ctx, "min_nodes"),
                   "--node-wait": _given(ctx, "node_wait"),
                   "--reply-timeout": _given(ctx, "reply_timeout")}
    if pool != "flower":
        stray = [name for name, given in flower_only.items() if given]
        if stray:
            raise click.UsageError(f"{', '.join(stray)} apply to --pool flower only", ctx)
        return None
    if superlink is None:
        raise click.UsageError("--pool flower needs --superlink HOST:PORT (the SuperLink the miner's SuperNodes "
                               "connect to)", ctx)
    from offchain.flower import require_flwr

    require_flwr()
    from offchain.flower.pool import FlowerSettings

    return FlowerSettings(superlink, root_certificates=superlink_ca, min_nodes=min_nodes,
                          connect_timeout_s=node_wait, reply_timeout_s=reply_timeout)


def _recorded_settings(ctx: click.Context, w3: Any, address: str | None, deployments_dir: Path | None,
                       options: dict[str, Any]) -> tuple[RunConfig, str, str | None]:
    """The run's settings from the deployment record of this chain (and ``address``), else from the options;
    where they came from; the contract's address (the recorded one when none was given)."""
    from offchain.app.miner_node import recorded_settings, settings_of
    from offchain.paths import DEPLOYMENTS_DIR

    found = recorded_settings(w3, deployments_dir or DEPLOYMENTS_DIR, address)
    if found is None:
        return config_from_options(run_config_class(), options), "the options", address
    record, path = found
    given = any_setting_given(ctx, run_config_class())
    if given:
        raise click.UsageError(f"the deployment record {path} holds the run's settings, which every miner reads; "
                               f"leave out {', '.join(given)}", ctx)
    return settings_of(record, path), str(path), address or record.address


def _miner_count(ctx: click.Context, config: RunConfig, clients: ClientSpec, source: str) -> RunConfig:
    """``--clients i/N`` says how many miners the run has: N, which must agree with the settings'."""
    import dataclasses

    from offchain.errors import ConfigError

    assert clients.share is not None
    n = clients.share[1]
    if n == config.n_miners:
        return config
    if source != "the options" or given_on_command_line(ctx, ("n_miners",)):
        raise ConfigError(f"--clients {clients.text} says the run has {n} miners, {source} says {config.n_miners}")
    return dataclasses.replace(config, n_miners=n)


COMMANDS = [deploy_cmd, run_cmd, miner_cmd]
