"""Random sequences of protocol actions against a real Anvil, with invariants after each step."""

from __future__ import annotations

import itertools
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from web3 import Web3

from offchain.chain.errors import ContractRevert
from offchain.chain.pofl import Phase, increase_time
from offchain.chain.rounds import SealedClaim
from tests.pofl_fixtures import deploy_with_miners

N_MINERS = 5
THRESHOLD = 6000
ACCURACIES = st.sampled_from([5000, 6000, 6500, 7000, 7500, 8000, 9500])


class PoFLMachine(RuleBasedStateMachine):
    w3: Web3
    seen: ClassVar[dict[str, int]] = {"blocks": 0, "rejections": 0, "failed_rounds": 0}

    def __init__(self) -> None:
        super().__init__()
        self.d = deploy_with_miners(self.w3, N_MINERS, committee_size=3)
        self.c = self.d.contract
        self.claims: dict[tuple[int, str], SealedClaim] = {}
        self.truth: dict[tuple[int, str], int] = {}
        self.head_at_reveal: dict[tuple[int, str], int] = {}
        self.checked_blocks = 1

    def _try(self, action):  # a refused action must change nothing; invariants check that
        try:
            return action()
        except ContractRevert:
            return None

    @rule(i=st.integers(0, N_MINERS - 1), acc=ACCURACIES, honest=st.booleans())
    def commit(self, i: int, acc: int, honest: bool) -> None:
        m = self.d.miners[i]
        r = self.c.current_round()
        claim = SealedClaim(r, f"Qm{r}m{i}", acc)
        if self._try(lambda: self.c.commit(m, r, claim.commitment(self.c, m.address)).wait()):
            self.claims[(r, m.address)] = claim
            self.truth[(r, m.address)] = acc if honest else max(0, acc - 3000)

    @rule(i=st.integers(0, N_MINERS - 1))
    def reveal(self, i: int) -> None:
        m = self.d.miners[i]
        r = self.c.current_round()
        claim = self.claims.get((r, m.address))
        if claim is None:
            return
        head = self.c.latest_block().accuracy_bps
        if self._try(lambda: self.c.reveal(m, r, claim.cid, claim.accuracy_bps, claim.salt).wait()):
            self.head_at_reveal[(r, m.address)] = head

    @rule(i=st.integers(0, N_MINERS - 1))
    def vote(self, i: int) -> None:
        m = self.d.miners[i]
        r = self.c.current_round()
        candidate = self.c.round_info(r).candidate
        measured = self.truth.get((r, candidate), 0)
        self._try(lambda: self.c.vote(m, r, candidate, measured).wait())

    @rule(plans=st.lists(st.tuples(ACCURACIES, st.booleans()), min_size=N_MINERS, max_size=N_MINERS))
    def everyone_commits(self, plans: list[tuple[int, bool]]) -> None:
        for i, (acc, honest) in enumerate(plans):
            self.commit(i, acc, honest)

    @rule()
    def everyone_reveals(self) -> None:
        for i in range(N_MINERS):
            self.reveal(i)

    @rule()
    def everyone_votes(self) -> None:
        for i in range(N_MINERS):
            self.vote(i)

    @rule(plans=st.lists(st.tuples(ACCURACIES, st.booleans()), min_size=N_MINERS, max_size=N_MINERS))
    def full_round(self, plans: list[tuple[int, bool]]) -> None:
        self.everyone_commits(plans)
        self.everyone_reveals()
        self.everyone_votes()
        self.finalize()

    @rule(seconds=st.sampled_from([5, 61]))
    def wait(self, seconds: int) -> None:
        increase_time(self.w3, seconds)

    @rule()
    def finalize(self) -> None:
        r = self.c.current_round()
        before = self.c.block_count()
        if not self._try(lambda: self.c.finalize(self.d.owner).wait()):
            return
        if self.c.current_round() > r and self.c.block_count() == before:
            self.seen["failed_rounds"] += 1
        if any(self.c.claim_of(r, m.address).rejected for m in self.d.miners):
            self.seen["rejections"] += 1
        if self.c.block_count() > before:
            self.seen["blocks"] += 1
            block = self.c.latest_block()
            assert block.round == r
            standing = [self.c.claim_of(r, m.address) for m in self.d.miners]
            best = max(cl.accuracy_bps for cl in standing if cl.revealed and cl.eligible and not cl.rejected)
            assert block.accuracy_bps == best, "a block must carry the best unrejected eligible claim"

    @invariant()
    def eligibility_follows_the_rule(self) -> None:
        for (r, miner), head in self.head_at_reveal.items():
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
    def ether_is_conserved(self) -> None:
        b = self.c.balances()
        assert b["balance"] == b["totalStaked"] + b["rewardPool"] + b["totalPendingRewards"]
        assert b["totalStaked"] == sum(self.c.miner_info(m.address).stake for m in self.d.miners)

    @invariant()
    def validation_always_has_a_candidate(self) -> None:
        state = self.c.current_phase()
        assert state.round == self.c.current_round()
        if state.phase == Phase.VALIDATION:
            assert int(self.c.round_info(state.round).candidate, 16) != 0


def test_random_protocol_sequences_keep_invariants(anvil_w3: Web3) -> None:
    PoFLMachine.w3 = anvil_w3
    run_state_machine_as_test(PoFLMachine, settings=settings(
        max_examples=15, stateful_step_count=40, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    # the random walks must reach the interesting states, or the invariants prove little
    assert PoFLMachine.seen["blocks"] > 0 and PoFLMachine.seen["rejections"] > 0, PoFLMachine.seen


@pytest.fixture(autouse=True)
def _quiet_hypothesis_db(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
