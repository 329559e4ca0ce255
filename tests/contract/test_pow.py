"""PoWConsensus on a real Anvil: blocks found off chain under the contract's target, checked on chain, linked by
hash; flexBlock's difficulty rule within its bounds; and every way a block is refused, each by its error."""

from __future__ import annotations

import pytest
from web3 import Web3

from offchain.chain.errors import (
    BlockNotFound,
    PoWInsufficientWork,
    PoWInvalidDifficulty,
    PoWStaleParent,
    StakeAlreadyRegistered,
    StakeNotAMember,
    StakeTooLow,
)
from offchain.chain.pow import PoWContract, PoWSettings
from offchain.chain.powhash import leading_zero_hex
from offchain.store.cid import cid_to_digest
from offchain.testing.accounts import fresh_signers
from offchain.testing.rounds import placeholder_cid
from tests.support.powpos import GENESIS, STAKE, deploy_pos, deploy_pow, increase_time, mine_nonce


def test_a_block_found_off_chain_is_checked_linked_and_rewarded(anvil_w3: Web3) -> None:
    pow_ = deploy_pow(anvil_w3, 2)
    c, miner = pow_.contract, pow_.miners[0]
    genesis = c.latest_block()
    assert genesis.height == 0 and genesis.cid == GENESIS and c.difficulty() == 3  # flexBlock's start
    cid = placeholder_cid("m1")
    nonce = mine_nonce(genesis.block_hash, cid, miner.address, 3)
    increase_time(anvil_w3, 5)
    c.submit_block(miner, genesis.block_hash, cid, nonce).wait()
    block = c.latest_block()
    expected = Web3.keccak(genesis.block_hash + cid_to_digest(cid)[0] + bytes.fromhex(miner.address[2:])
                           + nonce.to_bytes(32, "big"))
    assert (block.height, block.cid, block.maker, block.nonce) == (1, cid, miner.address, nonce)
    assert block.block_hash == expected == c.pow_hash(genesis.block_hash, cid_to_digest(cid)[0], miner.address, nonce)
    assert block.parent_hash == genesis.block_hash and block.difficulty == 3
    assert expected.hex().startswith("000")
    assert c.difficulty() == 2  # five seconds after its parent: one digit fewer
    assert c.pending_rewards(miner.address) == PoWSettings().block_reward
    b = c.balances()
    assert b["balance"] >= b["totalStaked"] + b["rewardPool"] + b["totalPendingRewards"]


@pytest.mark.parametrize("deploy", [deploy_pow, deploy_pos], ids=["pow", "pos"])
def test_a_height_past_the_head_is_refused_by_the_shared_hash_chain(anvil_w3: Web3, deploy) -> None:
    c = deploy(anvil_w3, 1).contract
    genesis = c.block_at(0)
    assert genesis.parent_hash == bytes(32) and c.head_hash() == genesis.block_hash and c.block_count() == 1
    with pytest.raises(BlockNotFound) as caught:
        c.block_at(1)
    assert caught.value.args_by_name == {"height": 1, "count": 1}
    assert "blockCount()" in str(caught.value)  # the NatSpec hint says what to do


def test_difficulty_goes_up_for_blocks_under_a_second_apart_and_stays_within_bounds(anvil_w3: Web3) -> None:
    pow_ = deploy_pow(anvil_w3, 1, PoWSettings(initial_difficulty=2, min_difficulty=1, max_difficulty=3))
    c, miner = pow_.contract, pow_.miners[0]

    def submit_pair_in_one_block() -> None:
        """Two blocks in one EVM block: the second comes 0 s after its parent."""
        anvil_w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        try:
            head, d = c.head_hash(), c.difficulty()
            n1 = mine_nonce(head, placeholder_cid("a"), miner.address, d)
            h1 = c.pow_hash(head, cid_to_digest(placeholder_cid("a"))[0], miner.address, n1)
            # both sent before either is mined: the second names the first's hash, at the difficulty after it
            increase_time(anvil_w3, 3)
            first = c.submit_block(miner, head, placeholder_cid("a"), n1)
            n2 = mine_nonce(h1, placeholder_cid("b"), miner.address, d - 1)  # the first came 3 s late: one fewer
            digest, kind = cid_to_digest(placeholder_cid("b"))
            second = c._send(miner, "submitBlock", h1, digest, kind, n2, gas=300_000)  # not estimable yet
            anvil_w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            first.wait(), second.wait()
        finally:
            anvil_w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]

    submit_pair_in_one_block()  # 2 -> 1 (3 s apart) -> 2 (0 s apart)
    blocks = c.blocks()
    assert [b.difficulty for b in blocks[1:]] == [2, 1] and blocks[1].timestamp == blocks[2].timestamp
    assert c.difficulty() == 2
    for tag in ("c", "d", "e"):  # never below the minimum
        increase_time(anvil_w3, 2)
        head = c.head_hash()
        c.submit_block(miner, head, placeholder_cid(tag), mine_nonce(head, placeholder_cid(tag), miner.address,
                                                                     c.difficulty())).wait()
    assert c.difficulty() == 1 == c.difficulty_bounds()[0]


def test_a_wrong_nonce_is_refused(anvil_w3: Web3) -> None:
    pow_ = deploy_pow(anvil_w3, 1)
    c, miner = pow_.contract, pow_.miners[0]
    head, cid = c.head_hash(), placeholder_cid("m")
    digest = cid_to_digest(cid)[0]
    nonce = next(n for n in range(100) if not c.pow_hash(head, digest, miner.address, n).hex().startswith("000"))
    with pytest.raises(PoWInsufficientWork) as caught:
        c.submit_block(miner, head, cid, nonce).wait()
    assert caught.value.args_by_name["difficulty"] == 3
    # a solution is one for its miner only: another miner's nonce does not carry over
    other = fresh_signers(anvil_w3, 1)[0]
    c.register(other, STAKE).wait()
    good = mine_nonce(head, cid, miner.address, 3)
    if not c.pow_hash(head, digest, other.address, good).hex().startswith("000"):
        with pytest.raises(PoWInsufficientWork):
            c.submit_block(other, head, cid, good).wait()
    assert c.block_count() == 1


def test_a_stale_parent_is_refused_when_another_miner_was_first(anvil_w3: Web3) -> None:
    pow_ = deploy_pow(anvil_w3, 2)
    c, (fast, slow) = pow_.contract, pow_.miners
    genesis = c.head_hash()
    slow_nonce = mine_nonce(genesis, placeholder_cid("slow"), slow.address, 3)
    c.submit_block(fast, genesis, placeholder_cid("fast"),
                   mine_nonce(genesis, placeholder_cid("fast"), fast.address, 3)).wait()
    with pytest.raises(PoWStaleParent) as caught:
        c.submit_block(slow, genesis, placeholder_cid("slow"), slow_nonce).wait()
    assert caught.value.args_by_name == {"head": c.head_hash(), "given": genesis}


def test_only_members_mine_and_membership_is_staked(anvil_w3: Web3) -> None:
    pow_ = deploy_pow(anvil_w3, 1)
    c = pow_.contract
    (outsider,) = fresh_signers(anvil_w3, 1)
    head, cid = c.head_hash(), placeholder_cid("x")
    with pytest.raises(StakeNotAMember):
        c.submit_block(outsider, head, cid, mine_nonce(head, cid, outsider.address, 3)).wait()
    with pytest.raises(StakeTooLow):
        c.register(outsider, PoWSettings().min_stake - 1).wait()
    with pytest.raises(StakeAlreadyRegistered):
        c.register(pow_.miners[0], STAKE).wait()


@pytest.mark.parametrize("bounds", [(0, 0, 3), (3, 4, 5), (5, 1, 4), (3, 1, 65)])
def test_difficulty_bounds_are_checked_at_deployment(anvil_w3: Web3, bounds: tuple[int, int, int]) -> None:
    (owner,) = fresh_signers(anvil_w3, 1)
    initial, low, high = bounds
    with pytest.raises(PoWInvalidDifficulty):
        PoWContract.deploy(owner, GENESIS, PoWSettings(initial_difficulty=initial, min_difficulty=low,
                                                       max_difficulty=high))


def test_leading_zero_hex_counts_as_the_contract_does(anvil_w3: Web3) -> None:
    import numpy as np

    c = deploy_pow(anvil_w3, 0).contract
    hashes = [bytes.fromhex("0" * z + "f" + "1" * (63 - z)) for z in (0, 1, 3, 7, 15)] + [bytes(8) + b"\x01" * 24]
    counted = leading_zero_hex(np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(len(hashes), 32))
    assert counted.tolist() == [0, 1, 3, 7, 15, 16]
    for h, z in zip(hashes, counted.tolist(), strict=True):
        assert c._view("meetsDifficulty", h, z) and (z == 16 or not c._view("meetsDifficulty", h, z + 1))
