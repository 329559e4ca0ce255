"""Signed claims between processes in the scaled mode (docs/scaling.md): the aggregator's inbox, over HTTP.

Every miner hands its signed claim to the round's aggregator (a miner drawn from the head block's hash), which
posts the root of every claim it holds. The miners of one :class:`~offchain.miner.scaled.ScaledRoundDriver`
share its process; the miners of other processes, on other machines, reach it here:

- :class:`ClaimInbox`: an HTTP endpoint a driver runs. ``POST /claims`` with one claim as JSON::

      {"round": 7, "miner": "0x...", "accuracyBps": 8123, "commitment": "0x<32 bytes>", "signature": "0x<65 bytes>"}

  Each claim is checked before it is kept: well formed, for the round open now or the next, signed (EIP-712) by
  its miner for this deployment, from a registered miner, and the first of its miner this round (a second,
  different claim is refused: the miner signed two). ``take(round)`` gives the driver a round's claims to post.
  ``POST /done`` with ``{"round": 7, "sender": "<its inbox URL>"}`` says a peer has handed in all its claims
  for the round (none, if none of its miners trained): the aggregator posts once every peer has, without waiting
  out its window. A false "done" only makes the aggregator post early (the late claims commit directly).
- :func:`hand_in`: POST one signed claim to a peer's inbox; a refusal raises :class:`ClaimRefused` with the
  inbox's reason.
- :class:`ClaimRelay`: what a driver is given: its own inbox (or none) and its peers' inbox URLs. After signing,
  the driver hands each of its miners' claims to every peer (any of them may hold the round's aggregator or post
  as its fallback), then says it is done, and its aggregator posts its own claims with those its inbox collected.

Nothing here is trusted. A peer that is down, slow, or that drops a claim costs that claim only its place in that
peer's root: a claim that would be a candidate and is not in the posted top commits directly (forced inclusion);
a root that misorders claims is proven wrong on chain. The inbox listens on loopback unless told otherwise: put
it behind the same network protections as the node's RPC.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth_utils import is_checksum_address, to_checksum_address

from offchain.chain.connect import connect
from offchain.chain.scaled import ScaledContract, SignedClaim
from offchain.errors import LauncherError, PoflConnectionError, PoflValueError

log = logging.getLogger("pofl.miner")

MAX_BODY_BYTES = 4096
"""The largest request the inbox reads (one claim is about 330 bytes of JSON)."""
PATH = "/claims"
DONE_PATH = "/done"


class ClaimRefused(PoflValueError):
    """A claim the inbox will not keep; ``status`` is the HTTP status it answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def claim_to_json(claim: SignedClaim) -> dict[str, Any]:
    """The JSON an inbox takes (see the module docstring)."""
    return {"round": claim.round_id, "miner": claim.miner, "accuracyBps": claim.accuracy_bps,
            "commitment": "0x" + claim.commitment.hex(), "signature": "0x" + claim.signature.hex()}


def _hex_bytes(value: Any, size: int, name: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 2 + 2 * size:
        raise ClaimRefused(HTTPStatus.BAD_REQUEST, f"{name} must be 0x and {size} bytes in hex, got {value!r:.80}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise ClaimRefused(HTTPStatus.BAD_REQUEST, f"{name} is not hex: {value!r:.80}") from None


def claim_from_json(data: Any) -> SignedClaim:
    """The claim in ``data`` (parsed JSON), its form checked (not its signature); ClaimRefused (400) otherwise."""
    if not isinstance(data, dict):
        raise ClaimRefused(HTTPStatus.BAD_REQUEST, "the body must be one JSON object, a claim")
    missing = {"round", "miner", "accuracyBps", "commitment", "signature"} - set(data)
    if missing:
        raise ClaimRefused(HTTPStatus.BAD_REQUEST, f"the claim lacks {', '.join(sorted(missing))}")
    round_id, accuracy, miner = data["round"], data["accuracyBps"], data["miner"]
    if not isinstance(round_id, int) or isinstance(round_id, bool) or not 0 < round_id < 2**64:
        raise ClaimRefused(HTTPStatus.BAD_REQUEST, f"round must be a positive integer, got {round_id!r:.40}")
    if not isinstance(accuracy, int) or isinstance(accuracy, bool) or not 0 <= accuracy <= 10_000:
        raise ClaimRefused(HTTPStatus.BAD_REQUEST, f"accuracyBps must be an integer in 0..10000, got {accuracy!r:.40}")
    if not isinstance(miner, str) or not is_checksum_address(miner):
        raise ClaimRefused(HTTPStatus.BAD_REQUEST, f"miner must be a checksummed address, got {miner!r:.60}")
    return SignedClaim(round_id, to_checksum_address(miner), accuracy,
                       _hex_bytes(data["commitment"], 32, "commitment"), _hex_bytes(data["signature"], 65, "signature"))


class ClaimInbox:
    """The claims other processes' miners hand in, checked and kept by round (see the module docstring).

    Parameters:
        contract: the deployment the claims are for (signatures are checked against its EIP-712 domain).
        host: the address to listen on (loopback by default).
        port: the TCP port (0: any free one; :attr:`url` says which).
    """

    def __init__(self, contract: ScaledContract, host: str = "127.0.0.1", port: int = 0) -> None:
        self.contract = _own_connection(contract)
        self._claims: dict[int, dict[str, SignedClaim]] = {}
        self._done: dict[int, set[str]] = {}
        self._lock = threading.Lock()
        self._chain = threading.Lock()  # the handler threads share one connection
        try:
            self._server = ThreadingHTTPServer((host, port), _handler(self))
        except OSError as exc:
            raise LauncherError(f"the claim inbox cannot listen on {host}:{port}: {exc.strerror}; choose another "
                                "port (0 picks a free one)") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="claim-inbox", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{PATH}"

    def receive(self, body: bytes) -> SignedClaim:
        """Check and keep the claim in ``body`` (JSON); ClaimRefused with the reason otherwise."""
        claim = claim_from_json(_json_body(body))
        with self._chain:
            return self._keep(claim)

    def _check_round(self, round_id: int) -> None:
        """ClaimRefused (409) unless ``round_id`` is the round open now or the next."""
        current = self.contract.round_info("pending").round
        if round_id not in (current, current + 1):
            raise ClaimRefused(HTTPStatus.CONFLICT, f"round {round_id} is neither round {current} (open now) nor "
                                                    "the next: this inbox takes those")

    def _keep(self, claim: SignedClaim) -> SignedClaim:
        """Keep ``claim`` if the chain says it may be kept (see the module docstring)."""
        self._check_round(claim.round_id)
        if not self.contract.verify_claim(claim):
            raise ClaimRefused(HTTPStatus.FORBIDDEN, f"the signature is not {claim.miner}'s for this claim and this "
                                                     f"deployment ({self.contract.address})")
        if not self.contract.miner_of(claim.miner)[2]:
            raise ClaimRefused(HTTPStatus.FORBIDDEN, f"{claim.miner} is not a registered miner: register first")
        with self._lock:
            kept = self._claims.setdefault(claim.round_id, {}).setdefault(claim.miner, claim)
        if kept != claim:
            raise ClaimRefused(HTTPStatus.CONFLICT, f"{claim.miner} already handed in another claim for round "
                                                    f"{claim.round_id}: a miner claims once a round")
        return claim

    def receive_done(self, body: bytes) -> tuple[int, str]:
        """Record that a peer (``sender``) handed in all its claims for ``round`` (JSON); ClaimRefused otherwise."""
        data = _json_body(body)
        if not isinstance(data, dict) or not isinstance(data.get("sender"), str) or not data["sender"] \
                or len(data["sender"]) > 200:
            raise ClaimRefused(HTTPStatus.BAD_REQUEST, 'the body must be {"round": N, "sender": "<its inbox URL>"}')
        round_id = data.get("round")
        if not isinstance(round_id, int) or isinstance(round_id, bool):
            raise ClaimRefused(HTTPStatus.BAD_REQUEST, f"round must be an integer, got {round_id!r:.40}")
        with self._chain:
            self._check_round(round_id)
        with self._lock:
            self._done.setdefault(round_id, set()).add(data["sender"])
        return round_id, data["sender"]

    def done(self, round_id: int) -> int:
        """How many peers said they handed in all their claims for ``round_id``."""
        with self._lock:
            return len(self._done.get(round_id, ()))

    def take(self, round_id: int) -> list[SignedClaim]:
        """The claims kept for ``round_id`` (the earlier rounds' claims and peers' notices are forgotten)."""
        with self._lock:
            for book in (self._claims, self._done):
                for r in [r for r in book if r < round_id]:
                    del book[r]
            return list(self._claims.get(round_id, {}).values())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ClaimInbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json_body(body: bytes) -> Any:
    """The JSON in a request's ``body``; ClaimRefused (413 past MAX_BODY_BYTES, 400 not JSON) otherwise."""
    if len(body) > MAX_BODY_BYTES:
        raise ClaimRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a message is at most {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ClaimRefused(HTTPStatus.BAD_REQUEST, "the body is not JSON") from None


def _own_connection(contract: ScaledContract) -> ScaledContract:
    """The same deployment on a connection of the inbox's own: its threads must not share the driver's HTTP
    session."""
    url = getattr(contract.w3.provider, "endpoint_uri", None)
    if not url:
        return contract
    w3 = connect(str(url))
    return ScaledContract(w3.eth.contract(address=contract.address, abi=contract.contract.abi), contract.artifact)


def _handler(inbox: ClaimInbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path not in (PATH, DONE_PATH):
                return self._answer(HTTPStatus.NOT_FOUND, {"error": f"POST claims to {PATH}, notices to {DONE_PATH}"})
            length = int(self.headers.get("Content-Length") or 0)
            try:
                if length > MAX_BODY_BYTES:
                    raise ClaimRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                       f"a message is at most {MAX_BODY_BYTES} bytes")
                body = self.rfile.read(length)
                if self.path == DONE_PATH:
                    round_id, sender = inbox.receive_done(body)
                    return self._answer(HTTPStatus.OK, {"accepted": True, "round": round_id, "sender": sender})
                claim = inbox.receive(body)
            except ClaimRefused as exc:
                return self._answer(exc.status, {"error": str(exc)})
            except Exception as exc:  # the chain did not answer: the message may be sent again
                log.warning("the claim inbox could not check a message: %s", exc)
                return self._answer(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "the inbox cannot reach its chain "
                                                                              "node now: try again"})
            self._answer(HTTPStatus.OK, {"accepted": True, "round": claim.round_id, "miner": claim.miner})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("claim inbox: " + format, *args)

    return Handler


def hand_in(url: str, claim: SignedClaim, timeout_s: float = 5.0) -> None:
    """POST ``claim`` to the inbox at ``url``. ClaimRefused with its reason if the inbox refuses it;
    PoflConnectionError if it cannot be reached."""
    _post(url, claim_to_json(claim), timeout_s, f"{claim.miner}'s claim")


def say_done(url: str, round_id: int, sender: str, timeout_s: float = 5.0) -> None:
    """Tell the inbox at ``url`` (its claims URL) that ``sender`` handed in all its claims for ``round_id``."""
    _post(url.removesuffix(PATH) + DONE_PATH, {"round": round_id, "sender": sender}, timeout_s,
          f"{sender}'s notice for round {round_id}")


def _post(url: str, body: dict[str, Any], timeout_s: float, what: str) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s):
            return
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            reason = exc.reason
        raise ClaimRefused(exc.code, f"the claim inbox at {url} refused {what}: {reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PoflConnectionError(f"the claim inbox at {url} cannot be reached: {reason}") from None


@dataclass
class ClaimRelay:
    """How a driver's claims reach other processes, and theirs reach it.

    Parameters:
        inbox: this process's inbox (None: it posts only its own miners' claims).
        peers: the inbox URLs of the other processes of the federation.
        timeout_s: the longest one hand-in may take.
    """

    inbox: ClaimInbox | None = None
    peers: Sequence[str] = ()
    timeout_s: float = 5.0

    def hand_out(self, round_id: int, claims: Sequence[SignedClaim]) -> int:
        """Hand every claim to every peer, concurrently, then tell each peer this process is done for
        ``round_id``; returns how many hand-ins succeeded (a failure is logged: forced inclusion covers a claim no
        aggregator posts)."""
        if not self.peers:
            return 0
        sender = self.inbox.url if self.inbox is not None else f"a process without an inbox ({id(self):x})"

        def deliver(send: Callable[[], None]) -> bool:
            try:
                send()
                return True
            except (ClaimRefused, PoflConnectionError) as exc:
                log.warning("%s", exc)
                return False

        jobs = [lambda url=url, claim=claim: hand_in(url, claim, self.timeout_s)
                for url in self.peers for claim in claims]
        with ThreadPoolExecutor(max_workers=min(16, max(1, len(jobs), len(self.peers)))) as pool:
            delivered = sum(pool.map(deliver, jobs))
            list(pool.map(deliver, [lambda url=url: say_done(url, round_id, sender, self.timeout_s)
                                    for url in self.peers]))
        return delivered

    def peers_done(self, round_id: int) -> bool:
        """Whether every peer said it handed in all its claims for ``round_id``."""
        return self.inbox is not None and self.inbox.done(round_id) >= len(self.peers)

    def collected(self, round_id: int) -> list[SignedClaim]:
        """The other processes' claims for ``round_id`` that this process's inbox kept."""
        return self.inbox.take(round_id) if self.inbox is not None else []
