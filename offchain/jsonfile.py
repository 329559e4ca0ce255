"""A JSON object that a user or another process wrote, read with errors that name where it came from."""

from __future__ import annotations

import json
from typing import Any

from offchain.errors import PoflError


def json_object(text: str, source: str, error: type[PoflError]) -> dict[str, Any]:
    """The JSON object in ``text``; ``error`` naming ``source`` if it is not JSON or not an object."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{source}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(doc, dict):
        raise error(f"{source}: expected a JSON object, found {type(doc).__name__}")
    return doc
