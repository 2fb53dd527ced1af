"""Checking quotes: a quote against the copies of its source, and an article's quotes.

``check_quote`` is the pure core: a quote, the memento's page and the live page (each
``Page``: bytes and media type, or None when it could not be read) in, a ``QuoteResult``
out. The text compared is the reader's text (``pagetext``), the words are compared as
``words`` and ``match`` say, and the evidence is built by ``evidence``.

The readers give the copies: ``read_memento`` through its archive's protocol (so a local
collection is read exactly as a Wayback server is), ``read_live`` when the page answers,
``read_stored`` from a store's WARC record. ``archiver.quotes.article`` and
``archiver.quotes.inrun`` use them for the ``quotes`` command and for ``run``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz.distance import Indel

from archiver.check.soft404 import not_found_wording, summarise
from archiver.errors import ArchiverError
from archiver.models import Citation, Memento
from archiver.net.bodies import decode_body
from archiver.quotes.evidence import fragment_link, passage_at, text_fragment, text_quote_selector
from archiver.quotes.match import Finding, PageWords, find_quote
from archiver.quotes.pagetext import reader_text
from archiver.quotes.result import CopyCheck, Drift, QuoteResult
from archiver.quotes.words import QuotePart, parse_quote, words_of

if TYPE_CHECKING:
    from pathlib import Path

    import requests

    from archiver.archives.base import Archive
    from archiver.config import Settings
    from archiver.net.polite import Net
    from archiver.storage.manifest import Capture


@dataclass(frozen=True)
class Page:
    """A copy of a source as read: where from, when, its bytes and ``Content-Type``."""

    url: str
    datetime: str | None
    body: bytes
    content_type: str | None


@dataclass(frozen=True)
class Unread:
    """A copy that was not read, and why (no memento, the live page is dead, ...)."""

    url: str | None
    reason: str


def check_quote(
    citation: Citation,
    memento: Memento | None,
    archived: Page | Unread,
    live: Page | Unread | None,
    *,
    ignore_case: bool = False,
) -> QuoteResult:
    """The quote of ``citation`` looked for in the memento's page and the live page."""
    assert citation.quote is not None
    parts = parse_quote(citation.quote)
    archived_check, archived_words = _check_copy("memento", parts, archived, ignore_case)
    live_check = live_words = None
    if live is not None:
        live_check, live_words = _check_copy("live", parts, live, ignore_case)
    drift = None
    if archived_words is not None and live_words is not None and live_check is not None:
        drift = _drift(archived_check, live_check, archived_words, live_words)
    return QuoteResult(
        quote=citation.quote,
        url=citation.url,
        line=citation.line,
        cited_at=citation.cited_at,
        verdict=archived_check.verdict,
        score=archived_check.score,
        memento=memento,
        archived=archived_check,
        live=live_check,
        drift=drift,
        drifted=drift is not None and drift.drifted,
    )


def _check_copy(
    copy: str, parts: list[QuotePart], page: Page | Unread, ignore_case: bool
) -> tuple[CopyCheck, PageWords | None]:
    if isinstance(page, Unread):
        return CopyCheck(copy, page.url or "", None, "not-checked", reason=page.reason), None
    text = reader_text(page.body, page.content_type)
    if text is None:
        reason = f"no text is read from {page.content_type or 'this kind of file'}"
        return CopyCheck(copy, page.url, page.datetime, "not-checked", reason=reason), None
    words = PageWords(words_of(text))
    if not parts:
        reason = "the quote has no words to look for"
        return CopyCheck(copy, page.url, page.datetime, "not-checked", reason=reason), words
    finding = find_quote(parts, words, ignore_case)
    return _evidence(copy, page, text, finding), words


def _evidence(copy: str, page: Page, text: str, finding: Finding) -> CopyCheck:
    if finding.start < 0:
        return CopyCheck(copy, page.url, page.datetime, finding.verdict, finding.score)
    directive = text_fragment(text, finding.start, finding.end)
    return CopyCheck(
        copy=copy,
        url=page.url,
        datetime=page.datetime,
        verdict=finding.verdict,
        score=finding.score,
        passage=passage_at(text, finding.start, finding.end),
        selector=text_quote_selector(text, finding.start, finding.end),
        fragment=directive or None,
        link=fragment_link(page.url, directive),
        changes=finding.changes,
        forms=finding.forms,
    )


def _drift(
    archived: CopyCheck, live: CopyCheck, archived_words: PageWords, live_words: PageWords
) -> Drift:
    similarity = Indel.normalized_similarity(archived_words.keys, live_words.keys)
    changed = round(100.0 * (1.0 - similarity), 1)
    drifted = archived.holds_quote and not live.holds_quote
    if drifted:
        reason = f"the memento holds the quote, the live page does not ({live.verdict})"
    elif archived.holds_quote:
        reason = "the live page still holds the quote"
    elif live.holds_quote:
        reason = "the live page holds the quote, the memento does not"
    else:
        reason = "neither copy holds the quote"
    return Drift(drifted, changed, f"{reason}; {changed:g}% of the page's words changed")


# -- gathering the copies ---------------------------------------------------------------------


def read_memento(memento: Memento, archive: Archive, net: Net) -> Page | Unread:
    """The memento's page, read through its archive (any kind)."""
    try:
        response = archive.read(memento, net)
    except ArchiverError as e:
        return Unread(memento.url, f"the memento could not be read: {e}")
    if not 200 <= response.status < 300:
        return Unread(memento.url, f"the archive answered HTTP {response.status}")
    when = response.datetime or memento.datetime
    return Page(memento.url, when, response.body, response.header("Content-Type"))


def read_live(url: str, session: requests.Session, settings: Settings, now: str) -> Page | Unread:
    """The live page when it is alive: a 2xx that is not a "not found" page."""
    from archiver.net.http import fetch

    try:
        answer = fetch(session, url, settings)
    except ArchiverError as e:
        return Unread(url, f"the live page could not be read: {e}")
    if not 200 <= answer.status < 300:
        return Unread(url, f"the live page is not alive (HTTP {answer.status})")
    content_type = answer.header("Content-Type")
    page = summarise(url, answer.final_url, answer.status, answer.body, content_type or "")
    wording = not_found_wording(page)
    if wording is not None:
        return Unread(url, f"the live page is not alive (soft-404: {wording})")
    return Page(answer.final_url, now, answer.body, content_type)


def read_stored(store: Path, capture: Capture, url: str | None = None) -> Page | Unread:
    """A capture the store holds, read back from its WARC record; ``url`` is the one
    shown for it (default: the URL whose response is stored)."""
    from archiver.archives.local.collection import open_collection
    from archiver.archives.local.keys import make_locator
    from archiver.storage.warcfile import OPEN_SUFFIX

    path = store / capture.warc_file
    if not path.exists():  # still being appended to (a batch's store is open throughout)
        path = store / f"{capture.warc_file}{OPEN_SUFFIX}"
    try:
        record = open_collection(path).read_locator(make_locator(path, capture.offset))
    except (ArchiverError, OSError) as e:
        return Unread(capture.url, f"the stored copy could not be read: {e}")
    headers = dict((name.lower(), value) for name, value in record.headers)
    body = decode_body(record.payload, headers.get("content-encoding"))
    shown = url or capture.source_uri
    return Page(shown, capture.warc_date, body, headers.get("content-type"))


def quoted_citations(citations: Sequence[Citation]) -> list[Citation]:
    """The citations with a URL and a quote to check."""
    return [c for c in citations if c.url and c.quote and c.quote.strip()]
