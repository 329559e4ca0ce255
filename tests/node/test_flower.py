"""The Flower pool (`pofl miner --pool flower`) against a real SuperLink and real SuperNodes on loopback: the
same model as the in-process engine, a node that dies mid-round, and the ways it refuses to start."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from offchain.errors import ConfigError
from offchain.flower.address import SuperLinkAddress
from offchain.flower.link import SuperLinkUnreachable
from offchain.flower.pool import FlowerPool, FlowerSettings, TooFewNodes
from offchain.miner.pools import InProcessPool, Trained
from offchain.miner.run_config import RunConfig
from offchain.miner.workload import Workload
from offchain.servers.process import free_port

# 3 miners; an iid federation of 60 clients of 1,000 samples, all drawn every round: miner 0 leads 20 of them
CONFIG = RunConfig(n_miners=3, min_committee=2, partition="iid", n_clients=60, clients_per_round=60, seed=5)


@pytest.fixture(scope="module")
def workload() -> Workload:
    return Workload(CONFIG)


def mine(workload: Workload, n: int) -> np.ndarray:
    """The first ``n`` clients of miner 0."""
    return np.flatnonzero(workload.owners == 0)[:n]


def settings(link: Any, **kwargs: Any) -> FlowerSettings:
    return FlowerSettings(link.address, **{"connect_timeout_s": 60.0, "reply_timeout_s": 120.0, **kwargs})


@pytest.mark.timeout(240)
def test_the_flower_pool_trains_the_same_model_as_the_in_process_engine(superlink: Any, supernodes: Any) -> None:
    """Three SuperNodes, the median aggregator and a block-momentum look-ahead (two blocks adopted): the model the
    Flower pool aggregates equals the in-process engine's, from the same clients, within 1e-5."""
    config = RunConfig(**{**CONFIG.__dict__, "aggregator": "median"})
    workload = Workload(config)
    clients = mine(workload, 3)
    supernodes(list(clients))
    trainer = workload.restricted_to(clients)
    step = torch.randn(workload.flat.numel, generator=torch.Generator().manual_seed(1)) * 0.01
    for block in (workload.genesis, workload.genesis + step):  # the chain moved: the look-ahead is 0.5 * step
        trainer.on_block(block)
    head = workload.genesis + step
    pool = FlowerPool(workload, trainer, clients, settings(superlink, min_nodes=3))
    try:
        flower = pool.train(2, {0: head})
    finally:
        pool.close()
    local = InProcessPool(workload, trainer, {0: 0}).train(2, {0: head})
    assert flower.clients_trained == local.clients_trained == 3
    assert not torch.equal(flower.models[0], head)
    assert (flower.models[0] - local.models[0]).abs().max().item() < 1e-5


def clientapp_starts(node: Any) -> int:
    return node.process.log_tail(1_000_000).count("Start `flwr-clientapp`")


def stop_mid_round(pool: FlowerPool, workload: Workload, round_id: int, doomed: list[Any],
                   end: Callable[[Any], None]) -> Trained:
    """Run ``round_id`` in a thread; once every node of ``doomed`` has started training, ``end`` each of them."""
    before = [clientapp_starts(n) for n in doomed]
    result: list[Trained] = []
    round_thread = threading.Thread(target=lambda: result.append(pool.train(round_id, {0: workload.genesis})))
    round_thread.start()
    deadline = time.monotonic() + 120
    while any(clientapp_starts(n) == b for n, b in zip(doomed, before, strict=True)):  # their training began
        assert time.monotonic() < deadline and round_thread.is_alive(), "a node never got its train message"
        time.sleep(0.1)
    for node in doomed:
        end(node)
    round_thread.join(240)
    assert result, "the round never ended"
    return result[0]


@pytest.mark.timeout(240)
def test_a_supernode_that_stops_mid_round_does_not_stop_the_miner(workload: Workload, superlink: Any,
                                                                   supernodes: Any) -> None:
    """Decided: the round goes on with the replies it has. A node that stops (SIGTERM: it signs off at the
    SuperLink) is answered for by the SuperLink at once, so the round does not wait out --reply-timeout (300 s
    here, never reached); with no reply at all the miner sits the round out (keeps its model) and goes on."""
    clients = mine(workload, 2)
    survivor, doomed = supernodes(list(clients))
    pool = FlowerPool(workload, workload.restricted_to(clients), clients,
                      settings(superlink, min_nodes=2, reply_timeout_s=300.0))
    try:
        trained = stop_mid_round(pool, workload, 1, [doomed], lambda n: n.process.stop())
        assert trained.clients_trained == 1
        alone = InProcessPool(workload, workload.restricted_to(clients[:1]), {0: 0}).train(1, {0: workload.genesis})
        assert (trained.models[0] - alone.models[0]).abs().max().item() < 1e-5

        assert stop_mid_round(pool, workload, 2, [survivor], lambda n: n.process.stop()).models == {}
    finally:
        pool.close()


@pytest.mark.soak
@pytest.mark.timeout(400)
def test_a_supernode_killed_mid_round_does_not_stop_the_miner(workload: Workload, superlink: Any,
                                                              supernodes: Any) -> None:
    """A node killed outright (SIGKILL: it never signs off) is given up on when the SuperLink's heartbeat
    patience runs out (Flower's SuperNode beats every 30 s, patience 2) or at --reply-timeout, whichever is first;
    the round goes on with the survivor's reply. Soak: it waits about a minute for the SuperLink."""
    clients = mine(workload, 2)
    _survivor, doomed = supernodes(list(clients))
    pool = FlowerPool(workload, workload.restricted_to(clients), clients,
                      settings(superlink, min_nodes=2, reply_timeout_s=300.0))
    try:
        trained = stop_mid_round(pool, workload, 1, [doomed], lambda n: n.kill())
        assert trained.clients_trained == 1
    finally:
        pool.close()


def test_no_superlink_at_the_address_is_refused_with_what_to_do(workload: Workload) -> None:
    address = SuperLinkAddress("127.0.0.1", free_port())
    with pytest.raises(SuperLinkUnreachable, match=rf"no Flower SuperLink answers at 127\.0\.0\.1:{address.port}.*"
                                                   r"flower-superlink --isolation process.*--superlink"):
        FlowerPool(workload, workload.restricted_to(mine(workload, 1)), mine(workload, 1), FlowerSettings(address))


@pytest.mark.timeout(120)
def test_fewer_supernodes_than_needed_is_refused_naming_the_count(workload: Workload, superlink: Any,
                                                                  supernodes: Any) -> None:
    clients = mine(workload, 2)
    supernodes([int(clients[0]), int(np.flatnonzero(workload.owners == 1)[0])])  # one of ours, one of miner 1's
    with pytest.raises(TooFewNodes, match=r"^1 SuperNode\(s\) of this miner's clients connected .* within 5 s; "
                                          r"--min-nodes 2 needs 2: start more \(`flower-supernode --superlink"):
        FlowerPool(workload, workload.restricted_to(clients), clients,
                   settings(superlink, min_nodes=2, connect_timeout_s=5.0))


def test_a_superlink_off_loopback_is_reached_over_tls_only(workload: Workload) -> None:
    with pytest.raises(ConfigError, match=r"--superlink 192\.0\.2\.7:9093: .* over TLS only.*--superlink-ca"):
        FlowerPool(workload, workload.trainer, mine(workload, 1),
                   FlowerSettings(SuperLinkAddress("192.0.2.7", 9093), insecure=True))

