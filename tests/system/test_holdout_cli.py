"""Hold-out evaluation from the command line, as a user runs it: `pofl run --holdout`, `pofl deploy --holdout`,
`pofl requester`, `pofl blocks` (real Anvil, the embedded store, real MNIST)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from offchain.app.requester import Requester
from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.chain.consensus import PoFLContract
from offchain.chain.holdout import HoldoutContract
from offchain.cli import cli
from offchain.errors import PoflValueError
from offchain.fl.mnist import load_mnist
from offchain.holdout.dataset_file import save_dataset
from offchain.holdout.keyfile import Keys, read_keys
from offchain.holdout.task import open_shard
from offchain.servers.devnet import Devnet
from offchain.store import LocalStore

SMALL = ("--holdout-shard-size", "300", "--holdout-final-size", "500")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_run_with_holdout_judges_rounds_on_shards_ends_the_task_and_reports_the_final_shard(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    metrics = tmp_path / "metrics.json"
    code, out = run("-q", "run", "--holdout", "mnist", "--holdout-shards", "2", *SMALL, "--holdout-keys", str(keys),
                    "--rounds", "4", "--miners", "3", "--min-committee", "2", "--threshold", "0",
                    "--phase-seconds", "5", "--store-dir", str(tmp_path / "store"), "--metrics", str(metrics),
                    "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert len(summary["rounds"]) == 2  # two shards: the run stops when they are used up
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600 and len(read_keys(keys).shards) == 2
    final = summary["holdout_final"]
    assert [row["height"] for row in final] == list(range(summary["blocks"] + 1)) and summary["blocks"] >= 1
    assert all(0.0 < row["final_accuracy"] <= 1.0 for row in final)  # the genesis model too
    assert all(row["gap"] == row["selection_accuracy"] - row["final_accuracy"] for row in final[1:])
    assert json.loads(metrics.read_text())["meta"]["holdout_final"] == final


def test_deploy_holdout_then_a_requester_ends_the_task(anvil: Devnet, tmp_path: Path) -> None:
    data = tmp_path / "mine.npz"
    mnist = load_mnist("test")
    save_dataset(data, mnist.subset(range(2000)))
    keys = tmp_path / "keys.json"
    code, out = run("-q", "deploy", "--rpc-url", anvil.rpc_url, "--holdout", str(data), "--holdout-shards", "3", *SMALL,
                    "--holdout-keys", str(keys), "--store-dir", str(tmp_path / "store"),
                    "--deployments-dir", str(tmp_path / "deployments"), "--json")
    assert code == 0, out
    report = json.loads(out)
    w3 = connect(anvil.rpc_url)
    contract = PoFLContract.attach(w3, report["address"])
    holdout = HoldoutContract.of(contract)
    assert holdout is not None and holdout.address == report["holdout"] and holdout.shard_count() == 3
    assert read_keys(keys).task == holdout.task_id()
    code, out = run("info", "--rpc-url", anvil.rpc_url, "--contract", contract.address)
    assert code == 0 and f"evaluation: hold-out task {holdout.address}" in out
    # keys are never overwritten
    code, out = run("deploy", "--rpc-url", anvil.rpc_url, "--holdout", str(data), "--holdout-keys", str(keys),
                    "--store-dir", str(tmp_path / "store"), "--deployments-dir", str(tmp_path / "deployments"))
    assert code == 2 and "keys are never overwritten" in out
    # the requester: nothing to reveal while the round takes commits; --end reveals the final key
    code, out = run("-q", "requester", "--rpc-url", anvil.rpc_url, "--contract", contract.address, "--keys",
                    str(keys), "--end", "--json")
    assert code == 0, out
    assert json.loads(out) == {"task": holdout.address, "appended_shards": 0, "revealed_rounds": [], "ended": True}
    assert holdout.ended() and holdout.final_shard().key == read_keys(keys).final


def test_the_requester_refuses_a_public_contract_and_a_foreign_key_file(anvil: Devnet, tmp_path: Path) -> None:
    code, out = run("-q", "deploy", "--rpc-url", anvil.rpc_url, "--genesis-cid",
                    "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", "--deployments-dir", str(tmp_path / "d"),
                    "--json")
    public = json.loads(out)["address"]
    tasks = {}
    for name in ("mine", "other"):
        code, out = run("-q", "deploy", "--rpc-url", anvil.rpc_url, "--holdout", "mnist", "--holdout-shards", "1",
                        *SMALL,
                        "--holdout-keys", str(tmp_path / f"{name}.json"), "--store-dir", str(tmp_path / "store"),
                        "--deployments-dir", str(tmp_path / name), "--json")
        assert code == 0, out
        tasks[name] = json.loads(out)["address"]
    code, out = run("requester", "--rpc-url", anvil.rpc_url, "--contract", public, "--keys",
                    str(tmp_path / "mine.json"))
    assert code == 2 and "evaluates in public: it has no hold-out task" in out
    code, out = run("requester", "--rpc-url", anvil.rpc_url, "--contract", tasks["mine"], "--keys",
                    str(tmp_path / "other.json"), "--end")
    assert code == 1 and "the key file is for task" in out and "Traceback" not in out


def test_the_requester_appends_shards_and_keeps_their_keys(anvil: Devnet, tmp_path: Path) -> None:
    keys, store = tmp_path / "keys.json", str(tmp_path / "store")
    code, out = run("-q", "deploy", "--rpc-url", anvil.rpc_url, "--holdout", "mnist", "--holdout-shards", "1", *SMALL,
                    "--holdout-keys", str(keys), "--store-dir", store, "--deployments-dir", str(tmp_path / "d"),
                    "--json")
    assert code == 0, out
    contract = PoFLContract.attach(connect(anvil.rpc_url), json.loads(out)["address"])
    holdout = HoldoutContract.of(contract)
    assert holdout is not None
    fresh = tmp_path / "fresh.npz"
    save_dataset(fresh, load_mnist("train").subset(range(1000)))  # images no shard of the task holds
    code, out = run("-q", "requester", "--rpc-url", anvil.rpc_url, "--contract", contract.address, "--keys",
                    str(keys), "--append", str(fresh), "--append-shards", "2", "--append-shard-size", "300",
                    "--store-dir", store, "--end", "--json")
    assert code == 0, out
    assert json.loads(out)["appended_shards"] == 2 and holdout.shard_count() == 3
    written = read_keys(keys)
    assert len(written.shards) == 3 and stat.S_IMODE(keys.stat().st_mode) == 0o600
    shard = holdout.shard_at(2)  # sealed for its own index with the key the file now holds
    opened = open_shard(LocalStore(store), shard.cid, written.shards[2], shard.key_hash, task=holdout.task_id(),
                        index=2)
    assert len(opened) == 300
    # a key file without every shard's key is refused before anything is sealed or sent
    short = Keys(written.task, written.shards[:1], written.final)
    requester = Requester(holdout, contract, LocalSigner(contract.w3, dev_key(0)), short)
    with pytest.raises(PoflValueError, match="holds 1 shard keys but the task has 3 shards"):
        requester.append(load_mnist("train").subset(range(300)), 1, LocalStore(store), shard_size=300)
    # the task has ended: nothing more can be appended
    code, out = run("requester", "--rpc-url", anvil.rpc_url, "--contract", contract.address, "--keys", str(keys),
                    "--append", str(fresh), "--append-shards", "1", "--store-dir", store)
    assert code == 1 and "PoFLHoldoutEnded" in out and "Traceback" not in out


def test_holdout_options_that_cannot_go_together_are_refused(anvil: Devnet, tmp_path: Path) -> None:
    """Each refusal names what was wrong, before anything is deployed or sealed."""
    code, out = run("deploy", "--rpc-url", anvil.rpc_url, "--holdout", "mnist", "--genesis-cid",
                    "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", "--store-dir", str(tmp_path / "s"))
    assert code == 2 and "--holdout deploys the run's seeded genesis model: leave out --genesis-cid" in out
    code, out = run("run", "--holdout", "mnist", "--contract", "0x" + "11" * 20, "--rounds", "1")
    assert code == 2 and "--holdout deploys a new hold-out task: leave out --contract" in out
    keys = tmp_path / "keys.json"
    code, out = run("-q", "deploy", "--rpc-url", anvil.rpc_url, "--holdout", "mnist", "--holdout-shards", "1", *SMALL,
                    "--holdout-keys", str(keys), "--store-dir", str(tmp_path / "s"),
                    "--deployments-dir", str(tmp_path / "d"), "--json")
    address = json.loads(out)["address"]
    code, out = run("requester", "--rpc-url", anvil.rpc_url, "--contract", address, "--keys", str(keys),
                    "--append", "mnist", "--store-dir", str(tmp_path / "s"))
    assert code == 2 and "--append needs --append-shards N" in out
    code, out = run("requester", "--rpc-url", anvil.rpc_url, "--contract", address, "--keys", str(keys),
                    "--append", "mnist", "--append-shards", "41", "--store-dir", str(tmp_path / "s"))
    assert code == 1 and "41 shards of 250 images need 10250 images; the set has 10000" in out
    assert len(read_keys(keys).shards) == 1  # nothing was appended or written
    code, out = run("-q", "deploy", "--rpc-url", anvil.rpc_url, "--genesis-cid",
                    "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", "--deployments-dir", str(tmp_path / "p"),
                    "--json")
    public = json.loads(out)["address"]
    code, out = run("run", "--rpc-url", anvil.rpc_url, "--contract", public, "--holdout-keys", str(keys),
                    "--rounds", "1", "--miners", "3", "--min-committee", "2", "--store-dir", str(tmp_path / "s"))
    assert code == 2 and f"--holdout-keys: the contract at {public} evaluates in public" in out
