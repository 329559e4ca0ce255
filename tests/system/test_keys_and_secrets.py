"""Key hygiene and secret redaction as a user meets them: the public dev keys sign only on local devnets (commands
and the pool against a chain that says it is Sepolia), RPC secrets never reach output (the rules in process:
tests/unit/test_keys_and_secrets.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from web3 import Web3

from offchain.chain.accounts import dev_key
from offchain.chain.connect import ChainConnectionError, connect
from offchain.cli import cli
from offchain.errors import ConfigError, KeyPolicyError, PoflError
from offchain.redaction import redact_url
from offchain.servers.devnet import Devnet
from offchain.servers.process import free_port

SEPOLIA = 11155111


def pofl(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner(env=env).invoke(cli, list(args))
    return result.exit_code, result.output


# ------------------------------------------------------------------ the dev-key rule


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
