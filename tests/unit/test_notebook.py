"""The flexBlock PoFL MNIST notebook's cells are read whole (the notebook is in the project's shared folder; it
runs on a real chain in tests/node/test_notebook.py)."""

from __future__ import annotations

import pytest

from tests.support.notebook import notebook_cells
from tests.support.paths import NOTEBOOK


def test_cells_are_extracted_whole() -> None:
    if not NOTEBOOK.exists():
        pytest.skip(f"{NOTEBOOK} not present (it is in the project's shared folder)")
    cells = notebook_cells(NOTEBOOK.read_text())
    assert len(cells) == 11
    assert cells[-1].strip() == "train_until_acc(acc=0.6)"
    assert "class SimpleNet" in cells[2] and "def evaluate_global_model" in cells[8]


