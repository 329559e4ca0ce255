"""A Flower SuperLink and SuperNodes on loopback, each a child process owned by PID (tests, the benchmark, a
demonstration); a real pool's SuperNodes are started by their data owners (docs/flower.md).

Both run Flower's own commands from this interpreter's environment (``flower-superlink``, ``flower-supernode``;
a SuperNode starts ``flower-superexec`` and, per message, ``flwr-clientapp`` from the same ``PATH``), offline:
no telemetry, no update check, no dependency installation, Flower's home in a folder of their own, and the
SuperExec polling for tasks every 0.1 s instead of every second.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from offchain.errors import ToolNotFoundError
from offchain.flower import INSTALL_HINT
from offchain.flower.address import SuperLinkAddress
from offchain.servers.process import ManagedProcess, ensure_port_free, free_port

LOOPBACK = "127.0.0.1"


def _command(name: str) -> str:
    found = Path(sys.executable).parent / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        raise ToolNotFoundError(f"`{name}` is not installed: {INSTALL_HINT}")
    return on_path


def flower_env(home: Path) -> dict[str, str]:
    """The environment of a Flower server process: offline, quiet, its home in ``home``."""
    bin_dir = str(Path(sys.executable).parent)
    return dict(os.environ, FLWR_HOME=str(home), FLWR_TELEMETRY_ENABLED="0", FLWR_DISABLE_UPDATE_CHECK="1",
                FLWR_SUPEREXEC_TASK_POLL_INTERVAL="0.1", PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))


@dataclass
class SuperLink:
    """A running SuperLink (``--isolation process``: the miner process is its ServerApp)."""

    address: SuperLinkAddress
    home: Path
    process: ManagedProcess = field(repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class SuperNode:
    """A running SuperNode, client ``partition`` of the run."""

    partition: int
    home: Path
    process: ManagedProcess = field(repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the node and everything it started (its SuperExec, a ClientApp in flight): a node that dies."""
        pid = self.process.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.process.stop()

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def _listening(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def launch_superlink(*, port: int = 0, isolation: str = "process", ready_timeout: float = 60.0) -> SuperLink:
    """``flower-superlink --insecure --isolation process`` on loopback ``port`` (0: a free one); ``isolation``
    ``subprocess`` (Flower's default: it runs ServerApps itself) only to show that a miner refuses such a one."""
    if port:
        ensure_port_free(LOOPBACK, port, "the Flower SuperLink")
    port = port or free_port(LOOPBACK)
    home = Path(tempfile.mkdtemp(prefix="pofl-superlink-"))
    argv = [_command("flower-superlink"), "--insecure", "--isolation", isolation,
            "--disable-runtime-dependency-installation", "--host", LOOPBACK, "--port", str(port)]
    proc = ManagedProcess("flower-superlink", argv, env=flower_env(home), log_path=home / "superlink.log").start()
    proc.wait_until(lambda: _listening(LOOPBACK, port), ready_timeout, f"listening on {LOOPBACK}:{port}")
    return SuperLink(SuperLinkAddress(LOOPBACK, port), home, proc)


def launch_supernode(superlink: SuperLinkAddress, partition: int, *, data_file: Path | None = None,
                     ready_timeout: float = 60.0) -> SuperNode:
    """``flower-supernode`` for client ``partition`` (its node config), connected to a loopback ``superlink``
    without TLS; its own Runtime API on a free loopback port."""
    home = Path(tempfile.mkdtemp(prefix=f"pofl-supernode-{partition}-"))
    node_config = f"partition-id={partition}" + (f' data-file="{data_file}"' if data_file else "")
    argv = [_command("flower-supernode"), "--insecure", "--superlink", str(superlink), "--node-config", node_config,
            "--host", LOOPBACK, "--port", str(free_port(LOOPBACK))]
    proc = ManagedProcess(f"flower-supernode-{partition}", argv, env=flower_env(home),
                          log_path=home / "supernode.log").start()
    proc.wait_until(lambda: "SuperNode ID" in proc.log_tail(20000), ready_timeout, "registered with the SuperLink")
    return SuperNode(partition, home, proc)
