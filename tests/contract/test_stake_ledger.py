"""The StakeLedger and the Treasury books that PoW and PoS share, on a real Anvil: every way a member's money
is refused, each by its error, for both contracts; and the PoW/PoS refusals of an empty model or configuration
that their own tests do not reach."""

from __future__ import annotations

import pytest
from web3 import Web3

from offchain.chain.errors import (
    PoSEmptyDigest,
    PoSInvalidConfig,
    PoSNoWeight,
    PoSSlotsExhausted,
    PoWEmptyDigest,
    StakeNothingToWithdraw,
    StakeTooManyMembers,
    StakeZeroValue,
)
from offchain.chain.pos import PoSContract, PoSSettings
from offchain.chain.pow import PoWContract
from offchain.chain.tx import wait_all
from offchain.store.cid import CidKind, cid_from_digest
from offchain.testing.accounts import FUNDED_WEI, fresh_signers
from tests.support.powpos import GENESIS, STAKE, deploy_pos, deploy_pow

EMPTY_CID = cid_from_digest(bytes(32), CidKind.V0_DAG_PB)  # a well-formed CID whose digest is zero


@pytest.mark.parametrize("deploy", [deploy_pow, deploy_pos], ids=["pow", "pos"])
def test_zero_value_and_an_empty_withdrawal_are_refused_and_the_books_balance(anvil_w3: Web3, deploy) -> None:
    d = deploy(anvil_w3, 1)
    c, member = d.contract, (d.miners if hasattr(d, "miners") else d.members)[0]
    with pytest.raises(StakeZeroValue):
        c.add_stake(member, 0).wait()
    with pytest.raises(StakeZeroValue):
        c.fund_rewards(member, 0).wait()
    with pytest.raises(StakeNothingToWithdraw) as caught:
        c.withdraw_rewards(member).wait()
    assert caught.value.args_by_name == {"account": member.address}
    c.add_stake(member, 5).wait()
    c.fund_rewards(member, 7).wait()
    b = c.balances()
    assert c.stake_of(member.address) == STAKE + 5 and b["totalStaked"] == STAKE + 5
    assert b["balance"] == b["totalStaked"] + b["rewardPool"] + b["totalPendingRewards"]


def test_a_full_member_set_refuses_one_more(anvil_w3: Web3) -> None:
    """PoW caps its members at 255, as PoFL caps its miners."""
    c = deploy_pow(anvil_w3, 0).contract
    members = fresh_signers(anvil_w3, 256, STAKE + FUNDED_WEI)
    wait_all([c.register(m, STAKE) for m in members[:255]])
    with pytest.raises(StakeTooManyMembers) as caught:
        c.register(members[255], STAKE).wait()
    assert caught.value.args_by_name == {"maximum": 255}
    c.leave(members[0]).wait()
    c.register(members[255], STAKE).wait()  # a member that left frees its place
    assert len(c.members()) == 255


@pytest.mark.soak  # 1,026 registrations: ~30 s
def test_pos_slots_are_never_reused_and_run_out(anvil_w3: Web3) -> None:
    c = deploy_pos(anvil_w3, 0).contract
    limit = c.contract.functions.MAX_SLOTS().call()
    members = fresh_signers(anvil_w3, limit + 2, STAKE + FUNDED_WEI)
    wait_all([c.register(m, STAKE) for m in members[:limit]])
    with pytest.raises(StakeTooManyMembers):
        c.register(members[limit], STAKE).wait()
    c.leave(members[0]).wait()
    with pytest.raises(PoSSlotsExhausted) as caught:  # a place is free, but every slot of the draw was used
        c.register(members[limit], STAKE).wait()
    assert caught.value.args_by_name == {"maximum": limit}


def test_pos_without_members_cannot_draw(anvil_w3: Web3) -> None:
    pos = deploy_pos(anvil_w3, 0)
    anvil_w3.provider.make_request("anvil_mine", [hex(2)])  # past the seed block
    with pytest.raises(PoSNoWeight):
        pos.contract.draw(pos.owner).wait()


def test_an_empty_model_is_refused_at_deployment_and_in_a_block(anvil_w3: Web3) -> None:
    (owner,) = fresh_signers(anvil_w3, 1)
    with pytest.raises(PoWEmptyDigest):
        PoWContract.deploy(owner, EMPTY_CID)
    with pytest.raises(PoSEmptyDigest):
        PoSContract.deploy(owner, EMPTY_CID)
    pow_ = deploy_pow(anvil_w3, 1)
    with pytest.raises(PoWEmptyDigest):
        pow_.contract.submit_block(pow_.miners[0], pow_.contract.head_hash(), EMPTY_CID, 0).wait()


@pytest.mark.parametrize("bad", [{"initial_weight": 0}, {"seed_lookahead": 0}, {"seed_lookahead": 129},
                                 {"quorum": 0}, {"propose_seconds": 0}, {"attest_seconds": 0}],
                         ids=lambda b: next(iter(b)))
def test_pos_refuses_a_configuration_it_cannot_run(anvil_w3: Web3, bad: dict[str, int]) -> None:
    (owner,) = fresh_signers(anvil_w3, 1)
    with pytest.raises(PoSInvalidConfig):
        PoSContract.deploy(owner, GENESIS, PoSSettings(**bad))
