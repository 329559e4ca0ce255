"""Deploying the artifacts, the deployment record, and attaching to it."""

from __future__ import annotations

import json

import pytest
from web3 import Web3

from offchain.chain.deploy import DeploymentError, read_record
from offchain.chain.pofl import PoFLConfig, PoFLContract
from offchain.devnet import start_devnet
from offchain.store.cid import compute_cid
from tests.conftest import signers

CONFIG = PoFLConfig(threshold_bps=6000, eval_set_hash=b"\x11" * 32, architecture_id=b"\x22" * 32)
GENESIS = compute_cid(b"the genesis model")


def test_deploy_and_read_back(any_w3: Web3, tmp_path) -> None:
    (owner,) = signers(any_w3, [0])
    contract, record = PoFLContract.deploy(owner, CONFIG, GENESIS, reward_pool=10**18,
                                           deployments_dir=tmp_path)
    assert record.chain_id == any_w3.eth.chain_id
    stored = json.loads((tmp_path / f"{record.chain_id}.json").read_text())["contracts"]["PoFLConsensus"]
    assert stored["address"] == contract.address and stored["deployer"] == owner.address
    assert stored["tx_hash"].startswith("0x") and stored["block_number"] >= 1

    again = PoFLContract.attach(any_w3, deployments_dir=tmp_path)
    assert again.address == contract.address
    assert again.config() == CONFIG
    assert again.current_round() == 1
    genesis = again.latest_block()
    assert (genesis.height, genesis.cid, genesis.accuracy_bps) == (0, GENESIS, 0)
    assert genesis.block_hash == genesis.expected_hash()
    assert again.balances()["rewardPool"] == 10**18


def test_attach_after_devnet_restart_says_what_to_run(tmp_path) -> None:
    with start_devnet("anvil") as net:
        w3 = Web3(Web3.HTTPProvider(net.rpc_url))
        PoFLContract.deploy(signers(w3, [0])[0], CONFIG, GENESIS, deployments_dir=tmp_path)
    with start_devnet("anvil") as net:
        w3 = Web3(Web3.HTTPProvider(net.rpc_url))
        with pytest.raises(DeploymentError, match="no contract code at .* Deploy again with `pofl deploy`"):
            PoFLContract.attach(w3, deployments_dir=tmp_path)


def test_attach_to_other_code_is_refused(anvil_w3: Web3, tmp_path) -> None:
    (owner,) = signers(anvil_w3, [0])
    with pytest.raises(DeploymentError, match="no contract code"):
        PoFLContract.attach(anvil_w3, owner.address, deployments_dir=tmp_path)


def test_missing_record_says_how_to_deploy(anvil_w3: Web3, tmp_path) -> None:
    with pytest.raises(DeploymentError, match="pofl deploy"):
        read_record(31337, "PoFLConsensus", tmp_path)
