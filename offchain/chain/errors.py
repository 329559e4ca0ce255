"""Python exceptions for the contract's custom errors.

A revert's data is ``selector || abi-encoded args``; :class:`ErrorDecoder` finds the error in the
contract's ABI and raises the matching :class:`ContractRevert` subclass. Its message names the error,
its arguments (enums by name) and what to do about it: the error's NatSpec ``@notice`` and ``@dev``
as compiled into the artifact's ``userdoc``/``devdoc`` (``contracts/IPoFLConsensus.sol`` documents
every PoFL error; OpenZeppelin documents its own), so the contract's source is the one place the
hints are written.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from offchain.errors import PoflRuntimeError


class ContractRevert(PoflRuntimeError):
    """A contract call or transaction reverted with one of the contract's custom errors."""

    def __init__(self, name: str, args: dict[str, Any], action: str = "", hint: str = "") -> None:
        self.name = name
        self.args_by_name = args
        self.action = action
        self.hint = hint
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        where = f"{action} reverted: " if action else ""
        super().__init__(f"{where}{name}({shown})" + (f" - {hint}" if hint else ""))


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, IntEnum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


# One class per error in PoFLConsensus's, PoFLScaled's and PoFLHoldout's ABIs, named as in Solidity, so that callers
# can catch each.
# What each means and what to do is the NatSpec in the artifact (see the module docstring).


class PoFLInvalidConfig(ContractRevert):
    pass


class PoFLNotAMiner(ContractRevert):
    pass


class PoFLAlreadyRegistered(ContractRevert):
    pass


class PoFLStakeTooLow(ContractRevert):
    pass


class PoFLTooManyMiners(ContractRevert):
    pass


class PoFLWrongRound(ContractRevert):
    pass


class PoFLWrongPhase(ContractRevert):
    pass


class PoFLEmptyCommitment(ContractRevert):
    pass


class PoFLAlreadyCommitted(ContractRevert):
    pass


class PoFLNotCommitted(ContractRevert):
    pass


class PoFLAlreadyRevealed(ContractRevert):
    pass


class PoFLRevealMismatch(ContractRevert):
    pass


class PoFLAccuracyOutOfRange(ContractRevert):
    pass


class PoFLFetchWindowOpen(ContractRevert):
    pass


class PoFLEmptyDigest(ContractRevert):
    pass


class PoFLStaleValidation(ContractRevert):
    pass


class PoFLNotInCommittee(ContractRevert):
    pass


class PoFLAlreadyVoted(ContractRevert):
    pass


class PoFLCommitteePending(ContractRevert):
    pass


class PoFLNothingToWithdraw(ContractRevert):
    pass


class PoFLBlockNotFound(ContractRevert):
    pass


class PoFLZeroValue(ContractRevert):
    pass


class PoFLNoShard(ContractRevert):
    pass


class PoFLShardKeyPending(ContractRevert):
    pass


class PoFLNotHoldout(ContractRevert):
    pass


class PoFLTooFewCommits(ContractRevert):
    pass


class PoFLNotIndependent(ContractRevert):
    pass


# PoFLScaled's errors (contracts/IPoFLScaled.sol): the scaled mode of issue 25.


class ScaledInvalidConfig(ContractRevert):
    pass


class ScaledNotAMiner(ContractRevert):
    pass


class ScaledAlreadyRegistered(ContractRevert):
    pass


class ScaledStakeTooLow(ContractRevert):
    pass


class ScaledZeroValue(ContractRevert):
    pass


class ScaledNothingToWithdraw(ContractRevert):
    pass


class ScaledWrongRound(ContractRevert):
    pass


class ScaledWrongPhase(ContractRevert):
    pass


class ScaledNotAggregator(ContractRevert):
    pass


class ScaledListMissing(ContractRevert):
    pass


class ScaledBadRoot(ContractRevert):
    pass


class ScaledBadLeaf(ContractRevert):
    pass


class ScaledAlreadyCommitted(ContractRevert):
    pass


class ScaledEmptyCommitment(ContractRevert):
    pass


class ScaledAccuracyOutOfRange(ContractRevert):
    pass


class ScaledClaimTooLow(ContractRevert):
    pass


class ScaledNoRoot(ContractRevert):
    pass


class ScaledNotInRoot(ContractRevert):
    pass


class ScaledNoFraud(ContractRevert):
    pass


class ScaledNotACandidate(ContractRevert):
    pass


class ScaledAlreadyRevealed(ContractRevert):
    pass


class ScaledRevealMismatch(ContractRevert):
    pass


class ScaledEmptyDigest(ContractRevert):
    pass


class ScaledDigestUsed(ContractRevert):
    pass


class ScaledBadSignature(ContractRevert):
    pass


class ScaledSeedPending(ContractRevert):
    pass


class ScaledNotInCommittee(ContractRevert):
    pass


class ScaledAlreadyVoted(ContractRevert):
    pass


class ScaledNotAJuror(ContractRevert):
    pass


class ScaledJurorAlreadyVoted(ContractRevert):
    pass


class ScaledBlockNotFound(ContractRevert):
    pass


# PoFLHoldout's errors (contracts/IPoFLHoldout.sol).


class PoFLHoldoutNotRequester(ContractRevert):
    pass


class PoFLHoldoutNotConsensus(ContractRevert):
    pass


class PoFLHoldoutBadShards(ContractRevert):
    pass


class PoFLHoldoutNoShard(ContractRevert):
    pass


class PoFLHoldoutWrongKey(ContractRevert):
    pass


class PoFLHoldoutKeyAlreadyRevealed(ContractRevert):
    pass


class PoFLHoldoutEnded(ContractRevert):
    pass


class PoFLHoldoutTaskRunning(ContractRevert):
    pass


class PoFLHoldoutNothingToWithdraw(ContractRevert):
    pass


class PoFLHoldoutCommitsOpen(ContractRevert):
    pass


class OwnableUnauthorizedAccount(ContractRevert):
    pass


class OwnableInvalidOwner(ContractRevert):
    pass


class ReentrancyGuardReentrantCall(ContractRevert):
    pass


class FailedCall(ContractRevert):
    pass


class InsufficientBalance(ContractRevert):
    pass


class SafeCastOverflowedUintDowncast(ContractRevert):
    pass


class ECDSAInvalidSignature(ContractRevert):
    pass


class ECDSAInvalidSignatureLength(ContractRevert):
    pass


class ECDSAInvalidSignatureS(ContractRevert):
    pass


class InvalidShortString(ContractRevert):
    pass


class StringTooLong(ContractRevert):
    pass


# PoWConsensus, PoSConsensus and their StakeLedger (contracts/IPoWConsensus.sol, IPoSConsensus.sol, IStakeLedger.sol)


class StakeNotAMember(ContractRevert):
    pass


class StakeAlreadyRegistered(ContractRevert):
    pass


class StakeTooLow(ContractRevert):
    pass


class StakeZeroValue(ContractRevert):
    pass


class StakeNothingToWithdraw(ContractRevert):
    pass


class StakeTooManyMembers(ContractRevert):
    pass


class PoWStaleParent(ContractRevert):
    pass


class PoWInsufficientWork(ContractRevert):
    pass


class PoWEmptyDigest(ContractRevert):
    pass


class PoWInvalidDifficulty(ContractRevert):
    pass


class PoSNotProposer(ContractRevert):
    pass


class PoSStaleParent(ContractRevert):
    pass


class PoSWrongPhase(ContractRevert):
    pass


class PoSSeedPending(ContractRevert):
    pass


class PoSWrongTurn(ContractRevert):
    pass


class PoSAlreadyAttested(ContractRevert):
    pass


class PoSProposerCannotAttest(ContractRevert):
    pass


class PoSDeadlinePending(ContractRevert):
    pass


class PoSEmptyDigest(ContractRevert):
    pass


class PoSNoWeight(ContractRevert):
    pass


class PoSSlotsExhausted(ContractRevert):
    pass


class PoSInvalidConfig(ContractRevert):
    pass


class BlockNotFound(ContractRevert):
    """IHashChain's (PoW and PoS): no block at that height."""



ERRORS: dict[str, type[ContractRevert]] = {cls.__name__: cls for cls in ContractRevert.__subclasses__()}


class ErrorDecoder:
    """Maps revert data to exceptions using a contract's ABI and NatSpec.

    ``enums`` maps a Solidity enum's name (``Phase``) to the IntEnum its arguments decode to.
    """

    def __init__(self, abi: list[dict[str, Any]], devdoc: dict[str, Any] | None = None,
                 userdoc: dict[str, Any] | None = None, enums: dict[str, type[IntEnum]] | None = None) -> None:
        self._by_selector: dict[bytes, tuple[str, list[str], list[str], list[type[IntEnum] | None], str]] = {}
        details = (devdoc or {}).get("errors", {})
        notices = (userdoc or {}).get("errors", {})
        for entry in abi:
            if entry.get("type") != "error":
                continue
            types = [_abi_type(i) for i in entry["inputs"]]
            signature = f"{entry['name']}({','.join(types)})"
            hint = " ".join(doc[key] for docs in (notices.get(signature, []), details.get(signature, []))
                            for doc in docs[:1] for key in ("notice", "details") if key in doc)
            kinds = [_enum_of(i, enums or {}) for i in entry["inputs"]]
            self._by_selector[function_signature_to_4byte_selector(signature)] = (
                entry["name"], [i["name"] for i in entry["inputs"]], types, kinds, hint)

    @classmethod
    def from_artifact(cls, artifact: dict[str, Any], enums: dict[str, type[IntEnum]] | None = None) -> ErrorDecoder:
        return cls(artifact["abi"], artifact.get("devdoc"), artifact.get("userdoc"), enums)

    @classmethod
    def from_artifacts(cls, artifacts: list[dict[str, Any]],
                       enums: dict[str, type[IntEnum]] | None = None) -> ErrorDecoder:
        """One decoder for contracts that call each other (a revert bubbles up from the callee)."""
        def docs(key: str) -> dict[str, Any]:
            return {"errors": {k: v for a in artifacts for k, v in a.get(key, {}).get("errors", {}).items()}}
        return cls([e for a in artifacts for e in a["abi"]], docs("devdoc"), docs("userdoc"), enums)

    def error_names(self) -> set[str]:
        return {name for name, *_ in self._by_selector.values()}

    def hint(self, name: str) -> str:
        """The NatSpec hint of error ``name`` ('' if it has none)."""
        return next((hint for n, *_, hint in self._by_selector.values() if n == name), "")

    def decode(self, data: str | bytes, action: str = "") -> ContractRevert | None:
        """The exception for ``data``, or None if it is not one of this ABI's errors."""
        raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
        known = self._by_selector.get(raw[:4])
        if known is None:
            return None
        name, names, types, kinds, hint = known
        values = [_convert(t, k, v) for t, k, v in zip(types, kinds, abi_decode(types, raw[4:]), strict=True)]
        cls = ERRORS.get(name, ContractRevert)
        return cls(name, dict(zip(names, values, strict=True)), action, hint)


def _convert(abi_type: str, kind: type[IntEnum] | None, value: Any) -> Any:
    if abi_type == "address":
        return to_checksum_address(value)
    if kind is not None:
        return kind(value)
    return value


def _enum_of(param: dict[str, Any], enums: dict[str, type[IntEnum]]) -> type[IntEnum] | None:
    internal = str(param.get("internalType", ""))
    if not internal.startswith("enum "):
        return None
    return enums.get(internal.rsplit(".", 1)[-1].removeprefix("enum "))


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])
