"""Child server processes that never outlive their owner.

A :class:`ManagedProcess` starts a server in its own process group, asks the kernel to
signal it when this Python process dies (``PR_SET_PDEATHSIG``, Linux), registers an
``atexit`` hook and SIGTERM/SIGHUP handlers, and stops it by its own PID: SIGTERM first,
then SIGKILL. Launchers for Anvil, Hardhat and js-ipfs build on it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO

from offchain.errors import LauncherError, PortInUseError

_PR_SET_PDEATHSIG = 1
_live: weakref.WeakSet[ManagedProcess] = weakref.WeakSet()
_handlers_installed = False
_handlers_lock = threading.Lock()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_all(procs: Iterable[ManagedProcess] | None = None, grace: float = 5.0) -> None:
    """Stop ``procs`` (default: every live one this process started) together: SIGTERM to every process group
    first, then one shared wait of ``grace`` seconds, then SIGKILL to what is left. Bounded by about twice
    ``grace`` whatever the children do."""
    procs = list(_live if procs is None else procs)
    for proc in procs:
        proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        proc.stop(grace=max(0.0, deadline - time.monotonic()))


def _stop_all() -> None:
    stop_all()


def _on_signal(signum: int, _frame: object) -> None:
    _stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    global _handlers_installed
    with _handlers_lock:
        if _handlers_installed:
            return
        atexit.register(_stop_all)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                if signal.getsignal(sig) in (signal.SIG_DFL, None):
                    signal.signal(sig, _on_signal)
        _handlers_installed = True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ensure_port_free(host: str, port: int, what: str) -> None:
    """Raise :class:`PortInUseError` if ``host:port`` cannot be bound by a server.

    The probe sets SO_REUSEADDR, as servers do (Anvil, Node): a port that only has connections in
    TIME-WAIT left from a server stopped a moment ago is free for a new one; a port something listens
    on is not."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUseError(
                f"cannot start {what}: port {port} on {host} is already in use ({exc.strerror}); "
                f"stop whatever listens there or choose another port (port 0 picks a free one)"
            ) from None


class ManagedProcess:
    """One server child process, owned by this Python process."""

    def __init__(self, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None,
                 cwd: str | Path | None = None, log_path: Path | None = None, append_log: bool = False) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.env = env
        self.cwd = cwd
        self.log_path = log_path
        self.append_log = append_log
        self._popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> ManagedProcess:
        _install_handlers()
        self._log = open(self.log_path, "ab" if self.append_log else "wb") if self.log_path else None  # noqa: SIM115
        self._popen = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        _live.add(self)
        return self

    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode if self._popen is not None else None

    def log_tail(self, chars: int = 2000) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[-chars:].decode(errors="replace")

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``ready`` until it is true; raise with the log tail if the child dies or time runs out."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            if not self.alive():
                code = self._popen.returncode if self._popen else None
                raise LauncherError(f"{self.name} exited with code {code} before {what}.\n{self.log_tail()}")
            with contextlib.suppress(Exception):
                if ready():
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise LauncherError(f"{self.name} did not get {what} within {timeout:.0f} s.\n{self.log_tail()}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def terminate(self) -> None:
        """Send SIGTERM to the child's process group (without waiting)."""
        popen = self._popen
        if popen is not None and popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGTERM)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the child's process group, wait ``grace`` seconds, then SIGKILL it."""
        self.terminate()
        popen, self._popen = self._popen, None
        _live.discard(self)
        if popen is not None and popen.poll() is None:
            try:
                popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGKILL)
                popen.wait(timeout=5.0)
        if self._log is not None:
            self._log.close()
            self._log = None


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().split(") ", 1)[1][0] != "Z"
    return True
