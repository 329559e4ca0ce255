"""``pofl run`` (the PoFL workload end to end on a chain and a store) and ``pofl miner`` (one miner).

Both check everything they can before anything happens: every option's form and range when the
command line is parsed, then the store (an IPFS node must answer as one), the keys, the funds of
every account that will send a transaction, and the settings against the contract's — only then is
a contract deployed or a miner registered.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
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
from offchain.cli.types import CLIENTS
from offchain.defaults import HOLDOUT_SHARDS, IN_PROCESS

if TYPE_CHECKING:
    from offchain.app.deployment import HoldoutSpec
    from offchain.app.requester import Requester
    from offchain.chain.keys import KeySources
    from offchain.chain.pofl import PoFLContract
    from offchain.miner.records import RoundRecord
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
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends the command as Ctrl-C does (unwinding: metrics and plot are written, children stopped)."""
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("run")
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
@click.option("--metrics", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write round metrics (JSON), rewritten after every round.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG of accuracy when the run ends (Ctrl-C included).")
@holdout_options
@click.option("--holdout-keep-open", is_flag=True,
              help="Hold-out mode: leave the task open when the run ends (default: end it, revealing the final "
                   "shard, and report every block's accuracy on it).")
@json_option
@click.option("--cheat", "cheaters", type=click.IntRange(min=0), multiple=True, hidden=True,
              help="Miner index that claims 0.99 (a demo of a false claim being slashed).")
@click.pass_context
def run_cmd(ctx: click.Context, rounds: int | None, until_accuracy: float | None, max_rounds: int,
            rpc_url: str | None, key: str | None, key_file: Path | None, keystore: Path | None,
            miner_keys: list[str] | None, address: str | None, devnet: str, state: Path | None, ipfs_api: str | None,
            store_dir: str, ipfs_timeout: float, processes: bool, log_dir: Path, metrics: Path | None,
            plot: Path | None, holdout_data: str | None, holdout_shards: int | None, holdout_shard_size: int,
            holdout_final_size: int, holdout_keys: Path | None, holdout_bond: float, holdout_keep_open: bool,
            as_json: bool, cheaters: tuple[int, ...], **options: Any) -> None:
    """Run PoFL end to end: N miners on one chain and one store (default: auto-started Anvil, embedded store)."""
    from offchain.errors import ConfigError

    out = output(as_json)
    if rpc_url and state is not None:
        raise click.UsageError("--state applies to an auto-started Anvil; leave out --rpc-url", ctx)
    if rounds is None and until_accuracy is None:
        until_accuracy = 0.6
    overrides = {}
    if until_accuracy is not None and not given_on_command_line(ctx, ("threshold",)):
        overrides["threshold"] = until_accuracy
    config = config_from_options(run_config_class(), options, **overrides)
    if config.target_schedule != "fixed":
        out.note(f"--target-schedule {config.target_schedule} is recorded in the run's metrics; the deployed "
                 f"contract enforces only its fixed threshold (the engine applies the schedule)")
    bad_cheaters = [i for i in cheaters if i >= config.n_miners]
    if bad_cheaters:
        raise click.BadParameter(f"miner {bad_cheaters[0]} of {config.n_miners}", ctx, param_hint="'--cheat'")
    if miner_keys is not None and len(miner_keys) < config.n_miners:
        raise ConfigError(f"--miner-keys holds {len(miner_keys)} keys; --miners {config.n_miners} needs as many")
    sources = key_sources(key, key_file, keystore)
    store = open_checked_store(ipfs_api, store_dir)
    given = {option for option, path in CONTRACT_SETTINGS.items() if given_on_command_line(ctx, path)}
    holdout = None
    if holdout_data is not None:
        if address is not None:
            raise click.UsageError("--holdout deploys a new hold-out task: leave out --contract (for a deployed "
                                   "task, give its key file with --holdout-keys)", ctx)
        holdout = holdout_spec(holdout_data, holdout_shards, holdout_shard_size, holdout_final_size, holdout_bond,
                               default_shards=rounds or HOLDOUT_SHARDS)
    run = _Run(out, config, store, ipfs_api, store_dir, sources, miner_keys, address, state, given,
               _HoldoutPlan(holdout, holdout_keys, not holdout_keep_open))
    with _sigterm_interrupts():
        from offchain.cli.chain_cmds import chain_endpoint

        with chain_endpoint(rpc_url, devnet, state, accounts=max(20, config.n_miners + 1)) as endpoint:
            run.start(endpoint)
            run.loop(processes, log_dir, rounds if rounds is not None else max_rounds,
                     until_accuracy if rounds is None else None, metrics, plot, frozenset(cheaters))


@dataclass(frozen=True)
class _HoldoutPlan:
    """What `pofl run` does about hold-out evaluation: deploy a task for ``spec`` (None: public mode, or the
    deployed contract's mode), read or write its keys at ``keys``, end the task when the run ends."""

    spec: HoldoutSpec | None = None
    keys: Path | None = None
    end_task: bool = True


class _Run:
    """One `pofl run`: its checks, its chain side, its rounds and its report."""

    def __init__(self, out: Output, config: RunConfig, store: Any, ipfs_api: str | None, store_dir: str,
                 sources: KeySources, miner_keys: list[str] | None, address: str | None, state: Path | None,
                 given: set[str], holdout: _HoldoutPlan) -> None:
        self.out, self.config, self.store, self.ipfs_api, self.store_dir = out, config, store, ipfs_api, store_dir
        self.sources, self.miner_keys, self.address, self.state, self.given = sources, miner_keys, address, state, given
        self.holdout = holdout
        self.requester: Requester | None = None

    def start(self, endpoint: Endpoint) -> None:
        """Everything before the first round: keys, funds, the workload, the contract, the miners' stakes."""
        from offchain.app.deployment import (
            check_compatible,
            deploy_run,
            describe_unfunded,
            ensure_registered,
            miner_signers,
            stake_needed,
            unfunded,
        )
        from offchain.chain.accounts import LocalSigner
        from offchain.chain.connect import connect
        from offchain.chain.deploy import DeploymentError
        from offchain.chain.keys import dev_keys_allowed
        from offchain.chain.pofl import PoFLContract
        from offchain.chain.tx import InsufficientFunds
        from offchain.defaults import REWARD_POOL_WEI, STAKE_WEI
        from offchain.errors import ConfigError, KeyPolicyError
        from offchain.miner.workload import Workload
        from offchain.paths import DEPLOYMENTS_DIR
        from offchain.redaction import redact_url

        out, url = self.out, endpoint.url
        self.endpoint = endpoint
        w3 = connect(url)
        chain_id = w3.eth.chain_id
        owner = LocalSigner(w3, signing_key(endpoint, chain_id, self.sources))
        if self.miner_keys is None and not dev_keys_allowed(url, chain_id, started_here=endpoint.started_here):
            raise KeyPolicyError("this chain is not a local devnet: give the miners' keys with --miner-keys FILE "
                                 "(one 0x-hex key per line), and the owner's with POFL_KEY or --keystore")
        signers = miner_signers(w3, self.config.n_miners, self.miner_keys)
        contract = None
        if self.address is not None:
            contract = PoFLContract.attach(w3, self.address)
        elif self.state is not None:  # resume the run recorded beside the state file, if there is one
            with contextlib.suppress(DeploymentError):
                contract = PoFLContract.attach(w3, deployments_dir=self.state.with_suffix(".deployments"))
        if contract is not None:
            self._adopt_contract_settings(contract)
            stakes = [stake_needed(contract, s) for s in signers]
        else:
            stakes = [STAKE_WEI] * len(signers)
            short = unfunded(w3, [owner], [REWARD_POOL_WEI])
            if short:
                raise InsufficientFunds(f"the owner's {describe_unfunded(short)} (the reward pool): fund it or "
                                        f"use another key")
        short = unfunded(w3, signers, stakes)
        if short:
            if self.miner_keys is not None:
                raise ConfigError(f"--miner-keys: {describe_unfunded(short)}: fund them")
            raise ConfigError(f"--miners {self.config.n_miners}: dev {describe_unfunded(short)}; the chain at "
                              f"{redact_url(url)} funds too few accounts: start it with `pofl devnet --accounts "
                              f"{self.config.n_miners + 1}`, or give funded keys with --miner-keys FILE")
        with out.status("loading MNIST and the federation"):
            self.workload = workload = Workload(self.config)
        if contract is None:
            records = (self.state.with_suffix(".deployments") if self.state is not None
                       else None if endpoint.started_here else DEPLOYMENTS_DIR)
            if self.holdout.spec is not None:
                contract = self._deploy_holdout(owner, records)
            else:
                contract = deploy_run(w3, owner, self.config, workload, self.store, records)
            if records is not None:
                out.note(f"deployed PoFLConsensus at {contract.address}, recorded in {records}/")
        elif self.holdout.keys is not None:
            self._attach_requester(contract, owner)
        elif contract.holdout_address() is not None:
            out.note("the contract's rounds are judged on a hold-out task's shards: this run reveals no keys "
                     "(give --holdout-keys FILE, or run `pofl requester`)")
        check_compatible(contract, workload)
        ensure_registered(contract, signers)
        self.contract, self.signers = contract, signers
        out.note(f"PoFLConsensus at {contract.address} on {redact_url(url)}; {self.config.n_miners} miners; "
                 f"store {self.store!r}; device {workload.device}")

    def _deploy_holdout(self, owner: Any, records: Path | None) -> PoFLContract:
        """Deploy a hold-out task (this process is its requester) and its consensus; keep the keys."""
        from offchain.app.deployment import deploy_holdout_run
        from offchain.app.requester import Requester
        from offchain.cli.holdout_cmds import describe_split, save_keys

        spec = self.holdout.spec
        assert spec is not None
        with self.out.status(f"sealing {spec.n_shards} hold-out shards into the store"):
            run = deploy_holdout_run(owner, self.config, self.store, spec, records)
        path = save_keys(run, self.holdout.keys)
        self.out.note(f"hold-out task at {run.holdout.address}: {describe_split(spec)}; keys in {path}")
        self.requester = Requester(run.holdout, run.contract, owner, run.keys)
        return run.contract

    def _attach_requester(self, contract: PoFLContract, owner: Any) -> None:
        from offchain.app.requester import Requester
        from offchain.chain.holdout import HoldoutContract
        from offchain.errors import ConfigError
        from offchain.holdout.keyfile import read_keys

        holdout = HoldoutContract.of(contract)
        if holdout is None:
            raise ConfigError(f"--holdout-keys: the contract at {contract.address} evaluates in public")
        assert self.holdout.keys is not None
        self.requester = Requester(holdout, contract, owner, read_keys(self.holdout.keys))

    def _adopt_contract_settings(self, contract: PoFLContract) -> None:
        """The contract's settings win: a conflicting option is named in a warning."""
        import dataclasses

        from offchain.app.deployment import differences

        diffs = differences(contract.config(), self.config)
        for option, (theirs, ours) in diffs.items():
            if option in self.given:
                self.out.warn(f"{option} {ours} is ignored: the contract at {contract.address} was deployed with "
                              f"{theirs}, and its settings rule the run (leave out --contract to deploy a new one)")
        onchain = contract.config()
        self.config = dataclasses.replace(self.config, threshold=onchain.threshold_bps / 10_000,
                                          require_improvement=onchain.require_improvement,
                                          phase_seconds=onchain.commit_duration)

    def loop(self, processes: bool, log_dir: Path, rounds: int, until_accuracy: float | None,
             metrics: Path | None, plot: Path | None, cheaters: frozenset[int]) -> None:
        from offchain.app.reporting import MetricsWriter, round_table
        from offchain.redaction import redact_url

        out, contract, config = self.out, self.contract, self.config
        head = contract.latest_block()
        genesis_accuracy = self._genesis_accuracy()
        meta = {"n_miners": config.n_miners, "threshold": config.threshold, "dataset": "MNIST",
                "aggregator": config.aggregator, "aggregator_options": dict(config.aggregator_options),
                "attack": config.attack, "attack_assignment": config.attack_assignment,
                "attack_fraction": config.attack_fraction, "target_schedule": config.target_schedule,
                "block_momentum": config.block_momentum, "min_committee": config.min_committee,
                "contract": contract.address, "rpc_url": redact_url(self.endpoint.url), "seed": config.seed,
                "clients_per_round": config.clients_per_round, "genesis_accuracy": genesis_accuracy,
                "started_from": {"height": head.height, "cid": head.cid}}
        writer = MetricsWriter(metrics, plot, meta)
        started = time.perf_counter()
        interrupted = False
        try:
            if processes:
                self._processes(log_dir, rounds, until_accuracy, writer, genesis_accuracy)
            else:
                self._in_process(rounds, until_accuracy, writer, genesis_accuracy, cheaters)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            written = writer.finish()
            done = f"{len(writer.records)} rounds in {time.perf_counter() - started:.1f} s"
            out.note(f"interrupted after {done}" if interrupted else done)
            for what, path in written.items():
                out.note(f"{what}: {path}")
        final = self._end_task(writer)
        records = writer.records
        if until_accuracy is not None and records and not (records[-1].winner is not None
                                                           and records[-1].chain_accuracy >= until_accuracy):
            out.note(f"stopped after {len(records)} rounds (--max-rounds) without a block at {until_accuracy}")
        out.table(round_table(records, genesis_accuracy=genesis_accuracy))
        head = contract.latest_block()
        summary = {"contract": contract.address, "rpc_url": meta["rpc_url"], "blocks": contract.block_count() - 1,
                   "head_height": head.height, "head_accuracy": head.accuracy, "head_cid": head.cid,
                   "genesis_accuracy": genesis_accuracy, "rounds": [_asdict(r) for r in records], **written}
        if final is not None:
            summary["holdout_final"] = final
        out.result(summary, lambda: click.echo(
            f"{summary['blocks']} blocks; head: block {head.height}"
            + (f" at {head.accuracy:.4f}" if head.height else " (genesis)") + f", {head.cid}"))

    def _end_task(self, writer: Any) -> list[dict[str, Any]] | None:
        """Hold-out mode, as this run's requester: end the task (the final shard's key becomes public) and
        measure every block on the final shard; the report also goes into the metrics file."""
        if self.requester is None or not self.holdout.end_task:
            return None
        from dataclasses import asdict

        from offchain.app.holdout_report import final_accuracies

        self.requester.end_task()
        with self.out.status("measuring every block on the final held-out shard"):
            rows = final_accuracies(self.contract, self.requester.holdout, self.store, self.workload.device)
            report = [asdict(row) for row in rows or []]
        writer.meta["holdout_final"] = report
        writer.write(writer.records)
        self.out.note("the task is ended; every block's accuracy on the final shard is in the report "
                      "(`pofl blocks` shows it too)")
        return report

    def _shards_left(self) -> bool:
        """False once a hold-out task has no shard for the current round (public mode: always True)."""
        if self.requester is None:
            return True
        holdout = self.requester.holdout
        if holdout.shard_available(self.contract.shards_used()):
            return True
        self.out.note(f"the hold-out task's {holdout.shard_count()} shards are used up: the run stops")
        return False

    def _genesis_accuracy(self) -> float | None:
        """The genesis model's accuracy as this run measures it (the contract records 0: it is never scored),
        when the contract's genesis is the run's seeded model."""
        from offchain.app.deployment import genesis_cid

        if self.contract.block_at(0).cid != genesis_cid(self.config):
            return None
        return round(float(self.workload.evaluator.accuracy(self.workload.genesis)), 4)

    def _in_process(self, rounds: int, until_accuracy: float | None, writer: Any, genesis_accuracy: float | None,
                    cheaters: frozenset[int]) -> None:
        from offchain.miner.claims import HonestClaims, InflatedClaims
        from offchain.miner.driver import DriverSettings, RoundDriver
        from offchain.miner.strategy import WorkloadStrategy

        claims = InflatedClaims(cheaters) if cheaters else HonestClaims()
        with self.out.status("starting") as progress:
            driver = RoundDriver(self.contract, self.store, self.workload.flat, self.config.architecture, self.signers,
                                 WorkloadStrategy(self.workload), claims=claims,
                                 settings=DriverSettings(fetch_timeout_s=self.config.fetch_timeout_s),
                                 progress=progress, observers=[self.requester.observe] if self.requester else [])
            try:
                while len(driver.records) < rounds and self._shards_left():
                    record = driver.run_round()
                    writer.write(driver.records)
                    writer.meta["started_from"] = _started_from(driver.started_from, writer.meta["started_from"])
                    self.out.line(_row(record, genesis_accuracy))
                    if until_accuracy is not None and record.chain_accuracy >= until_accuracy \
                            and record.winner is not None:
                        break
            finally:
                driver.close()

    def _processes(self, log_dir: Path, rounds: int, until_accuracy: float | None, writer: Any,
                   genesis_accuracy: float | None) -> None:
        from offchain.app.miner_processes import run_miner_processes

        self.out.note(f"{len(self.signers)} `pofl miner` processes log to {log_dir}/miner-<i>.log")

        def on_round(records: list[RoundRecord]) -> None:
            writer.write(records)
            self.out.line(_row(records[-1], genesis_accuracy))

        with _requester_thread(self.requester):
            run_miner_processes(self.endpoint.url, self.contract, self.signers, self.config, self.ipfs_api,
                                self.store_dir, rounds, until_accuracy, log_dir=log_dir, on_round=on_round,
                                note=self.out.note)


@contextlib.contextmanager
def _requester_thread(requester: Requester | None, poll_s: float = 0.2) -> Iterator[None]:
    """Run ``requester`` in a thread of this process while the block runs (the miners run in their own)."""
    if requester is None:
        yield
        return
    import threading

    stop = threading.Event()

    def reveal_keys() -> None:
        while not stop.wait(poll_s):
            try:
                requester.step()
            except Exception as exc:  # a failed look is retried: the miners must not stop for it
                logging.getLogger("pofl.requester").warning("requester: %s: %s", exc.__class__.__name__, exc)

    thread = threading.Thread(target=reveal_keys, name="pofl-requester", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _started_from(block: Any, fallback: dict[str, Any]) -> dict[str, Any]:
    return {"height": block.height, "cid": block.cid} if block is not None else fallback


def _asdict(record: RoundRecord) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(record)


def _row(r: RoundRecord, genesis_accuracy: float | None) -> str:
    from offchain.app.reporting import chain_text

    outcome = (f"block {r.block_height} by miner {r.winner}: claimed {r.claimed_accuracy:.4f}, validated "
               f"{r.validated_accuracy:.4f}" if r.winner is not None and r.validated_accuracy is not None
               else f"block {r.block_height} by miner {r.winner}" if r.winner is not None else "no block")
    split = " ".join(f"{k} {v:.2f}" for k, v in sorted(r.seconds.items()))
    rejected = f"; rejected {r.rejected}" if r.rejected else ""
    return f"round {r.round}: {outcome}{rejected}; chain {chain_text(r, genesis_accuracy)}; {split}"


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
@store_options
@click.pass_context
def miner_cmd(ctx: click.Context, config_file: Path | None, rpc_url: str, address: str | None, key: str | None,
              key_file: Path | None, keystore: Path | None, key_env: str | None, clients: ClientSpec,
              index: int | None, rpc_grace: float, rounds: int | None, register: bool, deployments_dir: Path | None,
              ipfs_api: str | None, store_dir: str, ipfs_timeout: float, **options: Any) -> None:
    """Run one miner: its own key, its own clients, talking to the others only through the chain and the store.

    The run's settings (seed, partition, clients per round, training) come from --config FILE, else from the
    deployment record `pofl deploy` wrote for this chain, else from the options; they are checked against the
    contract, and the miner stakes only after every check has passed."""
    if rpc_url == IN_PROCESS:
        raise click.UsageError(f"--rpc-url {IN_PROCESS} is a chain inside one process: a miner needs the chain the "
                               "other miners use (`pofl devnet` prints its URL)", ctx)
    out = output()
    configure_logging(ctx.find_root().meta.get("pofl.verbosity", NORMAL), default=logging.INFO)
    sources = key_sources(key, key_file, keystore, key_env)
    config = None
    source = "the options"
    if config_file is not None:
        config = config_from_file_or_options(ctx, run_config_class(), config_file, options)
        source = f"--config {config_file}"
    from offchain.app.deployment import (
        ConfigMismatch,
        check_compatible,
        describe_unfunded,
        differences,
        ensure_registered,
        stake_needed,
        unfunded,
    )
    from offchain.chain.accounts import LocalSigner
    from offchain.chain.connect import connect
    from offchain.chain.keys import dev_keys_allowed
    from offchain.chain.pofl import PoFLContract
    from offchain.chain.tx import InsufficientFunds
    from offchain.defaults import ETH
    from offchain.errors import ConfigError
    from offchain.miner.driver import DriverSettings, RoundDriver
    from offchain.miner.strategy import WorkloadStrategy
    from offchain.miner.workload import Workload

    w3 = connect(rpc_url)
    chain_id = w3.eth.chain_id
    signer = LocalSigner(w3, signing_key(Endpoint(rpc_url), chain_id, sources, dev_key_index=None))
    if config is None:
        config, source, address = _recorded_settings(ctx, w3, address, deployments_dir, options)
    if address is None:
        raise click.UsageError("--contract is required: no deployment is recorded for this chain in "
                               f"{deployments_dir or 'deployments'}/ (run `pofl deploy`, or pass the address)", ctx)
    if clients.share is not None:
        config = _miner_count(ctx, config, clients, source)
    contract = PoFLContract.attach(w3, address)
    diffs = differences(contract.config(), config)
    if diffs:
        raise ConfigMismatch(f"{source} disagrees with the contract at {address}: " + "; ".join(
            f"{o} {ours} where the contract has {theirs}" for o, (theirs, ours) in diffs.items())
            + " (a miner mines by the contract's settings: change the options or attach to the right contract)")
    store = open_checked_store(ipfs_api, store_dir, timeout=config.fetch_timeout_s)
    workload = Workload(config)
    check_compatible(contract, workload)
    mine = clients.clients(workload.owners)
    if index is None:
        index = clients.share[0] if clients.share is not None else 0
    stake = stake_needed(contract, signer)
    if stake:
        if not register and not dev_keys_allowed(rpc_url, chain_id):
            raise ConfigError(f"--register: {signer.address} is not an active miner of {address} and this chain is "
                              f"not a local devnet; pass --register to stake {stake / ETH:g} ETH and register")
        short = unfunded(w3, [signer], [stake])
        if short:
            raise InsufficientFunds(f"register: {describe_unfunded(short)}; fund it, or use a funded key")
        ensure_registered(contract, [signer])
        out.note(f"{signer.address} staked {stake / ETH:g} ETH and is a miner of {address}")
    strategy = WorkloadStrategy(workload, workload.restricted_to(mine), trainer_index={0: 0})
    settings = DriverSettings(poll_s=0.1, fetch_timeout_s=config.fetch_timeout_s, rpc_grace_s=rpc_grace,
                              finalize_stagger_s=0.15)
    driver = RoundDriver(contract, store, workload.flat, config.architecture, [signer], strategy, indices=[index],
                         settings=settings)
    click.echo(f"miner {index} ({signer.address}) with {len(mine)} clients, from round {contract.current_round()}; "
               f"settings from {source}")
    try:
        driver.run(lambda: rounds is not None and len(driver.records) >= rounds)
    finally:
        driver.close()


def _recorded_settings(ctx: click.Context, w3: Any, address: str | None, deployments_dir: Path | None,
                       options: dict[str, Any]) -> tuple[RunConfig, str, str | None]:
    """The run's settings from the deployment record of this chain (and ``address``), else from the options;
    where they came from; the contract's address (the recorded one when none was given)."""
    from offchain.chain.deploy import DeploymentError, chain_key, read_record, record_path
    from offchain.paths import DEPLOYMENTS_DIR

    records = deployments_dir or DEPLOYMENTS_DIR
    try:
        record = read_record(chain_key(w3), "PoFLConsensus", records, address)
    except DeploymentError:
        record = None
    if record is None or record.settings is None:
        return config_from_options(run_config_class(), options), "the options", address
    path = record_path(record.chain_key, record.contract, records)
    given = any_setting_given(ctx, run_config_class())
    if given:
        raise click.UsageError(f"the deployment record {path} holds the run's settings, which every miner reads; "
                               f"leave out {', '.join(given)}", ctx)
    import json

    config = run_config_class().from_json(json.dumps(record.settings), str(path))
    return config, str(path), address or record.address


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


COMMANDS = [run_cmd, miner_cmd]
