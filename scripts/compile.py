#!/usr/bin/env python3
"""Compile contracts/*.sol and write contracts/out/<Name>.json (thin entry point of `pofl compile`)."""

from offchain.cli import main

if __name__ == "__main__":
    main(["compile"])
