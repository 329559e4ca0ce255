"""Python exceptions for the contract's custom errors.

A revert's data is ``selector || abi-encoded args``; :func:`decode_revert` finds the error
in the contract's ABI and raises the matching :class:`ContractRevert` subclass, whose
message names the error, its arguments and what to do about it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from offchain.errors import PoflRuntimeError


class ContractRevert(PoflRuntimeError):
    """A contract call or transaction reverted."""

    hint: ClassVar[str] = ""

    def __init__(self, name: str, args: dict[str, Any], action: str = "") -> None:
        self.name = name
        self.args_by_name = args
        self.action = action
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        where = f"{action} reverted: " if action else ""
        super().__init__(f"{where}{name}({shown})" + (f" - {self.hint}" if self.hint else ""))


def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else repr(value)


class NotOwner(ContractRevert):
    hint = "only the contract owner may change the configuration"


class InvalidConfig(ContractRevert):
    hint = "fix the named configuration field (thresholds and tolerance <= 10000 bps, quorum in (5000, 10000], " \
           "durations > 0, non-zero hashes)"


class NotAMiner(ContractRevert):
    hint = "register the account with register() and at least minStake first"


class MinerInactive(ContractRevert):
    hint = "the miner's stake is below minStake (slashed?): addStake() to rejoin"


class AlreadyRegistered(ContractRevert):
    hint = "this account is already a miner"


class StakeTooLow(ContractRevert):
    hint = "send at least minStake wei with register()"


class TooManyMiners(ContractRevert):
    hint = "the miner set is full"


class WrongRound(ContractRevert):
    hint = "the round moved on: read currentRound and act in it"


class WrongPhase(ContractRevert):
    hint = "wait for the expected phase (currentPhase()) before this action"


class EmptyCommitment(ContractRevert):
    hint = "commit computeCommitment(round, cid, accuracyBps, salt, miner), never zero"


class AlreadyCommitted(ContractRevert):
    hint = "a miner commits once per round"


class NotCommitted(ContractRevert):
    hint = "only a miner that committed in this round can reveal"


class AlreadyRevealed(ContractRevert):
    hint = "a miner reveals once per round"


class RevealMismatch(ContractRevert):
    hint = "reveal exactly the cid, accuracy and salt that were committed"


class AccuracyOutOfRange(ContractRevert):
    hint = "accuracy is in basis points, 0..10000"


class EmptyCid(ContractRevert):
    hint = "give the model's IPFS CID"


class CidTooLong(ContractRevert):
    hint = "a CID is at most MAX_CID_LENGTH bytes"


class StaleCandidate(ContractRevert):
    hint = "the candidate changed: read roundInfo().candidate and vote on it"


class VotingOnOwnClaim(ContractRevert):
    hint = "a claimant cannot validate its own claim"


class NotInCommittee(ContractRevert):
    hint = "only the round's drawn committee votes (isValidator())"


class AlreadyVoted(ContractRevert):
    hint = "a validator votes once per candidate"


class LeaveNotAllowed(ContractRevert):
    hint = "leave in a Commit phase of a round the miner has not committed to"


class NothingToWithdraw(ContractRevert):
    hint = "no rewards are credited to this account"


class TransferFailed(ContractRevert):
    hint = "the receiving account rejected the payment"


class Reentrancy(ContractRevert):
    hint = "re-entrant call refused"


class BlockNotFound(ContractRevert):
    hint = "height is beyond blockCount() - 1"


class ZeroValue(ContractRevert):
    hint = "send a non-zero amount"


ERRORS: dict[str, type[ContractRevert]] = {
    cls.__name__: cls for cls in ContractRevert.__subclasses__()
}


class ErrorDecoder:
    """Maps revert data to exceptions using a contract's ABI."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self._by_selector: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for entry in abi:
            if entry.get("type") != "error":
                continue
            types = [_abi_type(i) for i in entry["inputs"]]
            selector = function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
            self._by_selector[selector] = (entry["name"], [i["name"] for i in entry["inputs"]], types)

    def error_names(self) -> set[str]:
        return {name for name, _, _ in self._by_selector.values()}

    def decode(self, data: str | bytes, action: str = "") -> ContractRevert | None:
        """The exception for ``data``, or None if it is not one of this ABI's errors."""
        raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
        known = self._by_selector.get(raw[:4])
        if known is None:
            return None
        name, names, types = known
        values = [to_checksum_address(v) if t == "address" else v for t, v in zip(types, abi_decode(types, raw[4:]),
                                                                                  strict=True)]
        cls = ERRORS.get(name, ContractRevert)
        return cls(name, dict(zip(names, values, strict=True)), action)


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])
