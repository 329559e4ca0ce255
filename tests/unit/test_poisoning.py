"""Client attacks on real MNIST: each does what it says (flipped labels, boosted norm, trigger present),
who attacks is a seeded pure function both views of a run agree on, attacks run only when named,
KFC's rising target, and every bad option is a ConfigError naming it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from offchain.errors import ConfigError
from offchain.fl import attacks as atk
from offchain.fl.architectures import SimpleNet
from offchain.fl.evaluation import Evaluator
from offchain.fl.federation import assign_to_miners, select_clients
from offchain.fl.mnist import load_mnist
from offchain.fl.round_training import RoundTrainer
from offchain.fl.simulation import EngineConfig, PoFLEngine
from offchain.fl.targets import block_target, kfc_target
from offchain.fl.training import DeviceDataset, TrainConfig, train_client

CPU = torch.device("cpu")


def static_plan(attack: atk.Attack, poisoned: list[int], n_clients: int = 1000) -> atk.AttackPlan:
    mask = np.zeros(n_clients, dtype=bool)
    mask[poisoned] = True
    return atk.AttackPlan(attack, "clients", 0, mask)


# ------------------------------------------------------------------ what each attack does


def test_label_flip_trains_the_client_on_permuted_labels(mnist, start) -> None:
    train, data, fed = mnist
    flat, genesis = start
    images, labels = atk.poisoned_copy(atk.parse_attack("labelflip"), data.images, data.labels, 0)
    assert torch.equal(images, data.images) and torch.equal(labels, 9 - data.labels)
    custom = atk.LabelFlip(permutation=(1, 0, 2, 3, 4, 5, 6, 7, 8, 9))
    assert torch.equal(custom.poison_data(data.images, torch.tensor([0, 1, 2]), 10, 0)[1], torch.tensor([1, 0, 2]))
    # inside the trainer: client 17 is poisoned, and its model is the plain loop's on flipped labels
    owners = np.zeros(fed.n_clients, dtype=np.int64)
    plan = static_plan(atk.parse_attack("labelflip"), [17])
    trainer = RoundTrainer(fed, owners, data, flat, TrainConfig(), "fedavg", plan)
    pool = trainer.train(genesis.unsqueeze(0), np.array([17]))
    assert pool.poisoned_per_miner == {0: 1}
    plain = SimpleNet()
    plain.load_state_dict(flat.unflatten(genesis.clone()))
    flipped = DeviceDataset(train.images, 9 - train.labels, CPU)
    train_client(plain, flipped, fed.client(17), TrainConfig())
    reference = flat.flatten(plain.state_dict())
    assert float((pool.models[0] - reference).norm() / (reference - genesis).norm()) < 1e-4


def test_boost_scales_the_poisoned_update_by_kfc_factor(mnist, start) -> None:
    _, data, fed = mnist
    flat, genesis = start
    owners = np.zeros(fed.n_clients, dtype=np.int64)
    clients = np.array([3, 17, 40, 99])
    plan = static_plan(atk.parse_attack("labelflip"), [17])
    alone = RoundTrainer(fed, owners, data, flat, TrainConfig(), "fedavg", plan)
    u17 = alone.train(genesis.unsqueeze(0), np.array([17])).models[0] - genesis  # the poisoned client's own update
    flip = alone.train(genesis.unsqueeze(0), clients).models[0]
    boosted = RoundTrainer(fed, owners, data, flat, TrainConfig(), "fedavg",
                          static_plan(atk.parse_attack("labelflip+boost"), [17])).train(genesis.unsqueeze(0), clients)
    # the pool holds 4 clients, 1 poisoned: KFC's factor (clean + poisoned) / poisoned = 4
    assert torch.allclose(boosted.models[0] - flip, (4 - 1) / 4 * u17, atol=1e-6)
    assert float(atk.Boost().poison_update(u17, 4, 1).norm() / u17.norm()) == pytest.approx(4.0, rel=1e-4)
    assert float(atk.Boost(factor=2.5).poison_update(u17, 4, 1).norm() / u17.norm()) == pytest.approx(2.5, rel=1e-4)
    assert float(atk.Boost().poison_update(u17, 6, 2).norm() / u17.norm()) == pytest.approx(3.0, rel=1e-4)


def test_backdoor_stamps_the_trigger_and_relabels_a_share_of_the_samples(mnist) -> None:
    _, data, _ = mnist
    backdoor = atk.Backdoor(target=7, poison_fraction=0.5, trigger_size=4)
    images, labels = atk.poisoned_copy(atk.Attack((backdoor,)), data.images, data.labels, 0)
    square = images.reshape(-1, 28, 28)[:, 23:27, 23:27]
    triggered = (square == 255).all(dim=(1, 2))
    assert 0.48 < float(triggered.float().mean()) < 0.52
    assert bool((labels[triggered] == 7).all())
    untouched = ~triggered
    assert torch.equal(images[untouched], data.images[untouched]) and torch.equal(labels[untouched],
                                                                                data.labels[untouched])
    assert not bool((data.images.reshape(-1, 28, 28)[:, 23:27, 23:27] == 255).all(dim=(1, 2)).any())
    test = load_mnist("test")
    asr_set = atk.triggered_test_set(test, backdoor)
    assert len(asr_set) == int((test.labels != 7).sum()) and set(asr_set.labels.tolist()) == {7}
    assert bool((asr_set.images[:, 23:27, 23:27] == 255).all())


def test_backdoored_pool_learns_the_trigger(mnist, start) -> None:
    """A few rounds of one backdoored client: the trigger's success rate rises far above a clean model's."""
    _, data, fed = mnist
    flat, genesis = start
    backdoor = atk.Backdoor(target=0, poison_fraction=1.0)
    owners = np.zeros(fed.n_clients, dtype=np.int64)
    clients = np.array([3, 17, 40, 99, 250])
    poisoned = RoundTrainer(fed, owners, data, flat, TrainConfig(lr=3e-3), "fedavg",
                           static_plan(atk.Attack((backdoor,)), clients.tolist()))
    clean = RoundTrainer(fed, owners, data, flat, TrainConfig(lr=3e-3), "fedavg")
    evaluator = Evaluator(atk.triggered_test_set(load_mnist("test"), backdoor), flat, "simplenet", CPU)
    models = {"poisoned": genesis.unsqueeze(0), "clean": genesis.unsqueeze(0)}
    for _ in range(3):
        models = {k: t.train(models[k], clients).models for k, t in (("poisoned", poisoned), ("clean", clean))}
    assert evaluator.accuracy(models["poisoned"][0]) > 0.9 > evaluator.accuracy(models["clean"][0]) + 0.4


# ------------------------------------------------------------------ who attacks


def test_assignments_are_seeded_and_the_views_agree() -> None:
    owners = assign_to_miners(1000, 10, 0)
    attack = atk.parse_attack("labelflip")
    by_client = atk.make_plan(attack, "clients", 0.3, 0, owners)
    assert by_client is not None and int(by_client.static.sum()) == 300
    assert np.array_equal(by_client.static, atk.make_plan(attack, "clients", 0.3, 0, owners).static)
    assert not np.array_equal(by_client.static, atk.make_plan(attack, "clients", 0.3, 1, owners).static)
    by_miner = atk.make_plan(attack, "miners", 0.2, 0, owners)
    bad_miners = np.unique(owners[by_miner.static])
    assert len(bad_miners) == 2 and np.array_equal(by_miner.static, np.isin(owners, bad_miners))
    per_pool = atk.make_plan(attack, "one_per_pool", 0.0, 0, owners)
    for round_id in range(1, 6):
        selected = select_clients(0, round_id, 1000, 20)
        mask = per_pool.poisoned(selected, owners[selected])
        assert all(int(mask[owners[selected] == m].sum()) == 1 for m in np.unique(owners[selected]))
        # a miner in its own process (its clients as miner 0) poisons the same client
        for m in np.unique(owners[selected]):
            mine = selected[owners[selected] == m]
            assert np.array_equal(per_pool.poisoned(mine, np.zeros(len(mine), np.int64)), mask[owners[selected] == m])
    assert atk.make_plan(atk.Attack(), "clients", 0.3, 0, owners) is None


def test_compromised_miners_are_k_of_the_pools_seeded_and_nested_in_the_plan() -> None:
    owners = assign_to_miners(1000, 10, 0)
    for k in (0, 1, 5, 9, 10):
        bad = atk.compromised_miners(owners, k / 10, 0)
        assert len(bad) == k == len(set(bad.tolist())) and set(bad.tolist()) <= set(range(10))
        assert list(bad) == sorted(bad) and np.array_equal(bad, atk.compromised_miners(owners, k / 10, 0))
        plan = atk.make_plan(atk.parse_attack("labelflip"), "miners", k / 10, 0, owners)
        # every client of a compromised pool attacks, and no other
        assert plan is not None and np.array_equal(plan.static, np.isin(owners, bad))
    assert list(atk.compromised_miners(owners, 1.0, 3)) == list(range(10))
    draws = {tuple(atk.compromised_miners(owners, 0.5, s)) for s in range(5)}
    assert len(draws) > 1  # the seed picks which pools
    # a miner without clients (-1) is never drawn
    assert -1 not in atk.compromised_miners(np.array([-1, 0, 1, -1]), 1.0, 0)
    with pytest.raises(ConfigError, match=r"--attack-fraction must be in \[0, 1\], got 1.1"):
        atk.compromised_miners(owners, 1.1, 0)


def test_attacks_run_only_when_named(mnist) -> None:
    train, _, fed = mnist
    engine = PoFLEngine(fed, train, load_mnist("test"), EngineConfig(threshold=0.0), CPU)
    assert engine.trainer.attack is None and engine.trainer.offset == 0
    assert len(engine.trainer.data.labels) == len(train)
    result = engine.run_round()
    assert result.poisoned_miners == []


def test_engine_reports_the_pools_holding_poisoned_clients(mnist) -> None:
    train, _, fed = mnist
    config = EngineConfig(threshold=0.0, attack="labelflip+boost", attack_assignment="one_per_pool")
    engine = PoFLEngine(fed, train, load_mnist("test"), config, CPU)
    result = engine.run_round()
    assert result.poisoned_miners == sorted(result.accuracies)  # every pool that trained holds one
    miners_config = EngineConfig(threshold=0.0, attack="labelflip", attack_assignment="miners", attack_fraction=0.3)
    engine = PoFLEngine(fed, train, load_mnist("test"), miners_config, CPU)
    bad = set(np.unique(engine.owners[engine.trainer.attack.static]).tolist())
    for _ in range(2):
        result = engine.run_round()
        assert set(result.poisoned_miners) == bad & set(result.accuracies)


# ------------------------------------------------------------------ KFC's rising target


def test_kfc_target_rises_after_each_block(mnist) -> None:
    assert kfc_target(0.0) == pytest.approx(0.1) and kfc_target(0.8) == pytest.approx(0.82)
    assert block_target("kfc", 0.5, None) == 0.5 and block_target("kfc", 0.5, 0.2) == 0.5
    assert block_target("kfc", 0.0, 0.9) == pytest.approx(0.91) and block_target("fixed", 0.6, 0.9) == 0.6
    train, _, fed = mnist
    engine = PoFLEngine(fed, train, load_mnist("test"), EngineConfig(threshold=0.0, target_schedule="kfc"), CPU)
    previous = None
    for _ in range(6):
        result = engine.run_round()
        if result.winner is not None:
            if previous is not None:
                assert result.consensus_accuracy >= kfc_target(previous)
            previous = result.consensus_accuracy
            assert engine.target == pytest.approx(kfc_target(previous))
    assert previous is not None


# ------------------------------------------------------------------ rejections


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"attack": "flip"}, "--attack: unknown attack 'flip'; choose 'none' or components joined by '\\+' from "
                         "labelflip, backdoor, boost"),
    ({"attack": "boost+boost"}, "unknown attack 'boost\\+boost'"),
    ({"attack": "labelflip", "attack_options": {"target": 1}}, "--attack-option 'target' does not apply to "
                                                                "--attack labelflip: its options are permutation"),
    ({"attack": "backdoor", "attack_options": {"target": 10}}, "target must be a class in 0..9"),
    ({"attack": "backdoor", "attack_options": {"poison_fraction": 0}}, "poison_fraction must be in \\(0, 1\\]"),
    ({"attack": "backdoor", "attack_options": {"trigger_size": 20}}, "trigger_size must be in 1..8"),
    ({"attack": "boost", "attack_options": {"factor": -1}}, "factor must be > 0"),
    ({"attack_assignment": "everyone"}, "--attack-assignment: unknown assignment 'everyone'; choose one of "
                                        + ", ".join(atk.ASSIGNMENTS)),
    ({"attack_fraction": 1.5}, "--attack-fraction must be in \\[0, 1\\]"),
    ({"target_schedule": "rising"}, "--target-schedule: unknown schedule 'rising'; choose one of fixed, kfc"),
    ({"block_momentum": 1.0}, "--block-momentum must be in \\[0, 1\\)"),
])
def test_bad_attack_target_or_momentum_option_is_a_config_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EngineConfig(**kwargs)


def test_bad_label_permutation_is_refused() -> None:
    with pytest.raises(ConfigError, match="permutation must reorder 0..9"):
        atk.LabelFlip(permutation=(0, 0, 1, 2, 3, 4, 5, 6, 7, 8)).check(10)
