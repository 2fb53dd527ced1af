"""Removed links: the URL an editor deleted, read back from an archived copy of the article.

When a source dies, editors sometimes delete its URL and leave words such as "[link no
longer available]" in the sentence. The URL is then gone from the text, but a capture of
the article made before that edit still has the same sentence with its link in it. This
module finds that capture, reads it, and has ``archiver.recover.matching`` find the
sentence in it and the link that sits where the marker is now; the pipeline then treats
the recovered URL like any other citation.

**Which copy.** The article's captures are listed once per archive (``Archive.find``,
through the lookup cache, under the keys ``select`` uses) around its publication date.
Links are removed later, so the earliest copies are the likeliest to still have them:
captures at or after the publication date are read oldest first, then any from before
it, newest first. At most ``max_captures`` copies are read (``Archive.read``); a marker
not found in one is looked for in the next.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import UTC, datetime

import requests

from archiver.archives.base import Archive, by_spec
from archiver.archives.cache import LookupCache
from archiver.archives.specs import from_every_archive
from archiver.config import Settings
from archiver.dates import parse_iso
from archiver.errors import ArchiverError, NetworkError
from archiver.extract import Article, parse_article_bytes
from archiver.models import Citation, Memento, Recovery
from archiver.net.polite import DEFAULT_RATE_LIMITER, DEFAULT_REPLAY_LIMITER, CdxRateLimiter, Net
from archiver.recover.matching import ArchivedArticle, LinkMatch, occurrences

log = logging.getLogger(__name__)

DEFAULT_MAX_CAPTURES = 3  # archived copies of the article read at most
CAPTURE_LIST_LIMIT = 25  # captures listed around the publication date
# With no publication date, the captures closest to this moment are the earliest ones.
_EARLIEST = datetime(1996, 1, 1, tzinfo=UTC)


def is_removed_link(citation: Citation) -> bool:
    """A citation whose URL was deleted and replaced by a marker."""
    return citation.url is None and citation.marker is not None


# -- finding and reading the article's captures -----------------------------------------------


def capture_order(mementos: Sequence[Memento], published: datetime | None) -> list[Memento]:
    """The captures worth reading, in the order to read them (pure).

    Only captures that recorded a page (2xx, or a revisit whose status is unknown): at or
    after ``published``, oldest first (links are removed later, so early copies still have
    them); then those before it, newest first. Without a date: oldest first.
    """
    usable = [m for m in mementos if m.http_status is None or 200 <= m.http_status < 300]
    seen: set[str] = set()
    unique = []
    for memento in usable:
        if memento.raw_url not in seen:
            seen.add(memento.raw_url)
            unique.append(memento)
    moment = {m.raw_url: parse_iso(m.datetime) for m in unique}
    if published is None:
        return sorted(unique, key=lambda m: moment[m.raw_url])
    after = sorted(
        (m for m in unique if moment[m.raw_url] >= published), key=lambda m: moment[m.raw_url]
    )
    before = sorted(
        (m for m in unique if moment[m.raw_url] < published),
        key=lambda m: moment[m.raw_url],
        reverse=True,
    )
    return after + before


def _list_captures(
    url: str, when: datetime, archives: Sequence[Archive], net: Net, cache: LookupCache
) -> list[Memento]:
    """The article's captures near ``when`` in every archive, through the lookup cache
    (under the keys ``select`` uses, so either can reuse the other's answer)."""
    return from_every_archive(
        archives, lambda archive: cache.listed(archive, url, when, CAPTURE_LIST_LIMIT, net)
    )


def _read_copy(memento: Memento, archive: Archive, net: Net) -> Article:
    """The archived copy of the article ``memento`` names; raises ``ArchiverError`` when it
    cannot be read."""
    response = archive.read(memento, net)
    if not 200 <= response.status < 300:
        raise NetworkError(f"the archive answered HTTP {response.status}")
    return parse_article_bytes(response.body, memento.original, response.header("Content-Type"))


# -- the whole job ----------------------------------------------------------------------------


@dataclass
class _Outcome:
    """What is known so far about one removed link while copies are read."""

    recovery: Recovery | None = None
    best: LinkMatch | None = None
    best_capture: Memento | None = None

    def consider(self, found: LinkMatch, url: str, memento: Memento, read: int) -> None:
        """Take what the ``read``-th copy (``memento``) showed of the link."""
        if found.citation is not None:
            self.recovery = _recovered(found, url, memento, read)
        elif self.best is None or (found.sentence_found, found.score) > (
            self.best.sentence_found,
            self.best.score,
        ):
            self.best, self.best_capture = found, memento


def recover_removed_links(
    article: Article,
    citations: Sequence[Citation],
    archives: Sequence[Archive],
    session: requests.Session,
    settings: Settings,
    *,
    article_url: str | None = None,
    cache: LookupCache | None = None,
    max_captures: int = DEFAULT_MAX_CAPTURES,
    cdx_limiter: CdxRateLimiter | None = None,
    replay_limiter: CdxRateLimiter | None = None,
) -> list[Recovery | None]:
    """For each of ``citations``, its ``Recovery`` if it is a removed link, else None.

    ``article_url`` (the article's address) defaults to ``article.url`` (an HTML canonical
    link or og:url, a front-matter ``url:``, or the URL it was fetched from). Archive
    trouble is a reason in the recoveries, never an exception.
    """
    if max_captures < 1:
        raise ValueError("max_captures must be at least 1")
    removed = [i for i, c in enumerate(citations) if is_removed_link(c)]
    results: list[Recovery | None] = [None] * len(citations)
    if not removed:
        return results
    url = article_url or article.url
    net = Net(
        session,
        settings,
        cdx_limiter=cdx_limiter or DEFAULT_RATE_LIMITER,
        replay_limiter=replay_limiter or DEFAULT_REPLAY_LIMITER,
    )
    ordered: list[Memento] = []
    if not url:
        reason = (
            "the article's own URL is unknown, so its archived copies cannot be looked up "
            "(give it with --article-url)"
        )
    else:
        published = parse_iso(article.published) if article.published else None
        try:
            listed = _list_captures(
                url, published or _EARLIEST, archives, net, cache or LookupCache.in_memory()
            )
        except ArchiverError as e:
            reason = f"looking up archived copies of the article failed: {e}"
        else:
            ordered = capture_order(listed, published)
            reason = f"no archive holds a copy of the article {url}"
    if not ordered:
        for index in removed:
            results[index] = Recovery(url=None, reason=reason, article_url=url)
        return results
    assert url is not None  # captures were listed for it
    found = _match_in_copies(ordered, by_spec(archives), net, citations, removed, url, max_captures)
    for index, recovery in found.items():
        results[index] = recovery
    return results


def _match_in_copies(
    ordered: Sequence[Memento],
    archives: Mapping[str, Archive],
    net: Net,
    citations: Sequence[Citation],
    removed: Sequence[int],
    url: str,
    max_captures: int,
) -> dict[int, Recovery]:
    """Read the copies in ``ordered`` until every removed link (``removed`` indexes
    ``citations``) is found or ``max_captures`` copies were read; the recovery of each."""
    which = occurrences(citations)
    outcomes = {index: _Outcome() for index in removed}
    read = 0
    problems: list[str] = []
    # Captures that cannot be read are skipped, but not without end: archives ration replay.
    for memento in ordered[: 2 * max_captures]:
        if read >= max_captures or all(o.recovery for o in outcomes.values()):
            break
        try:
            copy = _read_copy(memento, archives[memento.archive], net)
        except ArchiverError as e:
            problems.append(f"the capture of {memento.datetime[:10]} could not be read ({e})")
            continue
        read += 1
        archived = ArchivedArticle(copy.text, copy.fmt, url)
        for index, outcome in outcomes.items():
            if outcome.recovery is None:
                outcome.consider(archived.match(citations[index], which[index]), url, memento, read)
    return {
        index: outcome.recovery or _not_recovered(outcome, url, read, problems)
        for index, outcome in outcomes.items()
    }


def _recovered(found: LinkMatch, url: str, memento: Memento, read: int) -> Recovery:
    assert found.citation is not None
    day = memento.datetime[:10]
    return Recovery(
        url=found.citation.url,
        reason=f"recovered from the article's capture of {day} ({memento.url}): {found.reason}",
        article_url=url,
        article_memento=memento.url,
        article_captured_at=memento.datetime,
        score=round(found.score, 1),
        anchor=found.citation.text,
        archive_url=found.citation.archive_url,
        archived_at=found.citation.archived_at,
        captures_read=read,
    )


def _not_recovered(outcome: _Outcome, url: str, read: int, problems: list[str]) -> Recovery:
    best, capture = outcome.best, outcome.best_capture
    if best is None or capture is None:
        reason = "; ".join(problems) or "no archived copy of the article could be read"
        return Recovery(url=None, reason=reason, article_url=url, captures_read=read)
    copies = "the archived copy" if read == 1 else f"{read} archived copies"
    closest = capture.datetime[:10]
    reason = f"{best.reason}, in {copies} of the article read (closest: the capture of {closest})"
    if problems:
        reason += "; " + "; ".join(problems)
    return Recovery(
        url=None,
        reason=reason,
        article_url=url,
        article_memento=capture.url,
        article_captured_at=capture.datetime,
        score=round(best.score, 1),
        captures_read=read,
    )


def apply_recovery(citation: Citation, recovery: Recovery | None) -> Citation:
    """``citation`` with its recovered URL, or unchanged when nothing was recovered.

    Without a date of its own, a recovered citation is dated by the capture it came from:
    the author had cited it by then.
    """
    if recovery is None or recovery.url is None:
        return citation
    cited_at = citation.cited_at
    if cited_at is None and recovery.article_captured_at:
        cited_at = recovery.article_captured_at[:10]
    return dataclass_replace(
        citation,
        url=recovery.url,
        cited_at=cited_at,
        archive_url=recovery.archive_url,
        archived_at=recovery.archived_at,
        recovered_from=recovery.article_memento,
        recovered_at=recovery.article_captured_at,
    )


__all__ = [
    "DEFAULT_MAX_CAPTURES",
    "apply_recovery",
    "capture_order",
    "is_removed_link",
    "recover_removed_links",
]
