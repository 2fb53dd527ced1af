"""Removed links: the URL an editor deleted, read back from an archived copy of the article.

When a source dies, editors sometimes delete its URL and leave words such as "[link no
longer available]" in the sentence. The URL is then gone from the text, but a capture of
the article made before that edit still has the same sentence with its link in it. This
module finds that capture, finds the sentence in it, and takes the link that sits where
the marker is now; the pipeline then treats the recovered URL like any other citation.

Choices that are not obvious:

- **Which copy.** The article's captures are listed once (CDX or TimeMap, through the
  lookup cache) around its publication date. Links are removed later, so the earliest
  copies are the likeliest to still have them: captures at or after the publication date
  are read oldest first, then any from before it, newest first. At most ``max_captures``
  copies are read; a marker not found in one is looked for in the next.
- **Matching by sentence.** Page layout changes between the archived HTML and today's
  text (or plain-text copy), sentences rarely do. Both sentences are normalised (NFKC,
  quotes, hyphens, case, whitespace: ``select.normalise_passage``) with every marker
  removed, and compared with rapidfuzz's ``ratio`` (``partial_ratio`` when one sentence is
  much longer, because the two copies split a paragraph differently); at least
  ``MIN_SENTENCE_SCORE`` is needed.
- **The right link in the sentence.** The marker's position is carried through an
  alignment of the two sentences (rapidfuzz's Indel opcodes). Either the editor appended
  the marker after the anchor words: the link must end where the marker stands and its
  words must be mostly the words before it; or the editor replaced the anchor words with
  the marker: the archived sentence without them must read like today's, with the marker
  where they were. Both within ``POSITION_SLACK`` characters.
- **Never a guess.** Two different URLs that fit equally well, or nothing that fits, give
  no URL, with the reason ("not found in the archived article (best match 62%)").
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import requests
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from archiver.archives.cache import LookupCache
from archiver.archives.local import is_collection_locator, read_collection_memento
from archiver.archives.specs import find_mementos
from archiver.archives.wayback import Archive, find_in_archive, parse_replay_url, replay_get
from archiver.config import Settings
from archiver.dates import parse_iso
from archiver.errors import ArchiverError, NetworkError
from archiver.extract import Article, extract_citations, parse_article_bytes
from archiver.extract.formats import parse_document
from archiver.extract.markers import find_markers
from archiver.extract.sentences import sentence_spans
from archiver.models import Citation, Memento, Recovery
from archiver.net.http import Fetched, fetch
from archiver.net.polite import CdxRateLimiter
from archiver.select.choose import normalise_passage

if TYPE_CHECKING:
    from archiver.archives.specs import AnyArchive

log = logging.getLogger(__name__)

DEFAULT_MAX_CAPTURES = 3  # archived copies of the article read at most
MIN_SENTENCE_SCORE = 85.0  # how alike (0-100) the two sentences must be
POSITION_SLACK = 3  # characters allowed between the marker's place and the link
MIN_ANCHOR_OVERLAP = 0.5  # share of the anchor's words that must come before the marker
CAPTURE_LIST_LIMIT = 25  # captures listed around the publication date
PARTIAL_MIN_CHARS = 40  # a shorter sentence is compared whole, never as a part
PARTIAL_LENGTH_RATIO = 0.75  # below this length ratio a part of the longer one may match
# With no publication date, the captures closest to this moment are the earliest ones.
_EARLIEST = datetime(1996, 1, 1, tzinfo=UTC)
_WORD = re.compile(r"\w+")
_CLOSING = frozenset(".,;:!?)]}\"'”’»")


def is_removed_link(citation: Citation) -> bool:
    """A citation whose URL was deleted and replaced by a marker."""
    return citation.url is None and citation.marker is not None


# -- normalised text that remembers where each character came from --------------------------


@dataclass(frozen=True)
class _Text:
    """``norm`` is ``normalise_passage`` applied character by character; ``origin[i]`` is
    the index in the raw text of ``norm[i]``, so raw positions can be carried over."""

    norm: str
    origin: tuple[int, ...]

    def position(self, raw_index: int) -> int:
        """Where raw position ``raw_index`` falls in ``norm``."""
        return bisect.bisect_left(self.origin, raw_index)


def _normalised(raw: str) -> _Text:
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(raw):
        if char.isspace():
            if chars and chars[-1] != " ":
                chars.append(" ")
                origin.append(index)
            continue
        for out in normalise_passage(char):
            chars.append(out)
            origin.append(index)
    while chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    return _Text("".join(chars), tuple(origin))


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _similarity(a: str, b: str, cutoff: float = 0.0) -> float:
    """How alike two normalised sentences are, 0-100; 0 for anything below ``cutoff``
    (rapidfuzz then gives up early, which matters across thousands of links)."""
    if not a or not b:
        return 0.0
    score = fuzz.ratio(a, b, score_cutoff=cutoff)
    short, long = sorted((a, b), key=len)
    if len(short) >= PARTIAL_MIN_CHARS and len(short) < PARTIAL_LENGTH_RATIO * len(long):
        # No part of ``long`` can match ``short`` better than their common subsequence
        # allows; that bound is cheap, partial_ratio is not.
        bound = 50.0 * Indel.similarity(short, long) / len(short)
        if bound >= max(cutoff, score):
            score = max(score, fuzz.partial_ratio(short, long, score_cutoff=max(cutoff, score)))
    return float(score)


def _mapped(position: int, source: str, target: str) -> tuple[int, int]:
    """The span of ``target`` that ``position`` in ``source`` corresponds to, once aligned.

    A single point where the texts agree there; the whole inserted stretch when ``target``
    has words that ``source`` lacks at that point (the anchor the marker replaced).
    """
    points: list[int] = []
    for op in Indel.opcodes(source, target):
        if not op.src_start <= position <= op.src_end:
            continue
        if op.tag == "equal":
            points.append(op.dest_start + position - op.src_start)
        elif op.tag == "insert":
            points.extend((op.dest_start, op.dest_end))
        else:  # delete: the source's characters are not in the target
            points.append(op.dest_start)
    if not points:
        return len(target), len(target)
    return min(points), max(points)


# -- one archived copy --------------------------------------------------------------------


@dataclass(frozen=True)
class LinkMatch:
    """The archived link found for a removed one, or None and why not.

    ``score`` is how alike the sentences are (0-100): of the matched sentence, or of the
    closest sentence in the copy when there is no match.
    """

    citation: Citation | None
    score: float
    reason: str
    sentence_found: bool = False  # the sentence is there, without a link at the marker


@dataclass(frozen=True)
class _Link:
    citation: Citation
    sentence: _Text
    span: tuple[int, int] | None  # the anchor's place in ``sentence.norm``


@dataclass(frozen=True)
class _Candidate:
    link: _Link
    score: float
    distance: int
    overlap: float


class ArchivedArticle:
    """One archived copy of the article, read once for matching: its links and sentences.

    ``text`` is the copy's decoded text in format ``fmt``; ``url`` is the article's own
    URL, against which relative links are resolved.
    """

    def __init__(self, text: str, fmt: str = "html", url: str | None = None) -> None:
        self.citations = [c for c in extract_citations(text, fmt, source=url) if c.url]
        self._texts: dict[str, _Text] = {}
        self.links = self._locate_links()
        self.sentences = [self._text(s) for s in _all_sentences(text, fmt, url)]

    def _text(self, raw: str) -> _Text:
        found = self._texts.get(raw)
        if found is None:
            found = self._texts[raw] = _normalised(raw)
        return found

    def _locate_links(self) -> list[_Link]:
        """Each link with its anchor's place in its sentence.

        Links of one sentence come in document order, so each anchor is looked for after
        the previous one's; an anchor not written in the sentence (a blockquote's cite)
        has no place.
        """
        links: list[_Link] = []
        previous_context: str | None = None
        searched_from = 0
        for citation in self.citations:
            context = citation.context
            if context != previous_context:
                previous_context, searched_from = context, 0
            sentence = self._text(context)
            start = context.find(citation.text, searched_from) if citation.text else -1
            if start < 0 and searched_from:  # the same sentence again, elsewhere in the page
                start = context.find(citation.text)
            span = None
            if start >= 0:
                end = start + len(citation.text)
                searched_from = end
                span = (sentence.position(start), sentence.position(end))
            links.append(_Link(citation, sentence, span))
        return links

    def match(self, removed: Citation, occurrence: int = 0) -> LinkMatch:
        """The link in this copy that ``removed`` (a marker citation) stood for.

        ``occurrence`` is which of the same marker in the same sentence it is (0: the
        first), for a sentence that lost more than one link.
        """
        current, position = _without_markers(removed, occurrence)
        if not current.norm:
            return LinkMatch(None, 0.0, "its sentence has no words besides the marker")
        before = set(_words(current.norm[:position]))
        scores: dict[str, float] = {}  # per archived sentence: many links share one
        candidates: list[_Candidate] = []
        for link in self.links:
            whole = scores.get(link.sentence.norm)
            if whole is None:
                whole = scores[link.sentence.norm] = _similarity(
                    current.norm, link.sentence.norm, MIN_SENTENCE_SCORE
                )
            candidate = _fit(link, whole, current.norm, position, before)
            if candidate is not None:
                candidates.append(candidate)
        if candidates:
            return _pick(candidates)
        # Sentences without links count too, and the contexts of links, which may span
        # sentences the splitter keeps apart.
        every = [*self.sentences, *(link.sentence for link in self.links)]
        best = max((_similarity(current.norm, s.norm) for s in every), default=0.0)
        if best >= MIN_SENTENCE_SCORE:
            return LinkMatch(
                None,
                best,
                f"the sentence is there ({best:.0f}% alike) but has no link where the marker is",
                sentence_found=True,
            )
        return LinkMatch(None, best, f"not found in the archived article (best match {best:.0f}%)")


def _fit(
    link: _Link, whole: float, current: str, position: int, before: set[str]
) -> _Candidate | None:
    """How well ``link`` fits the marker at ``position`` in ``current``, if it fits at all.

    Two ways an editor leaves a sentence: the marker after the anchor words (the link's
    sentence reads like today's, the link ends at the marker and its words come before
    it), or the marker instead of the anchor words (the sentence without the anchor reads
    like today's, the marker where the anchor was).
    """
    if link.span is None:
        return None
    start, end = link.span
    sentence = link.sentence.norm
    fits: list[_Candidate] = []
    if whole >= MIN_SENTENCE_SCORE:
        low, high = _mapped(position, current, sentence)
        distance = max(0, start - high, low - end)
        anchor = _words(sentence[start:end])
        overlap = sum(1 for w in anchor if w in before) / len(anchor) if anchor else 0.0
        if distance <= POSITION_SLACK and overlap >= MIN_ANCHOR_OVERLAP:
            fits.append(_Candidate(link, whole, distance, overlap))
    head, tail = sentence[:start].rstrip(), sentence[end:].lstrip()
    cut = f"{head} {tail}".strip()
    without_anchor = _similarity(current, cut, MIN_SENTENCE_SCORE)
    if without_anchor >= MIN_SENTENCE_SCORE:
        low, high = _mapped(position, current, cut)
        place = len(head)  # the gap between head and tail: [place, place + 1]
        distance = max(0, place - high, low - (place + 1))
        if distance <= POSITION_SLACK:
            fits.append(_Candidate(link, without_anchor, distance, 0.0))
    return max(fits, key=_rank, default=None)


def _rank(candidate: _Candidate) -> tuple[float, int, float]:
    return (round(candidate.score, 1), -candidate.distance, candidate.overlap)


def _pick(candidates: list[_Candidate]) -> LinkMatch:
    candidates.sort(key=_rank, reverse=True)
    best = candidates[0]
    rivals = [
        c
        for c in candidates[1:]
        if _rank(c) == _rank(best) and c.link.citation.url != best.link.citation.url
    ]
    if rivals:
        urls = ", ".join(
            sorted({best.link.citation.url or "", *(c.link.citation.url or "" for c in rivals)})
        )
        return LinkMatch(
            None,
            best.score,
            f"ambiguous: links to {urls} fit the marker equally well",
            sentence_found=True,
        )
    citation = best.link.citation
    reason = f"the same sentence ({best.score:.0f}% alike) links “{citation.text}” there"
    return LinkMatch(citation, best.score, reason, sentence_found=True)


def _without_markers(removed: Citation, occurrence: int) -> tuple[_Text, int]:
    """The citation's sentence with every marker taken out, and the removed link's place
    in it (normalised)."""
    context = removed.context
    marker = " ".join((removed.marker or "").split()).casefold()
    pieces: list[str] = []
    kept_to = 0
    length = 0
    place: int | None = None
    seen = 0
    for start, end, text in find_markers(context):
        kept = context[kept_to:start]
        gap = " "
        if context[end : end + 1] in _CLOSING:  # "the budget [marker]." reads "the budget."
            kept, gap = kept.rstrip(), ""
        pieces.append(kept)
        length += len(kept)
        if place is None and " ".join(text.split()).casefold() == marker:
            if seen == occurrence:
                place = length
            seen += 1
        pieces.append(gap)
        length += len(gap)
        kept_to = end
    pieces.append(context[kept_to:])
    stripped = "".join(pieces)
    current = _normalised(stripped)
    if place is None:  # no such marker in the sentence: take the words before it as given
        found = stripped.find(removed.text) if removed.text else -1
        place = found + len(removed.text) if found >= 0 else len(stripped)
    return current, current.position(place)


def _all_sentences(text: str, fmt: str, url: str | None) -> list[str]:
    """Every sentence of the copy, links or not: to say whether the sentence is there."""
    sentences: list[str] = []
    for block in parse_document(text, fmt, url).blocks:
        for start, end in sentence_spans(block.text):
            sentence = " ".join(block.text[start:end].split())
            if sentence:
                sentences.append(sentence)
    return sentences


def occurrences(citations: Sequence[Citation]) -> list[int]:
    """For each citation, how many earlier ones share its sentence and marker text."""
    counts: dict[tuple[str, str], int] = {}
    result = []
    for citation in citations:
        key = (citation.context, " ".join((citation.marker or "").split()).casefold())
        result.append(counts.get(key, 0))
        counts[key] = counts.get(key, 0) + 1
    return result


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
    url: str,
    when: datetime,
    archives: Sequence[AnyArchive],
    session: requests.Session,
    settings: Settings,
    cache: LookupCache,
    limiter: CdxRateLimiter | None,
) -> list[Memento]:
    """The article's captures near ``when`` in every archive, through the lookup cache
    (under the keys ``select`` uses, so either can reuse the other's answer)."""
    found: list[Memento] = []
    failures: list[NetworkError] = []
    for archive in archives:
        kind = (
            f"cdx:{CAPTURE_LIST_LIMIT}"
            if isinstance(archive, Archive)
            else f"list:{CAPTURE_LIST_LIMIT}"
        )
        cached = cache.lookup(archive.spec, url, when, kind)
        if cached is not None:
            found.extend(cached)
            continue
        try:
            if isinstance(archive, Archive):
                listed = find_in_archive(
                    url, when, archive, session, settings, CAPTURE_LIST_LIMIT, limiter=limiter
                )
            else:
                listed = find_mementos(
                    url, when, [archive], session, settings, CAPTURE_LIST_LIMIT, limiter=limiter
                )
        except NetworkError as e:
            failures.append(e)
            log.warning("%s", e)
            continue
        cache.remember_lookup(archive.spec, url, when, kind, listed)
        found.extend(listed)
    if failures and not found:
        raise failures[0]
    return found


def _read_capture(
    memento: Memento,
    archive: AnyArchive | None,
    session: requests.Session,
    settings: Settings,
    limiter: CdxRateLimiter | None,
) -> Fetched:
    """The archived bytes of ``memento``; raises ``ArchiverError`` when it cannot be read."""
    if is_collection_locator(memento.raw_url):
        served = read_collection_memento(memento, max_bytes=settings.max_bytes)
        answer = served.as_fetched(memento.raw_url)
    elif isinstance(archive, Archive):
        url = memento.raw_url
        for _ in range(settings.max_redirects + 1):
            answer = replay_get(url, archive, session, settings, limiter=limiter)
            location = answer.header("Location")
            if answer.header("Memento-Datetime") or not (300 <= answer.status < 400 and location):
                break
            # The archive pointing at its own capture under another timestamp: follow it.
            target = parse_replay_url(archive, urljoin(url, location))
            if target is None:
                break
            url = archive.raw_url(*target)
    else:
        try:
            answer = fetch(session, memento.raw_url, settings)
        except NetworkError as e:
            raise e.with_context(f"{memento.archive}: cannot read {memento.raw_url}") from e
    if not 200 <= answer.status < 300:
        raise NetworkError(f"the archive answered HTTP {answer.status}")
    return answer


# -- the whole job ----------------------------------------------------------------------------


@dataclass
class _Outcome:
    """What is known so far about one removed link while copies are read."""

    recovery: Recovery | None = None
    best: LinkMatch | None = None
    best_capture: Memento | None = None


def recover_removed_links(
    article: Article,
    citations: Sequence[Citation],
    archives: Sequence[AnyArchive],
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

    def every(reason: str) -> list[Recovery | None]:
        for index in removed:
            results[index] = Recovery(url=None, reason=reason, article_url=url)
        return results

    if not url:
        return every(
            "the article's own URL is unknown, so its archived copies cannot be looked up "
            "(give it with --article-url)"
        )
    published = parse_iso(article.published) if article.published else None
    cache = cache or LookupCache.in_memory()
    try:
        listed = _list_captures(
            url, published or _EARLIEST, archives, session, settings, cache, cdx_limiter
        )
    except ArchiverError as e:
        return every(f"looking up archived copies of the article failed: {e}")
    ordered = capture_order(listed, published)
    if not ordered:
        return every(f"no archive holds a copy of the article {url}")

    by_spec = {archive.spec: archive for archive in archives}
    which = occurrences(citations)
    outcomes = {index: _Outcome() for index in removed}
    read = 0
    problems: list[str] = []
    # Captures that cannot be read are skipped, but not without end: archives ration replay.
    for memento in ordered[: 2 * max_captures]:
        if read >= max_captures or all(o.recovery for o in outcomes.values()):
            break
        try:
            answer = _read_capture(
                memento, by_spec.get(memento.archive), session, settings, replay_limiter
            )
            copy = parse_article_bytes(answer.body, memento.original, answer.header("Content-Type"))
        except ArchiverError as e:
            problems.append(f"the capture of {memento.datetime[:10]} could not be read ({e})")
            continue
        read += 1
        archived = ArchivedArticle(copy.text, copy.fmt, url)
        for index, outcome in outcomes.items():
            if outcome.recovery is not None:
                continue
            found = archived.match(citations[index], which[index])
            if found.citation is not None:
                outcome.recovery = _recovered(found, url, memento, read)
            elif outcome.best is None or (found.sentence_found, found.score) > (
                outcome.best.sentence_found,
                outcome.best.score,
            ):
                outcome.best, outcome.best_capture = found, memento
    for index, outcome in outcomes.items():
        results[index] = outcome.recovery or _not_recovered(outcome, url, read, problems)
    return results


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
    "MIN_SENTENCE_SCORE",
    "ArchivedArticle",
    "LinkMatch",
    "apply_recovery",
    "capture_order",
    "is_removed_link",
    "recover_removed_links",
]
