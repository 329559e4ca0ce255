"""Miners nothing can knock out: hostile CIDs, dead and frozen miners, a flaky RPC — run against real
`pofl miner` processes on a real Anvil and a real js-ipfs daemon, with real MNIST."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from offchain.app.miner_processes import start_miner
from offchain.app.preflight import ensure_registered
from offchain.chain.accounts import LocalSigner
from offchain.chain.consensus import PoFLContract
from offchain.chain.types import UNAVAILABLE_BPS, ClaimStatus, PenaltyReason
from offchain.fl.architectures import build_model
from offchain.miner.claims import ForgedClaims
from offchain.miner.driver import DriverSettings, RoundDriver
from offchain.miner.strategy import WorkloadStrategy
from offchain.miner.workload import RunConfig, Workload
from offchain.servers.devnet import Devnet
from offchain.servers.ipfs import IpfsDaemon
from offchain.servers.process import ManagedProcess
from offchain.store.cid import CidKind, cid_from_digest, compute_cid
from offchain.store.fetching import publish_model
from offchain.store.ipfs import IpfsStore
from tests.support.netproxy import FlakyProxy
from tests.support.processes import wait_for
from tests.support.runs import deploy_run

pytestmark = pytest.mark.slow


def decided(contract: PoFLContract, round_id: int, claimant: str) -> Any:
    """The ClaimDecided event of ``claimant``'s claim in ``round_id`` (the last one, if validated twice)."""
    return [e["args"] for e in contract.events("ClaimDecided", 0)
            if e["args"]["round"] == round_id and e["args"]["claimant"] == claimant][-1]


def revealed_in(contract: PoFLContract, round_id: int, miner: str) -> bool:
    return any(e["args"]["round"] == round_id and e["args"]["miner"] == miner for e in contract.events("Revealed", 0))


def validation_of(contract: PoFLContract, round_id: int, candidate: str) -> int:
    """The attempt number of the validation of ``candidate``'s claim in ``round_id``."""
    return next(e["args"]["attempt"] for e in contract.events("ValidationOpened", 0)
                if e["args"]["round"] == round_id and e["args"]["candidate"] == candidate)


def header_bomb(depth: int = 100_000) -> bytes:
    """A ~200 KB 'model' whose safetensors header is ``depth`` nested JSON arrays."""
    header = b"[" * depth + b"]" * depth
    return struct.pack("<Q", len(header)) + header


def start_honest(url: str, contract: PoFLContract, signers: list[LocalSigner], config: RunConfig,
                 ipfs_api: str | None, store_dir: str, logs: Path) -> list[ManagedProcess]:
    logs.mkdir(exist_ok=True)
    return [start_miner(url, contract.address, s, i, config, ipfs_api, store_dir, logs) for i, s in enumerate(signers)]


def assert_clean_logs(logs: Path, n: int) -> None:
    for i in range(n):
        text = (logs / f"miner-{i}.log").read_text()
        assert "Traceback" not in text, text[-3000:]


def test_hostile_cids_are_voted_down_and_no_honest_miner_exits(anvil: Devnet, ipfs_daemon: IpfsDaemon,
                                                               tmp_path: Path) -> None:
    """An attacker reveals (a) a CID no store has, (b) garbage (consensus v2 reveals a 32-byte digest, so a
    garbage string cannot even be revealed: its nearest is a random digest), (c) the CID of a model of another
    architecture, (d) a header bomb, each claiming 100%: every honest seat reports (a) and (b) UNAVAILABLE at the
    fetch deadline on chain (the claim is Unavailable, the attacker pays 10%) and measures (c) and (d) at 0 (the
    attacker is slashed); the honest best claim is the round's block at its median, nobody exits."""
    n_honest = 4
    # flexBlock's rule (no improvement needed): every round with an honest claim can make a block
    config = RunConfig(n_miners=n_honest + 1, threshold=0.05, require_improvement=False, phase_seconds=12)
    workload = Workload(config)
    store = IpfsStore(ipfs_daemon.api_multiaddr)
    run = deploy_run(anvil.rpc_url, config, workload, store)
    contract, (*honest, attacker) = run.contract, run.signers
    cnn = build_model("cnn")
    unfetchable = {"absent", "garbage"}
    attacks = {
        "absent": compute_cid(b"a model nobody ever stored"),
        "garbage": cid_from_digest(os.urandom(32), CidKind.V1_RAW),
        "wrong-architecture": publish_model(store, cnn.state_dict(), "cnn"),
        "header-bomb": store.put(header_bomb()),
    }
    logs = tmp_path / "logs"
    procs = start_honest(anvil.rpc_url, contract, honest, config, ipfs_daemon.api_multiaddr, str(tmp_path), logs)
    honest_addresses = {s.address for s in honest}
    try:
        wait_for(lambda: contract.block_count() > 1, 180, "a first honest block", procs)
        for name, cid in attacks.items():
            ensure_registered(contract, [attacker])  # re-stake after the previous slash
            driver = RoundDriver(contract, store, workload.flat, config.architecture, [attacker],
                                 WorkloadStrategy(workload), claims=ForgedClaims(lambda _r, cid=cid: cid, 1.0),
                                 indices=[n_honest], settings=DriverSettings(fetch_timeout_s=config.fetch_timeout_s))
            try:
                while True:  # the round in progress when it joined may be past its Commit phase
                    record = driver.run_round(max_seconds=120)
                    if revealed_in(contract, record.round, attacker.address):
                        break
                    assert all(p.alive() for p in procs)
            finally:
                driver.close()
            r = record.round
            revealed = {e["args"]["miner"]: e["args"] for e in contract.events("Revealed", 0)
                        if e["args"]["round"] == r}
            assert cid_from_digest(revealed[attacker.address]["digest"], revealed[attacker.address]["cidKind"]) == cid
            outcome = decided(contract, r, attacker.address)
            if name in unfetchable:  # not counted as reports; the claimant pays the misreport penalty
                assert outcome["outcome"] == ClaimStatus.UNAVAILABLE, f"{name}: the claim was not Unavailable"
                assert outcome["medianBps"] == 0 and outcome["reports"] == 0 and outcome["seats"] >= 3, (name, outcome)
                assert [e for e in contract.events("Penalized", 0) if e["args"]["round"] == r
                        and e["args"]["reason"] == PenaltyReason.UNSERVED_CLAIM], f"{name}: the attacker paid nothing"
            else:
                assert outcome["outcome"] == ClaimStatus.REJECTED, f"{name}: the forged claim was not rejected"
                assert outcome["medianBps"] == 0 and outcome["reports"] == outcome["seats"] >= 3, (name, outcome)
                assert not contract.miner_info(attacker.address).registered, f"{name}: the attacker kept its stake"
            attempt = validation_of(contract, r, attacker.address)
            votes = [e["args"] for e in contract.events("Voted", 0) if e["args"]["round"] == r
                     and e["args"]["attempt"] == attempt]
            assert {v["validator"] for v in votes} <= honest_addresses
            reported = UNAVAILABLE_BPS if name in unfetchable else 0
            assert all(v["measuredBps"] == reported for v in votes), (name, votes)  # every honest seat alike
            block = contract.latest_block()  # the forged claim was rejected: the next best was validated
            assert block.round == r and block.miner in honest_addresses, name
            best = max(args["accuracyBps"] for a, args in revealed.items() if a in honest_addresses)
            assert decided(contract, r, block.miner)["claimedBps"] == best
            assert block.accuracy_bps == decided(contract, r, block.miner)["medianBps"]
            assert all(p.alive() for p in procs), f"an honest miner exited after the {name} attack"
        assert_clean_logs(logs, n_honest)
        reasons = "".join((logs / f"miner-{i}.log").read_text() for i in range(n_honest))
        for cid, why in ((attacks["wrong-architecture"], "ModelFormatError"),
                         (attacks["header-bomb"], "ModelFormatError")):
            assert f"measures candidate {cid} at 0: {why}" in reasons, why
    finally:
        for p in procs:
            p.stop()


def _frozen_after_commit(contract: PoFLContract, victim: LocalSigner, proc: ManagedProcess,
                         others: list[ManagedProcess]) -> int:
    """SIGSTOP ``proc`` right after its commitment of a round is mined; the round it froze in."""
    def committed_round() -> int | None:
        r = contract.current_round()
        return r if contract.claim_of(r, victim.address).committed else None

    r = wait_for(committed_round, 120, "the victim to commit", [proc, *others])
    os.kill(proc.pid, signal.SIGSTOP)  # type: ignore[arg-type]
    return r


@pytest.mark.soak
def test_a_miner_frozen_after_committing_never_stops_the_others(anvil: Devnet, tmp_path: Path) -> None:
    """20 times: one of three miners is frozen right after it commits; the other two stay up and the round
    closes by its deadlines (the victim neither reveals nor votes), then the victim is thawed."""
    from offchain.store import LocalStore

    config = RunConfig(n_miners=3, min_committee=1, threshold=0.0, phase_seconds=3)
    workload = Workload(config)
    run = deploy_run(anvil.rpc_url, config, workload, LocalStore(tmp_path / "s"))
    contract, signers = run.contract, run.signers
    logs = tmp_path / "logs"
    procs = start_honest(anvil.rpc_url, contract, signers, config, None, str(tmp_path / "s"), logs)
    try:
        unrevealed = 0
        for rep in range(20):
            victim = rep % 3
            others = [p for i, p in enumerate(procs) if i != victim]
            r = _frozen_after_commit(contract, signers[victim], procs[victim], others)
            try:
                wait_for(lambda r=r: contract.current_round() > r, 60, f"round {r} to close without miner {victim}",
                         others)
            finally:
                os.kill(procs[victim].pid, signal.SIGCONT)  # type: ignore[arg-type]
            # frozen before it could reveal (unless it committed last and revealed at once): the reveal
            # deadline, and the validation deadline for want of its vote, closed the round
            unrevealed += not revealed_in(contract, r, signers[victim].address)
            assert all(p.alive() for p in procs), f"repetition {rep}: a miner exited"
        assert unrevealed >= 1 and contract.block_count() > 1
    finally:
        for p in procs:
            p.stop()
    assert_clean_logs(logs, 3)


@pytest.mark.soak
def test_miners_ride_out_an_rpc_that_drops_connections(anvil: Devnet, tmp_path: Path) -> None:
    """The miners reach the chain through a proxy that is cut for a few seconds, five times: no miner exits
    and rounds go on making blocks."""
    from offchain.store import LocalStore

    config = RunConfig(n_miners=3, min_committee=2, threshold=0.0, phase_seconds=4)
    workload = Workload(config)
    run = deploy_run(anvil.rpc_url, config, workload, LocalStore(tmp_path / "s"))
    contract, signers = run.contract, run.signers
    host, port = anvil.rpc_url.removeprefix("http://").split(":")
    proxy = FlakyProxy(host, int(port))
    logs = tmp_path / "logs"
    procs = start_honest(proxy.url, contract, signers, config, None, str(tmp_path / "s"), logs)
    try:
        wait_for(lambda: contract.block_count() > 1, 120, "a first block", procs)
        for cut in range(5):
            before = contract.current_round()
            proxy.cut()
            time.sleep(3 + cut % 3)
            assert all(p.alive() for p in procs), f"a miner exited while the RPC was down (cut {cut})"
            proxy.restore()
            wait_for(lambda before=before: contract.current_round() > before + 1, 90,
                     f"two more rounds after cut {cut}", procs)
        blocks_before = contract.block_count()
        wait_for(lambda: contract.block_count() > blocks_before, 60, "a block after the last cut", procs)
    finally:
        proxy.close()
        for p in procs:
            p.stop()
    assert_clean_logs(logs, 3)
    assert any("transient failure" in (logs / f"miner-{i}.log").read_text() for i in range(3))


def test_a_restarted_miner_lives_with_an_unfetchable_head(anvil: Devnet, tmp_path: Path) -> None:
    """The head block's model is gone from the store: a (re)started miner says so, keeps mining and
    retries the fetch with backoff instead of dying in its head sync."""
    from offchain.store import LocalStore

    config = RunConfig(n_miners=3, min_committee=1, threshold=0.0, phase_seconds=4)
    workload = Workload(config)
    store_dir = tmp_path / "s"
    run = deploy_run(anvil.rpc_url, config, workload, LocalStore(store_dir))
    contract, signers = run.contract, run.signers
    logs = tmp_path / "logs"
    procs = start_honest(anvil.rpc_url, contract, signers[:2], config, None, str(store_dir), logs)
    try:
        wait_for(lambda: contract.block_count() > 2, 120, "two blocks", procs)
        procs[1].stop()
        head = contract.latest_block()
        for blob in store_dir.rglob("*"):  # the store loses the head's model
            if blob.is_file() and blob.name == head.cid:
                blob.unlink()
        assert not LocalStore(store_dir).has(head.cid)
        late = start_miner(anvil.rpc_url, contract.address, signers[2], 2, config, None, str(store_dir), logs)
        procs.append(late)
        wait_for(lambda: "cannot fetch block" in (logs / "miner-2.log").read_text(), 60,
                 "the new miner to report the missing head", [procs[0], late])
        start = contract.current_round()
        wait_for(lambda: contract.current_round() >= start + 2, 90, "two more rounds", [procs[0], late])
        assert late.alive()
    finally:
        for p in procs:
            p.stop()
    assert "Traceback" not in (logs / "miner-2.log").read_text()


def test_an_unfunded_miner_exits_with_its_own_exit_code(anvil: Devnet, tmp_path: Path) -> None:
    """The miner's own fault ends it: one line, exit code 4 (InsufficientFunds)."""
    from eth_account import Account

    from offchain.cli import cli

    config = RunConfig(n_miners=2, min_committee=1, threshold=0.0, phase_seconds=4)
    workload = Workload(config)
    from offchain.store import LocalStore

    contract = deploy_run(anvil.rpc_url, config, workload, LocalStore(tmp_path), n_miners=0).contract
    poor = Account.create()
    env = dict(os.environ, POFL_KEY=poor.key.to_0x_hex())
    from click.testing import CliRunner

    result = CliRunner(env=env).invoke(cli, ["miner", "--rpc-url", anvil.rpc_url, "--contract", contract.address,
                                             "--clients", "0/2", "--miners", "2", "--min-committee", "1",
                                             "--phase-seconds", "4", "--threshold", "0", "--store-dir", str(tmp_path)])
    assert result.exit_code == 4, result.output
    assert "InsufficientFunds" in result.output and "Traceback" not in result.output
    assert contract.miner_info(poor.address).stake == 0 and not contract.miner_info(poor.address).registered


def test_a_miner_whose_rpc_stays_down_exits_with_its_own_exit_code(anvil: Devnet, tmp_path: Path) -> None:
    """The miner's own fault: its RPC down for longer than --rpc-grace ends it with one line and exit status 3."""
    from offchain.store import LocalStore

    config = RunConfig(n_miners=2, min_committee=1, threshold=0.0, phase_seconds=4)
    workload = Workload(config)
    run = deploy_run(anvil.rpc_url, config, workload, LocalStore(tmp_path / "s"), n_miners=1)
    contract, (signer,) = run.contract, run.signers
    host, port = anvil.rpc_url.removeprefix("http://").split(":")
    proxy = FlakyProxy(host, int(port))
    env = dict(os.environ, POFL_MINER_KEY=signer.account.key.to_0x_hex())
    argv = [sys.executable, "-m", "offchain.cli", "miner", "--config", str(tmp_path / "c.json"), "--rpc-url",
            proxy.url, "--contract", contract.address, "--key-env", "POFL_MINER_KEY", "--clients", "0/2",
            "--store-dir", str(tmp_path / "s"), "--rpc-grace", "3"]
    (tmp_path / "c.json").write_text(config.to_json())
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: contract.claim_of(contract.current_round(), signer.address).committed, 120,
                 "the miner to commit")
        proxy.cut()
        out, _ = proc.communicate(timeout=60)
    finally:
        proxy.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, out[-2000:]
    last = out.strip().splitlines()[-1]
    assert last.startswith("Error: RpcUnavailable:") and "restart the miner" in last, out[-2000:]
    assert "Traceback" not in out


def test_the_driver_follows_an_appeal_and_the_lying_seat_pays(anvil: Devnet, tmp_path: Path) -> None:
    """Issue 20, finding 5, through the miners' own round driver: three miners, committees of two; one seat
    measures every model at 0. Its report splits the first committee (a dispute), which opens the appeal: the
    driver's seats vote again on the same claim (a new validation attempt), the honest side (the claimant and
    the truthful seat, two thirds of the stake) wins, the claim is the block at its median and the lying seat
    pays a misreport penalty; the honest miners pay nothing."""
    from offchain.store import LocalStore
    from tests.support.strategies import Misreporting

    config = RunConfig(n_miners=3, min_committee=2, threshold=0.05, require_improvement=False, phase_seconds=10,
                       clients_per_round=3)
    workload = Workload(config)
    store = LocalStore(tmp_path / "store")
    run = deploy_run(anvil.rpc_url, config, workload, store)
    contract, (liar, *honest) = run.contract, run.signers
    stake = contract.miner_info(liar.address).stake
    driver = RoundDriver(contract, store, workload.flat, config.architecture, run.signers, Misreporting(workload, 0))
    try:
        driver.run_round(max_seconds=120)
    finally:
        driver.close()
    decisions = contract.decisions(1)
    assert [d.outcome for d in decisions] == [ClaimStatus.DISPUTED, ClaimStatus.ACCEPTED]
    assert contract.appeal_attempt(1) == 2 and decisions[0].claimant == decisions[1].claimant
    assert set(contract.reports(1, 2)) == {liar.address} | {m.address for m in honest} - {decisions[1].claimant}
    block = contract.latest_block()
    assert block.height == 1 and block.miner == decisions[1].claimant
    lost = [(e["args"]["miner"], e["args"]["reason"]) for e in contract.events("Penalized")]
    assert lost == [(liar.address, PenaltyReason.MISREPORT)]
    assert all(contract.miner_info(m.address).stake == stake for m in honest)
