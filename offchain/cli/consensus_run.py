"""``pofl run --consensus pow|pos``: flexBlock's PoW or PoS notebook on a chain (offchain.pool.runner), each
consensus its own contract deployment; ``--miners`` miners (PoW) or nodes (PoS: each client, aggregator and
miner, the federation's first N clients). ``pofl run --consensus scaled``: the PoFL workload on the scaled mode's
contract (PoFLScaled, docs/scaling.md), every miner in this process."""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from offchain.cli.output import Output, data_table

if TYPE_CHECKING:
    from offchain.cli.options import Endpoint
    from offchain.miner.records import RoundRecord
    from offchain.miner.run_config import RunConfig
    from offchain.store.base import ModelStore


def run_consensus_pool(consensus: str, *, n_miners: int, clients_per_round: int, seed: int, rounds: int,
                       until_accuracy: float | None, endpoint_url: str, owner_key: str | None,
                       miner_keys: list[str] | None, ipfs_api: str | None, store_dir: str | None, out: Output) -> None:
    """Run ``rounds`` rounds (or until ``until_accuracy``) of the ``consensus`` pool and report them."""
    from offchain.datasets import load
    from offchain.pool import PoSBlockchainPool, PoWBlockchainPool
    from offchain.pool.notebook import build_server_model
    from offchain.pool.runner import PoolRound, first_nodes, run_rounds

    fed_dataset, test_data = load("federated_mnist", return_test=True)
    chain = {"rpc_url": endpoint_url, "ipfs_api": ipfs_api, "store_dir": None if ipfs_api else store_dir,
             "seed": seed, "owner_key": owner_key if miner_keys else None, "miner_keys": miner_keys}
    pool: Any
    if consensus == "pow":
        pool = PoWBlockchainPool(fed_dataset, build_server_model, n_miners, **chain)
    else:
        pool = PoSBlockchainPool(first_nodes(fed_dataset, n_miners), build_server_model, **chain)

    def show(row: PoolRound) -> None:
        made = f"block {row.height} by {row.miner}" if row.made_block else f"no block (head {row.height})"
        out.line(f"round {row.round}: {made}, accuracy {row.accuracy:.4f}, {row.gas:,} gas, {row.seconds:.1f} s")

    with contextlib.closing(pool):
        rows = run_rounds(pool, test_data, rounds, clients_per_round, show, until_accuracy)
        table = data_table(f"pofl run --consensus {consensus}", ["round", "block", "miner", "accuracy", "gas", "s"],
                           right=("round", "block", "accuracy", "gas", "s"))
        for r in rows:
            table.add_row(str(r.round), str(r.height) if r.made_block else "-", r.miner, f"{r.accuracy:.4f}",
                          f"{r.gas:,}", f"{r.seconds:.1f}")
        out.table(table)
        report = {"consensus": consensus, "contract": pool.contract.address, "blocks": len(pool.blockchain),
                  "rounds": [asdict(r) for r in rows]}
        if consensus == "pow":
            report |= {"difficulty": pool.contract.difficulty(), "hashes": pool.hashes,
                       "hashes_per_second": pool.hashes / pool.hashing_seconds if pool.hashing_seconds else 0.0}
        out.result(report, lambda: click.echo(f"{report['blocks'] - 1} blocks on {consensus} contract "
                                              f"{report['contract']}"))


def run_scaled_consensus(config: RunConfig, *, rounds: int, until_accuracy: float | None, endpoint: Endpoint,
                         key_sources: Any, miner_keys: list[str] | None, store: ModelStore, out: Output) -> None:
    """``pofl run --consensus scaled``: deploy PoFLScaled, register ``config.n_miners`` miners (``miner_keys``, or
    the devnet's accounts 1..N) and drive them in this process (offchain.app.scaled_run); report the rounds."""
    from offchain.app.preflight import miner_signers
    from offchain.app.scaled_run import run_scaled
    from offchain.chain.accounts import LocalSigner
    from offchain.chain.connect import connect
    from offchain.chain.keys import dev_keys_allowed
    from offchain.cli.options import signing_key
    from offchain.cli.tables import rounds_table
    from offchain.errors import KeyPolicyError

    w3 = connect(endpoint.url)
    owner_key = signing_key(endpoint, w3.eth.chain_id, key_sources)
    if miner_keys is None and not dev_keys_allowed(endpoint.url, w3.eth.chain_id, started_here=endpoint.started_here):
        raise KeyPolicyError(f"the miners' dev keys are public: on {endpoint.url} give the miners' keys "
                             "(--miner-keys FILE, one a line)")

    def show(r: RoundRecord) -> None:
        made = (f"block {r.block_height} by miner {r.winner} at {r.chain_accuracy:.4f}" if r.block_height is not None
                else "no block")
        out.line(f"round {r.round}: {made}, {len(r.miner_accuracies)} claims, {r.gas_used:,} gas, "
                 f"{sum(r.seconds.values()):.1f} s")

    done = run_scaled(LocalSigner(w3, owner_key), miner_signers(w3, config.n_miners, miner_keys), config, store,
                      rounds=rounds, until_accuracy=until_accuracy, on_round=show)
    out.table(rounds_table(done.records))
    head = done.contract.latest_block()
    report = {"consensus": "scaled", "contract": done.contract.address, "blocks": done.blocks,
              "head_height": done.contract.block_count() - 1, "head_accuracy": head.accuracy_bps / 10_000,
              "head_cid": head.cid, "seconds": done.seconds, "rounds": [asdict(r) for r in done.records]}
    out.result(report, lambda: click.echo(
        f"{report['blocks']} blocks on the scaled contract {report['contract']}; head: block {report['head_height']} "
        f"at {report['head_accuracy']:.4f}, {report['head_cid']}"))
