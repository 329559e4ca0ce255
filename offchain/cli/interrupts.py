"""Ctrl-C and SIGTERM end every ``pofl`` command the same way, whatever the shell left and wherever it is.

A shell runs a background job of a script with SIGINT ignored, and Python installs no Ctrl-C handler
in a process started so: such a ``pofl run`` would go on through every round after a Ctrl-C. So the
command line installs its own handlers for SIGINT and SIGTERM before any command runs:

- the first signal raises :class:`KeyboardInterrupt` in the main thread, whatever call it is in, so
  the command unwinds: metrics and plot written, child processes (miners, devnets, IPFS nodes) stopped;
- a second signal while it unwinds is only told ("stopping...") and never cuts the clean-up short;
- a third stops every child process at once and exits (status 130) without waiting any longer.

Python cannot raise where it is running a finalizer (``__del__``, a weakref callback): a
:class:`KeyboardInterrupt` raised there is printed as "Exception ignored in ..." and lost, and the command
would go on as if no signal had come. Such a lost first signal is therefore delivered again a moment later
(:meth:`Interrupts.unraisable`), until it lands where the command can unwind.

After the unwinding the command exits at once (:func:`exit_now`), not waiting for worker threads
that are still blocked on a slow RPC or store read.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

INTERRUPTED = 130
"""The exit status of a command ended by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)."""


class Interrupts:
    """The command line's SIGINT and SIGTERM handler (see the module docstring)."""

    redeliver_after = 0.05
    """Seconds after which a first signal lost in a finalizer is sent again."""

    def __init__(self) -> None:
        self.received = 0

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)
        self._previous_hook = sys.unraisablehook
        sys.unraisablehook = self.unraisable

    def unraisable(self, unraisable: Any) -> None:
        """``sys.unraisablehook``: a first signal's :class:`KeyboardInterrupt` that Python swallowed in a
        finalizer is sent again (not from here: raised inside this hook, it would be swallowed too)."""
        exc = unraisable.exc_value
        if isinstance(exc, KeyboardInterrupt) and self.received == 1 and exc.args and exc.args[0] in ("SIGINT",
                                                                                                     "SIGTERM"):
            self.received = 0
            signum = signal.Signals[exc.args[0]]
            threading.Timer(self.redeliver_after, os.kill, (os.getpid(), signum)).start()
        self._previous_hook(unraisable)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received += 1
        name = signal.Signals(signum).name
        if self.received == 1:
            raise KeyboardInterrupt(name)
        if self.received == 2:
            os.write(2, b"stopping: stopping the child processes and writing what was measured "
                        b"(once more to quit at once)\n")
            return
        exit_now()


def exit_now(status: int = INTERRUPTED) -> None:
    """Stop every child process this process started, flush the output and exit with ``status`` at once."""
    from offchain.servers.process import stop_all

    stop_all(grace=2.0)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken pipe: nothing left to flush
            stream.flush()
    os._exit(status)
