"""Every custom error of PoFLConsensus, triggered for real on Anvil and decoded in Python with its NatSpec hint
(the decoder's own checks, which need no chain: tests/unit/test_chain_errors.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from web3 import Web3

from offchain.chain import errors as E
from offchain.chain.commitment import SealedClaim
from offchain.chain.consensus import ZERO_ADDRESS, PoFLContract
from offchain.chain.deploy import load_artifact
from offchain.chain.errors import ErrorDecoder
from offchain.chain.tx import send, wait_all
from offchain.chain.types import ENUMS, ConfigField, Phase, encode_struct
from offchain.errors import PoflValueError
from offchain.store.cid import cid_to_digest
from offchain.testing.rounds import commit_claims, draw_committee, increase_time, reveal_claims
from tests.support.accounts import Funded
from tests.support.contracts import (
    BASE_CONFIG,
    GENESIS_CID,
    MISS_BOND,
    STAKE,
    Deployed,
    cid_of,
    deploy_with_miners,
    ladder,
)

ROUND = 1
SALT = b"\x07" * 32


def test_not_owner_and_two_step_ownership(d5: Deployed) -> None:
    c, owner, newcomer = d5.contract, d5.owner, d5.miners[0]
    with pytest.raises(E.OwnableUnauthorizedAccount, match="not authorized") as info:
        c.set_block_reward(newcomer, 1)
    assert info.value.args_by_name == {"account": newcomer.address}
    c.transfer_ownership(owner, newcomer.address).wait()
    assert c.owner() == owner.address and c.pending_owner() == newcomer.address  # step 1 hands nothing over
    with pytest.raises(E.OwnableUnauthorizedAccount):
        c.accept_ownership(d5.miners[1])
    c.accept_ownership(newcomer).wait()
    assert c.owner() == newcomer.address
    with pytest.raises(E.OwnableUnauthorizedAccount):
        c.set_block_reward(owner, 1)


INVALID = [("threshold_bps", 10001, ConfigField.THRESHOLD_BPS), ("tolerance_bps", 1001, ConfigField.TOLERANCE_BPS),
           ("quorum_bps", 5000, ConfigField.QUORUM_BPS), ("quorum_bps", 6667, ConfigField.QUORUM_BPS),
           ("min_committee", 0, ConfigField.MIN_COMMITTEE), ("committee_size", 2, ConfigField.COMMITTEE_SIZE),
           ("commit_duration", 0, ConfigField.DURATION), ("validation_duration", 0, ConfigField.DURATION),
           ("seed_lookahead", 0, ConfigField.SEED_LOOKAHEAD), ("seed_lookahead", 129, ConfigField.SEED_LOOKAHEAD),
           ("min_stake", 0, ConfigField.MIN_STAKE), ("miss_bond", 0, ConfigField.MISS_BOND),
           ("miss_bond", STAKE + 1, ConfigField.MISS_BOND),
           ("misreport_penalty_bps", 10001, ConfigField.MISREPORT_PENALTY_BPS),
           ("eval_set_hash", b"\0" * 32, ConfigField.EVAL_SET_HASH),
           ("architecture_id", b"\0" * 32, ConfigField.ARCHITECTURE_ID)]


@pytest.mark.parametrize(("field", "value", "expected"), INVALID)
def test_invalid_config_at_deploy(anvil_w3: Web3, funded: Funded, field: str, value: object,
                                  expected: ConfigField) -> None:
    with pytest.raises(E.PoFLInvalidConfig) as info:
        PoFLContract.deploy(funded(1)[0], replace(BASE_CONFIG, **{field: value}), GENESIS_CID,
                            deployments_dir=None)
    assert info.value.args_by_name == {"field": expected}
    assert f"field=ConfigField.{expected.name}" in str(info.value)


def test_invalid_config_in_setters(d5: Deployed) -> None:
    c, owner = d5.contract, d5.owner
    cases = [(lambda: c.set_phase_durations(owner, 0, 1, 1), ConfigField.DURATION),
             (lambda: c.set_validation(owner, 100, 10001, 0, 3), ConfigField.QUORUM_BPS),
             (lambda: c.set_validation(owner, 5000, 6000, 0, 3), ConfigField.TOLERANCE_BPS),
             (lambda: c.set_validation(owner, 100, 6000, 0, 0), ConfigField.MIN_COMMITTEE),
             (lambda: c.set_penalties(owner, 0, 100), ConfigField.MISS_BOND),
             (lambda: c.set_penalties(owner, MISS_BOND, 10001), ConfigField.MISREPORT_PENALTY_BPS)]
    for action, field in cases:
        with pytest.raises(E.PoFLInvalidConfig) as info:
            action()
        assert info.value.args_by_name == {"field": field}


def test_empty_genesis_digest(anvil_w3: Web3, funded: Funded) -> None:
    # the client refuses what is not a CID; the contract refuses a zero digest
    (owner,) = funded(1)
    with pytest.raises(PoflValueError):
        PoFLContract.deploy(owner, BASE_CONFIG, "not-a-cid-at-all", deployments_dir=None)
    artifact = load_artifact("PoFLConsensus")
    factory = anvil_w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    constructor = next(e for e in artifact["abi"] if e["type"] == "constructor")
    args = (encode_struct(BASE_CONFIG, constructor["inputs"][0]["components"]), b"\0" * 32, 0, ZERO_ADDRESS)
    with pytest.raises(E.PoFLEmptyDigest):
        send(owner, factory.constructor(*args), ErrorDecoder.from_artifact(artifact, ENUMS))


def test_registration_errors(anvil_w3: Web3, funded: Funded) -> None:
    d = deploy_with_miners(anvil_w3, 2)
    with pytest.raises(E.PoFLAlreadyRegistered):
        d.contract.register(d.miners[0], STAKE)
    (newcomer,) = funded(1)
    with pytest.raises(E.PoFLStakeTooLow) as info:
        d.contract.register(newcomer, STAKE - 1)
    assert info.value.args_by_name == {"sent": STAKE - 1, "required": STAKE}
    with pytest.raises(E.PoFLNotAMiner):
        d.contract.commit(newcomer, ROUND, b"\1" * 32)
    with pytest.raises(E.PoFLNotAMiner):
        d.contract.add_stake(newcomer, 1)
    with pytest.raises(E.PoFLNotAMiner):
        d.contract.leave(newcomer)
    with pytest.raises(E.PoFLZeroValue):
        d.contract.add_stake(d.miners[0], 0)
    with pytest.raises(E.PoFLZeroValue):
        d.contract.fund_rewards(d.owner, 0)


def test_stake_beyond_96_bits_is_refused(anvil_w3: Web3, funded: Funded) -> None:
    d = deploy_with_miners(anvil_w3, 0)
    (whale,) = funded(1, 2**97)
    with pytest.raises(E.SafeCastOverflowedUintDowncast) as info:
        d.contract.register(whale, 2**96)
    assert info.value.args_by_name == {"bits": 96, "value": 2**96}


def test_too_many_active_miners(anvil_w3: Web3, funded: Funded) -> None:
    d = deploy_with_miners(anvil_w3, 0, min_stake=1, miss_bond=1)
    signers = funded(256, 10**18)
    wait_all([d.contract.register(s, 1) for s in signers[:255]])
    with pytest.raises(E.PoFLTooManyMiners) as info:
        d.contract.register(signers[255], 1)
    assert info.value.args_by_name == {"cap": 255}


def test_commit_errors(d5: Deployed) -> None:
    c, m = d5.contract, d5.miners[0]
    with pytest.raises(E.PoFLWrongRound) as info:
        c.commit(m, 2, b"\1" * 32)
    assert info.value.args_by_name == {"expected": 1, "given": 2}
    with pytest.raises(E.PoFLEmptyCommitment):
        c.commit(m, ROUND, b"\0" * 32)
    c.commit(m, ROUND, b"\1" * 32).wait()
    with pytest.raises(E.PoFLAlreadyCommitted):
        c.commit(m, ROUND, b"\2" * 32)
    with pytest.raises(E.PoFLWrongPhase) as info:
        c.reveal(m, ROUND, cid_of("a"), 7000, SALT)
    assert info.value.args_by_name == {"expected": Phase.REVEAL, "actual": Phase.COMMIT}
    assert "expected=Phase.REVEAL" in str(info.value)


def test_reveal_errors(d5: Deployed) -> None:
    c = d5.contract
    a, b = d5.miners[:2]
    ca, cb = SealedClaim(ROUND, cid_of("A"), 7000), SealedClaim(ROUND, cid_of("B"), 7100)
    commit_claims(c, [(a, ca), (b, cb)])
    increase_time(c.w3, 61)
    with pytest.raises(E.PoFLNotCommitted):
        c.reveal(d5.miners[2], ROUND, cid_of("C"), 7000, SALT)
    with pytest.raises(E.PoFLRevealMismatch):
        c.reveal(a, ROUND, ca.cid, 7001, ca.salt)
    with pytest.raises(E.PoFLRevealMismatch):
        c.reveal(a, ROUND, ca.cid, 7000, b"\x09" * 32)
    with pytest.raises(E.PoFLAccuracyOutOfRange) as info:
        c.reveal(a, ROUND, ca.cid, 10001, ca.salt)
    assert info.value.args_by_name == {"accuracyBps": 10001}
    with pytest.raises(E.PoFLEmptyDigest):
        send(a, c.contract.functions.reveal(ROUND, b"\0" * 32, 0, 7000, 0, ca.salt), c.errors)
    c.reveal(a, ROUND, ca.cid, ca.accuracy_bps, ca.salt).wait()
    with pytest.raises(E.PoFLAlreadyRevealed):
        c.reveal(a, ROUND, ca.cid, ca.accuracy_bps, ca.salt)


def test_vote_errors(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 7, committee_size=3)
    c = d.contract
    r = c.current_round()
    claims = ladder(d, "e")
    commit_claims(c, claims)
    reveal_claims(c, claims)
    with pytest.raises(E.PoFLCommitteePending) as info:  # the seed block is not mined yet
        c.vote(d.miners[0], r, 1, 7000, 0)
    assert info.value.args_by_name["seedBlock"] == c.round_info(r).seed_block
    seats = draw_committee(c, d.owner)
    candidate = c.round_info(r).candidate
    seat = d.by_address(seats[0])
    outsider = next(m for m in d.miners if m.address not in seats)
    with pytest.raises(E.PoFLNotInCommittee):
        c.vote(d.by_address(candidate), r, 1, 7000, 0)  # a claimant never sits on its own committee
    with pytest.raises(E.PoFLNotInCommittee):
        c.vote(outsider, r, 1, 7000, 0)
    with pytest.raises(E.PoFLStaleValidation) as info:
        c.vote(seat, r, 2, 7000, 0)
    assert info.value.args_by_name == {"current": 1, "given": 2}
    with pytest.raises(E.PoFLAccuracyOutOfRange):
        c.vote(seat, r, 1, 10001, 0)
    with pytest.raises(E.PoFLAccuracyOutOfRange):  # the parent's report too
        c.vote(seat, r, 1, 7000, 10001)
    c.vote(seat, r, 1, 7006, 0).wait()
    with pytest.raises(E.PoFLAlreadyVoted):
        c.vote(seat, r, 1, 7006, 0)


def test_finalize_too_early_and_leave_rules(d5: Deployed) -> None:
    c, m = d5.contract, d5.miners[0]
    with pytest.raises(E.PoFLWrongPhase) as info:
        c.finalize(d5.owner)
    assert info.value.args_by_name == {"expected": Phase.FINALIZE, "actual": Phase.COMMIT}
    c.commit(m, ROUND, b"\1" * 32).wait()
    with pytest.raises(E.PoFLAlreadyCommitted):
        c.leave(m)  # committed in this round: leave after it
    wait_all([c.commit(x, ROUND, b"\1" * 32) for x in d5.miners[1:]])
    with pytest.raises(E.PoFLWrongPhase):
        c.leave(d5.miners[1])  # only in the Commit phase


def test_nothing_to_withdraw_and_block_not_found(d5: Deployed) -> None:
    with pytest.raises(E.PoFLNothingToWithdraw):
        d5.contract.withdraw_rewards(d5.miners[0])
    with pytest.raises(E.PoFLBlockNotFound) as info:
        d5.contract.block_at(5)
    assert info.value.args_by_name == {"height": 5}


def _proxy_miner(d: Deployed, artifact: dict, mode: int):
    w3 = d.contract.w3
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    decoder = d.contract.errors  # the proxy's calls bubble PoFLConsensus's (and OpenZeppelin's) errors
    receipt = send(d.owner, factory.constructor(d.contract.address), decoder).wait()
    proxy = w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    send(d.owner, proxy.functions.register(), decoder, value=STAKE).wait()
    send(d.owner, proxy.functions.setMode(mode), decoder).wait()
    return proxy, decoder


def test_failed_call_when_receiver_rejects(anvil_w3: Web3, proxy_artifact: dict) -> None:
    d = deploy_with_miners(anvil_w3, 0)
    proxy, decoder = _proxy_miner(d, proxy_artifact, mode=1)
    with pytest.raises(E.FailedCall):
        send(d.owner, proxy.functions.leave(), decoder)
    assert d.contract.miner_info(proxy.address).registered  # nothing changed


def test_reentrant_leave_is_refused(anvil_w3: Web3, proxy_artifact: dict) -> None:
    d = deploy_with_miners(anvil_w3, 0)
    proxy, decoder = _proxy_miner(d, proxy_artifact, mode=2)
    with pytest.raises(E.ReentrancyGuardReentrantCall):
        send(d.owner, proxy.functions.leave(), decoder)
    assert d.contract.miner_info(proxy.address).registered


def test_client_refuses_a_string_that_is_not_a_cid(d5: Deployed) -> None:
    with pytest.raises(PoflValueError):
        d5.contract.commitment(ROUND, "QmGenesis", 7000, SALT, d5.miners[0].address)
    assert cid_to_digest(cid_of("x"))[0] != b"\0" * 32
