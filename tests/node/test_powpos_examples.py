"""The shipped PoW and PoS examples in the notebook's shape (scripts/pow_mnist_example.py, pos_mnist_example.py)
run on a real chain (an auto-started Anvil, a temporary store) and make a hash-linked block a round."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest

from tests.support.paths import ROOT


def load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize(("name", "argv"), [
    ("pow_mnist_example", ["--rounds", "2", "--miners", "3", "--clients-per-round", "4"]),
    ("pos_mnist_example", ["--rounds", "2", "--nodes", "4", "--clients-per-round", "4"]),
], ids=["pow", "pos"])
def test_the_example_makes_a_linked_block_a_round(name: str, argv: list[str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    pool = load(name).main(argv)
    try:
        chain = pool.blockchain.chain
        assert [b.height for b in chain] == [0, 1, 2]
        assert all(child.previous_hash == parent.hash for parent, child in itertools.pairwise(chain))
        assert all(len(b.weights) == 4 for b in chain[1:])  # the MLP's two layers, weights and biases, from the store
    finally:
        pool.close()
    out = capsys.readouterr().out
    assert "round 2: block 2 by" in out and "2 blocks;" in out
