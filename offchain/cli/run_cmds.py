"""``pofl run``: the PoFL workload end to end on a chain and a store."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from offchain.cli.options import key_option, resolve_key, rpc_url_option
from offchain.cli.store_cmds import store_options


def run_options(fn):  # type: ignore[no-untyped-def]
    """The run's shared configuration: what every miner must agree on (notebook defaults)."""
    for option in reversed([
        click.option("--miners", "n_miners", type=int, default=10, show_default=True),
        click.option("--clients-per-round", type=int, default=20, show_default=True,
                     help="Clients drawn from all clients each round (the notebook's select(20))."),
        click.option("--epochs", type=int, default=1, show_default=True),
        click.option("--batch-size", type=int, default=20, show_default=True),
        click.option("--lr", type=float, default=1e-3, show_default=True),
        click.option("--partition", default="benchmark", show_default=True,
                     help="benchmark (the shipped Dirichlet(0.5) 1,000-client split), iid, dirichlet, shards, "
                          "or a federation .npz."),
        click.option("--n-clients", type=int, default=1000, show_default=True, help="For iid/dirichlet/shards."),
        click.option("--alpha", type=float, default=0.5, show_default=True, help="Dirichlet concentration."),
        click.option("--architecture", default="simplenet", show_default=True),
        click.option("--aggregator", default="fedavg", show_default=True,
                     help="Pool aggregator: fedavg, weighted, median, trimmed, krum, multikrum or clip "
                          "(offchain.fl.strategies.AGGREGATORS)."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--threshold", type=float, default=None,
                     help="Accuracy a block must reach (default: --until-accuracy, else 0.6)."),
        click.option("--no-improvement", is_flag=True, help="flexBlock's rule: blocks need not beat their parent."),
        click.option("--phase-seconds", type=int, default=30, show_default=True,
                     help="Phase deadline (phases close early when every miner has acted)."),
        *experiment_options(),
    ]):
        fn = option(fn)
    return fn


def experiment_options() -> list:  # type: ignore[type-arg]
    """Options of offchain.fl.simulation.EngineConfig for aggregation, attacks, the target and momentum
    (checked, with the valid choices named, when the configuration is built)."""
    return [
        click.option("--aggregator-option", "aggregator_options", multiple=True, metavar="NAME=NUMBER",
                     help="Aggregator parameter (trimmed: beta; krum: f; multikrum: f, m; clip: max_norm)."),
        click.option("--attack", default="none", show_default=True,
                     help="Poisoned clients, for experiments: none, labelflip, backdoor, boost, or '+'-joined."),
        click.option("--attack-assignment", default="clients", show_default=True,
                     help="clients (a share of all clients), miners (all clients of a share of miners) or "
                          "one_per_pool (one drawn client of every pool each round)."),
        click.option("--attack-fraction", type=float, default=0.3, show_default=True),
        click.option("--attack-option", "attack_options", multiple=True, metavar="NAME=NUMBER",
                     help="Attack parameter (backdoor: target, poison_fraction, trigger_size; boost: factor)."),
        click.option("--target-schedule", default="fixed", show_default=True,
                     help="fixed (the threshold) or kfc (a + 0.1 (1 - a) after each block)."),
        click.option("--block-momentum", type=float, default=None,
                     help="Look-ahead along the last block delta (default: the engine's)."),
    ]


def build_config(n_miners: int, clients_per_round: int, epochs: int, batch_size: int, lr: float, partition: str,
                 n_clients: int, alpha: float, architecture: str, aggregator: str, seed: int, threshold: float | None,
                 no_improvement: bool, phase_seconds: int, until_accuracy: float | None = None,
                 **experiment):  # type: ignore[no-untyped-def]
    from offchain.fl.options import parse_options
    from offchain.fl.training import TrainConfig
    from offchain.miner.workload import RunConfig

    if threshold is None:
        threshold = until_accuracy if until_accuracy is not None else 0.6
    experiment["aggregator_options"] = parse_options(experiment.get("aggregator_options", ()), "--aggregator-option")
    experiment["attack_options"] = parse_options(experiment.get("attack_options", ()), "--attack-option")
    if experiment.get("block_momentum") is None:
        experiment.pop("block_momentum", None)
    return RunConfig(n_miners=n_miners, clients_per_round=clients_per_round, threshold=threshold,
                     require_improvement=not no_improvement, architecture=architecture, aggregator=aggregator,
                     partition=partition, n_clients=n_clients, alpha=alpha, seed=seed,
                     train=TrainConfig(lr=lr, batch_size=batch_size, epochs=epochs), phase_seconds=phase_seconds,
                     **experiment)


@click.command("run")
@run_options
@click.option("--rounds", type=int, default=None, help="Run this many rounds.")
@click.option("--until-accuracy", type=float, default=None,
              help="Stop at the first block at or above this accuracy (default 0.6 when --rounds is not given).")
@rpc_url_option()
@key_option("Owner key that deploys the contract; on a devnet, dev account 0.")
@click.option("--contract", "address", default=None, help="Use this deployed contract instead of deploying.")
@click.option("--devnet", type=click.Choice(["anvil", "hardhat"]), default="anvil", show_default=True,
              help="The devnet to auto-start when no --rpc-url is given.")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Anvil state file: the whole run (chain and deployment record) resumes from it after a restart.")
@store_options
@click.option("--processes", is_flag=True, help="Run each miner as its own `pofl miner` process.")
@click.option("--metrics", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write round metrics.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a PNG of accuracy.")
@click.option("--cheat", "cheaters", type=int, multiple=True, hidden=True, help="Miner index that claims 0.99.")
def run_cmd(rounds: int | None, until_accuracy: float | None, rpc_url: str | None, key: str | None,
            address: str | None, devnet: str, state: Path | None, ipfs_api: str | None, store_dir: str,
            processes: bool, metrics: Path | None, plot: Path | None, cheaters: tuple[int, ...], **options) -> None:  # type: ignore[no-untyped-def]
    """Run PoFL end to end: N miners on one chain and one store (default: auto-started Anvil, embedded store)."""
    from offchain.cli.chain_cmds import chain_endpoint

    if rounds is None and until_accuracy is None:
        until_accuracy = 0.6
    config = build_config(**options, until_accuracy=until_accuracy)
    if config.target_schedule != "fixed":
        click.echo(f"note: --target-schedule {config.target_schedule} is recorded in the run's metrics; the "
                   f"deployed contract enforces only its fixed threshold (the engine applies the schedule)", err=True)
    with chain_endpoint(rpc_url, devnet, state) as url:
        _run(url, key, address, state, ipfs_api, store_dir, processes, config, rounds, until_accuracy, metrics, plot,
             frozenset(cheaters))


def _run(url: str, key: str | None, address: str | None, state: Path | None, ipfs_api: str | None, store_dir: str,
         processes: bool, config, rounds: int | None, until_accuracy: float | None,  # type: ignore[no-untyped-def]
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
    from offchain.store import open_store

    console = Console()
    w3 = connect(url)
    owner = LocalSigner(w3, resolve_key(key, w3.eth.chain_id))
    store = open_store(ipfs_api, store_dir)
    with console.status("loading MNIST and the federation"):
        workload = Workload(config)
    # A fresh contract per run, unless --contract names one or --state resumes the recorded one.
    deployments = state.with_suffix(".deployments") if state else None
    contract = deploy_or_attach(w3, owner, config, workload, store, deployments, address)
    check_compatible(contract, workload)
    signers = miner_signers(w3, config.n_miners)
    ensure_registered(contract, signers)
    console.print(f"PoFLConsensus at {contract.address} on {url}; {config.n_miners} miners; store {store!r}; "
                  f"device {workload.device}")
    if processes:
        from offchain.miner.processes import run_miner_processes

        records = run_miner_processes(url, contract, signers, config, ipfs_api, store_dir, rounds, until_accuracy,
                                      console)
    else:
        claims = InflatedClaims(frozenset(cheaters)) if cheaters else HonestClaims()
        with console.status("starting") as status:
            driver = RoundDriver(contract, store, workload.flat, config.architecture, signers,
                                 WorkloadStrategy(workload), claims=claims, progress=status.update)
            started = time.perf_counter()
            while True:
                record = driver.run_round()
                console.print(_row(record))
                if rounds is not None and len(driver.records) >= rounds:
                    break
                if rounds is None and until_accuracy is not None and record.chain_accuracy >= until_accuracy \
                        and record.winner is not None:
                    break
        driver.close()
        records = driver.records
        console.print(f"{len(records)} rounds in {time.perf_counter() - started:.1f} s")
    console.print(round_table(records))
    meta = {"n_miners": config.n_miners, "threshold": config.threshold, "dataset": "MNIST",
            "aggregator": config.aggregator, "aggregator_options": dict(config.aggregator_options),
            "attack": config.attack, "attack_assignment": config.attack_assignment,
            "attack_fraction": config.attack_fraction, "target_schedule": config.target_schedule,
            "block_momentum": config.block_momentum,
            "contract": contract.address, "rpc_url": url, "seed": config.seed,
            "clients_per_round": config.clients_per_round}
    if metrics or plot:
        metrics = metrics or plot.with_suffix(".json")  # type: ignore[union-attr]
        write_metrics(records, metrics, meta)
        console.print(f"metrics: {metrics}")
        if plot:
            console.print(f"plot: {plot_metrics(metrics, plot)}")
    head = contract.latest_block()
    console.print(json.dumps({"blocks": contract.block_count() - 1, "head_height": head.height,
                              "head_accuracy": head.accuracy, "head_cid": head.cid}))


def _row(r) -> str:  # type: ignore[no-untyped-def]
    outcome = (f"block {r.block_height} by miner {r.winner}: claimed {r.claimed_accuracy:.4f}, validated "
               f"{r.validated_accuracy:.4f}" if r.winner is not None and r.validated_accuracy is not None
               else f"block {r.block_height} by miner {r.winner}" if r.winner is not None else "no block")
    split = " ".join(f"{k} {v:.2f}" for k, v in sorted(r.seconds.items()))
    rejected = f"; rejected {r.rejected}" if r.rejected else ""
    return f"round {r.round}: {outcome}{rejected}; chain {r.chain_accuracy:.4f}; {split}"


@click.command("miner")
@run_options
@rpc_url_option(required=True)
@click.option("--contract", "address", required=True, help="The PoFLConsensus address.")
@key_option("This miner's private key (0x-hex).")
@click.option("--key-env", default=None, help="Read the key from this environment variable instead.")
@click.option("--clients", "clients_spec", required=True,
              help="This miner's clients: 'i/N' (miner i of N under the run's seeded assignment) or '0-99,150'.")
@click.option("--index", type=int, default=0, help="This miner's number, for logs.")
@click.option("--rounds", type=int, default=None, help="Stop after this many rounds (default: run until stopped).")
@store_options
def miner_cmd(rpc_url: str, address: str, key: str | None, key_env: str | None, clients_spec: str, index: int,
              rounds: int | None, ipfs_api: str | None, store_dir: str, **options) -> None:  # type: ignore[no-untyped-def]
    """Run one miner: its own key, its own clients, talking to the others only through the chain and the store."""
    import logging
    import os

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
    if key_env:
        key = os.environ.get(key_env)
    if not key:
        raise click.UsageError("give the miner's key with --key, POFL_KEY or --key-env")
    config = build_config(**options)
    w3 = connect(rpc_url)
    contract = PoFLContract.attach(w3, address)
    workload = Workload(config)
    check_compatible(contract, workload)
    clients = parse_clients(clients_spec, workload.owners)
    signer = LocalSigner(w3, key)
    ensure_registered(contract, [signer])
    strategy = WorkloadStrategy(workload, workload.restricted_to(clients), trainer_index={0: 0})
    driver = RoundDriver(contract, open_store(ipfs_api, store_dir), workload.flat, config.architecture, [signer],
                         strategy, indices=[index], poll_s=0.1, finalize_stagger_s=0.15)
    first = contract.current_round()
    click.echo(f"miner {index} ({signer.address}) with {len(clients)} clients, from round {first}")
    try:
        driver.run(lambda: rounds is not None and len(driver.records) >= rounds)
    finally:
        driver.close()


COMMANDS = [run_cmd, miner_cmd]
