"""Keys and locally-signed transactions with per-key nonce tracking.

Every miner signs its own transactions with its own key; a :class:`LocalSigner` hands out
nonces from a local counter (seeded from the node's pending count) so that many
transactions can be in flight at once, from many signers in one process, without a
round trip per nonce. Two processes must not share a key.
"""

from __future__ import annotations

import logging
import threading
from functools import cache

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from offchain.errors import PoflValueError

Account.enable_unaudited_hdwallet_features()
log = logging.getLogger("pofl.keys")

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
    """One private key bound to one chain connection.

    Nonces come from a local counter, seeded from the node: two processes signing with one key would take
    the same nonces and fight. So whenever the counter is read from the node again (:meth:`resync`, or
    :meth:`check_exclusive`), a node that counts more transactions than this signer sent is reported: another
    process is signing with this key.
    """

    def __init__(self, w3: Web3, private_key: str) -> None:
        self.w3 = w3
        self.account: LocalAccount = Account.from_key(private_key)
        self._nonce: int | None = None
        self._sent: int | None = None  # the nonce after this signer's last broadcast transaction, once it sent one
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.account.address

    def next_nonce(self) -> int:
        with self._lock:
            if self._nonce is None:
                self._nonce, _ = self._node_nonce()
            nonce = self._nonce
            self._nonce += 1
            return nonce

    def broadcast(self, nonce: int) -> None:
        """The transaction of ``nonce`` reached the node (what :meth:`check_exclusive` counts on)."""
        with self._lock:
            self._sent = max(self._sent or 0, nonce + 1)

    def resync(self) -> None:
        """Forget the local counter; the next nonce is read from the node again."""
        with self._lock:
            self._nonce = None

    def check_exclusive(self) -> bool:
        """Whether only this signer has sent transactions with its key since its first one (one node call);
        a warning is logged when not."""
        with self._lock:
            if self._sent is None:
                return True
            node, shared = self._node_nonce()
            if shared:
                self._nonce = node
            return not shared

    def _node_nonce(self) -> tuple[int, bool]:
        """The node's pending nonce of this key, and whether another process took nonces of it (then warned)."""
        node = int(self.w3.eth.get_transaction_count(self.address, "pending"))
        shared = self._sent is not None and node > self._sent
        if shared:
            log.warning("another process is signing with the key of %s: the node counts %d transactions, this "
                        "process sent up to nonce %d. Two processes must not share a key: they take the same nonces "
                        "and one's transactions fail; give each miner a key of its own", self.address, node,
                        self._sent - 1)  # type: ignore[operator]
            self._sent = node
        return node, shared

    def balance(self) -> int:
        return self.w3.eth.get_balance(self.address)

    def __repr__(self) -> str:
        return f"LocalSigner({self.address})"
