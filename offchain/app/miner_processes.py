"""``pofl run --processes``: one ``pofl miner`` process per miner, watched from here.

A miner that exits is restarted (with its key it resumes from the chain), up to a budget; past it,
the run rides on without it, since the contract's deadlines close every round whoever is missing. The
run's per-round records are read from the chain's events (:class:`RoundsFromEvents`), so they say
what every miner claimed, what the committee measured, who was rejected and the gas used, whichever
process did it.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offchain.chain.accounts import LocalSigner
from offchain.chain.consensus import PoFLContract
from offchain.chain.types import BPS, ChainBlock, ClaimStatus
from offchain.errors import PoflRuntimeError
from offchain.miner.records import RoundRecord
from offchain.miner.workload import RunConfig
from offchain.servers.process import ManagedProcess, stop_all
from offchain.store.cid import cid_from_digest

MAX_RESTARTS = 3
"""How many times a miner that exits is restarted before the run rides on without it."""
EVENTS = ("RoundOpened", "PhaseChanged", "Committed", "Revealed", "DigestReused", "ValidationOpened",
          "CommitteeDrawn", "Voted", "ClaimDecided", "Penalized", "BlockFinalized", "RoundFailed")
"""Every event of a round (consensus v2) whose transaction a round record counts the gas of."""


def miner_argv(url: str, contract: str, key_env: str, index: int, config_file: Path, ipfs_api: str | None,
               store_dir: str, n_miners: int) -> list[str]:
    argv = [sys.executable, "-m", "offchain.cli", "miner", "--config", str(config_file), "--rpc-url", url,
            "--contract", contract, "--key-env", key_env, "--clients", f"{index}/{n_miners}", "--index", str(index),
            "--store-dir", store_dir]
    if ipfs_api:
        argv += ["--ipfs-api", ipfs_api]
    return argv


def start_miner(url: str, contract: str, signer: LocalSigner, index: int, config: RunConfig, ipfs_api: str | None,
                store_dir: str, log_dir: Path, *, append_log: bool = False) -> ManagedProcess:
    """A `pofl miner` child; the run's settings travel as a file beside its log, its key in its environment
    (never on a command line)."""
    key_env = "POFL_MINER_KEY"
    env = dict(os.environ, **{key_env: signer.account.key.to_0x_hex()})
    config_file = log_dir / "run-config.json"
    if not config_file.exists() or config_file.read_text() != config.to_json():
        tmp = config_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(config.to_json())
        tmp.replace(config_file)
    argv = miner_argv(url, contract, key_env, index, config_file, ipfs_api, store_dir, config.n_miners)
    return ManagedProcess(f"miner {index}", argv, env=env, log_path=log_dir / f"miner-{index}.log",
                          append_log=append_log).start()


class RoundsFromEvents:
    """Round records built from the contract's events, for rounds run by other processes."""

    def __init__(self, contract: PoFLContract, by_address: dict[str, int], from_block: int) -> None:
        self.contract = contract
        self.by_address = by_address
        self.cursor = from_block
        self.events: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        self.head: ChainBlock = contract.latest_block()

    def _fetch(self) -> None:
        latest = self.contract.w3.eth.block_number
        if latest < self.cursor:
            return
        for name in EVENTS:
            for event in self.contract.events(name, self.cursor, latest):
                self.events[int(event["args"]["round"])][name].append(event)
        self.cursor = latest + 1

    def record(self, round_id: int, seconds: float | None = None) -> RoundRecord:
        """The record of ``round_id``, a round that has ended (in ``seconds``, as seen from here; else as the
        chain's timestamps, in whole seconds, say)."""
        if round_id + 1 not in self.events or "RoundOpened" not in self.events[round_id + 1]:
            self._fetch()
        ev = self.events[round_id]
        who = self.by_address.get
        finalized = ev.get("BlockFinalized", [])
        block = finalized[-1]["args"] if finalized else None
        if block is not None:
            self.head = self.contract.block_at(int(block["height"]))
        winner = who(block["miner"]) if block is not None else None
        decided = ev.get("ClaimDecided", [])  # one per validation, in order: validation k is attempt k
        accepted = next(((k, e["args"]) for k, e in enumerate(decided, start=1)
                         if block is not None and e["args"]["claimant"] == block["miner"]
                         and e["args"]["outcome"] == ClaimStatus.ACCEPTED), None)
        votes = [v["args"]["measuredBps"] / BPS for v in ev.get("Voted", [])
                 if accepted is not None and v["args"]["attempt"] == accepted[0]
                 and v["args"]["validator"] != block["miner"]]  # type: ignore[index]
        claimed = (accepted[1]["claimedBps"] if accepted is not None
                   else block["accuracyBps"] if block is not None else None)
        if seconds is None:
            opened = [e["args"]["openedAt"] for e in ev.get("RoundOpened", [])]
            next_opened = [e["args"]["openedAt"] for e in self.events.get(round_id + 1, {}).get("RoundOpened", [])]
            seconds = float(next_opened[0] - opened[0]) if opened and next_opened else None
        txs = {e["transactionHash"] for events in ev.values() for e in events}
        gas = sum(int(self.contract.w3.eth.get_transaction_receipt(tx)["gasUsed"]) for tx in txs)
        return RoundRecord(
            round=round_id, block_height=int(block["height"]) if block is not None else None, winner=winner,
            claimed_accuracy=claimed / BPS if claimed is not None else None,
            validated_accuracy=sum(votes) / len(votes) if votes else None,
            cid=cid_from_digest(block["digest"], block["cidKind"]) if block is not None else None,
            chain_accuracy=self.head.accuracy,
            miner_accuracies={who(e["args"]["miner"], e["args"]["miner"]): e["args"]["accuracyBps"] / BPS
                              for e in ev.get("Revealed", [])},
            rejected=[who(e["args"]["claimant"], e["args"]["claimant"]) for e in decided
                      if e["args"]["outcome"] == ClaimStatus.REJECTED],
            gas_used=gas, validations=len(ev.get("Voted", [])),
            seconds={"round": round(seconds, 4)} if seconds is not None else {},
            chain_height=self.head.height)


def run_miner_processes(url: str, contract: PoFLContract, signers: list[LocalSigner], config: RunConfig,
                        ipfs_api: str | None, store_dir: str, rounds: int, until_accuracy: float | None, *,
                        log_dir: Path, on_round: Callable[[list[RoundRecord]], None] = lambda _r: None,
                        note: Callable[[str], None] = lambda _m: None,
                        max_restarts: int = MAX_RESTARTS) -> list[RoundRecord]:
    """Run one `pofl miner` per signer until ``rounds`` rounds have ended (or a block reaches
    ``until_accuracy``); ``on_round`` gets the records after every round. A miner that exits is restarted
    up to ``max_restarts`` times, then left out."""
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = [start_miner(url, contract.address, s, i, config, ipfs_api, store_dir, log_dir)
             for i, s in enumerate(signers)]
    restarts = [0] * len(procs)
    given_up: set[int] = set()
    events = RoundsFromEvents(contract, {s.address: i for i, s in enumerate(signers)},
                              contract.w3.eth.block_number)
    start_round = contract.current_round()
    records: list[RoundRecord] = []
    round_started = time.perf_counter()  # the first round's start: when its miners were started
    try:
        while True:
            time.sleep(0.2)
            current = contract.current_round()
            if start_round + len(records) < current:
                now = time.perf_counter()
                ended = range(start_round + len(records), min(current, start_round + rounds))
                for r in ended:  # rounds that ended between two looks share the time
                    records.append(events.record(r, (now - round_started) / len(ended)))
                    on_round(records)
                round_started = now
            if len(records) >= rounds:
                break
            if until_accuracy is not None and records and records[-1].winner is not None \
                    and records[-1].chain_accuracy >= until_accuracy:
                break
            for i, p in enumerate(procs):
                if i in given_up or p.alive():
                    continue
                log = log_dir / f"miner-{i}.log"
                if restarts[i] < max_restarts:
                    restarts[i] += 1
                    note(f"miner {i} exited (status {p.returncode}); restarting it ({restarts[i]} of "
                         f"{max_restarts}; log {log})")
                    procs[i] = start_miner(url, contract.address, signers[i], i, config, ipfs_api, store_dir,
                                           log_dir, append_log=True)
                else:
                    given_up.add(i)
                    note(f"miner {i} exited {max_restarts + 1} times; the run goes on without it (log {log})")
            if len(given_up) == len(procs):
                raise PoflRuntimeError(f"every miner exited {max_restarts + 1} times; see the logs in {log_dir}")
    finally:
        stop_all(procs)
    return records
