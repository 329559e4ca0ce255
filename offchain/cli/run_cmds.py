"""``pofl run``: the PoFL workload end to end on a chain and a store."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from offchain.cli.config_options import any_setting_given, config_from_options, config_options, given_on_command_line
from offchain.cli.options import Endpoint, key_options, rpc_url_option, signing_key
from offchain.cli.store_cmds import store_options

DEFAULT_MAX_ROUNDS = 200


def _run_config_class() -> type:
    from offchain.miner.run_config import RunConfig

    return RunConfig


def _parameter_options(fn):  # type: ignore[no-untyped-def]
    """The aggregator's and the attack's NAME=NUMBER parameters (RunConfig's two mapping settings)."""
    fn = click.option("--attack-option", "attack_options", multiple=True, metavar="NAME=NUMBER",
                      help="Attack parameter (backdoor: target, poison_fraction, trigger_size; boost: factor).")(fn)
    fn = click.option("--aggregator-option", "aggregator_options", multiple=True, metavar="NAME=NUMBER",
                      help="Aggregator parameter (trimmed: beta; krum: f; multikrum: f, m; clip: max_norm).")(fn)
    return fn


def run_options(fn):  # type: ignore[no-untyped-def]
    """Every setting of RunConfig as an option (derived from its fields), and the parameter options."""
    return config_options(_run_config_class())(_parameter_options(fn))


def run_config(options: dict, **overrides: object):  # type: ignore[no-untyped-def]
    """The RunConfig of a command's options (popped from ``options``)."""
    from offchain.fl.options import parse_options

    overrides["aggregator_options"] = parse_options(options.pop("aggregator_options", ()), "--aggregator-option")
    overrides["attack_options"] = parse_options(options.pop("attack_options", ()), "--attack-option")
    return config_from_options(_run_config_class(), options, **overrides)


@click.command("run")
@run_options
@click.option("--rounds", type=click.IntRange(min=1), default=None, help="Run this many rounds.")
@click.option("--until-accuracy", type=float, default=None,
              help="Stop at the first block at or above this accuracy (default 0.6 when --rounds is not given).")
@click.option("--max-rounds", type=click.IntRange(min=1), default=DEFAULT_MAX_ROUNDS, show_default=True,
              help="Stop after this many rounds even if --until-accuracy is not reached.")
@rpc_url_option()
@key_options("Owner key that deploys the contract; on a devnet, dev account 0.")
@click.option("--miner-keys", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File with one private key (0x-hex) per line for the miners; required off a local devnet "
                   "(on one, dev accounts 1..N).")
@click.option("--contract", "address", default=None, help="Use this deployed contract instead of deploying.")
@click.option("--devnet", type=click.Choice(["anvil", "hardhat"]), default="anvil", show_default=True,
              help="The devnet to auto-start when no --rpc-url is given.")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Anvil state file: the whole run (chain and deployment record) resumes from it after a restart.")
@store_options
@click.option("--processes", is_flag=True, help="Run each miner as its own `pofl miner` process.")
@click.option("--metrics", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write round metrics.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a PNG of accuracy.")
@click.option("--cheat", "cheaters", type=int, multiple=True, hidden=True,
              help="Miner index that claims 0.99 (a demo of a false claim being slashed).")
@click.pass_context
def run_cmd(ctx: click.Context, rounds: int | None, until_accuracy: float | None, max_rounds: int,
            rpc_url: str | None,
            key: str | None, key_file: Path | None, keystore: Path | None, miner_keys: Path | None,
            address: str | None, devnet: str, state: Path | None, ipfs_api: str | None, store_dir: str,
            processes: bool, metrics: Path | None, plot: Path | None, cheaters: tuple[int, ...], **options) -> None:  # type: ignore[no-untyped-def]
    """Run PoFL end to end: N miners on one chain and one store (default: auto-started Anvil, embedded store)."""
    from offchain.cli.chain_cmds import chain_endpoint

    if rounds is None and until_accuracy is None:
        until_accuracy = 0.6
    rounds_cap = rounds if rounds is not None else max_rounds
    overrides = {}
    if until_accuracy is not None and not given_on_command_line(ctx, ("threshold",)):
        overrides["threshold"] = until_accuracy
    config = run_config(options, **overrides)
    if config.target_schedule != "fixed":
        click.echo(f"note: --target-schedule {config.target_schedule} is recorded in the run's metrics; the "
                   f"deployed contract enforces only its fixed threshold (the engine applies the schedule)", err=True)
    with chain_endpoint(rpc_url, devnet, state) as endpoint:
        _run(endpoint, (key, key_file, keystore), miner_keys, address, state, ipfs_api, store_dir, processes, config,
             rounds_cap, until_accuracy if rounds is None else None, metrics, plot, frozenset(cheaters))


def _run(endpoint: Endpoint, owner_key: tuple[str | None, Path | None, Path | None], miner_keys: Path | None,
         address: str | None, state: Path | None, ipfs_api: str | None, store_dir: str, processes: bool,
         config, rounds: int, until_accuracy: float | None,  # type: ignore[no-untyped-def]
         metrics: Path | None, plot: Path | None, cheaters: frozenset[int]) -> None:
    from rich.console import Console

    from offchain.chain.accounts import LocalSigner
    from offchain.chain.connect import connect
    from offchain.miner.claims import HonestClaims, InflatedClaims
    from offchain.miner.driver import RoundDriver
    from offchain.miner.metrics import plot_metrics, round_table, write_metrics
    from offchain.miner.network import check_compatible, deploy_or_attach, ensure_registered, miner_signers
    from offchain.miner.strategy import WorkloadStrategy
    from offchain.miner.workload import Workload
    from offchain.redaction import redact_url
    from offchain.store import open_store

    console = Console()
    url = endpoint.url
    w3 = connect(url)
    chain_id = w3.eth.chain_id
    owner = LocalSigner(w3, signing_key(endpoint, chain_id, *owner_key))
    keys = read_miner_keys(miner_keys, endpoint, chain_id)
    store = open_store(ipfs_api, store_dir)
    with console.status("loading MNIST and the federation"):
        workload = Workload(config)
    # A fresh contract per run, unless --contract names one or --state resumes the recorded one.
    deployments = state.with_suffix(".deployments") if state else None
    contract = deploy_or_attach(w3, owner, config, workload, store, deployments, address)
    check_compatible(contract, workload)
    signers = miner_signers(w3, config.n_miners, keys)
    ensure_registered(contract, signers)
    console.print(f"PoFLConsensus at {contract.address} on {redact_url(url)}; {config.n_miners} miners; "
                  f"store {store!r}; device {workload.device}")
    if processes:
        from offchain.miner.processes import run_miner_processes

        started_from = contract.latest_block()  # each child adopts the head it finds
        records = run_miner_processes(url, contract, signers, config, ipfs_api, store_dir, rounds, until_accuracy,
                                      console)
    else:
        claims = InflatedClaims(frozenset(cheaters)) if cheaters else HonestClaims()
        with console.status("starting") as status:
            driver = RoundDriver(contract, store, workload.flat, config.architecture, signers,
                                 WorkloadStrategy(workload), claims=claims, fetch_timeout_s=config.fetch_timeout_s,
                                 progress=status.update)
            started = time.perf_counter()
            while True:
                record = driver.run_round()
                console.print(_row(record))
                if until_accuracy is not None and record.chain_accuracy >= until_accuracy \
                        and record.winner is not None:
                    break
                if len(driver.records) >= rounds:
                    if until_accuracy is not None:
                        console.print(f"stopped after {rounds} rounds (--max-rounds) without a block at "
                                      f"{until_accuracy}")
                    break
        driver.close()
        records = driver.records
        started_from = driver.started_from
        console.print(f"{len(records)} rounds in {time.perf_counter() - started:.1f} s")
    console.print(round_table(records))
    meta = {"n_miners": config.n_miners, "threshold": config.threshold, "dataset": "MNIST",
            "aggregator": config.aggregator, "aggregator_options": dict(config.aggregator_options),
            "attack": config.attack, "attack_assignment": config.attack_assignment,
            "attack_fraction": config.attack_fraction, "target_schedule": config.target_schedule,
            "block_momentum": config.block_momentum,
            "contract": contract.address, "rpc_url": redact_url(url), "seed": config.seed,
            "clients_per_round": config.clients_per_round,
            "started_from": {"height": started_from.height, "cid": started_from.cid} if started_from else None}
    if metrics or plot:
        metrics = metrics or plot.with_suffix(".json")  # type: ignore[union-attr]
        write_metrics(records, metrics, meta)
        console.print(f"metrics: {metrics}")
        if plot:
            console.print(f"plot: {plot_metrics(metrics, plot)}")
    head = contract.latest_block()
    console.print(json.dumps({"blocks": contract.block_count() - 1, "head_height": head.height,
                              "head_accuracy": head.accuracy, "head_cid": head.cid}))


def read_miner_keys(path: Path | None, endpoint: Endpoint, chain_id: int) -> list[str] | None:
    """The miners' keys from ``path`` (one per line), or None for the dev accounts on a local devnet."""
    from offchain.chain.keys import KeySources, check_private_key, dev_keys_allowed
    from offchain.errors import KeyPolicyError

    if path is None:
        if dev_keys_allowed(endpoint.url, chain_id, started_here=endpoint.started_here):
            return None
        raise KeyPolicyError("this chain is not a local devnet: give the miners' keys with --miner-keys FILE "
                             "(one 0x-hex key per line), and the owner's with POFL_KEY or --keystore")
    lines = [ln for ln in KeySources(key_file=path).key_file.read_text().splitlines() if ln.strip()]  # type: ignore[union-attr]
    return [check_private_key(ln, f"--miner-keys {path} line {i + 1}") for i, ln in enumerate(lines)]


def _row(r) -> str:  # type: ignore[no-untyped-def]
    outcome = (f"block {r.block_height} by miner {r.winner}: claimed {r.claimed_accuracy:.4f}, validated "
               f"{r.validated_accuracy:.4f}" if r.winner is not None and r.validated_accuracy is not None
               else f"block {r.block_height} by miner {r.winner}" if r.winner is not None else "no block")
    split = " ".join(f"{k} {v:.2f}" for k, v in sorted(r.seconds.items()))
    rejected = f"; rejected {r.rejected}" if r.rejected else ""
    return f"round {r.round}: {outcome}{rejected}; chain {r.chain_accuracy:.4f}; {split}"


@click.command("miner")
@run_options
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Read the run's settings from this JSON file (as `pofl run --processes` writes it) instead of "
                   "the options above.")
@rpc_url_option(required=True)
@click.option("--contract", "address", required=True, help="The PoFLConsensus address.")
@key_options("This miner's private key (0x-hex).")
@click.option("--key-env", default=None, help="Read the key from this environment variable (default POFL_KEY).")
@click.option("--clients", "clients_spec", required=True,
              help="This miner's clients: 'i/N' (miner i of N under the run's seeded assignment) or '0-99,150'.")
@click.option("--index", type=int, default=0, help="This miner's number, for logs.")
@click.option("--rpc-grace", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds the chain RPC or the store may fail before the miner gives up (exit status 3).")
@click.option("--rounds", type=click.IntRange(min=1), default=None,
              help="Stop after this many rounds (default: run until stopped).")
@store_options
@click.pass_context
def miner_cmd(ctx: click.Context, config_file: Path | None, rpc_url: str, address: str, key: str | None,
              key_file: Path | None, keystore: Path | None, key_env: str | None, clients_spec: str, index: int,
              rpc_grace: float, rounds: int | None, ipfs_api: str | None, store_dir: str, **options) -> None:  # type: ignore[no-untyped-def]
    """Run one miner: its own key, its own clients, talking to the others only through the chain and the store."""
    import logging

    from offchain.chain.accounts import LocalSigner
    from offchain.chain.connect import connect
    from offchain.chain.pofl import PoFLContract
    from offchain.miner.driver import RoundDriver
    from offchain.miner.network import check_compatible, ensure_registered
    from offchain.miner.selection import parse_clients
    from offchain.miner.strategy import WorkloadStrategy
    from offchain.miner.workload import Workload
    from offchain.store import open_store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if config_file is not None:
        given = any_setting_given(ctx, _run_config_class())
        if given:
            raise click.UsageError(f"--config {config_file} holds the run's settings; leave out {', '.join(given)}")
        config = _run_config_class().read(config_file)
    else:
        config = run_config(options)
    w3 = connect(rpc_url)
    key = signing_key(Endpoint(rpc_url), w3.eth.chain_id, key, key_file, keystore, dev_key_index=None,
                      env_var=key_env)
    contract = PoFLContract.attach(w3, address)
    workload = Workload(config)
    check_compatible(contract, workload)
    clients = parse_clients(clients_spec, workload.owners)
    signer = LocalSigner(w3, key)
    ensure_registered(contract, [signer])
    strategy = WorkloadStrategy(workload, workload.restricted_to(clients), trainer_index={0: 0})
    store = open_store(ipfs_api, store_dir, timeout=config.fetch_timeout_s)
    driver = RoundDriver(contract, store, workload.flat, config.architecture, [signer], strategy, indices=[index],
                         poll_s=0.1, fetch_timeout_s=config.fetch_timeout_s, rpc_grace_s=rpc_grace,
                         finalize_stagger_s=0.15)
    first = contract.current_round()
    click.echo(f"miner {index} ({signer.address}) with {len(clients)} clients, from round {first}")
    try:
        driver.run(lambda: rounds is not None and len(driver.records) >= rounds)
    finally:
        driver.close()


COMMANDS = [run_cmd, miner_cmd]
