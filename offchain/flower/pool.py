"""The Flower pool backend: the miner's clients are SuperNodes, and the miner is their ServerApp.

Each round :class:`FlowerPool`:

1. starts from the miner's model (the chain's head block it adopted, fetched by CID), moved by the run's block
   momentum exactly as the in-process engine moves it (:meth:`~offchain.fl.round_training.RoundTrainer.look_ahead`);
2. selects its clients as a pure function of (seed, round) over the connected nodes: the run's global draw
   (:func:`~offchain.miner.selection.select_clients`) restricted to the clients the connected nodes are and this
   miner leads, in the draw's order; a node's client number is asked once (a ``query`` message) when it is first
   seen;
3. sends each selected node the start model and the run's settings (a ``train`` message), and waits up to
   ``reply_timeout_s`` for the replies;
4. aggregates the replies with the run's aggregator (FedAvg, median, Krum, ...), weighted by their sample counts.

A node that dies or errs mid-round does not stop the miner: the round goes on with the replies it has once the
timeout has passed (error replies are dropped at once). When no selected node replies, the miner sits the round
out with the model it holds, as when none of its clients is drawn.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MessageType, RecordDict

from offchain.errors import ConfigError, PoflTimeoutError
from offchain.fl.round_training import RoundTrainer
from offchain.flower.address import SuperLinkAddress
from offchain.flower.link import FlowerLink
from offchain.miner.pools import Trained
from offchain.miner.selection import select_clients
from offchain.miner.workload import Workload

log = logging.getLogger("pofl.flower")


class TooFewNodes(PoflTimeoutError):
    """Fewer SuperNodes than the miner needs connected within its wait."""


@dataclass(frozen=True)
class FlowerSettings:
    """How a miner reaches and waits for its pool.

    Parameters:
        superlink: the SuperLink's address.
        root_certificates: PEM file of the CA that signed the SuperLink's TLS certificate (None: the system's).
        insecure: plain HTTP, for a loopback SuperLink only (the default there when no certificate is given).
        min_nodes: SuperNodes that must be connected (and answer who they are) before the miner starts.
        connect_timeout_s: how long to wait for them.
        reply_timeout_s: how long a round waits for its nodes' replies before it goes on with those it has.
        poll_s: seconds between looks at the SuperLink.
        claim_timeout_s: how long to wait for the SuperLink to hand the miner its run's ServerApp task.
    """

    superlink: SuperLinkAddress
    root_certificates: Path | None = None
    insecure: bool | None = None
    min_nodes: int = 1
    connect_timeout_s: float = 120.0
    reply_timeout_s: float = 120.0
    poll_s: float = 0.2
    claim_timeout_s: float = 15.0

    def __post_init__(self) -> None:
        if self.min_nodes < 1:
            raise ConfigError(f"--min-nodes must be at least 1, got {self.min_nodes}")
        if self.reply_timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise ConfigError("--reply-timeout and the connect timeout must be positive")

    @property
    def plain_http(self) -> bool:
        if self.insecure is not None:
            return self.insecure
        return self.root_certificates is None and self.superlink.is_loopback


class FlowerPool:
    """A :class:`~offchain.miner.pools.PoolBackend` whose clients are Flower SuperNodes (see the module docstring).

    Parameters:
        workload: the run's settings, federation and model layout.
        trainer: the miner's trainer: its aggregator and the chain's block delta for the look-ahead.
        clients: the client numbers this miner leads (nodes that say they are another client are ignored).
        settings: the SuperLink and the waits.
    """

    def __init__(self, workload: Workload, trainer: RoundTrainer, clients: np.ndarray,
                 settings: FlowerSettings) -> None:
        if workload.config.attack != "none":
            raise ConfigError(f"--attack {workload.config.attack}: attacks are simulated in process; a Flower pool's "
                              "clients are real nodes (use --pool in-process for attack experiments)")
        self.workload = workload
        self.trainer = trainer
        self.clients = {int(c) for c in clients}
        self.settings = settings
        self.link = FlowerLink(settings.superlink, root_certificates=settings.root_certificates,
                               insecure=settings.plain_http, poll_s=settings.poll_s,
                               claim_timeout_s=settings.claim_timeout_s)
        self.client_of: dict[int, int] = {}  # node id -> client number, asked once
        self.client_seconds: dict[int, dict[str, float]] = {}  # last round: client -> its own load/train seconds
        self._run_config = ConfigRecord({"run-config": workload.config.to_json()})
        try:
            self.wait_for_nodes(settings.min_nodes, settings.connect_timeout_s)
        except BaseException:
            self.link.close()
            raise

    # ------------------------------------------------------------------ nodes

    def wait_for_nodes(self, n: int, timeout_s: float) -> dict[int, int]:
        """Until ``n`` connected nodes are clients of this miner (node id -> client number); TooFewNodes after
        ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            mine = self.identify()
            if len(mine) >= n:
                return mine
            if time.monotonic() > deadline:
                raise TooFewNodes(
                    f"{len(mine)} SuperNode(s) of this miner's clients connected to the SuperLink at "
                    f"{self.settings.superlink} within {timeout_s:.0f} s; --min-nodes {n} needs {n}: start more "
                    f"(`flower-supernode --superlink {self.settings.superlink} --node-config 'partition-id=I'`, I "
                    f"one of the miner's clients) or lower --min-nodes")
            time.sleep(max(self.settings.poll_s, 0.5))

    def identify(self) -> dict[int, int]:
        """The connected nodes that are clients of this miner (node id -> client number); nodes seen for the first
        time are asked who they are."""
        nodes = self.link.nodes()
        new = [n for n in nodes if n not in self.client_of]
        if new:
            messages = [Message(RecordDict(), n, MessageType.QUERY) for n in new]
            for node, reply in self.link.exchange(messages, self.settings.reply_timeout_s).items():
                if reply.has_error():
                    log.warning("SuperNode %d could not say who it is: %s", node, reply.error.reason)
                    continue
                client = int(reply.content["metrics"]["client"])
                if client not in self.clients:
                    log.warning("SuperNode %d is client %d, not one of this miner's clients; it is left out", node,
                                client)
                self.client_of[node] = client
        taken: dict[int, int] = {}  # client -> the first node (by id) that is it
        for node in nodes:
            client = self.client_of.get(node)
            if client in self.clients and client not in taken:
                taken[client] = node
        return {node: client for client, node in taken.items()}

    # ------------------------------------------------------------------ rounds

    def select(self, round_id: int, connected: dict[int, int]) -> list[tuple[int, int]]:
        """(client, node) of the round's draw among the connected clients, in the draw's order."""
        config = self.workload.config
        node_of = {client: node for node, client in connected.items()}
        drawn = select_clients(config.seed, round_id, self.workload.federation.n_clients, config.clients_per_round)
        return [(int(c), node_of[int(c)]) for c in drawn if int(c) in node_of]

    def train(self, round_id: int, models: dict[int, torch.Tensor]) -> Trained:
        if sorted(models) != [0]:
            raise ConfigError("a Flower pool trains the clients of one miner (local position 0)")
        t0 = time.perf_counter()
        chosen = self.select(round_id, self.identify())
        if not chosen:
            return Trained({}, 0, {"flower": time.perf_counter() - t0})
        model = models[0]
        start = self.trainer.look_ahead(model)
        params = ArrayRecord({"params": Array(start.detach().cpu().numpy())})
        messages = [Message(RecordDict({"arrays": params, "config": self._run_config}), node, MessageType.TRAIN,
                            group_id=str(round_id)) for _, node in chosen]
        replies = self.link.exchange(messages, self.settings.reply_timeout_s)
        t1 = time.perf_counter()
        rows, sizes = [], []
        self.client_seconds = {}
        for client, node in chosen:
            reply = replies.get(node)
            if reply is None:
                continue
            if reply.has_error():
                log.warning("round %d: client %d (SuperNode %d) failed: %s", round_id, client, node,
                            reply.error.reason)
                continue
            trained = torch.from_numpy(np.array(reply.content["arrays"]["params"].numpy(), dtype=np.float32))
            if trained.shape != start.shape:
                log.warning("round %d: client %d replied %s parameters, not %s; left out", round_id, client,
                            tuple(trained.shape), tuple(start.shape))
                continue
            rows.append(trained.to(start.device))
            metrics = reply.content["metrics"]
            sizes.append(float(metrics["num-examples"]))
            self.client_seconds[client] = {"load": float(metrics["load-seconds"]),
                                           "train": float(metrics["train-seconds"])}
        if not rows:
            log.warning("round %d: none of the %d selected clients replied; this miner sits the round out",
                        round_id, len(chosen))
            return Trained({}, 0, {"flower": t1 - t0})
        weights = torch.tensor(sizes, dtype=torch.float32, device=start.device)
        new = self.trainer.aggregator.aggregate(torch.stack(rows), weights, start)
        t2 = time.perf_counter()
        log.info("round %d: %d of %d selected clients replied", round_id, len(rows), len(chosen))
        return Trained({0: new}, len(rows), {"flower": t1 - t0, "aggregate": t2 - t1})

    def close(self) -> None:
        self.link.close()
