"""``pofl run`` as a service: N miners on one chain and one store, from checks to the final report.

A :class:`RunSession` is told what to run (a :class:`RunPlan`) and how to talk (a
:class:`Conversation`: the command line's output), then

1. :meth:`~RunSession.start`: checks the keys and every account's funds, loads the workload, deploys
   (or attaches to) the contract -- in hold-out mode with a task whose requester this run is --, checks
   that the miners agree with it and registers them; nothing is sent before every check has passed;
2. :meth:`~RunSession.loop`: drives the rounds, in this process (one round driver for all miners) or
   as one ``pofl miner`` process per miner, writing the metrics after every round, however the loop ends;
3. returns a :class:`RunSummary`: the rounds, the head, the hold-out task's final report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from offchain.app.deployment import HoldoutSpec, deploy_run, genesis_cid
from offchain.app.preflight import (
    check_compatible,
    describe,
    differences,
    ensure_registered,
    miner_signers,
    shortfalls,
    stake_needed,
)
from offchain.app.reporting import MetricsWriter
from offchain.app.requester import Requester, planned_keys_path, requester_thread, save_keys
from offchain.chain.accounts import LocalSigner
from offchain.chain.consensus import PoFLContract
from offchain.chain.deploy import DeploymentError
from offchain.chain.holdout import HoldoutContract
from offchain.chain.keys import dev_keys_allowed
from offchain.chain.tx import InsufficientFunds
from offchain.defaults import REWARD_POOL_WEI, STAKE_WEI
from offchain.errors import ConfigError, KeyPolicyError
from offchain.holdout.keyfile import read_keys
from offchain.miner.records import RoundRecord
from offchain.miner.run_config import RunConfig
from offchain.miner.workload import Workload
from offchain.paths import DEPLOYMENTS_DIR
from offchain.redaction import redact_url
from offchain.store.base import ModelStore


class Conversation(Protocol):
    """How a run talks to whoever started it: notes and warnings, a line per round, progress."""

    def note(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def line(self, message: str) -> None: ...

    def status(self, message: str) -> contextlib.AbstractContextManager[Callable[[str], None]]: ...


@dataclass(frozen=True)
class HoldoutPlan:
    """What a run does about hold-out evaluation: deploy a task for ``spec`` (None: public mode, or the deployed
    contract's mode), write or read its keys at ``keys``, end the task when the run ends (``end_task``)."""

    spec: HoldoutSpec | None = None
    keys: Path | None = None
    end_task: bool = True


@dataclass(frozen=True)
class RunPlan:
    """What a run is.

    Parameters:
        config: the run's settings (a deployed contract's win where they differ).
        store: where models are published.
        ipfs_api, store_dir: the store's address, for miner processes.
        miner_keys: the miners' keys (None: dev accounts 1..N, on a devnet only).
        address: a deployed contract to run on (None: deploy one, or resume the one recorded beside ``state``).
        state: the auto-started Anvil's state file (the run resumes from it).
        given: the contract-held options the user gave (a deployed contract overriding them is warned about).
        holdout: hold-out evaluation.
        cheaters: miner indices that claim 0.99 (a demonstration of a slashed false claim).
    """

    config: RunConfig
    store: ModelStore
    ipfs_api: str | None = None
    store_dir: str = ".pofl/store"
    miner_keys: list[str] | None = None
    address: str | None = None
    state: Path | None = None
    given: frozenset[str] = frozenset()
    holdout: HoldoutPlan = HoldoutPlan()
    cheaters: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Stop:
    """When the loop stops: after ``rounds`` rounds, at the first block at or above ``until_accuracy``."""

    rounds: int
    until_accuracy: float | None = None

    def reached(self, record: RoundRecord) -> bool:
        return (self.until_accuracy is not None and record.winner is not None
                and record.chain_accuracy >= self.until_accuracy)


@dataclass
class RunSummary:
    """What a run did: its rounds, where the chain stands, what was written."""

    contract: str
    rpc_url: str
    records: list[RoundRecord]
    genesis_accuracy: float | None
    written: dict[str, str] = field(default_factory=dict)
    holdout_final: list[dict[str, Any]] | None = None
    interrupted: bool = False  # ended by Ctrl-C or SIGTERM: the rounds are those that finished

    def as_dict(self, contract: PoFLContract) -> dict[str, Any]:
        head = contract.latest_block()
        out = {"contract": self.contract, "rpc_url": self.rpc_url, "blocks": contract.block_count() - 1,
               "head_height": head.height, "head_accuracy": head.accuracy, "head_cid": head.cid,
               "genesis_accuracy": self.genesis_accuracy, "rounds": [asdict(r) for r in self.records], **self.written}
        if self.holdout_final is not None:
            out["holdout_final"] = self.holdout_final
        return out


class RunSession:
    """One ``pofl run`` (see the module docstring)."""

    def __init__(self, plan: RunPlan, talk: Conversation) -> None:
        self.plan = plan
        self.config = plan.config
        self.talk = talk
        self.requester: Requester | None = None

    # ------------------------------------------------------------------ before the first round

    def start(self, owner: LocalSigner, url: str, *, started_here: bool) -> None:
        """Everything before the first round (see the module docstring); ``owner`` deploys, on the chain at
        ``url`` (``started_here``: a devnet this command started)."""
        plan, talk, w3 = self.plan, self.talk, owner.w3
        self.url = url
        if plan.miner_keys is None and not dev_keys_allowed(url, w3.eth.chain_id, started_here=started_here):
            raise KeyPolicyError("this chain is not a local devnet: give the miners' keys with --miner-keys FILE "
                                 "(one 0x-hex key per line), and the owner's with POFL_KEY or --keystore")
        signers = miner_signers(w3, self.config.n_miners, plan.miner_keys)
        contract = self._recorded(owner)
        if contract is not None:
            self._adopt_contract_settings(contract)
            stakes = [stake_needed(contract, s) for s in signers]
        else:
            stakes = [STAKE_WEI] * len(signers)
            short = shortfalls(w3, [(owner, REWARD_POOL_WEI)])
            if short:
                raise InsufficientFunds(f"the owner's {describe(short)} (the reward pool): fund it or use another key")
        short = shortfalls(w3, list(zip(signers, stakes, strict=True)))
        if short:
            if plan.miner_keys is not None:
                raise ConfigError(f"--miner-keys: {describe(short)}: fund them")
            raise ConfigError(f"--miners {self.config.n_miners}: dev {describe(short)}; the chain at "
                              f"{redact_url(url)} funds too few accounts: start it with `pofl devnet --accounts "
                              f"{self.config.n_miners + 1}`, or give funded keys with --miner-keys FILE")
        keys_path = None
        if contract is None and plan.holdout.spec is not None:
            keys_path = planned_keys_path(owner, plan.holdout.keys)
        with talk.status("loading MNIST and the federation"):
            self.workload = workload = Workload(self.config)
        if contract is None:
            contract = self._deploy(owner, started_here, keys_path)
        elif plan.holdout.keys is not None:
            self._attach_requester(contract, owner)
        elif contract.holdout_address() is not None:
            talk.note("the contract's rounds are judged on a hold-out task's shards: this run reveals no keys "
                      "(give --holdout-keys FILE, or run `pofl requester`)")
        check_compatible(contract, workload)
        ensure_registered(contract, signers)
        self.contract, self.signers = contract, signers
        talk.note(f"PoFLConsensus at {contract.address} on {redact_url(url)}; {self.config.n_miners} miners; "
                  f"store {plan.store!r}; device {workload.device}")

    def _records_dir(self, started_here: bool) -> Path | None:
        """Where this run records its deployment: beside the state file, in ./deployments, or nowhere (a devnet
        this command started dies with it)."""
        state = self.plan.state
        return state.with_suffix(".deployments") if state is not None else None if started_here else DEPLOYMENTS_DIR

    def _recorded(self, owner: LocalSigner) -> PoFLContract | None:
        """The contract to run on: the one given, or the one recorded beside the state file; None: deploy one."""
        if self.plan.address is not None:
            return PoFLContract.attach(owner.w3, self.plan.address)
        if self.plan.state is not None:
            with contextlib.suppress(DeploymentError):
                return PoFLContract.attach(owner.w3, deployments_dir=self._records_dir(True))
        return None

    def _deploy(self, owner: LocalSigner, started_here: bool, keys_path: Path | None) -> PoFLContract:
        records, spec = self._records_dir(started_here), self.plan.holdout.spec
        if spec is None:
            deployment = deploy_run(owner, self.config, self.plan.store, records=records)
        else:
            with self.talk.status(f"sealing {spec.n_shards} hold-out shards into the store"):
                deployment = deploy_run(owner, self.config, self.plan.store, holdout=spec, records=records)
            assert deployment.holdout is not None and deployment.keys is not None and keys_path is not None
            path = save_keys(deployment.keys, keys_path)
            self.talk.note(f"hold-out task at {deployment.holdout.address}: {spec.describe()}; keys in {path}")
            self.requester = Requester(deployment.holdout, deployment.contract, owner, deployment.keys)
        if records is not None:
            self.talk.note(f"deployed PoFLConsensus at {deployment.contract.address}, recorded in {records}/")
        return deployment.contract

    def _attach_requester(self, contract: PoFLContract, owner: LocalSigner) -> None:
        holdout = HoldoutContract.of(contract)
        if holdout is None:
            raise ConfigError(f"--holdout-keys: the contract at {contract.address} evaluates in public")
        assert self.plan.holdout.keys is not None
        self.requester = Requester(holdout, contract, owner, read_keys(self.plan.holdout.keys))

    def _adopt_contract_settings(self, contract: PoFLContract) -> None:
        """The contract's settings win: a conflicting option the user gave is named in a warning."""
        onchain = contract.config()
        for option, (theirs, ours) in differences(onchain, self.config).items():
            if option in self.plan.given:
                self.talk.warn(f"{option} {ours} is ignored: the contract at {contract.address} was deployed with "
                               f"{theirs}, and its settings rule the run (leave out --contract to deploy a new one)")
        self.config = dataclasses.replace(self.config, threshold=onchain.threshold_bps / 10_000,
                                          require_improvement=onchain.require_improvement,
                                          phase_seconds=onchain.commit_duration)

    # ------------------------------------------------------------------ the rounds

    def loop(self, stop: Stop, *, processes: bool = False, log_dir: Path = Path(".pofl/miner-logs"),
             metrics: Path | None = None, plot: Path | None = None) -> RunSummary:
        """Drive rounds until ``stop``; the metrics (and the plot) are written however the loop ends. A Ctrl-C or
        SIGTERM ends the loop: the summary then holds the rounds that finished (``interrupted``; the task of a
        hold-out run is left open)."""
        config, contract = self.config, self.contract
        head = contract.latest_block()
        summary = RunSummary(contract.address, redact_url(self.url), [], self._genesis_accuracy())
        meta = {"n_miners": config.n_miners, "threshold": config.threshold, "dataset": "MNIST",
                "aggregator": config.aggregator, "aggregator_options": dict(config.aggregator_options),
                "attack": config.attack, "attack_assignment": config.attack_assignment,
                "attack_fraction": config.attack_fraction, "target_schedule": config.target_schedule,
                "block_momentum": config.block_momentum, "min_committee": config.min_committee,
                "contract": contract.address, "rpc_url": summary.rpc_url, "seed": config.seed,
                "clients_per_round": config.clients_per_round, "genesis_accuracy": summary.genesis_accuracy,
                "started_from": {"height": head.height, "cid": head.cid}}
        writer = MetricsWriter(metrics, plot, meta)
        started, interrupted = time.perf_counter(), False
        try:
            if processes:
                self._processes(stop, log_dir, writer, summary)
            else:
                self._in_process(stop, writer, summary)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            summary.written = writer.finish()
            done = f"{len(writer.records)} rounds in {time.perf_counter() - started:.1f} s"
            self.talk.note(f"interrupted after {done}" if interrupted else done)
            for what, path in summary.written.items():
                self.talk.note(f"{what}: {path}")
        summary.records = writer.records
        if interrupted:
            summary.interrupted = True
            return summary
        summary.holdout_final = self._end_task(writer)
        if stop.until_accuracy is not None and not (summary.records and stop.reached(summary.records[-1])):
            self.talk.note(f"stopped after {len(summary.records)} rounds (--max-rounds) without a block at "
                           f"{stop.until_accuracy}")
        return summary

    def _in_process(self, stop: Stop, writer: MetricsWriter, summary: RunSummary) -> None:
        from offchain.miner.claims import HonestClaims, InflatedClaims
        from offchain.miner.driver import DriverSettings, RoundDriver
        from offchain.miner.strategy import WorkloadStrategy

        cheaters = self.plan.cheaters
        with self.talk.status("starting") as progress:
            driver = RoundDriver(self.contract, self.plan.store, self.workload.flat, self.config.architecture,
                                 self.signers, WorkloadStrategy(self.workload),
                                 claims=InflatedClaims(cheaters) if cheaters else HonestClaims(),
                                 settings=DriverSettings(fetch_timeout_s=self.config.fetch_timeout_s),
                                 progress=progress, observers=[self.requester.observe] if self.requester else [])
            try:
                while len(driver.records) < stop.rounds and self._shards_left():
                    record = driver.run_round()
                    if driver.started_from is not None:
                        writer.meta["started_from"] = {"height": driver.started_from.height,
                                                       "cid": driver.started_from.cid}
                    writer.write(driver.records)
                    self.talk.line(round_line(record, summary.genesis_accuracy))
                    if stop.reached(record):
                        break
            finally:
                driver.close()

    def _processes(self, stop: Stop, log_dir: Path, writer: MetricsWriter, summary: RunSummary) -> None:
        from offchain.app.miner_processes import run_miner_processes

        self.talk.note(f"{len(self.signers)} `pofl miner` processes log to {log_dir}/miner-<i>.log")

        def on_round(records: list[RoundRecord]) -> None:
            writer.write(records)
            self.talk.line(round_line(records[-1], summary.genesis_accuracy))

        with requester_thread(self.requester):
            run_miner_processes(self.url, self.contract, self.signers, self.config, self.plan.ipfs_api,
                                self.plan.store_dir, stop.rounds, stop.until_accuracy, log_dir=log_dir,
                                on_round=on_round, note=self.talk.note)

    def _shards_left(self) -> bool:
        """False once a hold-out task has no shard for the current round (public mode: always True)."""
        if self.requester is None:
            return True
        holdout = self.requester.holdout
        if holdout.shard_available(self.contract.shards_used()):
            return True
        self.talk.note(f"the hold-out task's {holdout.shard_count()} shards are used up: the run stops")
        return False

    def _genesis_accuracy(self) -> float | None:
        """The genesis model's accuracy as this run measures it (the contract records 0: it is never scored),
        when the contract's genesis is the run's seeded model."""
        if self.contract.block_at(0).cid != genesis_cid(self.config):
            return None
        return round(float(self.workload.evaluator.accuracy(self.workload.genesis)), 4)

    def _end_task(self, writer: MetricsWriter) -> list[dict[str, Any]] | None:
        """Hold-out mode, as this run's requester: end the task (the final shard's key becomes public) and
        measure every block on the final shard; the report also goes into the metrics file."""
        if self.requester is None or not self.plan.holdout.end_task:
            return None
        from offchain.app.holdout_report import final_accuracies

        self.requester.end_task()
        with self.talk.status("measuring every block on the final held-out shard"):
            rows = final_accuracies(self.contract, self.requester.holdout, self.plan.store, self.workload.device)
            report = [asdict(row) for row in rows or []]
        writer.meta["holdout_final"] = report
        writer.write(writer.records)
        self.talk.note("the task is ended; every block's accuracy on the final shard is in the report "
                       "(`pofl blocks` shows it too)")
        return report


def round_line(r: RoundRecord, genesis_accuracy: float | None) -> str:
    """One round, for people."""
    from offchain.app.reporting import chain_text

    outcome = (f"block {r.block_height} by miner {r.winner}: claimed {r.claimed_accuracy:.4f}, validated "
               f"{r.validated_accuracy:.4f}" if r.winner is not None and r.validated_accuracy is not None
               else f"block {r.block_height} by miner {r.winner}" if r.winner is not None else "no block")
    split = " ".join(f"{k} {v:.2f}" for k, v in sorted(r.seconds.items()))
    rejected = f"; rejected {r.rejected}" if r.rejected else ""
    return f"round {r.round}: {outcome}{rejected}; chain {chain_text(r, genesis_accuracy)}; {split}"
