"""Random sequences of protocol actions against a real Anvil, with invariants after each step.

Miners 0-4 are honest validators (every seat they hold reports the true accuracy before time moves on: honest
seats are live); miner 5 is a lying validator that reports far from the truth (one seat in at least three:
the honest seats are at least 2/3). Claims are honest (claimed = true) or false (true = claimed - 3000).
The machine also leaves, withdraws, funds, registers again, and commits without revealing.
"""

from __future__ import annotations

import itertools
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from web3 import Web3
from web3.logs import DISCARD

from offchain.chain.commitment import SealedClaim
from offchain.chain.errors import ContractRevert
from offchain.chain.types import ClaimStatus, Phase
from offchain.testing.rounds import increase_time
from tests.support.contracts import STAKE, cid_of, deploy_with_miners

N_MINERS = 6
LIAR = 5
THRESHOLD = 6000
ACCURACIES = st.sampled_from([5000, 6000, 6500, 7000, 7500, 8000, 8500, 9000, 9500])
MINER = st.integers(0, N_MINERS - 1)


class PoFLMachine(RuleBasedStateMachine):
    w3: Web3
    seen: ClassVar[dict[str, int]] = {"blocks": 0, "rejections": 0, "unrevealed": 0, "leaves": 0,
                                      "withdrawals": 0, "misreports": 0}

    def __init__(self) -> None:
        super().__init__()
        self.d = deploy_with_miners(self.w3, N_MINERS)
        self.c = self.d.contract
        self.claims: dict[tuple[int, str], SealedClaim] = {}
        self.truth: dict[tuple[int, str], int] = {}
        self.honest: set[tuple[int, str]] = set()
        self.revealed: dict[tuple[int, str], int] = {}  # -> the head accuracy the claim had to beat
        self.position: dict[tuple[int, str], int] = {}
        self.nonce = 0

    def _try(self, action):  # a refused action must change nothing; the invariants check that
        try:
            return action()
        except ContractRevert:
            return None

    # ------------------------------------------------------------------ miners

    @rule(i=MINER)
    def register(self, i: int) -> None:
        m = self.d.miners[i]
        if not self.c.miner_info(m.address).registered:
            self._try(lambda: self.c.register(m, STAKE).wait())

    @rule(i=MINER)
    def leave(self, i: int) -> None:
        if self._try(lambda: self.c.leave(self.d.miners[i]).wait()):
            self.seen["leaves"] += 1

    @rule(i=MINER)
    def withdraw(self, i: int) -> None:
        if self._try(lambda: self.c.withdraw_rewards(self.d.miners[i]).wait()):
            self.seen["withdrawals"] += 1

    @rule(amount=st.sampled_from([1, 10**15, 10**17]))
    def fund(self, amount: int) -> None:
        self.c.fund_rewards(self.d.owner, amount).wait()

    # ------------------------------------------------------------------ rounds

    @rule(i=MINER, acc=ACCURACIES, honest=st.booleans())
    def commit(self, i: int, acc: int, honest: bool) -> None:
        m = self.d.miners[i]
        r = self.c.current_round()
        self.nonce += 1
        claim = SealedClaim(r, cid_of(f"model{self.nonce}"), acc)
        if self._try(lambda: self.c.commit(m, r, claim.commitment(m.address)).wait()):
            key = (r, m.address)
            self.claims[key] = claim
            self.truth[key] = acc if honest else max(0, acc - 3000)
            self.position[key] = self.c.claim_of(r, m.address).position
            if honest:
                self.honest.add(key)

    @rule(i=MINER)
    def reveal(self, i: int) -> None:
        m = self.d.miners[i]
        r = self.c.current_round()
        claim = self.claims.get((r, m.address))
        if claim is None:
            return
        head = self.c.round_info(r).head_bps
        if self._try(lambda: self.c.reveal(m, r, claim.cid, claim.accuracy_bps, claim.salt, head).wait()):
            self.revealed[(r, m.address)] = head

    def _report(self, i: int) -> int | None:
        """What miner i reports for the current candidate (None: nothing to report on)."""
        r = self.c.current_round()
        info = self.c.round_info(r)
        if info.phase != Phase.VALIDATION or not info.seats:
            return None
        truth = self.truth.get((r, info.candidate), 0)
        return (0 if truth > 5000 else 10_000) if i == LIAR else truth

    @rule(i=MINER)
    def vote(self, i: int) -> None:
        measured = self._report(i)
        if measured is not None:
            r = self.c.current_round()
            attempt = self.c.round_info(r).attempt
            head = self.c.latest_block().accuracy_bps
            self._try(lambda: self.c.vote(self.d.miners[i], r, attempt, measured, head).wait())

    def honest_seats_report(self) -> None:
        """Honest seats are live: before time moves on, every honest seat has reported."""
        r = self.c.current_round()
        for i in range(N_MINERS):
            if i != LIAR and self.c.is_validator(r, self.d.miners[i].address) \
                    and not self.c.report_of(r, self.d.miners[i].address).voted:
                self.vote(i)

    @rule(plans=st.lists(st.tuples(ACCURACIES, st.booleans()), min_size=N_MINERS, max_size=N_MINERS))
    def everyone_commits(self, plans: list[tuple[int, bool]]) -> None:
        for i, (acc, honest) in enumerate(plans):
            self.commit(i, acc, honest)

    @rule(skip=st.sets(MINER, max_size=2))
    def everyone_reveals(self, skip: set[int]) -> None:
        for i in range(N_MINERS):
            if i not in skip:  # the skipped ones commit without revealing
                self.reveal(i)

    @rule()
    def everyone_votes(self) -> None:
        for i in range(N_MINERS):
            self.vote(i)

    @rule()
    def everyone_withdraws(self) -> None:
        for i in range(N_MINERS):
            self.withdraw(i)

    @rule(plans=st.lists(st.tuples(ACCURACIES, st.booleans()), min_size=N_MINERS, max_size=N_MINERS),
          skip=st.sets(MINER, max_size=1))
    def full_round(self, plans: list[tuple[int, bool]], skip: set[int]) -> None:
        """A whole round: everyone (registered again if needed) commits, all but ``skip`` reveal, every
        validation is voted on and decided (by its deadline if a seat is silent) until the round ends."""
        r = self.c.current_round()
        for i in range(N_MINERS):
            self.register(i)
        self.everyone_commits(plans)
        for _ in range(2):  # the commit phase waits for inactive miners, the reveals for the skipped ones
            if self.c.current_round() == r and self.c.current_phase().phase in (Phase.COMMIT, Phase.REVEAL):
                self.everyone_reveals(skip)
                self.wait(61)
        for _ in range(N_MINERS + 1):
            if self.c.current_round() != r:
                return
            self.advance()
            self.advance()
            self.everyone_votes()
            if self.c.current_phase().phase != Phase.FINALIZE:
                self.wait(61)
            self.finalize()

    @rule(i=MINER, plans=st.lists(st.tuples(ACCURACIES, st.booleans()), min_size=N_MINERS, max_size=N_MINERS))
    def round_with_a_false_top_claim(self, i: int, plans: list[tuple[int, bool]]) -> None:
        plans[i] = (9500, False)
        self.full_round(plans, set())

    @rule(seconds=st.sampled_from([5, 61]))
    def wait(self, seconds: int) -> None:
        self.honest_seats_report()
        increase_time(self.w3, seconds)

    @rule()
    def advance(self) -> None:
        self.honest_seats_report()
        self.c.advance(self.d.owner).wait()

    @rule()
    def finalize(self) -> None:
        self.honest_seats_report()
        r = self.c.current_round()
        before = self.c.block_count()
        counts = self._counts()
        receipt = self._try(lambda: self.c.finalize(self.d.owner).wait())
        if not receipt:
            return
        for event in self.c.contract.events.ClaimDecided().process_receipt(receipt, errors=DISCARD):
            key = (event["args"]["round"], event["args"]["claimant"])
            outcome, median = ClaimStatus(event["args"]["outcome"]), event["args"]["medianBps"]
            expected = ClaimStatus.ACCEPTED if key in self.honest else ClaimStatus.REJECTED
            assert (outcome, median) == (expected, self.truth[key]), \
                "with >= 2/3 honest seats a claim is decided by its true accuracy: honest ones accepted, false slashed"
        for key, (now, then) in zip(counts, zip(self._counts().values(), counts.values(), strict=True),
                                    strict=True):
            self.seen[key] += now - then
        if self.c.current_round() == r or self.c.block_count() == before:
            return
        self.seen["blocks"] += 1
        block = self.c.latest_block()
        assert block.round == r
        eligible = [(self.truth[k], -self.position[k], k[1]) for k, head in self.revealed.items()
                    if k[0] == r and k in self.honest and self.claims[k].accuracy_bps >= THRESHOLD
                    and self.claims[k].accuracy_bps > head]
        truth, _, miner = max(eligible)
        assert (block.miner, block.accuracy_bps) == (miner, truth), \
            "a block must be the best honest eligible claim, at its true measured accuracy"

    def _counts(self) -> dict[str, int]:
        decided = [e["args"]["outcome"] for e in self.c.events("ClaimDecided")]
        penalized = [e["args"]["reason"] for e in self.c.events("Penalized")]
        return {"rejections": decided.count(4), "unrevealed": penalized.count(2), "misreports": penalized.count(1)}

    # -------------------------------------------------------------- invariants

    @invariant()
    def eligibility_follows_the_rule(self) -> None:
        r = self.c.current_round()
        for (round_id, miner), head in self.revealed.items():
            if round_id != r:
                continue
            claim = self.c.claim_of(r, miner)
            assert claim.eligible == (claim.accuracy_bps >= THRESHOLD and claim.accuracy_bps > head)

    @invariant()
    def chain_is_linked_monotone_and_one_block_per_round(self) -> None:
        blocks = self.c.blocks()
        for parent, child in itertools.pairwise(blocks):
            assert child.parent_hash == parent.block_hash and child.block_hash == child.expected_hash()
            assert child.round > parent.round
            assert child.accuracy_bps > parent.accuracy_bps

    @invariant()
    def ether_is_conserved_and_stakes_are_sound(self) -> None:
        b = self.c.balances()
        assert b["balance"] == b["totalStaked"] + b["rewardPool"] + b["totalPendingRewards"]
        stakes = {m.address: self.c.miner_info(m.address) for m in self.d.miners}
        assert b["totalStaked"] == sum(s.stake for s in stakes.values())
        assert all(s.stake >= 0 for s in stakes.values())
        assert all(s.stake == 0 for s in stakes.values() if not s.registered)
        if self.c.current_phase().phase == Phase.COMMIT:  # a round starts with every stake at least minStake
            assert all(s.stake >= STAKE for s in stakes.values() if s.registered)
        assert self.c.active_miner_count() <= self.c.miner_count()

    @invariant()
    def validation_always_has_a_candidate(self) -> None:
        state = self.c.current_phase()
        assert state.round == self.c.current_round()
        if state.phase == Phase.VALIDATION:
            assert int(self.c.round_info(state.round).candidate, 16) != 0


@pytest.mark.usefixtures("_quiet_hypothesis_db")
# CPU-bound (Hypothesis and Anvil): ~25 s for 4 examples idle (every interesting state reached: `seen`),
# over 300 s on a machine loaded 5x over
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("examples", [
    pytest.param(4, id="ci"),
    pytest.param(60, id="soak", marks=pytest.mark.soak),  # ./scripts/test.sh -m soak: the long walk
])
def test_random_protocol_sequences_keep_invariants(anvil_w3: Web3, examples: int) -> None:
    PoFLMachine.w3 = anvil_w3
    PoFLMachine.seen = dict.fromkeys(PoFLMachine.seen, 0)
    run_state_machine_as_test(PoFLMachine, settings=settings(
        max_examples=examples, stateful_step_count=40, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    # the random walks must reach the interesting states, or the invariants prove little
    seen = PoFLMachine.seen
    assert all(seen.values()), seen


