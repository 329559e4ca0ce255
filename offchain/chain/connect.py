"""Web3 connections: any JSON-RPC URL, or the in-process eth-tester chain (``"eth-tester"``)."""

from __future__ import annotations

from web3 import EthereumTesterProvider, Web3

from offchain.chain.accounts import DEV_MNEMONIC
from offchain.defaults import IN_PROCESS
from offchain.errors import PoflConnectionError
from offchain.redaction import redact_text, redact_url


class ChainConnectionError(PoflConnectionError):
    """The chain's RPC endpoint did not answer."""


# Transactions are signed here with an explicit chain id and gas, and no ENS names are used, so web3's
# validation middleware (an eth_chainId round trip before every request), ENS resolution and
# gas-estimate buffering only cost time.
UNNEEDED_MIDDLEWARE = ("validation", "ens_name_to_address", "gas_estimate", "gas_price_strategy")


def _lean(w3: Web3) -> Web3:
    for name in UNNEEDED_MIDDLEWARE:
        if name in w3.middleware_onion:
            w3.middleware_onion.remove(name)
    return w3


def in_process_web3(accounts: int = 20) -> Web3:
    """A fresh in-process chain (py-evm) whose funded accounts are the dev mnemonic's."""
    from eth_tester import EthereumTester, PyEVMBackend

    backend = PyEVMBackend.from_mnemonic(DEV_MNEMONIC, num_accounts=accounts, hd_path="m/44'/60'/0'/0",
                                         genesis_state_overrides={"balance": 10**6 * 10**18})
    return _lean(Web3(EthereumTesterProvider(EthereumTester(backend))))


def connect(rpc_url: str, *, timeout: float = 30.0) -> Web3:
    """Connect to ``rpc_url`` (http(s)://, ws(s)://) or to a new in-process chain for ``"eth-tester"``."""
    if rpc_url == IN_PROCESS:
        return in_process_web3()
    if rpc_url.startswith(("ws://", "wss://")):
        w3 = Web3(Web3.LegacyWebSocketProvider(rpc_url, websocket_timeout=timeout))
    else:
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    try:
        w3.eth.chain_id  # noqa: B018 - the cheapest call that proves the endpoint answers
    except Exception as exc:
        raise ChainConnectionError(
            f"no Ethereum JSON-RPC node answers at {redact_url(rpc_url)} ({exc.__class__.__name__}: "
            f"{redact_text(str(exc), rpc_url)}); start one with `pofl devnet` or pass the right --rpc-url") from None
    return _lean(w3)
