"""`pofl verify` finds every kind of fault — and is never crashed by what a block points at.

A real chain (Anvil) with real blocks made by the round driver on real MNIST; faults come from a
tampered store, from a committee that lied, and from a hostile RPC that rewrites blocks (the pure checks:
tests/unit/test_verify.py).
"""

from __future__ import annotations

import dataclasses
import json
import struct

from click.testing import CliRunner

from offchain.app.verify import Problem, ProblemKind, verify_chain
from offchain.chain.consensus import PoFLContract
from offchain.chain.types import ChainBlock
from offchain.cli import cli
from offchain.miner.workload import RunConfig
from offchain.store import LocalStore
from offchain.testing.rounds import placeholder_cid, play_round
from tests.support.accounts import Funded
from tests.support.contracts import BASE_CONFIG
from tests.support.runs import HonestChain, weak_model_cid

CONFIG = RunConfig(n_miners=3, min_committee=2, threshold=0.0, phase_seconds=30)  # honest_chain's (tests/conftest.py)


def verify_cli(chain: HonestChain, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["verify", "--rpc-url", chain.contract.w3.provider.endpoint_uri,
                                      "--contract", chain.contract.address, "--store-dir", str(chain.store_dir),
                                      *extra])
    return result.exit_code, result.output


def kinds(report) -> list[tuple[int | None, ProblemKind]]:  # type: ignore[no-untyped-def]
    return [(None, p.kind) for p in report.problems] + [(b.height, p.kind) for b in report.blocks for p in b.problems]


def force_block(chain: HonestChain, cid: str, claimed_bps: int) -> ChainBlock:
    """A colluding committee makes ``cid`` a block at ``claimed_bps``: its claimant's two fellows (its whole
    committee) report that they measured exactly that."""
    c = chain.contract
    claimant, *fellows = chain.signers
    head_bps = c.latest_block().accuracy_bps
    claims = [(claimant, claimed_bps)] + [(f, head_bps + 1 + i) for i, f in enumerate(fellows)]
    played = play_round(c, fellows[0], chain.signers, claims, lambda _candidate, _seat: claimed_bps,
                        cids={claimant.address: cid})
    block = c.latest_block()
    assert block.cid == cid and block.round == played.round_id
    return block


def test_an_honest_chain_verifies(chain: HonestChain) -> None:
    report = verify_chain(chain.contract, LocalStore(chain.store_dir))
    assert report.ok and report.verdict == "OK" and len(report.blocks) == 3
    assert all(b.measured is not None and abs(b.measured - b.claimed) < 2e-4 for b in report.blocks[1:])
    code, out = verify_cli(chain)
    assert code == 0 and "3 blocks verified: OK" in out, out
    # public mode reports what it always did: no hold-out fields, no final report
    assert set(report.as_dict()) == {"ok", "verdict", "contract", "architecture", "blocks", "problems"}
    assert set(report.as_dict()["blocks"][1]) == {"height", "round", "cid", "claimed", "measured", "problems"}
    listed = CliRunner().invoke(cli, ["blocks", "--json", "--rpc-url", chain.contract.w3.provider.endpoint_uri,
                                      "--contract", chain.contract.address])
    assert listed.exit_code == 0 and "final_accuracy" not in listed.output and "final" not in listed.output


def test_tampered_bytes_in_the_store_are_a_mismatch(chain: HonestChain) -> None:
    cid = chain.contract.block_at(1).cid
    (chain.store_dir / "blocks" / cid).write_bytes(b"not the model")
    report = verify_chain(chain.contract, LocalStore(chain.store_dir))
    assert kinds(report) == [(1, ProblemKind.MODEL)] and "IntegrityError" in report.blocks[1].problems[0].detail
    code, out = verify_cli(chain)
    assert code == 1 and "MODEL" not in out and "model: IntegrityError" in out and "verified: MISMATCH" in out, out


def test_a_missing_model_is_unavailable_not_a_mismatch(chain: HonestChain) -> None:
    (chain.store_dir / "blocks" / chain.contract.block_at(2).cid).unlink()
    report = verify_chain(chain.contract, LocalStore(chain.store_dir))
    assert kinds(report) == [(2, ProblemKind.UNAVAILABLE)] and report.verdict == "UNAVAILABLE"
    code, out = verify_cli(chain)
    assert code == 1 and "unavailable: NotFound" in out and "verified: UNAVAILABLE" in out, out
    code, out = verify_cli(chain, "--json")
    report = json.loads(out)
    assert code == 1 and report["verdict"] == "UNAVAILABLE" and not report["ok"]


def test_a_block_whose_committee_lied_about_its_accuracy(chain: HonestChain) -> None:
    weak = weak_model_cid(LocalStore(chain.store_dir), chain.contract.block_at(0).cid)  # recorded as 99% accurate
    block = force_block(chain, weak, 9900)
    report = verify_chain(chain.contract, LocalStore(chain.store_dir))
    assert kinds(report) == [(block.height, ProblemKind.ACCURACY)]  # the median of lies is still a lie
    assert report.blocks[-1].measured is not None and report.blocks[-1].measured < 0.2
    code, out = verify_cli(chain)
    assert code == 1 and "is not the recorded 0.9900" in out and "MISMATCH" in out, out


def test_a_header_bomb_block_is_reported_not_a_crash(chain: HonestChain) -> None:
    header = b"[" * 100_000 + b"]" * 100_000
    cid = LocalStore(chain.store_dir).put(struct.pack("<Q", len(header)) + header)
    block = force_block(chain, cid, 9900)
    report = verify_chain(chain.contract, LocalStore(chain.store_dir))
    assert kinds(report) == [(block.height, ProblemKind.MODEL)]
    assert "ModelFormatError" in report.blocks[-1].problems[0].detail
    code, out = verify_cli(chain)
    assert code == 1 and "MISMATCH" in out, out


class HostileRpc(PoFLContract):
    """An RPC that answers with rewritten blocks."""

    def __init__(self, contract: PoFLContract, rewrite) -> None:  # type: ignore[no-untyped-def]
        super().__init__(contract.contract, contract.artifact)
        self.rewrite = rewrite

    def blocks(self) -> list[ChainBlock]:
        return self.rewrite(super().blocks())


def test_a_hostile_rpc_that_rewrites_blocks_is_caught(chain: HonestChain) -> None:
    def raise_accuracy(blocks: list[ChainBlock]) -> list[ChainBlock]:
        return [blocks[0], dataclasses.replace(blocks[1], accuracy_bps=9999), blocks[2]]

    report = verify_chain(HostileRpc(chain.contract, raise_accuracy), LocalStore(chain.store_dir))
    assert kinds(report) == [(1, ProblemKind.HASH), (1, ProblemKind.MEDIAN), (1, ProblemKind.ACCURACY),
                             (2, ProblemKind.IMPROVEMENT)]

    def relink(blocks: list[ChainBlock]) -> list[ChainBlock]:
        forged = dataclasses.replace(blocks[2], parent_hash=b"\x33" * 32)
        return [blocks[0], blocks[1], dataclasses.replace(forged, block_hash=forged.expected_hash())]

    report = verify_chain(HostileRpc(chain.contract, relink), LocalStore(chain.store_dir))
    assert kinds(report) == [(2, ProblemKind.LINK)]


def test_a_contract_for_another_architecture_or_data_cannot_be_replayed(funded: Funded) -> None:
    (owner,) = funded(1)
    contract, _ = PoFLContract.deploy(owner, BASE_CONFIG, placeholder_cid("genesis"), deployments_dir=None)
    report = verify_chain(contract, LocalStore("/nonexistent-store-unused"))
    assert [str(p) for p in report.problems] == [f"chain: unknown architecture id {'22' * 32}"] and not report.ok
    from offchain.fl.architectures import architecture_id

    mnist_less = dataclasses.replace(BASE_CONFIG, architecture_id=architecture_id("simplenet"))
    contract, _ = PoFLContract.deploy(owner, mnist_less, placeholder_cid("genesis"), deployments_dir=None)
    report = verify_chain(contract, LocalStore("/nonexistent-store-unused"))
    assert report.problems == [Problem(ProblemKind.CHAIN, "the contract's evaluation set is not MNIST's test set: "
                                                          "cannot re-evaluate")]
