#!/usr/bin/env python3
"""Miners on separate hosts, as JSON: seconds a round and bytes moved a round with 4 miner hosts (each with its own
js-ipfs node, the chain and the requester on hosts of their own: Linux network namespaces, see
tests/support/netns.py), with every link free and limited to 10 Mbit/s; and the time a model-sized block put on
one host's node takes to reach every other host (each fetching it from its own node, by bitswap).

    sudo .venv/bin/python bench/multihost.py [--rounds 3] [--out bench/results/multihost.json]

Needs root (network namespaces). Rounds are timed by the wall clock between round changes on the chain, after a
first block; bytes are what crossed every host's link (IPFS and the chain's RPC together), per round.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import emit
from offchain.chain.connect import connect
from offchain.chain.consensus import PoFLContract
from tests.support.multihost import Cluster, IpfsNode
from tests.support.netns import BandwidthLimit, Fault, link_bytes, netns_unavailable, network

SETTINGS = ("--min-committee", "2", "--clients-per-round", "8", "--phase-seconds", "10", "--threshold", "0",
            "--no-improvement")
MINERS = 4
NOTE = ("wall-clock seconds on a shared 2-core machine (load ~10-15 from other jobs): rounds close early once every "
        "miner has acted, so they are bounded by training and fetching, not by the 10 s phases; bytes_per_round sums "
        "rx + tx of every host's link (IPFS and RPC together), so each byte crossing the bridge counts twice; "
        "model_reaches_every_host_s includes starting one reader process per host inside its namespace")


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


def propagation(nodes: list[IpfsNode], size: int, repeats: int) -> list[float]:
    """Seconds until a ``size``-byte block put on one node is read on every other one (each its own read)."""
    script = ("import sys, urllib.request; urllib.request.urlopen(urllib.request.Request("
              "'http://127.0.0.1:5001/api/v0/cat?arg=' + sys.argv[1] + '&timeout=120s', data=b'', method='POST'), "
              "timeout=150).read()")
    times = []
    for r in range(repeats):
        source, others = nodes[r % len(nodes)], [n for i, n in enumerate(nodes) if i != r % len(nodes)]
        blob = source.folder / f"blob-{r}"
        blob.write_bytes(os.urandom(size))
        put = source.host.exec([sys.executable, "-c", "import sys; from offchain.store.ipfs import IpfsStore; "
                                "print(IpfsStore().put(open(sys.argv[1], 'rb').read()))", str(blob)]).stdout
        argv = ["python3", "-c", script, put.strip()]
        start = time.monotonic()
        with ThreadPoolExecutor(len(others)) as pool:
            list(pool.map(lambda n, argv=argv: n.host.exec(argv, timeout=200), others))
        times.append(round(time.monotonic() - start, 3))
    return times


def run_once(limit: str | None, rounds: int, model_bytes: int) -> dict[str, object]:
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
                blocks = contract.block_count()
                for miner in cluster.miners:
                    miner.interrupt()
                reach = propagation([cluster.nodes[h.name] for h in cluster.miner_hosts], model_bytes, 3)
        finally:
            cluster.stop()
    return {"limit": limit or "none", "rounds": rounds, "seconds_per_round": round(seconds / rounds, 2),
            "bytes_per_round": moved // rounds, "blocks_at_end": blocks,
            "model_reaches_every_host_s": {"runs": reach, "median": statistics.median(reach)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model-bytes", type=int, default=436_000, help="size of the block put for propagation "
                        "(default: a SimpleNet model's, as pinned)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    reason = netns_unavailable()
    if reason:
        sys.exit(f"bench/multihost.py {reason}")
    runs = [run_once(limit, args.rounds, args.model_bytes) for limit in (None, "10mbit")]
    emit({"benchmark": "multihost", "miner_hosts": MINERS, "phase_seconds": 10, "settings": list(SETTINGS),
          "load_average_1m_at_end": os.getloadavg()[0], "cpus": os.cpu_count(), "runs": runs,
          "note": NOTE},
         args.out)


if __name__ == "__main__":
    main()
