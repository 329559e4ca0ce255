"""A PoFL run spread over separate hosts (network namespaces, tests/support/netns.py), each started with the
`pofl` commands a user types on a machine of their own: `pofl devnet --host` on the chain host, `pofl ipfs
--listen --peer` on every other host, `pofl deploy` on the requester's host, `pofl miner` on each miner host
(each in a working directory of its own, given a copy of the deployment record, as one copies it to another
machine), `pofl verify` on a fresh host with a node of its own."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from offchain.chain.accounts import dev_key
from offchain.chain.consensus import PoFLContract
from offchain.chain.types import PenaltyReason
from offchain.servers.ipfs import init_repo
from tests.support.netns import Host, Network, Partition, netns_unavailable
from tests.support.netproxy import FlakyProxy
from tests.support.terminal import Terminal, pofl

RPC_PORT = 8545
SWARM_PORT = 4001
API = "/ip4/127.0.0.1/tcp/5001/http"  # each host's own node, on its own loopback


class IpfsNode:
    """`pofl ipfs --listen` on one host, its repository made first (:meth:`init`, so its address is known before
    it starts), then :meth:`start` ed with ``peers``; restartable on the same repository (same id and address)."""

    def __init__(self, host: Host, folder: Path) -> None:
        self.host = host
        self.folder = folder
        self.peers: list[str] = []
        self.address = ""
        self.terminal: Terminal | None = None

    def init(self) -> str:
        """Make the repository; the node's swarm address (``/ip4/HOST/tcp/4001/p2p/ID``)."""
        peer_id = init_repo(self.folder / "ipfs", timeout=180)
        self.address = f"/ip4/{self.host.address}/tcp/{SWARM_PORT}/p2p/{peer_id}"
        return self.address

    def start(self, peers: list[str]) -> Terminal:
        """`pofl ipfs` (not waiting for it: :meth:`ready`)."""
        self.peers = peers
        args = ["ipfs", "--port", "5001", "--repo", str(self.folder / "ipfs"), "--listen",
                f"/ip4/{self.host.address}/tcp/{SWARM_PORT}"]
        for peer in peers:
            args += ["--peer", peer]
        self.terminal = Terminal(*args, cwd=self.folder, wrap=self.host.argv([]), log=self.folder / "ipfs.log")
        return self.terminal

    def ready(self, timeout: float = 240) -> None:
        assert self.terminal is not None
        assert self.terminal.expect(r"swarm address (\S+)", timeout)[1] == self.address

    def rpc(self, command: str, timeout: float = 60.0) -> dict:
        """One call to this node's RPC API, made on its host (tried again for ``timeout`` seconds while the node
        does not answer: `pofl ipfs` may be restarting it)."""
        script = ("import json, sys, urllib.request; r = urllib.request.urlopen(urllib.request.Request("
                  f"'http://127.0.0.1:5001/api/v0/{command}', data=b'', method='POST'), timeout=20); "
                  "sys.stdout.write(r.read().decode())")
        deadline = time.monotonic() + timeout
        while True:
            try:
                return json.loads(self.host.exec(["python3", "-c", script]).stdout)
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def kill(self) -> None:
        """SIGKILL `pofl ipfs` (its js-ipfs dies with it)."""
        assert self.terminal is not None
        self.terminal.proc.send_signal(signal.SIGKILL)
        self.terminal.proc.wait(30)

    def restart(self) -> None:
        self.start(self.peers)
        self.ready()


class Cluster:
    """The hosts of one run: ``chain``, ``requester``, ``miner0..`` and the processes on them.

    Parameters:
        net: the network the hosts join.
        root: a folder; each host works in ``root/<host name>``.
        miners: how many miner hosts.
    """

    def __init__(self, net: Network, root: Path, miners: int) -> None:
        self.net = net
        self.root = root
        self.chain = net.add_host("chain")
        self.requester = net.add_host("req")
        self.miner_hosts = [net.add_host(f"m{i}") for i in range(miners)]
        self.rpc_url = f"http://{self.chain.address}:{RPC_PORT}"
        self.nodes: dict[str, IpfsNode] = {}
        self.miners: list[Terminal] = []
        self.requester_bot: Terminal | None = None
        self.devnet: Terminal | None = None
        self.deployer = self.requester
        self.address = ""
        self.proxies: list[FlakyProxy] = []

    def folder(self, host: Host) -> Path:
        path = self.root / host.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def env(self, **extra: str) -> dict[str, str]:
        return {"POFL_RPC_URL": self.rpc_url, "POFL_IPFS_API": API, **extra}

    def delayed_rpc(self, delay: float) -> str:
        """A URL of the chain's RPC that any host reaches through ``delay`` seconds of one-way latency: a
        :class:`FlakyProxy` listening on the bridge's address (this kernel has no netem). A host whose link is
        down (a :class:`Partition`) reaches it no more than the chain itself."""
        proxy = FlakyProxy(self.chain.address, RPC_PORT, delay=delay, listen=self.net.gateway)
        self.proxies.append(proxy)
        return proxy.url

    def start_chain(self) -> None:
        self.devnet = Terminal("devnet", "--host", self.chain.address, "--port", str(RPC_PORT), "--accounts",
                               str(len(self.miner_hosts) + 2), cwd=self.folder(self.chain),
                               wrap=self.chain.argv([]), log=self.folder(self.chain) / "devnet.log")
        self.devnet.expect(r"Listening on http://\S+", 90)

    def start_nodes(self, hosts: list[Host]) -> None:
        """A node on each of ``hosts``, all made and started at once, each given every other node of the cluster
        (those started before too) as its peers."""
        nodes = [IpfsNode(host, self.folder(host)) for host in hosts]
        with ThreadPoolExecutor(len(nodes)) as pool:
            list(pool.map(IpfsNode.init, nodes))
        self.nodes.update({node.host.name: node for node in nodes})
        for node in nodes:
            node.start([n.address for n in self.nodes.values() if n is not node])
        for node in nodes:
            node.ready()

    def deploy(self, *settings: str, host: Host | None = None) -> str:
        """`pofl deploy` on ``host`` (default: the requester's host; its node must be up: it keeps the genesis
        model); returns the contract's address. (A chain on another host is not a local devnet to `pofl`: every
        command that sends a transaction is given its key, and miners stake with --register.)"""
        self.deployer = host or self.requester
        done = pofl("deploy", "--miners", str(len(self.miner_hosts)), *settings, cwd=self.folder(self.deployer),
                    env=self.env(POFL_KEY=dev_key(0)), wrap=self.deployer.argv([]), timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        self.address = done.stdout.split("deployed PoFLConsensus at ")[1].split()[0]
        return self.address

    def copy_record(self, host: Host) -> None:
        """The deployment record, copied to ``host`` as to another machine."""
        if host is not self.deployer:
            shutil.copytree(self.folder(self.deployer) / "deployments", self.folder(host) / "deployments",
                            dirs_exist_ok=True)

    def start_requester(self, keys: str, *options: str) -> Terminal:
        """`pofl requester --keys KEYS` on the requester's host (a hold-out task's bot: it reveals each round's
        shard key; the sealed shards are on its host's node, which `pofl deploy --holdout` put them into)."""
        self.requester_bot = Terminal("requester", "--keys", keys, *options, cwd=self.folder(self.requester),
                                      env=self.env(POFL_KEY=dev_key(0)), wrap=self.requester.argv([]),
                                      log=self.folder(self.requester) / "requester.log")
        return self.requester_bot

    def start_miner(self, i: int, *options: str, rpc_url: str | None = None) -> Terminal:
        """`pofl miner` on miner host ``i`` (``rpc_url``: the chain's RPC as it reaches it, e.g.
        :meth:`delayed_rpc`; default the chain host's own)."""
        host = self.miner_hosts[i]
        self.copy_record(host)
        n = len(self.miner_hosts)
        miner = Terminal("miner", "--clients", f"{i}/{n}", "--register", *options, cwd=self.folder(host),
                         env=self.env(POFL_KEY=dev_key(i + 1), POFL_RPC_URL=rpc_url or self.rpc_url),
                         wrap=host.argv([]),
                         log=self.folder(host) / "miner.log")
        self.miners.append(miner)
        return miner

    def verify_on(self, host: Host) -> tuple[int, str]:
        """`pofl verify --json` on ``host`` (with its own node, peered with the others)."""
        self.copy_record(host)
        done = pofl("verify", "--json", "--ipfs-timeout", "60", cwd=self.folder(host), env=self.env(),
                    wrap=host.argv([]), timeout=600)
        return done.returncode, done.stdout + done.stderr

    def stop_miners(self) -> list[int]:
        """Ctrl-C every miner (those already stopped too); their exit statuses."""
        return [m.interrupt() for m in self.miners]

    def stop(self) -> list[int]:
        """Ctrl-C every process (what each printed is in ``<its host's folder>/<command>.log``); the miners'
        exit statuses."""
        codes = self.stop_miners()
        if self.requester_bot is not None:
            self.requester_bot.interrupt()
        for node in self.nodes.values():
            if node.terminal is not None:
                node.terminal.interrupt()
        if self.devnet is not None:
            self.devnet.interrupt()
        for proxy in self.proxies:
            proxy.close()
        return codes

    def assert_miners_exited_cleanly(self, codes: list[int]) -> None:
        """No miner printed a traceback, and each ended as Ctrl-C ends it (status 0 or 130); ``codes`` from
        :meth:`stop`."""
        for i, miner in enumerate(self.miners):
            assert "Traceback" not in "\n".join(miner.output()), (i, miner.output()[-30:])
        assert all(code in (0, 130) for code in codes), codes


def require_netns() -> None:
    """Skip (with the reason) where this machine cannot host network namespaces; fail instead where
    POFL_REQUIRE_NETNS=1 (CI, which runs as root)."""
    reason = netns_unavailable()
    if reason is not None:
        if os.environ.get("POFL_REQUIRE_NETNS") == "1":
            pytest.fail(f"POFL_REQUIRE_NETNS=1 but {reason}")
        pytest.skip(reason)


def until(condition: Callable[[], Any], timeout: float, what: str, cluster: Cluster) -> Any:
    """Poll ``condition`` (RPC errors count as not yet) until true; fail if a miner exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [i for i, m in enumerate(cluster.miners) if m.proc.poll() is not None]
        assert not dead, f"miners {dead} exited while waiting for {what}: " + "\n".join(
            cluster.miners[dead[0]].output()[-30:])
        try:
            value = condition()
        except Exception:  # the chain's link may be down for a while
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def adopted_since(miner: Terminal, height: int) -> bool:
    """Whether ``miner`` has logged adopting a block at ``height`` or above."""
    return any(int(m[1]) >= height for line in miner.output() if (m := re.search(r"adopted block (\d+) ", line)))


def partition_and_heal(cluster: Cluster, contract: PoFLContract, i: int, timeout: float) -> tuple[int, int]:
    """Miner host ``i``'s link down, its connections ended (as a long partition ends them), until two rounds and
    two blocks have passed without it (the connected miners must make them), then up again; then until its
    miner has adopted a block made while it was cut off, which its node can only have fetched from its peers by
    bitswap (that model exists only on the other hosts' nodes), and its node's bitswap counters show the data it
    received. Each wait fails after ``timeout`` seconds or as soon as a miner exits. Returns the rounds the link
    went down and came up in."""
    node = cluster.nodes[cluster.miner_hosts[i].name]
    received_before = int(node.rpc("bitswap/stat")["DataReceived"])
    # its TCP connections end with the link, on both ends, as a partition of minutes ends them: healed, its node
    # meets its peers again only by dialling them (`pofl ipfs`'s PeerKeeper; libp2p's own autodial), and its
    # miner reaches the chain over a new connection
    with Partition(cluster.miner_hosts[i], drop_connections=True):
        cut_round, cut_blocks = contract.current_phase().round, contract.block_count()
        assert not node.rpc("swarm/peers").get("Peers"), "the partitioned node still has peers"
        until(lambda: contract.current_phase().round >= cut_round + 2 and contract.block_count() >= cut_blocks + 2,
              timeout, f"two blocks without miner {i}", cluster)
        head_during = contract.latest_block()
    healed_round = contract.current_phase().round
    until(lambda: adopted_since(cluster.miners[i], head_during.height), timeout, f"miner {i} at the head", cluster)
    # (js-ipfs computes its bitswap counters at most once a second: they may trail the fetch)
    until(lambda: int(node.rpc("bitswap/stat")["DataReceived"]) > received_before, 30,
          f"miner {i}'s node to count the blocks it received", cluster)
    return cut_round, healed_round


def silent_seat_excess(penalties: Sequence[Mapping[str, Any]], committed: set[int], miss_bond: int,
                       unserved_cap: int) -> list[str]:
    """What one miner was penalized (its ``Penalized`` events' args) beyond what the contract takes from a seat
    that could not send (partitioned) or serve (its IPFS node down); empty when nothing. The rule, read off
    contracts/consensus: every penalty falls on a commitment, so only in a round it ``committed`` in; there, at
    most one ``MissedVote`` of ``missBond`` (a seat without a report sits no more that round) and, for its own
    commitment, at most one of: ``MissedReveal`` (``missBond``: not revealed) or ``UnservedClaim`` (revealed, but
    a third of its seats could not fetch the model: ``misreportPenaltyBps`` of its stake, at most
    ``unserved_cap``). A seat that could not fetch reports ``UNAVAILABLE``, never judged: no ``Misreport``; and
    no ``FalseClaim``. So a fault costs at most :func:`silent_seat_bound` a round it committed in, nothing a
    round it did not."""
    excess = []
    by_round: dict[int, list[Mapping[str, Any]]] = {}
    for p in penalties:
        by_round.setdefault(int(p["round"]), []).append(p)
    for round_id, mine in sorted(by_round.items()):
        reasons = [PenaltyReason(p["reason"]) for p in mine]
        if round_id not in committed:
            excess.append(f"round {round_id}: penalized ({reasons}) without a commitment")
        for p in mine:
            reason = PenaltyReason(p["reason"])
            cap = unserved_cap if reason == PenaltyReason.UNSERVED_CLAIM else miss_bond
            if reason not in (PenaltyReason.MISSED_VOTE, PenaltyReason.MISSED_REVEAL, PenaltyReason.UNSERVED_CLAIM):
                excess.append(f"round {round_id}: {reason.name} is not a silent seat's penalty")
            elif p["amount"] > cap:
                excess.append(f"round {round_id}: {reason.name} of {p['amount']} wei, over {cap}")
        if reasons.count(PenaltyReason.MISSED_VOTE) > 1:
            excess.append(f"round {round_id}: {reasons.count(PenaltyReason.MISSED_VOTE)} missed votes")
        if reasons.count(PenaltyReason.MISSED_REVEAL) + reasons.count(PenaltyReason.UNSERVED_CLAIM) > 1:
            excess.append(f"round {round_id}: its one commitment penalized twice ({reasons})")
    return excess


def silent_seat_bound(rounds: int, miss_bond: int, unserved_cap: int) -> int:
    """The most a seat that could not send or serve loses over ``rounds`` rounds it had committed in (see
    :func:`silent_seat_excess`): a missed vote's bond and the larger of a missed reveal's bond and an unserved
    claim's penalty, each round."""
    return rounds * (miss_bond + max(miss_bond, unserved_cap))
