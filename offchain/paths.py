"""Where the project's files and tools live, resolved once and overridable by environment."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
"""The installed ``offchain`` package."""

PROJECT_ROOT = Path(os.environ.get("POFL_ROOT", PACKAGE_DIR.parent)).resolve()
"""The repository root (``POFL_ROOT`` overrides it for installs outside a checkout)."""

NODE_MODULES = Path(os.environ.get("POFL_NODE_MODULES", PROJECT_ROOT / "node_modules")).resolve()
"""Where ``npm install`` put the Node tools (Anvil, Hardhat, solcjs, js-ipfs)."""

CONTRACTS_DIR = PROJECT_ROOT / "contracts"
ARTIFACTS_DIR = CONTRACTS_DIR / "out"
DEPLOYMENTS_DIR = Path(os.environ.get("POFL_DEPLOYMENTS") or "deployments")
"""Deployment records, in the working directory (as Foundry's ``broadcast/``) unless ``POFL_DEPLOYMENTS`` says."""
DATA_DIR = PACKAGE_DIR / "assets"

SETUP_HINT = "run ./scripts/setup.sh (it runs `npm install` in the repository root)"


def which_or_none(*candidates: str | Path) -> Path | None:
    """The first candidate that is an executable file, or found on PATH by name."""
    for cand in candidates:
        path = Path(cand)
        if path.is_absolute() or len(path.parts) > 1:
            if path.is_file() and os.access(path, os.X_OK):
                return path
        elif found := shutil.which(str(cand)):
            return Path(found)
    return None
