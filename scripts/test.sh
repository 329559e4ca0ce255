#!/usr/bin/env bash
# README command 2: set everything up, lint, and run the whole test suite (pytest args pass through).
# The tests start the servers they need themselves (Anvil, a Hardhat node, a js-ipfs daemon).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check .
npx --no-install prettier --check 'contracts/**/*.sol' 'tests/contracts/*.sol'
exec .venv/bin/python -m pytest "$@"
