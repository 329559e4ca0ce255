"""``pofl watch``'s page and its HTTP API (Starlette), served on loopback by uvicorn; read-only.

    GET /              the page (static/index.html; its script and style beside it: nothing from a CDN)
    GET /api/state     the state so far (:meth:`~offchain.app.watch.WatchState.snapshot`)
    GET /api/events    server-sent events: ``state`` (the snapshot) first, then an ``update`` (a
                       :meth:`~offchain.app.watch.WatchState.delta`) after every look at the chain that changed
                       something; a comment every 15 s keeps an idle stream open

A :class:`WatchService` looks at the chain in a worker thread (:meth:`~offchain.app.follower.ChainFollower.fetch`:
only the logs mined since its last look), folds what it read on the event loop, and publishes the change to
every open stream. When the RPC fails it says so on the page (``link.connected`` false, with the error) and tries
again, from the same cursor, until the node answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from offchain.app.follower import ChainFollower
from offchain.app.watch import Touched, WatchState
from offchain.errors import LauncherError, PortInUseError
from offchain.redaction import redact_text

STATIC_DIR = Path(__file__).parent / "static"
KEEPALIVE_S = 15.0
MAX_RETRY_S = 5.0

log = logging.getLogger("pofl.watch")


class Hub:
    """The open event streams: each a queue of (event name, data); None ends a stream."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[tuple[str, dict[str, Any]] | None]] = set()

    def subscribe(self) -> asyncio.Queue[tuple[str, dict[str, Any]] | None]:
        queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()
        self.queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[tuple[str, dict[str, Any]] | None]) -> None:
        self.queues.discard(queue)

    def publish(self, name: str, data: dict[str, Any]) -> None:
        for queue in self.queues:
            queue.put_nowait((name, data))

    def close(self) -> None:
        for queue in self.queues:
            queue.put_nowait(None)


class WatchService:
    """The follower's loop and the state it folds (see the module docstring).

    Parameters:
        follower: reads the chain.
        poll_s: seconds between two looks once caught up.
        rpc_url: the RPC's URL, only to keep its secrets out of the errors the page shows.
    """

    def __init__(self, follower: ChainFollower, *, poll_s: float = 1.0, rpc_url: str = "") -> None:
        self.follower = follower
        self.state: WatchState = follower.initial_state()
        self.poll_s = poll_s
        self.rpc_url = rpc_url
        self.hub = Hub()
        self.loop: asyncio.AbstractEventLoop | None = None  # the server's, while it runs

    def _error(self, exc: BaseException) -> str:
        text = redact_text(str(exc), self.rpc_url) if self.rpc_url else str(exc)
        return f"{exc.__class__.__name__}: {' '.join(text.split())[:300]}"

    async def look(self) -> bool:
        """One look at the chain: fold and publish what changed; whether the chain answered."""
        state, follower = self.state, self.follower
        try:
            events = await asyncio.to_thread(follower.fetch)
        except Exception as exc:  # the RPC down, a node error: shown on the page, and the next look retries
            log.warning("watch: the chain did not answer: %s", self._error(exc))
            if state.set_link(False, f"the chain's RPC does not answer: {self._error(exc)}"):
                self.hub.publish("update", state.delta(Touched()))
            return False
        touched = state.apply_all(events)
        linked = state.set_link(True, None, follower.cursor, follower.latest)
        if touched or linked:
            self.hub.publish("update", state.delta(touched))
        return True

    async def run(self) -> None:
        """Look at the chain until cancelled: at once while behind, every ``poll_s`` once caught up, backing off
        up to 5 s while the chain does not answer."""
        retry = self.poll_s
        while True:
            if await self.look():
                retry = self.poll_s
                if not self.follower.behind:
                    await asyncio.sleep(self.poll_s)
            else:
                await asyncio.sleep(retry)
                retry = min(MAX_RETRY_S, retry * 2)


def _sse(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


def create_app(service: WatchService, *, follow: bool = True) -> Starlette:
    """The page and its API over ``service`` (``follow``: run its loop while the app runs)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        service.loop = asyncio.get_running_loop()
        task = asyncio.create_task(service.run()) if follow else None
        try:
            yield
        finally:
            service.hub.close()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def page(_request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def state(_request: Request) -> Response:
        return JSONResponse(json.loads(json.dumps(service.state.snapshot(), default=str)))

    async def events(request: Request) -> Response:
        queue = service.hub.subscribe()

        async def stream() -> AsyncIterator[str]:
            try:
                yield _sse("state", service.state.snapshot())
                while True:
                    try:
                        item = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield ": keepalive\n\n"
                        continue
                    if item is None:
                        return
                    yield _sse(*item)
            finally:
                service.hub.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return Starlette(routes=[Route("/", page), Route("/api/state", state), Route("/api/events", events),
                             Mount("/static", StaticFiles(directory=STATIC_DIR), name="static")],
                     lifespan=lifespan)


def bind_loopback(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: a free port), bound now, so that a port in use is said
    before anything starts (:class:`~offchain.errors.PortInUseError`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not a listening port: one in TIME_WAIT
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise PortInUseError(f"127.0.0.1:{port} is not free ({exc.strerror}): pick another port, or 0 for a free "
                             f"one") from None
    sock.set_inheritable(True)
    return sock


class WatchServer:
    """The page served by uvicorn in a thread of its own, on a socket bound beforehand (:func:`bind_loopback`)."""

    def __init__(self, service: WatchService, sock: socket.socket) -> None:
        import uvicorn

        self.service = service
        self.sock = sock
        config = uvicorn.Config(create_app(service), log_config=None, log_level="warning", access_log=False,
                                lifespan="on", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, name="pofl-watch",
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/"

    def start(self, timeout_s: float = 30.0) -> WatchServer:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise LauncherError(f"the page's server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        loop = self.service.loop
        if loop is not None and not loop.is_closed():  # end the open streams first: nothing waits on them
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.service.hub.close)
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()
