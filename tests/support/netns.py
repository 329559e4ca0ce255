"""Separate hosts on one machine: Linux network namespaces joined by a bridge, made and removed by a test.

    with Network.create() as net:                       # a bridge in the root namespace, a fresh 10.231.X.0/24
        chain = net.add_host("chain")                     # a namespace with one veth link to the bridge
        chain.popen(["anvil", "--host", chain.address])   # runs inside the namespace
        with Partition(chain):                            # its link is down meanwhile
            ...

Every address lives on the bridge or inside the namespaces: nothing is routed off the machine (the
namespaces have no default route). The root namespace holds the bridge's address, so the test process
reaches a host's services directly. Names carry the owning process's PID (``pofl<PID>-<host>``); a session
first removes what a dead owner left (:func:`sweep_stale`). Needs root and ``ip``/``tc``/``ss`` (iproute2);
:func:`netns_unavailable` says why not, for a skip.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

from offchain.servers.process import pid_alive

PREFIX = "pofl"
SUBNET = "10.231"  # 10.231.X.0/24, X free on this machine
_LOCK = Path("/tmp/pofl-netns.lock")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def netns_unavailable() -> str | None:
    """Why this machine cannot host the namespaces (not root, no ``ip``/``tc``, namespaces refused), or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and veth links)"
    for tool in ("ip", "tc", "ss"):
        if shutil.which(tool) is None:
            return f"needs `{tool}` (iproute2)"
    probe = f"{PREFIX}{os.getpid()}-probe"
    made = _ip("netns", "add", probe, check=False)
    _ip("netns", "del", probe, check=False)
    if made.returncode != 0:
        return f"network namespaces unavailable: {made.stderr.strip()}"
    return None


def kill_inside(namespace: str) -> None:
    """SIGKILL every process still running inside ``namespace`` (a namespace outlives its name while one does)."""
    for pid in _ip("netns", "pids", namespace, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def sweep_stale() -> list[str]:
    """Delete the namespaces (and whatever still runs in them) and the bridges of owners that are no longer
    alive; return their names."""
    gone = []
    names = [line.split()[0] for line in _ip("netns", "list").stdout.splitlines() if line.strip()]
    links = re.findall(r"^\d+: ([^:@]+)", _ip("-o", "link", "show").stdout, re.MULTILINE)
    for name in [*names, *links]:
        match = re.match(rf"^{PREFIX}(\d+)[-b]", name)
        if match and not pid_alive(int(match.group(1))):
            if name in names:
                kill_inside(name)
                _ip("netns", "del", name, check=False)
            else:
                _ip("link", "del", name, check=False)
            gone.append(name)
    return gone


class Host:
    """One namespace: loopback up, one veth link ``eth0`` on the bridge with ``address``/24.

    Parameters:
        network: the :class:`Network` it joins.
        name: a short name (the namespace is ``pofl<PID>-<name>``).
        address: its IPv4 address on the network.
        index: its number on the network (names its veth link).
    """

    def __init__(self, network: Network, name: str, address: str, index: int) -> None:
        self.network = network
        self.name = name
        self.address = address
        self.namespace = f"{network.prefix}-{name}"
        self.bridge_port = f"{network.prefix}v{index}"  # the link's end on the bridge (<= 15 chars)
        _ip("netns", "add", self.namespace)
        _ip("link", "add", self.bridge_port, "type", "veth", "peer", "name", f"{network.prefix}c{index}")
        _ip("link", "set", f"{network.prefix}c{index}", "netns", self.namespace)
        _ip("link", "set", self.bridge_port, "master", network.bridge, "up")
        self.exec(["ip", "link", "set", "lo", "up"])
        self.exec(["ip", "link", "set", f"{network.prefix}c{index}", "name", "eth0"])
        self.exec(["ip", "addr", "add", f"{address}/24", "dev", "eth0"])
        self.exec(["ip", "link", "set", "eth0", "up"])

    def argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` as run inside this host."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def exec(self, argv: Sequence[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self.argv(argv), capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} in {self.namespace} failed: {done.stderr.strip()}")
        return done

    def popen(self, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[str]:
        """A process inside this host (keyword arguments as :class:`subprocess.Popen`'s)."""
        return subprocess.Popen(self.argv(argv), text=True, **kwargs)  # type: ignore[call-overload,no-any-return]

    def set_link(self, up: bool) -> None:
        """Bring this host's link to the bridge up or down (down: it reaches no other host, nor they it)."""
        _ip("link", "set", self.bridge_port, "up" if up else "down")

    def delete(self) -> None:
        """Kill what still runs here, then remove the link and the namespace."""
        kill_inside(self.namespace)
        _ip("link", "del", self.bridge_port, check=False)
        _ip("netns", "del", self.namespace, check=False)


class Network:
    """A bridge ``pofl<PID>b<X>`` in the root namespace with ``10.231.X.1/24`` and the :class:`Host` s on it.

    Use :meth:`create`; :meth:`close` (or leaving the ``with`` block) deletes every host and the bridge."""

    def __init__(self, subnet: int) -> None:
        self.prefix = f"{PREFIX}{os.getpid()}"
        self.subnet = subnet
        self.bridge = f"{self.prefix}b{subnet}"
        self.gateway = f"{SUBNET}.{subnet}.1"
        self.hosts: dict[str, Host] = {}

    @classmethod
    def create(cls) -> Network:
        """Sweep stale namespaces, then make a bridge on a 10.231.X.0/24 no route of this machine uses."""
        with _LOCK.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            sweep_stale()
            routes = _ip("-4", "route", "show").stdout
            free = next(x for x in range(1, 255) if f"{SUBNET}.{x}." not in routes)
            network = cls(free)
            _ip("link", "add", network.bridge, "type", "bridge")
            _ip("addr", "add", f"{network.gateway}/24", "dev", network.bridge)
            _ip("link", "set", network.bridge, "up")
        return network

    def add_host(self, name: str) -> Host:
        index = len(self.hosts) + 2
        host = Host(self, name, f"{SUBNET}.{self.subnet}.{index}", index)
        self.hosts[name] = host
        return host

    def close(self) -> None:
        for host in self.hosts.values():
            host.delete()
        _ip("link", "del", self.bridge, check=False)

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Fault:
    """A fault that holds while its ``with`` block runs (and is undone even if the block raises)."""

    def begin(self) -> None:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Fault:
        self.begin()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.end()


class Partition(Fault):
    """The hosts' links are down: they reach nobody and nobody reaches them.

    Parameters:
        hosts: the hosts cut off.
        drop_connections: make a short cut do what a partition of minutes does: end every TCP connection
            between them and the rest of the network at once, on both ends (``ss -K``, the kernel's socket
            destroy: the reset it sends is lost on the downed link), and fail every dial across the cut while it
            lasts (unreachable routes, both sides) as dials time out in a long partition. A short cut alone leaves
            the connections open (TCP outlives it), and a dial made during it lands once healed (SYN retries):
            with this, whatever must dial again once healed (an IPFS node's peers, a miner's chain RPC) has to.
            The hosts' own loopback connections are kept.
    """

    def __init__(self, *hosts: Host, drop_connections: bool = False) -> None:
        self.hosts = hosts
        self.drop_connections = drop_connections

    def begin(self) -> None:
        for host in self.hosts:
            host.set_link(False)
        if self.drop_connections:
            self._routes("add")
            for host in self.hosts:
                host.exec(["ss", "-K", "-t", "src", host.address])
                for other in self._others():
                    other.exec(["ss", "-K", "-t", "dst", host.address])
                # the root namespace too: the bridge's own services (a test's proxies) talk to the hosts
                subprocess.run(["ss", "-K", "-t", "dst", host.address], capture_output=True, check=True, timeout=30)

    def _others(self) -> list[Host]:
        return [h for h in self.hosts[0].network.hosts.values() if h not in self.hosts]

    def _routes(self, action: str) -> None:
        """``add`` (or ``del``) an unreachable route to every address across the cut, on both sides: a dial made
        while it lasts fails at once, as every dial fails (by timeout) in a partition of minutes, instead of
        waiting in SYN retries that a short cut outlives."""
        gateway = self.hosts[0].network.gateway
        for host in self.hosts:
            for address in [gateway, *(h.address for h in self._others())]:
                host.exec(["ip", "route", action, "unreachable", f"{address}/32"])
            for other in self._others():
                other.exec(["ip", "route", action, "unreachable", f"{host.address}/32"])
            subprocess.run(["ip", "route", action, "unreachable", f"{host.address}/32"], capture_output=True,
                           check=True, timeout=30)

    def end(self) -> None:
        if self.drop_connections:
            self._routes("del")
        for host in self.hosts:
            host.set_link(True)


class BandwidthLimit(Fault):
    """Every byte a host sends or receives passes a token bucket of ``rate`` (tc's ``tbf``, e.g. ``10mbit``)
    on each end of its link."""

    def __init__(self, hosts: Sequence[Host], rate: str) -> None:
        self.hosts = list(hosts)
        self.rate = rate

    def _tbf(self) -> list[str]:
        return ["tbf", "rate", self.rate, "burst", "32kb", "latency", "400ms"]

    def begin(self) -> None:
        for host in self.hosts:
            host.exec(["tc", "qdisc", "replace", "dev", "eth0", "root", *self._tbf()])
            subprocess.run(["tc", "qdisc", "replace", "dev", host.bridge_port, "root", *self._tbf()], check=True,
                           capture_output=True, timeout=30)

    def end(self) -> None:
        for host in self.hosts:
            with contextlib.suppress(RuntimeError):
                host.exec(["tc", "qdisc", "del", "dev", "eth0", "root"])
            subprocess.run(["tc", "qdisc", "del", "dev", host.bridge_port, "root"], capture_output=True, timeout=30,
                           check=False)


def link_bytes(host: Host) -> int:
    """Bytes sent plus received on the host's link since it was made."""
    stats = host.exec(["cat", "/sys/class/net/eth0/statistics/rx_bytes", "/sys/class/net/eth0/statistics/tx_bytes"])
    return sum(int(v) for v in stats.stdout.split())


@contextlib.contextmanager
def network() -> Iterator[Network]:
    """A fresh :class:`Network`, closed on exit."""
    net = Network.create()
    try:
        yield net
    finally:
        net.close()


def wait_reachable(host: Host, address: str, port: int, timeout: float = 30.0) -> None:
    """Until ``address:port`` accepts a TCP connection from inside ``host``."""
    probe = f"import socket; socket.create_connection(({address!r}, {port}), timeout=1).close()"
    deadline = time.monotonic() + timeout
    while subprocess.run(host.argv(["python3", "-c", probe]), capture_output=True, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{address}:{port} unreachable from {host.namespace} after {timeout:.0f} s")
        time.sleep(0.3)
