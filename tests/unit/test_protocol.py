"""The protocol's decisions (offchain.miner.protocol) as pure functions, and the run configuration."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from offchain.chain.types import ChainBlock, Phase, RoundInfo
from offchain.cli import cli
from offchain.errors import ConfigError
from offchain.fl.training import TrainConfig
from offchain.miner.protocol import (
    Adopt,
    Advance,
    ChainView,
    Commit,
    Draw,
    Finalize,
    Idle,
    Learn,
    MinerMemory,
    MinerRound,
    Reveal,
    Vote,
    next_action,
)
from offchain.miner.run_config import RunConfig
from offchain.store.cid import CidKind

ME, OTHER = "0x" + "aa" * 20, "0x" + "bb" * 20
HEAD = ChainBlock(3, 5, OTHER, 7000, CidKind.V0_DAG_PB, b"\3" * 32, b"\1" * 32, b"\2" * 32)


def info(candidate: str = OTHER, seats: int = 4, attempt: int = 1) -> RoundInfo:
    return RoundInfo(round=6, phase=Phase.VALIDATION, deadline=0, commits=5, reveals=5, votes=0, seats=seats,
                      quorum=3, attempt=attempt, candidate=candidate, candidate_bps=7100, seed_block=40,
                      seed=b"\0" * 32, best=candidate, best_bps=7100, head_bps=7000, active_miners=5)


def view(phase: Phase, *, round_id: int = 6, passed: bool = False, state: RoundInfo | None = None,
         committee: frozenset[str] = frozenset()) -> ChainView:
    return ChainView(round_id, phase, passed, HEAD, state, committee)


def synced(round_: MinerRound | None = None, **kwargs: object) -> MinerMemory:
    """A miner that holds the head's model and knows round 6 (``round_``: what it did in it; nothing yet)."""
    memory = MinerMemory(ME, has_model=True, adopted_height=HEAD.height, round=round_ or MinerRound(6))
    return dataclasses.replace(memory, **kwargs)


def test_a_newer_head_is_adopted_first_unless_its_fetch_is_backing_off() -> None:
    assert next_action(view(Phase.COMMIT), MinerMemory(ME), now=0.0) == Adopt(HEAD)
    backing_off = MinerMemory(ME, head_retry_at=10.0, has_model=True, round=MinerRound(6))
    assert next_action(view(Phase.COMMIT), backing_off, now=5.0) == Commit(6)  # keeps mining meanwhile
    assert next_action(view(Phase.COMMIT), backing_off, now=10.0) == Adopt(HEAD)


def test_a_round_seen_first_is_learned_from_the_chain() -> None:
    assert next_action(view(Phase.REVEAL), synced(round=None), 0.0) == Learn(6)
    assert next_action(view(Phase.REVEAL), synced(MinerRound(5, committed=True)), 0.0) == Learn(6)  # the last one


def test_commit_reveal_in_their_phases_and_only_with_the_salt_in_hand() -> None:
    assert next_action(view(Phase.COMMIT), synced(), 0.0) == Commit(6)
    assert next_action(view(Phase.COMMIT), synced(has_model=False), 0.0) == Idle()
    committed = synced(MinerRound(6, committed=True), sealed_round=6)
    assert next_action(view(Phase.COMMIT), committed, 0.0) == Idle()
    assert next_action(view(Phase.REVEAL), committed, 0.0) == Reveal(6)
    lost_salt = synced(MinerRound(6, committed=True), sealed_round=5)  # committed by an earlier process
    assert next_action(view(Phase.REVEAL), lost_salt, 0.0) == Idle()
    done = synced(MinerRound(6, committed=True, revealed=True), sealed_round=6)
    assert next_action(view(Phase.REVEAL), done, 0.0) == Idle()
    assert next_action(view(Phase.REVEAL, passed=True), done, 0.0) == Advance(6)


def test_seats_report_once_per_validation_after_the_draw() -> None:
    undrawn = view(Phase.VALIDATION, state=info(seats=0))
    assert next_action(undrawn, synced(), 0.0) == Draw(6)  # the seed block must be mined and recorded first
    on = view(Phase.VALIDATION, state=info(), committee=frozenset({ME}))
    assert next_action(on, synced(), 0.0) == Vote(6, OTHER, 1)
    assert next_action(on, synced(MinerRound(6, voted={1})), 0.0) == Idle()
    second = view(Phase.VALIDATION, state=info(attempt=2), committee=frozenset({ME}))  # the next-best claim
    assert next_action(second, synced(MinerRound(6, voted={1})), 0.0) == Vote(6, OTHER, 2)
    off = view(Phase.VALIDATION, state=info(), committee=frozenset({OTHER}))
    assert next_action(off, synced(), 0.0) == Idle()


def test_finalize_and_advance() -> None:
    assert next_action(view(Phase.FINALIZE), synced(), 0.0) == Finalize(6)
    assert next_action(view(Phase.VALIDATION, passed=True, state=info()), synced(), 0.0) == Advance(6)
    assert next_action(view(Phase.COMMIT, passed=True), synced(MinerRound(6, committed=True)), 0.0) == Advance(6)


# ------------------------------------------------------------------ the run configuration


def test_run_config_round_trips_through_json() -> None:
    config = RunConfig(n_miners=4, threshold=0.3, phase_seconds=7, train=TrainConfig(lr=0.01, epochs=2))
    assert RunConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(("change", "message"), [
    ({"n_miners": 0}, "--miners must be at least 2"),
    ({"n_miners": 1}, "--miners must be at least 2"),
    ({"clients_per_round": 0}, "--clients-per-round must be at least 1"),
    ({"threshold": 1.5}, r"--threshold must lie within \[0, 1\]"),
    ({"seed": -1}, r"--seed must lie within \[0, 4294967295\]"),
    ({"seed": 2**32}, r"--seed must lie within \[0, 4294967295\]"),
    ({"n_miners": 256}, "--miners must be at most 255"),
    ({"clients_per_round": 1001}, "--clients-per-round 1001 is more than the federation's 1000 clients"),
    ({"partition": "iid", "n_clients": 5, "n_miners": 6, "clients_per_round": 2},
     "--miners 6 is more than the federation's 5 clients"),
    ({"partition": "missing.npz"}, "--partition missing.npz: cannot read it"),
    ({"alpha": 0.0}, "--alpha must be > 0"),
    ({"phase_seconds": 0}, "--phase-seconds must be at least 1"),
    ({"partition": "nonsense"}, "--partition 'nonsense': not one of"),
    ({"n_miners": 3, "min_committee": 3}, r"--min-committee must lie within \[1, 2\] with --miners 3"),
    ({"n_miners": 3, "min_committee": 0}, r"--min-committee must lie within \[1, 2\] with --miners 3"),
    ({"train": TrainConfig(lr=-1)}, "--lr must be > 0"),
    ({"train": TrainConfig(batch_size=0)}, "--batch-size must be at least 1"),
    ({"train": TrainConfig(epochs=0)}, "--epochs must be at least 1"),
])
def test_run_config_refuses_bad_values_naming_the_option(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RunConfig(**change)


def test_the_scaled_mode_has_no_cap_on_miners() -> None:
    """255 is the per-miner contract's cap (its message says the scaled mode has none); PoFLScaled takes more."""
    with pytest.raises(ConfigError, match=r"at most 255 \(the per-miner contract's cap; the scaled mode"):
        RunConfig(n_miners=1000, partition="iid", n_clients=2000)
    assert RunConfig(n_miners=1000, partition="iid", n_clients=2000, scaled=True).n_miners == 1000


@pytest.mark.parametrize(("text", "message"), [
    ("[1]", "expected a JSON object"),
    ("{nope", "not JSON"),
    (json.dumps({"n_miners": 3, "bogus": 1}), r"unknown settings \['bogus'\]"),
    (json.dumps({"n_miners": "3"}), "n_miners must be a int"),
    (json.dumps({"n_miners": True}), "n_miners must be a int"),
    (json.dumps({"train": {"lr": "fast"}}), "lr must be a float"),
    (json.dumps({"train": []}), "TrainConfig must be a JSON object"),
])
def test_run_config_files_are_checked(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_json(text, "test")


def test_a_miner_takes_its_settings_from_a_file_or_from_options_not_both(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "run.json"
    path.write_text(RunConfig().to_json())
    result = CliRunner().invoke(cli, ["miner", "--config", str(path), "--miners", "3", "--rpc-url", "http://127.0.0.1:1",
                                      "--contract", "0x" + "11" * 20, "--clients", "0/3"])
    assert result.exit_code == 2 and "leave out --miners" in result.output, result.output


def test_the_torch_free_configuration_names_what_the_implementations_build() -> None:
    """offchain.fl.names (imported by `pofl CMD --help`, without torch) names the architectures, aggregators
    and attacks that offchain.fl.architectures, offchain.fl.aggregation and offchain.fl.attacks implement; the
    configurations keep their old homes."""
    from offchain.fl import aggregation, architectures, attacks, config, names, round_training, simulation, training

    assert set(names.ARCHITECTURE_NAMES) == set(architectures.ARCHITECTURES)
    assert names.AGGREGATOR_NAMES == tuple(aggregation.AGGREGATORS) == tuple(round_training.AGGREGATORS)
    assert tuple(attacks.COMPONENTS) == names.ATTACK_COMPONENTS
    assert attacks.ATTACK_CHOICES is names.ATTACK_CHOICES and attacks.ASSIGNMENTS is names.ASSIGNMENTS
    assert simulation.EngineConfig is config.EngineConfig and training.TrainConfig is config.TrainConfig


