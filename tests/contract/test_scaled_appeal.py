"""PoFLScaled's appeal on a real Anvil (issue 25: every consensus v3 attack defeated in the scaled mode). A third of
the committee's seats can split it (a dispute); the round's first dispute goes to a jury sampled by index, whose
majority decides: the disputers lose, whether they under-report an honest claim or vouch for a false one, and a
jury that does not report leaves the dispute standing and pays its bonds. Each attack is played, not read."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web3 import Web3

from offchain.chain import errors as E
from offchain.chain.accounts import LocalSigner
from offchain.chain.scaled import (
    Candidate,
    Outcome,
    ScaledConfig,
    ScaledConfigField,
    ScaledContract,
    ScaledPenaltyReason,
    ScaledPhase,
    seat_indices,
)
from offchain.testing.rounds import placeholder_cid
from offchain.testing.scaled_rounds import ScaledFederation, _reveal, _vote, mine, play_scaled_round, seal_claims
from tests.contract.test_scaled import STAKE, federation, penalties

# nine miners, a committee of five (two seats are more than a third of it), a jury of every miner
CONFIG = ScaledConfig(seats=5, top_k=3, appeal_seats=9, min_stake=STAKE, bond=10**17, block_reward=10**16)


@pytest.fixture
def nine(anvil_w3: Web3, funded: Callable[..., list[LocalSigner]]) -> ScaledFederation:
    return federation(anvil_w3, funded, n=9, config=CONFIG)


class Coalition:
    """Two of the committee's seats (chosen once it is drawn, never the target's miner) and, as jurors, the same
    two miners: they report ``lie`` for the target's claim and the truth for every other."""

    def __init__(self, contract: ScaledContract, truth: dict[str, int], target: str, lie: int) -> None:
        self.contract, self.truth, self.target, self.lie = contract, truth, target, lie
        self.members: list[str] = []

    def measure(self, seat: LocalSigner, cand: Candidate) -> int:
        if not self.members:
            self.members = [a for a in self.contract.seats() if a != self.target][:2]
        if cand.miner == self.target and seat.address in self.members:
            return self.lie
        return self.truth[cand.miner]


def decided(fed: ScaledFederation, since: int, name: str) -> list[tuple[str, Outcome]]:
    return [(e["args"]["miner"], Outcome(e["args"]["outcome"])) for e in fed.contract.events(name, from_block=since)]


def test_a_third_of_the_seats_cannot_stall_a_round_for_free(nine: ScaledFederation) -> None:
    """Two of five seats report 0 for the honest best claim: the committee is split (a dispute), which without an
    appeal would cost the round its block for nothing. The jury re-measures it and upholds it: the honest best is
    the round's block, and both disputers pay the misreport penalty (as seats and as jurors)."""
    c = nine.contract
    truth = {m.address: 7000 + 200 * i for i, m in enumerate(nine.miners)}
    best = max(truth, key=truth.__getitem__)
    coalition = Coalition(c, truth, best, 0)
    since = nine.w3.eth.block_number + 1
    result = play_scaled_round(nine, truth, coalition.measure)
    assert (best, Outcome.DISPUTED) in decided(nine, since, "ClaimDecided")
    assert decided(nine, since, "AppealDecided") == [(best, Outcome.ACCEPTED)]
    block = c.latest_block()
    assert (block.round, block.miner, block.accuracy_bps) == (result.round_id, best, truth[best])
    paid = penalties(nine, since)
    for liar in coalition.members:
        assert paid.count((liar, ScaledPenaltyReason.MISREPORT)) == 2  # as a seat and as a juror
    assert {m for m, _ in paid} == set(coalition.members)
    assert len(result.gas["appealVote"]) == 8  # every juror but the claimant
    assert c.round_info().round == result.round_id + 1


def test_a_false_claim_vouched_for_by_a_third_of_the_seats_is_rejected_on_appeal(nine: ScaledFederation) -> None:
    """A miner claims 9,900 for a model worth 1,000 and two seats vouch for it: the committee is split. The jury
    rejects the claim: its miner loses its whole stake, the vouchers pay the misreport penalty, and the honest
    next best claim is the block."""
    c = nine.contract
    truth = {m.address: 7000 + 200 * i for i, m in enumerate(nine.miners)}
    liar = nine.miners[0].address
    truth[liar] = 1000
    honest_best = max(truth, key=truth.__getitem__)
    coalition = Coalition(c, truth, liar, 9900)
    since = nine.w3.eth.block_number + 1
    play_scaled_round(nine, dict(truth, **{liar: 9900}), coalition.measure)
    assert decided(nine, since, "AppealDecided") == [(liar, Outcome.REJECTED)]
    paid = penalties(nine, since)
    assert (liar, ScaledPenaltyReason.FALSE_CLAIM) in paid and not c.miner_of(liar)[2]
    for voucher in coalition.members:
        assert (voucher, ScaledPenaltyReason.MISREPORT) in paid
    assert c.latest_block().miner == honest_best


def test_a_jury_that_does_not_report_leaves_the_dispute_standing_and_pays_its_bonds(nine: ScaledFederation) -> None:
    """No juror reports: without a quorum the dispute stands (no block this round, nobody's report is judged a
    misreport), and every juror but the claimant forfeits the bond."""
    c = nine.contract
    truth = {m.address: 7000 + 200 * i for i, m in enumerate(nine.miners)}
    best = max(truth, key=truth.__getitem__)
    coalition = Coalition(c, truth, best, 0)
    height = c.block_count()
    since = nine.w3.eth.block_number + 1
    play_scaled_round(nine, truth, coalition.measure, jurors=[])
    assert decided(nine, since, "AppealDecided") == [(best, Outcome.DISPUTED)]
    assert c.block_count() == height and len(c.events("RoundFailed", from_block=since)) == 1
    paid = penalties(nine, since)
    assert sorted(paid) == sorted((m.address, ScaledPenaltyReason.MISSED_JURY_VOTE)
                                  for m in nine.miners if m.address != best)


def test_appeal_rejections(anvil_w3: Web3, funded: Callable[..., list[LocalSigner]]) -> None:
    owner = funded(1)[0]
    for bad in (0, 129):
        with pytest.raises(E.ScaledInvalidConfig) as info:
            ScaledContract.deploy(owner, ScaledConfig(appeal_seats=bad), placeholder_cid("g"), deployments_dir=None)
        assert info.value.args_by_name["field"] == ScaledConfigField.APPEAL_SEATS
    with pytest.raises(E.ScaledInvalidConfig) as info:
        ScaledContract.deploy(owner, ScaledConfig(appeal_duration=0), placeholder_cid("g"), deployments_dir=None)
    assert info.value.args_by_name["field"] == ScaledConfigField.DURATION

    fed = federation(anvil_w3, funded, n=9, config=ScaledConfig(seats=5, top_k=3, appeal_seats=5, min_stake=STAKE,
                                                               bond=10**17, block_reward=10**16))
    c = fed.contract
    truth = {m.address: 7000 + 200 * i for i, m in enumerate(fed.miners)}
    best = max(truth, key=truth.__getitem__)
    coalition = Coalition(c, truth, best, 0)
    r = c.round_info().round
    sealed = seal_claims(r, truth)
    c.post_root(fed.by_address[c.round_info().aggregator], r,
                [c.sign_claim(fed.by_address[a], cl) for a, cl in sealed.items()]).wait()
    with pytest.raises(E.ScaledWrongPhase):  # no appeal vote outside the Appeal phase
        c.appeal_vote(fed.miners[0], r, 0, 7000)
    fed.advance_past(c.round_info().deadline)
    gas: dict[str, list[int]] = {"reveal": [], "vote": []}
    _reveal(fed, r, sealed, None, gas)
    mine(fed.w3, 2)
    c.advance(fed.caller).wait()
    _vote(fed, r, coalition.measure, None, gas)
    fed.advance_past(c.round_info().deadline)
    c.finalize(fed.caller).wait()  # the dispute opens the appeal
    info, appeal = c.round_info(), c.appeal_info()
    assert info.phase == ScaledPhase.APPEAL and appeal.round == r and appeal.miner == best and appeal.jurors == 5
    assert c.candidate(appeal.candidate).miner == best and appeal.seed == bytes(32)
    with pytest.raises(E.ScaledSeedPending):
        c.appeal_vote(fed.miners[0], r, 0, 7000)
    with pytest.raises(E.ScaledWrongPhase):
        c.finalize(fed.caller)
    mine(fed.w3, 2)
    c.advance(fed.caller).wait()
    appeal = c.appeal_info()
    jurors = c.jurors()
    assert jurors == [c.miner_at(i) for i in seat_indices(appeal.seed, info.population, 5)]
    assert [c.juror_index_on_chain(j) for j in range(5)] == seat_indices(appeal.seed, info.population, 5)
    assert len(set(jurors)) == 5
    outsider = next(m for m in fed.miners if m.address not in jurors)
    with pytest.raises(E.ScaledNotAJuror):
        c.appeal_vote(outsider, r, 0, 7000)
    first = fed.by_address[jurors[0]]
    with pytest.raises(E.ScaledNotAJuror):
        c.appeal_vote(first, r, 5, 7000)
    with pytest.raises(E.ScaledWrongRound):
        c.appeal_vote(first, r + 1, 0, 7000)
    if best in jurors:  # the claimant cannot judge its own claim
        with pytest.raises(E.ScaledNotAJuror):
            c.appeal_vote(fed.by_address[best], r, jurors.index(best), 9999)
    place, juror = next((j, fed.by_address[a]) for j, a in enumerate(jurors) if a != best)
    with pytest.raises(E.ScaledAccuracyOutOfRange):
        c.appeal_vote(juror, r, place, 10_001)
    c.appeal_vote(juror, r, place, truth[best]).wait()
    with pytest.raises(E.ScaledJurorAlreadyVoted):
        c.appeal_vote(juror, r, place, truth[best])
    assert c.round_info().phase == ScaledPhase.APPEAL
    finish = c.round_info().deadline
    fed.advance_past(finish)
    c.finalize(fed.caller).wait()
    assert c.round_info().round == r + 1 and c.appeal_info().round == 0
    with pytest.raises(E.ScaledSeedPending):  # no appeal this round: no jury
        c.juror_index_on_chain(0)


def test_a_starved_seat_reports_nothing_and_pays_nothing(anvil_w3: Web3,
                                                         funded: Callable[..., list[LocalSigner]]) -> None:
    """Consensus v3's finding 4, scaled: the best claimant serves its model to all seats but one; the starved seat
    reports nothing for it (NO_REPORT, as the driver does once its fetch gives up) and the truth for the others.
    The claim is decided by the other seats (every miner is seated: 7 reports of the 6 the quorum needs; no
    dispute, no appeal): it is the block, and nobody pays."""
    nine = federation(anvil_w3, funded, n=9, config=ScaledConfig(seats=9, top_k=3, min_stake=STAKE, bond=10**17,
                                                                 block_reward=10**16))
    c = nine.contract
    truth = {m.address: 7000 + 200 * i for i, m in enumerate(nine.miners)}
    best = max(truth, key=truth.__getitem__)
    starved: list[str] = []

    def measure(seat: LocalSigner, cand: Candidate) -> int | None:
        if not starved:
            starved.append(next(a for a in c.seats() if a != best))
        return None if cand.miner == best and seat.address == starved[0] else truth[cand.miner]

    since = nine.w3.eth.block_number + 1
    result = play_scaled_round(nine, truth, measure)
    assert decided(nine, since, "AppealDecided") == [] and penalties(nine, since) == []
    assert c.latest_block().miner == best and c.latest_block().round == result.round_id


def test_a_third_of_the_seats_saying_they_cannot_fetch_an_honest_claim_gains_nothing(nine: ScaledFederation) -> None:
    """Two of five seats report nothing for the honest best claim ("could not fetch"), which leaves it short of the
    quorum: without an appeal the next claim would be the block. The jury fetches and measures it (the two answer
    "could not fetch" again): it is upheld and is the block; saying one could not fetch is never penalized."""
    c = nine.contract
    truth = {m.address: 7000 + 200 * i for i, m in enumerate(nine.miners)}
    best = max(truth, key=truth.__getitem__)
    coalition = Coalition(c, truth, best, 0)

    def abstain(seat: LocalSigner, cand: Candidate) -> int | None:
        report = coalition.measure(seat, cand)
        return None if cand.miner == best and seat.address in coalition.members else report

    since = nine.w3.eth.block_number + 1
    result = play_scaled_round(nine, truth, abstain)
    assert (best, Outcome.NO_QUORUM) in decided(nine, since, "ClaimDecided")
    assert decided(nine, since, "AppealDecided") == [(best, Outcome.ACCEPTED)]
    assert c.latest_block().miner == best and c.latest_block().round == result.round_id
    assert penalties(nine, since) == []


def test_a_model_nobody_can_fetch_costs_its_claimant_and_the_next_claim_is_the_block(nine: ScaledFederation) -> None:
    """The best claimant reveals a model it serves to nobody: every seat, then every juror, says it could not fetch
    it. The jury finds it unavailable: the claimant pays the misreport penalty (nobody else pays) and the next best
    claim is the block."""
    c = nine.contract
    truth = {m.address: 7000 + 200 * i for i, m in enumerate(nine.miners)}
    best = max(truth, key=truth.__getitem__)
    second = max((a for a in truth if a != best), key=truth.__getitem__)

    def withheld(_seat: LocalSigner, cand: Candidate) -> int | None:
        return None if cand.miner == best else truth[cand.miner]

    stake = c.stake_of(best)
    since = nine.w3.eth.block_number + 1
    play_scaled_round(nine, truth, withheld)
    assert decided(nine, since, "AppealDecided") == [(best, Outcome.UNAVAILABLE)]
    assert penalties(nine, since) == [(best, ScaledPenaltyReason.UNSERVED_CLAIM)]
    assert c.stake_of(best) == 0 or c.stake_of(best) == stake - stake * CONFIG.misreport_penalty_bps // 10_000
    assert c.latest_block().miner == second


def test_a_silent_third_of_the_jury_cannot_keep_it_from_deciding(nine: ScaledFederation) -> None:
    """Two seats dispute the honest best claim; three of the eight eligible jurors stay silent in the appeal,
    hoping to deny the jury its quorum (two thirds of eight would be six answers; five answer). The jury's quorum
    is more than half of it: the five who answer uphold the claim. The silent jurors forfeit their bonds, the
    disputers pay the misreport penalty as seats."""
    c = nine.contract
    truth = {m.address: 7000 + 200 * i for i, m in enumerate(nine.miners)}
    best = max(truth, key=truth.__getitem__)
    coalition = Coalition(c, truth, best, 0)
    silent = [a for a in truth if a != best][:3]
    since = nine.w3.eth.block_number + 1
    result = play_scaled_round(nine, truth, coalition.measure, jury=truthful_jury(truth),
                               jurors=[a for a in truth if a not in silent])
    assert decided(nine, since, "AppealDecided") == [(best, Outcome.ACCEPTED)]
    assert c.latest_block().miner == best and c.latest_block().round == result.round_id
    paid = penalties(nine, since)
    assert sorted(a for a, reason in paid if reason == ScaledPenaltyReason.MISSED_JURY_VOTE) == sorted(silent)
    for liar in coalition.members:
        assert (liar, ScaledPenaltyReason.MISREPORT) in paid


def truthful_jury(truth: dict[str, int]) -> Callable[[LocalSigner, Candidate], int]:
    return lambda _juror, cand: truth[cand.miner]


# seven miners, every one a seat and a juror: a coalition of two holds 2/7 (under a third) of the seats
SEVEN = ScaledConfig(seats=7, top_k=3, appeal_seats=7, min_stake=STAKE, bond=10**17, block_reward=10**16)


def test_a_decoy_and_an_abstaining_coalition_cannot_hand_the_block_to_a_lower_claim(
        anvil_w3: Web3, funded: Callable[..., list[LocalSigner]]) -> None:
    """Found by the outside review of this appeal. The coalition {D, L} holds 2 of 7 seats. D claims 9,500 for a
    model it serves to nobody, a decoy: short of the quorum, it takes the round's only appeal and is found
    unavailable. Both coalition seats report nothing for the honest best H (9,000), leaving it short of the quorum
    too, unappealed. The coalition's own lower claim L (8,000) would have been the block; an undecided claim now
    keeps every lower one from the block: no block this round, and the decoy's claimant pays 10% for it."""
    fed = federation(anvil_w3, funded, n=7, config=SEVEN)
    c = fed.contract
    h, d, low = (m.address for m in fed.miners[:3])
    truth = {h: 9000, low: 8000}

    def measure(seat: LocalSigner, cand: Candidate) -> int | None:
        if cand.miner == d or (seat.address in {d, low} and cand.miner == h):
            return None  # the decoy, fetched by nobody; the honest best, "not fetched" by the coalition
        return truth[cand.miner]

    height, since = c.block_count(), fed.w3.eth.block_number + 1
    play_scaled_round(fed, {h: 9000, d: 9500, low: 8000}, measure)
    assert decided(fed, since, "AppealDecided") == [(d, Outcome.UNAVAILABLE)]
    assert dict(decided(fed, since, "ClaimDecided"))[h] == Outcome.NO_QUORUM
    assert c.block_count() == height and len(c.events("RoundFailed", from_block=since)) == 1  # not L's block
    assert penalties(fed, since) == [(d, ScaledPenaltyReason.UNSERVED_CLAIM)]
    balances = c.balances()
    assert balances["balance"] == balances["totalStaked"] + balances["rewardPool"] + balances["totalPendingRewards"]


def test_an_aggregator_cannot_put_one_miners_claim_twice_in_the_top(nine: ScaledFederation) -> None:
    """Found by the outside review of this appeal. The aggregator copies an honest miner's signed claim into every
    top rank: the copies could not all be revealed (one digest), and each unrevealed copy whose signature is shown
    would cost the miner the bond, its whole stake in all. A top holds one leaf a miner."""
    c = nine.contract
    info = c.round_info()
    aggregator = nine.by_address[info.aggregator]
    honest = next(m for m in nine.miners if m is not aggregator)
    signed = c.sign_claim(honest, seal_claims(info.round, {honest.address: 9000})[honest.address])
    with pytest.raises(E.ScaledBadLeaf) as refused:
        c.post_root(aggregator, info.round, [signed] * 3, presorted=True)
    assert refused.value.args_by_name["index"] == 1
