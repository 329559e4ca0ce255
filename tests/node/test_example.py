"""The shipped example in the flexBlock notebook's shape (scripts/pofl_mnist_example.py) reaches the seed
workload's target on a real chain, in any clone (the notebook itself lives in the project's shared folder)."""

from __future__ import annotations

import importlib.util
import itertools
import time
from pathlib import Path

import pytest

from offchain.app.verify import verify_chain
from tests.support.paths import EXAMPLE


def load_example():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("pofl_mnist_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# soak: CI runs the same pool and the same loop to the same target, verified, in the seed notebook's own test
# (tests/node/test_notebook.py), and this script in the hold-out test below; this full run is ~56 s.
@pytest.mark.slow
@pytest.mark.soak
def test_the_example_reaches_the_target_on_chain_and_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    example = load_example()
    pool = example.main(["--target", "0.6", "--max-rounds", "40"])
    try:
        last = pool.blockchain.get_last_block()
        assert last.height >= 1 and last.accuracy >= 0.6
        chain = pool.blockchain.chain
        assert [b.height for b in chain] == list(range(len(chain)))
        assert all(child.parent_hash == parent.hash for parent, child in itertools.pairwise(chain))
        assert all(child.accuracy > parent.accuracy for parent, child in itertools.pairwise(chain))
        report = verify_chain(pool.contract, pool.store)
        assert report.ok, report.as_dict()
        # each block's recorded accuracy is what the user's own eval_function measures of the stored model
        for check in report.blocks[1:]:
            assert check.measured == pytest.approx(check.claimed, abs=1.5e-4)
    finally:
        pool.close()
    assert "Running round: 1" in capsys.readouterr().out


def test_the_example_in_holdout_mode_judges_rounds_on_shards_and_reports_the_final_shard(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    example = load_example()
    pool = example.main(["--target", "0.3", "--max-rounds", "6", "--miners", "4", "--holdout"])
    try:
        holdout = pool.requester.holdout
        assert pool.contract.holdout_address() == holdout.address and holdout.ended()
        last = pool.blockchain.get_last_block()
        assert last.height >= 1
        rows = pool.end_task()  # again: the task stays ended, the report is the same
        assert [r.height for r in rows] == list(range(last.height + 1))
        assert all(r.final_accuracy is not None and r.final_accuracy > 0.3 for r in rows[1:])
        report = verify_chain(pool.contract, pool.store)
        assert report.ok, report.as_dict()
    finally:
        pool.close()
    assert "on the final shard" in capsys.readouterr().out


def test_the_example_caps_its_rounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unreachable target stops at --max-rounds instead of looping for ever."""
    monkeypatch.chdir(tmp_path)
    example = load_example()
    pool = example.main(["--target", "1.0", "--max-rounds", "2", "--miners", "3"])
    try:
        genesis = pool.blockchain.get_last_block()
        assert genesis.height == 0
        assert pool.contract.current_round() == 3  # two rounds ran, both failed
        # each round claims the model its clients trained in that round: none re-commits the model of a
        # failed round before the notebook's next round has trained (a digest would be revealed twice)
        assert pool.contract.events("DigestReused") == []
        revealed = [{e["args"]["digest"] for e in pool.contract.events("Revealed") if e["args"]["round"] == r}
                    for r in (1, 2)]
        assert len(revealed[0]) == len(revealed[1]) == 3 and not revealed[0] & revealed[1]
        # flexBlock's block: hex hashes, the chain's timestamp, the model's weights in the model's order
        assert genesis.hash == "0x" + pool.contract.latest_block().block_hash.hex() and len(genesis.hash) == 66
        assert genesis.previous_hash == "0x" + "00" * 32
        assert abs(genesis.timestamp - time.time()) < 600
        model = pool.servers.models[next(iter(pool.servers.models))]["model"]
        assert [w.shape for w in genesis.weights] == [p.shape for p in model.state_dict().values()]
    finally:
        pool.close()
    assert not pool.store.root.exists()  # the pool's temporary store goes with it (it leaked 37 MB a pool)
