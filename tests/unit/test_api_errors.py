"""Rejection paths of the miner configuration and the flexBlock API, in process: each bad input, its clear error
(the checks against a deployed contract are in tests/node/test_api_errors.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from offchain.data import Dataset, FedDataset
from offchain.datasets import load
from offchain.fl.mnist import load_mnist
from offchain.miner.selection import parse_clients, select_clients
from offchain.miner.workload import RunConfig, Workload, build_federation
from offchain.model import FlexModel
from offchain.pool import PoFLBlockchainPool, deploy_miner_model, fed_avg, send_weights_to_miner
from offchain.pool.flex_pool import FlexPool

CONFIG = RunConfig(n_miners=4)  # the module's workload (tests/conftest.py)
DEVICE = torch.device("cpu")


def test_client_specs(workload: Workload) -> None:
    mine = parse_clients("1/4", workload.owners)
    assert len(mine) == 250 and set(workload.owners[mine]) == {1}
    assert parse_clients("0-2,7", workload.owners).tolist() == [0, 1, 2, 7]
    with pytest.raises(ValueError, match="the run has 4 miners, not 5"):
        parse_clients("1/5", workload.owners)
    with pytest.raises(ValueError, match="0 <= i < N"):
        parse_clients("4/4", workload.owners)
    with pytest.raises(ValueError, match="within 0..999"):
        parse_clients("990-1000", workload.owners)
    with pytest.raises(ValueError, match="neither i/N"):
        parse_clients("abc", workload.owners)
    with pytest.raises(ValueError, match="runs backwards"):
        parse_clients("5-2", workload.owners)


def test_selection_is_a_pure_function_of_seed_and_round() -> None:
    a = select_clients(0, 5, 1000, 20)
    assert np.array_equal(a, select_clients(0, 5, 1000, 20)) and len(set(a.tolist())) == 20
    assert not np.array_equal(a, select_clients(0, 6, 1000, 20))


def test_unknown_partition_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of .* and not a federation .npz file"):
        build_federation(RunConfig(partition="zipf"), load_mnist("train"))


def test_flex_api_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown dataset"):
        load("cifar10")
    with pytest.raises(ValueError, match="images but"):
        Dataset(np.zeros((3, 28, 28), np.uint8), np.zeros(2))
    with pytest.raises(ValueError, match="collected no client weights"):
        fed_avg([])
    with pytest.raises(ValueError, match="different lengths"):
        fed_avg([[torch.zeros(2)], [torch.zeros(2), torch.zeros(1)]])
    pool = FlexPool({"a": FlexModel()}, {}, {}, __import__("random").Random(0))
    with pytest.raises(ValueError, match="cannot select 2 of 1"):
        pool.select(2)
    with pytest.raises(ValueError, match="deploying a miner's model needs the pool of clients"):
        pool.map(deploy_miner_model(lambda model: model))
    with pytest.raises(ValueError, match="collecting weights needs the pool of clients"):
        pool.map(send_weights_to_miner(lambda model: []))
    fed = FedDataset({"c0": Dataset(np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.int64))})
    with pytest.raises(ValueError, match="at least one miner"):
        PoFLBlockchainPool(fed, FlexModel, 0)


