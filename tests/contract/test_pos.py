"""PoSConsensus on a real Anvil: the proposer drawn by weight from a block mined after its turn opened, the
winner's weight + 1 (flexBlock), a proposal attested loadable becomes a block; a proposer whose model cannot be
loaded, or that does not propose in time, loses its turn and its bond; every refusal by its error."""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.logs import DISCARD

from offchain.chain.errors import (
    PoSAlreadyAttested,
    PoSDeadlinePending,
    PoSEmptyDigest,
    PoSNotProposer,
    PoSProposerCannotAttest,
    PoSSeedPending,
    PoSStaleParent,
    PoSWrongPhase,
    PoSWrongTurn,
)
from offchain.chain.ledger import Penalty
from offchain.chain.pos import PoSSettings, TurnPhase
from offchain.store.cid import CidKind, cid_from_digest
from offchain.testing.rounds import placeholder_cid
from tests.support.powpos import STAKE, PoS, deploy_pos, expected_proposer, increase_time, mine_empty_block


def drawn(pos: PoS) -> tuple[int, int, str]:
    """Mine the seed block if it is not yet, and return the turn's (height, attempt, proposer)."""
    turn = pos.contract.current_turn()
    while pos.contract.w3.eth.block_number <= turn.seed_block:
        mine_empty_block(pos.contract.w3)
    turn = pos.contract.current_turn()
    assert turn.proposer is not None
    return turn.height, turn.attempt, turn.proposer


def others(pos: PoS, proposer: str) -> list:
    return [m for m in pos.members if m.address != proposer]


def test_the_drawn_proposer_proposes_attesters_load_and_the_block_is_accepted(anvil_w3: Web3) -> None:
    pos = deploy_pos(anvil_w3, 4)
    c = pos.contract
    assert c.weight_of(pos.members[0].address) == 32 and c.total_weight() == 4 * 32  # flexBlock's initial_stake
    height, attempt, proposer = drawn(pos)
    assert (height, attempt) == (1, 1) and proposer == expected_proposer(pos)
    genesis = c.latest_block()
    cid = placeholder_cid("m1")
    c.propose(pos.by_address(proposer), genesis.block_hash, cid).wait()
    turn = c.current_turn()
    assert turn.phase == TurnPhase.ATTESTING and turn.cid == cid
    a, b, _ = others(pos, proposer)
    c.attest(a, 1, 1, True).wait()
    with pytest.raises(PoSDeadlinePending):  # one of a quorum of two
        c.finalize(a).wait()
    c.attest(b, 1, 1, True).wait()
    c.finalize(a).wait()
    block = c.latest_block()
    assert (block.height, block.cid, block.maker, block.parent_hash) == (1, cid, proposer, genesis.block_hash)
    assert c.weight_of(proposer) == 33 and c.total_weight() == 4 * 32 + 1  # the winner's stake + 1
    assert c.pending_rewards(proposer) == PoSSettings().block_reward
    assert c.current_turn().height == 2
    # the draw follows the weights: recomputed here from the seed block's hash
    assert drawn(pos)[2] == expected_proposer(pos)


def test_the_draw_is_unknown_until_the_seed_block_is_mined(anvil_w3: Web3) -> None:
    pos = deploy_pos(anvil_w3, 3, PoSSettings(seed_lookahead=50, quorum=2))
    turn = pos.contract.current_turn()
    assert turn.phase == TurnPhase.DRAWING and turn.proposer is None
    assert turn.seed_block > anvil_w3.eth.block_number
    with pytest.raises(PoSSeedPending):
        pos.contract.draw(pos.members[0]).wait()


def test_a_member_that_was_not_drawn_cannot_propose(anvil_w3: Web3) -> None:
    pos = deploy_pos(anvil_w3, 3)
    _, _, proposer = drawn(pos)
    outsider = others(pos, proposer)[0]
    with pytest.raises(PoSNotProposer) as caught:
        pos.contract.propose(outsider, pos.contract.head_hash(), placeholder_cid("x")).wait()
    assert caught.value.args_by_name == {"proposer": proposer, "caller": outsider.address}


def test_the_drawn_proposer_cannot_propose_an_empty_model(anvil_w3: Web3) -> None:
    pos = deploy_pos(anvil_w3, 3)
    _, _, proposer = drawn(pos)
    with pytest.raises(PoSEmptyDigest):
        pos.contract.propose(pos.by_address(proposer), pos.contract.head_hash(),
                             cid_from_digest(bytes(32), CidKind.V0_DAG_PB)).wait()
    assert pos.contract.block_count() == 1 and pos.contract.current_turn().proposer == proposer  # still its turn


def test_a_proposal_on_a_stale_parent_is_refused(anvil_w3: Web3) -> None:
    pos = deploy_pos(anvil_w3, 3)
    c = pos.contract
    genesis = c.head_hash()
    _, _, p1 = drawn(pos)
    c.propose(pos.by_address(p1), genesis, placeholder_cid("m1")).wait()
    for m in others(pos, p1):
        c.attest(m, 1, 1, True).wait()
    c.finalize(pos.members[0]).wait()
    _, _, p2 = drawn(pos)
    with pytest.raises(PoSStaleParent) as caught:
        c.propose(pos.by_address(p2), genesis, placeholder_cid("m2")).wait()
    assert caught.value.args_by_name == {"head": c.head_hash(), "given": genesis}


def test_an_unloadable_model_loses_its_proposer_the_turn_and_the_bond(anvil_w3: Web3) -> None:
    pos = deploy_pos(anvil_w3, 4)
    c = pos.contract
    _, _, proposer = drawn(pos)
    signer = pos.by_address(proposer)
    c.propose(signer, c.head_hash(), placeholder_cid("nowhere")).wait()  # a CID no store holds
    a, b, d = others(pos, proposer)
    with pytest.raises(PoSProposerCannotAttest):
        c.attest(signer, 1, 1, True).wait()
    c.attest(a, 1, 1, False).wait()
    with pytest.raises(PoSAlreadyAttested):
        c.attest(a, 1, 1, True).wait()
    c.attest(b, 1, 1, False).wait()
    pool_before = c.balances()["rewardPool"]
    receipt = c.finalize(d).wait()
    lost = c.contract.events.TurnLost().process_receipt(receipt, errors=DISCARD)[0]["args"]
    penalized = c.contract.events.Penalized().process_receipt(receipt, errors=DISCARD)[0]["args"]
    assert (lost["proposer"], lost["missed"]) == (proposer, False)
    assert (penalized["member"], penalized["reason"], penalized["amount"]) == (proposer, Penalty.UNAVAILABLE,
                                                                                PoSSettings().bond)
    assert c.stake_of(proposer) == STAKE - PoSSettings().bond
    assert c.balances()["rewardPool"] == pool_before + PoSSettings().bond
    assert c.block_count() == 1
    turn = c.current_turn()
    assert (turn.height, turn.attempt, turn.phase) == (1, 2, TurnPhase.DRAWING)  # the turn went to a new draw
    with pytest.raises(PoSWrongTurn):  # the lost proposal can no longer be attested
        c._send(d, "attest", 1, 1, True, gas=200_000).wait()
    _, attempt, next_proposer = drawn(pos)
    assert attempt == 2 and next_proposer == expected_proposer(pos)  # a fresh draw: the attempt is in its seed
    if next_proposer != proposer:
        with pytest.raises(PoSNotProposer):
            c.propose(signer, c.head_hash(), placeholder_cid("again")).wait()


def test_a_proposer_that_misses_its_deadline_is_skipped_and_loses_the_bond(anvil_w3: Web3) -> None:
    pos = deploy_pos(anvil_w3, 3)
    c = pos.contract
    _, _, proposer = drawn(pos)
    c.draw(pos.members[0]).wait()
    with pytest.raises(PoSDeadlinePending):
        c.skip(pos.members[0]).wait()
    increase_time(anvil_w3, PoSSettings().propose_seconds + 1)
    receipt = c.skip(pos.members[0]).wait()
    assert c.contract.events.TurnLost().process_receipt(receipt, errors=DISCARD)[0]["args"]["missed"] is True
    assert c.stake_of(proposer) == STAKE - PoSSettings().bond
    assert c.current_turn().attempt == 2
    with pytest.raises(PoSWrongPhase):
        c.finalize(pos.members[0]).wait()


def test_a_proposer_whose_stake_falls_under_the_minimum_is_evicted(anvil_w3: Web3) -> None:
    settings = PoSSettings(quorum=1, bond=STAKE, reward_pool=10**18)
    pos = deploy_pos(anvil_w3, 2, settings)
    c = pos.contract
    _, _, proposer = drawn(pos)
    c.propose(pos.by_address(proposer), c.head_hash(), placeholder_cid("nowhere")).wait()
    c.attest(others(pos, proposer)[0], 1, 1, False).wait()
    c.finalize(pos.members[0]).wait()
    assert not c.is_member(proposer) and c.weight_of(proposer) == 0 and c.total_weight() == 32
    assert c.pending_rewards(proposer) == 0  # its whole stake was the bond
    _, _, survivor = drawn(pos)
    assert survivor != proposer
