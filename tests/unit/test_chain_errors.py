"""The error decoder, in process: every custom error of the ABI has a Python exception and a NatSpec hint, and
errors no call can reach still decode (each error triggered for real on Anvil: tests/contract/test_errors.py)."""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector

from offchain.chain import errors as E
from offchain.chain.deploy import load_artifact
from offchain.chain.errors import ErrorDecoder
from offchain.chain.types import ENUMS, Claim, decode_struct
from offchain.errors import PoflError, PoflValueError


def test_every_abi_error_has_a_python_exception_and_a_natspec_hint() -> None:
    contracts = ("PoFLConsensus", "PoFLScaled", "PoFLHoldout", "PoWConsensus", "PoSConsensus")
    decoder = ErrorDecoder.from_artifacts([load_artifact(name) for name in contracts], ENUMS)
    names = decoder.error_names()
    assert names == set(E.ERRORS), f"unmapped: {names - set(E.ERRORS)}; stale: {set(E.ERRORS) - names}"
    # OpenZeppelin's ShortStrings errors (PoFLScaled's EIP712 name and version) have no NatSpec; no call reaches
    # them: the constructor's strings are short
    documented = names - {"StringTooLong", "InvalidShortString"}
    assert all(decoder.hint(name) for name in documented), [n for n in documented if not decoder.hint(n)]
    assert all(issubclass(cls, PoflError) for cls in E.ERRORS.values())


def test_hints_are_the_interface_natspec() -> None:
    decoder = ErrorDecoder.from_artifact(load_artifact("PoFLConsensus"), ENUMS)
    assert decoder.hint("PoFLWrongPhase") == ("The action needs phase `expected` but the round is in phase `actual`. "
                                              "Wait for the phase (currentPhase()); leave() is allowed only in the "
                                              "Commit phase.")


@pytest.mark.parametrize(("name", "types", "values"), [
    ("InsufficientBalance", ["uint256", "uint256"], [1, 2]),  # sendValue never lacks ETH: it is conserved
    ("OwnableInvalidOwner", ["address"], ["0x" + "00" * 20]),  # Ownable2Step never checks a zero owner
])
def test_unreachable_library_errors_still_decode(name: str, types: list[str], values: list) -> None:
    """Two errors of the OpenZeppelin code in the ABI that no call can reach; their decoding is checked."""
    decoder = ErrorDecoder.from_artifact(load_artifact("PoFLConsensus"), ENUMS)
    data = function_signature_to_4byte_selector(f"{name}({','.join(types)})") + abi_encode(types, values)
    error = decoder.decode(data, "test")
    assert type(error) is E.ERRORS[name] and error.hint


def test_structs_decode_by_component_name_not_position() -> None:
    components = [{"name": n, "type": t, "internalType": i} for n, t, i in [
        ("digest", "bytes32", "bytes32"), ("status", "uint8", "enum IPoFLConsensus.ClaimStatus"),
        ("position", "uint16", "uint16"), ("eligible", "bool", "bool"), ("commitment", "bytes32", "bytes32"),
        ("cidKind", "uint8", "enum IPoFLConsensus.CidKind"), ("accuracyBps", "uint16", "uint16")]]
    claim = decode_struct(Claim, components, (b"\1" * 32, 2, 3, True, b"\0" * 32, 2, 7100))
    assert (claim.status.name, claim.position, claim.accuracy_bps, claim.cid_kind.name) == (
        "REVEALED", 3, 7100, "V1_RAW")
    with pytest.raises(PoflValueError, match="does not match the ABI"):
        decode_struct(Claim, components[:-1], (b"\1" * 32, 2, 3, True, b"\0" * 32, 2))


