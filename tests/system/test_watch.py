"""`pofl watch`, `pofl run --watch` and `pofl blocks --watch` (issue 24): the events folded into rounds, claims and
blocks; the follower reading each chain block once; the HTTP API through Starlette's test client; the page in
headless Chromium, driven over the DevTools protocol, against real rounds on Anvil: it shows the blocks, gains a
point when a block is finalized, marks the slashed and the disputed claims, counts down to the phase's deadline,
says when the RPC or its own server dies and catches up when they are back, shows a hold-out run's final-shard
accuracy and gap; the bad inputs.

The rounds are played by the in-process round driver (4 miners, miner 1 claiming 0.99 and slashed in round 1;
a run of its own with 3 miners, one of which reports 0, for a disputed claim), one at a time when a test asks,
so nothing waits on timing it cannot control: every wait is for a condition.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner

from offchain.app.deployment import setup_run
from offchain.app.follower import ChainFollower
from offchain.app.watch import Event, WatchState
from offchain.chain.connect import connect
from offchain.chain.consensus import PoFLContract
from offchain.chain.types import ClaimStatus, PenaltyReason
from offchain.cli import cli
from offchain.cli.watch_cmds import RPC_TIMEOUT_S
from offchain.miner.claims import InflatedClaims
from offchain.miner.driver import RoundDriver
from offchain.miner.run_config import RunConfig
from offchain.miner.strategy import WorkloadStrategy
from offchain.miner.workload import Workload
from offchain.servers.devnet import Devnet
from offchain.servers.process import ManagedProcess
from offchain.store import LocalStore
from offchain.testing.accounts import fresh_signers
from offchain.testing.rounds import increase_time
from offchain.web.server import WatchServer, WatchService, bind_loopback
from tests.support.netproxy import FlakyProxy
from tests.support.strategies import Misreporting
from tests.support.terminal import Terminal, pofl

T = TypeVar("T")

CONFIG = RunConfig(n_miners=4, min_committee=2, threshold=0.05, require_improvement=False, phase_seconds=10,
                   clients_per_round=8)
CHEATER = 1  # claims 0.99 in round 1: rejected, slashed (and evicted)
WAIT_S = 60.0  # generous: every wait is for a condition, this is only the bound


def wait_for(what: str, check: Callable[[], T | None], timeout: float = WAIT_S) -> T:
    """``check()``'s first truthy value, polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


@dataclass
class LiveRun:
    """A run on the session's Anvil whose rounds the tests play one at a time."""

    contract: PoFLContract
    driver: RoundDriver
    rpc_url: str
    home: Path  # its deployment record is in home/deployments/, where `pofl` run from home looks

    def next_round(self) -> int:
        """Play one round; the new height."""
        self.driver.run_round(max_seconds=120)
        return self.height()

    def height(self) -> int:
        return self.contract.block_count() - 1

    def watched(self, rpc_url: str | None = None) -> PoFLContract:
        """The contract on a connection of its own (through ``rpc_url``, default the chain's), as `pofl watch`
        connects."""
        return PoFLContract.attach(connect(rpc_url or self.rpc_url, timeout=RPC_TIMEOUT_S), self.contract.address)


@pytest.fixture(scope="module")
def live_run(anvil: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRun]:
    workload = Workload(CONFIG)
    store = LocalStore(tmp_path_factory.mktemp("watch-store"))
    w3 = connect(anvil.rpc_url)
    owner, *miners = fresh_signers(w3, CONFIG.n_miners + 1)
    home = tmp_path_factory.mktemp("watch-home")
    contract = setup_run(owner, miners, CONFIG, workload, store, records=home / "deployments")
    driver = RoundDriver(contract, store, workload.flat, CONFIG.architecture, miners, WorkloadStrategy(workload),
                         claims=InflatedClaims(frozenset({CHEATER})))
    run = LiveRun(contract, driver, anvil.rpc_url, home)
    try:
        while run.height() < 2:
            run.next_round()
        yield run
    finally:
        driver.close()


def caught_up(follower: ChainFollower, state: WatchState) -> WatchState:
    while True:
        state.apply_all(follower.fetch())
        if not follower.behind:
            return state


# ------------------------------------------------------------------ the state and the follower


def test_events_fold_into_rounds_claims_and_a_block_row() -> None:
    a, b, c = (f"0x{i:040x}" for i in (0xA, 0xB, 0xC))
    state = WatchState("0xC0", thresholds={1: 500}, miners=[a, b, c])
    digest = bytes(range(32))

    def decided(claimant: str, outcome: ClaimStatus, claimed: int, median: int) -> dict[str, Any]:
        return {"round": 1, "claimant": claimant, "outcome": outcome, "claimedBps": claimed, "medianBps": median,
                "reports": 2, "seats": 2}

    touched = state.apply_all([
        Event("RoundOpened", {"round": 1, "openedAt": 100}, gas=0),
        Event("Committed", {"round": 1, "miner": a}, gas=50_000),
        Event("Committed", {"round": 1, "miner": b}, gas=50_000),
        Event("Revealed", {"round": 1, "miner": a, "digest": digest, "cidKind": 0, "accuracyBps": 9900,
                           "eligible": True}, gas=60_000),
        Event("Revealed", {"round": 1, "miner": b, "digest": digest[::-1], "cidKind": 0, "accuracyBps": 6100,
                           "eligible": True}, gas=60_000),
        Event("ValidationOpened", {"round": 1, "candidate": a, "claimedBps": 9900, "attempt": 1, "seedBlock": 7}),
        Event("CommitteeDrawn", {"round": 1, "attempt": 1, "seed": b"", "seats": 2, "quorum": 2, "deadline": 200}),
        Event("Voted", {"round": 1, "validator": b, "attempt": 1, "measuredBps": 5000}, gas=40_000),
        Event("Voted", {"round": 1, "validator": c, "attempt": 1, "measuredBps": 5010}, gas=40_000),
        Event("ClaimDecided", decided(a, ClaimStatus.REJECTED, 9900, 5000), gas=100_000),
        Event("Penalized", {"round": 1, "miner": a, "reason": PenaltyReason.FALSE_CLAIM, "amount": 10**17}),
        Event("ValidationOpened", {"round": 1, "candidate": b, "claimedBps": 6100, "attempt": 2, "seedBlock": 9}),
        Event("CommitteeDrawn", {"round": 1, "attempt": 2, "seed": b"", "seats": 2, "quorum": 2, "deadline": 300}),
        Event("Voted", {"round": 1, "validator": a, "attempt": 2, "measuredBps": 6050}, gas=40_000),
        Event("Voted", {"round": 1, "validator": c, "attempt": 2, "measuredBps": 6100}, gas=40_000),
        Event("ClaimDecided", decided(b, ClaimStatus.ACCEPTED, 6100, 6050), gas=200_000),
        Event("BlockFinalized", {"height": 1, "round": 1, "miner": b, "digest": digest[::-1], "cidKind": 0,
                                 "accuracyBps": 6050, "parentHash": b"\0" * 32, "blockHash": b"\1" * 32,
                                 "reward": 10**17}),
    ])
    row = state.block_row(1)
    assert (row["winner"], row["claimed_bps"], row["median_bps"], row["seats"], row["reports"]) == \
        ("miner 1", 6100, 6050, 2, 2)
    assert row["gas"] == 680_000  # every transaction's gas once, counted for the round its first log names
    claims = {c["miner"]: c for c in state.round_row(1)["claims"]}
    assert (claims[a]["outcome"], claims[a]["slashed_wei"]) == ("REJECTED", 10**17)
    assert (claims[b]["outcome"], claims[b]["slashed_wei"]) == ("ACCEPTED", 0)
    first, second = state.round_row(1)["validations"]
    assert first["reports"] == {b: 5000, c: 5010} and first["outcome"] == "REJECTED"
    assert second["reports"] == {a: 6050, c: 6100} and second["outcome"] == "ACCEPTED"
    delta = state.delta(touched)
    assert [r["round"] for r in delta["rounds"]] == [1] and [b["height"] for b in delta["blocks"]] == [1]
    # a later event sends only what it touched, under a newer sequence number
    later = state.apply_all([Event("RoundOpened", {"round": 2, "openedAt": 300})])
    assert [r["round"] for r in state.delta(later)["rounds"]] == [2] and state.delta(later)["blocks"] == []
    assert state.delta(later)["seq"] > delta["seq"]


def test_the_follower_reads_each_chain_block_once(live_run: LiveRun) -> None:
    contract = live_run.watched()
    follower = ChainFollower(contract, chunk=7)  # several chunks for the history
    ranges: list[tuple[int, int]] = []
    get_logs = contract.w3.eth.get_logs

    def recording(params: Any) -> Any:
        ranges.append((params["fromBlock"], params["toBlock"]))
        return get_logs(params)

    contract.w3.eth.get_logs = recording  # type: ignore[method-assign]
    state = caught_up(follower, follower.initial_state())
    assert [b.cid for b in contract.blocks()] == [state.blocks[h].cid for h in sorted(state.blocks)]
    height = live_run.next_round()
    caught_up(follower, state)
    caught_up(follower, state)  # nothing new: no range is read again
    assert height in state.blocks and state.blocks[height].cid == contract.latest_block().cid
    assert ranges[0][0] == follower.start
    assert all(later[0] == earlier[1] + 1 for earlier, later in itertools.pairwise(ranges)), ranges
    assert all(low <= high for low, high in ranges), ranges
    cheater = state.miners[CHEATER]
    assert state.rounds[1].claims[cheater].outcome == "REJECTED" and state.rounds[1].claims[cheater].slashed_wei > 0


# ------------------------------------------------------------------ the HTTP API


def _sse_events(lines: Iterator[str], timeout: float = WAIT_S) -> Iterator[tuple[str, dict[str, Any]]]:
    """The (name, data) of each server-sent event; an AssertionError once ``timeout`` has passed (the server sends a
    comment every 15 s, so an idle stream is checked too)."""
    deadline = time.monotonic() + timeout
    name = None
    for line in lines:
        assert time.monotonic() < deadline, f"no awaited event within {timeout:.0f} s"
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name is not None:
            yield name, json.loads(line.removeprefix("data: "))
            name = None


def test_the_http_api_answers_the_state_so_far_then_streams_the_new_blocks(live_run: LiveRun) -> None:
    """Over a real server and client: Starlette's TestClient (1.3, the version Flower's FastAPI pins) buffers a
    streamed response whole, so an endless event stream would never return to the test."""
    import httpx

    contract = live_run.watched()
    service = WatchService(ChainFollower(contract), poll_s=0.1)
    server = WatchServer(service, bind_loopback(0)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=WAIT_S) as client:
            _check_the_api(client, contract, live_run)
    finally:
        server.stop()


def _check_the_api(client: Any, contract: PoFLContract, live_run: LiveRun) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'src="static/watch.js"' in page.text
    for path in ("/", "/static/watch.js", "/static/watch.css"):
        text = client.get(path).text
        # nothing from a CDN: the only URL in the page's files is SVG's namespace
        assert set(re.findall(r"https?://[^\s\"'`)]+", text)) <= {"http://www.w3.org/2000/svg"}, path
    assert client.get("/static/nothing.js").status_code == 404

    def synced() -> dict[str, Any] | None:
        state = client.get("/api/state").json()
        link = state["link"]
        return state if link["connected"] and link["cursor"] == link["latest"] else None

    state = wait_for("the service reads the chain so far", synced)
    blocks = contract.blocks()
    assert [(b["height"], b["cid"]) for b in state["blocks"]] == [(b.height, b.cid) for b in blocks]
    assert all(b["median_bps"] == b["accuracy_bps"] and b["seats"] >= 2 and b["gas"] > 0
               for b in state["blocks"][1:])
    cheater = state["miners"][CHEATER]["address"]
    claim = next(c for c in state["rounds"][0]["claims"] if c["miner"] == cheater)
    assert claim["outcome"] == "REJECTED" and claim["slashed_wei"] > 0 and claim["accuracy_bps"] == 9900
    assert state["phase"]["round"] == contract.current_round() and state["thresholds"] == [[1, 500]]

    with client.stream("GET", "/api/events") as stream:
        events = _sse_events(stream.iter_lines())
        name, first = next(events)
        assert name == "state" and first["seq"] >= state["seq"] and len(first["blocks"]) == len(blocks)
        height = live_run.next_round()
        for name, data in events:
            assert name == "update" and data["seq"] > first["seq"]
            if any(b["height"] == height for b in data["blocks"]):
                break
    row = next(b for b in data["blocks"] if b["height"] == height)
    assert row["cid"] == contract.latest_block().cid and row["claimed_bps"] is not None


# ------------------------------------------------------------------ the page in Chromium


class Chromium:
    """Headless Chromium driven over the DevTools protocol (a websocket): open a page, evaluate JS, screenshot."""

    def __init__(self, profile: Path) -> None:
        from websockets.sync.client import connect as ws_connect

        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        assert binary is not None
        self.log = (profile.parent / "chromium.log").open("wb")
        self.proc = subprocess.Popen([binary, "--headless=new", "--no-sandbox", "--disable-gpu",
                                      "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run",
                                      "--window-size=1280,1400", "--remote-debugging-port=0",
                                      f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        port_file = profile / "DevToolsActivePort"
        wait_for("Chromium's DevTools port",
                 lambda: (port_file.exists() and port_file.read_text().strip()) or self.proc.poll() is not None)
        assert self.proc.poll() is None, (profile.parent / "chromium.log").read_text()[-2000:]
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            page = next(p for p in json.load(answer) if p["type"] == "page")
        self.ws = ws_connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self.calls = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.calls += 1
        self.ws.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=WAIT_S))
            if message.get("id") == self.calls:
                assert "error" not in message, message
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def wait(self, expression: str, timeout: float = WAIT_S) -> Any:
        return wait_for(expression, lambda: self.evaluate(expression), timeout)

    def screenshot(self, path: Path) -> Path:
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        if os.environ.get("POFL_REQUIRE_CHROMIUM") or os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail("Debian's chromium is required (.ci/run installs it: apt-get install chromium)")
        pytest.skip("no chromium (Debian: apt-get install chromium)")
    chromium = Chromium(tmp_path_factory.mktemp("chromium") / "profile")
    try:
        yield chromium
    finally:
        chromium.close()


@dataclass
class Page:
    server: WatchServer
    proxy: FlakyProxy  # between the page's follower and the chain: cut it to kill the RPC


@pytest.fixture(scope="module")
def page(live_run: LiveRun, anvil: Devnet) -> Iterator[Page]:
    port = int(anvil.rpc_url.rsplit(":", 1)[1])
    proxy = FlakyProxy("127.0.0.1", port)
    service = WatchService(ChainFollower(live_run.watched(proxy.url)), poll_s=0.2, rpc_url=proxy.url)
    server = WatchServer(service, bind_loopback(0)).start()
    try:
        yield Page(server, proxy)
    finally:
        server.stop()
        proxy.close()


BLOCK_ROWS = "document.querySelectorAll('#blocks tbody tr').length"
BLOCK_DOTS = "document.querySelectorAll('#curve circle.block').length"
COUNTDOWN = "document.querySelector('#countdown').textContent"
LINK_IS = "document.querySelector('#link').classList.contains('{}')"


def test_the_page_shows_the_blocks_and_the_curve_gains_a_point_with_a_new_block(
        live_run: LiveRun, page: Page, browser: Chromium, tmp_path: Path) -> None:
    browser.open(page.server.url)
    height = live_run.height()
    browser.wait(f"{BLOCK_ROWS} === {height} && {BLOCK_DOTS} === {height}")
    # the blocks table, newest first: what the chain says (height, round, winner, median, CID), and beside it what
    # the page's API folded from the round's events (claim, committee, reports, gas)
    with urllib.request.urlopen(page.server.url + "api/state", timeout=10) as answer:
        folded = {b["height"]: b for b in json.load(answer)["blocks"]}
    winners = [m.address for m in live_run.driver.miners]
    expected = [[str(b.height), str(b.round), f"miner {winners.index(b.miner)}",
                 f"{folded[b.height]['claimed_bps'] / 10_000:.4f}", f"{b.accuracy_bps / 10_000:.4f}", b.cid,
                 f"{folded[b.height]['seats']} seats", str(folded[b.height]["reports"]),
                 f"{folded[b.height]['gas'] / 1e6:.2f}M"] for b in reversed(live_run.contract.blocks()[1:])]
    assert browser.evaluate("Array.from(document.querySelectorAll('#blocks tbody tr')).map(tr => "
                            "Array.from(tr.cells).slice(0, 9).map(td => td.textContent))") == expected
    # the cheater's claim of round 1, and only it: a red cross on the curve, ringed (slashed), and its chip in the
    # rounds table says rejected and the stake taken; every honest claim of round 1 is a plain dot, accepted or not
    cheater = live_run.driver.miners[CHEATER].address
    marks = browser.evaluate("Object.fromEntries(Array.from(document.querySelectorAll("
                             "'#curve .claim[data-round=\"1\"]')).map(n => [n.dataset.miner, "
                             "n.tagName + ' ' + n.getAttribute('class')]))")
    assert marks.pop(cheater) == "path claim rejected slashed", marks
    assert len(marks) == CONFIG.n_miners - 1 and all(m.startswith("circle claim ") and "rejected" not in m and
                                                     "slashed" not in m for m in marks.values()), marks
    assert browser.evaluate("document.querySelectorAll('#curve .slash-ring').length") == 1  # slashed once, evicted
    chips = browser.evaluate("Object.fromEntries(Array.from(document.querySelectorAll("
                             "'#rounds tr[data-round=\"1\"] .chip')).map(n => [n.dataset.miner, n.className + "
                             "' | ' + n.textContent]))")
    assert re.fullmatch(rf"chip rejected slashed \| miner {CHEATER} 0\.9900 rejected · slashed [\d.]+ ETH",
                        chips.pop(cheater)), chips
    assert len(chips) == CONFIG.n_miners - 1 and not any("rejected" in c or "slashed" in c for c in chips.values())
    penalties = browser.evaluate("document.querySelector('#rounds tr[data-round=\"1\"]').cells[4].textContent")
    assert re.fullmatch(rf"miner {CHEATER} false claim [\d.]+ ETH", penalties), penalties
    assert browser.evaluate("document.querySelectorAll('#curve .threshold').length") == 1
    round_now = live_run.contract.current_round()
    browser.wait(f"document.querySelector('#phase').textContent.startsWith('round {round_now} ')")
    # the countdown: no deadline before the round's first commit, then the seconds left to the chain's deadline
    # by the node's clock (10 minutes ahead here), counting down between two blocks
    assert browser.evaluate(COUNTDOWN).startswith("no deadline yet"), browser.evaluate(COUNTDOWN)
    increase_time(live_run.contract.w3, 600)  # the node's clock ahead of this machine's, as tests and demos move it
    while live_run.contract.current_phase("pending").deadline == 0:
        live_run.driver.step()  # the round goes on up to its first commit, which starts its clock
    left = int(browser.wait(f"({COUNTDOWN}.match(/^(\\d+) s left \\(deadline /) || [])[1]"))
    assert 0 <= left <= CONFIG.phase_seconds + 1, browser.evaluate(COUNTDOWN)  # +1: the clocks' offset, whole s
    browser.wait(f"{COUNTDOWN}.startsWith('deadline passed') || "
                 f"+({COUNTDOWN}.match(/^(\\d+) s left/) || [])[1] < {left - 1}")  # not a second's jitter
    line = "document.querySelector('#curve .chain-line').getAttribute('points').trim().split(/\\s+/).length"
    points = browser.evaluate(line)

    height = live_run.next_round()  # the round whose clock started goes on to its block
    browser.wait(f"{BLOCK_DOTS} === {height}")
    assert browser.evaluate(f"document.querySelector('#curve circle.block[data-height=\"{height}\"]') !== null")
    assert browser.evaluate("document.querySelector('#blocks tbody tr').dataset.height") == str(height)
    assert browser.evaluate(line) > points
    browser.wait("document.querySelector('#link').classList.contains('ok')")
    shot = browser.screenshot(tmp_path / "pofl-watch.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")


def test_the_page_says_when_the_rpc_dies_and_catches_up_when_it_answers_again(
        live_run: LiveRun, page: Page, browser: Chromium) -> None:
    browser.open(page.server.url)
    height = live_run.height()
    browser.wait(f"{BLOCK_DOTS} === {height} && document.querySelector('#link').classList.contains('ok')")
    page.proxy.cut()
    try:
        browser.wait("document.querySelector('#link').classList.contains('down')")
        assert "does not answer" in browser.evaluate("document.querySelector('#link').textContent")
        height = live_run.next_round()  # mined while the page's RPC is down (the miners reach the chain directly)
    finally:
        page.proxy.restore()
    browser.wait(f"{BLOCK_DOTS} === {height} && document.querySelector('#link').classList.contains('ok')")
    assert browser.evaluate(BLOCK_ROWS) == height


class Unavailable:
    """An HTTP server on 127.0.0.1:``port`` answering 503 to everything; counts the event streams asked for."""

    def __init__(self, port: int) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        outer = self
        self.streams = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.endswith("/api/events"):
                    outer.streams += 1
                self.send_error(503, "backend gone")

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="503", daemon=True)

    def __enter__(self) -> Unavailable:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def test_the_page_says_when_it_lost_the_watch_server_and_recovers_when_it_is_back(
        live_run: LiveRun, browser: Chromium) -> None:
    """`pofl watch` stopped and started again on the same port: the page says it lost its server, keeps what it
    showed, and once the server is back shows the block it missed, live again (no reload). Meanwhile something
    else answers on the port with 503 (a proxy whose backend is gone): the browser then gives its event stream up
    for good, and the page must open a new one itself."""

    def serve(port: int) -> WatchServer:
        return WatchServer(WatchService(ChainFollower(live_run.watched()), poll_s=0.2), bind_loopback(port)).start()

    server = serve(0)
    port = server.sock.getsockname()[1]
    try:
        browser.open(server.url)
        height = live_run.height()
        browser.wait(f"{BLOCK_DOTS} === {height} && {LINK_IS.format('ok')}")
        browser.evaluate("window.sameDocument = true")  # gone if the page were reloaded
    finally:
        server.stop()
    with Unavailable(port) as stand_in:
        browser.wait(LINK_IS.format("lost"))
        assert browser.evaluate("document.querySelector('#link').textContent") == \
            "lost the watch server: reconnecting…"
        height = live_run.next_round()  # mined while the page has no server
        wait_for("the page opens a new event stream after the browser gave one up", lambda: stand_in.streams >= 2)
        assert browser.evaluate(BLOCK_ROWS) == height - 1 and browser.evaluate(LINK_IS.format("lost"))
    server = serve(port)
    try:
        browser.wait(f"{BLOCK_DOTS} === {height} && {BLOCK_ROWS} === {height} && {LINK_IS.format('ok')}")
        assert browser.evaluate("window.sameDocument") is True
    finally:
        server.stop()


def test_the_page_marks_a_disputed_claim(anvil: Devnet, browser: Chromium,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    """Three miners, committees of two: the best claim is validated by the two others, one of which reports 0 and
    holds half of the stake. Neither two thirds above nor two thirds below: the claim is disputed; its appeal
    (decided by stake) is split at half too, so the dispute stands: nobody is slashed, the round ends without a
    block; the page draws the claim as a diamond, unringed, and its chip says disputed."""
    config = replace(CONFIG, n_miners=3)
    workload = Workload(config)
    w3 = connect(anvil.rpc_url)
    owner, *miners = fresh_signers(w3, config.n_miners + 1)
    store = LocalStore(tmp_path_factory.mktemp("disputed-store"))
    contract = setup_run(owner, miners, config, workload, store)
    contract.add_stake(miners[0], contract.miner_info(miners[1].address).stake).wait()  # half of the stake
    driver = RoundDriver(contract, store, workload.flat, config.architecture, miners, Misreporting(workload, 0))
    try:
        driver.run_round(max_seconds=120)
    finally:
        driver.close()
    assert contract.block_count() == 1  # genesis only
    assert [d.outcome for d in contract.decisions(1)] == [ClaimStatus.DISPUTED] * 2  # its appeal stood
    candidate = next(m.address for m in miners if contract.claim_of(1, m.address).status == ClaimStatus.DISPUTED)
    service = WatchService(ChainFollower(PoFLContract.attach(connect(anvil.rpc_url), contract.address)), poll_s=0.2)
    server = WatchServer(service, bind_loopback(0)).start()
    try:
        browser.open(server.url)
        browser.wait("document.querySelector('#rounds tr[data-round=\"1\"]') !== null && "
                     f"{BLOCK_ROWS} === 0 && {LINK_IS.format('ok')}")
        marks = browser.evaluate("Object.fromEntries(Array.from(document.querySelectorAll('#curve .claim')).map("
                                 "n => [n.dataset.miner, n.tagName + ' ' + n.getAttribute('class')]))")
        assert marks.pop(candidate) == "path claim disputed", marks
        assert not any("disputed" in m or "rejected" in m for m in marks.values()), marks
        assert browser.evaluate("document.querySelectorAll('#curve .slash-ring').length") == 0
        chip = browser.evaluate(f"document.querySelector('#rounds .chip[data-miner=\"{candidate}\"]').className + "
                                f"' | ' + document.querySelector('#rounds .chip[data-miner=\"{candidate}\"]')"
                                ".textContent")
        assert re.fullmatch(r"chip disputed \| miner \d 0\.\d{4} disputed", chip), chip
        result = browser.evaluate("document.querySelector('#rounds tr[data-round=\"1\"]').cells[1].textContent")
        assert result == "no block: no accepted claim", result
    finally:
        server.stop()


# ------------------------------------------------------------------ the commands


def test_pofl_blocks_watch_prints_each_new_block_on_one_line(live_run: LiveRun, tmp_path: Path) -> None:
    blocks = Terminal("blocks", "--watch", "--rpc-url", live_run.rpc_url, "--contract", live_run.contract.address,
                      cwd=tmp_path)
    try:
        height = live_run.height()
        blocks.expect(rf"^block {height} \(round \d+\) by miner \d .*accuracy 0\.\d{{4}} \(claimed", WAIT_S)
        height = live_run.next_round()
        new = live_run.contract.latest_block()
        blocks.expect(rf"^block {height} \(round {new.round}\) by miner \d \({new.miner}\): accuracy "
                      rf"{new.accuracy_bps / 10_000:.4f} .*, {new.cid}$", WAIT_S)
    finally:
        status = blocks.interrupt()
    lines = [ln for ln in blocks.output() if ln.startswith("block ")]
    assert [int(ln.split()[1]) for ln in lines] == list(range(1, height + 1)), lines  # each block once, in order
    assert status == 0 and not any("Traceback" in ln for ln in blocks.output()), blocks.output()


def test_pofl_watch_serves_the_page_until_ctrl_c(live_run: LiveRun, tmp_path: Path) -> None:
    """Without --contract, the consensus the chain's deployment record names (./deployments); none is one line."""
    nothing = pofl("watch", "--rpc-url", live_run.rpc_url, "--port", "0", cwd=tmp_path)  # no ./deployments here
    lines = [ln for ln in nothing.stderr.splitlines() if ln.strip()]
    assert nothing.returncode == 2 and len(lines) == 1 and lines[0].startswith("Error: --contract is required: no "
                                                                                 "deployment record"), nothing.stderr
    watch = Terminal("watch", "--rpc-url", live_run.rpc_url, "--port", "0", "--poll", "0.2", cwd=live_run.home)
    try:
        url = watch.expect(rf"^watching PoFLConsensus at {live_run.contract.address} on \S+: "
                           r"(http://127\.0\.0\.1:\d+/)$", WAIT_S).group(1)

        def blocks_shown() -> list[str] | None:
            with urllib.request.urlopen(url + "api/state", timeout=10) as answer:
                cids = [b["cid"] for b in json.load(answer)["blocks"]]
            return cids if len(cids) == live_run.height() + 1 else None

        assert wait_for("the page's API shows every block", blocks_shown) == [b.cid for b in live_run.contract.blocks()]
    finally:
        status = watch.interrupt()
    assert status == 0 and not any("Traceback" in ln for ln in watch.output()), watch.output()


@pytest.mark.timeout(180)
def test_pofl_run_watch_serves_the_page_of_the_run_it_starts(tmp_path: Path, browser: Chromium) -> None:
    """A hold-out run: once it ends its task, the page (the API, and the DOM in Chromium) shows every block's
    final-shard accuracy and gap."""
    run = Terminal("run", "--watch", "--watch-port", "0", "--rounds", "2", "--miners", "3", "--min-committee", "2",
                   "--clients-per-round", "6", "--threshold", "0.05", "--no-improvement", "--holdout", "mnist",
                   "--holdout-keys", str(tmp_path / "keys.json"), "--store-dir", str(tmp_path / "store"),
                   cwd=tmp_path)
    try:
        url = run.expect(r"^watch the run at (http://127\.0\.0\.1:\d+/)$", 120).group(1)
        run.expect(r"the run has ended; its page stays up at", 120)
        made = [ln for ln in run.output() if re.match(r"round \d+: block \d+ by miner", ln)]
        assert made, run.output()

        def page_state() -> dict[str, Any] | None:
            with urllib.request.urlopen(url + "api/state", timeout=10) as answer:
                state = json.load(answer)
            return state if len(state["blocks"]) - 1 == len(made) and state["final"] else None

        state = wait_for("the page shows the run's blocks and the final shard's report", page_state)
        assert [r["round"] for r in state["rounds"]][:2] == [1, 2] and state["holdout"]
        for block in state["blocks"][1:]:
            assert block["final_accuracy"] > 0.05, block
            assert block["gap"] == pytest.approx(block["accuracy_bps"] / 10_000 - block["final_accuracy"]), block
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert b"PoFL watch" in answer.read()
        # the page: a final and a gap cell in each block's row, newest first, as the API measured them; a square
        # on the curve for each block's final accuracy; the note says the task has ended
        browser.open(url)
        expected = [[f"{b['final_accuracy']:.4f}", f"{b['gap']:+.4f}"] for b in reversed(state["blocks"][1:])]
        cells = ("Array.from(document.querySelectorAll('#blocks tbody tr')).map(tr => "
                 "Array.from(tr.querySelectorAll('td.holdout')).map(td => td.textContent))")
        assert browser.wait(f"{BLOCK_ROWS} === {len(made)} && {cells}") == expected
        assert browser.evaluate("document.body.classList.contains('holdout-mode') && "
                                "getComputedStyle(document.querySelector('#blocks td.holdout')).display !== 'none'")
        assert browser.evaluate("document.querySelectorAll('#curve rect.final').length") == len(made)
        assert browser.evaluate("!document.querySelector('#legend-final').hidden")
        assert "the task has ended" in browser.evaluate("document.querySelector('#final-note').textContent")
        print(f"screenshot: {browser.screenshot(tmp_path / 'pofl-watch-holdout.png')}")
    finally:
        status = run.interrupt()
    assert status == 0, run.output()[-20:]


def _one_line_error(args: list[str], option: str, status: int = 2) -> str:
    result = CliRunner().invoke(cli, args)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == status, (args, result.output)
    assert len(lines) == 1 and lines[0].startswith("Error: ") and option in lines[0], (args, result.output)
    assert "Traceback" not in result.output
    return lines[0]


def test_bad_input_is_one_line_that_names_the_option(live_run: LiveRun, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    real_start = ManagedProcess.start
    monkeypatch.setattr(ManagedProcess, "start", lambda self: started.append(self.name) or real_start(self))
    url, address = live_run.rpc_url, live_run.contract.address
    eoa = fresh_signers(live_run.contract.w3, 1)[0].address  # an account, not a contract
    assert "not a PoFL consensus" in _one_line_error(["watch", "--rpc-url", url, "--contract", eoa],
                                                     "'--contract'")
    lens = live_run.contract.lens_address()  # a contract, but not a consensus
    _one_line_error(["watch", "--rpc-url", url, "--contract", lens, "--port", "0"], "'--contract'")
    _one_line_error(["blocks", "--watch", "--rpc-url", url, "--contract", eoa], "'--contract'")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        assert "is not free" in _one_line_error(["watch", "--rpc-url", url, "--contract", address, "--port", port],
                                                "'--port'")
        _one_line_error(["run", "--watch", "--watch-port", port, "--rounds", "1"], "'--watch-port'")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    _one_line_error(["watch", "--rpc-url", dead, "--port", "0"], "--rpc-url", status=1)
    assert started == [], "nothing may start before the inputs are checked"
