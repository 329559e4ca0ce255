"""`pofl verify`'s pure checks: links, the recorded accuracy, the committee's median (the faults found on a real
chain: tests/node/test_verify.py)."""

from __future__ import annotations

import dataclasses

from offchain.app.verify import ProblemKind, check_accuracy, check_links, check_median
from offchain.chain.types import ChainBlock
from offchain.store.cid import CidKind
from tests.support.contracts import BASE_CONFIG

# ------------------------------------------------------------------ the pure checks


GENESIS = ChainBlock(0, 0, "0x" + "00" * 20, 0, CidKind.V0_DAG_PB, b"\7" * 32, b"\0" * 32, b"")


def _block(height: int, parent: ChainBlock, accuracy_bps: int) -> ChainBlock:
    b = ChainBlock(height, height, "0x" + "11" * 20, accuracy_bps, CidKind.V0_DAG_PB, bytes([height]) * 32,
                   parent.block_hash, b"")
    return dataclasses.replace(b, block_hash=b.expected_hash())


def test_check_links_accuracy_and_median() -> None:
    genesis = dataclasses.replace(GENESIS, block_hash=GENESIS.expected_hash())
    b1 = _block(1, genesis, 5000)
    config = dataclasses.replace(BASE_CONFIG, require_improvement=True)
    assert check_links(b1, genesis, config) == []
    assert [p.kind for p in check_links(_block(2, b1, 5000), b1, config)] == [ProblemKind.IMPROVEMENT]
    assert check_links(_block(2, b1, 5000), b1, dataclasses.replace(config, require_improvement=False)) == []
    assert [p.kind for p in check_links(_block(2, genesis, 6000), b1, config)] == [ProblemKind.LINK]
    assert check_accuracy(b1, 0.49, 100) == [] and check_accuracy(b1, 0.51, 100) == []  # within 100 bps
    assert [p.kind for p in check_accuracy(b1, 0.4899, 100)] == [ProblemKind.ACCURACY]
    assert [p.kind for p in check_accuracy(b1, 0.5101, 100)] == [ProblemKind.ACCURACY]
    assert check_accuracy(genesis, 0.0, 0) == []  # the genesis block records no measurement
    assert check_median(b1, [4000, 5000, 9000]) == [] and check_median(b1, [5000, 5100]) == []  # lower median
    assert [p.kind for p in check_median(b1, [5000, 5100, 5200])] == [ProblemKind.MEDIAN]
    assert [p.kind for p in check_median(b1, [])] == [ProblemKind.MEDIAN]
    assert check_median(genesis, []) == []
