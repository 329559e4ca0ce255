"""Hold-out mode on a real Anvil: the requester's task contract and the consensus judging rounds on its shards.

Shards are used in order, one per round whose key is revealed; a key is accepted only after its round's
commits close, only for a round with enough commitments for a committee, and only if it hashes to the
record; a missing key fails the round, pays the committers from the requester's bond and leaves the shard
for a later round; "must beat the parent" compares measurements on the same shard (two thirds of the seats).
"""

from __future__ import annotations

import pytest
from web3 import Web3

from offchain.chain import errors as E
from offchain.chain.commitment import SealedClaim
from offchain.chain.consensus import PoFLContract
from offchain.chain.holdout import HoldoutContract, PlannedTask, deploy_holdout_task, plan_holdout_task
from offchain.chain.tx import wait_all
from offchain.chain.types import SHARD_UNOPENED_BPS, ClaimStatus, ConfigField, FailReason, PenaltyReason, Phase
from offchain.errors import PoflValueError
from offchain.holdout.sealing import key_hash, new_key
from offchain.holdout.task import SealedShard, SealedTask
from offchain.testing.accounts import fresh_signers
from offchain.testing.rounds import advance_time, commit_claims, reveal_claims
from tests.support.accounts import Funded
from tests.support.contracts import BASE_CONFIG, GENESIS_CID, STAKE, Deployed, cid_of, play_round
from tests.support.contracts import HoldoutTask as Task

BOND = 10**18
PAY = 10**16


def test_a_round_is_judged_on_its_shard_with_the_key_revealed_after_commits_close(anvil_w3: Web3,
                                                                                 funded: Funded) -> None:
    t = Task(anvil_w3, 4, 3)
    c, h = t.contract, t.holdout
    assert c.holdout_address() == h.address and h.consensus() == c.address and h.shard_count() == 3
    r = c.current_round()
    claims = [(m, SealedClaim(r, cid_of(f"m{i}"), 7000 + i, blind=True)) for i, m in enumerate(t.miners)]
    commit_claims(c, claims[:3])
    # too early: commits are open, so no key (right or wrong) can be revealed, and nothing is recorded
    with pytest.raises(E.PoFLWrongPhase) as early:
        h.reveal_key(t.requester, r, t.keys[0]).wait()
    assert early.value.args_by_name == {"expected": Phase.REVEAL, "actual": Phase.COMMIT}
    assert h.shard_at(0).key is None
    commit_claims(c, claims[3:])  # commits close
    with pytest.raises(E.PoFLShardKeyPending):  # nobody can claim an accuracy before the shard is public
        reveal_claims(c, claims[:1])
    with pytest.raises(E.PoFLHoldoutWrongKey) as wrong:
        h.reveal_key(t.requester, r, t.keys[1]).wait()
    assert wrong.value.args_by_name == {"index": 0}
    (outsider,) = funded(1)  # anyone holding the key may reveal it
    h.reveal_key(outsider, r, t.keys[0]).wait()
    assert h.shard_at(0).key == t.keys[0]
    assert [(e["args"]["round"], e["args"]["index"]) for e in h.events("KeyRevealed")] == [(r, 0)]
    reveal_claims(c, claims)


def test_must_beat_the_parent_compares_measurements_on_the_same_shard(anvil_w3: Web3) -> None:
    t = Task(anvil_w3, 4, 4)
    c = t.contract
    first = t.play({m.address: 8000 + i for i, m in enumerate(t.miners)}, parent=1000)
    assert (c.latest_block().miner, c.latest_block().accuracy_bps) == (t.miners[3].address, 8003)
    assert c.parent_measurements(first.round_id) == {1: 1000}
    # Round 2's shard is harder: every model measures lower on it than round 1's block did on shard 1. The
    # head measured on shard 2 (7500) is what a candidate must beat: 7603 does, although it is below 8003.
    second = t.play({m.address: 7600 + i for i, m in enumerate(t.miners)}, parent=7500)
    assert (c.latest_block().round, c.latest_block().accuracy_bps) == (second.round_id, 7603)
    # Round 3: the head measures 7700 on shard 3, more than any candidate: no block, nobody slashed.
    third = t.play({m.address: 7600 + i for i, m in enumerate(t.miners)}, parent=7700)
    assert {d.outcome for d in c.decisions(third.round_id)} == {ClaimStatus.UNIMPROVED}
    assert c.latest_block().round == second.round_id and c.events("Penalized") == []
    # Round 4: miners that measured the head above their own model on the shard say so in their reveal: their
    # claims are not eligible, so no validation is spent on them.
    truth = {m.address: 7600 + i for i, m in enumerate(t.miners)}
    fourth = play_round(t.d, [(m, truth[m.address]) for m in t.miners], lambda cand, _s: truth[cand],
                        reveal_key=t.reveal, parent=lambda _s: 7700, declared_parent_bps=7700)
    assert c.decisions(fourth.round_id) == []
    assert c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.NO_ELIGIBLE_CLAIM


def test_a_missing_key_fails_the_round_and_pays_the_committers_from_the_bond_by_stake(anvil_w3: Web3) -> None:
    t = Task(anvil_w3, 4, 3)
    c, h = t.contract, t.holdout
    r = c.current_round()
    claims = [(m, SealedClaim(r, cid_of(f"m{i}"), 7000 + i, blind=True)) for i, m in enumerate(t.miners)]
    commit_claims(c, claims)
    assert c.current_phase().phase == Phase.REVEAL
    advance_time(c, t.d.owner, c.round_info(r).deadline)  # the reveal window passes without a key
    assert c.current_phase().phase == Phase.FINALIZE
    c.finalize(t.d.owner).wait()
    assert [e["args"]["reason"] for e in c.events("RoundFailed")] == [FailReason.KEY_MISSING]
    assert c.events("Penalized") == []  # nobody could reveal: no bond forfeited
    assert all(h.credit(m.address) == PAY // 4 for m in t.miners) and h.bond() == BOND - PAY  # equal stakes
    paid = h.events("MissedKeyPaid")
    assert [(e["args"]["round"], e["args"]["committers"], e["args"]["amount"]) for e in paid] == [(r, 4, PAY)]
    before = anvil_w3.eth.get_balance(t.miners[0].address)
    receipt = h.withdraw(t.miners[0]).wait()
    spent = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert anvil_w3.eth.get_balance(t.miners[0].address) == before + PAY // 4 - spent
    with pytest.raises(E.PoFLHoldoutNothingToWithdraw):
        h.withdraw(t.miners[0]).wait()
    # the late key cannot be used any more: its round is over
    with pytest.raises(E.PoFLWrongRound):
        h.reveal_key(t.requester, r, t.keys[0]).wait()
    # shard 0 stayed sealed: it judges round 2 instead (no shard is lost to a missed key)
    t.play({m.address: 7000 + i for i, m in enumerate(t.miners)}, parent=1000)
    assert c.latest_block().round == r + 1 and h.shard_at(0).key == t.keys[0] and h.shard_at(1).key is None
    assert [(e["args"]["round"], e["args"]["index"]) for e in h.events("KeyRevealed")] == [(r + 1, 0)]


def test_the_bond_pays_what_it_has_left(anvil_w3: Web3) -> None:
    t = Task(anvil_w3, 4, 2, bond=PAY // 2)  # half a missed key's pay
    c, h = t.contract, t.holdout
    r = c.current_round()
    commit_claims(c, [(m, SealedClaim(r, cid_of(f"m{i}"), 7000, blind=True)) for i, m in enumerate(t.miners)])
    advance_time(c, t.d.owner, c.round_info(r).deadline)
    c.finalize(t.d.owner).wait()
    assert [h.credit(m.address) for m in t.miners] == [PAY // 8] * 4 and h.bond() == 0


def test_shards_are_used_once_and_the_task_stops_taking_claims_when_they_run_out(anvil_w3: Web3) -> None:
    t = Task(anvil_w3, 4, 2)
    c, h = t.contract, t.holdout
    truth = {m.address: 7000 + i for i, m in enumerate(t.miners)}
    t.play(truth, parent=1000)
    r = c.current_round()  # round 2: a second key for one round (it would spend another shard) is refused
    low = [(m, SealedClaim(r, cid_of(f"s{i}"), 0, blind=True)) for i, m in enumerate(t.miners)]
    commit_claims(c, low)
    t.reveal(r)
    with pytest.raises(E.PoFLHoldoutKeyAlreadyRevealed):
        h.reveal_key(t.requester, r, t.keys[1]).wait()
    reveal_claims(c, low)  # nothing reaches the threshold on it: no block, the shard is spent all the same
    c.finalize(t.d.owner).wait()
    r = c.current_round()
    assert r == 3 and not h.shard_available(2) and c.shards_used() == 2
    with pytest.raises(E.PoFLNoShard) as none_left:
        c.commit(t.miners[0], r, SealedClaim(r, cid_of("late"), 0, blind=True).commitment(t.miners[0].address)).wait()
    assert none_left.value.args_by_name == {"round": r}
    # the requester appends a shard: round 3 takes claims again
    extra_key = new_key()
    with pytest.raises(E.PoFLHoldoutNotRequester):
        h.append_shards(t.miners[0], (SealedShard(2, cid_of("shard2"), key_hash(extra_key)),)).wait()
    h.append_shards(t.requester, (SealedShard(2, cid_of("shard2"), key_hash(extra_key)),)).wait()
    t.keys.append(extra_key)
    t.play({a: v + 200 for a, v in truth.items()}, parent=1000)
    assert c.latest_block().round == 3 and h.shard_at(2).key == extra_key
    # the requester ends the task: the final shard's key is public; no later round takes claims
    with pytest.raises(E.PoFLHoldoutWrongKey):
        h.end_task(t.requester, t.keys[0]).wait()
    h.end_task(t.requester, t.final_key).wait()
    assert h.ended() and h.final_shard().key == t.final_key
    with pytest.raises(E.PoFLHoldoutEnded):
        h.end_task(t.requester, t.final_key).wait()
    r = c.current_round()
    with pytest.raises(E.PoFLNoShard):
        c.commit(t.miners[0], r, SealedClaim(r, cid_of("after"), 0, blind=True).commitment(t.miners[0].address)).wait()
    with pytest.raises(E.PoFLHoldoutNotRequester):
        h.withdraw_bond(t.miners[0]).wait()
    h.withdraw_bond(t.requester).wait()  # the round running at the end (4) took no commits: none is owed
    assert h.bond() == 0


def test_the_bond_stays_while_the_round_running_at_the_end_is_open(anvil_w3: Web3) -> None:
    t = Task(anvil_w3, 4, 3)
    c, h = t.contract, t.holdout
    r = c.current_round()
    commit_claims(c, [(m, SealedClaim(r, cid_of(f"m{i}"), 7000, blind=True)) for i, m in enumerate(t.miners)])
    h.end_task(t.requester, t.final_key).wait()  # a round with commitments is running: its key is still owed
    with pytest.raises(E.PoFLHoldoutTaskRunning) as running:
        h.withdraw_bond(t.requester).wait()
    assert running.value.args_by_name == {"lastRound": r}
    advance_time(c, t.d.owner, c.round_info(r).deadline)
    c.finalize(t.d.owner).wait()  # the key was missed: the committers are paid from the bond
    assert h.bond() == BOND - PAY
    h.withdraw_bond(t.requester).wait()
    assert h.bond() == 0


def test_a_consensus_is_refused_a_task_that_names_another_consensus(anvil_w3: Web3, funded: Funded) -> None:
    (requester,) = funded(1)
    plan = plan_holdout_task(requester)
    wrong = PlannedTask(plan.holdout, requester.address, plan.task)  # the task names another contract
    key = new_key()
    sealed = SealedTask(plan.task, (SealedShard(0, cid_of("s"), key_hash(key)),),
                        SealedShard(2**32 - 1, cid_of("f"), key_hash(new_key())), None, None)  # type: ignore[arg-type]
    with pytest.raises(E.PoFLInvalidConfig) as info:
        deploy_holdout_task(requester, wrong, sealed, BASE_CONFIG, GENESIS_CID, bond=BOND, missed_key_pay=PAY,
                            deployments_dir=None)
    assert info.value.args_by_name == {"field": ConfigField.HOLDOUT}


def test_only_the_task_may_open_a_reveal_window(anvil_w3: Web3) -> None:
    t = Task(anvil_w3, 4, 2)
    c = t.contract
    r = c.current_round()
    commit_claims(c, [(m, SealedClaim(r, cid_of(f"m{i}"), 7000, blind=True)) for i, m in enumerate(t.miners)])
    with pytest.raises(E.PoFLNotHoldout):
        c._send(t.miners[0], "onKeyRevealed", r).wait()
    with pytest.raises(E.PoFLHoldoutNotConsensus):
        t.holdout._send(t.miners[0], "payMissedKey", r, [t.miners[0].address], [STAKE]).wait()


def test_an_unrevealed_commitment_still_forfeits_its_bond_once_the_key_is_public(anvil_w3: Web3) -> None:
    t = Task(anvil_w3, 5, 2)
    c = t.contract
    truth = {m.address: 7000 + i for i, m in enumerate(t.miners)}
    play_round(t.d, [(m, truth[m.address]) for m in t.miners], lambda cand, _s: truth[cand],
               revealers=t.miners[1:], reveal_key=t.reveal, parent=lambda _s: 1000)
    lost = [(e["args"]["miner"], e["args"]["reason"]) for e in c.events("Penalized")]
    assert lost == [(t.miners[0].address, PenaltyReason.MISSED_REVEAL)]
    assert isinstance(t.holdout, HoldoutContract) and isinstance(c, PoFLContract)


# ------------------------------------------------------------------------ red team's attacks, defeated


def test_half_the_seats_cannot_fake_the_parent_to_make_a_worse_model_beat_it(anvil_w3: Web3) -> None:
    """The candidate measures 7000 on the shard, the parent 7500; three of six seats report the parent at 0.
    The parent's reports are judged like the candidate's: split, they are no measurement, so the claim is
    disputed. On appeal, decided by stake, the honest seats (staked twice as much: 6 of the 10 ether) set the
    stake-weighted parent median at 7500: the claim is Unimproved (the search ends), no block, no lower claim
    profits, and the three seats that reported the parent at 0 pay."""
    t = Task(anvil_w3, 7, 3)
    c = t.contract
    claimant, gang = t.miners[0], {m.address for m in t.miners[1:4]}
    wait_all([c.add_stake(m, STAKE) for m in t.miners[4:]])
    truth = {m.address: 6000 + 10 * i for i, m in enumerate(t.miners)} | {claimant.address: 7000}
    result = play_round(t.d, [(m, truth[m.address]) for m in t.miners], lambda cand, _s: truth[cand],
                        reveal_key=t.reveal, parent=lambda seat: 0 if seat.address in gang else 7500)
    assert [d.outcome for d in c.decisions(result.round_id)] == [ClaimStatus.DISPUTED, ClaimStatus.UNIMPROVED]
    assert c.latest_block().height == 0 and c.parent_measurements(result.round_id)[2] == 7500
    lost = {e["args"]["miner"] for e in c.events("Penalized") if e["args"]["reason"] == PenaltyReason.MISREPORT}
    assert lost == gang


def test_a_lone_committer_cannot_spend_shards(anvil_w3: Web3, funded: Funded) -> None:
    """While honest miners are idle, a lone miner's commit closes the commit phase at once. Its round cannot
    have a committee, so no key is taken for it (PoFLTooFewCommits; the requester's bot does not try), no shard
    is spent or published, and nobody is paid: the round ends without a block and the shards wait."""
    from offchain.app.requester import Requester
    from offchain.holdout.keyfile import Keys

    t = Task(anvil_w3, 0, 2)
    c, h = t.contract, t.holdout
    bot = Requester(h, c, t.requester, Keys(h.task_id(), tuple(t.keys), t.final_key))
    (attacker,) = funded(1)
    c.register(attacker, STAKE).wait()
    for _ in range(3):
        r = c.current_round()
        commit_claims(c, [(attacker, SealedClaim(r, cid_of(f"junk{r}"), 0, blind=True))])
        assert c.current_phase().phase == Phase.REVEAL
        with pytest.raises(E.PoFLTooFewCommits) as few:
            h.reveal_key(t.requester, r, t.keys[0]).wait()
        assert few.value.args_by_name == {"commits": 1, "needed": 4}
        assert bot.step() is False
        advance_time(c, t.d.owner, c.round_info(r).deadline)
        c.finalize(attacker).wait()
    assert [e["args"]["reason"] for e in c.events("RoundFailed")] == [FailReason.NO_COMMITTEE] * 3
    assert c.shards_used() == 0 and all(h.shard_at(i).key is None for i in range(2))
    assert h.credit(attacker.address) == 0 and h.bond() == BOND and c.events("Penalized") == []


def junk_rounds(t: Task, committers: list, rounds: int) -> list[int]:
    """``committers`` commit junk for ``rounds`` rounds while the other miners idle; the requester's bot is on duty
    and nobody reveals a model. The rounds played."""
    from offchain.app.requester import Requester
    from offchain.holdout.keyfile import Keys

    c = t.contract
    bot = Requester(t.holdout, c, t.requester, Keys(t.holdout.task_id(), tuple(t.keys), t.final_key))
    played = []
    for _ in range(rounds):
        r = c.current_round()
        commit_claims(c, [(m, SealedClaim(r, cid_of(f"junk{r}.{i}"), 0, blind=True)) for i, m in enumerate(committers)])
        if c.current_phase().phase == Phase.COMMIT:  # the idle miners never commit
            advance_time(c, t.d.owner, c.round_info(r).deadline)
        assert c.current_phase().phase == Phase.REVEAL
        with pytest.raises(E.PoFLNotIndependent) as minority:  # the independence rule: no key is owed
            t.holdout.reveal_key(t.requester, r, t.keys[0]).wait()
        total = len(t.miners) * STAKE + len(committers) * STAKE
        assert minority.value.args_by_name == {"committedStake": len(committers) * STAKE, "totalStaked": total}
        assert bot.step() is False and r in bot.skipped
        advance_time(c, t.d.owner, c.round_info(r).deadline)
        c.finalize(committers[0]).wait()
        played.append(r)
    return played


def test_sybils_holding_half_the_stake_cannot_burn_shards(anvil_w3: Web3) -> None:
    """Finding 7 of issue 20: while the honest miners idle, 4 sybils (half the stake) commit junk every round.
    Before, each such round took its key and spent a shard until honest commits met PoFLNoShard. Now a key is
    owed only to a round whose committers hold more than half the stake: no shard is spent, nobody is paid, and
    the first round the honest miners join gets shard 0 and makes a block."""
    t = Task(anvil_w3, 4, 2)
    c, h = t.contract, t.holdout
    sybils = fresh_signers(anvil_w3, 4)
    for s in sybils:
        c.register(s, STAKE).wait()
    played = junk_rounds(t, sybils, 3)  # more rounds than shards
    assert [e["args"]["reason"] for e in c.events("RoundFailed")] == [FailReason.NOT_INDEPENDENT] * len(played)
    assert c.shards_used() == 0 and all(h.shard_at(i).key is None for i in range(2)) and h.shard_available(0)
    assert all(h.credit(s.address) == 0 for s in sybils) and h.bond() == BOND and c.events("Penalized") == []
    truth = {m.address: 7000 + i for i, m in enumerate(t.miners)} | {s.address: 0 for s in sybils}
    everyone = Deployed(c, t.d.owner, t.miners + sybils)  # the sybils still commit junk; the honest miners join
    play_round(everyone, [(m, truth[m.address]) for m in everyone.miners], lambda cand, _s: truth[cand],
               reveal_key=t.reveal, parent=lambda _s: 1000)
    assert c.latest_block().miner == t.miners[3].address and c.shards_used() == 1
    assert [e["args"]["index"] for e in h.events("KeyRevealed")] == [0]


def test_a_hundred_sybil_addresses_draw_nothing_more_from_the_bond_than_one(anvil_w3: Web3) -> None:
    """Finding 6 of issue 20: a missed key paid `payPerCommitter` per committing address, so 100 sybils that
    committed no model drew the whole bond. Now (1) a minority's round is owed no key, so its silence pays
    nothing; (2) a missed key owed to a majority pays `missedKeyPay` in all, by stake: the 100 addresses get
    exactly what one address with their stake would (and the bond keeps all but one round's pay)."""
    t = Task(anvil_w3, 4, 2, stake=30 * STAKE)  # honest: 120 ETH staked
    c, h = t.contract, t.holdout
    sybils = fresh_signers(anvil_w3, 100, 2 * STAKE)
    wait_all([c.register(s, STAKE) for s in sybils])  # 100 ETH over 100 addresses
    r = c.current_round()
    commit_claims(c, [(s, SealedClaim(r, cid_of(f"sybil{i}"), 0, blind=True)) for i, s in enumerate(sybils)])
    advance_time(c, t.d.owner, c.round_info(r).deadline)
    advance_time(c, t.d.owner, c.round_info(r).deadline)  # no key: none was owed
    c.finalize(t.d.owner).wait()
    assert c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.NOT_INDEPENDENT
    assert sum(h.credit(s.address) for s in sybils) == 0 and h.bond() == BOND
    # with the honest miners committing too, the round is owed its key; the requester misses it
    r = c.current_round()
    everyone = sybils + t.miners
    commit_claims(c, [(m, SealedClaim(r, cid_of(f"all{i}"), 0, blind=True)) for i, m in enumerate(everyone)])
    advance_time(c, t.d.owner, c.round_info(r).deadline)
    c.finalize(t.d.owner).wait()
    assert c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.KEY_MISSING
    sybil_gain = sum(h.credit(s.address) for s in sybils)
    one_address = PAY * 100 * STAKE // (220 * STAKE)  # what one address staking 100 ETH would be paid
    assert one_address - 100 <= sybil_gain <= one_address  # rounding down per address only loses
    assert all(h.credit(m.address) == PAY * 30 // 220 for m in t.miners)
    assert h.bond() >= BOND - PAY


def test_a_shard_that_does_not_open_costs_the_requester_as_a_missed_key(anvil_w3: Web3) -> None:
    """Finding 9 of issue 20: a requester could seal a shard that never opens (its key hashes right, its bytes do
    not decrypt) and fail rounds without paying. Revealers holding more than half the stake declaring it
    (parentBps = SHARD_UNOPENED_BPS) make the round fail ShardUnopened and the bond pays as for a missed key; a
    stake minority declaring it changes nothing."""
    t = Task(anvil_w3, 4, 3)
    c, h = t.contract, t.holdout

    def round_declaring(unopened: list) -> int:
        r = c.current_round()
        claims = [(m, SealedClaim(r, cid_of(f"u{r}.{i}"), 0, blind=True,
                                  parent_bps=SHARD_UNOPENED_BPS if m in unopened else 1000))
                  for i, m in enumerate(t.miners)]
        commit_claims(c, claims)
        t.reveal(r)
        reveal_claims(c, claims)
        c.finalize(t.d.owner).wait()
        return r

    round_declaring(t.miners[:2])  # half the stake: not enough
    assert c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.NO_ELIGIBLE_CLAIM
    assert h.bond() == BOND and h.events("MissedKeyPaid") == []
    r = round_declaring(t.miners[:3])
    assert c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.SHARD_UNOPENED
    assert [(e["args"]["round"], e["args"]["amount"]) for e in h.events("MissedKeyPaid")] == [(r, PAY)]
    assert all(h.credit(m.address) == PAY // 4 for m in t.miners) and h.bond() == BOND - PAY
    assert c.events("Penalized") == []


def test_the_task_cannot_end_while_a_round_takes_commitments(anvil_w3: Web3) -> None:
    """Ending the task publishes the final shard: not while a round with commitments may still take more (a
    model fitted to the final shard could be committed). Once the commits close it may end."""
    t = Task(anvil_w3, 5, 3)
    c, h = t.contract, t.holdout
    r = c.current_round()
    commit_claims(c, [(m, SealedClaim(r, cid_of(f"e{i}"), 0, blind=True)) for i, m in enumerate(t.miners[:4])])
    assert c.current_phase().phase == Phase.COMMIT
    with pytest.raises(E.PoFLHoldoutCommitsOpen) as still_open:
        h.end_task(t.requester, t.final_key).wait()
    assert still_open.value.args_by_name == {"round": r} and h.final_shard().key is None
    advance_time(c, t.d.owner, c.round_info(r).deadline)  # the commit phase ends
    h.end_task(t.requester, t.final_key).wait()
    assert h.ended()


def test_a_huge_missed_key_pay_pays_the_bond_out_and_never_stops_the_chain(anvil_w3: Web3) -> None:
    t = Task(anvil_w3, 4, 3, pay=2**255)
    c, h = t.contract, t.holdout
    r = c.current_round()
    commit_claims(c, [(m, SealedClaim(r, cid_of(f"ov{i}"), 0, blind=True)) for i, m in enumerate(t.miners)])
    advance_time(c, t.d.owner, c.round_info(r).deadline)
    c.finalize(t.d.owner).wait()
    assert c.current_round() == r + 1 and h.bond() == 0
    assert [h.credit(m.address) for m in t.miners] == [BOND // 4] * 4


# ------------------------------------------------------------------------------- rejected inputs


def test_shard_lists_that_cannot_be_a_task_are_refused(anvil_w3: Web3, funded: Funded) -> None:
    """Empty lists, a zero key hash, a final shard given with its key: PoFLHoldoutBadShards, at deployment and
    when appending. Shards sealed for another task id are refused by the client before anything is sent."""
    (requester,) = funded(1)
    plan = plan_holdout_task(requester)
    final = SealedShard(2**32 - 1, cid_of("f"), key_hash(new_key()))
    good = (SealedShard(0, cid_of("s"), key_hash(new_key())),)
    for shards in ((), (SealedShard(0, cid_of("s"), b"\x00" * 32),)):
        with pytest.raises(E.PoFLHoldoutBadShards):
            deploy_holdout_task(requester, plan, SealedTask(plan.task, shards, final, None, None),  # type: ignore[arg-type]
                                BASE_CONFIG, GENESIS_CID, bond=BOND, missed_key_pay=PAY, deployments_dir=None)
    with pytest.raises(PoflValueError, match="sealed for another task id"):
        deploy_holdout_task(requester, plan, SealedTask(b"\x01" * 32, good, final, None, None),  # type: ignore[arg-type]
                            BASE_CONFIG, GENESIS_CID, bond=BOND, missed_key_pay=PAY, deployments_dir=None)
    t = Task(anvil_w3, 0, 1)
    with pytest.raises(E.PoFLHoldoutBadShards):
        t.holdout.append_shards(t.requester, (SealedShard(1, cid_of("z"), b"\x00" * 32),)).wait()
    assert t.holdout.shard_count() == 1


def test_a_task_refuses_a_shard_index_its_consensus_hands_out_past_its_shards(anvil_w3: Web3,
                                                                              attackers: dict) -> None:
    """PoFLHoldoutNoShard: the task checks the index its consensus gives it (a defence in depth: PoFLConsensus
    refuses commits while no shard is left), here against a stand-in consensus that runs past the last shard."""
    from offchain.chain.deploy import deploy_contract, load_artifact
    from offchain.chain.errors import ErrorDecoder
    from offchain.chain.tx import send
    from offchain.chain.types import ENUMS
    from offchain.store import compute_cid
    from offchain.store.cid import cid_to_digest

    (requester,) = fresh_signers(anvil_w3, 1)
    runaway = attackers["RunawayConsensus"]
    factory = anvil_w3.eth.contract(abi=runaway["abi"], bytecode=runaway["bytecode"])
    consensus = send(requester, factory.constructor(1), ErrorDecoder.from_artifact(runaway, {})).wait()
    key = new_key()
    digest, kind = cid_to_digest(compute_cid(b"shard 0"))
    final_digest, final_kind = cid_to_digest(compute_cid(b"final shard"))
    artifact = load_artifact("PoFLHoldout")
    contract, _ = deploy_contract(requester, artifact, [consensus["contractAddress"], [digest], [int(kind)],
                                                        [key_hash(key)],
                                                        (final_digest, int(final_kind), key_hash(new_key()),
                                                         bytes(32)), 0],
                                  deployments_dir=None, decoder=ErrorDecoder.from_artifact(artifact, ENUMS))
    task = HoldoutContract(contract)
    assert task.shard_count() == 1
    with pytest.raises(E.PoFLHoldoutNoShard) as caught:
        task.reveal_key(requester, 1, key).wait()
    assert caught.value.args_by_name == {"index": 1, "shards": 1}
