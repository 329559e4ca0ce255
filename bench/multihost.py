#!/usr/bin/env python3
"""Miners on separate hosts, as JSON: seconds a round and bytes moved a round with 4 miner hosts (each with its own
js-ipfs node, the chain and the requester on hosts of their own: Linux network namespaces, see
tests/support/netns.py), with every link free and limited to 10 Mbit/s; and the time each model revealed in those
rounds takes to reach every miner host (from the reveal seen on chain until each host has read it from its own node,
by bitswap; the other miners fetch it only when they validate, later).

    sudo .venv/bin/python bench/multihost.py [--rounds 3] [--out bench/results/multihost.json]

Needs root (network namespaces). Rounds are timed by the wall clock between round changes on the chain, after a
first block; bytes are what crossed every host's link (IPFS and the chain's RPC together), per round. The revealed
models are read in as many rounds again, after those (the reads move bytes of their own).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import emit
from offchain.chain.connect import connect
from offchain.chain.consensus import PoFLContract
from offchain.store.cid import cid_from_digest
from tests.support.multihost import Cluster, IpfsNode
from tests.support.netns import BandwidthLimit, Fault, link_bytes, netns_unavailable, network

SETTINGS = ("--min-committee", "2", "--clients-per-round", "8", "--phase-seconds", "10", "--threshold", "0",
            "--no-improvement")
MINERS = 4
NOTE = ("wall-clock seconds on a shared 2-core machine (load ~10-15 from other jobs): rounds close early once every "
        "miner has acted, so they are bounded by training and fetching, not by the 10 s phases; bytes_per_round sums "
        "rx + tx of every host's link (IPFS and RPC together), so each byte crossing the bridge counts twice; "
        "revealed_model_reaches_every_host_s counts from the reveal seen on chain (polled every 0.5 s) and includes "
        "starting one reader process per host inside its namespace")


class NoFault(Fault):
    def begin(self) -> None:
        pass

    def end(self) -> None:
        pass


def wait(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if value := condition():
                return value
        except Exception:  # the chain may not answer for a moment on a busy machine
            pass
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


READ = ("import sys, urllib.request; urllib.request.urlopen(urllib.request.Request("
        "'http://127.0.0.1:5001/api/v0/cat?arg=' + sys.argv[1] + '&timeout=120s', data=b'', method='POST'), "
        "timeout=150).read()")


class RevealWatch:
    """While the rounds run: each model revealed on chain is read at once on every miner host's own node; the
    seconds from the reveal seen on chain until the last host has it, per model."""

    def __init__(self, contract: PoFLContract, nodes: list[IpfsNode], from_block: int) -> None:
        self.contract, self.nodes, self.from_block = contract, nodes, from_block
        self._stop = threading.Event()
        self._models = ThreadPoolExecutor(8)  # one a model being read (each waits for its reads)
        self._reads = ThreadPoolExecutor(8 * len(nodes))
        self._pending: list[Future[float | None]] = []
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> RevealWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def results(self) -> list[float]:
        """The seconds of every model read on every host (a model one host could not read is left out)."""
        return [t for t in (f.result() for f in self._pending) if t is not None]

    def _watch(self) -> None:
        seen: set[tuple[int, str]] = set()
        while not self._stop.wait(0.5):
            try:
                events = self.contract.events("Revealed", self.from_block)
            except Exception:  # the chain may not answer for a moment on a busy machine
                continue
            for e in events:
                key = (int(e["args"]["round"]), str(e["args"]["miner"]))
                if key not in seen:
                    seen.add(key)
                    cid = cid_from_digest(bytes(e["args"]["digest"]), e["args"]["cidKind"])
                    self._pending.append(self._models.submit(self._everywhere, cid, time.monotonic()))

    def _everywhere(self, cid: str, seen_at: float) -> float | None:
        reads = [self._reads.submit(n.host.exec, ["python3", "-c", READ, cid], 200) for n in self.nodes]
        try:
            for r in reads:
                r.result()
        except Exception:
            return None
        return round(time.monotonic() - seen_at, 3)


def run_once(limit: str | None, rounds: int) -> dict[str, object]:
    with network() as net, tempfile.TemporaryDirectory(prefix="pofl-bench-mh-") as root:
        cluster = Cluster(net, Path(root), MINERS)
        hosts = [cluster.chain, cluster.requester, *cluster.miner_hosts]
        try:
            with BandwidthLimit(hosts, limit) if limit else NoFault():
                cluster.start_chain()
                cluster.start_nodes([cluster.requester, *cluster.miner_hosts])
                address = cluster.deploy(*SETTINGS)
                for i in range(MINERS):
                    cluster.start_miner(i, "--rpc-grace", "600")
                contract = PoFLContract.attach(connect(cluster.rpc_url), address)
                wait(lambda: contract.block_count() >= 2, 900, "a first block")
                first = contract.current_phase().round
                wait(lambda: contract.current_phase().round > first, 600, "a round to start")
                start_round, start, start_bytes = contract.current_phase().round, time.monotonic(), sum(
                    link_bytes(h) for h in hosts)
                wait(lambda: contract.current_phase().round >= start_round + rounds, 300 * rounds, f"{rounds} rounds")
                seconds = time.monotonic() - start
                moved = sum(link_bytes(h) for h in hosts) - start_bytes
                # then as many rounds again with every revealed model read at once on every host (those reads
                # would count in the rounds' bytes and seconds, so they have rounds of their own)
                nodes = [cluster.nodes[h.name] for h in cluster.miner_hosts]
                watched_from = contract.current_phase().round
                with RevealWatch(contract, nodes, contract.w3.eth.block_number) as watch:
                    wait(lambda: contract.current_phase().round >= watched_from + rounds, 300 * rounds,
                         f"{rounds} more rounds")
                blocks = contract.block_count()
                reach = watch.results()
                for miner in cluster.miners:
                    miner.interrupt()
        finally:
            cluster.stop()
    return {"limit": limit or "none", "rounds": rounds, "seconds_per_round": round(seconds / rounds, 2),
            "bytes_per_round": moved // rounds, "blocks_at_end": blocks,
            "revealed_model_reaches_every_host_s": {"models": len(reach), "each": reach,
                                                   "median": round(statistics.median(reach), 3) if reach else None,
                                                   "max": max(reach, default=None)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    reason = netns_unavailable()
    if reason:
        sys.exit(f"bench/multihost.py {reason}")
    runs = [run_once(limit, args.rounds) for limit in (None, "10mbit")]
    emit({"benchmark": "multihost", "miner_hosts": MINERS, "phase_seconds": 10, "settings": list(SETTINGS),
          "load_average_1m_at_end": os.getloadavg()[0], "cpus": os.cpu_count(), "runs": runs,
          "note": NOTE},
         args.out)


if __name__ == "__main__":
    main()
