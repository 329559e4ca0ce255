"""``pofl run --processes``: one ``pofl miner`` process per miner, watched from here."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from offchain.chain.accounts import LocalSigner
from offchain.chain.pofl import PoFLContract
from offchain.errors import PoflRuntimeError
from offchain.miner.metrics import RoundRecord
from offchain.miner.workload import RunConfig
from offchain.procs import ManagedProcess


def miner_argv(url: str, contract: str, key_env: str, index: int, config: RunConfig, ipfs_api: str | None,
               store_dir: str) -> list[str]:
    argv = [sys.executable, "-m", "offchain.cli", "miner", "--rpc-url", url, "--contract", contract,
            "--key-env", key_env, "--clients", f"{index}/{config.n_miners}", "--index", str(index),
            "--miners", str(config.n_miners), "--clients-per-round", str(config.clients_per_round),
            "--epochs", str(config.train.epochs), "--batch-size", str(config.train.batch_size),
            "--lr", str(config.train.lr), "--partition", config.partition, "--n-clients", str(config.n_clients),
            "--alpha", str(config.alpha), "--architecture", config.architecture, "--aggregator", config.aggregator,
            "--seed", str(config.seed), "--threshold", str(config.threshold),
            "--phase-seconds", str(config.phase_seconds), "--store-dir", store_dir]
    argv += ["--attack", config.attack, "--attack-assignment", config.attack_assignment,
             "--attack-fraction", str(config.attack_fraction), "--target-schedule", config.target_schedule,
             "--block-momentum", str(config.block_momentum)]
    argv += [a for k, v in config.aggregator_options.items() for a in ("--aggregator-option", f"{k}={v}")]
    argv += [a for k, v in config.attack_options.items() for a in ("--attack-option", f"{k}={v}")]
    if not config.require_improvement:
        argv.append("--no-improvement")
    if ipfs_api:
        argv += ["--ipfs-api", ipfs_api]
    return argv


def start_miner(url: str, contract: str, signer: LocalSigner, index: int, config: RunConfig, ipfs_api: str | None,
                store_dir: str, log_dir: Path) -> ManagedProcess:
    """A `pofl miner` child; its key travels in its environment, never on a command line."""
    key_env = "POFL_MINER_KEY"
    env = dict(os.environ, **{key_env: signer.account.key.to_0x_hex()})
    argv = miner_argv(url, contract, key_env, index, config, ipfs_api, store_dir)
    return ManagedProcess(f"miner {index}", argv, env=env, log_path=log_dir / f"miner-{index}.log").start()


def run_miner_processes(url: str, contract: PoFLContract, signers: list[LocalSigner], config: RunConfig,
                        ipfs_api: str | None, store_dir: str, rounds: int | None, until_accuracy: float | None,
                        console, log_dir: Path | None = None) -> list[RoundRecord]:  # type: ignore[no-untyped-def]
    log_dir = log_dir or Path(store_dir).resolve().parent / "miner-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = [start_miner(url, contract.address, s, i, config, ipfs_api, store_dir, log_dir)
             for i, s in enumerate(signers)]
    by_address = {s.address: i for i, s in enumerate(signers)}
    start_round = contract.current_round()
    records: list[RoundRecord] = []
    try:
        while True:
            time.sleep(0.2)
            current = contract.current_round()
            while start_round + len(records) < current:
                r = start_round + len(records)
                block = next((b for b in reversed(contract.blocks()) if b.round == r), None)
                head = contract.latest_block()
                records.append(RoundRecord(r, block.height if block else None,
                                           by_address.get(block.miner) if block else None,
                                           block.accuracy if block else None, None, block.cid if block else None,
                                           head.accuracy, {}))
                console.print(f"round {r}: " + (f"block {block.height} by miner {records[-1].winner} "
                                                f"({block.accuracy:.4f})" if block else "no block"))
            if rounds is not None and len(records) >= rounds:
                break
            if rounds is None and until_accuracy is not None and records and records[-1].winner is not None \
                    and records[-1].chain_accuracy >= until_accuracy:
                break
            dead = [p.name for p in procs if not p.alive()]
            if dead:
                raise PoflRuntimeError(f"{', '.join(dead)} exited; see the logs in {log_dir}")
    finally:
        for p in procs:
            p.stop()
    return records
