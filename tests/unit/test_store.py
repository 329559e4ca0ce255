"""Model store in process: canonical bytes, Kubo CIDs (parsing, digests), LocalStore, and what no store lets
through (IpfsStore on a real js-ipfs daemon: tests/node/test_store.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import re
import struct
import threading
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.store import (
    IntegrityError,
    LocalStore,
    MalformedCid,
    NotFound,
    compute_cid,
    parse_cid,
)
from offchain.store.cid import CidKind, ParsedCid, b58encode, cid_from_digest, cid_to_digest
from offchain.store.fetching import fetch_model
from offchain.store.model_bytes import (
    ModelFormatError,
    NonCanonicalModel,
    check_canonical,
    content_digest,
    load_model_bytes,
    model_to_bytes,
)
from tests.support.contracts import cid_of
from tests.support.models import reencoded, simplenet_state
from tests.support.stores import HOSTILE_CIDS

# ------------------------------------------------------------------ bytes and CIDs


def test_model_bytes_are_canonical_and_round_trip() -> None:
    state = simplenet_state()
    data = model_to_bytes(state, "simplenet")
    shuffled = {k: v.clone() for k, v in reversed(list(state.items()))}
    assert model_to_bytes(shuffled, "simplenet") == data
    loaded, meta = load_model_bytes(data, "simplenet")
    assert set(meta) == {"architecture", "architecture_id", "format"}  # nothing that varies with the round
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_a_model_is_its_weights_whatever_file_or_cid_holds_them(tmp_path: Path) -> None:
    """Finding 3 of issue 20: another file encoding (a round field, another header order) or another CID kind (the
    same bytes as CIDv1-raw) of the same tensors has the same content digest, and fetching it is refused as
    NonCanonicalModel; any change to a tensor's value, dtype, shape or name changes the digest."""
    state = simplenet_state(3)
    digest = content_digest(state, "simplenet")
    canonical = model_to_bytes(state, "simplenet")
    assert len(digest) == 32 and digest == cid_to_digest(compute_cid(canonical))[0]
    store = LocalStore(tmp_path)
    assert fetch_model(store, store.put(canonical), "simplenet").keys() == state.keys()
    for data in (reencoded(state, round="7"), reencoded(state)):
        loaded, _ = load_model_bytes(data, "simplenet")
        assert data != canonical and content_digest(loaded, "simplenet") == digest
        with pytest.raises(NonCanonicalModel, match="non-canonical encoding"):
            fetch_model(store, store.put(data), "simplenet")
    raw = compute_cid(canonical, version=1, raw_leaves=True)
    assert cid_to_digest(raw)[0] != digest  # the attack's fresh on-chain digest...
    with pytest.raises(NonCanonicalModel, match="not the canonical CID"):  # ...is a mismatch to every seat
        check_canonical(canonical, raw, state, "simplenet")
    value = {**state, "fc1.bias": state["fc1.bias"].clone().index_fill_(0, torch.tensor([0]), 0.5)}
    dtype = {**state, "fc1.bias": state["fc1.bias"].double()}
    shape = {**state, "fc1.bias": state["fc1.bias"][:-1]}
    name = {("fc1.bias2" if k == "fc1.bias" else k): v for k, v in state.items()}
    changed = {content_digest(s, "simplenet") for s in (value, dtype, shape, name)}
    assert digest not in changed and len(changed) == 4


# ------------------------------------------------------------------ CID parsing: one exact spelling per CID


def v1(raw: bytes) -> str:
    """Multibase 'b' (RFC 4648 base32, lowercase, no padding) of ``raw``, written independently of cid.py."""
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


DIGEST = hashlib.sha256(b"pofl").digest()
CID0 = compute_cid(b"pofl")
CID1 = compute_cid(b"pofl", version=1, raw_leaves=True)
RAW_V1 = bytes([1, 0x55, 0x12, 32]) + DIGEST
_B32 = "abcdefghijklmnopqrstuvwxyz234567"


def test_parse_cid_accepts_what_ipfs_add_prints_and_decodes_it_exactly() -> None:
    assert v1(RAW_V1) == CID1 and len(CID0) == 46 and len(CID1) == 59
    assert parse_cid(CID1) == ParsedCid(1, 0x55, DIGEST)  # a one-chunk raw leaf: the sha256 of the bytes
    assert parse_cid(CID0).version == 0 and parse_cid(CID0).codec == 0x70
    dag_pb = compute_cid(b"pofl", version=1)
    assert dag_pb.startswith("bafybei") and parse_cid(dag_pb).digest == parse_cid(CID0).digest
    assert parse_cid("QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN").version == 0


BAD_CIDS: dict[str, tuple[str, str]] = {
    "empty": ("", "must not be empty"),
    "Arabic-Indic digits": ("Qm" + "١" * 44, "non-ASCII character '١' (U+0661) at position 2"),
    "full-width Qm": ("Ｑｍ" + CID0[2:], "non-ASCII character 'Ｑ' (U+FF31) at position 0"),
    "a full-width digit inside": (CID0[:10] + "５" + CID0[11:], "non-ASCII character '５' (U+FF15) at position 10"),
    "a v1 with a Devanagari digit": (CID1[:-1] + "२", "non-ASCII character '२'"),
    "v0 one short": (CID0[:-1], "is not a CIDv0: it has 45 characters, a CIDv0 has 46"),
    "v0 one long": (CID0 + "1", "is not a CIDv0: it has 47 characters, a CIDv0 has 46"),
    "v0 with 0": (CID0[:-1] + "0", "is not a CIDv0: base58btc has no character '0' (U+0030) at position 45"),
    "v0 with l": (CID0[:5] + "l" + CID0[6:], "no character 'l' (U+006C) at position 5"),
    "v0 of another multihash": ("Qm" + "z" * 44, "is not a CIDv0: it does not decode to a sha2-256 multihash"),
    "uppercase multibase B": ("B" + CID1[1:].upper(), "starts with neither 'Qm' (CIDv0) nor 'b'"),
    "uppercase base32": ("b" + CID1[1:].upper(), "is not a CIDv1: lowercase base32 without padding has no character "
                                                "'A' (U+0041) at position 1"),
    "base32 padding": (v1(RAW_V1 + b"\0") + "=", "no character '='"),
    "base58btc v1 (z)": ("zb2rhhVnhotR7a6SHsQa6WSvMZmaWKxqJgBGg43Q8YEM2cpGr", "`ipfs cid base32 CID` prints its"),
    "base32 of no whole bytes": (CID1[:-1], "57 base32 characters are not a whole number of bytes"),
    "v1 too short": (v1(bytes([1, 0x55])), "is not a CIDv1: it decodes to 2 bytes, a CIDv1 has 36"),
    "v1 of version 2": (v1(bytes([2, 0x55, 0x12, 32]) + DIGEST), "it starts with version 2, not 1"),
    "v1 of version 0": (v1(bytes([0, 0x55, 0x12, 32]) + DIGEST), "it starts with version 0, not 1"),
    "codec dag-cbor": (v1(bytes([1, 0x71, 0x12, 32]) + DIGEST), "codec 0x71 is neither dag-pb (0x70) nor raw"),
    "sha2-512": (v1(bytes([1, 0x55, 0x13, 64]) + hashlib.sha512(b"pofl").digest()),
                 "hash function 0x13 is not sha2-256"),
    "identity hash": (v1(bytes([1, 0x55, 0x00, 28]) + b"p" * 28), "hash function 0x00 is not sha2-256"),
    "a 20-byte digest": (v1(bytes([1, 0x55, 0x12, 20]) + DIGEST[:20]), "declares a 20-byte digest"),
    "a cut digest": (v1(RAW_V1[:-2]), "its digest is cut to 30 bytes"),
    "trailing bytes": (v1(RAW_V1 + b"\0\0\0\0\0"), "it has 5 trailing byte(s) after the 32-byte digest"),
    "unused bits set": (CID1[:-1] + _B32[_B32.index(CID1[-1]) ^ 1], "unused bits set (not canonical base32)"),
    "leading space": (" " + CID0, "starts with neither"),
    "trailing newline": (CID0 + "\n", "it has 47 characters, a CIDv0 has 46"),
    "a space inside": (CID0[:20] + " " + CID0[21:], "no character ' ' (U+0020) at position 20"),
    "a tab inside v1": (CID1[:9] + "\t" + CID1[10:], "no character '\\t' (U+0009) at position 9"),
    "a NUL": (CID0[:-1] + "\0", "no character '\\x00' (U+0000) at position 45"),
    "path traversal": ("../../etc/passwd", "starts with neither"),
    "absolute path": ("/etc/passwd", "starts with neither"),
    "v0-shaped path": (("Qm/../../../../../../etc/passwd" + "1" * 46)[:46], "no character '/' (U+002F) at position 2"),
    "v1-shaped path": ("b/../../../secret".ljust(59, "a"), "no character '/' (U+002F) at position 1"),
    "a URL query": (CID0 + "?arg=/etc", "it has 55 characters, a CIDv0 has 46"),
}


@pytest.mark.parametrize("case", list(BAD_CIDS))
def test_each_cid_rejection_names_what_is_wrong(case: str) -> None:
    text, message = BAD_CIDS[case]
    with pytest.raises(MalformedCid, match=re.escape(message)):
        parse_cid(text)


def test_cids_that_are_not_strings_or_huge_are_refused_in_a_short_message() -> None:
    for value in (None, CID0.encode(), 12, ["Qm"]):
        with pytest.raises(MalformedCid, match=f"a CID must be a string, got {type(value).__name__}"):
            parse_cid(value)  # type: ignore[arg-type]
    with pytest.raises(MalformedCid) as caught:
        parse_cid("b" + "a" * 1_000_000)
    message = str(caught.value)
    assert "is not a CIDv1: it has 1000001 characters, a CIDv1 has 59" in message and len(message) < 400


def _spelled(parsed: ParsedCid) -> str:
    multihash = bytes([0x12, 32]) + parsed.digest
    return b58encode(multihash) if parsed.version == 0 else v1(bytes([1, parsed.codec]) + multihash)


EDITS = st.tuples(st.sampled_from([CID0, CID1]), st.integers(0, 60), st.integers(0, 2), st.characters())


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=70) | EDITS.map(lambda e: e[0][:e[1]] + e[3] * (e[2] > 0) + e[0][e[1] + (e[2] != 1):]))
def test_any_string_is_refused_or_is_the_one_spelling_of_its_cid(text: str) -> None:
    """A CID is accepted only in its canonical spelling, which is ASCII letters and digits: safe as a path."""
    try:
        parsed = parse_cid(text)
    except MalformedCid:
        return
    assert _spelled(parsed) == text and text.isascii() and text.isalnum()


# ------------------------------------------------------------------ hostile CIDs reach no path and no URL


@pytest.mark.parametrize("cid", HOSTILE_CIDS)
def test_hostile_cids_never_reach_the_local_store_directory(cid: str, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    for outside in (tmp_path / "secret", tmp_path / "store" / "secret"):
        outside.write_bytes(b"not for miners")
    for call in (store.get, store.has, store.pin, lambda c: fetch_model(store, c, "simplenet")):
        with pytest.raises(MalformedCid, match="is not a CID"):
            call(cid)
    assert list((tmp_path / "store" / "blocks").iterdir()) == []


class _AnyStore:
    """A ModelStore that checks nothing: fetch_model must check the CID itself."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get(self, cid: str) -> bytes:
        self.asked.append(cid)
        return b""


def test_fetch_model_checks_the_cid_before_any_store_sees_it() -> None:
    store = _AnyStore()
    for cid in HOSTILE_CIDS:
        with pytest.raises(MalformedCid):
            fetch_model(store, cid, "simplenet")  # type: ignore[arg-type]
    assert store.asked == []


# ------------------------------------------------------------------ round trips


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
    from offchain.fl.architectures import SmallCNN

    cnn_bytes = model_to_bytes(SmallCNN().state_dict(), "cnn")
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


def test_cid_digest_round_trip() -> None:
    data = b"a model"
    for version, raw in ((0, False), (1, True)):
        cid = compute_cid(data, version=version, raw_leaves=raw)
        digest, kind = cid_to_digest(cid)
        assert cid_from_digest(digest, kind) == cid and len(digest) == 32
    v1_dag_pb = cid_of("x", CidKind.V1_DAG_PB)
    assert v1_dag_pb.startswith("b") and cid_from_digest(*cid_to_digest(v1_dag_pb)) == v1_dag_pb
