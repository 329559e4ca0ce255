"""The `pofl` store commands, run as a user would (in process through click's runner), which start nothing (the
commands against a devnet: tests/system/test_cli.py)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from offchain.cli import cli
from offchain.store import compute_cid


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_store_put_get_verify(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"some model bytes")
    store = str(tmp_path / "store")
    code, out = run("store", "put", str(blob), "--store-dir", store)
    assert code == 0 and out.strip() == compute_cid(b"some model bytes")
    cid = out.strip()
    code, out = run("store", "verify", cid, "--store-dir", store)
    assert code == 0 and "hash verified" in out
    code, _ = run("store", "get", cid, "-o", str(tmp_path / "back.bin"), "--store-dir", store)
    assert code == 0 and (tmp_path / "back.bin").read_bytes() == b"some model bytes"


def test_store_verify_tells_a_canonical_model_from_a_re_encoded_copy(tmp_path: Path) -> None:
    from offchain.store import LocalStore
    from offchain.store.model_bytes import content_digest, model_to_bytes
    from tests.support.models import reencoded, simplenet_state

    state = simplenet_state(5)
    store = LocalStore(tmp_path / "store")
    canonical, copy = store.put(model_to_bytes(state, "simplenet")), store.put(reencoded(state, round="9"))
    digest = "0x" + content_digest(state, "simplenet").hex()
    code, out = run("store", "verify", canonical, "--architecture", "simplenet", "--store-dir", str(store.root))
    assert code == 0 and "parameters, canonical)" in out
    code, out = run("store", "verify", copy, "--architecture", "simplenet", "--store-dir", str(store.root), "--json")
    assert code == 0 and '"canonical": false' in out and digest in out  # the same model, however encoded


def test_store_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    code, out = run("store", "get", "Qmbad", "--store-dir", str(tmp_path))
    assert code == 2 and "Invalid value for 'CID': 'Qmbad' is not a CIDv0" in out and "Traceback" not in out
    blob = tmp_path / "b"
    blob.write_bytes(b"not a model")
    cid = run("store", "put", str(blob), "--store-dir", str(tmp_path))[1].strip()
    code, out = run("store", "verify", cid, "--architecture", "simplenet", "--store-dir", str(tmp_path))
    assert code == 1 and "ModelFormatError: not a safetensors file" in out
