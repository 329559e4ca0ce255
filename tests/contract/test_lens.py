"""PoFLConsensus serves its views with the code of its lens (PoFLLens), at its own address; one set of phase
rules serves both the views and what advance() records; the committee is read once drawn."""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.exceptions import ContractLogicError

from offchain.chain.commitment import SealedClaim
from offchain.chain.consensus import PoFLContract, views_abi
from offchain.chain.deploy import DeploymentError, attach, load_artifact
from offchain.chain.types import Phase
from offchain.testing.rounds import commit_claims, increase_time, mine_blocks, reveal_claims
from tests.support.contracts import BASE_CONFIG, cid_of, deploy_with_miners, ladder


def signatures(abi: list[dict]) -> set[str]:
    return {f"{e['name']}({','.join(i['type'] for i in e['inputs'])})" for e in abi if e["type"] == "function"}


def test_views_answer_at_the_consensus_with_the_lens_code(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 3)
    c = d.contract
    lens_artifact = load_artifact("PoFLLens")
    lens = c.lens_address()
    assert lens != c.address
    attach(anvil_w3, lens_artifact, lens)  # the compiled PoFLLens, with the consensus's immutables
    alone = anvil_w3.eth.contract(address=lens, abi=lens_artifact["abi"])
    # at the consensus the views read its storage; at the lens's own address, the lens's empty one
    assert c.current_round() == 1 and alone.functions.currentRound().call() == 0
    assert sorted(c.miners()) == sorted(m.address for m in d.miners) and alone.functions.miners().call() == []
    assert c.config() == BASE_CONFIG and c.next_config() == BASE_CONFIG
    # what PoFLHoldout calls on the consensus (IPoFLHoldoutHooks) answers there
    served = signatures(views_abi(c.artifact["abi"]))
    assert {"onKeyRevealed(uint64)", "shardsUsed()", "currentRound()", "roundInfo(uint64)"} <= served
    assert not signatures(c.artifact["abi"]) & signatures(lens_artifact["abi"]) - {
        "MAX_MINERS()", "BPS()", "MAX_TOLERANCE_BPS()", "MAX_QUORUM_BPS()", "MAX_SEED_LOOKAHEAD()"}


def test_unknown_calls_and_plain_ether_are_refused(anvil_w3: Web3) -> None:
    d = deploy_with_miners(anvil_w3, 1)
    with pytest.raises(ContractLogicError):
        anvil_w3.eth.call({"to": d.contract.address, "data": "0xdeadbeef"})
    with pytest.raises(ContractLogicError):
        anvil_w3.eth.call({"from": d.owner.address, "to": d.contract.address, "value": 1})


def test_attach_checks_the_lens_code(anvil_w3: Web3, monkeypatch: pytest.MonkeyPatch) -> None:
    d = deploy_with_miners(anvil_w3, 1)
    assert PoFLContract.attach(anvil_w3, d.contract.address).lens_address() == d.contract.lens_address()
    other = dict(load_artifact("PoFLLens"))
    other["deployedBytecode"] = other["deployedBytecode"][:-2] + ("00" if other["deployedBytecode"][-2:] != "00"
                                                                  else "01")
    monkeypatch.setattr("offchain.chain.consensus._lens_artifact", lambda: other)
    with pytest.raises(DeploymentError, match="the lens of the contract at"):
        PoFLContract.attach(anvil_w3, d.contract.address)


def test_the_effective_phase_is_what_advance_records(anvil_w3: Web3) -> None:
    """Deadlines pass without a transaction: the views apply the phase rules to a copy (here two steps:
    Commit -> Reveal -> Finalize, nobody revealed), advance() records the same."""
    d = deploy_with_miners(anvil_w3, 4)
    c = d.contract
    r = c.current_round()
    commit_claims(c, [(m, SealedClaim(r, cid_of(f"e{i}"), 7000)) for i, m in enumerate(d.miners[:3])])
    committed = c.current_phase()
    assert committed.phase == Phase.COMMIT  # one active miner has not committed
    increase_time(anvil_w3, BASE_CONFIG.commit_duration)
    assert c.current_phase() == type(committed)(r, Phase.REVEAL, committed.deadline + BASE_CONFIG.reveal_duration)
    increase_time(anvil_w3, BASE_CONFIG.reveal_duration)
    seen = c.current_phase()
    assert seen.phase == Phase.FINALIZE and c.deadline_passed() is False
    c.advance(d.owner).wait()
    recorded = [(e["args"]["phase"], e["args"]["deadline"]) for e in c.events("PhaseChanged")
                if e["args"]["round"] == r]
    assert recorded[-2:] == [(Phase.REVEAL, committed.deadline + BASE_CONFIG.reveal_duration), (Phase.FINALIZE, 0)]
    assert c.current_phase() == seen


def test_the_committee_is_read_once_drawn(anvil_w3: Web3) -> None:
    """The draw is written once (advance, or the first vote after the seed block): until a transaction draws
    it, committee() is empty even when the seed block is mined; then it names the drawn seats."""
    d = deploy_with_miners(anvil_w3, 6, committee_size=3)
    c = d.contract
    r = c.current_round()
    claims = ladder(d, "s")
    commit_claims(c, claims)
    reveal_claims(c, claims)
    info = c.round_info(r)
    assert info.phase == Phase.VALIDATION and info.seats == 0
    mine_blocks(anvil_w3, info.seed_block - anvil_w3.eth.block_number + 1)  # the seed block exists now
    assert anvil_w3.eth.block_number > info.seed_block
    assert c.committee(r) == [] and c.round_info(r).seats == 0 and c.current_phase().deadline == 0
    c.advance(d.owner).wait()
    drawn = c.events("CommitteeDrawn")[-1]["args"]
    seats = c.committee(r)
    assert len(seats) == drawn["seats"] == 3 and info.candidate not in seats
    assert c.current_phase().deadline == drawn["deadline"] and c.round_info(r).seed == bytes(drawn["seed"])
