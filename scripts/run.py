#!/usr/bin/env python3
"""Run PoFL end to end (thin entry point of `pofl run`); see `pofl run --help`."""

import sys

from offchain.cli import main

if __name__ == "__main__":
    main(["run", *sys.argv[1:]])
