"""The README's three-terminal walkthrough, run as a user runs it: `pofl devnet` and `pofl ipfs` in their own
terminals, then `pofl deploy`, three `pofl miner` processes with the keys the devnet printed and nothing but
`--clients i/3`, `pofl blocks` and `pofl verify` — each a process of its own in a fresh working directory."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from offchain.chain.connect import connect
from offchain.chain.consensus import PoFLContract
from offchain.servers.process import pid_alive
from tests.support.terminal import Terminal, pofl

pytestmark = pytest.mark.slow


@pytest.mark.timeout(420)
def test_three_terminal_walkthrough(tmp_path: Path) -> None:
    devnet = Terminal("devnet", "--port", "0", cwd=tmp_path)  # terminal 1
    ipfs = Terminal("ipfs", "--port", "0", cwd=tmp_path)  # terminal 2
    miners: list[Terminal] = []
    try:
        url = devnet.expect(r"Listening on (http://\S+)", 60)[1]
        keys = [devnet.expect(rf"^\({i}\) (0x[0-9a-f]{{64}})$", 5)[1] for i in range(4)]
        anvil_pid = int(devnet.expect(r"anvil \(pid (\d+)\) logs to (\S+)", 5)[1])
        assert (tmp_path / devnet.expect(r"logs to (\S+?);", 5)[1]).is_file()
        api = ipfs.expect(r"IPFS RPC API at (\S+)", 90)[1]
        env = {"POFL_RPC_URL": url, "POFL_IPFS_API": api}  # terminal 3

        done = pofl("deploy", "--miners", "3", "--min-committee", "2", "--clients-per-round", "6", "--phase-seconds",
                    "5", "--threshold", "0", cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        address = done.stdout.split("deployed PoFLConsensus at ")[1].split()[0]
        record = next((tmp_path / "deployments").glob("31337-*/PoFLConsensus.json"))
        assert json.loads(record.read_text())["settings"]["clients_per_round"] == 6

        miners = [Terminal("miner", "--clients", f"{i}/3", cwd=tmp_path, env={**env, "POFL_KEY": keys[i + 1]})
                  for i in range(3)]
        for i, miner in enumerate(miners):
            miner.expect(rf"miner {i} \(0x\w+\) with \d+ clients, from round 1; settings from .*{record.name}", 120)
        contract = PoFLContract.attach(connect(url), address)
        deadline_blocks = 3  # genesis and two blocks
        for _ in range(600):
            if contract.block_count() >= deadline_blocks:
                break
            assert all(m.proc.poll() is None for m in miners), [m.output()[-20:] for m in miners]
            time.sleep(0.5)
        assert contract.block_count() >= deadline_blocks

        blocks = pofl("blocks", "--json", cwd=tmp_path, env=env)
        assert blocks.returncode == 0, blocks.stderr
        assert len(json.loads(blocks.stdout)) >= 3
        verify = pofl("verify", "--json", cwd=tmp_path, env=env)
        report = json.loads(verify.stdout)
        assert verify.returncode == 0 and report["verdict"] == "OK", verify.stdout[-2000:] + verify.stderr
    finally:
        codes = [m.interrupt() for m in miners]
        devnet_code, ipfs_code = devnet.interrupt(), ipfs.interrupt()
    for m in miners:
        assert "Traceback" not in "\n".join(m.output())
    assert devnet_code == 0 and ipfs_code == 0, (devnet.output()[-5:], ipfs.output()[-5:])
    assert all(code in (0, 130) for code in codes), codes
    assert not pid_alive(anvil_pid)
