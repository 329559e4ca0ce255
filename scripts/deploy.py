#!/usr/bin/env python3
"""Deploy PoFLConsensus and record it in ./deployments/<chainId>-<genesis>/ (thin entry point of `pofl deploy`).

    POFL_KEY=0x... scripts/deploy.py --rpc-url URL [--miners 3 --min-committee 2] [--threshold 0.6] [--genesis-cid CID]
"""

import sys

from offchain.cli import main

if __name__ == "__main__":
    main(["deploy", *sys.argv[1:]])
