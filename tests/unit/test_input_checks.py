"""Every remaining input check that needs nothing outside the process, each with the error it must raise (the rest
live beside their modules' tests; those that need a chain, a daemon or Node are in tests/contract, tests/node)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from offchain.chain import compile as comp
from offchain.chain.accounts import dev_key
from offchain.chain.deploy import DeploymentError, load_artifact, read_record, write_record
from offchain.chain.types import to_bps
from offchain.errors import ToolNotFoundError
from offchain.fl.architectures import SimpleNet
from offchain.fl.federation import BENCHMARK_FEDERATION, assign_to_miners, from_file
from offchain.fl.images import LabeledImages, encode_idx
from offchain.fl.round_training import RoundTrainer
from offchain.store import LocalStore, NotFound, compute_cid, open_store
from offchain.store.model_bytes import ModelFormatError, load_model_bytes, model_to_bytes

CID = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"


# ------------------------------------------------------------------ chain


def test_solcjs_of_another_version_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "solc").mkdir()
    (tmp_path / "solc" / "package.json").write_text(json.dumps({"version": "0.8.1"}))
    monkeypatch.setattr(comp, "NODE_MODULES", tmp_path)
    with pytest.raises(ToolNotFoundError, match="node_modules/solc is 0.8.1, the project pins 0.8.28"):
        comp.solcjs_wrapper()


def test_missing_artifact_and_record_entry(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="run `pofl compile` first"):
        load_artifact("Nope", tmp_path)
    from offchain.chain.deploy import DeploymentRecord

    record = DeploymentRecord("Other", 31337, "0x" + "1" * 40, "0x", 1, "0x", [], "", 0, "0x" + "ab" * 32)
    path = write_record(record, tmp_path)
    path.rename(path.with_name("PoFLConsensus.json"))
    with pytest.raises(DeploymentError, match="records Other, not PoFLConsensus"):
        read_record(record.chain_key, "PoFLConsensus", tmp_path)
    write_record(record, tmp_path)
    with pytest.raises(DeploymentError, match="no deployment of Other at 0x2{40} is recorded"):
        read_record(record.chain_key, "Other", tmp_path, "0x" + "2" * 40)


def test_accuracy_and_key_index_ranges() -> None:
    assert to_bps(0.6) == 6000 and to_bps(1.0) == 10000
    for bad in (-0.01, 1.01):
        with pytest.raises(ValueError, match="within \\[0, 1\\]"):
            to_bps(bad)
    with pytest.raises(ValueError, match="account index must be >= 0"):
        dev_key(-1)


# ------------------------------------------------------------------ store


def test_store_selection_pin_and_cid_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="give an IPFS API address"):
        open_store(None, None)
    with pytest.raises(NotFound, match="cannot pin"):
        LocalStore(tmp_path).pin(CID)
    with pytest.raises(ValueError, match="CID version must be 0 or 1"):
        compute_cid(b"x", version=2)
    with pytest.raises(ValueError, match="raw leaves need CID version 1"):
        compute_cid(b"x", raw_leaves=True)


def _header(data: bytes) -> tuple[dict, bytes]:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def _with_header(header: object, body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def test_forged_model_headers_are_refused() -> None:
    good = model_to_bytes(SimpleNet().state_dict(), "simplenet")
    header, body = _header(good)
    cases = {
        "shorter than its 8-byte header": b"abc",
        "header is not JSON": struct.pack("<Q", 4) + b"\xff\xfe{}" + body,
        "not a JSON object": _with_header([1, 2], body),
        "malformed header entry": _with_header({**header, "fc1.bias": {"dtype": "F32"}}, body),
        "unsupported dtype": _with_header({**header, "fc1.bias": {**header["fc1.bias"], "dtype": "C64"}}, body),
        "bad shape": _with_header({**header, "fc1.bias": {**header["fc1.bias"], "shape": [-1]}}, body),
        "metadata format": _with_header({**header, "__metadata__": {**header["__metadata__"], "format": "x"}}, body),
    }
    for message, data in cases.items():
        with pytest.raises(ModelFormatError, match=message):
            load_model_bytes(data, "simplenet")


# ------------------------------------------------------------------ learning side


def test_labeled_images_and_idx_inputs() -> None:
    with pytest.raises(ValueError, match="images must be uint8"):
        LabeledImages(np.zeros((2, 28, 28), np.float32), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="labels must have shape"):
        LabeledImages(np.zeros((2, 28, 28), np.uint8), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="encode_idx takes uint8"):
        encode_idx(np.zeros(3, np.int32))


def test_unknown_aggregator_is_refused() -> None:
    fed = from_file(BENCHMARK_FEDERATION)
    with pytest.raises(ValueError, match="unknown aggregator 'mean'"):
        RoundTrainer(fed, assign_to_miners(fed.n_clients, 2, 0), None, None, None, "mean")  # type: ignore[arg-type]


def test_emnist_mat_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    from scipy.io import savemat

    from offchain.fl.emnist import read_emnist_mat
    from offchain.fl.images import DataIntegrityError

    split = {"images": np.zeros((3, 10), np.uint8), "labels": np.zeros((3, 1)), "writers": np.zeros((3, 1))}
    savemat(tmp_path / "e.mat", {"dataset": {"train": split, "test": split}})
    with pytest.raises(DataIntegrityError, match="expected N x 784 images"):
        read_emnist_mat(tmp_path / "e.mat")


# ------------------------------------------------------------------ miners


def test_pool_refuses_a_wrongly_decorated_init_function() -> None:
    from offchain.data import Dataset, FedDataset
    from offchain.pool import PoFLBlockchainPool, deploy_miner_model

    fed = FedDataset({"c0": Dataset(np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.int64))})
    with pytest.raises(ValueError, match="decorate it with @init_server_model"):
        PoFLBlockchainPool(fed, deploy_miner_model(lambda: None), 1)
