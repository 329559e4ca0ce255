"""`pofl` processes started as a user starts them in a terminal: read their output line by line, wait for a
line, stop them with Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

POFL = [sys.executable, "-m", "offchain.cli"]


class Terminal:
    """One `pofl ...` process, its stdout and stderr read as they come."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str] | None = None, wrap: Sequence[str] = (),
                 log: Path | None = None) -> None:
        """``wrap``: a command line prefix the process runs under (``ip netns exec NAME``: on another host);
        ``log``: a file every line is also appended to as it comes (to follow a long run, or read after it)."""
        self.log = log
        base = {k: v for k, v in os.environ.items() if k != "POFL_DEPLOYMENTS"}  # ./deployments, as a user has it
        self.args = args
        self.argv = [*wrap, *POFL, *args]
        self.proc = subprocess.Popen(self.argv, cwd=cwd, env={**base, **(env or {})}, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            self.lines.put(line.rstrip("\n"))
            if self.log is not None:
                with self.log.open("a") as log:
                    log.write(line)

    def expect(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first line (from now on, or already seen) matching ``pattern``."""
        regex = re.compile(pattern)
        for line in self.seen:
            if m := regex.search(line):
                return m
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if m := regex.search(line):
                return m
        raise AssertionError(f"{' '.join(self.args)}: no line matching {pattern!r} within {timeout:.0f} s "
                             f"(exit {self.proc.poll()}):\n" + "\n".join(self.output()[-40:]))

    def output(self) -> list[str]:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C, and the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def pofl(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120.0,
         wrap: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run a `pofl` command to its end, as in a terminal (under the ``wrap`` prefix, as :class:`Terminal`)."""
    base = {k: v for k, v in os.environ.items() if k != "POFL_DEPLOYMENTS"}
    return subprocess.run([*wrap, *POFL, *args], cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)
