"""Model store: canonical bytes, Kubo CIDs, LocalStore and IpfsStore on a real js-ipfs daemon."""

from __future__ import annotations

import http.server
import json
import os
import pickle
import shutil
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from offchain.fl.models import SimpleNet
from offchain.ipfs_daemon import IpfsDaemon
from offchain.procs import free_port
from offchain.store import (
    BlobTooLarge,
    IntegrityError,
    LocalStore,
    MalformedCid,
    NotFound,
    StoreUnavailable,
    compute_cid,
    parse_cid,
)
from offchain.store.cid import CHUNK_SIZE, MAX_LINKS
from offchain.store.ipfs import IpfsStore
from offchain.store.model_bytes import ModelFormatError, ModelTooLarge, load_model_bytes, model_to_bytes
from offchain.store.models import fetch_model, publish_model

SIZES = {"empty": 0, "one byte": 1, "one chunk": CHUNK_SIZE, "chunk + 1": CHUNK_SIZE + 1,
         "two tree levels": MAX_LINKS * CHUNK_SIZE + 1}


def simplenet_state(seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return SimpleNet().state_dict()


@pytest.fixture(scope="module")
def ipfs_store(ipfs_daemon: IpfsDaemon) -> IpfsStore:
    return IpfsStore(ipfs_daemon.api_multiaddr)


def ipfs_cid_tool(path: Path) -> str | None:
    tool = shutil.which("ipfs_cid")
    if tool is None:
        if os.environ.get("POFL_REQUIRE_IPFS_CID"):
            pytest.fail("ipfs_cid (Debian package ipfs-cid) is required here but not installed")
        return None
    out = subprocess.run([tool, str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["CIDv0"]


# ------------------------------------------------------------------ bytes and CIDs


def test_model_bytes_are_canonical_and_round_trip() -> None:
    state = simplenet_state()
    data = model_to_bytes(state, "simplenet", round_id=4)
    shuffled = {k: v.clone() for k, v in reversed(list(state.items()))}
    assert model_to_bytes(shuffled, "simplenet", round_id=4) == data
    loaded, meta = load_model_bytes(data, "simplenet")
    assert meta["round"] == "4" and meta["architecture"] == "simplenet"
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    assert model_to_bytes(state, "simplenet", round_id=5) != data


@pytest.mark.parametrize("label", list(SIZES))
def test_cid_matches_local_store_ipfs_daemon_and_ipfs_cid(label: str, tmp_path: Path, ipfs_store: IpfsStore) -> None:
    data = os.urandom(SIZES[label])
    cid = compute_cid(data)
    assert LocalStore(tmp_path / "store").put(data) == cid
    assert ipfs_store.put(data) == cid  # IpfsStore also checks the daemon's answer against compute_cid
    (tmp_path / "blob").write_bytes(data)
    reference = ipfs_cid_tool(tmp_path / "blob")
    if reference is None:
        pytest.skip("ipfs_cid not installed (CI installs Debian's ipfs-cid)")
    assert reference == cid


def test_real_model_has_one_cid_everywhere(tmp_path: Path, ipfs_store: IpfsStore) -> None:
    data = model_to_bytes(simplenet_state(), "simplenet")
    (tmp_path / "m.safetensors").write_bytes(data)
    reference = ipfs_cid_tool(tmp_path / "m.safetensors")
    assert LocalStore(tmp_path / "s").put(data) == ipfs_store.put(data) == compute_cid(data)
    if reference is not None:
        assert reference == compute_cid(data)


def test_cid_v1_raw_leaves_matches_the_daemon(ipfs_store: IpfsStore) -> None:
    for size in (600, CHUNK_SIZE * 2 + 7):
        data = os.urandom(size)
        daemon_cid = ipfs_store._client.add_bytes(data, opts={"cid-version": 1})
        assert parse_cid(daemon_cid) == parse_cid(compute_cid(data, version=1, raw_leaves=True))


@pytest.mark.parametrize("bad", ["", "Qm123", "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXE0", "bafy!!",
                                 "hello", "../../etc/passwd", "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXENXX"])
def test_malformed_cids_are_refused_before_any_io(bad: str, tmp_path: Path, ipfs_store: IpfsStore) -> None:
    with pytest.raises(MalformedCid):
        parse_cid(bad)
    with pytest.raises(MalformedCid):
        LocalStore(tmp_path).get(bad)
    with pytest.raises(MalformedCid):
        ipfs_store.get(bad)
    assert list((tmp_path / "blocks").iterdir()) == []


# ------------------------------------------------------------------ round trips


def test_simplenet_and_20mb_blob_round_trip_on_the_daemon(ipfs_store: IpfsStore) -> None:
    state = simplenet_state(1)
    cid = publish_model(ipfs_store, state, "simplenet", 2)
    assert ipfs_store.has(cid)
    ipfs_store.pin(cid)
    loaded = fetch_model(ipfs_store, cid, "simplenet")
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    blob = os.urandom(20 * 1024 * 1024)
    blob_cid = ipfs_store.put(blob)
    assert ipfs_store.get(blob_cid) == blob and ipfs_store.has(blob_cid)


def test_local_store_round_trip_and_concurrent_writers(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    state = simplenet_state(2)
    data = model_to_bytes(state, "simplenet")
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(LocalStore(tmp_path).put(data))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) == {compute_cid(data)}
    assert [p.name for p in (tmp_path / "blocks").iterdir()] == [compute_cid(data)]  # no temp files left
    assert fetch_model(store, results[0], "simplenet").keys() == state.keys()
    with pytest.raises(NotFound):
        store.get(compute_cid(b"never stored"))


# ------------------------------------------------------------------ rejections


def test_corrupted_local_blob_is_an_integrity_error(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    cid = store.put(b"model bytes")
    (tmp_path / "blocks" / cid).write_bytes(b"model bytez")
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get(cid)


class _LyingDaemon(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b"these are not the bytes you asked for" if "/cat" in self.path else json.dumps(
            {"Hash": "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", "Name": "x", "Size": "6"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if "/add" in self.path else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def lying_daemon() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LyingDaemon)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"/ip4/127.0.0.1/tcp/{server.server_address[1]}/http"
    server.shutdown()


def test_daemon_returning_other_bytes_is_an_integrity_error(lying_daemon: str) -> None:
    store = IpfsStore(lying_daemon, retries=0)
    with pytest.raises(IntegrityError, match="do not hash to it"):
        store.get("QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN")
    with pytest.raises(IntegrityError, match="expected"):
        store.put(b"other content")


def test_daemon_down_fails_within_the_timeout() -> None:
    api = f"/ip4/127.0.0.1/tcp/{free_port()}/http"
    store = IpfsStore(api, timeout=1.0, retries=2, backoff=0.05)
    start = time.monotonic()
    with pytest.raises(StoreUnavailable, match=f"IPFS API at {api} did not answer"):
        store.get("QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN")
    assert time.monotonic() - start < 3 * 1.0 + 1.0


def test_blob_over_the_limit_is_neither_written_nor_read(tmp_path: Path, ipfs_daemon: IpfsDaemon) -> None:
    store = LocalStore(tmp_path, max_bytes=1000)
    with pytest.raises(BlobTooLarge):
        store.put(b"x" * 1001)
    assert list((tmp_path / "blocks").iterdir()) == []
    big_cid = LocalStore(tmp_path / "big").put(b"y" * 5000)
    shutil.copy(tmp_path / "big" / "blocks" / big_cid, tmp_path / "blocks" / big_cid)
    with pytest.raises(BlobTooLarge, match="not read"):
        store.get(big_cid)
    ipfs_small = IpfsStore(ipfs_daemon.api_multiaddr, max_bytes=1000)
    cid = IpfsStore(ipfs_daemon.api_multiaddr).put(b"z" * 5000)
    with pytest.raises(BlobTooLarge):
        ipfs_small.get(cid)
    with pytest.raises(ModelTooLarge):
        load_model_bytes(model_to_bytes(simplenet_state(), "simplenet"), "simplenet", max_bytes=1000)


def test_content_that_is_not_safetensors_is_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    cid = store.put(b"just some text, not a model")
    with pytest.raises(ModelFormatError, match="not a safetensors file"):
        fetch_model(store, cid, "simplenet")


class _Boom:
    def __reduce__(self):  # a pickle that would run code if anyone unpickled it
        return (os.system, ("touch /tmp/pofl-pwned",))


def test_a_pickle_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    for payload in (pickle.dumps(_Boom()), pickle.dumps(simplenet_state())):
        cid = store.put(payload)
        with pytest.raises(ModelFormatError):
            fetch_model(store, cid, "simplenet")
    buf = tmp_path / "torch.pt"
    torch.save(simplenet_state(), buf)
    with pytest.raises(ModelFormatError):
        fetch_model(store, store.put(buf.read_bytes()), "simplenet")
    assert not Path("/tmp/pofl-pwned").exists()


def _tamper(state: dict[str, torch.Tensor], **changes: object) -> bytes:
    return model_to_bytes({**state, **changes}, "simplenet")


def test_wrong_names_shapes_dtypes_and_nan_are_refused() -> None:
    state = simplenet_state()
    renamed = {("layer1.weight" if k == "fc1.weight" else k): v for k, v in state.items()}
    with pytest.raises(ModelFormatError, match="tensor names differ.*missing \\['fc1.weight'\\]"):
        load_model_bytes(model_to_bytes(renamed, "simplenet"), "simplenet")
    with pytest.raises(ModelFormatError, match="'fc2.weight' has shape \\[5, 128\\]"):
        load_model_bytes(_tamper(state, **{"fc2.weight": torch.zeros(5, 128)}), "simplenet")
    with pytest.raises(ModelFormatError, match="dtype float64"):
        load_model_bytes(_tamper(state, **{"fc2.bias": torch.zeros(10, dtype=torch.float64)}), "simplenet")
    nan = state["fc1.weight"].clone()
    nan[3, 7] = float("nan")
    with pytest.raises(ModelFormatError, match="NaN or Inf"):
        load_model_bytes(_tamper(state, **{"fc1.weight": nan}), "simplenet")
    inf = state["fc2.bias"].clone()
    inf[0] = float("inf")
    with pytest.raises(ModelFormatError, match="NaN or Inf"):
        load_model_bytes(_tamper(state, **{"fc2.bias": inf}), "simplenet")


def test_other_architecture_and_forged_headers_are_refused() -> None:
    cnn_bytes = model_to_bytes(__import__("offchain.fl.models", fromlist=["SmallCNN"]).SmallCNN().state_dict(), "cnn")
    with pytest.raises(ModelFormatError, match="expected 'simplenet'"):
        load_model_bytes(cnn_bytes, "simplenet")
    good = model_to_bytes(simplenet_state(), "simplenet")
    (hlen,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8:8 + hlen])
    header["fc2.bias"]["data_offsets"] = [0, 40]  # overlaps another tensor
    text = json.dumps(header).encode()
    forged = struct.pack("<Q", len(text)) + text + good[8 + hlen:]
    with pytest.raises(ModelFormatError, match="overlap|offsets"):
        load_model_bytes(forged, "simplenet")
    with pytest.raises(ModelFormatError, match="header length"):
        load_model_bytes(struct.pack("<Q", 10**9) + b"{}", "simplenet")
