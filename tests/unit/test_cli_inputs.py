"""Bad inputs of issue 11 refused before any server or chain is reached: a one-line error on stderr that names
the setting, exit status 2, no traceback, and nothing started (the rest of the table, against a devnet, is in
tests/system/test_cli_inputs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import one_line_usage_error


@pytest.mark.parametrize("device", ["cuda", "cuda:7", "tpu", "not a device"])
def test_a_device_this_machine_lacks_is_named_before_anything_starts(device: str, started: list[str],
                                                                     tmp_path: Path) -> None:
    import torch

    if (device == "cuda" and torch.cuda.is_available()) or (device == "cuda:7" and torch.cuda.device_count() > 7):
        pytest.skip("this machine has the CUDA device asked for")
    one_line_usage_error(["run", "--store-dir", str(tmp_path)], "POFL_DEVICE", env={"POFL_DEVICE": device})
    assert started == []


def test_an_env_key_of_the_wrong_form_is_named_before_anything_starts(started: list[str], tmp_path: Path) -> None:
    one_line_usage_error(["run", "--store-dir", str(tmp_path)], "POFL_KEY", env={"POFL_KEY": "0x1234"})
    assert started == []


