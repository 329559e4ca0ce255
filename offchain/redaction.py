"""Keeping secrets out of output: RPC URLs often carry an API key.

:func:`redact_url` is what every log line, table, error message and metrics file shows of an
endpoint: the scheme, host and port, and the path with any segment that looks like a key
replaced. Userinfo (``user:password@``), the query string and the fragment are dropped.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

REDACTED = "***"
# A path segment that looks like an API key or token (Infura's /v3/<32 hex>, Alchemy's /v2/<key>, ...):
# at least 16 characters of letters, digits, '-' and '_', with at least one digit.
_KEY_LIKE = re.compile(r"^(?=.*\d)[A-Za-z0-9_\-]{16,}$")


def redact_url(url: str) -> str:
    """``url`` without userinfo, query and fragment, and with key-like path segments replaced."""
    if "://" not in url:
        return url  # "eth-tester", a multiaddr: no secrets in them
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = "/".join(REDACTED if _KEY_LIKE.match(seg) else seg for seg in parts.path.split("/"))
    suffix = f"?{REDACTED}" if parts.query else ""
    userinfo = f"{REDACTED}@" if parts.username or parts.password else ""
    return f"{parts.scheme}://{userinfo}{netloc}{path}{suffix}"


def secrets_of(url: str) -> list[str]:
    """The parts of ``url`` that :func:`redact_url` hides (to scrub them from other text)."""
    if "://" not in url:
        return []
    parts = urlsplit(url)
    found = [s for s in (parts.username, parts.password, parts.query, parts.fragment) if s]
    found += [seg for seg in parts.path.split("/") if _KEY_LIKE.match(seg)]
    return sorted(found, key=len, reverse=True)


def redact_text(text: str, url: str) -> str:
    """``text`` (an exception message, say) with every secret part of ``url`` replaced."""
    for secret in secrets_of(url):
        text = text.replace(secret, REDACTED)
    return text
