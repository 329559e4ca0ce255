"""Compile ``contracts/**/*.sol`` with py-solc-x and write deterministic artifacts.

The compiler is pinned here, in one place (:data:`SOLC_VERSION`, :data:`COMPILER_SETTINGS`).
The ``solc`` executable is found in this order:

1. ``POFL_SOLC`` (or the ``solc_binary`` argument): an explicit path;
2. a native solc of the pinned version that py-solc-x already has installed;
3. the project's wrapper over npm's solcjs (``node_modules/solc``), written to ``.solc/``.

Sources may sit in subfolders of ``contracts/`` (``contracts/consensus/``, ``contracts/libraries/``); a
source's unit name is its path under ``contracts/`` (``consensus/PoFLStorage.sol``), so relative imports
resolve between them. Artifacts (``contracts/out/<Name>.json``, one per deployable contract) hold the ABI,
creation and runtime bytecode, the storage layout, the compiler version and settings and the sha256 of the
source that defines the contract, so that a user without Node or solc can still deploy;
``tests/test_compile.py`` recompiles and checks that they are current.
They also carry the NatSpec (``devdoc``, ``userdoc``): the Python client's error messages come from it.

Imports of ``@openzeppelin/contracts/...`` resolve under ``node_modules`` (the npm package pinned in
``package.json``): ``node_modules`` is solc's base path, so the source unit names, and with them the
metadata hash in the bytecode, do not depend on where the checkout lives.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError, SolcNotInstalled
from solcx.install import get_executable

from offchain.errors import PoflRuntimeError, ToolNotFoundError
from offchain.paths import ARTIFACTS_DIR, CONTRACTS_DIR, NODE_MODULES, PROJECT_ROOT, SETUP_HINT, which_or_none

SOLC_VERSION = "0.8.28"
EVM_VERSION = "cancun"
COMPILER_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": EVM_VERSION,
    "viaIR": True,
    "outputSelection": {"*": {"*": ["abi", "devdoc", "userdoc", "storageLayout", "evm.bytecode.object",
                                    "evm.deployedBytecode.object", "evm.deployedBytecode.immutableReferences"]}},
}
WRAPPER_DIR = PROJECT_ROOT / ".solc"


class CompileError(PoflRuntimeError):
    """solc reported errors; the message lists them."""


def solcjs_wrapper() -> Path:
    """Write (or reuse) ``.solc/solc-v<version>``, a solc CLI over npm solcjs, and return it."""
    solcjs = NODE_MODULES / "solc"
    if not (solcjs / "package.json").is_file():
        raise ToolNotFoundError(f"no solc found: no native solc {SOLC_VERSION} and no solcjs at {solcjs}. "
                                f"Install it: {SETUP_HINT}, or set POFL_SOLC to a solc {SOLC_VERSION} binary.")
    installed = json.loads((solcjs / "package.json").read_text())["version"]
    if installed != SOLC_VERSION:
        raise ToolNotFoundError(f"node_modules/solc is {installed}, the project pins {SOLC_VERSION}: {SETUP_HINT}")
    node = which_or_none("node")
    if node is None:
        raise ToolNotFoundError("Node.js (`node`) is not on PATH; the solcjs wrapper needs it")
    shim = Path(__file__).with_name("solcjs_shim.js")
    script = (f"#!/bin/sh\nPOFL_SOLCJS_DIR={json.dumps(str(solcjs))} exec {json.dumps(str(node))} "
              f"{json.dumps(str(shim))} \"$@\"\n")
    wrapper = WRAPPER_DIR / f"solc-v{SOLC_VERSION}"
    if not wrapper.exists() or wrapper.read_text() != script:
        WRAPPER_DIR.mkdir(parents=True, exist_ok=True)
        tmp = wrapper.with_suffix(".tmp")
        tmp.write_text(script)
        tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        tmp.replace(wrapper)
    return wrapper


def find_solc(explicit: str | Path | None = None) -> Path:
    """The solc executable to use, by the order in the module docstring."""
    explicit = explicit or os.environ.get("POFL_SOLC")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ToolNotFoundError(f"POFL_SOLC / solc_binary points at {path}, which does not exist")
        return path
    try:
        return Path(get_executable(SOLC_VERSION))
    except SolcNotInstalled:
        return solcjs_wrapper()


def source_files(contracts_dir: Path = CONTRACTS_DIR) -> list[Path]:
    """Every ``.sol`` under ``contracts_dir``, subfolders included, in a stable order."""
    return sorted(contracts_dir.rglob("*.sol"), key=lambda p: p.relative_to(contracts_dir).as_posix())


def source_units(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, str]:
    """solc's source units: each source's path under ``contracts_dir`` (its unit name) -> its text."""
    return {p.relative_to(contracts_dir).as_posix(): p.read_text() for p in source_files(contracts_dir)}


def compile_contracts(contracts_dir: Path = CONTRACTS_DIR, solc_binary: str | Path | None = None,
                      ) -> dict[str, dict[str, Any]]:
    """Compile every ``*.sol`` under ``contracts_dir``; return the artifacts of its deployable contracts by name
    (interfaces, abstract contracts and libraries get none)."""
    sources = source_units(contracts_dir)
    if not sources:
        raise CompileError(f"no .sol files in {contracts_dir}")
    solc = find_solc(solc_binary)
    request = {"language": "Solidity", "sources": {n: {"content": s} for n, s in sources.items()},
               "settings": COMPILER_SETTINGS}
    try:
        output = solcx.compile_standard(request, solc_binary=solc, base_path=str(NODE_MODULES),
                                        allow_paths=[str(contracts_dir), str(NODE_MODULES)])
    except SolcError as exc:  # py-solc-x raises on any error entry; report solc's own messages
        try:
            output = json.loads(exc.stdout_data)
        except (TypeError, ValueError):
            raise CompileError(f"{solc} failed: {exc}") from None
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    version = _binary_version(solc)
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts in output["contracts"].items():
        if source_name not in sources:
            continue  # an imported (OpenZeppelin) source
        for name, out in contracts.items():
            if not out["evm"]["bytecode"]["object"] or re.search(rf"\blibrary\s+{name}\b", sources[source_name]):
                continue  # an interface, an abstract contract or a library (its internal functions live in the callers)
            artifacts[name] = {
                "contractName": name,
                "sourcePath": f"contracts/{source_name}",
                "sourceSha256": hashlib.sha256(sources[source_name].encode()).hexdigest(),
                "compiler": {"version": version, "settings": {k: v for k, v in COMPILER_SETTINGS.items()
                                                               if k != "outputSelection"}},
                "abi": out["abi"],
                "devdoc": out["devdoc"],
                "userdoc": out["userdoc"],
                "storageLayout": out["storageLayout"],
                "bytecode": "0x" + out["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + out["evm"]["deployedBytecode"]["object"],
                # where the constructor writes immutables into the runtime code: [start, length] byte ranges
                "immutableReferences": sorted([r["start"], r["length"]] for refs in
                                              out["evm"]["deployedBytecode"].get("immutableReferences", {}).values()
                                              for r in refs),
            }
    return artifacts


def _binary_version(solc: Path) -> str:
    return str(solcx.wrapper.get_solc_version(solc, with_commit_hash=True))


def artifact_text(artifact: dict[str, Any]) -> str:
    """The canonical, byte-stable JSON form of an artifact."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def write_artifacts(artifacts: dict[str, dict[str, Any]], out_dir: Path = ARTIFACTS_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, artifact in sorted(artifacts.items()):
        path = out_dir / f"{name}.json"
        path.write_text(artifact_text(artifact))
        written.append(path)
    return written
