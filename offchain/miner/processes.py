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


def miner_argv(url: str, contract: str, key_env: str, index: int, config_file: Path, ipfs_api: str | None,
               store_dir: str, n_miners: int) -> list[str]:
    argv = [sys.executable, "-m", "offchain.cli", "miner", "--config", str(config_file), "--rpc-url", url,
            "--contract", contract, "--key-env", key_env, "--clients", f"{index}/{n_miners}", "--index", str(index),
            "--store-dir", store_dir]
    if ipfs_api:
        argv += ["--ipfs-api", ipfs_api]
    return argv


def start_miner(url: str, contract: str, signer: LocalSigner, index: int, config: RunConfig, ipfs_api: str | None,
                store_dir: str, log_dir: Path) -> ManagedProcess:
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
    return ManagedProcess(f"miner {index}", argv, env=env, log_path=log_dir / f"miner-{index}.log").start()


def run_miner_processes(url: str, contract: PoFLContract, signers: list[LocalSigner], config: RunConfig,
                        ipfs_api: str | None, store_dir: str, rounds: int, until_accuracy: float | None,
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
            if len(records) >= rounds:
                break
            if until_accuracy is not None and records and records[-1].winner is not None \
                    and records[-1].chain_accuracy >= until_accuracy:
                break
            dead = [p.name for p in procs if not p.alive()]
            if dead:
                raise PoflRuntimeError(f"{', '.join(dead)} exited; see the logs in {log_dir}")
    finally:
        for p in procs:
            p.stop()
    return records
