"""The PoFL protocol on a real Anvil (and its happy path on eth-tester and a Hardhat node)."""

from __future__ import annotations

import itertools

import pytest
from web3 import Web3
from web3.logs import DISCARD

from offchain.chain.connect import connect, in_process_web3
from offchain.chain.pofl import FailReason, Phase, VoteKind, increase_time
from offchain.chain.rounds import (
    SealedClaim,
    cast_votes,
    commit_claims,
    committee_indices,
    committee_of,
    finalize_if_due,
    reveal_claims,
)
from tests.pofl_fixtures import STAKE, Deployed, deploy_with_miners


def play_honest_round(d: Deployed, accuracies: list[int], tag: str = "") -> int:
    """Every miner claims accuracies[i]; validators measure the truth; returns the round id."""
    c = d.contract
    r = c.current_round()
    pairs = enumerate(zip(d.miners, accuracies, strict=True))
    claims = [(m, SealedClaim(r, f"Qm{tag}{r}x{i}", acc)) for i, (m, acc) in pairs]
    commit_claims(c, claims)
    reveal_claims(c, claims)
    if c.current_phase().phase == Phase.VALIDATION:
        candidate = c.round_info(r).candidate
        truth = dict((m.address, cl.accuracy_bps) for m, cl in claims)
        cast_votes(c, r, [(v, truth[candidate]) for v in committee_of(c, r, d.miners)])
    assert finalize_if_due(c, d.owner) is not None
    return r


def assert_chain_linked(d: Deployed) -> None:
    blocks = d.contract.blocks()
    for parent, child in itertools.pairwise(blocks):
        assert child.parent_hash == parent.block_hash
        assert child.height == parent.height + 1 and child.round > parent.round
    for block in blocks:
        assert block.block_hash == block.expected_hash()


def test_round_finalizes_early_when_everyone_acts(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 10)
    c = d.contract
    r = c.current_round()
    claims = [(m, SealedClaim(r, f"QmModel{i}", 6000 + 100 * i)) for i, m in enumerate(d.miners)]
    commit_claims(c, claims)
    assert c.current_phase().phase == Phase.REVEAL  # closed early: all 10 committed, no time passed
    reveal_claims(c, claims)
    info = c.round_info(r)
    assert c.current_phase().phase == Phase.VALIDATION
    assert info.candidate == d.miners[9].address and info.committee_k == 9 and info.quorum == 5
    committee = committee_of(c, r, d.miners)
    assert len(committee) == 9 and d.miners[9] not in committee
    cast_votes(c, r, [(v, 6900) for v in committee])
    assert c.current_phase().phase == Phase.FINALIZE
    receipt = c.finalize(d.owner).wait()
    block = c.latest_block()
    assert (block.height, block.round, block.miner, block.cid, block.accuracy_bps) == (
        1, r, d.miners[9].address, "QmModel9", 6900)
    assert c.current_round() == r + 1 and c.current_phase().phase == Phase.COMMIT
    assert c.pending_rewards(d.miners[9].address) == 10**17
    events = c.contract.events.BlockFinalized().process_receipt(receipt, errors=DISCARD)
    assert events[0]["args"]["blockHash"] == block.block_hash


def test_round_finalizes_at_deadline_with_three_of_ten_dead(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 10)
    c = d.contract
    alive = d.miners[:7]
    r = c.current_round()
    claims = [(m, SealedClaim(r, f"QmAlive{i}", 6500 + 50 * i)) for i, m in enumerate(alive)]
    commit_claims(c, claims)
    state = c.current_phase()
    assert state.phase == Phase.COMMIT and state.deadline > 0  # waits for the 3 dead miners
    increase_time(anvil_w3, 61)
    assert c.current_phase().phase == Phase.REVEAL  # the deadline closed the commit phase
    reveal_claims(c, claims)  # the first reveal records the transition; all 7 reveal -> validation
    assert c.current_phase().phase == Phase.VALIDATION
    candidate = c.round_info(r).candidate
    assert candidate == alive[6].address
    live_committee = committee_of(c, r, alive)
    assert len(live_committee) == 6  # the 3 dead sit on the committee too but never vote
    cast_votes(c, r, [(v, 6800) for v in live_committee])
    assert c.current_phase().phase == Phase.FINALIZE
    c.finalize(d.owner).wait()
    assert c.latest_block().miner == candidate


def test_validation_deadline_decides_by_majority_of_votes_cast(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 10)
    c = d.contract
    r = c.current_round()
    claims = [(m, SealedClaim(r, f"QmM{i}", 7000)) for i, m in enumerate(d.miners)]
    commit_claims(c, claims)
    reveal_claims(c, claims)
    committee = committee_of(c, r, d.miners)
    cast_votes(c, r, [(committee[0], 7000), (committee[1], 7000)])  # 2 of 9 vote, no quorum
    assert c.current_phase().phase == Phase.VALIDATION
    increase_time(anvil_w3, 61)
    assert c.current_phase().phase == Phase.FINALIZE
    c.finalize(d.owner).wait()
    assert c.block_count() == 2 and c.latest_block().miner == d.miners[0].address  # tie: earliest reveal


def test_false_claim_is_rejected_and_slashed_and_next_best_wins(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 10)
    c = d.contract
    r = c.current_round()
    cheater, honest_best = d.miners[0], d.miners[3]
    truth = {m.address: 6000 + 100 * i for i, m in enumerate(d.miners)}
    truth[cheater.address] = 4000  # its model is bad...
    claimed = dict(truth, **{cheater.address: 9900})  # ...but it claims 0.99
    claims = [(m, SealedClaim(r, f"QmM{i}", claimed[m.address])) for i, m in enumerate(d.miners)]
    pool_before = c.balances()["rewardPool"]
    commit_claims(c, claims)
    reveal_claims(c, claims)
    assert c.round_info(r).candidate == cheater.address
    cast_votes(c, r, [(v, truth[cheater.address]) for v in committee_of(c, r, d.miners)])
    assert c.claim_of(r, cheater.address).rejected
    assert c.miner_info(cheater.address).stake == 0 and not c.miner_info(cheater.address).active
    assert c.balances()["rewardPool"] == pool_before + STAKE
    assert c.events("ClaimRejected", 0)[-1]["args"]["miner"] == cheater.address

    c.finalize(d.owner).wait()  # no block yet: opens validation of the next-best claim
    assert c.current_phase().phase == Phase.VALIDATION and c.block_count() == 1
    next_best = c.round_info(r).candidate
    assert next_best == d.miners[9].address
    committee = committee_of(c, r, d.miners)
    assert cheater not in committee  # slashed miners no longer validate
    cast_votes(c, r, [(v, truth[next_best]) for v in committee])
    c.finalize(d.owner).wait()
    block = c.latest_block()
    assert (block.miner, block.accuracy_bps) == (next_best, 6900)
    assert honest_best is not None and c.active_miner_count() == 9


def test_round_without_claim_above_threshold_fails(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 10)
    c = d.contract
    r = c.current_round()
    claims = [(m, SealedClaim(r, f"QmLow{i}", 5000 + i)) for i, m in enumerate(d.miners)]
    commit_claims(c, claims)
    reveal_claims(c, claims)
    assert c.current_phase().phase == Phase.FINALIZE
    receipt = c.finalize(d.owner).wait()
    failed = c.contract.events.RoundFailed().process_receipt(receipt, errors=DISCARD)
    assert failed[0]["args"]["round"] == r and failed[0]["args"]["reason"] == FailReason.NO_ELIGIBLE_CLAIM
    assert c.block_count() == 1 and c.current_round() == r + 1


def test_all_claims_rejected_fails_the_round(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 4)
    c = d.contract
    r = c.current_round()
    claims = [(m, SealedClaim(r, f"QmLie{i}", 9000 + i)) for i, m in enumerate(d.miners[:2])]
    commit_claims(c, claims)
    increase_time(anvil_w3, 61)
    reveal_claims(c, claims)
    for _ in range(2):
        cast_votes(c, r, [(v, 1000) for v in committee_of(c, r, d.miners)])
        c.finalize(d.owner).wait()
    assert c.events("RoundFailed", 0)[-1]["args"]["reason"] == FailReason.ALL_CLAIMS_REJECTED
    assert c.block_count() == 1


def test_blocks_never_regress_and_parent_links_hold_over_six_blocks(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 5)
    for k in range(6):
        play_honest_round(d, [6000 + 300 * k + i for i in range(5)], tag=str(k))
    # a round whose best claim does not beat the chain head produces no block
    play_honest_round(d, [6000] * 5, tag="low")
    blocks = d.contract.blocks()
    assert len(blocks) == 7
    assert [b.accuracy_bps for b in blocks[1:]] == [6004 + 300 * k for k in range(6)]
    assert_chain_linked(d)


def test_flexblock_rule_without_improvement_requirement(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 3, require_improvement=False)
    play_honest_round(d, [7000, 7100, 7200])
    play_honest_round(d, [6500, 6600, 6700])
    assert [b.accuracy_bps for b in d.contract.blocks()[1:]] == [7200, 6700]


def test_votes_record_and_small_committee(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 10, committee_size=3)
    c = d.contract
    r = c.current_round()
    claims = [(m, SealedClaim(r, f"Qm{i}", 7000 + i)) for i, m in enumerate(d.miners)]
    commit_claims(c, claims)
    reveal_claims(c, claims)
    info = c.round_info(r)
    committee = committee_of(c, r, d.miners)
    assert info.committee_k == 3 and info.quorum == 2 and len(committee) == 3
    cast_votes(c, r, [(committee[0], 7009), (committee[1], 5000), (committee[2], 7009)])
    assert c.vote_of(r, info.candidate, committee[0].address) == VoteKind.APPROVE
    assert c.vote_of(r, info.candidate, committee[1].address) == VoteKind.REJECT
    c.finalize(d.owner).wait()
    assert c.block_count() == 2


def test_leave_returns_stake_and_rewards(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 3)
    play_honest_round(d, [6000, 6100, 7000])
    winner = d.miners[2]
    before = winner.balance()
    receipt = d.contract.leave(winner).wait()
    gas_cost = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert winner.balance() - before + gas_cost == STAKE + 10**17
    assert winner.address not in d.contract.miners() and d.contract.active_miner_count() == 2


@pytest.mark.parametrize("backend", ["eth-tester", "hardhat"])
def test_happy_path_on_other_backends(backend: str, request: pytest.FixtureRequest) -> None:
    w3 = in_process_web3() if backend == "eth-tester" else connect(request.getfixturevalue("hardhat").rpc_url)
    d = deploy_with_miners(w3, 10)
    for k in range(2):
        play_honest_round(d, [6000 + 200 * k + 10 * i for i in range(10)], tag=str(k))
    assert [b.accuracy_bps for b in d.contract.blocks()] == [0, 6090, 6290]
    assert_chain_linked(d)


@pytest.mark.parametrize("committee_size", [0, 1, 3, 9])
def test_local_committee_mirror_agrees_with_the_contract(anvil_w3: Web3, committee_size: int) -> None:
    d = deploy_with_miners(anvil_w3, 10, committee_size=committee_size)
    c = d.contract
    for k in range(3):  # several rounds: several seeds and candidates
        r = c.current_round()
        claims = [(m, SealedClaim(r, f"QmC{k}x{i}", 6000 + 300 * k + (i * 7) % 10)) for i, m in enumerate(d.miners)]
        commit_claims(c, claims)
        reveal_claims(c, claims)
        info = c.round_info(r)
        miners = c.miners()
        local = {miners[i] for i in committee_indices(info.seed, info.committee_n, info.committee_k,
                                                       miners.index(info.candidate))}
        assert local == {m.address for m in committee_of(c, r, d.miners)}
        cast_votes(c, r, [(v, 10_000) for v in committee_of(c, r, d.miners)])
        c.finalize(d.owner).wait()
