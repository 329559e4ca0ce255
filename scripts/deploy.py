#!/usr/bin/env python3
"""Deploy PoFLConsensus and record it in deployments/<chainId>.json (thin entry point of `pofl deploy`).

    scripts/deploy.py --rpc-url URL --key 0x... [--threshold 0.6] [--genesis-cid CID]
"""

import sys

from offchain.cli import main

if __name__ == "__main__":
    main(["deploy", *sys.argv[1:]])
