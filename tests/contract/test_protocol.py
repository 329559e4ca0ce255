"""The PoFL v2 protocol on a real Anvil (and its happy path on eth-tester and a Hardhat node); CIDs and their
digests in process: tests/unit/test_store.py."""

from __future__ import annotations

import itertools

import pytest
from web3 import Web3
from web3.logs import DISCARD

from offchain.chain import errors as E
from offchain.chain.commitment import SealedClaim
from offchain.chain.connect import connect, in_process_web3
from offchain.chain.types import ClaimStatus, ConfigField, FailReason, PenaltyReason, Phase, PoFLConfig, lower_median
from offchain.testing.rounds import (
    cast_votes,
    commit_claims,
    draw_committee,
    increase_time,
    mine_blocks,
    reveal_claims,
    truthful,
)
from tests.support.contracts import (
    BASE_CONFIG,
    MISS_BOND,
    STAKE,
    Deployed,
    advance_time,
    cid_of,
    deploy_with_miners,
    ladder,
    play_round,
)


def honest(d: Deployed, accuracies: list[int], tag: str = "") -> int:
    """Every miner claims accuracies[i], which is the truth; returns the round id."""
    claims = list(zip(d.miners, accuracies, strict=True))
    return play_round(d, claims, truthful({m.address: a for m, a in claims}), tag=tag).round_id


def assert_chain_linked(d: Deployed) -> None:
    blocks = d.contract.blocks()
    for parent, child in itertools.pairwise(blocks):
        assert child.parent_hash == parent.block_hash
        assert child.height == parent.height + 1 and child.round > parent.round
    for block in blocks:
        assert block.block_hash == block.expected_hash()


def decided(d: Deployed, round_id: int) -> list[tuple[str, ClaimStatus, int]]:
    return [(e["args"]["claimant"], ClaimStatus(e["args"]["outcome"]), e["args"]["medianBps"])
            for e in d.contract.events("ClaimDecided") if e["args"]["round"] == round_id]


def test_honest_round_finalizes_early_with_the_median(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 6)
    c = d.contract
    r = c.current_round()
    claims = [(m, SealedClaim(r, cid_of(f"m{i}"), 6000 + 100 * i)) for i, m in enumerate(d.miners)]
    commit_claims(c, claims)
    assert c.current_phase().phase == Phase.REVEAL  # closed early: every active miner committed
    assert c.claim_of(r, d.miners[0].address).status == ClaimStatus.COMMITTED
    reveal_claims(c, claims)
    info = c.round_info(r)
    assert info.phase == Phase.VALIDATION and info.candidate == d.miners[5].address and info.attempt == 1
    assert info.seats == 0 and c.committee(r) == []  # the seed block is not mined yet
    seats = draw_committee(c, d.owner)
    info = c.round_info(r)
    assert set(seats) == {m.address for m in d.miners[:5]} and info.seats == 5 and info.quorum == 4
    assert all(c.is_validator(r, a) for a in seats) and not c.is_validator(r, d.miners[5].address)
    by = {m.address: m for m in d.miners}
    cast_votes(c, r, [(by[a], 6500 + k) for k, a in enumerate(seats)])  # measurements differ a little
    assert c.current_phase().phase == Phase.FINALIZE  # every seat reported
    assert c.report_of(r, seats[0]).voted and c.report_of(r, seats[0]).measured_bps == 6500
    receipt = c.finalize(d.owner).wait()
    block = c.latest_block()
    assert (block.height, block.round, block.miner, block.cid, block.accuracy_bps) == (
        1, r, d.miners[5].address, cid_of("m5"), 6502)  # the median of 6500..6504, not the claim of 6500
    (decision,) = c.decisions(r)  # what `pofl verify` can check from the events
    assert (decision.outcome, decision.median_bps, decision.reports) == (ClaimStatus.ACCEPTED, 6502, 5)
    assert lower_median(list(c.reports(r, decision.attempt).values())) == block.accuracy_bps
    assert c.pending_rewards(d.miners[5].address) == 10**17
    assert c.current_round() == r + 1 and c.current_phase().phase == Phase.COMMIT
    events = c.contract.events.BlockFinalized().process_receipt(receipt, errors=DISCARD)
    assert events[0]["args"]["blockHash"] == block.block_hash


def test_round_closes_by_deadlines_with_two_of_eight_dead(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 8)
    c = d.contract
    alive = d.miners[:6]
    r = c.current_round()
    claims = [(m, SealedClaim(r, cid_of(f"alive{i}"), 6500 + 50 * i)) for i, m in enumerate(alive)]
    commit_claims(c, claims)
    state = c.current_phase()
    assert state.phase == Phase.COMMIT and state.deadline > 0  # waits for the 2 dead miners
    increase_time(anvil_w3, 61)
    assert c.current_phase().phase == Phase.REVEAL  # the deadline closed the commit phase
    reveal_claims(c, claims)  # every committer revealed: validation opens at once
    seats = draw_committee(c, d.owner)
    assert len(seats) == 5 and alive[5].address not in seats  # seats are this round's committers only
    cast_votes(c, r, [(d.by_address(a), 6750) for a in seats])
    c.finalize(d.owner).wait()
    assert c.latest_block().miner == alive[5].address


def test_validation_deadline_decides_with_a_quorum_and_forfeits_silent_seats(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 7, stake=STAKE + MISS_BOND)  # a margin above minStake absorbs a bond
    c = d.contract
    claims = [(m, 7000 + i) for i, m in enumerate(d.miners)]
    silent = d.miners[0]
    result = play_round(d, claims, truthful({m.address: a for m, a in claims}),
                        voters=[m for m in d.miners if m is not silent])
    assert c.latest_block().accuracy_bps == 7006
    missed = [e["args"] for e in c.events("Penalized") if e["args"]["reason"] == PenaltyReason.MISSED_VOTE]
    assert [(a["miner"], a["amount"]) for a in missed] == [(silent.address, MISS_BOND)]
    assert c.miner_info(silent.address).stake == STAKE and c.miner_info(silent.address).registered
    assert result.candidates == [d.miners[6].address]


def test_false_claim_is_slashed_and_next_best_becomes_the_block_at_its_median(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 8)
    c = d.contract
    cheater = d.miners[0]
    truth = {m.address: 6000 + 100 * i for i, m in enumerate(d.miners)}
    truth[cheater.address] = 4000  # its model is bad...
    claims = [(m, 9900 if m is cheater else truth[m.address]) for m in d.miners]  # ...but it claims 0.99
    pool_before = c.balances()["rewardPool"]
    result = play_round(d, claims, truthful(truth))
    assert result.candidates == [cheater.address, d.miners[7].address]
    assert decided(d, result.round_id) == [(cheater.address, ClaimStatus.REJECTED, 4000),
                                           (d.miners[7].address, ClaimStatus.ACCEPTED, 6700)]
    block = c.latest_block()
    assert (block.miner, block.accuracy_bps) == (d.miners[7].address, 6700)
    assert c.balances()["rewardPool"] == pool_before + STAKE - 10**17
    # slashed to zero, then evicted when the round closed (nothing left to credit)
    assert not c.miner_info(cheater.address).registered and cheater.address not in c.miners()
    assert c.active_miner_count() == 7


def test_round_without_eligible_claim_fails(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 5)
    c = d.contract
    claims = [(m, 5000 + i) for i, m in enumerate(d.miners)]
    result = play_round(d, claims, truthful({}))
    assert c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.NO_ELIGIBLE_CLAIM
    assert c.block_count() == 1 and c.current_round() == result.round_id + 1


def test_every_claim_rejected_fails_the_round(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 6)
    c = d.contract
    liars = d.miners[:2]
    claims = [(m, 9000 + i if m in liars else 5000) for i, m in enumerate(d.miners)]
    result = play_round(d, claims, truthful({}))  # every model measures 0
    assert [o for _, o, _ in decided(d, result.round_id)] == [ClaimStatus.REJECTED] * 2
    assert c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.NO_ACCEPTED_CLAIM
    assert c.block_count() == 1


def test_no_quorum_moves_on_to_the_next_best_claim(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 7)
    c = d.contract
    claims = [(m, 7000 + 10 * i) for i, m in enumerate(d.miners)]
    truth = {m.address: a for m, a in claims}
    top, second = d.miners[6], d.miners[5]
    # 3 reports of 6 seats: below the quorum of 4 (the second-best votes: a silent seat's own claim is void)
    voting = {m.address for m in (d.miners[0], d.miners[1], second)}
    r = c.current_round()
    sealed = [(m, SealedClaim(r, cid_of(f"q{i}"), a)) for i, (m, a) in enumerate(claims)]
    commit_claims(c, sealed)
    reveal_claims(c, sealed)
    seats = draw_committee(c, d.owner)
    cast_votes(c, r, [(d.by_address(a), truth[top.address]) for a in seats if a in voting])
    advance_time(d, c.round_info(r).deadline)
    c.finalize(d.owner).wait()  # no quorum: top is skipped (not slashed) and the second is validated
    info = c.round_info(r)
    assert info.candidate == second.address and info.attempt == 2 and info.phase == Phase.VALIDATION
    assert c.claim_of(r, top.address).status == ClaimStatus.NO_QUORUM
    assert c.miner_info(top.address).stake == STAKE
    seats = c.committee(r)
    assert set(seats).isdisjoint({m.address for m in d.miners[2:5]})  # silent seats sit no more
    cast_votes(c, r, [(d.by_address(a), truth[second.address]) for a in seats])
    c.finalize(d.owner).wait()
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (second.address, 7050)


def test_overclaim_within_tolerance_records_the_median_and_the_better_model_still_wins(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 6)
    c = d.contract
    inflator, best = d.miners[0], d.miners[1]
    truth = {m.address: 7000 for m in d.miners}
    truth |= {inflator.address: 7950, best.address: 8000}
    claims = [(m, 8050 if m is inflator else truth[m.address]) for m in d.miners]  # +100 = the tolerance
    result = play_round(d, claims, truthful(truth))
    # the inflated claim is validated first and accepted at its measured 7950; the 8000 claim could beat that
    # median, so it is validated too, and the higher median is the block
    assert decided(d, result.round_id) == [(inflator.address, ClaimStatus.ACCEPTED, 7950),
                                           (best.address, ClaimStatus.ACCEPTED, 8000)]
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (best.address, 8000)


def test_blocks_never_regress_and_parent_links_hold(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 5)
    for k in range(4):
        honest(d, [6000 + 300 * k + i for i in range(5)], tag=str(k))
    honest(d, [6000] * 5, tag="low")  # nothing beats the head: no block
    blocks = d.contract.blocks()
    assert [b.accuracy_bps for b in blocks[1:]] == [6004 + 300 * k for k in range(4)]
    assert_chain_linked(d)


def test_flexblock_rule_without_improvement_requirement(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 4, require_improvement=False)
    honest(d, [7000, 7100, 7200, 7300])
    honest(d, [6500, 6600, 6700, 6800])
    assert [b.accuracy_bps for b in d.contract.blocks()[1:]] == [7300, 6800]


def test_sampled_committee_excludes_the_candidate_and_is_fixed_by_the_seed(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 9, committee_size=4)
    c = d.contract
    r = c.current_round()
    claims = ladder(d, "s")
    commit_claims(c, claims)
    reveal_claims(c, claims)
    info = c.round_info(r)
    assert info.seed_block > 0 and info.seed == b"\0" * 32
    seats = draw_committee(c, d.owner)
    info = c.round_info(r)
    assert len(seats) == 4 and info.candidate not in seats and info.quorum == 3
    seed_hash = c.w3.eth.get_block(info.seed_block)["hash"]
    assert info.seed == Web3.keccak(bytes(seed_hash) + bytes(12) + bytes.fromhex(c.address[2:])
                                    + info.round.to_bytes(32, "big"))
    assert {a for a in c.miners() if c.is_validator(r, a)} == set(seats)


def test_fewer_committers_than_min_committee_plus_one_gives_no_block(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 3)  # min_committee 3: a candidate has only 2 other committers
    c = d.contract
    result = play_round(d, [(m, 9000) for m in d.miners], truthful({m.address: 9000 for m in d.miners}))
    assert result.candidates == [] and c.block_count() == 1
    assert c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.NO_COMMITTEE


def test_leave_returns_stake_and_rewards(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 4)
    honest(d, [6000, 6100, 6200, 7000])
    winner = d.miners[3]
    before = winner.balance()
    receipt = d.contract.leave(winner).wait()
    gas_cost = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert winner.balance() - before + gas_cost == STAKE + 10**17
    assert winner.address not in d.contract.miners() and d.contract.active_miner_count() == 3


def test_config_defaults_and_snapshot_round_trip(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 0)
    c = d.contract
    assert c.config() == c.next_config() and c.config().quorum_bps == PoFLConfig(0, b"", b"").quorum_bps
    c.set_validation(d.owner, 50, 5001, 5, 3).wait()
    assert c.next_config().tolerance_bps == 50 and c.config().tolerance_bps == 100


@pytest.mark.parametrize("backend", ["eth-tester", "hardhat"])
def test_happy_path_on_other_backends(backend: str, request: pytest.FixtureRequest) -> None:
    w3 = in_process_web3() if backend == "eth-tester" else connect(request.getfixturevalue("hardhat").rpc_url)
    d = deploy_with_miners(w3, 5)
    for k in range(2):
        honest(d, [6000 + 200 * k + 10 * i for i in range(5)], tag=str(k))
    assert [b.accuracy_bps for b in d.contract.blocks()] == [0, 6040, 6240]
    assert_chain_linked(d)


# ------------------------------------------------------------------ the promises (issue 20)


def test_an_even_number_of_distinct_reports_records_the_lower_median(anvil_w3: Web3) -> None:
    """Four seats report four different values within the tolerance of each other and of the claim: the
    block records the lower of the two middle reports (7010), never the upper one (7020) nor the claim."""
    d = deploy_with_miners(anvil_w3, 5)
    c = d.contract
    truth = {m.address: 6000 + i for i, m in enumerate(d.miners)} | {d.miners[4].address: 7030}
    reports = iter([7000, 7010, 7020, 7030])
    result = play_round(d, [(m, truth[m.address]) for m in d.miners],
                        lambda cand, _s: next(reports) if cand == d.miners[4].address else truth[cand])
    assert sorted(c.reports(result.round_id, 1).values()) == [7000, 7010, 7020, 7030]
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (d.miners[4].address, 7010)


def test_public_mode_decides_must_beat_the_parent_on_the_measurements(anvil_w3: Web3) -> None:
    """A 7050 claim over a 7005 head is eligible at its reveal, but its committee measures it at 6960 (within
    the tolerance of the claim) and the parent at 7005: the claim does not beat the parent, so it is Unimproved
    and the chain does not go backwards."""
    d = deploy_with_miners(anvil_w3, 6)
    c = d.contract
    honest(d, [7000, 7001, 7002, 7003, 7004, 7005])
    assert c.latest_block().accuracy_bps == 7005
    claimant = d.miners[0]
    truth = {m.address: 6000 + i for i, m in enumerate(d.miners)} | {claimant.address: 6960}
    claims = [(m, 7050 if m is claimant else truth[m.address]) for m in d.miners]
    result = play_round(d, claims, truthful(truth))
    assert decided(d, result.round_id) == [(claimant.address, ClaimStatus.UNIMPROVED, 6960)]
    assert c.parent_measurements(result.round_id) == {1: 7005}
    assert c.latest_block().accuracy_bps == 7005 and c.pending_rewards(claimant.address) == 0


def test_the_committee_is_drawn_from_the_seed_block_not_from_the_block_before_the_draw(anvil_w3: Web3) -> None:
    """Nobody draws until well after the seed block: the seats still come from blockhash(seedBlock), not from
    the hash of whatever block precedes the drawing transaction."""
    d = deploy_with_miners(anvil_w3, 9, committee_size=4)
    c = d.contract
    r = c.current_round()
    claims = ladder(d, "late")
    commit_claims(c, claims)
    reveal_claims(c, claims)
    seed_block = c.round_info(r).seed_block
    mine_blocks(anvil_w3, seed_block + 5 - anvil_w3.eth.block_number)
    c.advance(d.owner).wait()  # drawn in block seedBlock + 6
    info = c.round_info(r)
    assert info.seats == 4
    seed_hash = anvil_w3.eth.get_block(seed_block)["hash"]
    assert info.seed == Web3.keccak(bytes(seed_hash) + bytes(12) + bytes.fromhex(c.address[2:]) + r.to_bytes(32, "big"))


# ------------------------------------------------------------------ issue 21: the rejoin lockout


def test_a_miner_back_from_a_partition_commits_although_the_others_committed_at_once(anvil_w3: Web3) -> None:
    """Issue 21's multi-host test: a miner away for a round is inactive, so the others' commits (each ~1 s after
    a block) ended the commit phase before it (~1.5 s after the block) could commit, round after round. With
    commitGrace the phase does not end early before the grace from the first commit: it commits, the phase
    ends when the grace does (not at the deadline), and its claim is the block. A grace above the commit phase
    is refused. (Checked: with the early end left as it was, the phase is Reveal after the others' commits.)"""
    with pytest.raises(E.PoFLInvalidConfig) as refused:
        deploy_with_miners(anvil_w3, 0, commit_duration=60, commit_grace=61)
    assert refused.value.args_by_name == {"field": ConfigField.COMMIT_GRACE}
    d = deploy_with_miners(anvil_w3, 5, commit_duration=600, commit_grace=300)
    c = d.contract
    *others, returning = d.miners
    honest(d, [7000 + i for i in range(5)], tag="a")
    truth = {m.address: 7100 + i for i, m in enumerate(others)}
    play_round(d, [(m, truth[m.address]) for m in others], truthful(truth), tag="b")  # it is partitioned
    assert not c.miner_info(returning.address).active  # away since round 1: the others no longer wait for it
    r = c.current_round()
    claims = [(m, SealedClaim(r, cid_of(f"c{i}"), 7200 + i)) for i, m in enumerate(others)]
    commit_claims(c, claims)
    first = c.round_info(r).deadline - 600  # the first commit's time
    assert c.current_phase().phase == Phase.COMMIT  # every active miner committed, but the grace is not over
    back = (returning, SealedClaim(r, cid_of("back"), 7300))
    commit_claims(c, [back])
    assert c.current_phase().phase == Phase.COMMIT  # still the grace
    increase_time(anvil_w3, 300)
    assert c.current_phase() == type(c.current_phase())(r, Phase.REVEAL, first + 300 + BASE_CONFIG.reveal_duration)
    reveal_claims(c, [*claims, back])
    while c.current_round() == r:
        seats = draw_committee(c, d.owner)
        candidate = c.round_info(r).candidate
        measured = 7300 if candidate == returning.address else 7200 + others.index(d.by_address(candidate))
        cast_votes(c, r, [(d.by_address(a), measured) for a in seats])
        c.finalize(d.owner).wait()
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (returning.address, 7300)
