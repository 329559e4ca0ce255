"""KFC's setting in bench/poisoning.py: which attack a sweep cell runs, and the verdict on KFC's two claims."""

from __future__ import annotations

import pytest

from bench.poisoning import KFC_REPORTS, compromised_spec, kfc_verdict


def cell(aggregator: str, k: int, accuracy: float, attack: str = "label_flip", backdoor: float = 0.05) -> dict:
    return {"attack": "none" if k == 0 else attack, "aggregator": aggregator, "compromised": k,
            "clean_accuracy": accuracy, "backdoor_success_rate": backdoor}


def healthy(aggregator: str) -> list[dict]:
    return [cell(aggregator, 0, 0.90), *(cell(aggregator, k, 0.89) for k in (1, 5, 9))]


def test_compromised_spec_names_k_whole_pools() -> None:
    assert compromised_spec("backdoor", 0) == {"attack": "none"}
    assert compromised_spec("label_flip", 1) == {"attack": "labelflip", "attack_assignment": "miners",
                                                 "attack_fraction": 0.1}
    assert compromised_spec("backdoor", 10)["attack_fraction"] == 1.0
    # KFC's boost is 1 in a fully poisoned pool: the sweep boosts by the number of miners
    assert compromised_spec("boosted_poisoning", 5)["attack_options"] == {"factor": 10.0}
    with pytest.raises(ValueError, match="k must be 0..10 compromised miners, got 11"):
        compromised_spec("label_flip", 11)


def test_pofl_alone_holds_when_every_fedavg_cell_with_an_honest_miner_stays_within_tolerance() -> None:
    cells = [*healthy("fedavg"), cell("fedavg", 10, 0.10), *healthy("multikrum"), cell("multikrum", 10, 0.88)]
    verdict = kfc_verdict(cells)
    # k = 10 (no honest miner) does not count against PoFL alone
    assert verdict["pofl_alone_holds_with_an_honest_miner"] is True
    assert verdict["krum_pofl_holds_with_every_miner_compromised"] is True
    assert verdict["agrees_with_kfc"] == {k: True for k in KFC_REPORTS}
    assert verdict["failures"] == [{"attack": "label_flip", "aggregator": "fedavg", "compromised": 10, "holds": False}]


def test_one_cell_past_the_tolerance_breaks_the_claim() -> None:
    cells = [*healthy("fedavg"), cell("fedavg", 9, 0.84), *healthy("multikrum"), cell("multikrum", 10, 0.80)]
    verdict = kfc_verdict(cells)
    assert verdict["pofl_alone_holds_with_an_honest_miner"] is False
    assert verdict["krum_pofl_holds_with_every_miner_compromised"] is False
    assert verdict["agrees_with_kfc"] == {k: False for k in KFC_REPORTS}
    assert kfc_verdict(cells, tolerance=0.11)["pofl_alone_holds_with_an_honest_miner"] is True


def test_a_backdoor_fails_on_its_success_rate_even_at_full_accuracy() -> None:
    cells = [*healthy("fedavg"), cell("fedavg", 1, 0.90, "backdoor", backdoor=0.60)]
    verdict = kfc_verdict(cells)
    assert verdict["pofl_alone_holds_with_an_honest_miner"] is False
    assert verdict["failures"] == [{"attack": "backdoor", "aggregator": "fedavg", "compromised": 1, "holds": False}]
    # a label flip's backdoor rate is only a baseline: it does not count
    assert kfc_verdict([*healthy("fedavg"), cell("fedavg", 1, 0.9, backdoor=0.6)])[
        "pofl_alone_holds_with_an_honest_miner"] is True


def test_no_verdict_without_the_cells_or_the_baseline() -> None:
    verdict = kfc_verdict(healthy("fedavg"))
    assert verdict["krum_pofl_holds_with_every_miner_compromised"] is None  # no Multi-Krum cell at k = 10
    assert verdict["agrees_with_kfc"]["krum_pofl_holds_with_every_miner_compromised"] is None
    assert kfc_verdict(healthy("fedavg")[1:])["pofl_alone_holds_with_an_honest_miner"] is None  # no k = 0


@pytest.mark.parametrize("key", ["workload", "rounds", "test_images", "tiny", "attacks"])
def test_a_saved_grid_of_another_workload_is_not_reused(key: str) -> None:
    import json

    import torch

    from bench.poisoning import reused_grid
    from tests.support.paths import BENCH

    source = BENCH / "results" / "poisoning.json"
    saved = json.loads(source.read_text())
    report = {k: saved[k] for k in ("workload", "rounds", "test_images", "tiny", "attacks")}
    report[key] = "something else"
    with pytest.raises(SystemExit, match=f"its {key} is .*, this run's is 'something else'; run the grid again"):
        reused_grid(saved, report, source, torch.device("cpu"))


def test_a_saved_grid_whose_spot_check_cell_comes_out_otherwise_is_not_reused() -> None:
    """The spot check runs the saved first seed's MNIST/backdoor/Multi-Krum cell again (here a 2-round, 2,000-image
    run) and refuses a saved grid whose value it does not reproduce."""
    import torch

    from bench.poisoning import ATTACKS, reused_grid
    from tests.support.paths import BENCH

    saved = {"workload": {"n_miners": 10}, "rounds": 2, "test_images": 2000, "tiny": True, "attacks": ATTACKS,
             "seeds": [0], "grid_wall_seconds": 1.0,
             "grid": [{"dataset": "mnist", "attack": "backdoor", "aggregator": "multikrum",
                       "per_seed": {"clean_accuracy": [-1.0], "backdoor_success_rate": [-1.0]}}]}
    report = {k: saved[k] for k in ("workload", "rounds", "test_images", "tiny", "attacks")}
    with pytest.raises(SystemExit, match="the spot check differs"):
        reused_grid(saved, report, BENCH / "results" / "poisoning.json", torch.device("cpu"))
    assert report["grid_spot_check"]["same"] is False
