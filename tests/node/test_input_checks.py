"""Input checks that need a server: a devnet launcher refusing options of another, an IPFS put over the limit,
a key per miner (the in-process checks: tests/unit/test_input_checks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from web3 import Web3

from offchain.app.preflight import miner_signers
from offchain.chain.accounts import dev_key
from offchain.errors import LauncherError
from offchain.servers.devnet import launch_devnet
from offchain.store import compute_cid
from offchain.store.base import BlobTooLarge
from offchain.store.ipfs import IpfsStore

# ------------------------------------------------------------------ chain


def test_hardhat_refuses_anvil_options(tmp_path: Path) -> None:
    with pytest.raises(LauncherError, match="Anvil options"):
        launch_devnet("hardhat", state=tmp_path / "s.json")


# ------------------------------------------------------------------ store


def test_ipfs_put_over_the_limit_sends_nothing(ipfs_daemon: object) -> None:
    store = IpfsStore(ipfs_daemon.api_multiaddr, max_bytes=10)  # type: ignore[attr-defined]
    with pytest.raises(BlobTooLarge):
        store.put(b"x" * 11)
    assert not store.has(compute_cid(b"x" * 11))


# ------------------------------------------------------------------ miners


def test_miner_signers_need_a_key_per_miner(anvil_w3: Web3) -> None:
    with pytest.raises(ValueError, match="3 miners need 3 keys, got 1"):
        miner_signers(anvil_w3, 3, [dev_key(1)])
