"""A local IPFS node (js-ipfs from node_modules) for tests and for users without Kubo.

The node gets a fresh repository in a temporary directory, listens on loopback only,
runs ``--offline`` with no bootstrap peers and no swarm addresses, and is stopped by
its PID. Its Kubo-compatible RPC API address is read from the repository's ``api`` file.

    with start_ipfs_daemon() as node:
        client = ipfshttpclient.Client(node.api_multiaddr)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from offchain.errors import LauncherError, ToolNotFoundError
from offchain.paths import NODE_MODULES, SETUP_HINT, which_or_none
from offchain.servers.devnet import LOOPBACK
from offchain.servers.process import ManagedProcess, ensure_port_free


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


@dataclass
class IpfsDaemon:
    """A running js-ipfs node."""

    repo: Path
    api_multiaddr: str
    process: ManagedProcess = field(repr=False)
    owns_repo: bool = True

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def log_path(self) -> Path | None:
        return self.process.log_path

    def stop(self) -> None:
        self.process.stop()
        if self.owns_repo:
            shutil.rmtree(self.repo, ignore_errors=True)


def _configure(repo: Path, api_port: int) -> None:
    config_path = repo / "config"
    config = json.loads(config_path.read_text())
    addresses = config.setdefault("Addresses", {})
    addresses.update(Swarm=[], Announce=[], API=f"/ip4/{LOOPBACK}/tcp/{api_port}",
                     Gateway=f"/ip4/{LOOPBACK}/tcp/0", RPC=f"/ip4/{LOOPBACK}/tcp/0", Delegates=[])
    config["Bootstrap"] = []
    config.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
    config_path.write_text(json.dumps(config, indent=2))


def launch_ipfs_daemon(*, api_port: int = 0, repo: Path | None = None, ready_timeout: float = 60.0) -> IpfsDaemon:
    """Init a repository (if ``repo`` has none) and start ``jsipfs daemon --offline`` on it."""
    if api_port:
        ensure_port_free(LOOPBACK, api_port, "the IPFS daemon")
    argv = [_node(), str(jsipfs_cli())]
    owns_repo = repo is None
    repo = Path(repo or tempfile.mkdtemp(prefix="pofl-ipfs-"))
    env = dict(os.environ, IPFS_PATH=str(repo))
    if not (repo / "config").exists():
        init = subprocess.run([*argv, "init", "--profile", "test", "--empty-repo"], env=env,
                              capture_output=True, text=True, timeout=ready_timeout)
        if init.returncode != 0:
            raise LauncherError(f"jsipfs init in {repo} failed:\n{init.stdout}{init.stderr}")
    _configure(repo, api_port)
    (repo / "api").unlink(missing_ok=True)
    proc = ManagedProcess("js-ipfs", [*argv, "daemon", "--offline"], env=env, log_path=repo / "daemon.log")
    proc.start()
    proc.wait_until(lambda: "Daemon is ready" in proc.log_tail(4000) and (repo / "api").exists(),
                    ready_timeout, "its RPC API ready")
    return IpfsDaemon(repo, (repo / "api").read_text().strip(), proc, owns_repo)


@contextmanager
def start_ipfs_daemon(**kwargs: object) -> Iterator[IpfsDaemon]:
    """Context manager around :func:`launch_ipfs_daemon` that always stops the node."""
    daemon = launch_ipfs_daemon(**kwargs)  # type: ignore[arg-type]
    try:
        yield daemon
    finally:
        daemon.stop()
