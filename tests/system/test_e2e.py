"""PoFL end to end: `pofl run` and `pofl miner` on a real Anvil, a real js-ipfs daemon and real MNIST."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from offchain.app.miner_processes import start_miner
from offchain.app.verify import verify_chain
from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.chain.consensus import PoFLContract
from offchain.cli import cli
from offchain.fl.mnist import load_mnist
from offchain.miner.workload import RunConfig, Workload
from offchain.servers.devnet import Devnet
from offchain.servers.ipfs import IpfsDaemon
from offchain.store import LocalStore
from tests.support.processes import wait_for
from tests.support.runs import deploy_run

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
    assert meta["n_miners"] == 10 and meta["clients_per_round"] == 20
    assert (tmp_path / "acc.png").read_bytes()[:4] == b"\x89PNG"
    # the same seed on the in-memory engine: the chain must make the same blocks in the same rounds
    from offchain.fl.simulation import EngineConfig, PoFLEngine
    from offchain.miner.workload import Workload

    workload = Workload(RunConfig(threshold=0.6))
    engine = PoFLEngine(workload.federation, load_mnist("train"), workload.eval_set, EngineConfig(threshold=0.6),
                        workload.device)
    expected = [engine.run_round() for _ in rounds]
    assert [r["winner"] is not None for r in rounds] == [e.winner is not None for e in expected]
    assert [r["chain_accuracy"] for r in rounds] == pytest.approx([e.consensus_accuracy for e in expected], abs=1.5e-4)
    last = rounds[-1]
    # the committee's own measurements of the winning model agree with its claim, and its block is the head
    assert last["validated_accuracy"] == pytest.approx(last["claimed_accuracy"], abs=1.5e-4)
    contract = PoFLContract.attach(connect(anvil.rpc_url), meta["contract"])
    assert contract.latest_block().cid == last["cid"] and contract.block_count() - 1 == sum(
        r["winner"] is not None for r in rounds)
    code, out = pofl("verify", "--rpc-url", anvil.rpc_url, "--contract", meta["contract"],
                     "--ipfs-api", ipfs_daemon.api_multiaddr)
    assert code == 0 and "verified: OK" in out, out


def test_a_false_claim_is_rejected_slashed_and_the_honest_best_wins(anvil: Devnet, tmp_path: Path) -> None:
    from offchain.fl.federation import assign_to_miners, select_clients

    # the cheater must claim a model of its own: a miner that trains in round 1 (a miner without a drawn
    # client would claim the genesis model, whose digest was used before and so is ineligible anyway)
    cheat = int(sorted(set(assign_to_miners(1000, 10, 0)[select_clients(0, 1, 1000, 20)]))[0])
    metrics = tmp_path / "m.json"
    code, out = pofl("run", "--rpc-url", anvil.rpc_url, "--store-dir", str(tmp_path / "store"), "--rounds", "1",
                     "--threshold", "0.05", "--cheat", str(cheat), "--metrics", str(metrics))
    assert code == 0, out
    data = json.loads(metrics.read_text())
    record = data["rounds"][0]
    assert record["rejected"] == [cheat], record
    assert record["winner"] not in (None, cheat)
    honest = {int(k): v for k, v in record["miner_accuracies"].items() if int(k) != cheat}
    assert record["claimed_accuracy"] == pytest.approx(max(honest.values()), abs=1e-4)
    contract = PoFLContract.attach(connect(anvil.rpc_url), data["meta"]["contract"])
    cheater = contract.miner_info(LocalSigner(contract.w3, dev_key(cheat + 1)).address)
    assert cheater.stake == 0 and not cheater.registered  # slashed whole, then evicted


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
    # every miner of the resumed run started from the head block the first run left, not from genesis
    last = next(r for r in reversed(first["rounds"]) if r["cid"] is not None)
    assert last["block_height"] >= 1
    assert second["meta"]["started_from"] == {"height": last["block_height"], "cid": last["cid"]}


def test_four_miner_processes_survive_a_killed_miner(anvil: Devnet, tmp_path: Path) -> None:
    """Miner 3 is killed right after its commitment of a round is mined (an event on chain, not a sleep): that
    round and the next close by their deadlines with the three others; restarted with its key, it adopts the
    head block and takes part again."""
    config = RunConfig(n_miners=4, min_committee=2, threshold=0.0, phase_seconds=6)
    workload = Workload(config)
    store_dir = str(tmp_path / "store")
    store = LocalStore(store_dir)
    run = deploy_run(anvil.rpc_url, config, workload, store)
    contract, signers = run.contract, run.signers
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [start_miner(anvil.rpc_url, contract.address, s, i, config, None, store_dir, logs)
             for i, s in enumerate(signers)]
    victim = signers[3].address
    try:
        wait_for(lambda: contract.block_count() > 1, 120, "a first block", procs)
        def victim_committed() -> int | None:
            r = contract.current_round()
            return r if contract.claim_of(r, victim).committed else None

        killed_round = wait_for(victim_committed, 60, "miner 3 to commit", procs)
        os.kill(procs[3].pid, signal.SIGKILL)  # type: ignore[arg-type]
        procs[3].stop()
        missed = killed_round + 1
        wait_for(lambda: contract.current_round() > missed, 120, f"round {missed} to end without miner 3", procs[:3])
        # fewer commitments than active miners: only the commit deadline could have closed that round
        committers = [e["args"]["miner"] for e in contract.events("Committed", 0) if e["args"]["round"] == missed]
        assert len(committers) == 3 and victim not in committers
        assert any(b.round == missed for b in contract.blocks()), f"round {missed} made no block"
        blocks = contract.blocks()
        head = blocks[-1]
        procs[3] = start_miner(anvil.rpc_url, contract.address, signers[3], 3, config, None, store_dir,
                               logs)  # same key: resumes from the chain
        rejoined = wait_for(lambda: next((e["args"]["round"] for e in contract.events("Revealed", 0)
                                          if e["args"]["round"] > missed and e["args"]["miner"] == victim), None),
                            120, "the restarted miner to take part in a round", procs)
        log_text = (logs / "miner-3.log").read_text()
        adopted = [line for line in log_text.splitlines() if "miner 3 adopted block" in line]
        first_height = int(adopted[0].split("adopted block ")[1].split()[0])
        assert first_height >= head.height  # it started from the head it found, not from genesis
        assert contract.block_at(first_height).cid in adopted[0]
        after = contract.blocks()
        assert [b.block_hash for b in after[:len(blocks)]] == [b.block_hash for b in blocks]  # nothing lost
        assert rejoined > missed and all(store.has(b.cid) for b in after)
        report = verify_chain(contract, store)
        assert report.ok, report.as_dict()
    finally:
        for p in procs:
            p.stop()
    assert all("Traceback" not in (logs / f"miner-{i}.log").read_text() for i in range(4))


