"""Pool aggregation strategies: each equals a plain reference implementation on real client models,
Krum and Multi-Krum keep the honest updates, the registry refuses what it does not know."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import scipy.stats
import torch

from offchain.errors import ConfigError
from offchain.fl import aggregation as agg
from offchain.fl.aggregation import AGGREGATORS, TrimmedMean, make_aggregator
from offchain.fl.components import parse_options
from offchain.fl.federation import BENCHMARK_FEDERATION, assign_to_miners, from_file
from offchain.fl.round_training import RoundTrainer
from offchain.fl.simulation import EngineConfig
from offchain.fl.training import TrainConfig

CLIENTS = [3, 17, 40, 99, 250, 512, 731, 888, 999]


# ------------------------------------------------------------------ plain references (float64, loops)


def ref_krum_scores(rows: np.ndarray, f: int) -> list[float]:
    n = len(rows)
    k = min(max(n - f - 2, 1), n - 1)
    scores = []
    for i in range(n):
        d = sorted(float(((rows[i] - rows[j]) ** 2).sum()) for j in range(n) if j != i)
        scores.append(sum(d[:k]))
    return scores


def ref_multi_krum(rows: np.ndarray, f: int, m: int | None) -> np.ndarray:
    if len(rows) == 1:
        return rows[0]
    scores = ref_krum_scores(rows, f)
    m = max(len(rows) - f, 1) if m is None else min(m, len(rows))
    chosen = sorted(range(len(rows)), key=lambda i: (scores[i], i))[:m]
    return sum(rows[i] for i in chosen) / m


def ref_clip(rows: np.ndarray, start: np.ndarray, max_norm: float | None) -> np.ndarray:
    updates = [r - start for r in rows]
    norms = [float(np.sqrt((u ** 2).sum())) for u in updates]
    bound = float(np.median(norms)) if max_norm is None else max_norm
    if max_norm is None and len(norms) % 2 == 0:  # torch's median: the lower of the two middle values
        bound = sorted(norms)[len(norms) // 2 - 1]
    return start + sum(u * min(1.0, bound / n) for u, n in zip(updates, norms, strict=True)) / len(rows)


def reference(name: str, options: dict, rows: np.ndarray, weights: np.ndarray, start: np.ndarray) -> np.ndarray:
    if name == "fedavg":
        return sum(rows) / len(rows)
    if name == "weighted":
        return sum(w * r for w, r in zip(weights, rows, strict=True)) / weights.sum()
    if name == "median":
        return np.median(rows, axis=0)
    if name == "trimmed":
        return scipy.stats.trim_mean(rows, options.get("beta", 0.1), axis=0)
    if name == "krum":
        return ref_multi_krum(rows, options.get("f", 1), 1)
    if name == "multikrum":
        return ref_multi_krum(rows, options.get("f", 1), options.get("m"))
    if name == "clip":
        return ref_clip(rows, start, options.get("max_norm"))
    raise AssertionError(name)


CASES = [("fedavg", {}), ("weighted", {}), ("median", {}), ("trimmed", {}), ("trimmed", {"beta": 0.25}),
         ("krum", {}), ("krum", {"f": 3}), ("multikrum", {}), ("multikrum", {"f": 2, "m": 3}), ("clip", {}),
         ("clip", {"max_norm": 0.05})]


def test_every_registered_aggregator_has_a_reference_case() -> None:
    assert {name for name, _ in CASES} == set(AGGREGATORS)
    assert {"fedavg", "weighted", "median", "trimmed", "krum", "multikrum", "clip"} <= set(AGGREGATORS)


@pytest.mark.parametrize(("name", "options"), CASES)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 9])
def test_aggregator_equals_its_reference(setup, name: str, options: dict, n: int) -> None:
    *_, start, models, sizes = setup
    rows, weights = models[:n], sizes[:n]
    got = make_aggregator(name, options).aggregate(rows, weights, start)
    want = reference(name, options, rows.double().numpy(), weights.double().numpy(), start.double().numpy())
    assert np.abs(got.double().numpy() - want).max() < 1e-5


def test_state_dict_forms_are_unchanged_and_trimmed_default_matches_the_docs() -> None:
    assert TrimmedMean().beta == inspect.signature(agg.trimmed_mean_flat).parameters["trim_ratio"].default == 0.1
    states = [{"w": torch.tensor([1.0, 10.0])}, {"w": torch.tensor([3.0, 20.0])}, {"w": torch.tensor([8.0, 60.0])}]
    assert agg.fed_avg(states)["w"].tolist() == [4.0, 30.0]


@pytest.mark.parametrize("f", [1, 2, 3])
def test_krum_and_multikrum_keep_the_honest_updates(setup, f: int) -> None:
    """n = 9 clients, f < (n - 2) / 2 of them Byzantine (a boosted update, or noise): Krum picks an
    honest model and Multi-Krum averages only honest ones."""
    *_, start, models, _ = setup
    honest = models[: 9 - f]
    generator = torch.Generator().manual_seed(f)
    byzantine = [start + 5.0 * (models[0] - start), start - 3.0 * (models[1] - start),
                 start + 0.05 * torch.randn(start.shape, generator=generator)][:f]
    rows = torch.cat([torch.stack(byzantine), honest])
    assert f < (len(rows) - 2) / 2
    scores = agg.krum_scores(rows, f)
    assert int(scores.argmin()) >= f
    kept = torch.sort(scores, stable=True).indices[: len(rows) - f]
    assert set(kept.tolist()) == set(range(f, len(rows)))
    assert torch.allclose(agg.krum_flat(rows, f), rows[int(scores.argmin())])
    assert torch.allclose(agg.multi_krum_flat(rows, f), honest.mean(dim=0), atol=1e-6)


@pytest.mark.parametrize(("name", "options"), CASES)
def test_the_fast_path_pool_model_is_the_aggregate_of_its_clients(setup, name: str, options: dict) -> None:
    """RoundTrainer (batched training, then the strategy per miner) equals training the clients and
    aggregating them by the reference."""
    fed, data, flat, start, models, sizes = setup
    owners = np.full(fed.n_clients, -1, dtype=np.int64)
    owners[CLIENTS[:5]], owners[CLIENTS[5:]] = 0, 1
    trainer = RoundTrainer(fed, owners, data, flat, TrainConfig(), make_aggregator(name, options))
    pool = trainer.train(start.unsqueeze(0).repeat(2, 1), np.array(CLIENTS))
    assert pool.trained_miners == [0, 1] and pool.clients_per_miner == {0: 5, 1: 4}
    for row, part in enumerate((slice(0, 5), slice(5, 9))):
        want = reference(name, options, models[part].double().numpy(), sizes[part].double().numpy(),
                         start.double().numpy())
        assert np.abs(pool.models[row].double().numpy() - want).max() < 1e-5


# ------------------------------------------------------------------ rejections


@pytest.mark.parametrize(("name", "options", "message"), [
    ("mean", {}, "--aggregator: unknown aggregator 'mean'; choose one of fedavg, weighted, median, trimmed, krum"),
    ("trimmed", {"beta": 0.5}, r"--aggregator trimmed: beta must be in \[0, 0.5\), got 0.5"),
    ("trimmed", {"beta": -0.1}, r"beta must be in \[0, 0.5\)"),
    ("trimmed", {"f": 1}, "--aggregator-option 'f' does not apply to trimmed: its options are beta"),
    ("fedavg", {"beta": 0.1}, "does not apply to fedavg: its options are none"),
    ("krum", {"f": -1}, "f must be an integer >= 0"),
    ("krum", {"m": 2}, "krum keeps one model"),
    ("multikrum", {"m": 0}, "m must be an integer >= 1"),
    ("multikrum", {"f": 1.5}, "f must be an integer >= 0"),
    ("clip", {"max_norm": 0.0}, "max_norm must be > 0"),
])
def test_bad_aggregator_name_option_or_value_is_a_config_error(name: str, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_aggregator(name, options)


def test_engine_config_refuses_a_bad_aggregator_at_once() -> None:
    with pytest.raises(ConfigError, match="unknown aggregator 'mean'"):
        EngineConfig(aggregator="mean")
    with pytest.raises(ConfigError, match="beta must be"):
        EngineConfig(aggregator="trimmed", aggregator_options={"beta": 0.7})
    with pytest.raises(ValueError, match="unknown aggregator 'mean'"):  # ConfigError is a ValueError
        RoundTrainer(from_file(BENCHMARK_FEDERATION), assign_to_miners(1000, 2, 0), None, None, None, "mean")  # type: ignore[arg-type]


def test_option_pairs_parse_or_name_the_flag() -> None:
    assert parse_options(["beta=0.2", "f=2"], "--aggregator-option") == {"beta": 0.2, "f": 2.0}
    for bad in ("beta", "=1", "beta=high"):
        with pytest.raises(ConfigError, match="--aggregator-option .* expected NAME=NUMBER"):
            parse_options([bad], "--aggregator-option")
    assert make_aggregator("multikrum", {"f": 2.0, "m": 3.0}).f == 2  # numbers from the command line
