"""Model store against IPFS: one CID everywhere (LocalStore, a real js-ipfs daemon, Debian's ipfs_cid), IpfsStore's
round trips and limits on the daemon, and stand-in daemons that lie, record or are down (the in-process store
tests: tests/unit/test_store.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import torch

from offchain.servers.ipfs import IpfsDaemon
from offchain.servers.process import free_port
from offchain.store import (
    BlobTooLarge,
    IntegrityError,
    LocalStore,
    MalformedCid,
    StoreUnavailable,
    compute_cid,
    parse_cid,
)
from offchain.store.cid import CHUNK_SIZE, MAX_LINKS
from offchain.store.fetching import UntrustedFetcher, fetch_model, publish_model
from offchain.store.ipfs import IpfsStore
from offchain.store.model_bytes import ModelTooLarge, load_model_bytes, model_to_bytes
from tests.support.models import simplenet_state
from tests.support.stores import CID0, HOSTILE_CIDS

SIZES = {"empty": 0, "one byte": 1, "one chunk": CHUNK_SIZE, "chunk + 1": CHUNK_SIZE + 1,
         "two tree levels": MAX_LINKS * CHUNK_SIZE + 1}


def ipfs_cid_tool(path: Path) -> str | None:
    tool = shutil.which("ipfs_cid")
    if tool is None:
        if os.environ.get("POFL_REQUIRE_IPFS_CID"):
            pytest.fail("ipfs_cid (Debian package ipfs-cid) is required here but not installed")
        return None
    out = subprocess.run([tool, str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["CIDv0"]


# ------------------------------------------------------------------ bytes and CIDs


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
        # js-ipfs prints CIDv1 in base58btc (z...) unless asked; parse_cid takes Kubo's base32 spelling only
        daemon_cid = ipfs_store._client.add_bytes(data, opts={"cid-version": 1, "cid-base": "base32"})
        assert daemon_cid == compute_cid(data, version=1, raw_leaves=True)


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


# ------------------------------------------------------------------ hostile CIDs reach no path and no URL


def test_hostile_cids_never_reach_the_ipfs_api(recording_daemon: tuple[str, list[str]]) -> None:
    api, seen = recording_daemon
    store = IpfsStore(api, retries=0)
    for cid in HOSTILE_CIDS:
        for call in (store.get, store.has, store.pin, lambda c: fetch_model(store, c, "simplenet")):
            with pytest.raises(MalformedCid, match="is not a CID"):
                call(cid)
    assert seen == []  # not one request
    with pytest.raises(IntegrityError):
        store.get(CID0)  # the recorder does answer a valid CID
    assert len(seen) == 1 and seen[0].startswith("/api/v0/cat?") and seen[0].endswith("arg=" + CID0)


# ------------------------------------------------------------------ round trips


def test_simplenet_and_20mb_blob_round_trip_on_the_daemon(ipfs_store: IpfsStore) -> None:
    state = simplenet_state(1)
    cid = publish_model(ipfs_store, state, "simplenet")
    assert ipfs_store.has(cid)
    ipfs_store.pin(cid)
    loaded = fetch_model(ipfs_store, cid, "simplenet")
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    blob = os.urandom(20 * 1024 * 1024)
    blob_cid = ipfs_store.put(blob)
    assert ipfs_store.get(blob_cid) == blob and ipfs_store.has(blob_cid)


# ------------------------------------------------------------------ rejections


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


def test_a_store_that_does_not_answer_is_told_from_content_it_does_not_have(ipfs_store: IpfsStore) -> None:
    """A miner's seat past the fetch deadline stays silent when its own store is down (``store_down``) and
    reports UNAVAILABLE only for content its answering store could not get (offchain/miner/handlers.py)."""
    down = IpfsStore(f"/ip4/127.0.0.1/tcp/{free_port()}/http", timeout=1.0, retries=1, backoff=0.05)
    dead = UntrustedFetcher(down, timeout_s=10).blob(CID0, 1024)
    assert dead.value is None and dead.unavailable and dead.store_down, dead
    assert dead.named("model").store_down and dead.then(len).store_down  # kept through what is built on it
    absent = UntrustedFetcher(ipfs_store, timeout_s=3).blob(compute_cid(os.urandom(64)), 1024)
    assert absent.value is None and absent.unavailable and not absent.store_down, absent


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


