"""The Python enums that decode the consensus's values are the Solidity enums of contracts/IPoFLConsensus.sol,
member by member (read from the source text: no compiler needed)."""

from __future__ import annotations

import re
from enum import IntEnum

import pytest

from offchain.chain.types import ENUMS, ClaimStatus, ConfigField, FailReason, PenaltyReason, Phase
from offchain.store.cid import CidKind
from tests.support.paths import ROOT

INTERFACE = ROOT / "contracts" / "IPoFLConsensus.sol"
PYTHON = {"Phase": Phase, "ClaimStatus": ClaimStatus, "FailReason": FailReason, "PenaltyReason": PenaltyReason,
          "ConfigField": ConfigField, "CidKind": CidKind}


def solidity_enums(text: str) -> dict[str, list[str]]:
    """enum name -> its members in order, from Solidity source (comments removed first)."""
    text = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
    return {name: [m.strip() for m in body.split(",") if m.strip()]
            for name, body in re.findall(r"\benum\s+(\w+)\s*\{([^}]*)\}", text)}


def python_name(solidity: str) -> str:
    """The Python spelling of a Solidity member: NoQuorum -> NO_QUORUM, V0DagPb -> V0_DAG_PB."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", solidity).upper()


def members(enum: type[IntEnum]) -> list[tuple[int, str]]:
    return [(m.value, m.name) for m in enum]


def test_the_interface_declares_exactly_the_enums_python_decodes() -> None:
    assert set(solidity_enums(INTERFACE.read_text())) == set(PYTHON) == set(ENUMS)
    assert all(ENUMS[name] is enum for name, enum in PYTHON.items())


@pytest.mark.parametrize("name", sorted(PYTHON))
def test_each_python_enum_is_its_solidity_enum_member_by_member(name: str) -> None:
    solidity = solidity_enums(INTERFACE.read_text())[name]
    assert members(PYTHON[name]) == [(i, python_name(m)) for i, m in enumerate(solidity)]


def test_the_parser_reads_members_in_order_and_skips_comments() -> None:
    text = "enum A { One, /* Gone, */ TwoWords // Three,\n , V1Raw }\nstruct S { uint a; }"
    assert solidity_enums(text) == {"A": ["One", "TwoWords", "V1Raw"]}
    assert [python_name(m) for m in ["NoEligibleClaim", "V0DagPb", "MisreportPenaltyBps", "None"]] == [
        "NO_ELIGIBLE_CLAIM", "V0_DAG_PB", "MISREPORT_PENALTY_BPS", "NONE"]
