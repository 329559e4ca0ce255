"""The flexBlock PoFL MNIST notebook, run unchanged but for its flex/flexBlock imports (-> offchain)
and its data set name (federated_emnist -> the offline federated_mnist), on a real Anvil and store.

When torchvision is not installed (it does not import beside the CPU torch wheel this project
uses), its `transforms` are replaced by the package's own (offchain.transforms). The notebook is in
the project's shared folder; scripts/pofl_mnist_example.py, its shape in the project's own code, is
tested in any clone (tests/node/test_example.py).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from offchain.app.verify import verify_chain
from tests.support.notebook import adapt, notebook_cells
from tests.support.paths import NOTEBOOK


@pytest.mark.slow
def test_seed_notebook_runs_on_chain_and_reaches_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not NOTEBOOK.exists():
        pytest.skip(f"{NOTEBOOK} not present (it is in the project's shared folder)")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "notebook"}
    try:
        for cell in notebook_cells(NOTEBOOK.read_text()):
            exec(compile(adapt(cell), "<notebook>", "exec"), namespace)
        pool = namespace["pool"]
        last = pool.blockchain.get_last_block()
        assert last.height >= 1 and last.accuracy >= 0.6
        chain = pool.blockchain.chain
        assert [b.height for b in chain] == list(range(len(chain)))
        assert all(child.parent_hash == parent.hash for parent, child in itertools.pairwise(chain))
        report = verify_chain(pool.contract, pool.store)
        assert report.ok, report.as_dict()
    finally:
        if "pool" in namespace:
            namespace["pool"].close()
