"""flexBlock's PoW and PoS pools on a real Anvil and a real store: the notebook's calls, blocks on chain linked by
hash, every miner on the block's model; PoW's race under the contract's target; PoS's draw by stake, the winner's
stake + 1, and a proposer whose model cannot be loaded losing its turn and bond."""

from __future__ import annotations

import itertools

import pytest
import torch

from offchain.chain.errors import PoSNotProposer, PoSWrongTurn
from offchain.pool import PoolConfig, PoSBlockchainPool, PoWBlockchainPool, fed_avg
from offchain.servers.devnet import Devnet
from tests.support.flexnotebook import (
    build_server_model,
    copy_server_model_to_clients,
    get_clients_weights,
    set_aggregated_weights_to_server,
    small_federation,
    state_list,
    train,
)


def notebook_round(pool: PoWBlockchainPool | PoSBlockchainPool, n_selected: int) -> list[list[torch.Tensor]]:
    """The notebook's round up to aggregate; the weights the selected clients sent."""
    pool.servers.map(copy_server_model_to_clients, pool.clients)
    selected = pool.clients.select(n_selected)
    selected.map(train)
    pool.aggregators.map(get_clients_weights, selected)
    return [w for m in pool.aggregators.models.values() for w in m.get("weights", [])]


def assert_linked_and_adopted(pool: PoWBlockchainPool | PoSBlockchainPool, blocks: int) -> None:
    chain = pool.blockchain.chain
    assert [b.height for b in chain] == list(range(blocks + 1))
    assert all(child.previous_hash == parent.hash for parent, child in itertools.pairwise(chain))
    head = chain[-1].weights  # fetched from the store by CID, verified
    for model in pool.servers.models.values():
        assert all(torch.equal(a, b) for a, b in zip(state_list(model), head, strict=True))


def test_pow_pool_miners_race_for_blocks_under_the_contracts_target(anvil: Devnet) -> None:
    pool = PoWBlockchainPool(small_federation(6), build_server_model, number_of_miners=3, rpc_url=anvil.rpc_url,
                             batch=1024)
    try:
        assert len(pool) == 9 and len(pool.servers) == 3
        for _ in range(2):
            sent = notebook_round(pool, 4)
            assert pool.aggregate(fed_avg, set_aggregated_weights_to_server) is True
            # flexBlock's PoW: the winner averaged every miner's clients' weights
            head = pool.blockchain.get_last_block()
            assert all(torch.allclose(a, b) for a, b in zip(head.weights, fed_avg(sent), strict=True))
        assert_linked_and_adopted(pool, 2)
        for block in pool.blockchain.chain[1:]:
            assert block.hash[2:].startswith("0" * block.chain_block.difficulty)
            assert block.miner in {s.address for s in pool._signers.values()}
        assert pool.hashes > 0 and pool.contract.difficulty() >= 1
    finally:
        pool.close()


def test_pos_pool_draws_by_stake_and_rewards_the_winner_with_stake(anvil: Devnet) -> None:
    pool = PoSBlockchainPool(small_federation(4), build_server_model, rpc_url=anvil.rpc_url,
                             config=PoolConfig(gossip_before_agg=True, gossip_on_agg=True, aggregate_before_agg=False))
    try:
        assert len(pool) == 4 and pool.servers.models.keys() == pool.clients.models.keys()  # every node is both
        assert {pool.stake_of(n) for n in pool.servers.models} == {32}  # flexBlock's initial_stake
        proposers = []
        for _ in range(2):
            notebook_round(pool, 3)
            proposers.append(pool.draw())
            assert pool.aggregate(fed_avg, set_aggregated_weights_to_server) is True
        assert_linked_and_adopted(pool, 2)
        stakes = {n: pool.stake_of(n) for n in pool.servers.models}
        assert sum(stakes.values()) == 4 * 32 + 2
        for node in set(proposers):
            assert stakes[node] == 32 + proposers.count(node)
        assert [b.miner for b in pool.blockchain.chain[1:]] == [pool.signer_of(n).address for n in proposers]
    finally:
        pool.close()


def test_pos_proposer_whose_model_cannot_be_loaded_loses_its_turn_and_bond(anvil: Devnet) -> None:
    pool = PoSBlockchainPool(small_federation(4), build_server_model, rpc_url=anvil.rpc_url)
    try:
        proposer = pool.draw()
        signer = pool.signer_of(proposer)
        contract = pool.contract
        assert contract is not None
        stake = contract.stake_of(signer.address)
        garbage = pool.store.put(b"not a model, " * 64)  # in the store, but it does not load as a model
        contract.propose(signer, contract.head_hash(), garbage).wait()
        assert pool.attest_and_finalize() is False  # the attesters fetched it and could not load it
        assert contract.stake_of(signer.address) == stake - contract.bond()
        assert contract.block_count() == 1 and pool.stake_of(proposer) == 32
        turn = contract.current_turn()
        assert (turn.height, turn.attempt) == (1, 2)
        with pytest.raises(PoSWrongTurn):  # the lost proposal is gone
            contract._send(pool.signer_of(next(n for n in pool.servers.models if n != proposer)), "attest", 1, 1,
                           True, gas=200_000).wait()
        if pool.draw() != proposer:
            with pytest.raises(PoSNotProposer):
                contract.propose(signer, contract.head_hash(), garbage).wait()
        notebook_round(pool, 2)  # the next proposer's block goes through
        assert pool.aggregate(fed_avg, set_aggregated_weights_to_server) is True
        assert_linked_and_adopted(pool, 1)
    finally:
        pool.close()
