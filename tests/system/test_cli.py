"""The `pofl` commands, run as a user would (in process through click's runner) against a devnet, and the
command line starting without torch (the store commands, which start nothing: tests/unit/test_cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from offchain.app.deployment import genesis_cid
from offchain.chain.connect import connect
from offchain.chain.deploy import chain_key
from offchain.cli import cli
from offchain.miner.run_config import RunConfig
from offchain.servers.devnet import Devnet


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_deploy_and_info_on_anvil(anvil: Devnet, tmp_path: Path) -> None:
    code, out = run("deploy", "--rpc-url", anvil.rpc_url, "--genesis-cid",
                    "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", "--deployments-dir", str(tmp_path))
    assert code == 0, out
    address = out.split(" at ")[1].split()[0]
    record = json.loads((tmp_path / chain_key(connect(anvil.rpc_url)) / "PoFLConsensus.json").read_text())
    assert record["address"] == address and record["settings"]["n_miners"] == 10
    code, out = run("info", "--rpc-url", anvil.rpc_url, "--contract", address, "--json")
    assert code == 0 and '"threshold_bps": 6000' in out and '"phase": "COMMIT"' in out
    code, out = run("info", "--rpc-url", anvil.rpc_url, "--contract", address)
    assert code == 0 and "round 1, phase COMMIT" in out and "threshold 0.6" in out


def test_deploy_publishes_a_genesis_model_when_none_is_given(anvil: Devnet, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    code, out = run("deploy", "--rpc-url", anvil.rpc_url, "--store-dir", store, "--deployments-dir", str(tmp_path))
    assert code == 0, out
    cid = out.split("stored as ")[1].split()[0]
    assert cid == genesis_cid(RunConfig())
    code, out = run("store", "verify", cid, "--architecture", "simplenet", "--store-dir", store)
    assert code == 0 and "a valid simplenet model" in out


def test_cli_usage_errors(anvil: Devnet, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "--rpc-url", anvil.rpc_url, "--state", str(tmp_path / "s.json")])
    assert result.exit_code == 2 and "--state applies to an auto-started Anvil" in result.output
    miner_args = ["miner", "--rpc-url", anvil.rpc_url, "--contract", "0x" + "1" * 40, "--clients", "0/10"]
    result = CliRunner(env={"POFL_KEY": ""}).invoke(cli, miner_args)
    assert result.exit_code == 2 and "KeyPolicyError: a key is required" in result.output, result.output
    assert "POFL_KEY" in result.output and "Traceback" not in result.output


def test_the_command_line_starts_without_torch() -> None:
    import subprocess
    import sys

    code = ("import sys; from offchain.cli import cli; "
            "sys.exit(1 if 'torch' in sys.modules or 'web3' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
