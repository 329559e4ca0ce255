"""Key hygiene and secret redaction: the public dev keys sign only on local devnets; RPC secrets never reach output."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from web3 import Web3

from offchain.chain.accounts import dev_key
from offchain.chain.connect import ChainConnectionError, connect
from offchain.chain.keys import KeySources, check_private_key, dev_keys_allowed, read_key_file, resolve_key
from offchain.cli import cli
from offchain.errors import ConfigError, KeyPolicyError, PoflError
from offchain.redaction import redact_text, redact_url
from offchain.servers.devnet import LOOPBACK, Devnet, _anvil_argv
from offchain.servers.process import ManagedProcess, free_port

SEPOLIA = 11155111


@pytest.fixture(scope="module")
def sepolia_like(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A loopback Anvil that reports Sepolia's chain id: a chain the dev keys must not touch."""
    port = free_port(LOOPBACK)
    log = tmp_path_factory.mktemp("anvil") / "anvil.log"
    argv = _anvil_argv(port, 3, None, None)
    argv[argv.index("--chain-id") + 1] = str(SEPOLIA)
    proc = ManagedProcess("anvil", argv, log_path=log).start()
    devnet = Devnet("anvil", LOOPBACK, port, proc)
    proc.wait_until(lambda: devnet.chain_id() == SEPOLIA, 60, "anvil with chain id 11155111")
    try:
        yield devnet.rpc_url
    finally:
        proc.stop()


def pofl(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner(env=env).invoke(cli, list(args))
    return result.exit_code, result.output


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


def test_commands_refuse_the_dev_keys_on_a_chain_that_is_not_a_devnet(sepolia_like: str, tmp_path: Path) -> None:
    block = connect(sepolia_like).eth.block_number
    code, out = pofl("deploy", "--rpc-url", sepolia_like, "--store-dir", str(tmp_path), env={"POFL_KEY": ""})
    assert code == 2 and "KeyPolicyError" in out and "POFL_KEY" in out and "--keystore" in out, out
    owner = Account.create().key.to_0x_hex()
    code, out = pofl("run", "--rpc-url", sepolia_like, "--rounds", "1", "--store-dir", str(tmp_path),
                     env={"POFL_KEY": owner})
    assert code == 2 and "--miner-keys" in out, out
    code, out = pofl("miner", "--rpc-url", sepolia_like, "--contract", "0x" + "11" * 20, "--clients", "0/10",
                     env={"POFL_KEY": ""})
    assert code == 2 and "KeyPolicyError" in out and "POFL_KEY" in out, out
    assert connect(sepolia_like).eth.block_number == block  # nothing was sent


def test_the_pool_refuses_the_dev_keys_off_a_devnet(sepolia_like: str) -> None:
    import numpy as np

    from offchain.data import Dataset, FedDataset
    from offchain.model import FlexModel
    from offchain.pool import PoFLBlockchainPool, init_server_model

    @init_server_model
    def build() -> FlexModel:
        from offchain.fl.architectures import build_model

        model = FlexModel()
        model["model"] = build_model("simplenet")
        return model

    fed = FedDataset({f"c{i}": Dataset(np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.int64)) for i in range(2)})
    pool = PoFLBlockchainPool(fed, build, 2, rpc_url=sepolia_like)
    with pytest.raises(KeyPolicyError, match="owner_key= and miner_keys="):
        pool._keys(sepolia_like, SEPOLIA)
    pool = PoFLBlockchainPool(fed, build, 2, rpc_url=sepolia_like, owner_key=dev_key(0), miner_keys=[dev_key(1)])
    with pytest.raises(ConfigError, match="2 miners need 2 keys, got 1"):
        pool._keys(sepolia_like, SEPOLIA)


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


def test_an_unreachable_rpc_error_does_not_leak_its_secrets() -> None:
    url = f"http://user:pw987654@127.0.0.1:{free_port()}/v3/abcdef0123456789abcdef?apikey=QSECRET42"
    with pytest.raises(ChainConnectionError) as info:
        connect(url, timeout=2)
    assert isinstance(info.value, PoflError) and isinstance(info.value, ConnectionError)
    for secret in ("pw987654", "abcdef0123456789abcdef", "QSECRET42"):
        assert secret not in str(info.value)


@pytest.mark.slow
def test_a_run_never_prints_or_records_the_rpc_urls_secrets(anvil: Devnet, tmp_path: Path) -> None:
    url = anvil.rpc_url.replace("http://", "http://alice:pw55555555@") + "/?apikey=QSECRET7"
    assert Web3(Web3.HTTPProvider(url)).eth.chain_id == 31337  # Anvil ignores the userinfo and the query
    metrics = tmp_path / "m.json"
    start = time.monotonic()
    code, out = pofl("run", "--rpc-url", url, "--rounds", "1", "--threshold", "0", "--store-dir", str(tmp_path / "s"),
                     "--metrics", str(metrics))
    assert code == 0, out
    assert time.monotonic() - start < 300
    for text in (out, metrics.read_text()):
        for secret in ("pw55555555", "QSECRET7", "alice"):
            assert secret not in text
    shown = anvil.rpc_url.replace("http://", "http://***@") + "/?***"
    assert json.loads(metrics.read_text())["meta"]["rpc_url"] == redact_url(url) == shown
