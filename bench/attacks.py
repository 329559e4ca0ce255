#!/usr/bin/env python3
"""The attacks of issue 10 against PoFLConsensus on a fresh Anvil, as JSON: one entry per attack,

    {"attack", "defeated", "attacker_gain_wei", "honest_loss_wei", "rounds"}

    .venv/bin/python bench/attacks.py [--only NAME ...] [--list] [--out attacks.json]

Values are what the contract holds for each account (stake + credit + what it paid out, minus what was
deposited; gas is not counted). `attacker_gain_wei`: the attackers' value beyond what honest play would
have earned them (negative: they lost stake). `honest_loss_wei`: what honest miners hold less than their
deposits plus the block rewards the honest best claims should have earned. `defeated`: no gain, no honest
loss, and the attack's own check (each block is the honest best claim at its median measurement, ...).

Adding an attack is one function: decorate it with `@attack("name")`; it gets a fresh `Arena` and
returns an `Outcome`. (tests/test_contract_attacks.py asserts the same attacks step by step.)
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from web3 import Web3
from web3.exceptions import ContractLogicError

from bench._report import emit
from offchain.chain.accounts import LocalSigner
from offchain.chain.commitment import SealedClaim
from offchain.chain.compile import compile_contracts
from offchain.chain.connect import connect
from offchain.chain.consensus import PoFLContract
from offchain.chain.errors import ContractRevert, PoFLInvalidConfig, PoFLTooManyMiners
from offchain.chain.tx import send, wait_all
from offchain.chain.types import UNAVAILABLE_BPS, ClaimStatus, Phase, PoFLConfig, fetch_deadline
from offchain.servers.devnet import start_devnet
from offchain.store.cid import cid_to_digest
from offchain.testing.accounts import FUNDED_WEI, fresh_signers
from offchain.testing.rounds import (
    Measure,
    advance_time,
    cast_votes,
    commit_claims,
    draw_committee,
    placeholder_cid,
    play_round,
    reveal_claims,
    truthful,
)

STAKE = 10**18
BOND = 10**16
REWARD = 10**17
CONFIG = PoFLConfig(threshold_bps=6000, eval_set_hash=b"\x11" * 32, architecture_id=b"\x22" * 32, min_stake=STAKE,
                    miss_bond=BOND, block_reward=REWARD)
TEST_CONTRACTS = Path(__file__).resolve().parents[1] / "tests" / "contracts"


@dataclass
class Outcome:
    """What an attack function reports: who attacked, who was honest, and whether its own checks held."""

    attackers: Sequence[str]
    honest: Sequence[str]
    rounds: int
    checks: bool
    honest_blocks: int = 0  # blocks the honest best claims should have made (each earns REWARD)
    attacker_fair_rewards: int = 0  # block rewards the attackers' models earn on their own merit


@dataclass
class Arena:
    """A fresh contract on the shared devnet, with funded accounts to play miners and attackers."""

    w3: Web3
    contract: PoFLContract = field(init=False)
    owner: LocalSigner = field(init=False)

    def deploy(self, **config: Any) -> PoFLContract:
        self.owner = self.account(10**21)
        self.contract, _ = PoFLContract.deploy(self.owner, replace(CONFIG, **config), placeholder_cid("genesis"),
                                               reward_pool=10**19, deployments_dir=None)
        return self.contract

    def account(self, wei: int = FUNDED_WEI) -> LocalSigner:
        (signer,) = fresh_signers(self.w3, 1, wei)
        return signer

    def miners(self, n: int, stake: int = STAKE) -> list[LocalSigner]:
        signers = fresh_signers(self.w3, n)
        wait_all([self.contract.register(s, stake) for s in signers])
        return signers

    def play(self, miners: Sequence[LocalSigner], claims: Sequence[tuple[LocalSigner, int]], measure: Measure,
             **options: Any) -> Any:
        return play_round(self.contract, self.owner, miners, claims, measure, **options)

    def helper(self, name: str) -> Any:
        artifact = _test_contracts()[name]
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = send(self.owner, factory.constructor(self.contract.address), self.contract.errors).wait()
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

    def outcomes(self, round_id: int) -> dict[str, ClaimStatus]:
        """How each claim of ``round_id`` was decided (events: a slashed miner's record is gone once evicted)."""
        return {e["args"]["claimant"]: ClaimStatus(e["args"]["outcome"]) for e in self.contract.events("ClaimDecided")
                if e["args"]["round"] == round_id}

    def head(self) -> tuple[str, int]:
        block = self.contract.latest_block()
        return block.miner, block.accuracy_bps

    def holdout_credit(self, accounts: Sequence[str]) -> int:
        """What a hold-out task (if any) credited ``accounts`` from its requester's bond."""
        from offchain.chain.holdout import HoldoutContract

        if not accounts or not hasattr(self, "contract"):  # an attack whose deployment was refused
            return 0
        holdout = HoldoutContract.of(self.contract)
        return 0 if holdout is None else sum(holdout.credit(x) for x in accounts)

    def value(self, accounts: Sequence[str]) -> int:
        """What the contract holds for, and paid out to, ``accounts``, minus what they deposited."""
        if not accounts:
            return 0
        c = self.contract
        mine = set(accounts)
        total = sum(c.miner_info(a).stake + c.pending_rewards(a) for a in mine)
        for event, key, sign in (("MinerRegistered", "stake", -1), ("StakeAdded", "amount", -1),
                                 ("MinerLeft", "stakeReturned", 1), ("MinerLeft", "creditPaid", 1),
                                 ("RewardsWithdrawn", "amount", 1)):
            total += sign * sum(e["args"][key] for e in c.events(event)
                                if e["args"].get("miner", e["args"].get("account")) in mine)
        return total


@functools.cache
def _test_contracts() -> dict[str, dict[str, Any]]:
    return compile_contracts(TEST_CONTRACTS)


ATTACKS: dict[str, Callable[[Arena], Outcome]] = {}


def attack(name: str) -> Callable[[Callable[[Arena], Outcome]], Callable[[Arena], Outcome]]:
    def register(fn: Callable[[Arena], Outcome]) -> Callable[[Arena], Outcome]:
        ATTACKS[name] = fn
        return fn
    return register


def run(name: str, w3: Web3) -> dict[str, Any]:
    arena = Arena(w3)
    outcome = ATTACKS[name](arena)
    gain = arena.value(outcome.attackers) + arena.holdout_credit(outcome.attackers) - outcome.attacker_fair_rewards
    loss = outcome.honest_blocks * REWARD - arena.value(outcome.honest)
    return {"attack": name, "defeated": outcome.checks and gain <= 0 and loss <= 0, "attacker_gain_wei": gain,
            "honest_loss_wei": loss, "rounds": outcome.rounds}


def addresses(signers: Sequence[LocalSigner]) -> list[str]:
    return [s.address for s in signers]


# ------------------------------------------------------------------------------------- attacks


@attack("solo bootstrap")
def solo_bootstrap(a: Arena) -> Outcome:
    """An attacker contract registers, commits 10000 bps, reveals, finalizes and leaves in one transaction."""
    c = a.deploy()
    solo = a.helper("SoloBootstrap")
    send(a.owner, solo.functions.attack(hashlib.sha256(b"not-a-cid-at-all").digest()), c.errors,
         value=STAKE).wait()
    frozen = c.block_count() > 1
    honest = a.miners(4)
    claims = list(zip(honest, [6500, 6600, 6700, 7050], strict=True))
    a.play(honest, claims, truthful({m.address: acc for m, acc in claims} | {honest[3].address: 7045}))
    return Outcome([solo.address], addresses(honest), 2, not frozen and a.head() == (honest[3].address, 7045),
                   honest_blocks=1)


@attack("copycat")
def copycat(a: Arena) -> Outcome:
    """A copycat commits a leaked model after its author and reveals it first (+100 bps); the next round it
    replays the head's CID (+100 bps)."""
    c = a.deploy()
    miners = a.miners(6)
    author, cat = miners[0], miners[5]
    model = placeholder_cid("the author's model")
    claims = [(m, 7000 + i) for i, m in enumerate(miners)]
    claims[0], claims[5] = (author, 8000), (cat, 8100)
    truth = {m.address: acc for m, acc in claims}
    a.play(miners, claims, truthful(truth), cids={author.address: model, cat.address: model},
           revealers=[cat, *miners[:5]])
    first = a.head() == (author.address, 8000)
    head = c.latest_block()
    replay = [(cat, head.accuracy_bps + 100)] + [(m, 8100 + i) for i, m in enumerate(miners[1:5])]
    a.play(miners, replay, truthful({m.address: acc for m, acc in replay[1:]}), cids={cat.address: head.cid})
    return Outcome([cat.address], addresses(miners[:5]), 2, first and a.head() == (miners[4].address, 8103),
                   honest_blocks=2)


@attack("half a committee")
def half_a_committee(a: Arena) -> Outcome:
    """The issue's numbers: ten miners, nine seats (v1 rejected with 5): five colluders report 0 for the honest
    9000 claim so that their own 7004 claim wins. Two thirds of the reports decide: the split committee disputes
    the claim, and the appeal (decided by stake) is split too, at half the stake each: the dispute stands, nobody
    is slashed and the colluders' claim is never validated (no block, no reward). A second round with four
    colluders (between 1/3 and 1/2 of the seats, 40% of the stake): the appeal accepts the honest claim, the
    block is made and each colluder pays a misreport penalty."""
    c = a.deploy()
    miners = a.miners(10)
    winner = miners[0]
    truth = {m.address: 6000 + i for i, m in enumerate(miners)} | {winner.address: 9000, miners[1].address: 7004}
    head = c.latest_block()
    expected = [ClaimStatus.DISPUTED, ClaimStatus.ACCEPTED]
    checks = True
    for gang, outcome in zip((miners[1:6], miners[1:5]), expected, strict=True):
        colluding = set(addresses(gang))

        def measure(candidate: str, seat: LocalSigner, colluding: set[str] = colluding) -> int:
            return 0 if seat.address in colluding and candidate == winner.address else truth[candidate]

        result = a.play(miners, [(m, truth[m.address]) for m in miners], measure)
        checks &= a.outcomes(result.round_id) == {winner.address: outcome}
        if outcome == ClaimStatus.DISPUTED:
            checks &= c.latest_block() == head
    checks &= a.head() == (winner.address, 9000)
    return Outcome(addresses(miners[1:6]), [winner.address, *addresses(miners[6:])], 2, checks, honest_blocks=1)


@attack("idle sybils")
def idle_sybils(a: Arena) -> Outcome:
    """Six sybils register and never commit (v1: they raised the quorum, so honest rejections of a false
    claim were inconclusive and the honest next-best was never tried)."""
    a.deploy()
    miners = a.miners(5, stake=2 * STAKE) + a.miners(6)  # the committers hold most of the stake
    honest, cheater, sybils = miners[:4], miners[4], miners[5:]
    truth = {m.address: 7000 + i for i, m in enumerate(honest)} | {cheater.address: 3000}
    result = a.play(miners, [(m, truth[m.address]) for m in honest] + [(cheater, 9900)], truthful(truth))
    rejected = a.outcomes(result.round_id).get(cheater.address) == ClaimStatus.REJECTED
    return Outcome([cheater.address, *addresses(sybils)], addresses(honest), 1,
                   rejected and a.head() == (honest[3].address, 7003), honest_blocks=1)


@attack("minStake 0")
def min_stake_zero(a: Arena) -> Outcome:
    """Deploying with minStake 0 (v1: each slash lowered activeMinerCount though the miner stayed active, and
    a later rejecting vote underflowed)."""
    try:
        a.deploy(min_stake=0)
    except PoFLInvalidConfig:
        return Outcome([], [], 0, True)
    return Outcome([], [], 0, False)


@attack("free non-reveal and silence")
def free_non_reveal(a: Arena) -> Outcome:
    """One miner commits and never reveals, another holds a seat and never reports, to stretch every phase to
    its deadline at no cost."""
    c = a.deploy()
    miners = a.miners(7, stake=STAKE + 2 * BOND)
    hider, sleeper = miners[0], miners[1]
    truth = {m.address: 7000 + i for i, m in enumerate(miners)}
    a.play(miners, [(m, truth[m.address]) for m in miners], truthful(truth), revealers=miners[1:],
           voters=miners[2:])
    others = miners[2:]
    a.play(others, [(m, 7100 + i) for i, m in enumerate(others)],
           truthful({m.address: 7100 + i for i, m in enumerate(others)}))
    quiet = not c.miner_info(hider.address).active and not c.miner_info(sleeper.address).active
    return Outcome(addresses([hider, sleeper]), addresses(others), 2,
                   quiet and a.head() == (miners[6].address, 7104), honest_blocks=2)


@attack("slashed miners fill the cap")
def slashed_fill_the_cap(a: Arena) -> Outcome:
    """With the cap full, a cheater is slashed (v1: slashed and idle miners kept their places, so refundable
    stake could fill the cap and inflate committees)."""
    c = a.deploy(min_stake=10**15, miss_bond=10**13)
    miners = a.miners(5)  # the committers hold most of the stake
    fillers = fresh_signers(a.w3, 251, 10**17)
    wait_all([c.register(s, 10**15) for s in fillers[:250]])
    full = False
    try:
        c.register(fillers[250], 10**15)
    except PoFLTooManyMiners:
        full = True
    cheater = miners[0]
    truth = {m.address: 7000 + i for i, m in enumerate(miners)} | {cheater.address: 1000}
    a.play(miners, [(m, 9900 if m is cheater else truth[m.address]) for m in miners], truthful(truth))
    c.register(fillers[250], 10**15).wait()  # the evicted cheater's place
    return Outcome([cheater.address], addresses(miners[1:]), 1,
                   full and not c.miner_info(cheater.address).registered, honest_blocks=1)


@attack("committee grinding")
def committee_grinding(a: Arena) -> Outcome:
    """The last revealer, a contract with a false claim, reveals only when its two sybils would hold a majority
    of the committee (v1: the last reveal made the seed; it found an all-sybil committee in 2-7 tries)."""
    c = a.deploy(committee_size=3)
    miners = a.miners(8)
    grinder = a.helper("GrindingRevealer")
    send(a.owner, grinder.functions.register(), c.errors, value=STAKE).wait()
    r = c.current_round()
    digest, salt = cid_to_digest(placeholder_cid("garbage"))[0], b"\x05" * 32
    claims = [(m, SealedClaim(r, placeholder_cid(f"g{i}"), 7000 + i)) for i, m in enumerate(miners)]
    commit_claims(c, claims)
    send(a.owner, grinder.functions.commit(digest, 9900, salt), c.errors).wait()
    reveal_claims(c, claims)
    blocked = 0
    for _ in range(5):  # one try a block: the committee is not known while it could still reveal
        try:
            send(a.owner, grinder.functions.revealIfFavourable(digest, 9900, salt, addresses(miners[:2])), c.errors)
        except ContractLogicError:  # its own require(): the committee was not there to see
            blocked += 1
        c.advance(a.owner).wait()
    advance_time(c, a.owner, c.round_info(r).deadline)  # the reveals end without it
    seats = draw_committee(c, a.owner)
    cast_votes(c, r, [(m, 7007) for m in miners if m.address in seats])
    if c.current_phase().phase != Phase.FINALIZE:  # a seat of its own stays silent
        advance_time(c, a.owner, c.round_info(r).deadline)
    c.finalize(a.owner).wait()
    return Outcome([grinder.address], addresses(miners), 1, blocked == 5 and a.head() == (miners[7].address, 7007),
                   honest_blocks=1)


@attack("tolerance inflation")
def tolerance_inflation(a: Arena) -> Outcome:
    """The best model (8000) is claimed at 8000 + the tolerance, to raise the bar for the next round (v1
    recorded the claim; an honest 8050 next round was then ineligible)."""
    a.deploy()
    miners = a.miners(5)
    inflator = miners[4]
    truth = {m.address: 7000 + i for i, m in enumerate(miners)} | {inflator.address: 8000}
    a.play(miners, [(m, 8100 if m is inflator else truth[m.address]) for m in miners], truthful(truth))
    recorded = a.head() == (inflator.address, 8000)
    nxt = {m.address: 7500 for m in miners} | {miners[0].address: 8050}
    a.play(miners, [(m, nxt[m.address]) for m in miners], truthful(nxt))
    return Outcome([inflator.address], addresses(miners[:4]), 2,
                   recorded and a.head() == (miners[0].address, 8050), honest_blocks=1, attacker_fair_rewards=REWARD)


@attack("retroactive owner changes")
def retroactive_owner(a: Arena) -> Outcome:
    """Mid-round the owner shortens every phase to a second and raises the tolerance to 10% so that a 10%
    over-claim passes (v1 applied both to the open round)."""
    c = a.deploy()
    miners = a.miners(5)
    truth = {m.address: 7000 + i for i, m in enumerate(miners)} | {miners[4].address: 8000}
    r = c.current_round()
    claims = [(m, SealedClaim(r, placeholder_cid(f"o{i}"), 9000 if i == 4 else truth[m.address]))
              for i, m in enumerate(miners)]
    commit_claims(c, claims[:4])
    c.set_phase_durations(a.owner, 1, 1, 1).wait()
    c.set_validation(a.owner, 1000, 6666, 0, 3).wait()
    commit_claims(c, claims[4:])
    reveal_claims(c, claims)
    while c.current_round() == r:
        seats = draw_committee(c, a.owner)
        candidate = c.round_info(r).candidate
        cast_votes(c, r, [(m, truth[candidate]) for m in miners if m.address in seats])
        c.finalize(a.owner).wait()
    rejected = a.outcomes(r).get(miners[4].address) == ClaimStatus.REJECTED
    return Outcome([miners[4].address], addresses(miners[:4]), 1,
                   rejected and a.head() == (miners[3].address, 7003) and c.config().tolerance_bps == 1000,
                   honest_blocks=1)


@attack("validator crash")
def validator_crash(a: Arena) -> Outcome:
    """v1: a CID nobody can fetch made every honest validator exit. Now every seat reports it UNAVAILABLE at the
    fetch deadline on chain: the claim is Unavailable (its claimant pays 10% of its stake)."""
    return _hostile_model(a, lambda _store: placeholder_cid("a model nobody ever stored"), ClaimStatus.UNAVAILABLE)


@attack("header bomb")
def header_bomb(a: Arena) -> Outcome:
    """v1: 100,000 nested JSON arrays in a model's header segfaulted every process that imported web3."""
    header = b"[" * 100_000 + b"]" * 100_000
    return _hostile_model(a, lambda store: store.put(len(header).to_bytes(8, "little") + header), ClaimStatus.REJECTED)


# ------------------------------------------------------------------------------ issue 20 (consensus v3)


@attack("parent lie")
def parent_lie(a: Arena) -> Outcome:
    """Issue 20, finding 1 (hold-out mode): 4 of 10 miners (4 of 9 seats) report every honest candidate truthfully
    but the parent at 10000 (truthfully for their own 7600 claim), so that no honest claim beats the parent and
    theirs becomes the block (v2: +0.1 ETH, no penalty). The parent's reports are judged like the candidate's:
    split, the best honest claim is disputed; its appeal, decided by stake (the honest side holds 60%), makes it
    the block and each liar pays a misreport penalty (issue 20, finding 5). A second round with 2 liars (under a
    third): the honest block, and each liar pays again. The coalition's claim is never validated."""
    from offchain.testing.holdout_task import HoldoutTask

    t = HoldoutTask(a.w3, 10, 2, CONFIG, placeholder_cid("genesis"), stake=2 * STAKE)
    a.contract, a.owner = t.contract, t.owner
    honest_blocks, checks, attackers = 0, True, set(addresses(t.miners[-4:]))
    for k, liars in enumerate((4, 2)):
        gang = set(addresses(t.miners[-liars:]))
        truth = {m.address: 9000 + 100 * k + 10 * i for i, m in enumerate(t.miners)} | dict.fromkeys(attackers, 6500)
        truth[t.miners[-1].address] = 7600
        r = t.contract.current_round()

        def parent(seat: LocalSigner, gang: set[str] = gang, r: int = r) -> int:
            return 10000 if seat.address in gang and t.contract.round_info(r).candidate not in gang else 7000

        result = a.play(t.miners, [(m, truth[m.address]) for m in t.miners], lambda cand, _s, truth=truth: truth[cand],
                        reveal_key=t.reveal, parent=parent)
        checks &= t.miners[-1].address not in a.outcomes(result.round_id)
        best = max((m for m in t.miners if m.address not in attackers), key=lambda m: truth[m.address])
        checks &= a.head() == (best.address, truth[best.address])
        honest_blocks += 1
    honest = [m.address for m in t.miners if m.address not in attackers]
    return Outcome(sorted(attackers), honest, 2, checks, honest_blocks=honest_blocks)


@attack("free disputes")
def free_disputes(a: Arena) -> Outcome:
    """Issue 20, finding 5: 4 of 10 miners (4 of 9 seats, 40% of the stake) report 0 for every honest candidate,
    three rounds running (v3: every round Disputed, no block, and it cost them nothing). The round's first
    dispute goes to appeal: every committer that may still sit, decided by stake; the honest side holds 60%:
    each round the honest best claim is the block at its median, a validation window late, and each colluder
    pays misreportPenaltyBps (10%) of its stake, every round."""
    c = a.deploy()
    miners = a.miners(10, stake=2 * STAKE)  # staked above minStake, so that the coalition lasts three rounds
    honest, gang = miners[:6], set(addresses(miners[6:]))
    checks = True
    for k in range(3):
        truth = {m.address: (9000 if m in honest else 8500) + 100 * k + i for i, m in enumerate(miners)}
        before = {x: c.miner_info(x).stake for x in gang}

        def measure(candidate: str, seat: LocalSigner, truth: dict[str, int] = truth) -> int:
            return 0 if seat.address in gang and candidate not in gang else truth[candidate]

        result = a.play(miners, [(m, truth[m.address]) for m in miners], measure)
        best = max(honest, key=lambda m: truth[m.address])
        checks &= [d.outcome for d in c.decisions(result.round_id)] == [ClaimStatus.DISPUTED, ClaimStatus.ACCEPTED]
        checks &= a.head() == (best.address, truth[best.address])
        checks &= all(c.miner_info(x).stake < before[x] for x in gang)  # they paid, this round too
    return Outcome(sorted(gang), addresses(honest), 3, checks, honest_blocks=3)


@attack("sybil bootstrap")
def sybil_bootstrap(a: Arena) -> Outcome:
    """Issue 20, finding 2 (public mode): in a round no honest miner commits to, one attacker with 4 addresses
    claims 10000 for a garbage model and its other 3 report 10000 (v2: a block at 10000 that no later claim
    could beat; the attacker left with its stake and +0.1 ETH). Its committers hold less than half of the stake:
    no block (NotIndependent). Then 3 honest rounds with claims up to 9500: 3 blocks."""
    c = a.deploy()
    honest = a.miners(6)
    sybils = a.miners(4)
    fake = {m.address: 10000 for m in sybils}
    a.play(honest + sybils, [(m, 10000 if i == 0 else 6100 + i) for i, m in enumerate(sybils)],
           lambda cand, _s: fake.get(cand, 0), voters=sybils)
    checks = c.block_count() == 1
    for k in range(3):
        truth = {m.address: 9000 + 100 * i + 10 * k for i, m in enumerate(honest)}
        a.play(honest, [(m, truth[m.address]) for m in honest], truthful(truth))
        checks &= a.head() == (honest[-1].address, 9500 + 10 * k)
    return Outcome(addresses(sybils), addresses(honest), 4, checks, honest_blocks=3)


@attack("half the seats under-report")
def under_report(a: Arena) -> Outcome:
    """Issue 20, finding 8: over an 8000 head, 5 of 9 seats report the honest best claim (8080) at 8000, within
    the tolerance, so that it is Unimproved and their worse 8040 claim becomes the block (v2: it did). A
    confirmed Unimproved claim ends the search: no block this round (a majority can deny a round, as the
    README says), the coalition's claim is never validated."""
    a.deploy()
    miners = a.miners(10)
    first = {m.address: 7000 + i for i, m in enumerate(miners)} | {miners[0].address: 8000}
    a.play(miners, [(m, first[m.address]) for m in miners], truthful(first))
    winner, gang = miners[0], set(addresses(miners[1:6]))
    truth = {m.address: 7500 + i for i, m in enumerate(miners)} | {winner.address: 8080, miners[1].address: 8040}
    result = a.play(miners, [(m, truth[m.address]) for m in miners],
                    lambda cand, seat: 8000 if cand == winner.address and seat.address in gang else truth[cand])
    checks = a.outcomes(result.round_id) == {winner.address: ClaimStatus.UNIMPROVED} and a.head()[1] == 8000
    return Outcome(sorted(gang), [m.address for m in miners if m.address not in gang], 2, checks,
                   honest_blocks=1)


@attack("selective availability")
def selective_availability(a: Arena) -> Outcome:
    """Issue 20, finding 4: the best claimant (a genuine 7100 model) serves it to 6 of its 9 seats only; v3 had
    the 3 starved seats report 0 and pay 10% each as misreporters (all 3 evicted at minStake). Now they report
    it UNAVAILABLE at the fetch deadline on chain: the claim is Unavailable, the claimant pays 10% (and forgoes
    the block its model would have won), the runner-up is the block, the starved seats lose nothing."""
    c = a.deploy()
    miners = a.miners(10)
    claimant, by_address = miners[-1], {m.address: m for m in miners}
    r = c.current_round()
    truth = {m.address: 7000 + i for i, m in enumerate(miners)} | {claimant.address: 7100}
    claims = [(m, SealedClaim(r, placeholder_cid(f"sa{i}"), truth[m.address])) for i, m in enumerate(miners)]
    commit_claims(c, claims)
    reveal_claims(c, claims)
    seats = draw_committee(c, a.owner)
    starved = set(seats[6:])
    info = c.round_info(r)
    advance_time(c, a.owner, fetch_deadline(info.deadline, c.config().validation_duration) - 1)
    cast_votes(c, r, [(by_address[s], UNAVAILABLE_BPS if s in starved else truth[info.candidate]) for s in seats])
    c.finalize(a.owner).wait()
    while c.current_round() == r:
        seats = draw_committee(c, a.owner)
        cast_votes(c, r, [(by_address[s], truth[c.round_info(r).candidate]) for s in seats])
        c.finalize(a.owner).wait()
    checks = (a.outcomes(r) == {claimant.address: ClaimStatus.UNAVAILABLE, miners[-2].address: ClaimStatus.ACCEPTED}
              and a.head() == (miners[-2].address, 7008) and all(c.miner_info(s).stake == STAKE for s in starved))
    return Outcome([claimant.address], addresses(miners[:-1]), 1, checks, honest_blocks=1,
                   attacker_fair_rewards=REWARD)  # served to all, its model would have been the block


@attack("cross-round copy, re-encoded")
def cross_round_copy(a: Arena) -> Outcome:
    """Issue 20, finding 3: the victim's model, revealed in a round without a block, is claimed the next round
    by copiers re-encoded (a `round` metadata field; the same bytes as CIDv1-raw) and as is. Seats read through
    the project's fetcher: the re-encodings are not canonical (measured 0, slashed), the copy is a used digest."""
    import json
    import struct
    import tempfile

    import torch

    from offchain.fl.architectures import SimpleNet
    from offchain.store import LocalStore, compute_cid
    from offchain.store.fetching import UntrustedFetcher, publish_model
    from offchain.store.model_bytes import model_to_bytes

    def state(seed: int) -> dict[str, Any]:
        torch.manual_seed(seed)
        return SimpleNet().state_dict()

    store = LocalStore(tempfile.mkdtemp(prefix="pofl-attack-"))
    c = a.deploy()
    miners = a.miners(7)
    victim, *copiers = miners[:4]
    honest = miners[4:]
    model = state(20)
    model_cid = publish_model(store, model, "simplenet")
    a.play(miners, [(m, 5000 + i) for i, m in enumerate(miners)], truthful({}), cids={victim.address: model_cid})
    canonical = model_to_bytes(model, "simplenet")
    (length,) = struct.unpack("<Q", canonical[:8])
    header = json.loads(canonical[8:8 + length])
    header["__metadata__"]["round"] = "2"
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    round_field = store.put(struct.pack("<Q", len(text)) + text + canonical[8 + length:])
    raw = compute_cid(canonical, version=1, raw_leaves=True)
    (store.blocks / raw).write_bytes(canonical)  # the same bytes under their CIDv1-raw
    cids = dict(zip(addresses(copiers), [round_field, raw, model_cid], strict=True))
    cids |= {m.address: publish_model(store, state(30 + i), "simplenet") for i, m in enumerate(honest)}
    truth = {x: 8100 for x in addresses(copiers)} | {m.address: 7000 + i for i, m in enumerate(honest)}
    fetcher = UntrustedFetcher(store)
    try:
        a.play(miners, [(m, truth[m.address]) for m in copiers + honest],
               lambda cand, _s: truth[cand] if fetcher.model(cids[cand], "simplenet").value is not None else 0,
               cids=cids)
    finally:
        fetcher.close()
    return Outcome(addresses(copiers), addresses(honest), 2, a.head() == (honest[-1].address, 7002) and
                   c.block_count() == 2, honest_blocks=1)


def _holdout_arena(a: Arena, n_honest: int, n_shards: int, honest_stake: int = STAKE) -> tuple[Any, Any, list]:
    """A hold-out task on placeholder shards whose keys the bench holds, with ``n_honest`` idle honest miners."""
    from offchain.chain.holdout import deploy_holdout_task, plan_holdout_task
    from offchain.holdout.sealing import key_hash, new_key
    from offchain.holdout.task import SealedShard, SealedTask

    requester = a.account(10**21)
    a.owner = requester
    plan = plan_holdout_task(requester)
    keys = [new_key() for _ in range(n_shards)]
    sealed = SealedTask(plan.task, tuple(SealedShard(i, placeholder_cid(f"shard{i}"), key_hash(k))
                                         for i, k in enumerate(keys)),
                        SealedShard(2**32 - 1, placeholder_cid("final"), key_hash(new_key())), None, None)  # type: ignore[arg-type]
    a.contract, holdout, _ = deploy_holdout_task(requester, plan, sealed, CONFIG, placeholder_cid("genesis"),
                                                 bond=10**18, missed_key_pay=10**16, reward_pool=10**19,
                                                 deployments_dir=None)
    honest = a.miners(n_honest, honest_stake)
    return holdout, honest, keys


def _junk_round(a: Arena, holdout: Any, committers: Sequence[LocalSigner], key: bytes) -> bool:
    """``committers`` commit junk; the requester tries to reveal the key; the round closes. Whether the key was
    refused."""
    c = a.contract
    r = c.current_round()
    commit_claims(c, [(m, SealedClaim(r, placeholder_cid(f"junk{r}.{i}"), 0, blind=True))
                      for i, m in enumerate(committers)])
    if c.current_phase().phase == Phase.COMMIT:
        advance_time(c, a.owner, c.round_info(r).deadline)
    try:
        holdout.reveal_key(a.owner, r, key).wait()
        refused = False
    except ContractRevert:
        refused = True
    advance_time(c, a.owner, c.round_info(r).deadline)
    c.finalize(a.owner).wait()
    return refused


@attack("sybils burn shards")
def shard_burning(a: Arena) -> Outcome:
    """Issue 20, finding 7: while 4 honest miners idle, 4 sybils (half the stake) commit junk for 3 rounds, one
    more than the task has shards. Before, each round took a key, spending a shard, until honest commits were
    refused (PoFLNoShard). Now no key is owed to a stake minority: no shard spent; the honest round then gets
    shard 0. Gains count the sybils' missed-key credit too."""
    holdout, honest, keys = _holdout_arena(a, 4, 2)
    sybils = a.miners(4)
    refused = all(_junk_round(a, holdout, sybils, keys[0]) for _ in range(3))
    unspent = a.contract.shards_used() == 0 and holdout.shard_available(0)
    truth = {m.address: 7000 + i for i, m in enumerate(honest)} | {s.address: 0 for s in sybils}
    a.play([*honest, *sybils], [(m, truth[m.address]) for m in [*honest, *sybils]], truthful(truth),
           reveal_key=lambda r: holdout.reveal_key(a.owner, r, keys[0]).wait(), parent=lambda _s: 1000)
    credit = sum(holdout.credit(s.address) for s in sybils)
    return Outcome(addresses(sybils), addresses(honest), 4, refused and unspent and credit == 0 and
                   a.head() == (honest[-1].address, 7003) and a.contract.shards_used() == 1, honest_blocks=1)


@attack("sybil addresses drain the bond")
def bond_drain(a: Arena) -> Outcome:
    """Issue 20, finding 6: 100 sybil addresses (100 ETH of 220 staked) commit no model; the requester's key is
    missing. Before: payPerCommitter per address took the whole 1 ETH bond. Now no key is owed to a stake
    minority, so its round pays nothing (and a majority's missed key pays missedKeyPay in all, by stake)."""
    holdout, honest, keys = _holdout_arena(a, 4, 2, honest_stake=30 * STAKE)
    sybils = fresh_signers(a.w3, 100, 2 * STAKE)
    wait_all([a.contract.register(s, STAKE) for s in sybils])
    refused = _junk_round(a, holdout, sybils, keys[0])
    drained = sum(holdout.credit(s.address) for s in sybils)
    return Outcome(addresses(sybils), addresses(honest), 1, refused and drained == 0 and holdout.bond() == 10**18)


@attack("requester seals a shard that never opens")
def unopenable_shard(a: Arena) -> Outcome:
    """Issue 20, finding 9: the requester's shard 0 hashes to its key but does not open; every miner declares so
    at its reveal (parentBps = SHARD_UNOPENED_BPS). Before, the round failed and the requester paid nothing; now it
    fails ShardUnopened and the bond pays the committers as for a missed key. The attacker is the requester (its
    bond is outside the consensus's accounts, so its gain reads 0: the check asserts it paid missedKeyPay)."""
    from offchain.chain.types import SHARD_UNOPENED_BPS, FailReason

    holdout, honest, keys = _holdout_arena(a, 4, 2)
    c = a.contract
    r = c.current_round()
    claims = [(m, SealedClaim(r, placeholder_cid(f"u{i}"), 0, blind=True, parent_bps=SHARD_UNOPENED_BPS))
              for i, m in enumerate(honest)]
    commit_claims(c, claims)
    holdout.reveal_key(a.owner, r, keys[0]).wait()
    reveal_claims(c, claims)
    c.finalize(a.owner).wait()
    paid = sum(holdout.credit(m.address) for m in honest)
    failed = c.events("RoundFailed")[-1]["args"]["reason"] == FailReason.SHARD_UNOPENED
    return Outcome([a.owner.address], addresses(honest), 1, failed and paid == 10**16 and
                   holdout.bond() == 10**18 - paid)


@functools.cache
def _workload() -> Any:
    from offchain.miner.workload import RunConfig, Workload

    return Workload(RunConfig(n_miners=5, threshold=0.0, require_improvement=False, phase_seconds=30))


def _hostile_model(a: Arena, make_cid: Callable[[Any], str], expected: ClaimStatus) -> Outcome:
    """Four honest miners (the project's round driver, real MNIST) and one attacker that reveals ``make_cid``'s
    CID claiming 100%, in one round: the seats measure it at 0 (or report it unavailable), its claim is decided
    ``expected`` with a median of 0, and the honest best claim is the block."""
    import tempfile

    from offchain.app.deployment import setup_run
    from offchain.miner.claims import ForgedClaims
    from offchain.miner.driver import RoundDriver
    from offchain.miner.strategy import WorkloadStrategy
    from offchain.store import LocalStore

    workload = _workload()
    config = workload.config
    store = LocalStore(tempfile.mkdtemp(prefix="pofl-attack-"))
    a.owner = a.account(10**21)
    *honest, attacker = fresh_signers(a.w3, config.n_miners)
    a.contract = setup_run(a.owner, [*honest, attacker], config, workload, store)
    cid = make_cid(store)
    driver = RoundDriver(a.contract, store, workload.flat, config.architecture, [*honest, attacker],
                         WorkloadStrategy(workload), claims=ForgedClaims(lambda _r: cid, 1.0, frozenset({4})))
    try:
        r = driver.run_round(max_seconds=600).round
    finally:
        driver.close()
    outcomes = {e["args"]["claimant"]: e["args"] for e in a.contract.events("ClaimDecided")
                if e["args"]["round"] == r}
    revealed = {e["args"]["miner"]: e["args"]["accuracyBps"] for e in a.contract.events("Revealed")
                if e["args"]["round"] == r}
    block = a.contract.latest_block()
    best_honest = max(revealed[h.address] for h in honest)
    checks = (outcomes[attacker.address]["outcome"] == expected
              and outcomes[attacker.address]["medianBps"] == 0 and block.round == r
              and revealed.get(block.miner) == best_honest and block.accuracy_bps == outcomes[block.miner]["medianBps"])
    return Outcome(addresses([attacker]), addresses(honest), 1, checks, honest_blocks=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(ATTACKS), help="run only these attacks")
    parser.add_argument("--list", action="store_true", help="list the attacks and exit")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.list:
        print("\n".join(ATTACKS))
        return
    with start_devnet("anvil", accounts=2) as devnet:
        w3 = connect(devnet.rpc_url)
        report = [run(name, w3) for name in (args.only or ATTACKS)]
    emit(report, args.out)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
