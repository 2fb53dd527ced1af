"""The HTTP headers a stored response keeps: ``stored_response_headers``.

A live response is stored with the headers it came with, except ``Transfer-Encoding``
(the body is stored de-chunked) and ``Content-Length`` (set to the stored payload's
length, where the first one was).

**A memento's headers are the original's.** A Wayback-family archive (pywb, OpenWayback,
the Internet Archive) answers a raw (``id_``) replay with the original headers and its own
mixed: it renames an original header whose name it needs for itself to
``X-Archive-Orig-<Name>``, and adds its own. Stored: the original headers, renamed ones
restored in place (so their order is the original's), with the two changes above. Left
out, as the archive's own (``archiver.storage.warcwriter`` keeps the archive's whole answer
in the memento's ``metadata`` record instead):

- ``Memento-Datetime`` and ``Preference-Applied``;
- the ``Link`` values that carry Memento relations (original, timegate, timemap, memento,
  and ``first``/``prev``/``next``/``last memento``); a page's own links stay;
- ``Content-Location`` naming a memento in the archive (on the archive's host, the original
  URL inside it); a page's own, relative one stays;
- any other ``X-Archive-*`` header (the Internet Archive's ``X-Archive-Src``,
  ``X-Archive-Guessed-Charset`` and the like);
- every header named in ``ARCHIVE_RENAMES`` that comes unrenamed: pywb 2.x renames those
  in every mode, ``id_`` included, so an unrenamed one is the archive's (its ``Date``, its
  ``Server``, its caching and connection headers).

Checked against a stock pywb 2.10's ``id_`` replay (tests/test_memento_provenance.py runs
it): it renames Date, Server, Cache-Control, ETag, Last-Modified, Vary and an invalid
Content-Length; passes Content-Type, a valid Content-Length, Link, Set-Cookie and headers
it does not know as they were; and adds its own Date, Link, Memento-Datetime and (without
``redirect_to_exact``) Content-Location. An archive that passed an original ``Date``
unrenamed would lose it here, rather than have the archive's own taken for it.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from archiver.net.http import Fetched

__all__ = ["ARCHIVE_RENAMES", "ORIGINAL_PREFIX", "stored_response_headers"]

ORIGINAL_PREFIX = "x-archive-orig-"

# pywb 2.x's header rules (pywb/rewrite/header_rewriter.py) that rename in every mode
# ("prefix"), plus Keep-Alive, a connection header any server sets for itself.
ARCHIVE_RENAMES = frozenset(
    {
        "age",
        "alt-svc",
        "cache-control",
        "connection",
        "content-md5",
        "content-security-policy",
        "content-security-policy-report-only",
        "date",
        "etag",
        "expires",
        "keep-alive",
        "last-modified",
        "p3p",
        "pragma",
        "public-key-pins",
        "retry-after",
        "server",
        "status",
        "strict-transport-security",
        "tk",
        "trailer",
        "upgrade",
        "upgrade-insecure-requests",
        "vary",
        "via",
        "warning",
        "x-frame-options",
        "x-xss-protection",
    }
)
_ARCHIVE_FRAMING = frozenset({"memento-datetime", "preference-applied"})
_MEMENTO_RELATIONS = frozenset({"original", "timegate", "timemap", "memento"})
_EMBEDDED_URL = re.compile(r"/https?:/", re.IGNORECASE)
_REL = re.compile(r'(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))', re.IGNORECASE)


def stored_response_headers(fetched: Fetched, *, from_archive: bool) -> list[tuple[str, str]]:
    """The response headers as stored: see the module docstring for what changes and why.

    ``from_archive``: ``fetched`` is an archive's answer for a memento, over HTTP.
    """
    headers: list[tuple[str, str]] = []
    length_set = False
    for name, value in fetched.headers:
        lower = name.lower()
        if from_archive:
            if lower.startswith(ORIGINAL_PREFIX) and len(name) > len(ORIGINAL_PREFIX):
                name = name[len(ORIGINAL_PREFIX) :]
                lower = name.lower()
            elif lower == "link":
                value = _without_memento_links(value)
                if not value:
                    continue
            elif _is_the_archives(lower, value, fetched.final_url):
                continue
        if lower == "transfer-encoding":
            continue
        if lower == "content-length":
            if not length_set:  # in place of the first, so the order stays as received
                headers.append((name, str(len(fetched.raw_body))))
                length_set = True
            continue
        headers.append((name, value))
    if not length_set:
        headers.append(("Content-Length", str(len(fetched.raw_body))))
    return headers


def _is_the_archives(lower: str, value: str, answered_at: str) -> bool:
    """Whether an unrenamed header of an archive's answer is the archive's own."""
    if lower in _ARCHIVE_FRAMING or lower in ARCHIVE_RENAMES or lower.startswith("x-archive-"):
        return True
    if lower == "content-location":  # a memento URI: on the archive, the original inside
        location = urlsplit(urljoin(answered_at, value.strip()))
        inside = _EMBEDDED_URL.search(location.path) is not None
        return inside and location.netloc.lower() == urlsplit(answered_at).netloc.lower()
    return False


def _without_memento_links(value: str) -> str:
    """A ``Link`` header value without its link-values that carry Memento relations."""
    kept = []
    for link in _link_values(value):
        relations: set[str] = set()
        for match in _REL.finditer(link[link.find(">") + 1 :]):
            relations.update((match.group(1) or match.group(2) or "").lower().split())
        if not relations & _MEMENTO_RELATIONS:
            kept.append(link)
    return ", ".join(kept)


def _link_values(value: str) -> list[str]:
    """The comma-separated link-values of a ``Link`` header (commas inside ``<...>`` and
    quoted strings do not separate)."""
    values: list[str] = []
    current: list[str] = []
    in_uri = in_quotes = False
    for char in value:
        if char == "<" and not in_quotes:
            in_uri = True
        elif char == ">" and not in_quotes:
            in_uri = False
        elif char == '"' and not in_uri:
            in_quotes = not in_quotes
        elif char == "," and not (in_uri or in_quotes):
            values.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    values.append("".join(current).strip())
    return [v for v in values if v]
