"""`pofl run --consensus pow|pos`: flexBlock's PoW and PoS notebooks on their own contracts, from the command line
(in process, on the session Anvil); the PoFL run's own options are refused with them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from offchain.cli import cli
from offchain.servers.devnet import Devnet


def run_json(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["run", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_run_pow_makes_a_block_a_round(anvil: Devnet, tmp_path) -> None:
    report = run_json("--consensus", "pow", "--rpc-url", anvil.rpc_url, "--rounds", "2", "--miners", "4",
                      "--clients-per-round", "2", "--store-dir", str(tmp_path / "store"))
    assert report["consensus"] == "pow" and report["blocks"] == 3
    assert [r["height"] for r in report["rounds"]] == [1, 2] and report["hashes"] > 0
    assert all(r["gas"] > 0 for r in report["rounds"])


def test_run_pos_makes_a_block_a_round(anvil: Devnet, tmp_path) -> None:
    report = run_json("--consensus", "pos", "--rpc-url", anvil.rpc_url, "--rounds", "1", "--miners", "4",
                      "--clients-per-round", "2", "--store-dir", str(tmp_path / "store"))
    assert report["consensus"] == "pos" and report["blocks"] == 2 and report["rounds"][0]["made_block"]


def test_pofl_only_options_are_refused_with_another_consensus(anvil: Devnet) -> None:
    result = CliRunner().invoke(cli, ["run", "--consensus", "pos", "--rpc-url", anvil.rpc_url, "--processes"])
    assert result.exit_code == 2 and "--processes apply to --consensus pofl only" in result.output


def test_run_scaled_makes_blocks_on_the_scaled_contract(anvil: Devnet, tmp_path) -> None:
    """`pofl run --consensus scaled`: PoFLScaled deployed, four miners registered and driven in process; each
    round's best claim is the block (the scaled mode's own round: signed claims, a root and its blob, a
    sampled committee)."""
    report = run_json("--consensus", "scaled", "--rpc-url", anvil.rpc_url, "--rounds", "2", "--miners", "4",
                      "--clients-per-round", "4", "--threshold", "0.1", "--store-dir", str(tmp_path / "store"))
    assert report["consensus"] == "scaled" and report["blocks"] == 2 and report["head_height"] == 2, report
    assert [r["block_height"] for r in report["rounds"]] == [1, 2]
    assert all(r["gas_used"] > 0 and r["miner_accuracies"] for r in report["rounds"])
    assert report["head_accuracy"] == report["rounds"][-1]["chain_accuracy"] >= 0.1


def test_the_scaled_mode_lifts_the_miners_cap_and_refuses_the_per_miner_options(anvil: Devnet) -> None:
    capped = CliRunner().invoke(cli, ["run", "--rpc-url", anvil.rpc_url, "--miners", "300"])
    assert capped.exit_code == 2 and "--miners must be at most 255" in capped.output
    # the same count with --consensus scaled passes the settings' checks and stops at the refused option
    result = CliRunner().invoke(cli, ["run", "--consensus", "scaled", "--rpc-url", anvil.rpc_url, "--miners", "300",
                                      "--processes"])
    assert result.exit_code == 2 and "--processes apply to --consensus pofl only, not scaled" in result.output
