"""A small TCP proxy (on the loopback interface, or a test network's bridge) that a test can cut and restore, or
slow down, to play a flaky or distant RPC."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class FlakyProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``. :meth:`cut` closes the listener and every open
    connection (clients see resets and refused connections); :meth:`restore` listens again on the
    same port. ``delay`` (seconds, settable at any time) holds every chunk that long before passing it
    on, in each direction: a request and its answer take at least twice ``delay`` longer, as over a
    link of that one-way latency (netem's delay, which this machine's kernel lacks). ``listen``: the address
    it listens on (default loopback; a network namespaces bridge's address, e.g., to stand between hosts:
    tests/support/multihost.py's ``Cluster.delayed_rpc``)."""

    def __init__(self, target_host: str, target_port: int, delay: float = 0.0, listen: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.delay = delay
        self.listen = listen
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((listen, 0))  # port 0: no free_port()-then-bind race
        self.port = int(self._listener.getsockname()[1])
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.cuts = 0
        self._serve(self._listener)

    @property
    def url(self) -> str:
        return f"http://{self.listen}:{self.port}"

    def _serve(self, listener: socket.socket) -> None:
        listener.listen(64)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if listener.fileno() == -1:  # cut while this connection was being made: it is cut too
                    for conn in (client, upstream):
                        conn.close()
                    continue
                self._conns.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self.delay > 0:
                    time.sleep(self.delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)

    def cut(self) -> None:
        """Stop listening and reset every open connection."""
        self.cuts += 1
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
        self._listener.close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for s in conns:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()  # linger 0: the peer sees a connection reset
            except OSError:
                pass

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.listen, self.port))
        self._listener = listener
        self._serve(listener)

    def close(self) -> None:
        self.cut()
