#!/usr/bin/env python3
"""Deployed (runtime) and creation bytecode sizes of the compiled contracts, against EIP-170, as JSON.

    .venv/bin/python bench/contract_size.py [--out sizes.json]

Reads the artifacts in contracts/out (``pofl compile`` writes them; tests/test_compile.py checks they are
current). EIP-170 caps a contract's runtime code at 24,576 bytes; EIP-3860 caps creation code (initcode) at
49,152 bytes. `room` is what a contract can still grow by; PoFLConsensus must keep at least 1,400 bytes
(tests/test_compile.py). PoFLConsensus's creation code holds its lens's (its constructor deploys PoFLLens).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import emit
from offchain.paths import ARTIFACTS_DIR

EIP170_LIMIT = 24_576
EIP3860_LIMIT = 49_152


def contract_sizes(artifacts_dir: Path = ARTIFACTS_DIR) -> dict[str, dict[str, int]]:
    """{contract: {runtime, room (under EIP-170), creation, creation_room (under EIP-3860)}}, bytes."""
    sizes = {}
    for path in sorted(artifacts_dir.glob("*.json")):
        artifact = json.loads(path.read_text())
        runtime = (len(artifact["deployedBytecode"]) - 2) // 2
        creation = (len(artifact["bytecode"]) - 2) // 2
        sizes[artifact["contractName"]] = {"runtime": runtime, "room": EIP170_LIMIT - runtime,
                                           "creation": creation, "creation_room": EIP3860_LIMIT - creation}
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    emit({"eip170_limit": EIP170_LIMIT, "eip3860_limit": EIP3860_LIMIT, "sizes": contract_sizes()}, args.out)


if __name__ == "__main__":
    main()
