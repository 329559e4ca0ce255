#!/usr/bin/env bash
# Idempotent set-up on a fresh clone: Node tools into node_modules/, Python env into .venv/.
# Re-running skips what is already installed (stamps hash package*.json and pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

stamp() { cat "$@" | sha256sum | cut -c1-16; }

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js >= 20 with npm is required (Debian: apt-get install nodejs npm)" >&2; exit 1
fi
if [ "$(cat node_modules/.pofl-stamp 2>/dev/null)" != "$(stamp package.json package-lock.json)" ]; then
  echo "setup: npm install (Anvil, Hardhat 2, solcjs, js-ipfs)..." >&2
  # `npm install`, not `npm ci`: the mortice override of js-ipfs needs it on Node 20.
  npm install --no-audit --no-fund --loglevel=error
  stamp package.json package-lock.json > node_modules/.pofl-stamp
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ "$(cat .venv/.pofl-stamp 2>/dev/null)" != "$(stamp pyproject.toml)" ]; then
  echo "setup: pip install into .venv..." >&2
  # torch first, pinned, so the resolver does not pull a multi-GB CUDA build where a CPU wheel is at hand;
  # set POFL_TORCH to e.g. "torch==2.14.1" (CUDA) on a GPU machine.
  if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
    .venv/bin/python -m pip install -q --disable-pip-version-check "${POFL_TORCH:-torch==2.13.0}"
  fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev,flower]"
  stamp pyproject.toml > .venv/.pofl-stamp
fi
