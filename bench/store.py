#!/usr/bin/env python3
"""Model store throughput as JSON: put/get of a 0.4 MB model (SimpleNet) and a 20 MB blob on the
embedded LocalStore and on a js-ipfs daemon, and pure-Python CID computation speed.

    .venv/bin/python bench/store.py [--repeats 5] [--out store.json]
    .venv/bin/python bench/store.py --tiny      # a smoke run: one repeat, a 1 MB blob
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import emit
from offchain.fl.architectures import SimpleNet
from offchain.servers.ipfs import start_ipfs_daemon
from offchain.store import LocalStore, ModelStore, compute_cid
from offchain.store.ipfs import IpfsStore
from offchain.store.model_bytes import model_to_bytes


def timed(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def store_figures(store: ModelStore, blobs: dict[str, bytes], repeats: int) -> dict[str, dict[str, float]]:
    out = {}
    for name, data in blobs.items():
        mb = len(data) / 1e6
        cid = store.put(data)
        # a fresh blob per put (same size) so that a put is never answered by "already have it"
        fresh = [os.urandom(len(data)) for _ in range(repeats)] if name != "model 0.4 MB" else [
            model_to_bytes(SimpleNet().state_dict(), "simplenet") for _ in range(repeats)]  # fresh random weights
        put_s = statistics.median([timed(lambda d=d: store.put(d), 1) for d in fresh])
        get_s = timed(lambda cid=cid: store.get(cid), repeats)
        out[name] = {"bytes": len(data), "put_s": round(put_s, 4), "get_s": round(get_s, 4),
                     "put_MBps": round(mb / put_s, 1), "get_MBps": round(mb / get_s, 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="Smoke run: one repeat, a 1 MB blob.")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.tiny:
        args.repeats = 1
    big_mb = 1 if args.tiny else 20
    blobs = {"model 0.4 MB": model_to_bytes(SimpleNet().state_dict(), "simplenet"),
             f"blob {big_mb} MB": os.urandom(big_mb * 1024 * 1024)}
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        report["LocalStore"] = store_figures(LocalStore(tmp), blobs, args.repeats)
    with start_ipfs_daemon() as daemon:
        report["IpfsStore (js-ipfs 0.18 daemon)"] = store_figures(IpfsStore(daemon.api_multiaddr), blobs, args.repeats)
    big = blobs[f"blob {big_mb} MB"]
    seconds = timed(lambda: compute_cid(big), args.repeats)
    report["compute_cid"] = {"bytes": len(big), "seconds": round(seconds, 4),
                             "MBps": round(len(big) / 1e6 / seconds, 1)}
    emit(report, args.out)


if __name__ == "__main__":
    main()
