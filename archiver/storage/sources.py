"""Where a capture's bytes come from: an archive, a local collection, or the live web.

``obtain_memento`` and ``obtain_live`` get the responses to store and work out what the
WARC records should say about them; ``archiver.storage.store`` writes them. Nothing here
writes to disk.

**Provenance of a memento.** The record says where the bytes really came from, the way
pywb's own recorder does: ``WARC-Target-URI`` is the original URL the archive stated
(``Link: rel="original"``, a collection record's target URI), ``WARC-Date`` the datetime
it stated for the capture it actually served (archives answer with a neighbouring capture
when the asked-for one is gone; the memento's listed datetime is only the fallback when
the archive states none), ``WARC-Source-URI`` the archive URL fetched (after the
archive's own redirects) and ``WARC-Creation-Date`` when archiver fetched it. What the
archive said about itself is kept as provenance (``archiver.storage.warcwriter``), never
mixed into the stored headers (``archiver.storage.headers``). The bytes are read through
the ``Archive`` protocol (``archiver.archives.base``), from the archive the memento was
found in, with the same politeness as every other archive request; nothing is ever
followed to the live web.

**Captured redirects are kept, whatever the archive's kind.** A capture that is a
redirect (a trailing slash added, http to https, a page moved) is stored as the
``response`` it is, and the capture its target leads to after it, each under its own URL
and date, in one file, so that replay tools (pywb, ReplayWeb.page) take the cited URL
through its redirect as the archive did.
Redirects are followed inside the archive (``ArchivedResponse.redirect``) at most
``Settings.max_redirects`` times, never twice to one capture; a target the archive does
not hold ends the chain at the redirect.

``select`` hands over the capture a citation's redirects lead to (the page it judged),
not the redirect, so ``obtain_memento`` is also told the cited URL. When the memento is of
another URL, the cited URL's own capture nearest it is looked up (one ``Archive.closest``,
and one ``Archive.find`` only when that answered with another URL's capture) and kept
when its redirects lead to that very memento. When they do not, or the archive serves the
target for the cited URL without the redirect (pywb skips a capture that redirects to its
own URL give or take a slash or the scheme, whatever is asked), the page alone is stored,
under its own URL: archiver never writes a redirect it was not served.

**Requisites go with their page.** The stylesheets, images and scripts a page needs
(``archiver.storage.wholepage`` gets them) are carried by its ``Obtained`` and written
after it, in the same file, each read the way its page was (``read_chain`` for a memento,
``obtain_live_hops`` for a live page).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import requests

from archiver.archives.base import Archive, ArchivedResponse
from archiver.config import Settings
from archiver.dates import parse_iso, to_iso
from archiver.errors import InputError, NetworkError, TooManyRedirects
from archiver.models import Memento
from archiver.net.http import Fetched, fetch
from archiver.net.polite import Net
from archiver.storage.digests import sha1_base32_digest
from archiver.storage.manifest import LeftOutRequisite, StoredRedirect, StoredRequisite
from archiver.storage.requisites import Requisite
from archiver.storage.warcwriter import ResponseToWrite, WrittenRecord, default_warcinfo

__all__ = [
    "Obtained",
    "ObtainedRequisite",
    "obtain_live",
    "obtain_live_hops",
    "obtain_memento",
    "obtained_part",
    "read_chain",
    "stored_redirect",
]

log = logging.getLogger(__name__)

LISTED = 25  # captures of the cited URL asked for when looking for its redirect


@dataclass(frozen=True)
class Obtained:
    """A response got for a capture, and what its records and manifest row say of it.

    ``captured_redirects`` are the captured redirects that led to it, each obtained the
    same way, stored ahead of it (first first); ``provenance`` the fields of a memento's
    metadata record that state what the archive said.
    """

    fetched: Fetched
    url: str  # as asked for: the citation's URL, or the memento's original
    target_uri: str
    warc_date: str
    creation_date: str
    source: str  # "memento" | "live"
    warcinfo: dict[str, str]
    archive: str | None = None
    memento_datetime: str | None = None  # as the archive stated it
    listed_datetime: str | None = None  # of the memento archiver was asked to store
    archive_original: str | None = None
    archive_digest: str | None = None
    provenance: tuple[tuple[str, str], ...] = ()
    captured_redirects: tuple[Obtained, ...] = ()
    requisites: tuple[ObtainedRequisite, ...] = ()  # fetched now, written after the page
    requisites_shared: tuple[StoredRequisite, ...] = ()  # already in the store
    requisites_left_out: tuple[LeftOutRequisite, ...] = ()

    @property
    def redirects(self) -> tuple[tuple[str, int], ...]:
        """Every redirect answered on the way here: the archive's own (by archive URL) and
        the captured ones (by original URL), in order."""
        hops: list[tuple[str, int]] = []
        for hop in self.captured_redirects:
            hops.extend(hop.fetched.history)
            hops.append((hop.target_uri, hop.fetched.status))
        return (*hops, *self.fetched.history)

    def parts(self) -> list[Obtained]:
        """Every response to write, in order: the captured redirects, this one, then each
        requisite's (its captured redirects first)."""
        parts = [*self.captured_redirects, self]
        for requisite in self.requisites:
            parts.extend((*requisite.obtained.captured_redirects, requisite.obtained))
        return parts

    def to_write(self) -> list[ResponseToWrite]:
        """The responses to write (``parts``), each as its kind is written."""
        return [
            ResponseToWrite(
                part.fetched,
                part.target_uri,
                part.warc_date,
                source_uri=part.fetched.final_url if part.source == "memento" else None,
                provenance=part.provenance,
            )
            for part in self.parts()
        ]


@dataclass(frozen=True)
class ObtainedRequisite:
    """A requisite fetched for a page: what named it, its responses (``obtained``, with its
    captured redirects), and how far its capture is from the page's (mementos only)."""

    requisite: Requisite
    obtained: Obtained
    seconds_from_page: int | None = None
    note: str | None = None

    def stored(self, name: str, records: list[WrittenRecord]) -> StoredRequisite:
        """Its manifest entry, once written to file ``name`` as ``records`` (its response
        records, captured redirects first)."""
        final, hops = self.obtained, self.obtained.captured_redirects
        record = records[len(hops)]
        return StoredRequisite(
            url=self.requisite.url,
            kind=self.requisite.kind,
            found_in=self.requisite.found_in,
            target_uri=final.target_uri,
            warc_date=final.warc_date,
            http_status=final.fetched.status,
            warc_file=name,
            record_id=record.record_id,
            offset=record.offset,
            source_uri=final.fetched.final_url,
            payload_sha256=record.payload_sha256,
            payload_length=record.payload_length,
            seconds_from_page=self.seconds_from_page,
            note=self.note,
            redirects=tuple(stored_redirect(p, r) for p, r in zip(hops, records, strict=False)),
        )


def stored_redirect(part: Obtained, record: WrittenRecord) -> StoredRedirect:
    """The manifest entry of a captured redirect ``part``, written as ``record``."""
    fetched = part.fetched
    location = next((v for k, v in fetched.headers if k.lower() == "location"), "")
    return StoredRedirect(
        url=part.target_uri,
        warc_date=part.warc_date,
        http_status=fetched.status,
        location=urljoin(part.target_uri, location.strip()) if location else "",
        record_id=record.record_id,
        offset=record.offset,
        source_uri=fetched.final_url,
    )


def obtain_memento(
    memento: Memento,
    archive: Archive,
    net: Net,
    clock: Callable[[], datetime],
    *,
    cited: str | None = None,
) -> Obtained:
    """Read ``memento`` from ``archive`` (the one it was found in), with provenance, and
    the captured redirects that lead to it from ``cited`` (or from ``memento`` itself).

    Raises ``NetworkError`` when the archive cannot be read or has no such capture
    (``InputError`` for a record a local collection cannot read).
    """
    chain = _read_chain(memento, archive, net, cited)
    created = to_iso(clock())
    parts = [obtained_part(response, archive, created) for response in chain]
    final = parts[-1]
    url = cited if cited is not None else memento.original
    stated = final.target_uri
    where = final.fetched.final_url
    if urlsplit(where).scheme in ("http", "https"):
        told = f"from {memento.archive}, re-archived from its raw replay {where}"
    else:
        told = f"from the local collection {memento.archive}, read from {where}"
    if len(parts) > 1:
        told += f", after the captured redirects of {parts[0].target_uri}, kept before it"
    return Obtained(
        final.fetched,
        url=url,
        target_uri=final.target_uri,
        warc_date=final.warc_date,
        creation_date=created,
        source="memento",
        warcinfo=default_warcinfo(f"Memento of {stated} {told}"),
        archive=memento.archive,
        memento_datetime=final.memento_datetime,
        listed_datetime=memento.datetime,
        archive_original=stated if stated != url else None,
        archive_digest=final.archive_digest,
        provenance=final.provenance,
        captured_redirects=tuple(parts[:-1]),
    )


def obtained_part(response: ArchivedResponse, archive: Archive, created: str) -> Obtained:
    """One response of a memento's chain, with what the archive stated of it."""
    fetched = response.as_fetched()
    original = response.original or response.memento.original
    digest = sha1_base32_digest(response.digest)
    provenance: list[tuple[str, str]] = []
    if urlsplit(fetched.final_url).scheme in ("http", "https"):
        location = response.header("Content-Location")
        exact = urljoin(fetched.final_url, location.strip()) if location else fetched.final_url
        provenance = [
            ("archive", archive.spec),
            ("memento", exact),
            ("memento-datetime", response.datetime or ""),
            ("original", response.original or ""),
            ("archive-digest", f"sha1:{digest}" if digest else ""),
        ]
    return Obtained(
        fetched,
        url=original,
        target_uri=original,
        warc_date=response.datetime or response.memento.datetime,
        creation_date=created,
        source="memento",
        warcinfo={},
        archive=archive.spec,
        memento_datetime=response.datetime,
        archive_digest=digest,
        provenance=tuple(provenance),
    )


def _read_chain(
    memento: Memento, archive: Archive, net: Net, cited: str | None
) -> list[ArchivedResponse]:
    """The responses to store for ``memento``: the captured redirects from ``cited``'s
    capture (or from ``memento``) and the capture they lead to (see the module docstring)."""
    if cited is not None and not _same_url(cited, memento.original):
        start = _capture_of(cited, memento, archive, net)
        if start is not None:
            try:
                chain = read_chain(start, archive, net)
            except (NetworkError, InputError) as e:
                log.warning("%s: the capture of %s could not be read: %s", archive.spec, cited, e)
            else:
                if _reaches(chain[-1], memento):
                    return chain
    return read_chain(memento, archive, net)


def _capture_of(cited: str, memento: Memento, archive: Archive, net: Net) -> Memento | None:
    """The capture of ``cited`` itself nearest ``memento`` (before it first: a crawler
    fetches a redirect before its target), or None when the archive holds none."""
    when = parse_iso(memento.datetime)
    try:
        closest = archive.closest(cited, when, net)
        if closest is not None and _same_url(closest.original, cited):
            return closest
        listed = [m for m in archive.find(cited, when, LISTED, net) if _same_url(m.original, cited)]
    except (NetworkError, InputError) as e:
        log.warning("%s: could not look up the capture of %s: %s", archive.spec, cited, e)
        return None
    before = [m for m in listed if parse_iso(m.datetime) <= when]
    if before:
        return max(before, key=lambda m: parse_iso(m.datetime))
    return min(listed, key=lambda m: parse_iso(m.datetime), default=None)


def read_chain(
    first: Memento, archive: Archive, net: Net, *, max_bytes: int | None = None
) -> list[ArchivedResponse]:
    """``first`` read from ``archive``, then the capture each captured redirect leads to
    (each body cut at ``max_bytes``, None: the settings' cap)."""
    response = _read(first, archive, net, max_bytes)
    chain = [response]
    seen = {first.raw_url, response.memento.raw_url}
    while 300 <= response.status < 400 and len(chain) <= net.settings.max_redirects:
        target = response.redirect.capture if response.redirect is not None else None
        if target is None or target.raw_url in seen:
            break
        following = archive.read(target, net, max_bytes=max_bytes)
        if not following.captured and following.status >= 400:
            break  # the archive does not hold the target: the redirect is the last record
        if following.memento.raw_url in seen:
            break
        seen.update((target.raw_url, following.memento.raw_url))
        chain.append(following)
        response = following
    return chain


def _read(memento: Memento, archive: Archive, net: Net, max_bytes: int | None) -> ArchivedResponse:
    """``archive``'s answer for ``memento``; an answer that is no capture is an error."""
    try:
        response = archive.read(memento, net, max_bytes=max_bytes)
    except NetworkError as e:
        raise e.with_context(f"could not fetch memento {memento.raw_url}") from e
    if not response.captured and response.status >= 400:
        raise NetworkError(
            f"{memento.archive} has no memento at {memento.raw_url} (HTTP {response.status})"
        )
    return response


def _reaches(final: ArchivedResponse, memento: Memento) -> bool:
    """Whether ``final`` is the capture ``memento`` names (asked for, or served as)."""
    return memento.raw_url in (final.requested, final.url, final.memento.raw_url)


def _same_url(one: str, other: str) -> bool:
    """The same URL but for a fragment and the case of the scheme and host."""
    a, b = urlsplit(urldefrag(one).url), urlsplit(urldefrag(other).url)
    return (a.scheme.lower(), a.netloc.lower(), a.path or "/", a.query) == (
        b.scheme.lower(),
        b.netloc.lower(),
        b.path or "/",
        b.query,
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


def obtain_live_hops(
    url: str,
    session: requests.Session,
    settings: Settings,
    clock: Callable[[], datetime],
    *,
    max_bytes: int | None = None,
) -> Obtained:
    """Fetch ``url`` from the live web, each redirect kept as the response it is (a
    requisite is asked for by the URL its page names, so replay needs that URL's answer):
    the final response, with the redirects before it as its ``captured_redirects``.
    Raises ``NetworkError``, ``TooManyRedirects`` past ``settings.max_redirects``."""
    hops: list[Obtained] = []
    asked = url
    while True:
        try:
            fetched = fetch(session, asked, settings, allow_redirects=False, max_bytes=max_bytes)
        except NetworkError as e:
            raise e.with_context(f"could not fetch {asked}") from e
        at = to_iso(clock())
        part = Obtained(fetched, asked, asked, at, at, "live", warcinfo={})
        location = fetched.header("Location")
        if not (300 <= fetched.status < 400 and location):
            return replace(part, url=url, captured_redirects=tuple(hops))
        if len(hops) >= settings.max_redirects:
            raise TooManyRedirects(f"more than {settings.max_redirects} redirects from {url}")
        hops.append(part)
        asked = urldefrag(urljoin(asked, location.strip())).url
