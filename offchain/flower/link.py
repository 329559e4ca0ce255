"""The miner's end of a Flower SuperLink: its run, its ServerApp task, and the Grid it sends messages on.

How the miner runs the ServerApp (decided for Flower 1.42, which serves its Fleet, Control and Runtime APIs on
one HTTP port): the SuperLink runs with ``--isolation process``, so that it starts no ServerApp process of its
own, and the miner process does what ``flwr run`` and a SuperExec would do between them, with Flower's own
clients: it submits a run of the project's app bundle on the Control API (``StartRun``), claims that run's
ServerApp task on the Runtime API (``AcquireTask``, which hands out the task's token), pulls the task's input and
keeps a heartbeat, then sends and receives messages on an :class:`~flwr.superlink.grid.HttpGrid` for as long
as it mines. SuperNodes get the bundle from the SuperLink and run the ClientApp it names. Nothing is
downloaded: the bundle holds only a manifest, and the SuperLink installs no dependencies
(``--disable-runtime-dependency-installation``); the ClientApp comes from the node's own install.

Replies are polled every ``poll_s`` (the Grid's own ``send_and_receive`` sleeps 3 s between pulls).
"""

from __future__ import annotations

import hashlib
import logging
import socket
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from flwr.app import Message
from flwr.cli.build import build_fab_from_files
from flwr.common.constant import SubStatus
from flwr.common.serde import fab_to_proto, run_from_proto
from flwr.proto.control_pb2 import StartRunRequest
from flwr.proto.runtime_pb2 import AcquireTaskRequest, PullTaskInputRequest, PushTaskOutputRequest
from flwr.supercore.constant import TaskType
from flwr.supercore.control.control_http_client import ControlHttpClient
from flwr.supercore.fab import Fab
from flwr.supercore.heartbeat import HeartbeatSender, make_task_heartbeat_fn_http
from flwr.supercore.interceptors import RuntimeVersionHttpInterceptor
from flwr.supercore.runtime import RuntimeHttpClient
from flwr.supercore.task_identity import TaskIdentity
from flwr.superlink.grid import HttpGrid

from offchain.errors import ConfigError, PoflConnectionError
from offchain.flower.address import SuperLinkAddress

log = logging.getLogger("pofl.flower")

APP_BUNDLE = b"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "pofl-pool"
version = "1.0.0"
description = "PoFL-chain: a miner's pool of clients (the ClientApp comes from the node's pofl-chain install)"
license = "MIT"
dependencies = []

[tool.flwr.app]
publisher = "pofl-chain"

[tool.flwr.app.components]
serverapp = "offchain.flower.server_app:app"
clientapp = "offchain.flower.client_app:app"
"""


class SuperLinkUnreachable(PoflConnectionError):
    """No SuperLink answers at the address given."""


def app_bundle() -> Fab:
    """The FAB of the project's Flower app: a manifest naming the ServerApp and the ClientApp."""
    content, _ = build_fab_from_files({"pyproject.toml": APP_BUNDLE})
    return Fab(hashlib.sha256(content).hexdigest(), content, {})


def check_reachable(address: SuperLinkAddress, timeout_s: float = 5.0) -> None:
    """SuperLinkUnreachable unless something accepts a TCP connection at ``address``."""
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise SuperLinkUnreachable(
            f"no Flower SuperLink answers at {address} ({exc.strerror or exc}); start one "
            f"(`flower-superlink --isolation process --disable-runtime-dependency-installation ...`, see "
            f"docs/flower.md) or correct --superlink") from None


class FlowerLink:
    """The miner's run on a SuperLink (see the module docstring). One per process: Flower keeps the task's
    identity in a process-wide ``TaskIdentity``.

    Parameters:
        address: the SuperLink.
        root_certificates: a PEM file to verify the SuperLink's TLS certificate (None: the system's trust store).
        insecure: no TLS; allowed on a loopback address only.
        claim_timeout_s: how long to wait for the SuperLink to hand out the run's ServerApp task.
        poll_s: seconds between pulls of replies.
    """

    def __init__(self, address: SuperLinkAddress, *, root_certificates: Path | None = None, insecure: bool = False,
                 claim_timeout_s: float = 15.0, poll_s: float = 0.2) -> None:
        if insecure and not address.is_loopback:
            raise ConfigError(f"--superlink {address}: a SuperLink off this machine is reached over TLS only; give "
                              f"its CA certificate with --superlink-ca (plain HTTP is for loopback)")
        self.address = address
        self.poll_s = poll_s
        logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line for every poll of the SuperLink
        certificates = root_certificates.read_bytes() if root_certificates is not None else None
        check_reachable(address)
        control = ControlHttpClient.from_server_address(
            server_address=str(address), insecure=insecure, root_certificates=certificates,
            interceptors=[RuntimeVersionHttpInterceptor(component_name="flwr CLI")])
        try:
            self.run_id = int(control.StartRun(StartRunRequest(fab=fab_to_proto(app_bundle()))).run_id)
        except httpx.HTTPError as exc:
            raise SuperLinkUnreachable(f"the SuperLink at {address} refused the miner's run ({exc})") from None
        finally:
            control.close()
        token = self._claim(certificates, insecure, claim_timeout_s)
        self.grid = HttpGrid(runtime_api_address=str(address), insecure=insecure, root_certificates=certificates,
                             token=token)
        task = self.grid._runtime_client.PullTaskInput(PullTaskInputRequest())
        TaskIdentity.task_id = task.task_id
        TaskIdentity.run_id = task.run.run_id
        TaskIdentity.node_id = task.context.node_id
        self.grid.set_run(run_from_proto(task.run))
        self._heartbeat = HeartbeatSender(make_task_heartbeat_fn_http(self.grid._runtime_client))
        self._heartbeat.start()
        log.info("Flower run %d on the SuperLink at %s: this miner is its ServerApp", self.run_id, address)

    def _claim(self, certificates: bytes | None, insecure: bool, timeout_s: float) -> str:
        """The token of this run's ServerApp task, acquired as a SuperExec acquires it."""
        runtime = RuntimeHttpClient.from_server_address(
            server_address=str(self.address), insecure=insecure, root_certificates=certificates,
            interceptors=[RuntimeVersionHttpInterceptor(component_name="SuperExec")])
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                res = runtime.AcquireTask(AcquireTaskRequest(supported_task_types=[TaskType.SERVER_APP]))
                if res.HasField("task") and res.token:
                    if res.task.run_id != self.run_id:
                        raise ConfigError(f"the SuperLink at {self.address} handed this miner the ServerApp of run "
                                          f"{res.task.run_id}, not of its own run {self.run_id}: a SuperLink serves "
                                          f"one miner's pool")
                    return str(res.token)
                time.sleep(self.poll_s)
        finally:
            runtime.close()
        raise ConfigError(f"the SuperLink at {self.address} did not hand the miner its run's ServerApp within "
                          f"{timeout_s:.0f} s: it launches ServerApps itself; restart it with --isolation process")

    def nodes(self) -> list[int]:
        """The ids of the SuperNodes connected now, sorted."""
        return sorted(int(n) for n in self.grid.get_node_ids())

    def exchange(self, messages: Sequence[Message], timeout_s: float) -> dict[int, Message]:
        """Send ``messages`` and collect replies until all arrived or ``timeout_s`` passed; node id -> reply
        (an error reply too: the SuperLink answers for a node it has given up on)."""
        ids = [str(i) for i in self.grid.push_messages(list(messages))]
        waiting = {mid: int(m.metadata.dst_node_id) for mid, m in zip(ids, messages, strict=True) if mid}
        replies: dict[int, Message] = {}
        deadline = time.monotonic() + timeout_s
        while waiting and time.monotonic() < deadline:
            for reply in self.grid.pull_messages(list(waiting)):
                node = waiting.pop(reply.metadata.reply_to_message_id, None)
                if node is not None:
                    replies[node] = reply
            if waiting:
                time.sleep(self.poll_s)
        if waiting:
            log.warning("no reply from SuperNodes %s within %.0f s; the round goes on without them",
                        sorted(waiting.values()), timeout_s)
        return replies

    def close(self) -> None:
        """Report the run's ServerApp as completed, stop the heartbeat and disconnect."""
        self._heartbeat.stop()
        try:
            self.grid._retry_invoker.max_tries = 1
            self.grid._runtime_client.PushTaskOutput(PushTaskOutputRequest(sub_status=SubStatus.COMPLETED,
                                                                           details=""))
        except httpx.HTTPError as exc:
            log.warning("could not report the end of Flower run %d: %s", self.run_id, exc)
        self.grid.close()
