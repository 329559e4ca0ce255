"""Every custom error of PoFLConsensus, triggered for real on Anvil and decoded in Python."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from offchain.chain import errors as E
from offchain.chain.accounts import LocalSigner
from offchain.chain.compile import compile_contracts
from offchain.chain.deploy import load_artifact
from offchain.chain.errors import ErrorDecoder
from offchain.chain.pofl import PoFLContract, increase_time
from offchain.chain.rounds import SealedClaim, cast_votes, commit_claims, committee_of, reveal_claims
from offchain.chain.tx import send, wait_all
from tests.pofl_fixtures import BASE_CONFIG, STAKE, Deployed, deploy_with_miners

ROUND = 1


@pytest.fixture
def d3(anvil_w3: Web3) -> Deployed:
    return deploy_with_miners(anvil_w3, 3)


def in_validation(d: Deployed, accuracies: tuple[int, ...] = (7000, 7100, 7200)) -> tuple[int, str]:
    c = d.contract
    r = c.current_round()
    claims = [(m, SealedClaim(r, f"Qm{i}", a)) for i, (m, a) in enumerate(zip(d.miners, accuracies, strict=True))]
    commit_claims(c, claims)
    reveal_claims(c, claims)
    return r, c.round_info(r).candidate


def test_every_abi_error_has_a_python_exception() -> None:
    names = ErrorDecoder(load_artifact("PoFLConsensus")["abi"]).error_names()
    assert names == set(E.ERRORS), f"unmapped: {names - set(E.ERRORS)}; stale: {set(E.ERRORS) - names}"


def test_not_owner(d3: Deployed) -> None:
    with pytest.raises(E.NotOwner, match="only the contract owner"):
        d3.contract.set_block_reward(d3.miners[0], 1)


@pytest.mark.parametrize(("field", "value"), [("threshold_bps", 10001), ("tolerance_bps", 10001),
                                              ("quorum_bps", 5000), ("commit_duration", 0),
                                              ("eval_set_hash", b"\0" * 32), ("architecture_id", b"\0" * 32)])
def test_invalid_config_at_deploy(anvil_w3: Web3, field: str, value: object) -> None:
    owner = LocalSigner(anvil_w3, Account.create().key.to_0x_hex())
    anvil_w3.provider.make_request("anvil_setBalance", [owner.address, hex(10**20)])
    with pytest.raises(E.InvalidConfig) as info:
        PoFLContract.deploy(owner, replace(BASE_CONFIG, **{field: value}), "QmG", deployments_dir=None)
    expected = {"threshold_bps": "thresholdBps", "tolerance_bps": "toleranceBps", "quorum_bps": "quorumBps",
                "commit_duration": "duration", "eval_set_hash": "evalSetHash", "architecture_id": "architectureId"}
    assert info.value.args_by_name == {"field": expected[field]}


def test_invalid_config_in_setters(d3: Deployed) -> None:
    with pytest.raises(E.InvalidConfig, match="duration"):
        d3.contract.set_phase_durations(d3.owner, 0, 1, 1)
    with pytest.raises(E.InvalidConfig, match="quorumBps"):
        d3.contract.set_validation(d3.owner, 100, 10001, 0)
    with pytest.raises(E.InvalidConfig, match="owner"):
        d3.contract.transfer_ownership(d3.owner, "0x" + "00" * 20)


def test_empty_and_long_genesis_cid(anvil_w3: Web3) -> None:
    owner = deploy_with_miners(anvil_w3, 0).owner
    with pytest.raises(E.EmptyCid):
        PoFLContract.deploy(owner, BASE_CONFIG, "", deployments_dir=None)
    with pytest.raises(E.CidTooLong) as info:
        PoFLContract.deploy(owner, BASE_CONFIG, "Q" * 129, deployments_dir=None)
    assert info.value.args_by_name == {"length": 129, "max": 128}


def test_registration_errors(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 2)
    with pytest.raises(E.AlreadyRegistered):
        d.contract.register(d.miners[0], STAKE)
    newcomer = deploy_with_miners(anvil_w3, 1, register=False, first_key=50).miners[0]
    with pytest.raises(E.StakeTooLow) as info:
        d.contract.register(newcomer, STAKE - 1)
    assert info.value.args_by_name == {"sent": STAKE - 1, "required": STAKE}
    with pytest.raises(E.NotAMiner):
        d.contract.commit(newcomer, ROUND, b"\1" * 32)
    with pytest.raises(E.NotAMiner):
        d.contract.add_stake(newcomer, 1)
    with pytest.raises(E.ZeroValue):
        d.contract.add_stake(d.miners[0], 0)
    with pytest.raises(E.ZeroValue):
        d.contract.fund_rewards(d.owner, 0)


def test_too_many_miners(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 0, min_stake=1)
    keys = [Account.create(os.urandom(16)).key.to_0x_hex() for _ in range(257)]
    signers = [LocalSigner(anvil_w3, k) for k in keys]
    for s in signers:
        anvil_w3.provider.make_request("anvil_setBalance", [s.address, hex(10**18)])
    wait_all([d.contract.register(s, 1) for s in signers[:256]])
    with pytest.raises(E.TooManyMiners) as info:
        d.contract.register(signers[256], 1)
    assert info.value.args_by_name == {"cap": 256}


def test_commit_errors(d3: Deployed) -> None:
    c, m = d3.contract, d3.miners[0]
    with pytest.raises(E.WrongRound) as info:
        c.commit(m, 2, b"\1" * 32)
    assert info.value.args_by_name == {"expected": 1, "given": 2}
    with pytest.raises(E.EmptyCommitment):
        c.commit(m, ROUND, b"\0" * 32)
    c.commit(m, ROUND, b"\1" * 32).wait()
    with pytest.raises(E.AlreadyCommitted):
        c.commit(m, ROUND, b"\2" * 32)
    with pytest.raises(E.WrongPhase) as info:
        c.reveal(m, ROUND, "Qm", 7000, b"\0" * 32)
    assert info.value.args_by_name == {"expected": 1, "actual": 0}


def test_reveal_errors(d3: Deployed) -> None:
    c = d3.contract
    a, b, _ = d3.miners
    ca, cb = SealedClaim(ROUND, "QmA", 7000), SealedClaim(ROUND, "QmB", 7100)
    commit_claims(c, [(a, ca), (b, cb)])
    increase_time(c.w3, 61)
    with pytest.raises(E.NotCommitted):
        c.reveal(d3.miners[2], ROUND, "QmC", 7000, b"\0" * 32)
    with pytest.raises(E.RevealMismatch):
        c.reveal(a, ROUND, "QmA", 7001, ca.salt)
    with pytest.raises(E.RevealMismatch):
        c.reveal(a, ROUND, "QmA", 7000, b"\x09" * 32)
    with pytest.raises(E.AccuracyOutOfRange) as info:
        c.reveal(a, ROUND, "QmA", 10001, ca.salt)
    assert info.value.args_by_name == {"accuracyBps": 10001}
    with pytest.raises(E.EmptyCid):
        c.reveal(a, ROUND, "", 7000, ca.salt)
    with pytest.raises(E.CidTooLong):
        c.reveal(a, ROUND, "Q" * 200, 7000, ca.salt)
    c.reveal(a, ROUND, ca.cid, ca.accuracy_bps, ca.salt).wait()
    with pytest.raises(E.AlreadyRevealed):
        c.reveal(a, ROUND, ca.cid, ca.accuracy_bps, ca.salt)


def test_vote_errors(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 4, committee_size=2)
    c = d.contract
    r, candidate = in_validation(d, (7000, 7100, 7200, 7300))
    committee = committee_of(c, r, d.miners)
    outsider = next(m for m in d.miners if m not in committee and m.address != candidate)
    with pytest.raises(E.VotingOnOwnClaim):
        c.vote(d.by_address(candidate), r, candidate, 7000)
    with pytest.raises(E.StaleCandidate):
        c.vote(committee[0], r, outsider.address, 7000)
    with pytest.raises(E.NotInCommittee):
        c.vote(outsider, r, candidate, 7000)
    with pytest.raises(E.AccuracyOutOfRange):
        c.vote(committee[0], r, candidate, 10001)
    c.vote(committee[0], r, candidate, 7300).wait()
    with pytest.raises(E.AlreadyVoted):
        c.vote(committee[0], r, candidate, 7300)


def test_finalize_too_early_and_inactive_miner(d3: Deployed) -> None:
    c = d3.contract
    with pytest.raises(E.WrongPhase) as info:
        c.finalize(d3.owner)
    assert info.value.args_by_name == {"expected": 3, "actual": 0}
    r, candidate = in_validation(d3, (9000, 6000, 6000))
    cast_votes(c, r, [(v, 1000) for v in committee_of(c, r, d3.miners)])  # the 0.90 claim is false
    c.finalize(d3.owner).wait()
    cast_votes(c, r, [(v, 6000) for v in committee_of(c, r, d3.miners)])
    increase_time(c.w3, 61)  # the slashed miner's committee seat stays empty: decided at the deadline
    c.finalize(d3.owner).wait()
    assert c.block_count() == 2
    with pytest.raises(E.MinerInactive):
        c.commit(d3.by_address(candidate), r + 1, b"\1" * 32)
    c.add_stake(d3.by_address(candidate), STAKE).wait()  # topping up re-activates
    c.commit(d3.by_address(candidate), r + 1, b"\1" * 32).wait()


def test_leave_not_allowed_and_nothing_to_withdraw(d3: Deployed) -> None:
    c, m = d3.contract, d3.miners[0]
    with pytest.raises(E.NothingToWithdraw):
        c.withdraw_rewards(m)
    c.commit(m, ROUND, b"\1" * 32).wait()
    with pytest.raises(E.LeaveNotAllowed, match="committed to the current round"):
        c.leave(m)
    c.commit(d3.miners[1], ROUND, b"\1" * 32).wait()
    c.commit(d3.miners[2], ROUND, b"\1" * 32).wait()
    with pytest.raises(E.LeaveNotAllowed, match="only during the Commit phase"):
        c.leave(m)


def test_block_not_found(d3: Deployed) -> None:
    with pytest.raises(E.BlockNotFound) as info:
        d3.contract.block_at(5)
    assert info.value.args_by_name == {"height": 5}


@pytest.fixture(scope="module")
def proxy_artifact(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return compile_contracts(Path(__file__).parent / "contracts")["MinerProxy"]


def _proxy_miner(d: Deployed, artifact: dict, mode: int):
    w3 = d.contract.w3
    owner = d.owner
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    decoder = d.contract.errors  # proxy calls bubble PoFLConsensus errors
    receipt = send(owner, factory.constructor(d.contract.address), decoder).wait()
    proxy = w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    send(owner, proxy.functions.register(), decoder, value=STAKE).wait()
    send(owner, proxy.functions.setMode(mode), decoder).wait()
    return proxy, decoder


def test_transfer_failed_when_receiver_rejects(anvil_w3: Web3, proxy_artifact: dict) -> None:
    d = deploy_with_miners(anvil_w3, 0)
    proxy, decoder = _proxy_miner(d, proxy_artifact, mode=1)
    with pytest.raises(E.TransferFailed) as info:
        send(d.owner, proxy.functions.leave(), decoder)
    assert info.value.args_by_name["to"] == proxy.address and info.value.args_by_name["amount"] == STAKE


def test_reentrant_leave_is_refused(anvil_w3: Web3, proxy_artifact: dict) -> None:
    d = deploy_with_miners(anvil_w3, 0)
    proxy, decoder = _proxy_miner(d, proxy_artifact, mode=2)
    with pytest.raises(E.Reentrancy):
        send(d.owner, proxy.functions.leave(), decoder)
    assert d.contract.miner_info(proxy.address).registered  # nothing changed
