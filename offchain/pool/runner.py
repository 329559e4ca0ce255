"""The flexBlock PoW and PoS notebooks' loop: rounds of client training and one on-chain block each, the head
block's accuracy measured after every round (``pofl run --consensus pow|pos`` and the scripts' examples)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from offchain.data import Dataset, FedDataset
from offchain.errors import PoflValueError
from offchain.pool.notebook import (
    copy_server_model_to_clients,
    evaluate_global_model,
    get_clients_weights,
    set_aggregated_weights_to_server,
    train,
)
from offchain.pool.pos_pool import PoSBlockchainPool
from offchain.pool.pow_pool import PoWBlockchainPool
from offchain.pool.primitives import fed_avg

CONSENSUSES = ("pofl", "pow", "pos")


@dataclass(frozen=True)
class PoolRound:
    """One round: whether it made a block, the head's height, miner and accuracy on the test set, its gas."""

    round: int
    made_block: bool
    height: int
    miner: str
    accuracy: float
    seconds: float
    gas: int


def first_nodes(fed_dataset: FedDataset, n: int) -> FedDataset:
    """The first ``n`` clients of ``fed_dataset`` (a PoS pool makes every client a node)."""
    if not 2 <= n <= len(fed_dataset):
        raise PoflValueError(f"a PoS run needs 2 to {len(fed_dataset)} nodes, got {n}")
    return FedDataset({c: fed_dataset[c] for c in list(fed_dataset)[:n]})


def run_rounds(pool: PoWBlockchainPool | PoSBlockchainPool, test_data: Dataset, rounds: int, clients_per_round: int,
               on_round: Callable[[PoolRound], None] = lambda _: None,
               until_accuracy: float | None = None) -> list[PoolRound]:
    """The notebook's loop for ``rounds`` rounds, or until the head block reaches ``until_accuracy`` on
    ``test_data``; each round's row is also given to ``on_round``."""
    contract = pool.deploy()
    w3 = contract.w3
    rows = []
    for r in range(1, rounds + 1):
        started = time.perf_counter()
        pool.servers.map(copy_server_model_to_clients, pool.clients)
        selected = pool.clients.select(min(clients_per_round, len(pool.clients)))
        selected.map(train)
        pool.aggregators.map(get_clients_weights, selected)
        before = w3.eth.block_number
        made = pool.aggregate(fed_avg, set_aggregated_weights_to_server)
        # the round's transactions (on a devnet whose blocks hold only the pool's)
        gas = sum(int(w3.eth.get_block(n)["gasUsed"]) for n in range(before + 1, w3.eth.block_number + 1))
        head = pool.blockchain.get_last_block()
        assert head is not None
        server = next(iter(pool.servers.models.values()))
        row = PoolRound(r, made, head.height, head.miner, evaluate_global_model(server, test_data),
                        time.perf_counter() - started, gas)
        rows.append(row)
        on_round(row)
        if until_accuracy is not None and row.accuracy >= until_accuracy:
            break
    return rows
