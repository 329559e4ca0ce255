"""The README's and `pofl --help`'s promises, tried as a new user tries them (issue 19): the help's example
deploys, relative state paths are saved, a hold-out run works twice in one directory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from offchain.cli import cli
from offchain.servers.devnet import Devnet
from offchain.servers.ipfs import IpfsDaemon
from tests.support.terminal import Terminal


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_the_deploy_example_of_pofl_help_deploys(anvil: Devnet, ipfs_daemon: IpfsDaemon, tmp_path: Path) -> None:
    code, help_text = run("--help")
    assert code == 0
    example = re.search(r"(pofl deploy [^\n]*?(?:\\\n[^\n]*)*)\n", help_text)
    assert example is not None, help_text
    argv = example.group(1).replace("\\\n", " ").split()[1:]
    argv = [anvil.rpc_url if a.startswith("http://127.0.0.1:") else ipfs_daemon.api_multiaddr
            if a.startswith("/ip4/127.0.0.1/tcp/5001") else a for a in argv]
    code, out = run(*argv, "--deployments-dir", str(tmp_path))
    assert code == 0, out
    assert "deployed PoFLConsensus at 0x" in out


@pytest.mark.slow
def test_a_relative_state_path_is_saved_and_the_run_resumes_from_it(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ("run", "--state", "st/chain.json", "--store-dir", "store", "--rounds", "1", "--threshold", "0.05")
    code, out = run(*args, "--metrics", "m1.json")
    assert code == 0, out
    assert (tmp_path / "st" / "chain.json").is_file(), "the devnet's state was written where the user asked"
    code, out = run(*args, "--metrics", "m2.json")
    assert code == 0, out
    first, second = (json.loads((tmp_path / m).read_text()) for m in ("m1.json", "m2.json"))
    assert second["meta"]["contract"] == first["meta"]["contract"]
    assert second["rounds"][0]["round"] == first["rounds"][-1]["round"] + 1


def test_pofl_devnet_saves_a_relative_state_path_in_the_callers_directory(tmp_path: Path) -> None:
    devnet = Terminal("devnet", "--port", "0", "--state", "rel/dev.json", cwd=tmp_path)
    try:
        devnet.expect(r"Listening on http://127\.0\.0\.1:\d+", timeout=120)
    finally:
        assert devnet.interrupt() in (0, 130)
    assert (tmp_path / "rel" / "dev.json").is_file()


@pytest.mark.slow
def test_a_holdout_run_works_twice_in_one_directory_and_never_overwrites_keys(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Every auto-started Anvil deploys the task at the same address: the default key file is kept per chain."""
    monkeypatch.chdir(tmp_path)
    args = ("-q", "run", "--holdout", "mnist", "--holdout-shards", "1", "--holdout-shard-size", "300",
            "--holdout-final-size", "500", "--rounds", "1", "--miners", "3", "--min-committee", "2", "--threshold",
            "0", "--phase-seconds", "5", "--store-dir", "store")
    code, out = run(*args)
    assert code == 0, out
    assert "every block on the final held-out shard" in out, "people see the final report too, not only --json"
    code, out = run(*args, "--json")
    assert code == 0, out
    assert json.loads(out)["holdout_final"], "the final shard measured every block"
    keys = sorted((tmp_path / ".pofl" / "holdout").rglob("*.json"))
    assert len(keys) == 2 and keys[0].name == keys[1].name and keys[0].parent != keys[1].parent, keys
    code, out = run(*args, "--holdout-keys", str(keys[0]))
    assert code == 2 and f"--holdout-keys {keys[0]} exists" in out and "never overwritten" in out, out
