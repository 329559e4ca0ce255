"""PoFL end to end: `pofl run` and `pofl miner` on a real Anvil, a real js-ipfs daemon and real MNIST."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.chain.pofl import PoFLContract
from offchain.cli import cli
from offchain.devnet import Devnet
from offchain.fl.data import load_mnist
from offchain.ipfs_daemon import IpfsDaemon
from offchain.miner.network import deploy_or_attach, ensure_registered
from offchain.miner.processes import start_miner
from offchain.miner.verify import verify_chain
from offchain.miner.workload import RunConfig, Workload
from offchain.store import LocalStore

pytestmark = pytest.mark.slow


def pofl(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_seed_workload_reaches_target_on_anvil_with_ipfs_and_verifies(anvil: Devnet, ipfs_daemon: IpfsDaemon,
                                                                     tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.json"
    code, out = pofl("run", "--rpc-url", anvil.rpc_url, "--ipfs-api", ipfs_daemon.api_multiaddr,
                     "--until-accuracy", "0.6", "--metrics", str(metrics), "--plot", str(tmp_path / "acc.png"))
    assert code == 0, out
    meta, rounds = json.loads(metrics.read_text())["meta"], json.loads(metrics.read_text())["rounds"]
    last = rounds[-1]
    assert last["winner"] is not None and last["chain_accuracy"] >= 0.6 and last["validated_accuracy"] >= 0.59
    assert meta["n_miners"] == 10 and meta["clients_per_round"] == 20
    assert (tmp_path / "acc.png").read_bytes()[:4] == b"\x89PNG"
    contract = PoFLContract.attach(connect(anvil.rpc_url), meta["contract"])
    assert contract.latest_block().accuracy >= 0.6
    code, out = pofl("verify", "--rpc-url", anvil.rpc_url, "--contract", meta["contract"],
                     "--ipfs-api", ipfs_daemon.api_multiaddr)
    assert code == 0 and "verified: OK" in out, out


def test_a_false_claim_is_rejected_slashed_and_the_honest_best_wins(anvil: Devnet, tmp_path: Path) -> None:
    metrics = tmp_path / "m.json"
    code, out = pofl("run", "--rpc-url", anvil.rpc_url, "--store-dir", str(tmp_path / "store"), "--rounds", "1",
                     "--threshold", "0.05", "--cheat", "3", "--metrics", str(metrics))
    assert code == 0, out
    data = json.loads(metrics.read_text())
    record = data["rounds"][0]
    assert record["rejected"] == [3], record
    assert record["winner"] not in (None, 3)
    honest = {int(k): v for k, v in record["miner_accuracies"].items() if int(k) != 3}
    assert record["claimed_accuracy"] == pytest.approx(max(honest.values()), abs=1e-4)
    contract = PoFLContract.attach(connect(anvil.rpc_url), data["meta"]["contract"])
    cheater = contract.miner_info(LocalSigner(contract.w3, dev_key(4)).address)
    assert cheater.stake == 0 and not cheater.active


def test_run_resumes_from_anvil_state_after_a_restart(tmp_path: Path) -> None:
    state, store = tmp_path / "chain.json", str(tmp_path / "store")
    m1, m2 = tmp_path / "m1.json", tmp_path / "m2.json"
    code, out = pofl("run", "--state", str(state), "--store-dir", store, "--rounds", "2", "--threshold", "0.05",
                     "--metrics", str(m1))
    assert code == 0, out
    first = json.loads(m1.read_text())
    code, out = pofl("run", "--state", str(state), "--store-dir", store, "--rounds", "1", "--threshold", "0.05",
                     "--metrics", str(m2))
    assert code == 0, out
    second = json.loads(m2.read_text())
    assert second["meta"]["contract"] == first["meta"]["contract"]  # the same deployment, from the state file
    assert second["rounds"][0]["round"] == first["rounds"][-1]["round"] + 1
    assert second["rounds"][0]["chain_accuracy"] >= first["rounds"][-1]["chain_accuracy"]


def _wait(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def test_four_miner_processes_survive_a_killed_miner(anvil: Devnet, tmp_path: Path) -> None:
    config = RunConfig(n_miners=4, threshold=0.05, phase_seconds=6)
    workload = Workload(config)
    w3 = connect(anvil.rpc_url)
    store_dir = str(tmp_path / "store")
    store = LocalStore(store_dir)
    contract = deploy_or_attach(w3, LocalSigner(w3, dev_key(0)), config, workload, store, None)
    signers = [LocalSigner(w3, dev_key(60 + i)) for i in range(4)]
    ensure_registered(contract, signers)
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [start_miner(anvil.rpc_url, contract.address, s, i, config, None, store_dir, logs)
             for i, s in enumerate(signers)]
    victim = 3
    victim_address = signers[victim].address
    try:
        _wait(lambda: contract.current_round() >= 2, 120, "round 1 to end")
        os.kill(procs[victim].pid, signal.SIGSTOP)  # freeze it mid-round, then kill it
        os.kill(procs[victim].pid, signal.SIGKILL)
        procs[victim].stop()
        killed_round = contract.current_round()
        if contract.claim_of(killed_round, victim_address).commitment != b"\0" * 32:
            killed_round += 1  # it got its commitment in before dying: the next round is the one it misses
        _wait(lambda: contract.current_round() > killed_round, 120, f"round {killed_round} to end without miner 3")
        blocks = contract.blocks()
        assert any(b.round == killed_round for b in blocks), f"round {killed_round} made no block"
        # fewer commitments than active miners: only the commit deadline could have closed that round
        assert contract.claim_of(killed_round, victim_address).commitment == b"\0" * 32
        assert contract.round_info(killed_round).commits == 3
        procs[victim] = start_miner(anvil.rpc_url, contract.address, signers[victim], victim, config, None,
                                    store_dir, logs)  # same key: resumes from the chain
        rejoined = _wait(lambda: next((r for r in range(killed_round + 1, contract.current_round() + 1)
                                       if contract.claim_of(r, signers[victim].address).revealed), None),
                         120, "the restarted miner to take part in a round")
        assert rejoined > killed_round
        after = contract.blocks()
        assert [b.block_hash for b in after[:len(blocks)]] == [b.block_hash for b in blocks]  # nothing lost
        assert all(store.has(b.cid) for b in after)
        report = verify_chain(contract, store)
        assert report.ok, report.as_dict()
    finally:
        for p in procs:
            p.stop()
    assert all("Traceback" not in (logs / f"miner-{i}.log").read_text() for i in range(4))


@pytest.mark.parametrize("config", [
    RunConfig(threshold=0.0),
    # poisoned clients and a robust pool aggregator act inside the trainer both share
    RunConfig(threshold=0.0, attack="backdoor+boost", attack_assignment="one_per_pool", aggregator="multikrum"),
], ids=["seed", "backdoor-multikrum"])
def test_on_chain_run_follows_the_in_memory_engine_round_for_round(anvil: Devnet, tmp_path: Path,
                                                                   config: RunConfig) -> None:
    """Same seed, same clients drawn, same rule: the chain's accuracy per round is the engine's (to 1 bps)."""
    from offchain.fl.simulation import PoFLEngine
    from offchain.miner.driver import RoundDriver
    from offchain.miner.network import miner_signers
    from offchain.miner.strategy import WorkloadStrategy

    workload = Workload(config)
    w3 = connect(anvil.rpc_url)
    store = LocalStore(tmp_path)
    contract = deploy_or_attach(w3, LocalSigner(w3, dev_key(0)), config, workload, store, None)
    signers = miner_signers(w3, config.n_miners)
    ensure_registered(contract, signers)
    run = RoundDriver(contract, store, workload.flat, config.architecture, signers, WorkloadStrategy(workload))
    engine = PoFLEngine(workload.federation, load_mnist("train"), workload.eval_set, config, workload.device)
    for _ in range(6):
        on_chain, in_memory = run.run_round(), engine.run_round()
        assert on_chain.chain_accuracy == pytest.approx(in_memory.consensus_accuracy, abs=1.5e-4)
        assert (on_chain.winner is None) == (in_memory.winner is None)
