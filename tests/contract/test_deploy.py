"""Deploying the artifacts, the deployment record, and attaching to it."""

from __future__ import annotations

import json
import time

import pytest
from web3 import Web3

from offchain.chain.consensus import PoFLContract
from offchain.chain.deploy import DeploymentError, chain_key, read_record
from offchain.chain.types import PoFLConfig
from offchain.servers.devnet import start_devnet
from offchain.store.cid import compute_cid
from offchain.testing.accounts import fresh_signers
from tests.support.accounts import Funded

CONFIG = PoFLConfig(threshold_bps=6000, eval_set_hash=b"\x11" * 32, architecture_id=b"\x22" * 32)
GENESIS = compute_cid(b"the genesis model")


def test_deploy_and_read_back(any_w3: Web3, tmp_path) -> None:
    (owner,) = fresh_signers(any_w3, 1)
    contract, record = PoFLContract.deploy(owner, CONFIG, GENESIS, reward_pool=10**18,
                                           deployments_dir=tmp_path)
    assert record.chain_id == any_w3.eth.chain_id
    folder = tmp_path / chain_key(any_w3)
    assert folder.name.startswith(f"{record.chain_id}-") and len(folder.name.split("-")[1]) == 12
    stored = json.loads((folder / "PoFLConsensus.json").read_text())
    assert stored["address"] == contract.address and stored["deployer"] == owner.address
    assert stored["tx_hash"].startswith("0x") and stored["block_number"] >= 1
    assert stored["genesis_hash"] == "0x" + bytes(any_w3.eth.get_block(0)["hash"]).hex()

    again = PoFLContract.attach(any_w3, deployments_dir=tmp_path)
    assert again.address == contract.address
    assert again.config() == CONFIG
    assert again.current_round() == 1
    genesis = again.latest_block()
    assert (genesis.height, genesis.cid, genesis.accuracy_bps) == (0, GENESIS, 0)
    assert genesis.block_hash == genesis.expected_hash()
    assert again.balances()["rewardPool"] == 10**18


def test_two_devnets_with_one_chain_id_keep_their_records_apart(tmp_path) -> None:
    """Every Anvil has chain id 31337: the record of one is never read for the other (the genesis block tells
    them apart), and a deployment's history is kept."""
    with start_devnet("anvil") as net:
        w3 = Web3(Web3.HTTPProvider(net.rpc_url))
        first, _ = PoFLContract.deploy(fresh_signers(w3, 1)[0], CONFIG, GENESIS, deployments_dir=tmp_path)
        second, _ = PoFLContract.deploy(fresh_signers(w3, 1)[0], CONFIG, GENESIS, deployments_dir=tmp_path)
        assert PoFLContract.attach(w3, deployments_dir=tmp_path).address == second.address
        key = chain_key(w3)
        history = (tmp_path / key / "history.jsonl").read_text().splitlines()
        assert [json.loads(line)["address"] for line in history] == [first.address, second.address]
        assert read_record(key, "PoFLConsensus", tmp_path, first.address).address == first.address
    time.sleep(1.1)  # a devnet's genesis block carries its start time (in seconds)
    with start_devnet("anvil") as net:
        w3 = Web3(Web3.HTTPProvider(net.rpc_url))
        assert chain_key(w3) != key
        with pytest.raises(DeploymentError, match="no deployment record .* for this chain: deploy first"):
            PoFLContract.attach(w3, deployments_dir=tmp_path)


def test_attach_after_anvil_restart_from_its_state_finds_the_record(tmp_path) -> None:
    state = tmp_path / "chain.json"
    with start_devnet("anvil", state=state) as net:
        w3 = Web3(Web3.HTTPProvider(net.rpc_url))
        contract, _ = PoFLContract.deploy(fresh_signers(w3, 1)[0], CONFIG, GENESIS, deployments_dir=tmp_path)
    with start_devnet("anvil", state=state) as net:
        assert PoFLContract.attach(Web3(Web3.HTTPProvider(net.rpc_url)), deployments_dir=tmp_path).address \
            == contract.address


def test_attach_to_other_code_is_refused(anvil_w3: Web3, funded: Funded, tmp_path) -> None:
    (owner,) = funded(1)
    with pytest.raises(DeploymentError, match="no contract code"):
        PoFLContract.attach(anvil_w3, owner.address, deployments_dir=tmp_path)


def test_missing_record_says_how_to_deploy(anvil_w3: Web3, tmp_path) -> None:
    with pytest.raises(DeploymentError, match="pofl deploy"):
        read_record(chain_key(anvil_w3), "PoFLConsensus", tmp_path)
    (tmp_path / chain_key(anvil_w3)).mkdir()
    (tmp_path / chain_key(anvil_w3) / "PoFLConsensus.json").write_text("{nope")
    with pytest.raises(DeploymentError, match="is not JSON"):
        read_record(chain_key(anvil_w3), "PoFLConsensus", tmp_path)
