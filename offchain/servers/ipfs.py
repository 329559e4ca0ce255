"""A local IPFS node (js-ipfs from node_modules) for tests and for users without Kubo.

By default the node gets a fresh repository in a temporary directory, listens on loopback only,
runs ``--offline`` with no bootstrap peers and no swarm addresses, and is stopped by its PID.
Its Kubo-compatible RPC API address is read from the repository's ``api`` file.

    with start_ipfs_daemon() as node:
        client = ipfshttpclient.Client(node.api_multiaddr)

Given ``listen`` swarm multiaddrs the node runs online instead: it listens there for other IPFS
nodes, dials the ``peers`` it is given (``/ip4/HOST/tcp/PORT/p2p/PEER-ID``) and keeps redialling
any of them it is not connected to (a :class:`PeerKeeper`), so a node that lost its link or was
restarted meets its peers again; content moves between them by bitswap. Nothing else is dialled:
no public bootstrap list, no mDNS, no preload nodes. Its RPC API stays on loopback either way.

    with start_ipfs_daemon(listen=["/ip4/10.0.0.2/tcp/4001"],
                           peers=["/ip4/10.0.0.3/tcp/4001/p2p/12D3KooW..."]) as node:
        node.peer_id, node.swarm_addresses
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from offchain.errors import ConfigError, LauncherError, ToolNotFoundError
from offchain.paths import NODE_MODULES, SETUP_HINT, which_or_none
from offchain.servers.devnet import LOOPBACK
from offchain.servers.process import ManagedProcess, ensure_port_free

_IP4 = r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
_HOST = rf"(?:ip4/{_IP4}|ip6/[0-9a-fA-F:.]+|dns[46]?/[A-Za-z0-9.-]+)"
_LISTEN = re.compile(rf"^/(ip4/{_IP4}|ip6/[0-9a-fA-F:.]+)/tcp/(\d{{1,5}})$")
_PEER = re.compile(rf"^/{_HOST}/tcp/(\d{{1,5}})/(?:p2p|ipfs)/([1-9A-HJ-NP-Za-km-z]{{46,60}})$")
PEER_REDIAL_SECONDS = 5.0


def check_listen_multiaddr(text: str) -> str:
    """``text`` if it is a TCP swarm address a node can listen on (``/ip4/ADDRESS/tcp/PORT``, ``/ip6/...``;
    port 0 picks a free one); else a :class:`ConfigError` saying what to write."""
    match = _LISTEN.match(text)
    if match and int(match.group(2)) < 65536:
        return text
    hint = " (a listen address has no /p2p/ part: that is the node's own id)" if "/p2p/" in text else ""
    raise ConfigError(f"{text!r} is not a swarm address to listen on{hint}: write /ip4/ADDRESS/tcp/PORT, "
                      f"e.g. /ip4/0.0.0.0/tcp/4001 (all interfaces) or /ip4/10.0.0.2/tcp/4001")


def check_peer_multiaddr(text: str) -> str:
    """``text`` if it is a peer's dialable address with its id (``/ip4/HOST/tcp/PORT/p2p/PEER-ID``; ``/ip6/``,
    ``/dns4/``, ``/dns6/`` hosts too); else a :class:`ConfigError` saying what to write."""
    match = _PEER.match(text)
    if match and 0 < int(match.group(1)) < 65536:
        return text
    why = ("it has no /p2p/PEER-ID part (`pofl ipfs` prints the peer's full address)"
           if "/p2p/" not in text and "/ipfs/" not in text else "it is malformed")
    raise ConfigError(f"{text!r} is not a peer's address: {why}; write /ip4/HOST/tcp/PORT/p2p/PEER-ID, "
                      f"e.g. /ip4/10.0.0.3/tcp/4001/p2p/12D3KooW...")


def api_url(api_multiaddr: str) -> str:
    """``http://HOST:PORT`` of an RPC API multiaddr ``/ip4/HOST/tcp/PORT/http``."""
    parts = api_multiaddr.strip("/").split("/")
    return f"http://{parts[1]}:{parts[3]}"


def _rpc(api_multiaddr: str, command: str, arg: str | None = None, timeout: float = 10.0) -> dict:
    query = f"?arg={urllib.parse.quote(arg, safe='')}" if arg is not None else ""
    req = urllib.request.Request(f"{api_url(api_multiaddr)}/api/v0/{command}{query}", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"{}")


SHIM = Path(__file__).with_name("jsipfs_shim.mjs")  # js-ipfs's CLI, alive after an abandoned bitswap want


def jsipfs_cli() -> Path:
    """The js-ipfs CLI entry point in node_modules."""
    cli = NODE_MODULES / "ipfs" / "src" / "cli.js"
    if not cli.is_file():
        raise ToolNotFoundError(f"js-ipfs not found at {cli}. Install it: {SETUP_HINT}.")
    return cli


def _node() -> str:
    node = which_or_none("node")
    if node is None:
        raise ToolNotFoundError("Node.js (`node`) is not on PATH; js-ipfs needs Node.js 20 or newer")
    return str(node)


class PeerKeeper:
    """Keeps a node connected to its ``peers``: every ``interval`` seconds, dials each one it has no connection
    to (through the node's RPC API, ``swarm/connect``). A failed dial is tried again next time; it never raises.

    Parameters:
        api_multiaddr: the node's RPC API.
        peers: the peers' full addresses (``/ip4/HOST/tcp/PORT/p2p/PEER-ID``).
        interval: seconds between two passes.
    """

    def __init__(self, api_multiaddr: str, peers: Sequence[str], interval: float = PEER_REDIAL_SECONDS) -> None:
        self.api_multiaddr = api_multiaddr
        self.peers = list(peers)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ipfs-peer-keeper", daemon=True)

    def connected(self) -> set[str]:
        """The peer ids the node has a connection to now."""
        peers = _rpc(self.api_multiaddr, "swarm/peers").get("Peers") or []
        return {str(p.get("Peer")) for p in peers}

    def dial_missing(self) -> None:
        """One pass: dial every peer the node is not connected to."""
        with contextlib.suppress(OSError, ValueError):
            have = self.connected()
            for peer in self.peers:
                if peer.rsplit("/", 1)[-1] not in have:
                    with contextlib.suppress(OSError, ValueError):
                        _rpc(self.api_multiaddr, "swarm/connect", peer, timeout=self.interval + 5)

    def _run(self) -> None:
        while True:
            self.dial_missing()
            if self._stop.wait(self.interval):
                return

    def start(self) -> PeerKeeper:
        if self.peers:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


@dataclass
class IpfsDaemon:
    """A running js-ipfs node."""

    repo: Path
    api_multiaddr: str
    process: ManagedProcess = field(repr=False)
    owns_repo: bool = True
    peer_id: str = ""
    swarm_addresses: list[str] = field(default_factory=list)  # dialable by peers, each ending /p2p/<peer_id>
    keeper: PeerKeeper | None = field(default=None, repr=False)

    @property
    def online(self) -> bool:
        return bool(self.swarm_addresses)

    def relaunch(self, ready_timeout: float = 60.0) -> IpfsDaemon:
        """Start this node again after its process exited (or stop it first): the same repository, API port and
        swarm addresses, hence the same peer id, so the peers' keepers find it again. Returns the new daemon."""
        peers = self.keeper.peers if self.keeper is not None else []
        if self.keeper is not None:
            self.keeper.stop()
        self.process.stop()
        api_port = int(self.api_multiaddr.split("/tcp/")[1].split("/")[0])
        listen = [a.split("/p2p/")[0] for a in self.swarm_addresses]
        # a js-ipfs killed without a chance to clean up leaves its repository locked; it was this node's process
        # (stopped above), so the lock is stale
        shutil.rmtree(self.repo / "repo.lock", ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (self.repo / "repo.lock").unlink()
        again = launch_ipfs_daemon(api_port=api_port, repo=self.repo, listen=listen, peers=peers,
                                   ready_timeout=ready_timeout)
        again.owns_repo = self.owns_repo
        return again

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def log_path(self) -> Path | None:
        return self.process.log_path

    def stop(self) -> None:
        if self.keeper is not None:
            self.keeper.stop()
        self.process.stop()
        if self.owns_repo:
            shutil.rmtree(self.repo, ignore_errors=True)


def _configure(repo: Path, api_port: int, listen: Sequence[str], peers: Sequence[str]) -> str:
    """Write the node's addresses into its config; return its peer id."""
    config_path = repo / "config"
    config = json.loads(config_path.read_text())
    addresses = config.setdefault("Addresses", {})
    addresses.update(Swarm=list(listen), Announce=[], API=f"/ip4/{LOOPBACK}/tcp/{api_port}",
                     Gateway=f"/ip4/{LOOPBACK}/tcp/0", RPC=f"/ip4/{LOOPBACK}/tcp/0", Delegates=[])
    config["Bootstrap"] = list(peers)
    discovery = config.setdefault("Discovery", {})
    discovery.setdefault("MDNS", {})["Enabled"] = False
    discovery.setdefault("webRTCStar", {})["Enabled"] = False
    config_path.write_text(json.dumps(config, indent=2))
    return str(config.get("Identity", {}).get("PeerID", ""))


def _swarm_addresses(api_multiaddr: str, peer_id: str, listen: Sequence[str]) -> list[str]:
    """The addresses the node listens on, as peers dial them (``.../p2p/<peer_id>``); a listen address on
    0.0.0.0 stands for each of the node's interfaces."""
    reported = [str(a) for a in _rpc(api_multiaddr, "id").get("Addresses") or []]
    mine = [a for a in reported if "/tcp/" in a and "/ws" not in a]
    if not mine:
        raise LauncherError(f"js-ipfs listens on none of {list(listen)} (it reports {reported}); check that "
                            f"these addresses are this machine's and their ports are free")
    return [a if "/p2p/" in a else f"{a}/p2p/{peer_id}" for a in mine]


def init_repo(repo: Path, timeout: float = 60.0) -> str:
    """Make a js-ipfs repository in ``repo`` unless it has one; return its peer id. (Peers can be told a node's
    address before it starts: ``/ip4/HOST/tcp/PORT/p2p/<this id>``.)"""
    if not (repo / "config").exists():
        repo.mkdir(parents=True, exist_ok=True)
        init = subprocess.run([_node(), str(jsipfs_cli()), "init", "--profile", "test", "--empty-repo"],
                              env=dict(os.environ, IPFS_PATH=str(repo)), capture_output=True, text=True,
                              timeout=timeout)
        if init.returncode != 0:
            raise LauncherError(f"jsipfs init in {repo} failed:\n{init.stdout}{init.stderr}")
    return str(json.loads((repo / "config").read_text()).get("Identity", {}).get("PeerID", ""))


def launch_ipfs_daemon(*, api_port: int = 0, repo: Path | None = None, listen: Sequence[str] = (),
                       peers: Sequence[str] = (), ready_timeout: float = 60.0) -> IpfsDaemon:
    """Init a repository (if ``repo`` has none) and start ``jsipfs daemon`` on it: ``--offline`` on loopback
    without ``listen``; else online, listening on the ``listen`` swarm multiaddrs and kept connected to
    ``peers`` (see the module's docstring). Raises :class:`ConfigError` for a malformed address."""
    listen = [check_listen_multiaddr(a) for a in listen]
    peers = [check_peer_multiaddr(p) for p in peers]
    if peers and not listen:
        raise ConfigError("peers are given but no address to listen on: an offline node meets no peer; "
                          "add a listen address, e.g. /ip4/0.0.0.0/tcp/4001")
    if api_port:
        ensure_port_free(LOOPBACK, api_port, "the IPFS daemon")
    argv = [_node(), str(SHIM), str(jsipfs_cli())]
    owns_repo = repo is None
    repo = Path(repo or tempfile.mkdtemp(prefix="pofl-ipfs-"))
    env = dict(os.environ, IPFS_PATH=str(repo))
    init_repo(repo, timeout=ready_timeout)
    peer_id = _configure(repo, api_port, listen, peers)
    (repo / "api").unlink(missing_ok=True)
    if (repo / "daemon.log").exists():  # the previous run's log, kept one generation (why did it stop?)
        (repo / "daemon.log").replace(repo / "daemon.log.1")
    mode = ["--enable-preload=false"] if listen else ["--offline"]
    proc = ManagedProcess("js-ipfs", [*argv, "daemon", *mode], env=env, log_path=repo / "daemon.log")
    proc.start()
    proc.wait_until(lambda: "Daemon is ready" in proc.log_tail(4000) and (repo / "api").exists(),
                    ready_timeout, "its RPC API ready")
    api = (repo / "api").read_text().strip()
    daemon = IpfsDaemon(repo, api, proc, owns_repo, peer_id)
    if listen:
        try:
            daemon.swarm_addresses = _swarm_addresses(api, peer_id, listen)
        except BaseException:
            daemon.stop()
            raise
        daemon.keeper = PeerKeeper(api, peers).start()
    return daemon


@contextmanager
def start_ipfs_daemon(**kwargs: object) -> Iterator[IpfsDaemon]:
    """Context manager around :func:`launch_ipfs_daemon` that always stops the node."""
    daemon = launch_ipfs_daemon(**kwargs)  # type: ignore[arg-type]
    try:
        yield daemon
    finally:
        daemon.stop()
