"""Where a capture's bytes come from: an archive, a local collection, or the live web.

``obtain_memento`` and ``obtain_live`` get the response to store and work out what the
WARC records should say about it; ``archiver.storage.store`` writes it. Nothing here
writes to disk.

**Provenance of a memento.** The record says where the bytes really came from, the way
pywb's own recorder does: ``WARC-Target-URI`` is the original URL, ``WARC-Date`` is the
archive's ``Memento-Datetime`` for the capture it actually served (archives answer with a
neighbouring capture when the asked-for one is gone; ``memento.datetime`` is only the
fallback), ``WARC-Source-URI`` is the archive URL fetched (after the archive's own
redirects) and ``WARC-Creation-Date`` is when archiver fetched it. The request record is
the request that was sent, to the archive. Redirects are followed only while they are the
archive's own (no ``Memento-Datetime``, same host): a 3xx that *is* the memento is stored
as it is, never followed to the live web.

A memento of a local WARC/WACZ collection (its ``raw_url`` is a ``file:`` locator) is read
from its file, not fetched: the record reached after the collection's own captured
redirects is stored under its URL and WARC-Date, as a redirected live capture is, and
``WARC-Source-URI`` is the record's locator (``file:///...#offset=N``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import requests

from archiver.archives.local.collection import read_collection_memento
from archiver.archives.local.keys import is_collection_locator
from archiver.config import Settings
from archiver.dates import parse_http_date, parse_iso, to_iso
from archiver.errors import NetworkError
from archiver.models import Memento
from archiver.net.http import Fetched, fetch
from archiver.storage.digests import sha1_base32_digest
from archiver.storage.warcwriter import default_warcinfo

__all__ = ["Obtained", "obtain_live", "obtain_memento"]

_LINK_ORIGINAL = re.compile(r'<([^>]*)>\s*;[^,]*?rel\s*=\s*"?original"?', re.IGNORECASE)


@dataclass(frozen=True)
class Obtained:
    """A response got for a capture, and what its records and manifest row say of it."""

    fetched: Fetched
    url: str  # as asked for: the citation's URL, or the memento's original
    target_uri: str
    warc_date: str
    creation_date: str
    source: str  # "memento" | "live"
    warcinfo: dict[str, str]
    archive: str | None = None
    memento_datetime: str | None = None
    archive_original: str | None = None
    archive_digest: str | None = None


def obtain_memento(
    memento: Memento,
    session: requests.Session,
    settings: Settings,
    clock: Callable[[], datetime],
) -> Obtained:
    """Fetch ``memento.raw_url`` (or read it, from a local collection), with provenance."""
    if is_collection_locator(memento.raw_url):
        return _read_collection_memento(memento, settings, clock)
    fetched = _fetch_memento(session, memento, settings)
    fetched_at = clock()
    warc_date = to_iso(_memento_datetime(fetched, memento.datetime))
    digest = sha1_base32_digest(memento.digest)
    served = _archive_original(fetched)
    return Obtained(
        fetched,
        url=memento.original,
        target_uri=memento.original,
        warc_date=warc_date,
        creation_date=to_iso(fetched_at),
        source="memento",
        archive=memento.archive,
        memento_datetime=memento.datetime,
        archive_original=served if served and served != memento.original else None,
        archive_digest=digest,
        warcinfo=default_warcinfo(
            f"Memento of {memento.original} from {memento.archive}, re-archived from "
            f"its raw replay {fetched.final_url}"
        ),
    )


def _read_collection_memento(
    memento: Memento, settings: Settings, clock: Callable[[], datetime]
) -> Obtained:
    """A memento of a local WARC/WACZ collection, read from its file (see the docstring)."""
    served = read_collection_memento(
        memento, max_redirects=settings.max_redirects, max_bytes=settings.max_bytes
    )
    return Obtained(
        served.as_fetched(memento.raw_url),
        url=memento.original,
        target_uri=served.url,
        warc_date=served.datetime,
        creation_date=to_iso(clock()),
        source="memento",
        archive=memento.archive,
        memento_datetime=memento.datetime,
        archive_original=served.url if served.url != memento.original else None,
        archive_digest=sha1_base32_digest(served.digest),
        warcinfo=default_warcinfo(
            f"Memento of {memento.original} from the local collection {memento.archive}, "
            f"read from {served.locator}"
        ),
    )


def obtain_live(
    url: str, session: requests.Session, settings: Settings, clock: Callable[[], datetime]
) -> Obtained:
    """Fetch ``url`` from the live web; the final response is stored under its own URL."""
    try:
        fetched = fetch(session, url, settings)
    except NetworkError as e:
        raise e.with_context(f"could not fetch {url}") from e
    fetched_at = to_iso(clock())
    return Obtained(
        fetched,
        url=url,
        target_uri=fetched.final_url,
        warc_date=fetched_at,
        creation_date=fetched_at,
        source="live",
        warcinfo=default_warcinfo(f"Live capture of {url}"),
    )


def _fetch_memento(session: requests.Session, memento: Memento, settings: Settings) -> Fetched:
    """GET ``memento.raw_url``, following only the archive's own redirects."""
    url = memento.raw_url
    archive_host = urlsplit(url).netloc.lower()
    history: list[tuple[str, int]] = []
    while True:
        try:
            fetched = fetch(session, url, settings, allow_redirects=False)
        except NetworkError as e:
            raise e.with_context(f"could not fetch memento {url}") from e
        location = fetched.header("Location")
        if (
            300 <= fetched.status < 400
            and location
            and fetched.header("Memento-Datetime") is None
            and urlsplit(urljoin(url, location)).netloc.lower() == archive_host
        ):
            if len(history) >= settings.max_redirects:
                raise NetworkError(f"too many redirects fetching memento {memento.raw_url}")
            history.append((url, fetched.status))
            url = urljoin(url, location)
            continue
        break
    if fetched.header("Memento-Datetime") is None and fetched.status >= 400:
        raise NetworkError(
            f"{memento.archive} has no memento at {memento.raw_url} (HTTP {fetched.status})"
        )
    return dataclass_replace(fetched, url=memento.raw_url, history=tuple(history))


def _memento_datetime(fetched: Fetched, listed: str) -> datetime:
    header = fetched.header("Memento-Datetime")
    if header:
        with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
            return parse_http_date(header)
    return parse_iso(listed)


def _archive_original(fetched: Fetched) -> str | None:
    for name, value in fetched.headers:
        if name.lower() == "link":
            match = _LINK_ORIGINAL.search(value)
            if match:
                return match.group(1)
    return None
