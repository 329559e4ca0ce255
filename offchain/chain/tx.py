"""Sending contract transactions: local signing, batched submission, decoded reverts.

:func:`send` estimates gas (which surfaces a revert as a decoded :class:`ContractRevert`
before anything is broadcast), signs with the sender's key and returns a
:class:`PendingTx` at once; callers that send many transactions wait for all the
receipts together (:func:`wait_all`) instead of one after another.
"""

from __future__ import annotations

import ast
import logging
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import rlp
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted
from web3.types import TxReceipt

try:
    from eth_tester.exceptions import TransactionFailed as EthTesterTransactionFailed
except ImportError:  # eth-tester is only the in-process backend
    class EthTesterTransactionFailed(Exception):  # type: ignore[no-redef]
        pass

from offchain.chain.accounts import LocalSigner
from offchain.chain.blobs import BlobSidecar
from offchain.chain.errors import ContractRevert, ErrorDecoder
from offchain.errors import PoflRuntimeError, PoflTimeoutError

GAS_HEADROOM = 1.25

log = logging.getLogger("pofl.tx")


class TransactionFailed(PoflRuntimeError):
    """A transaction was mined but reverted, for a reason the ABI does not name."""


class InsufficientFunds(PoflRuntimeError):
    """The signing account cannot pay for a transaction: the miner's own fault, not the network's."""

    exit_code = 4


@dataclass
class PendingTx:
    """A broadcast transaction; :meth:`wait` returns its receipt or raises its revert."""

    w3: Web3
    tx_hash: bytes
    action: str
    decoder: ErrorDecoder
    call: dict[str, Any]

    def wait(self, timeout: float = 120.0) -> TxReceipt:
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(self.tx_hash, timeout=timeout, poll_latency=0.01)
        except TimeExhausted:
            raise PoflTimeoutError(f"{self.action}: no receipt for 0x{self.tx_hash.hex()} within {timeout:.0f} s; "
                               f"is the node mining?") from None
        if receipt["status"] != 1:
            self._raise_replayed(receipt["blockNumber"])
        return receipt

    def _raise_replayed(self, block: int) -> None:
        try:
            self.w3.eth.call(self.call, block_identifier=block - 1)
        except REVERT_ERRORS as exc:
            raise_decoded(exc, self.decoder, self.action)
        raise TransactionFailed(f"{self.action}: transaction 0x{self.tx_hash.hex()} reverted in block {block}")


def _eth_tester_revert_data(exc: Exception) -> str | None:
    """web3's eth-tester provider reports a custom-error revert as the text
    ``execution reverted: b'...'``; recover the bytes (a literal, parsed without evaluation)."""
    text = str(exc.args[0]) if exc.args else ""
    literal = text.removeprefix("execution reverted: ")
    if not literal.startswith(("b'", 'b"')):
        return None
    try:
        raw = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return None
    return "0x" + raw.hex() if isinstance(raw, bytes) else None


REVERT_ERRORS: tuple[type[Exception], ...] = (ContractCustomError, ContractLogicError, EthTesterTransactionFailed)


def call_view(call: Any, decoder: ErrorDecoder, name: str, at: str | int = "latest") -> Any:
    """``call`` (a contract function bound to its arguments) at block ``at``; a revert raises the contract's
    own error."""
    try:
        return call.call(block_identifier=at)
    except REVERT_ERRORS as exc:
        raise_decoded(exc, decoder, name)


def raise_decoded(exc: Exception, decoder: ErrorDecoder, action: str) -> None:
    """Re-raise a web3 revert as the contract's own error when its data names one."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if data is None and isinstance(exc, EthTesterTransactionFailed):
        data = _eth_tester_revert_data(exc)
    if isinstance(data, str) and len(data) >= 10:
        decoded = decoder.decode(data, action)
        if decoded is not None:
            raise decoded from None
    raise exc


def _call_fields(fn: ContractFunction | ContractConstructor) -> dict[str, Any]:
    if isinstance(fn, ContractConstructor):
        return {"data": fn.data_in_transaction}
    return {"to": fn.address, "data": fn._encode_transaction_data()}


def send(signer: LocalSigner, fn: ContractFunction | ContractConstructor, decoder: ErrorDecoder, *, value: int = 0,
         gas: int | None = None, min_gas: int = 0, action: str | None = None,
         blobs: Sequence[BlobSidecar] = ()) -> PendingTx:
    """Estimate, sign and broadcast ``fn`` from ``signer``; return without waiting for a receipt.

    ``gas`` skips the estimate. Otherwise the estimate surfaces a revert before anything is broadcast, and
    the limit is the estimate with headroom but at least ``min_gas``: for a call whose cost depends on what
    other transactions mined before it do (the estimate runs against the latest block). ``blobs`` makes it an
    EIP-4844 (type 3) transaction carrying them (``BLOBHASH`` answers their versioned hashes)."""
    w3 = signer.w3
    action = action or getattr(fn, "fn_name", "deploy")
    call = {"from": signer.address, "value": value, **_call_fields(fn)}
    if blobs:
        call |= {"blobVersionedHashes": [b.versioned_hash for b in blobs], "maxFeePerBlobGas": _blob_fee(w3)}
    try:
        if gas is None:
            gas = max(int(w3.eth.estimate_gas(call) * GAS_HEADROOM) + 10_000, min_gas)
    except REVERT_ERRORS as exc:
        raise_decoded(exc, decoder, action)
    except Exception as exc:
        _raise_if_unfunded(exc, signer, action)
        raise
    tx = {**call, **_fees(w3), "gas": gas, "nonce": signer.next_nonce(), "chainId": _chain_id(w3)}
    if blobs:
        tx["type"] = 3
    signed = signer.account.sign_transaction(tx)
    raw = bytes(signed.raw_transaction)
    if blobs:  # the network form: the signed body and its sidecar (EIP-4844)
        raw = b"\x03" + rlp.encode([rlp.decode(raw[1:]), [b.blob for b in blobs], [b.commitment for b in blobs],
                                    [b.proof for b in blobs]])
    try:
        tx_hash = w3.eth.send_raw_transaction(raw)
    except Exception as exc:
        signer.resync()  # the nonce was taken but nothing was broadcast: read it from the node again
        _raise_if_unfunded(exc, signer, action)
        raise
    signer.broadcast(tx["nonce"])
    log.debug("sent %s from %s: tx 0x%s, nonce %d, gas limit %d", action, signer.address, bytes(tx_hash).hex(),
              tx["nonce"], gas)
    return PendingTx(w3, bytes(tx_hash), action, decoder, call)


def _raise_if_unfunded(exc: Exception, signer: LocalSigner, action: str) -> None:
    if "insufficient funds" in str(exc).lower():
        raise InsufficientFunds(f"{action}: account {signer.address} cannot pay for the transaction ({exc}); "
                                f"fund it, or use a funded key") from None


def _blob_fee(w3: Web3) -> int:
    """A max fee a unit of blob gas: twice the latest blob base fee, at least 1 gwei."""
    try:
        base = int(w3.eth.blob_base_fee)
    except Exception:  # nodes without eth_blobBaseFee
        base = 0
    return max(2 * base, 10**9)


def wait_all(pending: Iterable[PendingTx], timeout: float = 120.0) -> list[TxReceipt]:
    """Receipts of all ``pending`` transactions, in order; raises the first revert."""
    return [p.wait(timeout) for p in pending]


# Per provider object (weak keys: a provider that is gone can never lend its cache to a new one).
_chain_ids: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()


def _chain_id(w3: Web3) -> int:
    if w3.provider not in _chain_ids:
        _chain_ids[w3.provider] = w3.eth.chain_id
    return _chain_ids[w3.provider]


_FEE_TTL_S = 1.0
_DEFAULT_TIP = 10**9
_fee_cache: weakref.WeakKeyDictionary[object, tuple[float, dict[str, int]]] = weakref.WeakKeyDictionary()


def _fees(w3: Web3) -> dict[str, int]:
    """EIP-1559 fee fields: a max fee of twice the latest base fee plus the tip, cached for a second."""
    key = w3.provider
    cached = _fee_cache.get(key)
    if cached and time.monotonic() - cached[0] < _FEE_TTL_S:
        return cached[1]
    base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
    try:
        tip = min(int(w3.eth.max_priority_fee), _DEFAULT_TIP)
    except Exception:  # nodes without eth_maxPriorityFeePerGas
        tip = _DEFAULT_TIP
    fees = {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}
    _fee_cache[key] = (time.monotonic(), fees)
    return fees


__all__ = ["ContractRevert", "InsufficientFunds", "PendingTx", "TransactionFailed", "send", "wait_all"]
