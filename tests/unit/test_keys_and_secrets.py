"""Key hygiene and secret redaction, in process: the public dev keys sign only on local devnets; RPC secrets never
reach output (the commands against a chain: tests/system/test_keys_and_secrets.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from offchain.chain.accounts import dev_key
from offchain.chain.keys import KeySources, check_private_key, dev_keys_allowed, read_key_file, resolve_key
from offchain.errors import ConfigError, KeyPolicyError
from offchain.redaction import redact_text, redact_url

SEPOLIA = 11155111


# ------------------------------------------------------------------ the dev-key rule


@pytest.mark.parametrize(("url", "chain_id", "started", "allowed"), [
    ("http://127.0.0.1:8545", 31337, False, True),
    ("http://localhost:8545", 1337, False, True),
    ("http://[::1]:8545", 31337, False, True),
    ("eth-tester", 131277322940537, False, True),
    ("http://127.0.0.1:8545", SEPOLIA, False, False),  # a loopback tunnel to a real network
    ("https://rpc.example.org", 31337, False, False),  # a remote node that says it is a devnet
    ("http://10.0.0.5:8545", 31337, False, False),
    ("http://127.0.0.1:8545", SEPOLIA, True, True),  # started by this process
])
def test_dev_keys_only_on_local_devnets(url: str, chain_id: int, started: bool, allowed: bool) -> None:
    assert dev_keys_allowed(url, chain_id, started_here=started) is allowed


def test_no_key_off_a_devnet_is_refused_naming_where_keys_come_from() -> None:
    with pytest.raises(KeyPolicyError, match=r"not a local devnet.*POFL_KEY.*--keystore"):
        resolve_key(KeySources(), rpc_url="https://rpc.example.org/v3/0123456789abcdef0123", chain_id=SEPOLIA)
    with pytest.raises(KeyPolicyError) as info:
        resolve_key(KeySources(), rpc_url="https://rpc.example.org/v3/0123456789abcdef0123", chain_id=SEPOLIA)
    assert "0123456789abcdef0123" not in str(info.value)  # the URL's key is redacted in the message
    assert resolve_key(KeySources(), rpc_url="http://127.0.0.1:8545", chain_id=31337) == dev_key(0)
    with pytest.raises(KeyPolicyError, match="a key is required"):  # a miner never signs with a dev key by default
        resolve_key(KeySources(), rpc_url="http://127.0.0.1:8545", chain_id=31337, dev_key_index=None)


def test_key_sources_in_order_and_a_warning_for_a_command_line_key_off_a_devnet(tmp_path: Path) -> None:
    a, b, c = (Account.create().key.to_0x_hex() for _ in range(3))
    key_file = tmp_path / "k"
    key_file.write_text(b + "\n")
    remote = {"rpc_url": "https://rpc.example.org", "chain_id": SEPOLIA}
    assert resolve_key(KeySources(key_file=key_file, env_key=c, cli_key=a), **remote) == b
    assert resolve_key(KeySources(env_key=c, cli_key=a), **remote) == c
    warnings: list[str] = []
    assert resolve_key(KeySources(cli_key=a), **remote, warn=warnings.append) == a
    assert len(warnings) == 1 and "visible in `ps`" in warnings[0] and "POFL_KEY" in warnings[0]
    warnings.clear()
    resolve_key(KeySources(cli_key=a), rpc_url="http://127.0.0.1:8545", chain_id=31337, warn=warnings.append)
    assert warnings == []


def test_an_encrypted_keystore_is_read_with_its_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    account = Account.create()
    keystore = tmp_path / "keystore.json"
    keystore.write_text(json.dumps(Account.encrypt(account.key, "correct horse")))
    sources = KeySources(keystore=keystore)
    remote = {"rpc_url": "https://rpc.example.org", "chain_id": SEPOLIA}
    monkeypatch.setenv("POFL_KEYSTORE_PASSWORD", "correct horse")
    assert resolve_key(sources, **remote) == account.key.to_0x_hex()
    monkeypatch.setenv("POFL_KEYSTORE_PASSWORD", "wrong")
    with pytest.raises(ConfigError, match="cannot decrypt it"):
        resolve_key(sources, **remote)
    monkeypatch.delenv("POFL_KEYSTORE_PASSWORD")
    assert resolve_key(sources, **remote, password=lambda: "correct horse") == account.key.to_0x_hex()
    with pytest.raises(ConfigError, match="set POFL_KEYSTORE_PASSWORD"):
        resolve_key(sources, **remote)
    keystore.write_text("{not json")
    with pytest.raises(ConfigError, match="not a JSON keystore"):
        resolve_key(sources, **remote, password=lambda: "x")


@pytest.mark.parametrize("text", ["abc", "0x1234", "0x" + "g" * 64, "0x" + "00" * 32, "0x" + "ff" * 32, ""])
def test_malformed_keys_are_refused_naming_their_source(text: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--key is not a private key"):
        check_private_key(text, "--key")
    path = tmp_path / "key"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"--key-file {path} is not a private key"):
        read_key_file(path)
    with pytest.raises(ConfigError, match="cannot read it"):
        read_key_file(tmp_path / "missing")


# ------------------------------------------------------------------ redaction


@pytest.mark.parametrize(("url", "shown"), [
    ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
    ("https://alice:s3cret@node.example.org:8545/rpc", "https://***@node.example.org:8545/rpc"),
    ("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef", "https://mainnet.infura.io/v3/***"),
    ("https://eth.example.org/rpc?apikey=SECRET&x=1", "https://eth.example.org/rpc?***"),
    ("wss://node.example.org/ws#token", "wss://node.example.org/ws"),
    ("http://[::1]:8545/", "http://[::1]:8545/"),
    ("eth-tester", "eth-tester"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_scrubs_every_secret_of_the_url() -> None:
    url = "https://bob:pw123456@node.example.org/v2/key0123456789ABCDEF?apikey=QUERYSECRET"
    message = f"HTTPSConnectionPool: Max retries exceeded with url: {url}"
    cleaned = redact_text(message, url)
    for secret in ("pw123456", "key0123456789ABCDEF", "apikey=QUERYSECRET", "bob"):
        assert secret not in cleaned
