"""The Solidity pipeline through Node: the solcjs wrapper, compiling, artifact freshness (what needs no compiler is
in tests/unit/test_compile.py)."""

from __future__ import annotations

import json
import subprocess

import pytest
import solcx

from offchain.chain import compile as comp


# The session's compile (solcjs, ~30 s idle) runs in the first of these; on a machine loaded 5x over it took over
# 300 s, the default guard: a longer guard, not a timing.
@pytest.mark.timeout(900)
def test_committed_artifacts_are_current(fresh_artifacts: dict[str, dict]) -> None:
    for name, artifact in fresh_artifacts.items():
        committed = comp.ARTIFACTS_DIR / f"{name}.json"
        assert committed.exists(), f"{committed} missing: run `pofl compile`"
        assert committed.read_text() == comp.artifact_text(artifact), f"{committed} is stale: run `pofl compile`"


@pytest.mark.timeout(900)
def test_artifact_records_compiler_and_source(fresh_artifacts: dict[str, dict]) -> None:
    artifact = fresh_artifacts["PoFLConsensus"]
    assert artifact["compiler"]["version"].startswith(comp.SOLC_VERSION + "+commit.")
    assert artifact["compiler"]["settings"]["evmVersion"] == comp.EVM_VERSION
    assert artifact["bytecode"].startswith("0x6") and len(artifact["deployedBytecode"]) > 1000  # a PUSH first
    assert artifact["immutableReferences"] and all(length == 32 for _, length in artifact["immutableReferences"])
    assert len(artifact["sourceSha256"]) == 64


def test_wrapper_reports_version_as_py_solc_x_expects() -> None:
    wrapper = comp.solcjs_wrapper()
    out = subprocess.run([str(wrapper), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"Version: {comp.SOLC_VERSION}+commit." in out
    assert str(solcx.wrapper.get_solc_version(wrapper)) == comp.SOLC_VERSION


def test_wrapper_output_beyond_64k_arrives_whole() -> None:
    """solcjs through a pipe: output far beyond 64 KiB must not be cut (no process.exit() race)."""
    sources = {name: {"content": text} for name, text in comp.source_units().items()}
    request = {"language": "Solidity", "sources": sources,
               "settings": {"outputSelection": {"*": {"*": ["abi", "evm.bytecode", "evm.deployedBytecode",
                                                           "evm.methodIdentifiers", "metadata"], "": ["ast"]}}}}
    out = subprocess.run([str(comp.solcjs_wrapper()), "--standard-json", "--base-path", str(comp.NODE_MODULES)],
                         input=json.dumps(request), capture_output=True, text=True, check=True).stdout
    assert len(out) > 256 * 1024
    parsed = json.loads(out)  # stdout is pure JSON: solcjs's SMT notes went to stderr
    assert "PoFLConsensus" in parsed["contracts"]["PoFLConsensus.sol"]


def test_sources_in_subfolders_compile_with_relative_imports(tmp_path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "Twice.sol").write_text(
        "pragma solidity 0.8.28; library Twice { function times(uint256 x) internal pure returns (uint256) "
        "{ return 2 * x; } }")
    (tmp_path / "Uses.sol").write_text(
        'pragma solidity 0.8.28; import {Twice} from "./lib/Twice.sol"; '
        "contract Uses { function f(uint256 x) external pure returns (uint256) { return Twice.times(x); } }")
    assert list(comp.source_units(tmp_path)) == ["Uses.sol", "lib/Twice.sol"]
    artifacts = comp.compile_contracts(tmp_path)
    assert set(artifacts) == {"Uses"}  # a library of internal functions gets no artifact: it lives in Uses
    assert artifacts["Uses"]["sourcePath"] == "contracts/Uses.sol"


def test_compile_errors_are_reported(tmp_path) -> None:
    (tmp_path / "Bad.sol").write_text("pragma solidity 0.8.28; contract Bad { function f() { } }")
    with pytest.raises(comp.CompileError, match="Bad.sol"):
        comp.compile_contracts(tmp_path)
