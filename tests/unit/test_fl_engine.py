"""Partitioners, aggregation, training fast path, evaluation: unit tests on real MNIST."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from offchain.fl import aggregation as agg
from offchain.fl import federation as fedmod
from offchain.fl.architectures import SimpleNet, SmallCNN, architecture_id, build_model
from offchain.fl.evaluation import Evaluator
from offchain.fl.mnist import load_mnist
from offchain.fl.simulation import EngineConfig, PoFLEngine
from offchain.fl.training import (
    DeviceDataset,
    FlatParams,
    TrainConfig,
    make_plan,
    normalize,
    train_client,
    train_clients,
)

CPU = torch.device("cpu")


# ------------------------------------------------------------------ federations


def _check_partition(fed: fedmod.Federation, n_samples: int) -> None:
    assert np.array_equal(np.sort(fed.indices), np.arange(n_samples)), "every sample assigned exactly once"


def test_partitioners_are_deterministic_and_complete(train_set) -> None:
    labels = train_set.labels
    for make in (lambda s: fedmod.iid(len(labels), 100, s), lambda s: fedmod.dirichlet(labels, 100, 0.5, s),
                 lambda s: fedmod.shards(labels, 100, 2, s)):
        a, b, c = make(1), make(1), make(2)
        assert np.array_equal(a.indices, b.indices) and np.array_equal(a.offsets, b.offsets)
        assert not np.array_equal(a.indices, c.indices)
        _check_partition(a, len(labels))


def test_dirichlet_reproduces_the_shipped_benchmark_federation(train_set) -> None:
    shipped = fedmod.from_file(fedmod.BENCHMARK_FEDERATION)
    made = fedmod.dirichlet(train_set.labels, 1000, 0.5, 0)
    assert np.array_equal(made.offsets, shipped.offsets) and np.array_equal(made.indices, shipped.indices)


def _mean_label_entropy(fed: fedmod.Federation, labels: np.ndarray) -> float:
    ent = []
    for i in range(fed.n_clients):
        p = np.bincount(labels[fed.client(i)], minlength=10) / max(len(fed.client(i)), 1)
        p = p[p > 0]
        ent.append(float(-(p * np.log2(p)).sum()))
    return float(np.mean(ent))


def test_label_skew_is_measurable(train_set) -> None:
    labels = train_set.labels
    iid = _mean_label_entropy(fedmod.iid(len(labels), 100, 0), labels)
    skewed = _mean_label_entropy(fedmod.dirichlet(labels, 100, 0.1, 0), labels)
    two_shards = _mean_label_entropy(fedmod.shards(labels, 100, 2, 0), labels)
    assert iid > 3.2 and skewed < 2.0 and two_shards <= 1.01


def test_by_writer_and_miner_assignment() -> None:
    writers = np.array([7, 3, 7, 3, 9])
    fed = fedmod.by_writer(writers)
    assert [fed.client(i).tolist() for i in range(3)] == [[1, 3], [0, 2], [4]]
    owners = fedmod.assign_to_miners(1000, 10, seed=0)
    assert np.bincount(owners).tolist() == [100] * 10
    assert np.array_equal(owners, fedmod.assign_to_miners(1000, 10, seed=0))
    with pytest.raises(ValueError, match="at least one miner"):
        fedmod.assign_to_miners(10, 0, 0)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        fedmod.dirichlet(writers, 2, 0.0, 0)


# ------------------------------------------------------------------ aggregation


def test_aggregators_on_hand_computed_cases() -> None:
    states = [{"w": torch.tensor([1.0, 10.0]), "b": torch.tensor([0.0])},
              {"w": torch.tensor([3.0, 20.0]), "b": torch.tensor([3.0])},
              {"w": torch.tensor([8.0, 60.0]), "b": torch.tensor([9.0])}]
    assert agg.fed_avg(states)["w"].tolist() == [4.0, 30.0]
    weighted = agg.weighted_fed_avg(states, torch.tensor([1.0, 1.0, 2.0]))
    assert weighted["w"].tolist() == [5.0, 37.5] and weighted["b"].tolist() == [5.25]
    assert agg.coordinate_median(states)["w"].tolist() == [3.0, 20.0]
    assert agg.coordinate_median(states[:2])["w"].tolist() == [2.0, 15.0]
    assert agg.trimmed_mean(states, 0.34)["w"].tolist() == [3.0, 20.0]
    assert agg.trimmed_mean(states, 0.0)["b"].tolist() == [4.0]


def test_aggregation_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="nothing to aggregate"):
        agg.fed_avg([])
    with pytest.raises(ValueError, match="differ in tensor names or shapes"):
        agg.fed_avg([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}])
    with pytest.raises(ValueError, match="weights must be non-negative"):
        agg.weighted_fed_avg([{"w": torch.zeros(2)}], torch.tensor([-1.0]))
    with pytest.raises(ValueError, match="trim_ratio"):
        agg.trimmed_mean([{"w": torch.zeros(2)}], 0.5)


# ------------------------------------------------------------------ training


def test_fast_path_matches_the_plain_per_client_loop(data: DeviceDataset) -> None:
    fed = fedmod.from_file(fedmod.BENCHMARK_FEDERATION)
    clients = [fed.client(i) for i in (0, 5, 17, 99, 250, 999)]  # unequal sizes: masking and early finish
    torch.manual_seed(0)
    model = SimpleNet()
    flat = FlatParams(model)
    start = flat.flatten(model.state_dict()).unsqueeze(0).repeat(len(clients), 1)
    start += 0.01 * torch.randn_like(start)  # each client from its own starting point
    for config in (TrainConfig(), TrainConfig(epochs=2, batch_size=7, lr=3e-3)):
        fast = train_clients(flat, start, data, make_plan(clients, config, CPU), config)
        for i, samples in enumerate(clients):
            plain = SimpleNet()
            plain.load_state_dict(flat.unflatten(start[i].clone()))
            train_client(plain, data, samples, config)
            reference = flat.flatten(plain.state_dict())
            error = (fast[i] - reference).norm()
            assert float(error / reference.norm()) < 1e-4, f"client {i}: weights differ"
            assert float(error / (reference - start[i]).norm()) < 1e-4, f"client {i}: updates differ"


def test_fast_path_trains_a_cnn_too(data: DeviceDataset) -> None:
    torch.manual_seed(0)
    model = SmallCNN()
    flat = FlatParams(model)
    start = flat.flatten(model.state_dict()).unsqueeze(0).repeat(2, 1)
    clients = [np.arange(0, 40), np.arange(40, 70)]
    fast = train_clients(flat, start, data, make_plan(clients, TrainConfig(), CPU), TrainConfig())
    plain = SmallCNN()
    plain.load_state_dict(model.state_dict())
    train_client(plain, data, clients[1], TrainConfig())
    reference = flat.flatten(plain.state_dict())
    assert float((fast[1] - reference).norm() / (reference - start[1]).norm()) < 1e-4


def test_architecture_ids_differ_and_unknown_is_refused() -> None:
    assert architecture_id("simplenet") != architecture_id("cnn") and len(architecture_id("cnn")) == 32
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("resnet")


# ------------------------------------------------------------------ evaluation


@pytest.mark.parametrize("architecture", ["simplenet", "cnn"])
def test_batched_evaluation_equals_plain_evaluation(architecture: str) -> None:
    test = load_mnist("test").subset(np.arange(2_000))  # the CNN on all 10,000 images took 22 s of CI
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(build_model(architecture))
    flat = FlatParams(models[0])
    evaluator = Evaluator(test, flat, architecture, CPU)
    accs = evaluator.accuracies(torch.stack([flat.flatten(m.state_dict()) for m in models]))
    x = normalize(torch.from_numpy(test.images.reshape(len(test), -1).copy()))
    y = torch.from_numpy(test.labels.copy())
    for model, acc in zip(models, accs.tolist(), strict=True):
        with torch.no_grad():
            expected = (model(x).argmax(1) == y).float().mean().item()
        assert acc == pytest.approx(expected, abs=1e-4)
    assert evaluator.sha256 == test.sha256()


def test_engine_reaches_the_threshold_and_adopts_consensus(train_set) -> None:
    fed = fedmod.from_file(fedmod.BENCHMARK_FEDERATION)
    engine = PoFLEngine(fed, train_set, load_mnist("test"), EngineConfig(threshold=0.5, seed=1), CPU)
    results, adopted_after = [], []
    for _ in range(12):
        results.append(engine.run_round())
        if results[-1].winner is not None:  # after each block, every miner holds the new consensus
            adopted_after.append(all(torch.equal(row, engine.consensus) for row in engine.models))
    blocks = [r for r in results if r.winner is not None]
    assert blocks and blocks[0].consensus_accuracy >= 0.5
    assert all(b.consensus_accuracy < a.consensus_accuracy for b, a in itertools.pairwise(blocks))
    assert adopted_after == [True] * len(blocks)
    # the consensus is the winner's model, at the accuracy it measured
    assert all(r.consensus_accuracy == r.accuracies[r.winner] for r in blocks)
