"""Fresh funded accounts on a devnet, for tests and benchmarks: new random keys, each given a balance, so that
no caller picks dev-account indices by hand (two callers can never share a key, nor drain each other's ETH).
Nothing in production imports it.

Anvil and Hardhat set a balance directly (``anvil_setBalance``, ``hardhat_setBalance``); the in-process
eth-tester chain has no such method, so dev account 0 (funded there with a million ETH) transfers it.
"""

from __future__ import annotations

import os

from eth_account import Account
from web3 import EthereumTesterProvider, Web3

from offchain.chain.accounts import LocalSigner, dev_key
from offchain.errors import PoflRuntimeError

FUNDED_WEI = 10**20
"""What a fresh signer holds unless told otherwise: 100 ETH, plenty for stakes, bonds and gas."""

_SET_BALANCE = {"anvil": "anvil_setBalance", "hardhatnetwork": "hardhat_setBalance"}


def fresh_signers(w3: Web3, n: int, wei: int = FUNDED_WEI) -> list[LocalSigner]:
    """``n`` signers with new random keys, each holding exactly ``wei`` on the devnet behind ``w3``."""
    signers = [LocalSigner(w3, Account.create(os.urandom(32)).key.to_0x_hex()) for _ in range(n)]
    fund(w3, [s.address for s in signers], wei)
    return signers


def fund(w3: Web3, addresses: list[str], wei: int) -> None:
    """Give each of ``addresses`` (fresh accounts) a balance of ``wei`` on a devnet."""
    if not addresses:
        return
    if isinstance(w3.provider, EthereumTesterProvider):
        _transfer_from_dev_account(w3, addresses, wei)
        return
    client = str(w3.client_version)
    method = _SET_BALANCE.get(client.split("/", 1)[0].lower())
    if method is None:
        raise PoflRuntimeError(f"cannot fund accounts on {client!r}: not Anvil, Hardhat or eth-tester")
    for address in addresses:
        answer = w3.provider.make_request(method, [address, hex(wei)])  # type: ignore[arg-type]
        if answer.get("error"):
            raise PoflRuntimeError(f"{method} {address}: {answer['error']}")


def _transfer_from_dev_account(w3: Web3, addresses: list[str], wei: int) -> None:
    funder = LocalSigner(w3, dev_key(0))
    tip = 10**9
    fee = 2 * int(w3.eth.get_block("latest").get("baseFeePerGas", 0)) + tip
    chain_id = w3.eth.chain_id
    hashes = []
    for address in addresses:
        tx = {"to": address, "value": wei, "gas": 21_000, "maxFeePerGas": fee, "maxPriorityFeePerGas": tip,
              "nonce": funder.next_nonce(), "chainId": chain_id}
        hashes.append(w3.eth.send_raw_transaction(funder.account.sign_transaction(tx).raw_transaction))
    for tx_hash in hashes:
        if w3.eth.wait_for_transaction_receipt(tx_hash)["status"] != 1:
            raise PoflRuntimeError(f"funding transfer 0x{bytes(tx_hash).hex()} failed")
