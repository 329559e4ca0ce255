"""Keys and locally-signed transactions with per-key nonce tracking.

Every miner signs its own transactions with its own key; a :class:`LocalSigner` hands out
nonces from a local counter (seeded from the node's pending count) so that many
transactions can be in flight at once, from many signers in one process, without a
round trip per nonce. Two processes must not share a key.
"""

from __future__ import annotations

import threading
from functools import cache

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from offchain.errors import PoflValueError

Account.enable_unaudited_hdwallet_features()

DEV_MNEMONIC = "test test test test test test test test test test test junk"
"""The well-known development mnemonic: every local devnet (Anvil, Hardhat, eth-tester) funds its accounts."""
DEV_PATH = "m/44'/60'/0'/0/"
"""The dev accounts' derivation path; account i is DEV_PATH + i."""
DEV_CHAIN_ID = 31337
"""The chain id of the devnets this project starts (Anvil's and Hardhat's default)."""


@cache
def dev_key(index: int, mnemonic: str = DEV_MNEMONIC) -> str:
    """Private key (0x-hex) of account ``index`` of the development mnemonic (m/44'/60'/0'/0/i)."""
    if index < 0:
        raise PoflValueError(f"account index must be >= 0, got {index}")
    return Account.from_mnemonic(mnemonic, account_path=f"{DEV_PATH}{index}").key.to_0x_hex()


def dev_address(index: int) -> str:
    """The checksummed address of dev account ``index``."""
    return Account.from_key(dev_key(index)).address


class LocalSigner:
    """One private key bound to one chain connection."""

    def __init__(self, w3: Web3, private_key: str) -> None:
        self.w3 = w3
        self.account: LocalAccount = Account.from_key(private_key)
        self._nonce: int | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.account.address

    def next_nonce(self) -> int:
        with self._lock:
            if self._nonce is None:
                self._nonce = self.w3.eth.get_transaction_count(self.address, "pending")
            nonce = self._nonce
            self._nonce += 1
            return nonce

    def resync(self) -> None:
        """Forget the local counter; the next nonce is read from the node again."""
        with self._lock:
            self._nonce = None

    def balance(self) -> int:
        return self.w3.eth.get_balance(self.address)

    def __repr__(self) -> str:
        return f"LocalSigner({self.address})"
