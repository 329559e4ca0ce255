"""PoFLScaled (issue 25) on a real Anvil: the Python side agrees with the contract (commitments, EIP-712 claims,
Merkle proofs, the committee's sampling), an honest round makes the best claim the block, every rejection path
raises its own error, the aggregator's attacks (omission, a wrong root, an unsigned claim, a withheld list) each
cost the aggregator and leave the honest best claim the block, and consensus v3's attacks fail here too."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_account.messages import encode_typed_data
from web3 import Web3

from offchain.chain import errors as E
from offchain.chain.accounts import LocalSigner
from offchain.chain.scaled import (
    Leaf,
    MerkleTree,
    ScaledClaim,
    ScaledConfig,
    ScaledConfigField,
    ScaledContract,
    ScaledPenaltyReason,
    ScaledPhase,
    SignedClaim,
    claim_typed_data,
    leaves_of,
    process_proof,
    seat_indices,
    sorted_claims,
)
from offchain.testing.rounds import placeholder_cid
from offchain.testing.scaled_rounds import (
    ScaledFederation,
    finish_round,
    mine,
    play_appeal,
    play_scaled_round,
    register_all,
    seal_claims,
)

STAKE = 10**18
CONFIG = ScaledConfig(seats=4, top_k=3, min_stake=STAKE, bond=10**17, block_reward=10**16)


def federation(w3: Web3, funded: Callable[..., list[LocalSigner]], n: int = 5,
               config: ScaledConfig = CONFIG) -> ScaledFederation:
    """A fresh PoFLScaled with ``n`` registered miners (one round played: round 1 opened with none, so the
    rounds under test have an aggregator drawn among them)."""
    owner, *miners = funded(n + 1)
    contract, _ = ScaledContract.deploy(owner, config, placeholder_cid("genesis"), reward_pool=10**19,
                                        deployments_dir=None)
    register_all(contract, miners, STAKE)
    fed = ScaledFederation(contract, owner, miners)
    fed.advance_past(contract.round_info().deadline)  # round 1: nobody posts, no candidate
    fed.advance_past(contract.round_info().deadline)
    contract.finalize(owner).wait()
    return fed


def truthful(truth: dict[str, int]) -> Callable[[LocalSigner, object], int]:
    return lambda _seat, cand: truth[cand.miner]  # type: ignore[attr-defined]


def penalties(fed: ScaledFederation, since: int) -> list[tuple[str, ScaledPenaltyReason]]:
    return [(e["args"]["miner"], ScaledPenaltyReason(e["args"]["reason"]))
            for e in fed.contract.events("Penalized", from_block=since)]


@pytest.fixture
def fed(anvil_w3: Web3, funded: Callable[..., list[LocalSigner]]) -> ScaledFederation:
    return federation(anvil_w3, funded)


# ------------------------------------------------------------------ the Python side agrees with the contract


def test_python_commitment_claim_digest_leaf_and_sampling_agree_with_the_contract(fed: ScaledFederation) -> None:
    c = fed.contract
    miner = fed.miners[0]
    claim = ScaledClaim.seal(7, placeholder_cid("m"), 8123, miner.address)
    assert c.commitment_on_chain(claim) == claim.commitment
    typed = claim_typed_data(c.chain_id, c.address, 7, miner.address, 8123, claim.commitment)
    message = encode_typed_data(full_message=typed)
    assert c.claim_digest_on_chain(claim) == Web3.keccak(b"\x19\x01" + message.header + message.body)
    signed = c.sign_claim(miner, claim)
    other = c.sign_claim(fed.miners[1], ScaledClaim.seal(7, claim.cid, 8123, fed.miners[1].address))
    forged = SignedClaim(7, miner.address, 8123, claim.commitment, other.signature)  # not its miner's signature
    assert c.verify_claim(signed) and not c.verify_claim(forged)
    leaves = [Leaf(i, m.address, 9000 - i, bytes([i + 1]) * 32) for i, m in enumerate(fed.miners)]
    for leaf in leaves:
        assert c.leaf_hash_on_chain(7, leaf) == MerkleTree.of_leaves(7, [leaf]).root
    tree = MerkleTree.of_leaves(7, leaves)
    assert all(process_proof(tree.proof(i), tree.levels[0][i]) == tree.root for i in range(len(leaves)))
    # the committee: the contract's seatIndex is the Python permutation; seats are distinct indices
    truth = {m.address: 7000 + 100 * i for i, m in enumerate(fed.miners)}
    sealed = seal_claims(c.round_info().round, truth)
    c.post_root(fed.by_address[c.round_info().aggregator], c.round_info().round,
                [c.sign_claim(fed.by_address[a], cl) for a, cl in sealed.items()]).wait()
    fed.advance_past(c.round_info().deadline)
    r = c.round_info().round
    wait = [c.reveal(fed.by_address[cand.miner], r, i, sealed[cand.miner]) for i, cand in enumerate(c.candidates())]
    [p.wait() for p in wait]
    mine(fed.w3, 2)
    c.advance(fed.caller).wait()
    info = c.round_info()
    assert info.phase == ScaledPhase.VOTE and info.seats == 4
    python = seat_indices(info.seed, info.population, info.seats)
    assert python == [c.seat_index_on_chain(j) for j in range(info.seats)] and len(set(python)) == info.seats
    assert sorted(seat_indices(b"\x42" * 32, 300, 300)) == list(range(300))  # a permutation of every index


def test_the_claim_list_rides_in_the_blob_and_decodes_back(fed: ScaledFederation) -> None:
    from offchain.chain.blobs import BLOB_CAPACITY, BlobTooLarge, pack_blob
    from offchain.chain.scaled import decode_claim_list, encode_claim_list

    c = fed.contract
    r = c.round_info().round
    signed = [c.sign_claim(m, cl) for m, cl in zip(fed.miners, seal_claims(
        r, {m.address: 7000 + i for i, m in enumerate(fed.miners)}).values(), strict=True)]
    ordered = sorted_claims(signed)
    assert decode_claim_list(r, encode_claim_list(ordered)) == ordered
    posting = c.post_root(fed.by_address[c.round_info().aggregator], r, signed)
    receipt = posting.wait()
    tx = fed.w3.eth.get_transaction(receipt["transactionHash"])
    assert bytes(tx["blobVersionedHashes"][0]) == c.round_info().list_blob != bytes(32)
    with pytest.raises(BlobTooLarge):
        pack_blob(b"\x01" * (BLOB_CAPACITY + 1))


# ------------------------------------------------------------------ an honest round


def test_an_honest_round_makes_the_best_claim_the_block_and_pays_it(fed: ScaledFederation) -> None:
    c = fed.contract
    truth = {m.address: 7000 + 300 * i for i, m in enumerate(fed.miners)}
    best = max(truth, key=truth.__getitem__)
    since = fed.w3.eth.block_number + 1
    result = play_scaled_round(fed, truth, truthful(truth))
    block = c.latest_block()
    assert (block.round, block.miner, block.accuracy_bps) == (result.round_id, best, truth[best])
    assert block.cid == result.claims[best].cid
    assert c.pending_rewards(best) == CONFIG.block_reward and penalties(fed, since) == []
    assert c.round_info().round == result.round_id + 1 and c.round_info().phase == ScaledPhase.CLAIMS


# ------------------------------------------------------------------ every rejection path


def test_membership_rejections(anvil_w3: Web3, funded: Callable[..., list[LocalSigner]]) -> None:
    owner, a, b = funded(3)
    with pytest.raises(E.ScaledInvalidConfig) as bad:
        ScaledContract.deploy(owner, ScaledConfig(seats=0), placeholder_cid("g"), deployments_dir=None)
    assert bad.value.args_by_name["field"] == ScaledConfigField.SEATS
    with pytest.raises(E.ScaledInvalidConfig):
        ScaledContract.deploy(owner, ScaledConfig(top_k=13), placeholder_cid("g"), deployments_dir=None)
    c, _ = ScaledContract.deploy(owner, CONFIG, placeholder_cid("g"), deployments_dir=None)
    with pytest.raises(E.ScaledStakeTooLow):
        c.register(a, STAKE - 1)
    c.register(a, STAKE).wait()
    with pytest.raises(E.ScaledAlreadyRegistered):
        c.register(a, STAKE)
    with pytest.raises(E.ScaledNotAMiner):
        c.leave(b)
    with pytest.raises(E.ScaledNotAMiner):
        c.add_stake(b, 1)
    with pytest.raises(E.ScaledZeroValue):
        c.add_stake(a, 0)
    c.add_stake(a, 5).wait()
    assert c.stake_of(a.address) == STAKE + 5 and c.balances()["totalStaked"] == STAKE + 5
    with pytest.raises(E.ScaledZeroValue):
        c.fund_rewards(b, 0)
    with pytest.raises(E.ScaledNothingToWithdraw):
        c.withdraw_rewards(b)
    with pytest.raises(E.ScaledBlockNotFound):
        c.block_at(1)
    before = anvil_w3.eth.get_balance(a.address)
    c.leave(a).wait()  # in the Claims phase: the stake comes back, the last miner takes the index
    assert anvil_w3.eth.get_balance(a.address) > before + STAKE * 99 // 100 and c.miner_count() == 0
    assert c.balances() == {"balance": 0, "totalStaked": 0, "rewardPool": 0, "totalPendingRewards": 0}


def test_root_and_direct_commit_rejections(fed: ScaledFederation) -> None:
    c = fed.contract
    info = c.round_info()
    r = info.round
    aggregator = fed.by_address[info.aggregator]
    other = next(m for m in fed.miners if m is not aggregator)
    sealed = seal_claims(r, {m.address: 7000 + i for i, m in enumerate(fed.miners)})
    signed = [c.sign_claim(fed.by_address[a], cl) for a, cl in sealed.items()]
    with pytest.raises(E.ScaledNotAggregator):
        c.post_root(other, r, signed)
    with pytest.raises(E.ScaledWrongRound):
        c.post_root(aggregator, r + 1, signed, verify=False)
    with pytest.raises(E.ScaledListMissing):  # the same call without its blob
        leaves = leaves_of(sorted_claims(signed))
        tree = MerkleTree.of_leaves(r, leaves)
        c._send(aggregator, "postRoot", r, tree.root, len(leaves), [c._leaf(x) for x in leaves[:3]],
                [tree.proof(i) for i in range(3)])
    with pytest.raises(E.ScaledBadRoot):
        c.post_root(aggregator, r, signed, count=2)  # fewer than the top leaves
    with pytest.raises(E.ScaledBadLeaf):
        c.post_root(aggregator, r, list(reversed(sorted_claims(signed))), presorted=True)  # out of order
    with pytest.raises(E.ScaledWrongPhase):
        c.commit_direct(other, sealed[other.address])
    with pytest.raises(E.ScaledWrongPhase):  # fraud proofs belong to the forced window
        leaf = leaves_of(sorted_claims(signed))[0]
        c._send(other, "proveOutOfRange", r, c._leaf(leaf), [])
    posting = c.post_root(aggregator, r, signed)
    posting.wait()
    leaves = leaves_of(posting.claims)
    with pytest.raises(E.ScaledNoFraud):
        c.prove_misordered(other, r, posting.tree, leaves[0], leaves[1])
    for leaf in leaves:  # every Python proof of the 5-leaf tree (odd levels included) verifies on chain
        with pytest.raises(E.ScaledNoFraud):
            c.prove_out_of_range(other, r, posting.tree, leaf)
    with pytest.raises(E.ScaledNotInRoot):
        forged = Leaf(0, leaves[0].miner, 10_000, leaves[0].commitment)
        c._send(other, "proveOutOfRange", r, c._leaf(forged), posting.tree.proof(0))
    claim = sealed[other.address]
    with pytest.raises(E.ScaledEmptyCommitment):
        c._send(other, "commitDirect", r, 7000, bytes(32))
    with pytest.raises(E.ScaledAccuracyOutOfRange):
        c._send(other, "commitDirect", r, 10_001, claim.commitment)
    c.commit_direct(other, claim).wait()
    with pytest.raises(E.ScaledAlreadyCommitted):
        c.commit_direct(other, claim)
    lows = [m for m in fed.miners if m is not other][:3]
    for m in lows[:2]:
        c.commit_direct(m, ScaledClaim.seal(r, placeholder_cid(f"d{m.address}"), 9000, m.address)).wait()
    with pytest.raises(E.ScaledClaimTooLow):  # the K = 3 best direct commits are full and all higher
        c.commit_direct(lows[2], ScaledClaim.seal(r, placeholder_cid("low"), 100, lows[2].address))
    with pytest.raises(E.ScaledNotAMiner):
        c.commit_direct(fed.caller, ScaledClaim.seal(r, placeholder_cid("x"), 100, fed.caller.address))


def test_reveal_signature_and_vote_rejections(fed: ScaledFederation) -> None:
    c = fed.contract
    truth = {m.address: 7000 + 300 * i for i, m in enumerate(fed.miners)}
    play_scaled_round(fed, truth, truthful(truth))  # a block whose digest a later copy will reuse
    copied = c.latest_block()
    r = c.round_info().round
    sealed = seal_claims(r, truth, tag="x")
    copier = fed.miners[0]  # reveals, as its claim, the digest of the last block
    sealed[copier.address] = ScaledClaim.seal(r, copied.cid, 9900, copier.address)
    c.post_root(fed.by_address[c.round_info().aggregator], r,
                [c.sign_claim(fed.by_address[a], cl) for a, cl in sealed.items()]).wait()
    fed.advance_past(c.round_info().deadline)
    cands = c.candidates()
    assert cands[0].miner == copier.address
    owner_of = {cand.miner: i for i, cand in enumerate(cands)}
    with pytest.raises(E.ScaledDigestUsed):  # a copy of a revealed model is never a new block
        c.reveal(copier, r, 0, sealed[copier.address])
    second = fed.by_address[cands[1].miner]
    with pytest.raises(E.ScaledNotACandidate):
        c.reveal(second, r, 0, sealed[second.address])
    with pytest.raises(E.ScaledNotACandidate):
        c.reveal(second, r, 7, sealed[second.address])
    with pytest.raises(E.ScaledRevealMismatch):
        c.reveal(second, r, 1, ScaledClaim.seal(r, placeholder_cid("other"), 1, second.address))
    with pytest.raises(E.ScaledEmptyDigest):
        c._send(second, "reveal", r, 1, bytes(32), 0, b"\x01" * 32)
    with pytest.raises(E.ScaledBadSignature):  # the copier's claim signed by someone else
        c.show_signature(second, r, 0, c.sign_claim(second, ScaledClaim.seal(r, copied.cid, 9900,
                                                                             second.address)).signature)
    c.show_signature(second, r, 0, c.sign_claim(copier, sealed[copier.address]).signature).wait()
    c.reveal(second, r, owner_of[second.address], sealed[second.address]).wait()
    with pytest.raises(E.ScaledAlreadyRevealed):
        c.reveal(second, r, owner_of[second.address], sealed[second.address])
    third = fed.by_address[cands[2].miner]
    c.reveal(third, r, 2, sealed[third.address]).wait()
    fed.advance_past(c.round_info().deadline)  # the copier never reveals: the reveals end by the clock
    info = c.round_info()
    with pytest.raises(E.ScaledSeedPending):
        c.vote(third, r, 0, [None, 8000, 8000])
    mine(fed.w3, 2)
    c.advance(fed.caller).wait()
    seats = c.seats()
    outsider = next(m for m in fed.miners if m.address not in seats)
    with pytest.raises(E.ScaledNotInCommittee):
        c.vote(outsider, r, 0, [None, 8000, 8000])
    with pytest.raises(E.ScaledNotInCommittee):
        c.vote(fed.by_address[seats[0]], r, info.seats, [None, 8000, 8000])
    seat0 = fed.by_address[seats[0]]
    with pytest.raises(E.ScaledAccuracyOutOfRange):
        c.vote(seat0, r, 0, [None, 10_001, 8000])
    c.vote(seat0, r, 0, [None, truth[cands[1].miner], truth[cands[2].miner]]).wait()
    with pytest.raises(E.ScaledAlreadyVoted):
        c.vote(seat0, r, 0, [None, 8000, 8000])
    since = fed.w3.eth.block_number
    for j, a in enumerate(seats[1:], start=1):
        c.vote(fed.by_address[a], r, j, [None if cand.miner == a or not cand.revealed else truth[cand.miner]
                                         for cand in c.candidates()]).wait()
    fed.advance_past(c.round_info().deadline)  # the vote window runs to its deadline
    c.finalize(fed.caller).wait()
    # the copier signed its claim and did not reveal: it pays the bond (its signature was shown), not the poster
    assert (copier.address, ScaledPenaltyReason.MISSED_REVEAL) in penalties(fed, since)
    assert c.latest_block().miner == max((cands[1].miner, cands[2].miner), key=truth.__getitem__)


# ------------------------------------------------------------------ the aggregator's attacks


def test_omission_is_pointless_the_left_out_best_claim_commits_directly_and_wins(fed: ScaledFederation) -> None:
    """The aggregator leaves the best claim out of its root; its miner commits directly in the forced window,
    competes with the root's top and becomes the block: the aggregator gains nothing by omitting."""
    c = fed.contract
    truth = {m.address: 7000 + 300 * i for i, m in enumerate(fed.miners)}
    best = max(truth, key=truth.__getitem__)
    aggregator = c.round_info().aggregator
    if aggregator == best:  # the omitter must be another miner: let the best be the second best's claim
        truth[aggregator], truth[fed.miners[0].address] = truth[fed.miners[0].address], truth[aggregator]
        best = max(truth, key=truth.__getitem__)
    result = play_scaled_round(fed, truth, truthful(truth), posted=[a for a in truth if a != best], direct=[best])
    assert c.latest_block().miner == best and c.latest_block().round == result.round_id
    assert c.pending_rewards(aggregator) == 0


def test_a_misordered_root_is_proven_the_poster_slashed_and_the_round_falls_back(fed: ScaledFederation) -> None:
    """The aggregator demotes the best claim to the bottom of its sorted list (out of the top K): the best
    miner proves it with two leaves and their branches. The poster loses its whole stake (half to the prover) and
    is evicted, the root is dropped, and the round goes on with direct commits: the best claim is the block."""
    c = fed.contract
    r = c.round_info().round
    aggregator = fed.by_address[c.round_info().aggregator]
    truth = {m.address: 7000 + 300 * i for i, m in enumerate(fed.miners) if m is not aggregator}
    best = max(truth, key=truth.__getitem__)
    sealed = seal_claims(r, truth)
    ordered = sorted_claims([c.sign_claim(fed.by_address[a], cl) for a, cl in sealed.items()])
    ordered.append(ordered.pop(0))  # the best last
    posting = c.post_root(aggregator, r, ordered, presorted=True)
    posting.wait()
    leaves = leaves_of(posting.claims)
    since = fed.w3.eth.block_number
    stake = c.stake_of(aggregator.address)
    prover = fed.by_address[best]
    c.prove_misordered(prover, r, posting.tree, leaves[0], leaves[-1]).wait()
    assert c.miner_of(aggregator.address) == (0, 0, False)  # slashed whole and evicted
    assert c.pending_rewards(best) == stake // 2
    assert penalties(fed, since) == [(aggregator.address, ScaledPenaltyReason.WRONG_ROOT)]
    info = c.round_info()
    assert info.phase == ScaledPhase.FORCED and info.root == bytes(32) and info.root_count == 0
    with pytest.raises(E.ScaledNoRoot):  # the root is gone: nothing to prove against
        c.prove_misordered(prover, r, posting.tree, leaves[0], leaves[-1])
    wait = [c.commit_direct(fed.by_address[a], cl) for a, cl in sealed.items()]
    [p.wait() for p in wait]
    finish_round(fed, sealed, truthful(truth))
    assert c.latest_block().miner == best and c.latest_block().round == r


def test_a_root_past_its_count_is_proven_and_slashed(fed: ScaledFederation) -> None:
    """A root posted with a count under its number of leaves (a list that does not match its root): any leaf
    past the count proves it."""
    c = fed.contract
    r = c.round_info().round
    aggregator = fed.by_address[c.round_info().aggregator]
    sealed = seal_claims(r, {m.address: 7000 + 10 * i for i, m in enumerate(fed.miners)})
    posting = c.post_root(aggregator, r, [c.sign_claim(fed.by_address[a], cl) for a, cl in sealed.items()], count=3)
    posting.wait()
    c.prove_out_of_range(fed.caller, r, posting.tree, leaves_of(posting.claims)[4]).wait()
    assert c.stake_of(aggregator.address) == 0 and c.round_info().phase == ScaledPhase.FORCED


def test_an_unsigned_top_claim_costs_the_poster_its_stake_not_the_framed_miner(fed: ScaledFederation) -> None:
    """The aggregator puts a claim at the top that its miner never signed (framing it: a candidate that does not
    reveal owes a bond). Nobody can show the miner's signature, so at finalize the poster loses its whole stake;
    the framed miner pays nothing and the honest best claim is the block."""
    c = fed.contract
    r = c.round_info().round
    aggregator = fed.by_address[c.round_info().aggregator]
    framed = next(m for m in fed.miners if m is not aggregator)
    truth = {m.address: 7000 + 300 * i for i, m in enumerate(fed.miners)}
    sealed = seal_claims(r, truth)
    signed = [c.sign_claim(fed.by_address[a], cl) for a, cl in sealed.items() if a != framed.address]
    fake = ScaledClaim.seal(r, placeholder_cid("fake"), 9999, framed.address)
    forged = c.sign_claim(aggregator, ScaledClaim.seal(r, fake.cid, 9999, aggregator.address, fake.salt))
    signed.append(SignedClaim(r, framed.address, 9999, fake.commitment, forged.signature))
    c.post_root(aggregator, r, signed, verify=False).wait()
    since = fed.w3.eth.block_number
    honest = {a: cl for a, cl in sealed.items() if a != framed.address}
    finish_round(fed, honest, truthful(truth))
    assert (aggregator.address, ScaledPenaltyReason.UNSIGNED_CLAIM) in penalties(fed, since)
    assert framed.address not in {m for m, _ in penalties(fed, since)}
    assert c.stake_of(framed.address) == STAKE and not c.miner_of(aggregator.address)[2]
    best = max(honest, key=truth.__getitem__)
    assert c.latest_block().miner == best and c.latest_block().round == r


def test_a_withheld_list_costs_the_aggregator_its_bond_and_a_fallback_posts(fed: ScaledFederation) -> None:
    """An aggregator that withholds the list cannot post a root at all (postRoot needs the blob); once its
    window passes any miner posts, and the drawn aggregator forfeits its bond. The honest best is the block."""
    c = fed.contract
    info = c.round_info()
    aggregator = info.aggregator
    fallback = next(m for m in fed.miners if m.address != aggregator)
    others = [m.address for m in fed.miners if m.address != aggregator]
    # the absent aggregator's own claim is in the top K (second best): its bond is taken after the leaves are
    # checked, so the eviction that follows does not make the fallback's root refused
    truth = {a: 7000 + 300 * i for i, a in enumerate(others)} | {aggregator: 7000 + 300 * len(others) - 150}
    increase = info.opened_at + CONFIG.aggregator_duration
    from offchain.testing.scaled_rounds import increase_time

    increase_time(fed.w3, increase)
    mine(fed.w3, 1)  # the aggregator's window is over (estimates run against the latest block)
    since = fed.w3.eth.block_number
    play_scaled_round(fed, truth, truthful(truth), poster=fallback)
    assert (aggregator, ScaledPenaltyReason.AGGREGATOR_ABSENT) in penalties(fed, since)
    assert c.stake_of(aggregator) in (0, STAKE - CONFIG.bond)  # evicted under minStake, or kept the rest
    assert c.latest_block().miner == max(truth, key=truth.__getitem__)


# ------------------------------------------------------------------ consensus v3's attacks, scaled


def test_a_minority_of_seats_can_neither_reject_the_honest_best_nor_pass_a_false_claim(
        fed: ScaledFederation) -> None:
    """One of four seats under-reports every candidate to 0: the honest best is still accepted. Then a false top
    claim (9,900, worth 1,000) with one seat vouching for it: rejected, its miner slashed whole; the honest next
    best is the block; the lying seats pay the misreport penalty."""
    c = fed.contract
    truth = {m.address: 7000 + 300 * i for i, m in enumerate(fed.miners)}
    best = max(truth, key=truth.__getitem__)
    liar: list[str] = []

    def under(seat: LocalSigner, cand: object) -> int:
        if not liar:
            liar.append(next(a for a in c.seats() if a != best))
        return 0 if seat.address == liar[0] else truth[cand.miner]  # type: ignore[attr-defined]

    since = fed.w3.eth.block_number
    play_scaled_round(fed, truth, under, tag="a")
    assert c.latest_block().miner == best
    assert (liar[0], ScaledPenaltyReason.MISREPORT) in penalties(fed, since)

    truth = {a: bps for a, bps in truth.items() if c.miner_of(a)[2]}  # the liar was evicted (under minStake)
    false_claimer = next(a for a in truth if a != best)
    claims = dict(truth, **{false_claimer: 9900})
    accomplice: list[str] = []

    def vouch(seat: LocalSigner, cand: object) -> int:
        if not accomplice:
            accomplice.append(next(a for a in c.seats() if a != false_claimer))
        if cand.miner == false_claimer:  # type: ignore[attr-defined]
            return 9900 if seat.address == accomplice[0] else 1000
        return truth[cand.miner]  # type: ignore[attr-defined]

    since = fed.w3.eth.block_number
    play_scaled_round(fed, claims, vouch, tag="b")
    assert (false_claimer, ScaledPenaltyReason.FALSE_CLAIM) in penalties(fed, since)
    assert not c.miner_of(false_claimer)[2] and c.latest_block().miner == best


def test_a_seat_that_does_not_vote_and_a_direct_commit_not_revealed_forfeit_their_bonds(
        fed: ScaledFederation) -> None:
    c = fed.contract
    truth = {m.address: 7000 + 300 * i for i, m in enumerate(fed.miners)}
    best = max(truth, key=truth.__getitem__)
    lazy: list[str] = []

    def measure(seat: LocalSigner, cand: object) -> int:
        return truth[cand.miner]  # type: ignore[attr-defined]

    r = c.round_info().round
    sealed = seal_claims(r, truth)
    c.post_root(fed.by_address[c.round_info().aggregator], r,
                [c.sign_claim(fed.by_address[a], cl) for a, cl in sealed.items() if a != best]).wait()
    c.commit_direct(fed.by_address[best], sealed[best]).wait()
    since = fed.w3.eth.block_number
    fed.advance_past(c.round_info().deadline)
    others = {a: cl for a, cl in sealed.items() if a != best}
    from offchain.testing.scaled_rounds import _reveal, _vote

    gas: dict[str, list[int]] = {"reveal": [], "vote": []}
    _reveal(fed, r, others, None, gas)  # the direct committer does not reveal
    mine(fed.w3, 2)
    c.advance(fed.caller).wait()
    lazy.append(c.seats()[0])
    _vote(fed, r, measure, set(c.seats()) - set(lazy), gas)
    fed.advance_past(c.round_info().deadline)
    c.finalize(fed.caller).wait()
    if c.round_info().phase == ScaledPhase.APPEAL:  # a candidate short of the quorum (three reports at most) goes
        play_appeal(fed, measure)                     # to appeal; the jury reports the truth
        c.finalize(fed.caller).wait()
    paid = penalties(fed, since)
    assert (best, ScaledPenaltyReason.MISSED_REVEAL) in paid and (lazy[0], ScaledPenaltyReason.MISSED_VOTE) in paid
    assert c.round_info().round == r + 1 and c.latest_block().miner != best
