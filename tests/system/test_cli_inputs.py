"""Every bad input of issue 11, given to `pofl` as a user gives it: a one-line error on stderr that names the
option, exit status 2, no traceback — and nothing happened first: no server started, no transaction sent (those
refused before any server is reached: tests/unit/test_cli_inputs.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.cli import cli
from offchain.servers.devnet import Devnet
from tests.support.cli import one_line_usage_error

KEY = "0x" + "ab" * 32


CASES = [
    # (name, argv (URL = the devnet's RPC, API = its port as a multiaddr, TMP = a folder of bad files), option)
    ("key abc", ["run", "--key", "abc"], "--key"),
    ("key too short", ["run", "--key", "0x1234"], "--key"),
    ("contract not an address", ["run", "--rpc-url", "URL", "--contract", "0x123"], "--contract"),
    ("threshold over 1", ["run", "--threshold", "1.5"], "--threshold"),
    ("until-accuracy over 1", ["run", "--until-accuracy", "2"], "--until-accuracy"),
    ("no miners", ["run", "--miners", "0"], "--miners"),
    ("batch size 0", ["run", "--batch-size", "0"], "--batch-size"),
    ("alpha 0", ["run", "--partition", "dirichlet", "--alpha", "0"], "--alpha"),
    ("negative seed", ["run", "--seed", "-1"], "--seed"),
    ("port out of range", ["devnet", "--port", "99999"], "--port"),
    ("negative stake", ["deploy", "--rpc-url", "URL", "--min-stake", "-1"], "--min-stake"),
    ("clients abc", ["miner", "--rpc-url", "URL", "--contract", "0x" + "1" * 40, "--clients", "abc"], "--clients"),
    ("clients 3/3", ["miner", "--rpc-url", "URL", "--clients", "3/3"], "--clients"),
    ("unknown architecture", ["run", "--architecture", "resnet"], "--architecture"),
    ("missing partition file", ["run", "--partition", "TMP/missing.npz"], "--partition"),
    ("garbage partition file", ["run", "--partition", "TMP/garbage.npz"], "--partition"),
    ("ipfs-api a URL", ["run", "--ipfs-api", "http://127.0.0.1:5001"], "--ipfs-api"),
    ("ipfs-api not IPFS", ["run", "--rpc-url", "URL", "--ipfs-api", "API"], "--ipfs-api"),
    ("plot garbage", ["plot", "TMP/garbage.json"], "METRICS"),
    ("plot a JSON that is not metrics", ["plot", "TMP/other.json"], "METRICS"),
    ("rounds 0", ["run", "--rounds", "0"], "--rounds"),
    ("rounds -2", ["run", "--rounds", "-2"], "--rounds"),
    ("epochs 0", ["run", "--epochs", "0"], "--epochs"),
    ("negative lr", ["run", "--lr", "-1"], "--lr"),
    ("clients per round 0", ["run", "--clients-per-round", "0"], "--clients-per-round"),
    ("clients per round 5000", ["run", "--clients-per-round", "5000"], "--clients-per-round"),
    ("genesis not a CID", ["deploy", "--rpc-url", "URL", "--genesis-cid", "notacid"], "--genesis-cid"),
    ("miners 100000", ["run", "--miners", "100000"], "--miners"),
    ("deploy without an RPC", ["deploy"], "--rpc-url"),
    ("deploy to a chain inside the command", ["deploy", "--rpc-url", "eth-tester"], "--rpc-url"),
    ("mine on a chain inside the command", ["miner", "--rpc-url", "eth-tester", "--clients", "0/3"], "--rpc-url"),
    ("miner keys file with a bad key", ["run", "--rpc-url", "URL", "--miner-keys", "TMP/bad-keys"], "--miner-keys"),
    ("miner keys too few", ["run", "--rpc-url", "URL", "--miners", "3", "--min-committee", "2", "--miner-keys",
                            "TMP/one-key"], "--miner-keys"),
    ("cheat index out of range", ["run", "--miners", "3", "--min-committee", "2", "--cheat", "5"], "--cheat"),
    ("committee as large as the miners", ["run", "--miners", "3"], "--min-committee"),
    ("aggregator option not NAME=NUMBER", ["run", "--aggregator-option", "beta"], "--aggregator-option"),
    ("aggregator option of another aggregator", ["run", "--aggregator-option", "beta=0.2"], "--aggregator-option"),
    ("attack option without an attack", ["deploy", "--rpc-url", "URL", "--attack-option", "factor=2"],
     "--attack-option"),
    ("-q with -v", ["-q", "-v", "blocks", "--rpc-url", "URL"], "-q"),
    ("-q with -v on the command", ["-q", "blocks", "-v", "--rpc-url", "URL"], "-q"),
    ("store get not a CID", ["store", "get", "Qmbad"], "CID"),
    ("state with rpc-url", ["run", "--rpc-url", "URL", "--state", "TMP/s.json"], "--state"),
    # issue 19: refused when parsed, not after seconds of work or a round
    ("one miner", ["run", "--miners", "1"], "--miners"),
    ("rpc url not a URL", ["blocks", "--rpc-url", "notaurl"], "--rpc-url"),
    ("rpc url without a host", ["info", "--rpc-url", "http://"], "--rpc-url"),
    ("holdout file missing", ["deploy", "--rpc-url", "URL", "--holdout", "TMP/nope.npz"], "--holdout"),
    ("holdout file garbage", ["run", "--holdout", "TMP/garbage.npz"], "--holdout"),
    ("append file missing", ["requester", "--rpc-url", "URL", "--keys", "TMP/one-key", "--append", "TMP/nope.npz"],
     "--append"),
    ("metrics is a folder", ["run", "--metrics", "TMP"], "--metrics"),
    ("metrics under a file", ["run", "--metrics", "TMP/one-key/m.json"], "--metrics"),
    ("metrics not JSON", ["run", "--metrics", "TMP/m.txt"], "--metrics"),
    ("metrics unwritable", ["run", "--metrics", "/proc/m.json"], "--metrics"),
    ("plot not a PNG", ["run", "--plot", "TMP/x.txt"], "--plot"),
    ("plot output not a PNG", ["plot", "TMP/ok.json", "-o", "TMP/x.txt"], "--output"),
]


@pytest.mark.parametrize(("name", "argv", "option"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_happens(name: str, argv: list[str], option: str, anvil: Devnet,
                                                          inputs: dict[str, str], started: list[str]) -> None:
    (Path(inputs["tmp"]) / "one-key").write_text(KEY + "\n")
    port = anvil.rpc_url.rsplit(":", 1)[1]
    args = [a.replace("URL", anvil.rpc_url).replace("API", f"/ip4/127.0.0.1/tcp/{port}/http")
            .replace("TMP", inputs["tmp"]) for a in argv]
    w3 = connect(anvil.rpc_url)
    block = w3.eth.block_number
    one_line_usage_error(args, option, env={"POFL_KEY": KEY} if args[0] == "miner" else None)
    assert started == [], f"{name}: started {started}"
    assert w3.eth.block_number == block, f"{name}: a transaction was sent"


def test_miners_beyond_the_funded_accounts_are_refused_before_any_transaction(devnet20: Devnet, started: list[str],
                                                                              tmp_path: Path) -> None:
    """`pofl devnet` funds 20 accounts: the owner and 19 miners. --miners 20 is named before anything is sent."""
    w3 = connect(devnet20.rpc_url)
    line = one_line_usage_error(["run", "--rpc-url", devnet20.rpc_url, "--miners", "20", "--store-dir",
                                 str(tmp_path)], "--miners 20")
    assert "pofl devnet --accounts 21" in line and "--miner-keys" in line
    assert w3.eth.block_number == 0 and started == []


def test_a_miner_refuses_settings_that_disagree_with_the_deployment_before_staking(
        anvil: Devnet, funded: Callable[..., list[LocalSigner]], tmp_path: Path) -> None:
    """The deployment records 5 miners: `--clients 0/3` disagrees, and so does a --seed given beside the record.
    Neither stakes anything."""
    records = tmp_path / "deployments"
    result = CliRunner().invoke(cli, ["deploy", "--rpc-url", anvil.rpc_url, "--miners", "5", "--store-dir",
                                      str(tmp_path / "store"), "--deployments-dir", str(records)])
    assert result.exit_code == 0, result.output
    w3 = connect(anvil.rpc_url)
    block = w3.eth.block_number
    base = ["miner", "--rpc-url", anvil.rpc_url, "--deployments-dir", str(records), "--store-dir",
            str(tmp_path / "store")]
    env = {"POFL_KEY": funded(1)[0].account.key.to_0x_hex()}
    line = CliRunner(env=env).invoke(cli, [*base, "--clients", "0/3"]).output.strip()
    assert line.startswith("Error: ConfigError: --clients 0/3 says the run has 3 miners") and "says 5" in line, line
    result = CliRunner(env=env).invoke(cli, [*base, "--clients", "0/5", "--seed", "3"])
    assert result.exit_code == 2 and "holds the run's settings" in result.output and "--seed" in result.output
    assert w3.eth.block_number == block


def test_a_miner_stakes_off_a_devnet_only_with_register(sepolia_like: str, tmp_path: Path) -> None:
    owner, miner = dev_key(0), dev_key(1)  # funded there, given explicitly: allowed, but it is not a devnet
    result = CliRunner(env={"POFL_KEY": owner}).invoke(cli, [
        "deploy", "--rpc-url", sepolia_like, "--miners", "2", "--min-committee", "1",
        "--store-dir", str(tmp_path / "s"),
        "--deployments-dir", str(tmp_path / "d"), "--reward-pool", "1"])
    assert result.exit_code == 0, result.output
    w3 = connect(sepolia_like)
    block = w3.eth.block_number
    result = CliRunner(env={"POFL_KEY": miner}).invoke(cli, [
        "miner", "--rpc-url", sepolia_like, "--clients", "0/2", "--store-dir", str(tmp_path / "s"),
        "--deployments-dir", str(tmp_path / "d")])
    assert result.exit_code == 2 and "--register" in result.output and "stake 1.2 ETH" in result.output, result.output
    assert w3.eth.block_number == block
    poor = Account.create().key.to_0x_hex()
    result = CliRunner(env={"POFL_KEY": poor}).invoke(cli, [
        "miner", "--rpc-url", sepolia_like, "--clients", "0/2", "--store-dir", str(tmp_path / "s"),
        "--deployments-dir", str(tmp_path / "d"), "--register"])
    assert result.exit_code == 4 and "InsufficientFunds" in result.output, result.output
    assert w3.eth.block_number == block
