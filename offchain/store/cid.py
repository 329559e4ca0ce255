"""Content identifiers exactly as Kubo's ``ipfs add`` makes them, in pure Python.

The default layout is Kubo's: 256 KiB fixed-size chunks, each a dag-pb node holding a UnixFS
``File`` leaf; a balanced tree of dag-pb nodes with at most 174 links each above them; the
root's sha256 multihash is the CID. Version 0 (``Qm...``, base58btc) is Kubo's default;
:func:`compute_cid` can also give CIDv1 (base32 ``b...``), with dag-pb or raw leaves.

Everything here is a pure function of the bytes.
"""

from __future__ import annotations

import base64
import hashlib
import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from offchain.errors import PoflValueError

CHUNK_SIZE = 256 * 1024
MAX_LINKS = 174

_DAG_PB = 0x70
_RAW = 0x55
_SHA2_256 = 0x12
_UNIXFS_FILE = 2
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_SHA2_256_MULTIHASH = bytes([_SHA2_256, 32])
_V0_LENGTH = 46
_V1_LENGTH = 59
_REPR = reprlib.Repr()
_REPR.maxstring = 80  # a hostile "CID" may be megabytes long; messages show its ends


class MalformedCid(PoflValueError):
    """A string that is not a CID this project can verify."""


# ---------------------------------------------------------------- encodings


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_varint(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _field_bytes(field: int, value: bytes) -> bytes:
    return _varint((field << 3) | 2) + _varint(len(value)) + value


def _b32(data: bytes) -> str:
    """Lowercase RFC 4648 base32 without padding: multibase ``b``."""
    return base64.b32encode(data).decode().lower().rstrip("=")


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, rem = divmod(n, 58)
        out = _B58_ALPHABET[rem] + out
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + out


def _b58decode(text: str) -> bytes:
    """The bytes of base58btc ``text``, whose characters the caller has checked."""
    n = 0
    for ch in text:
        n = n * 58 + _B58_ALPHABET.index(ch)
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + body


# ---------------------------------------------------------------- dag-pb / UnixFS


def _unixfs_file(data: bytes | None, filesize: int, blocksizes: list[int]) -> bytes:
    out = _field_varint(1, _UNIXFS_FILE)
    if data:
        out += _field_bytes(2, data)
    out += _field_varint(3, filesize)
    for size in blocksizes:
        out += _field_varint(4, size)
    return out


def _pb_node(data: bytes, links: list[tuple[bytes, int]]) -> bytes:
    """A dag-pb node: links (field 2) first, then data (field 1), as the dag-pb spec orders them."""
    out = b""
    for cid_bytes, tsize in links:
        link = _field_bytes(1, cid_bytes) + _field_bytes(2, b"") + _field_varint(3, tsize)
        out += _field_bytes(2, link)
    return out + _field_bytes(1, data)


def _multihash(data: bytes) -> bytes:
    return _SHA2_256_MULTIHASH + hashlib.sha256(data).digest()


@dataclass(frozen=True)
class _Node:
    cid: bytes  # binary CID: the bare multihash for v0, version + codec + multihash for v1
    filesize: int  # bytes of file content below this node
    tsize: int  # bytes of all serialized blocks below and including this node


def _leaf(chunk: bytes, version: int, raw_leaves: bool) -> _Node:
    if raw_leaves:
        return _Node(bytes([1, _RAW]) + _multihash(chunk), len(chunk), len(chunk))
    block = _pb_node(_unixfs_file(chunk, len(chunk), []), [])
    return _Node(_binary_cid(block, version), len(chunk), len(block))


def _binary_cid(block: bytes, version: int) -> bytes:
    mh = _multihash(block)
    return mh if version == 0 else bytes([1, _DAG_PB]) + mh


def _parent(children: list[_Node], version: int) -> _Node:
    data = _unixfs_file(None, sum(c.filesize for c in children), [c.filesize for c in children])
    block = _pb_node(data, [(c.cid, c.tsize) for c in children])
    return _Node(_binary_cid(block, version), sum(c.filesize for c in children),
                 len(block) + sum(c.tsize for c in children))


def _root(data: bytes, version: int, raw_leaves: bool) -> _Node:
    level = [_leaf(data[i:i + CHUNK_SIZE], version, raw_leaves) for i in range(0, len(data), CHUNK_SIZE)]
    if not level:  # the empty file is one empty leaf
        level = [_leaf(b"", version, raw_leaves=False)]
    while len(level) > 1:
        level = [_parent(level[i:i + MAX_LINKS], version) for i in range(0, len(level), MAX_LINKS)]
    return level[0]


def compute_cid(data: bytes, *, version: int = 0, raw_leaves: bool = False) -> str:
    """The CID ``ipfs add`` gives ``data`` (``--cid-version``, ``--raw-leaves`` as given)."""
    if version not in (0, 1):
        raise PoflValueError(f"CID version must be 0 or 1, got {version}")
    if version == 0 and raw_leaves:
        raise PoflValueError("raw leaves need CID version 1 (as in Kubo)")
    cid = _root(bytes(data), version, raw_leaves).cid
    return b58encode(cid) if version == 0 else "b" + _b32(cid)


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ParsedCid:
    version: int
    codec: int
    digest: bytes


def _bad(text: str, what: str, kind: str = "CID") -> MalformedCid:
    return MalformedCid(f"{_REPR.repr(text)} is not a {kind}: {what}; expected 'Qm...' ({_V0_LENGTH} base58btc "
                        f"characters) or 'b...' ({_V1_LENGTH} lowercase base32 characters), as `ipfs add` prints")


def _first_bad(text: str, allowed: Callable[[str], bool]) -> str | None:
    """The first character of ``text`` that is not ``allowed``, and where it is, in words; None if all are."""
    return next((f"{ch!r} (U+{ord(ch):04X}) at position {i}" for i, ch in enumerate(text) if not allowed(ch)), None)


def _parse_v0(text: str) -> ParsedCid:
    if len(text) != _V0_LENGTH:
        raise _bad(text, f"it has {len(text)} characters, a CIDv0 has {_V0_LENGTH}", "CIDv0")
    if bad := _first_bad(text, _B58_ALPHABET.__contains__):
        raise _bad(text, f"base58btc has no character {bad}", "CIDv0")
    raw = _b58decode(text)
    if len(raw) != 34 or raw[:2] != _SHA2_256_MULTIHASH:
        raise _bad(text, "it does not decode to a sha2-256 multihash (0x12 0x20 and a 32-byte digest)", "CIDv0")
    return ParsedCid(0, _DAG_PB, raw[2:])


def _parse_v1(text: str) -> ParsedCid:
    body = text[1:]
    if len(text) > 2 * _V1_LENGTH:
        raise _bad(text, f"it has {len(text)} characters, a CIDv1 has {_V1_LENGTH}", "CIDv1")
    if bad := _first_bad(text, _B32_ALPHABET.__contains__):  # the multibase prefix b is base32 too
        raise _bad(text, f"lowercase base32 without padding has no character {bad}", "CIDv1")
    if len(body) % 8 in (1, 3, 6):
        raise _bad(text, f"{len(body)} base32 characters are not a whole number of bytes", "CIDv1")
    raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
    if len(raw) < 4:
        raise _bad(text, f"it decodes to {len(raw)} bytes, a CIDv1 has 36", "CIDv1")
    if raw[0] != 1:
        raise _bad(text, f"it starts with version {raw[0]}, not 1", "CIDv1")
    if raw[1] not in (_DAG_PB, _RAW):
        raise _bad(text, f"codec 0x{raw[1]:02x} is neither dag-pb (0x70) nor raw (0x55)", "CIDv1")
    if raw[2] != _SHA2_256:
        raise _bad(text, f"hash function 0x{raw[2]:02x} is not sha2-256 (0x12)", "CIDv1")
    if raw[3] != 32:
        raise _bad(text, f"its multihash declares a {raw[3]}-byte digest, a sha2-256 digest has 32", "CIDv1")
    if len(raw) < 36:
        raise _bad(text, f"its digest is cut to {len(raw) - 4} bytes, a sha2-256 digest has 32", "CIDv1")
    if len(raw) > 36:
        raise _bad(text, f"it has {len(raw) - 36} trailing byte(s) after the 32-byte digest", "CIDv1")
    if _b32(raw) != body:
        raise _bad(text, "its last character has unused bits set (not canonical base32)", "CIDv1")
    return ParsedCid(1, raw[1], raw[4:])


def parse_cid(text: str) -> ParsedCid:
    """Check that ``text`` is a sha256 CIDv0 or a base32 CIDv1 (dag-pb or raw); raise MalformedCid if not.

    Exactly one spelling per CID is accepted: ASCII only, the exact alphabet and length of its
    version (46 base58btc characters ``Qm...``; ``b`` and 58 lowercase base32 characters), the
    exact structure (version 1, codec, sha2-256 multihash of 32 bytes, nothing trailing). So a
    parsed CID is safe as a file name or URL part: letters and digits only. (js-ipfs prints
    CIDv1 in base58btc, ``z...``, unless asked for ``cid-base=base32``; that spelling is refused.)
    """
    if not isinstance(text, str):
        raise MalformedCid(f"a CID must be a string, got {type(text).__name__}")
    if not text:
        raise MalformedCid("a CID must not be empty; expected 'Qm...' or 'b...' as `ipfs add` prints")
    if bad := _first_bad(text, str.isascii):
        raise _bad(text, f"it has the non-ASCII character {bad}")
    if text.startswith("Qm"):
        return _parse_v0(text)
    if text.startswith("b"):
        return _parse_v1(text)
    if text.startswith("z"):
        raise _bad(text, "a base58btc ('z') CIDv1 is not taken; `ipfs cid base32 CID` prints its 'b' spelling")
    raise _bad(text, "it starts with neither 'Qm' (CIDv0) nor 'b' (base32 CIDv1)")


def cid_matches(data: bytes, cid: str) -> bool:
    """Whether ``data`` is the content of ``cid``: Kubo's ``ipfs add`` layout, CIDv0 or
    CIDv1 as ``ipfs add --cid-version=1`` makes it (raw leaves)."""
    parsed = parse_cid(cid)
    return parse_cid(compute_cid(data, version=parsed.version, raw_leaves=parsed.version == 1)) == parsed


# ---------------------------------------------------------------- digests (what the contract stores)


class CidKind(IntEnum):
    """How a sha2-256 digest becomes a CID again (mirrors ``IPoFLConsensus.CidKind``)."""

    V0_DAG_PB = 0
    V1_DAG_PB = 1
    V1_RAW = 2


_KIND_OF = {(0, _DAG_PB): CidKind.V0_DAG_PB, (1, _DAG_PB): CidKind.V1_DAG_PB, (1, _RAW): CidKind.V1_RAW}
_CODEC_OF = {CidKind.V1_DAG_PB: _DAG_PB, CidKind.V1_RAW: _RAW}


def cid_to_digest(text: str) -> tuple[bytes, CidKind]:
    """The 32-byte sha2-256 digest a CID carries and its kind; ``cid_from_digest`` inverts it (a CIDv1 comes
    back in its canonical base32 form)."""
    parsed = parse_cid(text)
    return parsed.digest, _KIND_OF[(parsed.version, parsed.codec)]


def cid_from_digest(digest: bytes, kind: int) -> str:
    """The CID string of ``digest`` as ``kind`` (CIDv0 ``Qm...``, or CIDv1 base32 ``b...``)."""
    if len(digest) != 32:
        raise MalformedCid(f"a sha2-256 digest has 32 bytes, got {len(digest)}")
    multihash = bytes([_SHA2_256, 32]) + bytes(digest)
    kind = CidKind(kind)
    if kind == CidKind.V0_DAG_PB:
        return b58encode(multihash)
    binary = bytes([1, _CODEC_OF[kind]]) + multihash
    return "b" + base64.b32encode(binary).decode().lower().rstrip("=")
