"""Where a request goes: a URL read into its scheme, host, port, Host header and request
target, as the link checker's client (``archiver.net.aioclient``) sends them."""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from archiver.errors import BadUrl
from archiver.net.hostmap import ascii_host

# Characters left as they are in a request target; everything else (spaces, non-ASCII
# text) is percent-encoded the way browsers do, and existing escapes are kept.
_SAFE = "!#$%&'()*+,/:;=?@[]~"
_ALREADY_SAFE = re.compile(r"[A-Za-z0-9_.\-!#$%&'()*+,/:;=?@\[\]~]*")


def _quoted(text: str) -> str:
    """``text`` percent-encoded for a request target (most URLs need nothing done)."""
    return text if _ALREADY_SAFE.fullmatch(text) else quote(text, safe=_SAFE)


# The shape nearly every cited URL has, read without ``urlsplit`` (its parse took ~8 us a
# request, the largest single cost of a request in bench/'s scenario C): a lower-case
# scheme, an ASCII host name or IPv4 address, a port of up to five digits, no user
# info, tabs or line breaks. Anything else goes through ``urlsplit``; both give the same
# target (tests/test_aioclient.py compares them).
_SIMPLE_URL = re.compile(
    r"(https?)://([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?([^#?\t\r\n]*)(?:\?([^#\t\r\n]*))?(?:#[^\t\r\n]*)?"
)


class Target(NamedTuple):
    """Where one request goes, read from its URL (``parse``)."""

    scheme: str
    host: str  # as sent (IDNA-encoded), without brackets
    port: int
    host_header: str
    path: str  # the request target: path and query, percent-encoded

    @classmethod
    def parse(cls, url: str) -> Target:
        """``url``'s target; raises BadUrl for what is no http(s) URL a request can go to."""
        simple = _SIMPLE_URL.fullmatch(url)
        if simple is None or (simple[4] and simple[4][0] != "/"):
            return cls.parse_any(url)
        scheme, hostname, port_text, path, query = simple.groups()
        default = 443 if scheme == "https" else 80
        port = int(port_text) if port_text else 0
        if port > 65535:
            return cls.parse_any(url)  # which refuses it, as urlsplit does
        try:
            host = ascii_host(hostname.lower())
        except UnicodeError as e:
            raise BadUrl(f"not a valid URL: {url} ({e})") from e
        port = port or default
        path = _quoted(path or "/")
        if query:
            path += "?" + _quoted(query)
        return cls(scheme, host, port, host if port == default else f"{host}:{port}", path)

    @classmethod
    def parse_any(cls, url: str) -> Target:
        """``url`` read by ``urlsplit``: whatever shape it has."""
        try:
            parts = urlsplit(url)
        except ValueError as e:  # a bracketed host that is no IPv6 address
            raise BadUrl(f"not a valid URL: {url} ({e})") from e
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise BadUrl(f"not an http(s) URL: {url}")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
            host = ascii_host(parts.hostname)
        except (ValueError, UnicodeError) as e:
            raise BadUrl(f"not a valid URL: {url} ({e})") from e
        shown = f"[{host}]" if ":" in host else host
        default = port == (443 if scheme == "https" else 80)
        path = _quoted(parts.path or "/")
        if parts.query:
            path += "?" + _quoted(parts.query)
        return cls(scheme, host, port, shown if default else f"{shown}:{port}", path)
