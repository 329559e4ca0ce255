"""Data sets fetched once over HTTP into ``$POFL_CACHE`` (default ``~/.cache/pofl``)."""

from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("POFL_CACHE", Path.home() / ".cache" / "pofl"))


def download(url: str, target: Path, timeout: float) -> Path:
    """``url`` saved at ``target`` (through ``target.part``: an interrupted download leaves nothing behind).
    Raises ``urllib.error.URLError`` or ``OSError`` when the server cannot be reached."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(partial, "wb") as out:
            shutil.copyfileobj(resp, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target
