"""The test proxy's delay (tests/support/netproxy.py): bytes pass intact, and a request and its answer take at least
twice the one-way delay (a lower bound only: a busy machine can only add to it)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from tests.support.netproxy import FlakyProxy


def echo_server() -> tuple[socket.socket, int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):  # the proxy closing resets it
                while data := conn.recv(65536):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return server, int(server.getsockname()[1])


def round_trip(port: int, payload: bytes) -> tuple[bytes, float]:
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(payload)
        got = b""
        while len(got) < len(payload):
            got += conn.recv(65536)
    return got, time.monotonic() - start


def test_the_delay_holds_each_direction_and_can_change_at_any_time() -> None:
    server, port = echo_server()
    proxy = FlakyProxy("127.0.0.1", port, delay=0.25)
    try:
        got, seconds = round_trip(proxy.port, b"block 7")
        assert got == b"block 7" and seconds >= 0.5  # 0.25 s there, 0.25 s back
        proxy.delay = 0.0
        got, _ = round_trip(proxy.port, b"x" * 100_000)
        assert got == b"x" * 100_000
    finally:
        proxy.close()
        server.close()
