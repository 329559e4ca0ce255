"""Where things are: the checkout, its benchmarks, the tests' own Solidity contracts, the shipped example."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The checkout (the folder holding offchain/ and tests/)."""
BENCH = ROOT / "bench"
TEST_CONTRACTS = ROOT / "tests" / "contracts"
"""Attacker and proxy contracts the tests deploy against PoFLConsensus."""
EXAMPLE = ROOT / "scripts" / "pofl_mnist_example.py"
NOTEBOOK = ROOT.parent / "shared" / "seeds" / "pofl_mnist_notebook.txt"
"""The flexBlock notebook, in the project's shared folder beside the checkout (absent in a bare clone)."""
