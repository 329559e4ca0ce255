"""The attacks of issue 10 against PoFLConsensus v2, each on a real Anvil: the attacker loses (no block, no
reward, its stake slashed where it cheated), the honest best claim becomes the block, and the block records
the median measurement. (bench/attacks.py runs the same attacks and prints what each attacker gained.)"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from web3 import Web3

from offchain.chain import errors as E
from offchain.chain.commitment import SealedClaim
from offchain.chain.consensus import PoFLContract
from offchain.chain.tx import send, wait_all
from offchain.chain.types import (
    UNAVAILABLE_BPS,
    ClaimStatus,
    ConfigField,
    FailReason,
    PenaltyReason,
    Phase,
    fetch_deadline,
)
from offchain.store import compute_cid
from offchain.store.cid import cid_to_digest
from offchain.testing.accounts import fresh_signers
from offchain.testing.rounds import cast_votes, commit_claims, draw_committee, reveal_claims, truthful
from tests.support.accounts import Funded
from tests.support.contracts import (
    BASE_CONFIG,
    GENESIS_CID,
    MISS_BOND,
    STAKE,
    Deployed,
    HoldoutTask,
    advance_time,
    cid_of,
    deploy_with_miners,
    ladder,
    play_round,
)


def deploy_helper(d: Deployed, artifact: dict):
    factory = d.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = send(d.owner, factory.constructor(d.contract.address), d.contract.errors).wait()
    return d.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def penalties(d: Deployed, reason: PenaltyReason) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in d.contract.events("Penalized"):
        if e["args"]["reason"] == reason:
            out[e["args"]["miner"]] = out.get(e["args"]["miner"], 0) + e["args"]["amount"]
    return out


def outcomes(d: Deployed, round_id: int) -> list[tuple[str, ClaimStatus, int]]:
    return [(e["args"]["claimant"], ClaimStatus(e["args"]["outcome"]), e["args"]["medianBps"])
            for e in d.contract.events("ClaimDecided") if e["args"]["round"] == round_id]


# -------------------------------------------------------------------------------- solo bootstrap


def test_solo_bootstrap_in_one_transaction_makes_no_block(anvil_w3: Web3, funded: Funded, attackers: dict) -> None:
    d = deploy_with_miners(anvil_w3, 0)
    c = d.contract
    pool = c.balances()["rewardPool"]
    solo = deploy_helper(d, attackers["SoloBootstrap"])
    garbage = hashlib.sha256(b"not-a-cid-at-all").digest()
    send(d.owner, solo.functions.attack(garbage), c.errors, value=STAKE).wait()  # the whole attack, one tx
    assert c.block_count() == 1 and c.latest_block().cid == GENESIS_CID  # the head is still the genesis
    assert c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.NO_COMMITTEE
    assert not c.miner_info(solo.address).registered and c.pending_rewards(solo.address) == 0
    assert c.balances()["rewardPool"] == pool and anvil_w3.eth.get_balance(solo.address) == 0
    # the chain is not frozen: honest miners make the next block, at what they measured
    honest = funded(4)
    wait_all([c.register(m, STAKE) for m in honest])
    claims = list(zip(honest, [6500, 6600, 6700, 7050], strict=True))
    truth = {m.address: a for m, a in claims} | {honest[3].address: 7045}
    play_round(Deployed(c, d.owner, honest), claims, truthful(truth))
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (honest[3].address, 7045)


# ------------------------------------------------------------------------------------- copycat


def test_copycat_of_a_leaked_model_loses_it_to_the_earlier_committer(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 6)
    c = d.contract
    author, copycat = d.miners[0], d.miners[5]
    r = c.current_round()
    model = cid_of("the author's model")
    claims = {m.address: SealedClaim(r, cid_of(f"own{i}"), 7000 + i) for i, m in enumerate(d.miners)}
    claims[author.address] = SealedClaim(r, model, 8000)
    claims[copycat.address] = SealedClaim(r, model, 8100)  # the leaked model, claimed +100 bps
    commit_claims(c, [(m, claims[m.address]) for m in d.miners])  # the author committed first
    order = [copycat] + [m for m in d.miners if m is not copycat]  # the copycat reveals first
    reveal_claims(c, [(m, claims[m.address]) for m in order])
    assert c.claim_of(r, copycat.address).status == ClaimStatus.REVEALED
    assert not c.claim_of(r, copycat.address).eligible and c.claim_of(r, author.address).eligible
    reused = [e["args"] for e in c.events("DigestReused")]
    assert reused[-1]["miner"] == copycat.address and reused[-1]["firstRound"] == r
    assert c.round_info(r).candidate == author.address
    seats = draw_committee(c, d.owner)
    cast_votes(c, r, [(d.by_address(a), 8000) for a in seats])
    c.finalize(d.owner).wait()
    block = c.latest_block()
    assert (block.miner, block.cid, block.accuracy_bps) == (author.address, model, 8000)
    assert c.pending_rewards(copycat.address) == 0


def test_replayed_cids_of_earlier_rounds_are_ineligible(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 5)
    c = d.contract
    truth = {m.address: 7000 + 100 * i for i, m in enumerate(d.miners)}
    first = play_round(d, [(m, truth[m.address]) for m in d.miners], truthful(truth))
    head = c.latest_block()
    runner_up = first.claims[d.miners[3].address].cid  # revealed in round 1, not a block
    copycat = d.miners[0]
    # round 2: the copycat replays the head's CID (+100 bps); another miner replays round 1's runner-up
    cids = {copycat.address: head.cid, d.miners[1].address: runner_up}
    claims = [(copycat, head.accuracy_bps + 100), (d.miners[1], 7350)] + [(m, 7500 + i) for i, m in
                                                                          enumerate(d.miners[2:])]
    measured = truth | {m.address: 7500 + i for i, m in enumerate(d.miners[2:])}
    second = play_round(d, claims, lambda cand, _seat: measured[cand] if cand not in cids else 9999, cids=cids)
    assert c.claim_of(second.round_id, copycat.address).eligible is False
    assert c.claim_of(second.round_id, d.miners[1].address).eligible is False
    assert {e["args"]["miner"] for e in c.events("DigestReused")} == {copycat.address, d.miners[1].address}
    block = c.latest_block()
    assert (block.miner, block.accuracy_bps) == (d.miners[4].address, 7502)  # the honest best, as measured
    assert c.pending_rewards(copycat.address) == 0 and c.digest_use(head.cid) == (True, first.round_id)


def test_a_model_revealed_in_a_round_without_a_block_cannot_win_later_for_a_copier_in_any_encoding(
        anvil_w3: Web3, ipfs_store) -> None:  # type: ignore[no-untyped-def]
    """Finding 3 of issue 20 ("a model is its weights"), on Anvil and a real IPFS daemon. Round 1 ends without a
    block (every claim under the threshold), publishing the victim's model. In round 2 three copiers claim it at
    +1100 bps: re-encoded with a `round` metadata field, as the same bytes under a CIDv1-raw, and as is. Every
    seat reads the candidates through the project's own UntrustedFetcher: the two re-encodings are not the
    canonical encoding of their tensors, so they measure 0 and are slashed; the exact copy carries the victim's
    digest, which the contract remembers, so it is ineligible. The honest best claim is the block."""
    from offchain.store.fetching import UntrustedFetcher, publish_model
    from offchain.store.model_bytes import content_digest
    from tests.support.models import reencoded, simplenet_state

    d = deploy_with_miners(anvil_w3, 7)
    c = d.contract
    victim, by_round_field, by_raw_cid, by_replay, *honest = d.miners
    copiers = [by_round_field, by_raw_cid, by_replay]
    model = simplenet_state(20)
    model_cid = publish_model(ipfs_store, model, "simplenet")
    assert cid_to_digest(model_cid)[0] == content_digest(model, "simplenet")
    first = play_round(d, [(m, 5000 + i) for i, m in enumerate(d.miners)], truthful({}),
                       cids={victim.address: model_cid})
    assert c.block_count() == 1 and c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.NO_ELIGIBLE_CLAIM
    assert c.digest_use(model_cid) == (True, first.round_id)
    # round 2: the copies, each claiming the victim's model at 8100; the honest miners' own models
    round_field = ipfs_store.put(reencoded(model, round=str(first.round_id + 1)))
    canonical = ipfs_store.get(model_cid)
    ipfs_store._client.add_bytes(canonical, opts={"pin": "true", "cid-version": 1, "raw-leaves": "true"})
    raw = compute_cid(canonical, version=1, raw_leaves=True)
    assert ipfs_store.get(raw) == canonical and cid_to_digest(raw)[0] != cid_to_digest(model_cid)[0]
    cids = {by_round_field.address: round_field, by_raw_cid.address: raw, by_replay.address: model_cid}
    cids |= {m.address: publish_model(ipfs_store, simplenet_state(30 + i), "simplenet") for i, m in enumerate(honest)}
    truth = {a: 8100 for a in cids} | {m.address: 7000 + i for i, m in enumerate(honest)}  # the true accuracies
    fetcher = UntrustedFetcher(ipfs_store)
    try:
        def measure(candidate: str, _seat: object) -> int:  # a seat measures what it can fetch as a model
            return truth[candidate] if fetcher.model(cids[candidate], "simplenet").value is not None else 0

        second = play_round(d, [(m, truth[m.address]) for m in copiers + honest], measure, cids=cids)
    finally:
        fetcher.close()
    assert not c.claim_of(second.round_id, by_replay.address).eligible  # the contract remembers the digest
    assert [a for a, outcome, median in outcomes(d, second.round_id) if outcome == ClaimStatus.REJECTED
            and median == 0] == [by_round_field.address, by_raw_cid.address]
    block = c.latest_block()
    assert (block.miner, block.accuracy_bps) == (honest[-1].address, 7002)  # the honest best, as measured
    slashed = penalties(d, PenaltyReason.FALSE_CLAIM)
    assert set(slashed) == {by_round_field.address, by_raw_cid.address}
    assert all(c.pending_rewards(m.address) == 0 for m in copiers) and victim.address not in slashed


# -------------------------------------------------------------- half a committee / wrong reports


@pytest.mark.parametrize(("colluders", "tactic"), [(2, "misreport"), (2, "withhold")])
def test_a_minority_of_seats_can_neither_reject_nor_block_an_honest_winner(anvil_w3: Web3, colluders: int,
                                                                          tactic: str) -> None:
    """Ten miners, nine seats (v1: a rejection quorum of 5). The colluders report 0 for the honest 9000 claim
    (or stay silent) so that their own 7004 claim wins. Fewer than 1/3 of the seats (2) can neither reject nor
    stall the honest claim, and pay for trying."""
    d = deploy_with_miners(anvil_w3, 10, stake=STAKE + MISS_BOND)
    c = d.contract
    winner, gang = d.miners[0], d.miners[1:1 + colluders]
    truth = {m.address: 6000 + i for i, m in enumerate(d.miners)} | {winner.address: 9000, gang[0].address: 7004}
    gang_addresses = {m.address for m in gang}

    def measure(candidate: str, seat) -> int:
        if seat.address in gang_addresses and candidate == winner.address:
            return 0
        return truth[candidate]

    voters = [m for m in d.miners if tactic == "misreport" or m.address not in gang_addresses]
    stakes = {m.address: c.miner_info(m.address).stake for m in gang}
    result = play_round(d, [(m, truth[m.address]) for m in d.miners], measure, voters=voters)
    assert outcomes(d, result.round_id) == [(winner.address, ClaimStatus.ACCEPTED, 9000)]
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (winner.address, 9000)
    assert c.miner_info(winner.address).stake == STAKE + MISS_BOND
    lost = penalties(d, PenaltyReason.MISREPORT if tactic == "misreport" else PenaltyReason.MISSED_VOTE)
    assert set(lost) == gang_addresses  # every colluder paid for it
    for m in gang:  # what it still holds (stake, or the rest credited on eviction) is less than it staked
        assert c.miner_info(m.address).stake + c.pending_rewards(m.address) < stakes[m.address]


@pytest.mark.parametrize(("miners", "colluders"), [(10, 5), (11, 5), (10, 4)])
def test_up_to_two_thirds_of_a_committee_can_neither_slash_an_honest_winner_nor_win(anvil_w3: Web3, miners: int,
                                                                                colluders: int) -> None:
    """The issue's attack: N = 10, nine seats (v1: a rejection quorum of 5), five colluders report 0 for the
    honest 9000 claim so that their own 7004 claim wins. Also five of ten seats (N = 11) and four of nine. Two
    thirds of the reports decide, so the split committee disputes the claim, and the dispute goes to appeal,
    decided by stake: where the honest side (the claimant and its truthful seats) holds more than half of the
    stake, the claim is the block at its median and every colluder pays a misreport penalty (issue 20, finding
    5); at exactly half (five of ten) the dispute stands: no block, nobody pays. Either way the colluders' claim
    is never validated and no honest miner loses anything. (A coalition holding more than half of the stake
    decides an appeal: that is the chain's stake bound, see the README.)"""
    d = deploy_with_miners(anvil_w3, miners, stake=STAKE + MISS_BOND)
    c = d.contract
    winner, gang = d.miners[0], d.miners[1:1 + colluders]
    truth = {m.address: 6000 + i for i, m in enumerate(d.miners)} | {winner.address: 9000, gang[0].address: 7004}
    gang_addresses = {m.address for m in gang}
    head = c.latest_block()
    result = play_round(d, [(m, truth[m.address]) for m in d.miners],
                        lambda cand, seat: 0 if seat.address in gang_addresses and cand == winner.address
                        else truth[cand])
    decided = c.decisions(result.round_id)
    stands = 2 * colluders == miners  # the honest side holds exactly half of the stake
    assert [(x.claimant, x.outcome, x.reports, x.seats) for x in decided] == [
        (winner.address, ClaimStatus.DISPUTED, miners - 1, miners - 1),
        (winner.address, ClaimStatus.DISPUTED if stands else ClaimStatus.ACCEPTED, miners - 1, miners - 1)]
    assert c.appeal_attempt(result.round_id) == 2
    assert c.miner_info(winner.address).stake == STAKE + MISS_BOND  # the honest winner is never slashed
    assert all(c.miner_info(m.address).stake == STAKE + MISS_BOND for m in d.miners[1 + colluders:])
    if stands:
        assert c.latest_block() == head  # no block: the colluders' 7004 claim was never validated
        assert c.events("Penalized") == []  # nobody can tell who lied
        assert all(c.pending_rewards(m.address) == 0 for m in d.miners)
    else:
        assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (winner.address, 9000)
        assert penalties(d, PenaltyReason.MISREPORT).keys() == gang_addresses
        assert all(c.pending_rewards(a) < STAKE + MISS_BOND for a in gang_addresses)  # evicted with less


@pytest.mark.parametrize(("miners", "colluders"), [(10, 4), (11, 4)])
def test_up_to_two_thirds_of_a_committee_cannot_have_a_false_claim_accepted(anvil_w3: Web3, miners: int,
                                                                            colluders: int) -> None:
    """The mirror image: a cheater claims 9000 for a 1000 model and its colluders (a third of the seats or more,
    under 2/3) confirm it. The honest seats dispute it and the appeal is decided by stake: with the cheater and
    its colluders at half of the stake (ten miners) the dispute stands (no block, nobody paid); under half
    (eleven) the appeal rejects the claim, the cheater is slashed, each colluder pays a misreport penalty and
    the honest best claim is the block. A false claim is accepted only by more than half of all stake."""
    d = deploy_with_miners(anvil_w3, miners)
    c = d.contract
    cheater, gang = d.miners[0], d.miners[1:1 + colluders]
    truth = {m.address: 6500 + i for i, m in enumerate(d.miners)} | {cheater.address: 1000}
    gang_addresses = {m.address for m in gang}
    head = c.latest_block()
    result = play_round(d, [(cheater, 9000)] + [(m, truth[m.address]) for m in d.miners[1:]],
                        lambda cand, seat: 9000 if seat.address in gang_addresses and cand == cheater.address
                        else truth[cand])
    decided = [(x.claimant, x.outcome) for x in c.decisions(result.round_id)]
    if 2 * (colluders + 1) == miners:
        assert decided == [(cheater.address, ClaimStatus.DISPUTED)] * 2
        assert c.latest_block() == head and c.events("Penalized") == []
    else:
        assert decided[:2] == [(cheater.address, ClaimStatus.DISPUTED), (cheater.address, ClaimStatus.REJECTED)]
        assert penalties(d, PenaltyReason.FALSE_CLAIM).keys() == {cheater.address}
        assert penalties(d, PenaltyReason.MISREPORT).keys() == gang_addresses
        assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (d.miners[-1].address, truth[
            d.miners[-1].address])
    assert c.pending_rewards(cheater.address) == 0 and c.latest_block().miner != cheater.address


def test_a_seat_that_withholds_its_report_cannot_win_with_its_own_claim(anvil_w3: Web3) -> None:
    """Red team: four of nine seats (under half) stay silent on the honest 9000 claim, so that it has no quorum
    and their own lower 7004 claim is validated next. A silent seat's own claim loses its eligibility: the
    block goes to an honest next-best claim, and the silence cost each gang member its bond."""
    d = deploy_with_miners(anvil_w3, 10, stake=STAKE + MISS_BOND)
    c = d.contract
    winner, gang = d.miners[0], d.miners[1:5]
    truth = {m.address: 6000 + i for i, m in enumerate(d.miners)} | {winner.address: 9000, gang[0].address: 7004}
    gang_addresses = {m.address for m in gang}
    result = play_round(d, [(m, truth[m.address]) for m in d.miners], truthful(truth),
                        voters=[m for m in d.miners if m.address not in gang_addresses])
    decided = outcomes(d, result.round_id)
    assert decided[0] == (winner.address, ClaimStatus.NO_QUORUM, 0)
    assert gang[0].address not in [claimant for claimant, *_ in decided]  # never validated
    block = c.latest_block()
    assert block.miner not in gang_addresses and block.miner == d.miners[-1].address
    assert set(penalties(d, PenaltyReason.MISSED_VOTE)) == gang_addresses
    assert all(c.pending_rewards(a) == 0 for a in gang_addresses)


def test_silence_cannot_keep_an_accepted_claim_the_best(anvil_w3: Web3) -> None:
    """Red team, round 2: A (true 7000) claims 7100 (truth + tolerance) and commits first, tying honest H (true
    and claimed 7100); A is accepted first at its 7000 median. A and its sybil S then withhold their reports
    on H so that H has no quorum and A's accepted claim is the block. A silent seat loses its own claim, an
    accepted one too: A gets no block and no reward."""
    d = deploy_with_miners(anvil_w3, 5, stake=STAKE + MISS_BOND)
    c = d.contract
    a, s, h, h2, h3 = d.miners
    claims = {a.address: 7100, s.address: 6100, h.address: 7100, h2.address: 6200, h3.address: 6300}
    truth = claims | {a.address: 7000}
    r = c.current_round()
    sealed = {m.address: SealedClaim(r, cid_of(f"steer{m.address}"), claims[m.address]) for m in d.miners}
    commit_claims(c, [(m, sealed[m.address]) for m in d.miners])
    reveal_claims(c, [(m, sealed[m.address]) for m in d.miners])
    everyone = {m.address: m for m in d.miners}
    while c.current_round() == r:
        if c.current_phase("pending").phase == Phase.VALIDATION:
            seats = draw_committee(c, d.owner)
            candidate = c.round_info(r).candidate
            silent = {a.address, s.address} if candidate == h.address else set()
            cast_votes(c, r, [(everyone[x], truth[candidate]) for x in seats if x not in silent])
            if c.current_phase().phase == Phase.VALIDATION:
                advance_time(d, c.round_info(r).deadline)
        c.finalize(d.owner).wait()
    assert outcomes(d, r)[:2] == [(a.address, ClaimStatus.ACCEPTED, 7000), (h.address, ClaimStatus.NO_QUORUM, 0)]
    assert c.latest_block().miner != a.address and c.pending_rewards(a.address) == 0
    assert set(penalties(d, PenaltyReason.MISSED_VOTE)) == {a.address, s.address}


def test_a_majority_below_two_thirds_can_neither_inflate_a_block_nor_penalize_the_honest_seats(
        anvil_w3: Web3) -> None:
    """Red team: five of nine seats report 10000 for an honest 9000 claim, to record 10000 (a head no model can
    beat: the chain would freeze) and to have the four truthful seats penalized as misreporters. The median is
    a measurement only where 2/3 of the reports lie within tolerance of it: here they do not, so the claim is
    disputed; on appeal every voter agrees with the claim and the stake-weighted median of the agreeing voters
    (the claimant's 9000 and the truthful seats hold half of the stake) is 9000: the block records what the
    model measures, and the five inflating seats, not the truthful ones, pay."""
    d = deploy_with_miners(anvil_w3, 10)
    c = d.contract
    claimant, gang, honest = d.miners[0], d.miners[1:6], d.miners[6:]
    truth = {m.address: 6000 + i for i, m in enumerate(d.miners)} | {claimant.address: 9000}
    gang_addresses = {m.address for m in gang}
    result = play_round(d, [(m, truth[m.address]) for m in d.miners],
                        lambda cand, seat: 10000 if seat.address in gang_addresses else truth[cand])
    assert [(x.outcome, x.median_bps) for x in c.decisions(result.round_id)] == [
        (ClaimStatus.DISPUTED, 10000), (ClaimStatus.ACCEPTED, 9000)]
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (claimant.address, 9000)
    assert penalties(d, PenaltyReason.MISREPORT).keys() == gang_addresses
    assert all(c.miner_info(m.address).registered and c.miner_info(m.address).stake == STAKE for m in honest)


def test_half_the_seats_cannot_penalize_the_honest_seats_by_confirming_an_under_claim(anvil_w3: Web3) -> None:
    """Red team: a claimant measures 8000 and claims 7700; its three seats (of six) report 7600 (claim minus the
    tolerance), the three honest seats the truth, to have them penalized (and evicted) as misreporters of a
    7600 median. With the reports split, no median is a measurement: disputed. On appeal the honest seats,
    staked twice as much, hold 6 of the 10 ether staked: the stake-weighted median of the agreeing voters is
    their 8000 (by seat count it would be the claimant's 7700, and the honest seats would pay); the three
    under-reporting seats pay, the honest ones nothing."""
    d = deploy_with_miners(anvil_w3, 7)
    c = d.contract
    claimant, gang, honest = d.miners[0], d.miners[1:4], d.miners[4:]
    wait_all([c.add_stake(m, STAKE) for m in honest])
    gang_addresses = {m.address for m in gang}
    truth = {m.address: 6000 + 10 * i for i, m in enumerate(d.miners)} | {claimant.address: 8000}
    claims = [(m, 7700 if m is claimant else truth[m.address]) for m in d.miners]
    result = play_round(d, claims, lambda cand, seat: 7600 if seat.address in gang_addresses else truth[cand])
    assert [(x.outcome, x.median_bps) for x in c.decisions(result.round_id)] == [
        (ClaimStatus.DISPUTED, 7600), (ClaimStatus.ACCEPTED, 8000)]
    assert penalties(d, PenaltyReason.MISREPORT).keys() == gang_addresses
    assert all(c.miner_info(m.address).stake == 2 * STAKE for m in honest)


# ------------------------------------------------------------- issue 20, finding 5: free disputes


def test_free_disputes_cost_the_coalition_every_round_and_the_honest_claims_become_blocks(anvil_w3: Web3) -> None:
    """Issue 20, finding 5: 4 of 10 miners (4 of 9 seats, 40% of the stake) report 0 for every honest candidate,
    round after round, so that every round is disputed. Each first dispute goes to appeal: every committer that
    may still sit, decided by stake; the claimant and its five truthful seats hold 60%: the honest best claim is
    the block at the lower median of the agreeing voters (six distinct values, the claim's among them: the
    lower median, base + 20, not the upper, base + 30), and each colluder pays misreportPenaltyBps of its
    stake, every round, for its report in the first committee and on appeal (once). Honest miners lose
    nothing."""
    d = deploy_with_miners(anvil_w3, 10, stake=2 * STAKE)
    c = d.contract
    honest, gang = d.miners[:6], d.miners[6:]
    gang_addresses = {m.address for m in gang}
    held = {m.address: 2 * STAKE for m in gang}
    for k in range(3):
        base = 9000 + 100 * k
        truth = {m.address: base - 500 + i for i, m in enumerate(d.miners)} | {honest[0].address: base + 5}
        reports = {m.address: base + 10 * i for i, m in enumerate(honest)}  # distinct, within the tolerance

        def measure(cand: str, seat, truth=truth, reports=reports) -> int:
            if seat.address in gang_addresses:
                return 0 if cand not in gang_addresses else truth[cand]
            return reports[seat.address] if cand == honest[0].address else truth[cand]

        result = play_round(d, [(m, truth[m.address]) for m in d.miners], measure, tag=f"free{k}")
        assert [(x.claimant, x.outcome) for x in c.decisions(result.round_id)] == [
            (honest[0].address, ClaimStatus.DISPUTED), (honest[0].address, ClaimStatus.ACCEPTED)]
        assert c.appeal_attempt(result.round_id) == 2
        block = c.latest_block()
        assert (block.height, block.miner, block.accuracy_bps) == (k + 1, honest[0].address, base + 20)
        lost = {e["args"]["miner"]: e["args"]["amount"] for e in c.events("Penalized")
                if e["args"]["round"] == result.round_id}
        assert lost == {a: held[a] // 10 for a in gang_addresses}  # 10% each, once, and nobody else
        held = {a: held[a] - lost[a] for a in gang_addresses}
    assert all(c.miner_info(a).stake == held[a] for a in gang_addresses)
    assert all(c.miner_info(m.address).stake == 2 * STAKE for m in honest)  # honest miners lose nothing
    assert c.pending_rewards(honest[0].address) == 3 * BASE_CONFIG.block_reward


def test_the_appeal_decides_by_stake_not_by_seat_count(anvil_w3: Web3) -> None:
    """Five colluders at minStake report 0 for the honest best claim; the five honest miners (the claimant among
    them) stake twice as much. The first committee (5 of 9 seats against) disputes. On appeal the seats split
    five voters to five by count, but the honest side holds 10 of the 15 ether staked: the claim is accepted
    and the colluders pay. (Decided by seat count, the dispute would stand and cost them nothing.)"""
    d = deploy_with_miners(anvil_w3, 10)
    c = d.contract
    honest, gang = d.miners[:5], d.miners[5:]
    wait_all([c.add_stake(m, STAKE) for m in honest])
    gang_addresses = {m.address for m in gang}
    truth = {m.address: 8000 + i for i, m in enumerate(d.miners)} | {honest[0].address: 9000}
    result = play_round(d, [(m, truth[m.address]) for m in d.miners],
                        lambda cand, seat: 0 if seat.address in gang_addresses and cand == honest[0].address
                        else truth[cand])
    assert [x.outcome for x in c.decisions(result.round_id)] == [ClaimStatus.DISPUTED, ClaimStatus.ACCEPTED]
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (honest[0].address, 9000)
    assert penalties(d, PenaltyReason.MISREPORT).keys() == gang_addresses
    assert all(c.miner_info(m.address).stake == 2 * STAKE for m in honest)


# ----------------------------------------------------------------------------------- idle sybils


def test_idle_sybils_neither_raise_the_quorum_nor_leave_a_false_claim_inconclusive(anvil_w3: Web3) -> None:
    """Six sybils (at minStake) register and never commit; the five committers (at twice it) hold most of the
    stake, so the round is independent (an idle majority of the stake would make no block: see the sybil
    bootstrap test)."""
    d = deploy_with_miners(anvil_w3, 5, stake=2 * STAKE)
    c = d.contract
    d.miners += fresh_signers(anvil_w3, 6)
    wait_all([c.register(m, STAKE) for m in d.miners[5:]])
    honest, cheater, sybils = d.miners[:4], d.miners[4], d.miners[5:]  # six sybils that never commit
    truth = {m.address: 7000 + i for i, m in enumerate(honest)} | {cheater.address: 3000}
    claims = [(m, truth[m.address]) for m in honest] + [(cheater, 9900)]
    result = play_round(d, claims, truthful(truth))
    assert outcomes(d, result.round_id) == [(cheater.address, ClaimStatus.REJECTED, 3000),
                                            (honest[3].address, ClaimStatus.ACCEPTED, 7003)]
    assert not c.miner_info(cheater.address).registered  # slashed (whole stake) and evicted
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (honest[3].address, 7003)
    # the sybils joined in round 1: active through round 2, then they no longer count
    play_round(d, [(m, 7100 + i) for i, m in enumerate(honest)], truthful({m.address: 7100 + i
                                                                          for i, m in enumerate(honest)}))
    assert c.active_miner_count() == 4 and not any(c.miner_info(s.address).active for s in sybils)
    r = c.current_round()
    commit_claims(c, [(m, SealedClaim(r, cid_of(f"idle{i}"), 7300)) for i, m in enumerate(honest)])
    assert c.current_phase().phase == Phase.REVEAL  # the commit phase ends as soon as the active miners commit


# ------------------------------------------------------------------------------------ minStake 0


def test_min_stake_zero_is_refused_and_slashes_keep_counts_exact(anvil_w3: Web3, funded: Funded) -> None:
    for field, value, expected in (("min_stake", 0, ConfigField.MIN_STAKE), ("miss_bond", 0, ConfigField.MISS_BOND)):
        with pytest.raises(E.PoFLInvalidConfig) as info:
            PoFLContract.deploy(funded(1)[0], replace(BASE_CONFIG, **{field: value}), GENESIS_CID,
                                deployments_dir=None)
        assert info.value.args_by_name == {"field": expected}
    d = deploy_with_miners(anvil_w3, 7)
    c = d.contract
    liars = d.miners[:2]
    truth = {m.address: 7000 + i for i, m in enumerate(d.miners)}
    claims = [(m, 9900 - i if m in liars else truth[m.address]) for i, m in enumerate(d.miners)]
    result = play_round(d, claims, truthful(truth))
    assert [o for _, o, _ in outcomes(d, result.round_id)] == [ClaimStatus.REJECTED] * 2 + [ClaimStatus.ACCEPTED]
    assert c.active_miner_count() == 5 and c.miner_count() == 5  # each slashed miner counted out exactly once
    r = c.current_round()
    honest = d.miners[2:]
    commit_claims(c, [(m, SealedClaim(r, cid_of(f"n{i}"), 7100)) for i, m in enumerate(honest[:4])])
    assert c.current_phase().phase == Phase.COMMIT  # not closed before the fifth active miner commits
    commit_claims(c, [(honest[4], SealedClaim(r, cid_of("n4"), 7100))])
    assert c.current_phase().phase == Phase.REVEAL


# ------------------------------------------------------------------- free non-reveal and silence


def test_non_reveal_and_silence_cost_a_bond_and_stretch_at_most_one_more_round(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 7, stake=STAKE + 2 * MISS_BOND)
    c = d.contract
    hider, sleeper = d.miners[0], d.miners[1]
    truth = {m.address: 7000 + i for i, m in enumerate(d.miners)}
    pool = c.balances()["rewardPool"]
    quiet = (hider, sleeper)
    play_round(d, [(m, truth[m.address]) for m in d.miners], truthful(truth),
               revealers=[m for m in d.miners if m is not hider], voters=[m for m in d.miners if m not in quiet])
    assert penalties(d, PenaltyReason.MISSED_REVEAL) == {hider.address: MISS_BOND}
    assert penalties(d, PenaltyReason.MISSED_VOTE) == {hider.address: MISS_BOND, sleeper.address: MISS_BOND}
    assert c.balances()["rewardPool"] == pool + 3 * MISS_BOND - 10**17
    others = d.miners[2:]
    # both go quiet: round 2 still waits for them (they were active), round 3 no longer does
    play_round(d, [(m, 7100 + i) for i, m in enumerate(others)], truthful({m.address: 7100 + i
                                                                          for i, m in enumerate(others)}))
    r = c.current_round()
    commit_claims(c, [(m, SealedClaim(r, cid_of(f"q{i}"), 7300)) for i, m in enumerate(others)])
    assert c.current_phase().phase == Phase.REVEAL
    assert not c.miner_info(hider.address).active and not c.miner_info(sleeper.address).active


# -------------------------------------------------------------------- the cap and slashed miners


def test_slashed_and_idle_miners_free_their_place_under_the_cap(anvil_w3: Web3, funded: Funded) -> None:
    d = deploy_with_miners(anvil_w3, 5, min_stake=10**15, miss_bond=10**13)  # the committers hold most stake
    c = d.contract
    fillers = funded(251, 10**17)  # 5 + 250 = the cap of 255
    wait_all([c.register(s, 10**15) for s in fillers[:250]])
    late = fillers[250]
    with pytest.raises(E.PoFLTooManyMiners):
        c.register(late, 10**15)
    cheater = d.miners[0]
    truth = {m.address: 7000 + i for i, m in enumerate(d.miners)} | {cheater.address: 1000}
    claims = [(m, 9900 if m is cheater else truth[m.address]) for m in d.miners]
    play_round(d, claims, truthful(truth))
    assert not c.miner_info(cheater.address).registered  # slashed miners are evicted...
    c.register(late, 10**15).wait()  # ...and their place is free
    active = d.miners[1:]
    play_round(d, [(m, 7100 + i) for i, m in enumerate(active)], truthful({m.address: 7100 + i
                                                                          for i, m in enumerate(active)}))
    assert c.active_miner_count() == 5  # the idle fillers no longer count (late joined in round 2)
    newcomer = funded(1, 10**17)[0]
    c.register(newcomer, 10**15).wait()
    assert c.miner_count() == 256  # registered, but only 6 active


# ---------------------------------------------------------------------------- committee grinding


def fisher_yates_seats(seed: bytes, attempt: int, available: list[int], size: int) -> set[int]:
    """Test-only mirror of the contract's draw, to show the seats are a function of the seed alone."""
    positions = list(available)
    n = len(positions)
    count = n if size == 0 or size > n else size
    if count == n:
        return set(positions)
    from eth_abi import encode
    for i in range(count):
        k = i + int.from_bytes(Web3.keccak(encode(["bytes32", "uint256", "uint256"], [seed, attempt, i])), "big") \
            % (n - i)
        positions[i], positions[k] = positions[k], positions[i]
    return set(positions[:count])


def test_the_last_revealer_cannot_grind_the_committee(anvil_w3: Web3, attackers: dict) -> None:
    d = deploy_with_miners(anvil_w3, 8, committee_size=3)
    c = d.contract
    grinder = deploy_helper(d, attackers["GrindingRevealer"])
    send(d.owner, grinder.functions.register(), c.errors, value=STAKE).wait()
    sybils = [m.address for m in d.miners[:2]]
    r = c.current_round()
    false_model = cid_of("garbage")
    digest, _ = cid_to_digest(false_model)
    salt = b"\x05" * 32
    claims = ladder(d, "g")
    commit_claims(c, claims)
    send(d.owner, grinder.functions.commit(digest, 9900, salt), c.errors).wait()  # the last committer
    reveal_claims(c, claims)
    for _ in range(3):  # it tries in several blocks: the committee is never known before it reveals
        assert c.committee(r) == []
        with pytest.raises(Exception, match="committee unknown or unfavourable"):
            send(d.owner, grinder.functions.revealIfFavourable(digest, 9900, salt, sybils), c.errors)
        c.advance(d.owner).wait()
    advance_time(d, c.round_info(r).deadline)  # it never revealed; the reveals end without it
    info = c.round_info(r)
    assert info.candidate == d.miners[7].address
    seats = draw_committee(c, d.owner)
    info = c.round_info(r)
    seed_hash = bytes(anvil_w3.eth.get_block(info.seed_block)["hash"])
    assert info.seed == Web3.keccak(seed_hash + bytes(12) + bytes.fromhex(c.address[2:]) + r.to_bytes(32, "big"))
    positions = {c.claim_of(r, a).position: a for a in c.miners() if c.claim_of(r, a).committed}
    drawn = fisher_yates_seats(info.seed, 1, sorted(p for p, a in positions.items() if a != info.candidate), 3)
    assert {positions[p] for p in drawn} == set(seats)  # a function of the seed block's hash and the committers
    cast_votes(c, r, [(d.by_address(a), 7007) for a in seats if a in {m.address for m in d.miners}])
    advance_time(d, c.round_info(r).deadline) if c.current_phase().phase == Phase.VALIDATION else None
    c.finalize(d.owner).wait()
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (d.miners[7].address, 7007)
    assert penalties(d, PenaltyReason.MISSED_REVEAL)[grinder.address] == MISS_BOND  # the option cost a bond


# --------------------------------------------------------------------------- tolerance inflation


def test_tolerance_inflation_records_the_median_not_the_claim(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 5)
    c = d.contract
    inflator = d.miners[4]
    truth = {m.address: 7000 + i for i, m in enumerate(d.miners)} | {inflator.address: 8000}
    claims = [(m, 8100 if m is inflator else truth[m.address]) for m in d.miners]  # +tolerance
    play_round(d, claims, truthful(truth))
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (inflator.address, 8000)
    # the bar for the next round is what was measured: an honest 8050 beats it (v1 recorded 8100)
    truth2 = {m.address: 7500 for m in d.miners} | {d.miners[0].address: 8050}
    play_round(d, [(m, truth2[m.address]) for m in d.miners], truthful(truth2))
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (d.miners[0].address, 8050)


# ---------------------------------------------------------------------- retroactive owner changes


def test_owner_changes_apply_from_the_next_round(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 5)
    c = d.contract
    r = c.current_round()
    claims = ladder(d, "o")
    claims[4] = (d.miners[4], SealedClaim(r, cid_of("o4"), 9000))  # true 8000: 10% over
    commit_claims(c, claims[:4])
    commit_deadline = c.round_info(r).deadline
    c.set_phase_durations(d.owner, 1, 1, 1).wait()  # would have ended this round's phases at once
    c.set_validation(d.owner, 1000, 6666, 0, 3).wait()  # would let the 9000 claim pass
    assert c.round_info(r).deadline == commit_deadline and c.config().tolerance_bps == 100
    commit_claims(c, claims[4:])
    reveal_claims(c, claims)  # on time by this round's own durations
    seats = draw_committee(c, d.owner)
    cast_votes(c, r, [(d.by_address(a), 8000) for a in seats])
    c.finalize(d.owner).wait()
    assert c.claim_of(r, d.miners[4].address).status == ClaimStatus.REJECTED  # judged by tolerance 100
    cast_votes(c, r, [(d.by_address(a), 7003) for a in c.committee(r)])  # the next best, in round r's rules
    c.finalize(d.owner).wait()
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (d.miners[3].address, 7003)
    assert c.config().tolerance_bps == 1000 and c.config().commit_duration == 1  # from the next round


# ------------------------------------------------------------------- issue 20: no parent on trust


@pytest.mark.parametrize("liars", [4, 2])
def test_the_parent_lie_wins_nothing(anvil_w3: Web3, liars: int) -> None:
    """Issue 20, finding 1 (hold-out mode): a coalition reports every honest candidate truthfully but the parent
    at 10000 (and the parent truthfully for its own 7600 claim), so that no honest claim beats the parent and its
    own becomes the block. The parent's reports are judged like the candidate's: four liars of nine seats split
    them, so the best honest claim is disputed and the search ends -- the coalition's claim is never validated,
    it earns nothing. Two liars (under a third) are outvoted: the honest best claim is the block and each liar
    pays a misreport penalty."""
    t = HoldoutTask(anvil_w3, 10, 1)
    c = t.contract
    gang = {m.address for m in t.miners[-liars:]}
    truth = {m.address: 9000 + 10 * i for i, m in enumerate(t.miners)} | {a: 6500 for a in gang}
    own = t.miners[-1].address
    truth[own] = 7600
    r = c.current_round()

    def parent(seat) -> int:
        lying = seat.address in gang and c.round_info(r).candidate not in gang
        return 10000 if lying else 7000

    result = play_round(t.d, [(m, truth[m.address]) for m in t.miners], lambda cand, _s: truth[cand],
                        reveal_key=t.reveal, parent=parent)
    decided = outcomes(t.d, result.round_id)
    assert own not in [claimant for claimant, *_ in decided]  # the coalition's claim is never validated
    held = [c.miner_info(a).stake + c.pending_rewards(a) for a in gang]  # stake, or its rest credited on eviction
    best = max((m for m in t.miners if m.address not in gang), key=lambda m: truth[m.address])
    if liars == 4:  # disputed, then accepted on appeal (the honest side holds 60% of the stake)
        assert decided == [(best.address, ClaimStatus.DISPUTED, truth[best.address]),
                           (best.address, ClaimStatus.ACCEPTED, truth[best.address])]
        assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (best.address, truth[best.address])
        assert set(penalties(t.d, PenaltyReason.MISREPORT)) == gang  # the parent's misreports cost them
        assert all(h < STAKE for h in held)
        assert c.parent_measurements(result.round_id)[2] == 7000
    else:
        assert decided == [(best.address, ClaimStatus.ACCEPTED, truth[best.address])]
        assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (best.address, truth[best.address])
        assert set(penalties(t.d, PenaltyReason.MISREPORT)) == gang  # the parent's misreports cost them
        assert all(h < STAKE for h in held)
        assert c.parent_measurements(result.round_id) == {1: 7000}


def test_sybils_alone_in_an_idle_round_make_no_block_and_a_fake_head_freezes_nothing(anvil_w3: Web3,
                                                                                   funded: Funded) -> None:
    """Issue 20, finding 2 (public mode): in a round no honest miner commits to, one attacker with four
    addresses (minCommittee + 1) claims 10000 for a garbage model and has its three others report 10000. Its
    committers hold less than half of the stake: the round cannot make a block (NotIndependent), the attacker
    earns nothing, and honest rounds go on. An attacker that holds all the stake (alone right after deployment)
    can record a fake 10000 head, but cannot freeze the chain: the next committee measures the parent at what it
    is and the honest claim beats it."""
    d = deploy_with_miners(anvil_w3, 6)
    c = d.contract
    sybils = funded(4)
    wait_all([c.register(m, STAKE) for m in sybils])
    fake = {m.address: 10000 for m in sybils}
    result = play_round(Deployed(c, d.owner, d.miners + sybils),
                        [(m, 10000 if i == 0 else 6100 + i) for i, m in enumerate(sybils)],
                        lambda cand, _s: fake.get(cand, 0), voters=sybils)
    assert c.latest_block().height == 0 and c.decisions(result.round_id) == []
    assert c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.NOT_INDEPENDENT
    assert all(c.pending_rewards(m.address) == 0 for m in sybils)
    honest = {m.address: 7000 + 100 * i for i, m in enumerate(d.miners)}
    for k in range(3):  # the honest rounds after it make blocks
        truth = {a: v + 10 * k for a, v in honest.items()}
        play_round(d, [(m, truth[m.address]) for m in d.miners], truthful(truth))
        assert c.latest_block().accuracy_bps == 7500 + 10 * k
    # alone on a fresh deployment the attacker is the whole network: a fake head, but no freeze
    alone = deploy_with_miners(anvil_w3, 4)
    a = alone.contract
    play_round(alone, [(m, 10000 if i == 0 else 6100 + i) for i, m in enumerate(alone.miners)],
               lambda cand, _s: 10000 if cand == alone.miners[0].address else 0)
    assert a.latest_block().accuracy_bps == 10000
    newcomers = funded(6)
    wait_all([a.register(m, STAKE) for m in newcomers])
    everyone = Deployed(a, alone.owner, alone.miners + newcomers)
    truth = {m.address: 9000 + 100 * i for i, m in enumerate(newcomers)}  # up to 9500
    play_round(everyone, [(m, truth[m.address]) for m in newcomers], truthful(truth),
               parent=lambda _seat: 1000, declared_parent_bps=1000)  # the fake head measures 1000
    assert (a.latest_block().miner, a.latest_block().accuracy_bps) == (newcomers[-1].address, 9500)


def test_half_the_seats_under_reporting_the_best_claim_cannot_hand_the_block_to_a_worse_one(anvil_w3: Web3) -> None:
    """Issue 20, finding 8: over an 8000 head, five of nine seats report the honest best claim (8080) at 8000 --
    within the tolerance, so nobody can tell them from honest seats -- to have it Unimproved and their own worse
    8040 claim become the block. An Unimproved claim that its committee confirmed ends the search (no lower claim
    can beat the parent by more than the tolerance): no block this round, the coalition's claim is never
    validated and earns nothing."""
    d = deploy_with_miners(anvil_w3, 10)
    c = d.contract
    first = {m.address: 7000 + i for i, m in enumerate(d.miners)} | {d.miners[0].address: 8000}
    play_round(d, [(m, first[m.address]) for m in d.miners], truthful(first))
    assert c.latest_block().accuracy_bps == 8000
    winner, gang = d.miners[0], d.miners[1:6]
    gang_addresses = {m.address for m in gang}
    truth = {m.address: 7500 + i for i, m in enumerate(d.miners)} | {winner.address: 8080, gang[0].address: 8040}
    result = play_round(d, [(m, truth[m.address]) for m in d.miners],
                        lambda cand, seat: 8000 if cand == winner.address and seat.address in gang_addresses
                        else truth[cand])
    assert outcomes(d, result.round_id) == [(winner.address, ClaimStatus.UNIMPROVED, 8000)]
    assert c.latest_block().round == 1 and all(c.pending_rewards(a) == 0 for a in gang_addresses)


def test_one_over_claim_no_better_than_the_parent_does_not_end_the_search(anvil_w3: Web3) -> None:
    """The other side of finding 8's rule: over an 8000 head, a griefer claims 8090 for a model every seat
    measures at 7995 (within the tolerance of its claim, so it is not slashed), to end the round's search
    and deny the honest 8050 claim its block. No seat measured it above the parent, so the search goes on:
    the honest claim is the block."""
    d = deploy_with_miners(anvil_w3, 6)
    c = d.contract
    first = {m.address: 7000 + i for i, m in enumerate(d.miners)} | {d.miners[0].address: 8000}
    play_round(d, [(m, first[m.address]) for m in d.miners], truthful(first))
    griefer, honest = d.miners[1], d.miners[2]
    truth = {m.address: 7500 + i for i, m in enumerate(d.miners)} | {griefer.address: 7995, honest.address: 8050}
    claims = [(m, 8090 if m is griefer else truth[m.address]) for m in d.miners]
    result = play_round(d, claims, truthful(truth))
    assert outcomes(d, result.round_id) == [(griefer.address, ClaimStatus.UNIMPROVED, 7995),
                                            (honest.address, ClaimStatus.ACCEPTED, 8050)]
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (honest.address, 8050)
    assert c.pending_rewards(griefer.address) == 0


# ------------------------------------------------------------- issue 20, finding 4: selective availability


def _starve(d: Deployed, served: int, tag: str) -> tuple[int, list[str]]:
    """A round where the best claimant (the last miner, 100 over the others' ladder) serves its model to
    ``served`` of its seats only: the others cannot fetch it and, once the fetch deadline on chain has passed,
    report it UNAVAILABLE (an UNAVAILABLE report before it is refused); every seat measures the other claims
    truthfully. Returns the round and the starved seats."""
    c = d.contract
    r = c.current_round()
    base = max(c.latest_block().accuracy_bps, BASE_CONFIG.threshold_bps) + 10
    claims = [(m, SealedClaim(r, cid_of(f"{tag}{i}"), base + i + (100 if m is d.miners[-1] else 0)))
              for i, m in enumerate(d.miners)]
    truth = {m.address: s.accuracy_bps for m, s in claims}
    commit_claims(c, claims)
    reveal_claims(c, claims)
    seats = draw_committee(c, d.owner)
    starved = seats[served:]
    info = c.round_info(r)
    until = fetch_deadline(info.deadline, BASE_CONFIG.validation_duration)
    with pytest.raises(E.PoFLFetchWindowOpen) as early:
        c.vote(d.by_address(starved[0]), r, info.attempt, UNAVAILABLE_BPS, c.latest_block().accuracy_bps)
    assert early.value.args_by_name == {"until": until}
    advance_time(d, until - 1)
    cast_votes(c, r, [(d.by_address(a), UNAVAILABLE_BPS if a in starved else truth[info.candidate]) for a in seats])
    c.finalize(d.owner).wait()
    while c.current_round() == r:
        seats = draw_committee(c, d.owner)
        cast_votes(c, r, [(d.by_address(a), truth[c.round_info(r).candidate]) for a in seats])
        c.finalize(d.owner).wait()
    return r, starved


def test_a_claimant_serving_its_model_to_some_seats_only_pays_and_the_starved_seats_do_not(anvil_w3: Web3) -> None:
    """Issue 20, finding 4: a claimant served its genuine model to 6 of its 9 seats; the 3 starved seats reported
    0 and were penalized as misreporters (0.3 ETH, all 3 evicted at minStake). Now a seat that cannot fetch the
    model reports UNAVAILABLE from the fetch deadline on chain (never a misreport): with a third of the seats
    saying so the claim is Unavailable, the claimant pays the misreport penalty and the next-best claim is the
    block. Starving fewer than a third (2 of 8) costs the starved seats nothing either: their reports are not
    counted, the claim is decided by the others. (Checked: with the UNAVAILABLE reports counted as 0 the starved
    seats are penalized again.)"""
    d = deploy_with_miners(anvil_w3, 10)
    c = d.contract
    claimant = d.miners[-1]
    r, starved = _starve(d, 6, "sa")
    runner_up = d.miners[-2]
    assert [(a, o) for a, o, _ in outcomes(d, r)] == [(claimant.address, ClaimStatus.UNAVAILABLE),
                                                      (runner_up.address, ClaimStatus.ACCEPTED)]
    assert c.latest_block().miner == runner_up.address
    assert penalties(d, PenaltyReason.UNSERVED_CLAIM) == {claimant.address: STAKE // 10}
    assert not penalties(d, PenaltyReason.MISREPORT) and not penalties(d, PenaltyReason.MISSED_VOTE)
    assert all(c.miner_info(a).stake == STAKE for a in starved) and len(starved) == 3
    assert not c.miner_info(claimant.address).registered  # under minStake: evicted with the rest of its stake
    d.miners.remove(claimant)
    r, starved = _starve(d, 6, "sb")  # 8 seats, 2 starved: under a third
    best = d.miners[-1]
    assert [(a, o) for a, o, _ in outcomes(d, r)] == [(best.address, ClaimStatus.ACCEPTED)]
    assert c.latest_block().miner == best.address and len(starved) == 2
    assert not penalties(d, PenaltyReason.MISREPORT) and all(c.miner_info(a).stake == STAKE for a in starved)
