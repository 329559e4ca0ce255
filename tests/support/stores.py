"""Stores for the tests: hostile CID strings, and stand-ins for an IPFS daemon's HTTP API on the loopback (one
that answers with bytes other than those asked for, one that records every request it is sent)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

from offchain.store import compute_cid

CID0 = compute_cid(b"pofl")

HOSTILE_CIDS = ["../secret", "../../etc/passwd", "/etc/passwd", "..", ".", CID0 + "/../../secret",
                CID0[:-1] + "\0", "%2e%2e%2fsecret", CID0 + "?arg=../secret", "blocks/../../secret",
                ("Qm/../../secret" + "1" * 46)[:46], "Ｑｍ" + CID0[2:]]


class LyingDaemon(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b"these are not the bytes you asked for" if "/cat" in self.path else json.dumps(
            {"Hash": "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", "Name": "x", "Size": "6"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if "/add" in self.path else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"/ip4/127.0.0.1/tcp/{server.server_address[1]}/http"
    server.shutdown()


class RecordingDaemon(LyingDaemon):
    seen: list[str]

    def do_POST(self) -> None:
        self.seen.append(self.path)
        super().do_POST()
