#!/usr/bin/env bash
# README command 1: set everything up and run the main job on an auto-started Anvil.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/pofl deploy --genesis-cid "${POFL_GENESIS_CID:-QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH}" --deployments-dir .tmp/deployments "$@"
