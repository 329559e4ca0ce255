#!/usr/bin/env bash
# README command 1: set everything up, then run the PoFL MNIST job (the flexBlock notebook's workload:
# 10 miners, 20 clients a round, MLP 784-128-10, until a block reaches 0.6) on an auto-started Anvil
# with the embedded store; prints the per-round table and writes runs/demo/accuracy.png.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/pofl run --store-dir runs/demo/store --metrics runs/demo/metrics.json --plot runs/demo/accuracy.png "$@"
