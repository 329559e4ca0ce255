"""Shared fixtures: real servers, started once per test session and always stopped."""

from __future__ import annotations

import os
import tempfile

# Deployment records go to the working directory (./deployments); the tests keep theirs out of the checkout.
# Set before any offchain import reads it, and inherited by every `pofl` process a test starts.
os.environ.setdefault("POFL_DEPLOYMENTS", tempfile.mkdtemp(prefix="pofl-test-deployments-"))

from collections.abc import Iterator

import pytest
from web3 import Web3

from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect, in_process_web3
from offchain.servers.devnet import Devnet, launch_devnet
from offchain.servers.ipfs import IpfsDaemon, launch_ipfs_daemon


def _running(server: Devnet | IpfsDaemon) -> Iterator[Devnet | IpfsDaemon]:
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def anvil() -> Iterator[Devnet]:
    yield from _running(launch_devnet("anvil", accounts=200))  # type: ignore[misc]


@pytest.fixture(scope="session")
def anvil_w3(anvil: Devnet) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture(scope="session")
def hardhat() -> Iterator[Devnet]:
    yield from _running(launch_devnet("hardhat", accounts=20))  # type: ignore[misc]


@pytest.fixture(scope="session")
def ipfs_daemon() -> Iterator[IpfsDaemon]:
    yield from _running(launch_ipfs_daemon())  # type: ignore[misc]


@pytest.fixture(params=["anvil", "eth-tester"])
def any_w3(request: pytest.FixtureRequest) -> Web3:
    """The same test on a real Anvil and on the in-process eth-tester chain."""
    if request.param == "anvil":
        return request.getfixturevalue("anvil_w3")
    return in_process_web3()


def signers(w3: Web3, indices: range | list[int]) -> list[LocalSigner]:
    """Fresh signers (fresh nonce counters) for dev accounts ``indices``."""
    return [LocalSigner(w3, dev_key(i)) for i in indices]
