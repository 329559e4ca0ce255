"""One miner's pool is Flower, two are in-process, on Anvil and IPFS: `pofl deploy`, then three `pofl miner`
processes, miner 0 with `--pool flower --superlink` and two SuperNodes of its clients, each a process of its own.
The chain makes a block, and miner 0 claims with a model its SuperNodes trained."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from offchain.chain.connect import connect
from offchain.chain.consensus import PoFLContract
from offchain.fl.federation import assign_to_miners
from offchain.servers.devnet import Devnet
from offchain.servers.ipfs import IpfsDaemon
from offchain.testing.accounts import FUNDED_WEI, fund
from tests.support.terminal import Terminal, pofl

pytestmark = pytest.mark.slow

# iid over 12 clients, all drawn every round: each of the 3 miners leads 4
SETTINGS = ["--miners", "3", "--min-committee", "2", "--partition", "iid", "--n-clients", "12", "--clients-per-round",
            "12", "--seed", "2", "--phase-seconds", "90", "--threshold", "0"]


@pytest.mark.timeout(480)
def test_a_flower_pool_and_two_in_process_pools_make_blocks(anvil: Devnet, ipfs_daemon: IpfsDaemon, superlink: Any,
                                                            supernodes: Any, tmp_path: Path) -> None:
    env = {"POFL_RPC_URL": anvil.rpc_url, "POFL_IPFS_API": ipfs_daemon.api_multiaddr}
    done = pofl("deploy", *SETTINGS, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    address = done.stdout.split("deployed PoFLConsensus at ")[1].split()[0]
    w3 = connect(anvil.rpc_url)
    keys = [Account.create(os.urandom(32)) for _ in range(3)]
    fund(w3, [k.address for k in keys], FUNDED_WEI)
    owners = assign_to_miners(12, 3, 2)
    ours = [int(c) for c in (owners == 0).nonzero()[0][:2]]
    supernodes(ours)  # two of miner 0's four clients are SuperNodes; the other two are not connected

    flower = ["--pool", "flower", "--superlink", str(superlink.address), "--min-nodes", "2"]
    miners = [Terminal("miner", "--clients", f"{i}/3", *(flower if i == 0 else []), cwd=tmp_path,
                       env={**env, "POFL_KEY": keys[i].key.to_0x_hex()}) for i in range(3)]
    try:
        miners[0].expect(rf"miner 0 \(0x\w+\) with 4 clients on Flower SuperNodes via {superlink.address}", 180)
        contract = PoFLContract.attach(w3, address)
        deadline = time.monotonic() + 360
        # a block beyond genesis, and a claim of miner 0's revealed (a phase waits for every miner, up to 90 s)
        while contract.block_count() < 2 or keys[0].address not in {e["args"]["miner"] for e in
                                                                    contract.events("Revealed")}:
            assert time.monotonic() < deadline, [m.output()[-20:] for m in miners]
            assert all(m.proc.poll() is None for m in miners), [m.output()[-20:] for m in miners]
            time.sleep(0.5)
    finally:
        codes = [m.interrupt() for m in miners]
    trained = [m for m in miners[0].output() if re.search(r"round \d+: 2 of 2 selected clients replied", m)]
    assert trained, miners[0].output()[-30:]
    for m in miners:
        assert "Traceback" not in "\n".join(m.output()), m.output()[-30:]
    assert all(code in (0, 130) for code in codes), codes
