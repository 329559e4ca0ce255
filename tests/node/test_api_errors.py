"""Rejection paths of the miner and the flexBlock pool against a deployed contract: each bad input, its clear
error (the in-process ones are in tests/unit/test_api_errors.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
import torch

from offchain.app.deployment import contract_config
from offchain.app.preflight import ConfigMismatch, check_compatible
from offchain.chain.accounts import LocalSigner
from offchain.chain.consensus import PoFLContract
from offchain.data import Dataset, FedDataset
from offchain.fl.mnist import load_mnist
from offchain.miner.workload import RunConfig, Workload
from offchain.model import FlexModel
from offchain.pool import PoFLBlockchainPool, fed_avg

CONFIG = RunConfig(n_miners=4)  # the module's workload (tests/conftest.py)
DEVICE = torch.device("cpu")


def test_miner_refuses_a_contract_for_another_evaluation_set(funded: Callable[..., list[LocalSigner]],
                                                            workload: Workload) -> None:
    (owner,) = funded(1)
    other = replace(contract_config(workload.config, workload.eval_set_hash), eval_set_hash=b"\x01" * 32)
    contract, _ = PoFLContract.deploy(owner, other, "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN",
                                      deployments_dir=None)
    with pytest.raises(ConfigMismatch, match="evaluation set sha256"):
        check_compatible(contract, workload)
    other = replace(contract_config(workload.config, workload.eval_set_hash), architecture_id=b"\x02" * 32)
    contract, _ = PoFLContract.deploy(owner, other, "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN",
                                      deployments_dir=None)
    with pytest.raises(ConfigMismatch, match="architecture"):
        check_compatible(contract, workload)


def test_the_threshold_is_fixed_when_the_pool_deploys(anvil: object) -> None:
    from offchain.fl.architectures import SimpleNet
    from offchain.pool import init_server_model

    @init_server_model
    def build() -> FlexModel:
        model = FlexModel()
        model["model"] = SimpleNet()
        return model

    test = Dataset.from_labeled(load_mnist("test"))
    fed = FedDataset({f"c{i}": Dataset(test.X_data[i * 10:(i + 1) * 10], test.y_data[i * 10:(i + 1) * 10])
                      for i in range(4)})
    pool = PoFLBlockchainPool(fed, build, 2, rpc_url=anvil.rpc_url)  # type: ignore[attr-defined]

    def evaluate(model: FlexModel, data: Dataset) -> float:
        return 0.0

    assert pool.aggregate(fed_avg, lambda m, w: None, eval_function=evaluate, eval_dataset=test, accuracy=0.5) is False
    with pytest.raises(ValueError, match="fixed when the pool's contract is deployed"):
        pool.aggregate(fed_avg, lambda m, w: None, eval_function=evaluate, eval_dataset=test, accuracy=0.7)
    assert len(pool.blockchain.chain) == 1 and pool.blockchain.get_last_block().height == 0


@pytest.mark.parametrize(("change", "option"), [({"threshold": 0.5}, "--threshold 0.5"),
                                                ({"require_improvement": False}, "--no-improvement True"),
                                                ({"phase_seconds": 7}, "--phase-seconds 7")])
def test_a_miner_whose_rules_disagree_with_the_contract_is_refused_before_it_stakes(
        funded: Callable[..., list[LocalSigner]], workload: Workload, change: dict, option: str) -> None:
    """`pofl miner` against a contract deployed with another threshold, improvement rule or phase length: it
    names the option and stakes nothing (it would judge claims by other rules than its committee)."""
    from offchain.app.miner_node import MinerPlan, start_miner
    from offchain.miner.selection import ClientSpec

    owner, miner = funded(2)
    contract, _ = PoFLContract.deploy(owner, contract_config(workload.config, workload.eval_set_hash),
                                      "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", deployments_dir=None)
    plan = MinerPlan(replace(workload.config, **change), "the test's settings", contract.address,
                     ClientSpec("0/4", share=(0, 4)), 0, register=True)
    with pytest.raises(ConfigMismatch, match=f"{option} where the contract has"):
        start_miner(miner, plan, None, url="http://127.0.0.1:1", note=print)  # type: ignore[arg-type]
    assert not contract.miner_info(miner.address).registered
