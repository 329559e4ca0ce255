"""The requester's shard keys, in a local JSON file only its owner can read.

Layout (``format`` versioned; every key and the task id 32 bytes, 0x-hex)::

    {"format": "pofl-holdout-keys-v1", "task": "0x...", "shards": ["0x...", ...], "final": "0x..."}

``shards[i]`` opens selection shard ``i``; ``final`` opens the final shard. The file is written
atomically (a temporary file in the same directory, created with mode 0600, fsynced, then
linked or renamed into place) and never over an existing file unless asked; reading refuses a
file that group or others may access, as ssh does with a private key.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from offchain.errors import PoflValueError
from offchain.holdout.sealing import FINAL_INDEX, KEY_BYTES, TASK_BYTES
from offchain.jsonfile import json_object

FORMAT = "pofl-holdout-keys-v1"
MAX_KEY_FILE_BYTES = 1024 * 1024


class KeyFileError(PoflValueError):
    """A key file that is missing, malformed, or open to other users; nothing was read from it."""


@dataclass(frozen=True)
class Keys:
    """A task's shard keys: ``shards[i]`` for selection shard ``i``, ``final`` for the final shard."""

    task: bytes
    shards: tuple[bytes, ...]
    final: bytes

    def __post_init__(self) -> None:
        for what, value, size in [("task", self.task, TASK_BYTES), ("final key", self.final, KEY_BYTES),
                                  *((f"key of shard {i}", k, KEY_BYTES) for i, k in enumerate(self.shards))]:
            if not isinstance(value, bytes) or len(value) != size:
                raise KeyFileError(f"{what} must be {size} bytes, got {value!r:.20}")

    def __repr__(self) -> str:  # never print keys
        return f"Keys(task=0x{self.task.hex()}, {len(self.shards)} shard keys and a final key)"

    def key(self, index: int) -> bytes:
        """The key of shard ``index`` (:data:`~offchain.holdout.sealing.FINAL_INDEX`: the final shard)."""
        if index == FINAL_INDEX:
            return self.final
        if not 0 <= index < len(self.shards):
            raise KeyFileError(f"no key for shard {index}: this file holds shards 0..{len(self.shards) - 1} "
                               f"and the final shard")
        return self.shards[index]

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "task": _hex(self.task), "shards": [_hex(k) for k in self.shards],
                           "final": _hex(self.final)}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "key file") -> Keys:
        doc = json_object(text, source, KeyFileError)
        if doc.get("format") != FORMAT or set(doc) != {"format", "task", "shards", "final"}:
            raise KeyFileError(f"{source}: not a {FORMAT} file (expected the keys format, task, shards, final)")
        if not isinstance(doc["shards"], list):
            raise KeyFileError(f"{source}: 'shards' must be a list of 0x-hex keys")
        return cls(_unhex(doc["task"], source), tuple(_unhex(k, source) for k in doc["shards"]),
                   _unhex(doc["final"], source))


def write_keys(path: str | Path, keys: Keys, *, overwrite: bool = False) -> None:
    """Write ``keys`` to ``path`` with mode 0600, atomically; an existing file is kept unless ``overwrite``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise KeyFileError(f"{path} exists: it may hold another task's keys; move it away or choose another path")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")  # mkstemp creates mode 0600
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(keys.to_json())
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if another writer created path meanwhile: never clobbers
    except FileExistsError:
        raise KeyFileError(f"{path} was created by someone else while writing; nothing was overwritten") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def read_keys(path: str | Path) -> Keys:
    """The keys in ``path``; refused if group or others may access the file (``chmod 600`` it)."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such key file") from None
    if info.st_mode & 0o077:
        raise KeyFileError(f"{path} is open to group or others (mode {stat.filemode(info.st_mode)}): its keys may "
                           f"have leaked; if not, chmod 600 {path}")
    if info.st_size > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{path}: {info.st_size} bytes, over the {MAX_KEY_FILE_BYTES}-byte limit of a key file")
    return Keys.from_json(path.read_text(), str(path))


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _unhex(value: object, source: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise KeyFileError(f"{source}: expected a 0x-hex string, got {value!r:.20}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise KeyFileError(f"{source}: {value!r:.20} is not hex") from None
