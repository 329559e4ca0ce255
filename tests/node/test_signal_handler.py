"""The command line's signal handler (offchain/cli/interrupts.py) in a process of its own: a Ctrl-C that lands
while Python runs a finalizer, where it cannot raise, is not lost (found by the multi-host test: a miner went on
after its Ctrl-C, the KeyboardInterrupt "ignored" in a library's ``__del__``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    from offchain.cli.interrupts import Interrupts

    Interrupts().install()

    class Finalized:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)  # the signal comes while a finalizer runs
            for _ in range(1000):
                sum(range(100))  # bytecode: the handler runs here, inside __del__
            print("finalizer done", flush=True)

    try:
        Finalized()
        for _ in range(100):
            time.sleep(0.1)
        print("went on after Ctrl-C", flush=True)
        sys.exit(1)
    except KeyboardInterrupt as interrupt:
        print(f"unwound by {interrupt.args[0]}", flush=True)
        sys.exit(130)
""")


def test_a_ctrl_c_lost_in_a_finalizer_is_delivered_again() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert "Exception ignored in" in done.stderr and "KeyboardInterrupt: SIGINT" in done.stderr, done.stderr
    assert done.returncode == 130 and "unwound by SIGINT" in done.stdout, (done.stdout, done.stderr)


def test_other_exceptions_in_finalizers_still_reach_the_previous_hook() -> None:
    script = SCRIPT.replace("os.kill(os.getpid(), signal.SIGINT)", "raise ValueError('boom')")
    done = subprocess.run([sys.executable, "-c", script.replace("range(100)", "range(3)")], capture_output=True,
                          text=True, timeout=60)
    assert "ValueError: boom" in done.stderr and done.returncode == 1, (done.stdout, done.stderr)
