"""Small facts about URLs that every stage asks: is it http(s), which host does it name."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from archiver.errors import InputError


def validate_url(url: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL; raise InputError otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"not an http(s) URL: {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as e:
        raise InputError(f"not a valid URL: {url!r} ({e})") from e
    return url.strip()


AUTHORITY = re.compile(r"[^:/?#]*://([^/?#]*)")


def host_of(url: str) -> str:
    """The authority part of ``url``, lower-cased: what per-host limits count by
    (a regular expression, as ``urlsplit`` is twenty times slower on 20,000 URLs)."""
    match = AUTHORITY.match(url)
    return match.group(1).lower() if match else urlsplit(url).netloc.lower()


def is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
