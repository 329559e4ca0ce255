"""Input checks of the chain side that need a chain or Node: an RPC nobody answers, the solcjs wrapper, code of
another contract, stale artifacts (the in-process checks: tests/unit/test_input_checks.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from web3 import Web3

from offchain.chain import compile as comp
from offchain.chain.connect import ChainConnectionError, connect
from offchain.chain.consensus import PoFLContract
from offchain.chain.deploy import DeploymentError
from offchain.servers.process import free_port
from tests.support.accounts import Funded

# ------------------------------------------------------------------ chain


def test_unreachable_rpc_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainConnectionError, match=f"no Ethereum JSON-RPC node answers at {url}"):
        connect(url, timeout=2)


def test_solcjs_wrapper_refuses_other_modes() -> None:
    out = subprocess.run([str(comp.solcjs_wrapper()), "--bin", "x.sol"], capture_output=True, text=True)
    assert out.returncode == 2 and "supports only --version and --standard-json" in out.stderr


def test_attach_to_code_of_another_contract_is_refused(anvil_w3: Web3, funded: Funded) -> None:
    address = funded(1)[0].address
    anvil_w3.provider.make_request("anvil_setCode", [address, "0x6001600101"])
    with pytest.raises(DeploymentError, match="deployed from another version"):
        PoFLContract.attach(anvil_w3, address)


@pytest.mark.timeout(900)  # it may be the test that compiles (see tests/contract/test_compile.py)
def test_compile_check_reports_stale_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               fresh_artifacts: dict[str, dict]) -> None:
    from click.testing import CliRunner

    from offchain import paths
    from offchain.chain import compile as comp
    from offchain.cli import cli

    (tmp_path / "PoFLConsensus.json").write_text("{}\n")
    monkeypatch.setattr(paths, "ARTIFACTS_DIR", tmp_path)
    monkeypatch.setattr(comp, "compile_contracts", lambda: fresh_artifacts)  # compiled once a session (30 s)
    result = CliRunner().invoke(cli, ["compile", "--check"])
    assert result.exit_code == 1 and "stale artifacts: PoFLConsensus" in result.output


# ------------------------------------------------------------------ learning side
