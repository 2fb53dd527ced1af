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
the request that was sent, to the archive. The bytes are read through the ``Archive``
protocol (``archiver.archives.base``), from the archive the memento was found in, with
the same politeness as every other archive request; a 3xx that *is* the memento is stored
as it is, never followed to the live web.

A memento of a local WARC/WACZ collection (its ``raw_url`` is a ``file:`` locator) is read
from its file, not fetched: the record reached after the collection's own captured
redirects is stored under its URL and WARC-Date, as a redirected live capture is, and
``WARC-Source-URI`` is the record's locator (``file:///...#offset=N``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import datetime
from urllib.parse import urlsplit

import requests

from archiver.archives.base import Archive, ArchivedResponse
from archiver.config import Settings
from archiver.dates import to_iso
from archiver.errors import NetworkError
from archiver.models import Memento
from archiver.net.http import Fetched, fetch
from archiver.net.polite import Net
from archiver.storage.digests import sha1_base32_digest
from archiver.storage.warcwriter import default_warcinfo

__all__ = ["Obtained", "obtain_live", "obtain_memento"]


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
    memento: Memento, archive: Archive, net: Net, clock: Callable[[], datetime]
) -> Obtained:
    """Read ``memento`` from ``archive`` (the one it was found in), with provenance."""
    response = _read_memento(memento, archive, net)
    fetched = response.as_fetched()
    followed = bool(fetched.history) and not _over_http(fetched)
    stated = response.original
    if _over_http(fetched):
        told = f"from {memento.archive}, re-archived from its raw replay {fetched.final_url}"
    else:
        told = f"from the local collection {memento.archive}, read from {fetched.final_url}"
    return Obtained(
        fetched,
        url=memento.original,
        target_uri=stated if followed and stated else memento.original,
        warc_date=response.datetime or memento.datetime,
        creation_date=to_iso(clock()),
        source="memento",
        archive=memento.archive,
        memento_datetime=memento.datetime,
        archive_original=stated if stated and stated != memento.original else None,
        archive_digest=sha1_base32_digest(response.digest),
        warcinfo=default_warcinfo(f"Memento of {memento.original} {told}"),
    )


def _read_memento(memento: Memento, archive: Archive, net: Net) -> ArchivedResponse:
    """``archive``'s answer for ``memento``; an answer that is no capture is an error.

    A local collection's captured redirects are followed inside the collection (there is
    no replay to send a reader to, so the page they lead to is what is kept); an HTTP
    archive's captured redirect is kept as the capture it is.
    """
    try:
        response = archive.read(memento, net)
    except NetworkError as e:
        raise e.with_context(f"could not fetch memento {memento.raw_url}") from e
    if not response.captured and response.status >= 400:
        raise NetworkError(
            f"{memento.archive} has no memento at {memento.raw_url} (HTTP {response.status})"
        )
    if _over_http(response.as_fetched()):
        return response
    history = list(response.history)
    seen = {response.url}
    while response.redirect is not None and response.redirect.capture is not None:
        target = response.redirect.capture
        if target.raw_url in seen or len(history) >= net.settings.max_redirects:
            break
        history.append((response.original or response.memento.original, response.status))
        response = archive.read(target, net)
        seen.add(response.url)
    return dataclass_replace(response, requested=memento.raw_url, history=tuple(history))


def _over_http(fetched: Fetched) -> bool:
    return urlsplit(fetched.final_url).scheme in ("http", "https")


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
