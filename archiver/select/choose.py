"""Choose the one memento that best stands for what the author cited.

The author saw the page on or before the citation date, so the best copy is the latest
capture at or before it; failing that, the earliest after it is the nearest thing to
what they saw. Only captures that recorded a real page count (a 2xx status): a captured
404, 5xx or redirect is not the source, and is rejected with its reason so a user can see
why an apparently closer capture was passed over.

Two levels:

- ``select_memento`` judges by the archive's metadata alone (no request). Revisit records
  (``http_status`` None: the archive stored "same payload as before" without the status)
  are used only when no capture has a known 2xx status, and the reason says so. Between
  captures at the same moment the archive listed first wins, because ``find`` returns
  mementos in archive order and every choice here keeps the first of equals.
- ``choose_memento`` also reads the archived bodies, closest first and at most
  ``max_inspected`` of them: a captured redirect is followed inside the archive (its
  target's capture becomes the memento, unless it is the site's home page or an error
  page), a 200 that says "Page not found" is a soft-404 (the live checker's detector in
  ``archiver.check.soft404``), and when the citation quotes a passage the closest capture that
  contains it wins. Revisits rank by date like any capture here: their replay is checked.

``find_best_memento`` spends the archives' budgets only where needed. The Internet
Archive allows about 0.4 CDX requests a second but several replay requests, so:

1. ask each archive's replay endpoint for the capture closest to the date
   (``/web/<ts>id_/<url>`` redirects there: one cheap request, no CDX);
2. if that capture is usable, contains the quote (when there is one), and nothing could
   rank ahead of it, it is the answer. Something could when the closest capture is after
   the date: an earlier one may exist. The Internet Archive's ``Link: prev memento``
   names it (one more replay request); pywb sends no such link;
3. otherwise one CDX query per archive lists the candidates near the date, and
   ``choose_memento`` picks among them, reusing every verdict already made.

Every lookup and verdict goes through a ``LookupCache`` (the state file), so a rerun over
settled dates asks the archives nothing at all.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import requests
from rapidfuzz import fuzz

from archiver.archives.cache import ContentVerdict, LookupCache, PassageMatch
from archiver.archives.specs import find_mementos, parse_archive_spec
from archiver.archives.wayback import (
    Archive,
    find_closest_by_replay,
    find_in_archive,
    parse_replay_url,
    replay_get,
    replay_memento,
)
from archiver.check.soft404 import PageSummary, not_found_wording, redirect_evidence, summarise
from archiver.config import Settings
from archiver.dates import parse_http_date, parse_iso
from archiver.errors import ArchiverError, NetworkError
from archiver.models import Memento, Rejection, Selection
from archiver.net.http import Fetched, fetch
from archiver.net.polite import CdxRateLimiter

if TYPE_CHECKING:
    from archiver.archives.specs import AnyArchive

log = logging.getLogger(__name__)

DEFAULT_MAX_INSPECTED = 5  # archived bodies read per citation, closest first
DEFAULT_CDX_LIMIT = 25  # captures a CDX query asks for, nearest the date on both sides
MAX_CAPTURED_REDIRECTS = 5
FUZZY_PASSAGE = 90.0  # rapidfuzz partial_ratio at or above which a passage counts as found
FUZZY_MIN_LENGTH = 20  # shorter quotes match anything fuzzily; they must match exactly


def _rejection_reason(status: int) -> str:
    if 300 <= status < 400:
        return f"captured redirect {status}"
    return f"captured status {status}"


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _utc(when: datetime | None) -> datetime | None:
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)  # archiver's convention: naive means UTC
    return when


def _date_reason(moment: datetime, when: datetime | None) -> str:
    """Why a capture at ``moment`` is the one for ``when``, given it is the best by date."""
    if when is None:
        return f"newest capture ({_day(moment)})"
    if moment <= when:
        if _day(moment) == _day(when):
            return f"capture from the date itself ({_day(moment)})"
        return f"latest capture before {_day(when)} ({_day(moment)})"
    return f"no capture before {_day(when)}; earliest after it ({_day(moment)})"


def _choose(
    candidates: Sequence[tuple[datetime, Memento]], when: datetime | None
) -> tuple[Memento, str]:
    """Pick from non-empty ``candidates`` by date alone; return it with the reason."""
    if when is None:
        moment, memento = max(candidates, key=lambda c: c[0])
    else:
        before = [c for c in candidates if c[0] <= when]
        if before:
            moment, memento = max(before, key=lambda c: c[0])
        else:
            moment, memento = min(candidates, key=lambda c: c[0])
    return memento, _date_reason(moment, when)


def _all_rejected(rejected: Sequence[Rejection]) -> str:
    redirects = sum(1 for r in rejected if r.reason.startswith("captured redirect"))
    errors = len(rejected) - redirects
    if len(rejected) == 1:
        kind = "a redirect" if redirects else "an error"
        return f"the only capture was {kind} ({rejected[0].reason})"
    if not errors:
        kind = "redirects"
    elif not redirects:
        kind = "errors"
    else:
        kind = "errors or redirects"
    return f"all {len(rejected)} captures were {kind}"


def select_memento(mementos: Sequence[Memento], when: datetime | None) -> Selection:
    """The best memento for a citation made at ``when`` (None: the newest good one).

    Prefers, in order: the latest 2xx capture at or before ``when``; the earliest 2xx
    capture after it; the same two among captures whose status was not recorded
    (revisits). Non-2xx captures are never chosen and come back in ``rejected``.
    """
    when = _utc(when)
    good: list[tuple[datetime, Memento]] = []
    unknown: list[tuple[datetime, Memento]] = []
    rejected: list[Rejection] = []
    for memento in mementos:
        moment = parse_iso(memento.datetime)
        if memento.http_status is None:
            unknown.append((moment, memento))
        elif 200 <= memento.http_status < 300:
            good.append((moment, memento))
        else:
            rejected.append(Rejection(memento, _rejection_reason(memento.http_status)))

    if good:
        chosen, reason = _choose(good, when)
    elif unknown:
        chosen, reason = _choose(unknown, when)
        reason += (
            "; its status was not recorded (a revisit of an earlier capture), "
            "used because no capture with a known good status exists"
        )
    elif rejected:
        return Selection(None, _all_rejected(rejected), tuple(rejected))
    else:
        return Selection(None, "no archive holds a copy")
    return Selection(chosen, reason, tuple(rejected))


def rank_mementos(
    mementos: Sequence[Memento], when: datetime | None
) -> tuple[list[Memento], list[Rejection]]:
    """The order in which captures are worth reading, and those not worth it (pure).

    Captures at or before ``when`` come first, latest first; then those after it, earliest
    first (``when`` None: newest first); ties keep their listed order. A captured 3xx is a
    candidate (its redirect may lead to the page); a recorded 1xx, 4xx or 5xx is rejected.
    """
    when = _utc(when)
    candidates: list[tuple[tuple[int, float], Memento]] = []
    rejected: list[Rejection] = []
    for memento in mementos:
        status = memento.http_status
        if status is not None and not 200 <= status < 400:
            rejected.append(Rejection(memento, _rejection_reason(status)))
            continue
        stamp = parse_iso(memento.datetime).timestamp()
        if when is None or stamp <= when.timestamp():
            candidates.append(((0, -stamp), memento))
        else:
            candidates.append(((1, stamp), memento))
    candidates.sort(key=lambda c: c[0])  # stable: equals keep the archive order
    return [memento for _, memento in candidates], rejected


# -- quoted passages ------------------------------------------------------------------------

# Typography that differs between an article and its source without changing the words.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        # Double quotation marks are dropped: a passage quoting a quotation nests them.
        '"': None,
        "\u201c": None,
        "\u201d": None,
        "\u201e": None,
        "\u201f": None,
        "\u2033": None,
        "\u00ab": None,
        "\u00bb": None,
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero-width space
    }
)
_ELISION = re.compile(r"\s*(?:\[\s*\.\.\.\s*\]|\(\s*\.\.\.\s*\)|\.\.\.)\s*")
_EDGE = " \"'.,;:"


def normalise_passage(text: str) -> str:
    """Text as compared for quotes: NFKC, straight apostrophes and hyphens, no double
    quotation marks, casefolded, single spaces. HTML is stripped before this
    (``soft404.summarise`` gives the visible text)."""
    flat = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    return " ".join(flat.casefold().split())


def find_passage(quote: str, text: str) -> PassageMatch:
    """Whether normalised ``quote`` is in normalised ``text``.

    Exact: every part of the quote (split at elisions, "..." or "[...]") appears in order.
    Otherwise fuzzy, for quotes of at least ``FUZZY_MIN_LENGTH`` characters: rapidfuzz's
    ``partial_ratio`` (best alignment of the quote within the text) of ``FUZZY_PASSAGE``
    or more, which forgives a changed word or a typo in a sentence.
    """
    parts = [p.strip(_EDGE) for p in _ELISION.split(quote)]
    parts = [p for p in parts if p]
    if not parts:
        return PassageMatch("no", 0.0)
    position = 0
    for part in parts:
        found = _find_words(text, part, position)
        if found < 0:
            break
        position = found + len(part)
    else:
        return PassageMatch("exact", 100.0)
    joined = " ".join(parts)
    if len(joined) < FUZZY_MIN_LENGTH:
        return PassageMatch("no", 0.0)
    score = fuzz.partial_ratio(joined, text, score_cutoff=FUZZY_PASSAGE)
    return PassageMatch("fuzzy", round(score, 1)) if score else PassageMatch("no", 0.0)


def _find_words(text: str, part: str, start: int) -> int:
    """Where ``part`` occurs in ``text`` from ``start`` without cutting a word, or -1."""
    found = text.find(part, start)
    while found >= 0:
        end = found + len(part)
        cuts_before = found > 0 and part[0].isalnum() and text[found - 1].isalnum()
        cuts_after = end < len(text) and part[-1].isalnum() and text[end].isalnum()
        if not (cuts_before or cuts_after):
            return found
        found = text.find(part, found + 1)
    return -1


# -- reading one capture --------------------------------------------------------------------


@dataclass(frozen=True)
class _Judgement:
    verdict: ContentVerdict
    text: str | None  # the capture's normalised visible text, when accepted and textual
    lasting: bool  # False: the archive failed to replay it; worth asking again next run


def _canonical(url: str) -> str:
    """A URL as archives match it: no scheme, no "www.", no trailing slash."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{parts.path.rstrip('/')}{query}"


def _read_capture(
    url: str,
    archive: Archive,
    session: requests.Session,
    settings: Settings,
    limiter: CdxRateLimiter | None,
) -> tuple[str, Fetched]:
    """GET a replay URL, following the archive's own redirects to the capture it means.

    An archive redirect (no ``Memento-Datetime``) that only changes the timestamp is the
    archive pointing at its closest capture; one that changes the URL is a captured
    redirect the archive chose to follow itself, and is returned for the caller to judge.
    """
    for _ in range(settings.max_redirects + 1):
        answer = replay_get(url, archive, session, settings, limiter=limiter)
        location = answer.header("Location")
        if not (300 <= answer.status < 400 and location) or answer.header("Memento-Datetime"):
            return url, answer
        here, there = (
            parse_replay_url(archive, url),
            parse_replay_url(archive, urljoin(url, location)),
        )
        if here is None or there is None or _canonical(here[1]) != _canonical(there[1]):
            return url, answer
        url = archive.raw_url(*there)
    raise NetworkError(f"{archive.spec}: too many redirects replaying {url}")


def _captured_target(
    archive: Archive, fetched_url: str, original: str, answer: Fetched
) -> tuple[str | None, str] | None:
    """Where a captured redirect points: (timestamp if the archive gave one, original URL)."""
    location = answer.header("Location")
    if not location:
        return None
    absolute = urljoin(fetched_url, location)
    in_archive = parse_replay_url(archive, absolute)
    if in_archive is not None:  # the Internet Archive rewrites Location into its own URLs
        return in_archive
    target = urljoin(original, location)
    return (None, target) if urlsplit(target).scheme in ("http", "https") else None


def _navigation(archive: Archive, answer: Fetched, timestamp: str) -> tuple[Memento | None, bool]:
    """The previous capture and whether this is the first, from a memento ``Link`` header."""
    previous: Memento | None = None
    first = False
    for link in requests.utils.parse_header_links(answer.header("Link") or ""):
        relations = link.get("rel", "").split()
        found = parse_replay_url(archive, link.get("url", ""))
        if found is None or "memento" not in relations:
            continue
        if "prev" in relations:
            previous = replay_memento(archive, *found)
        if "first" in relations and found[0] == timestamp:
            first = True
    return previous, first


def _plain_text(answer: Fetched, page: PageSummary, content_type: str) -> str | None:
    if page.text:
        return page.text
    if content_type.startswith("text/"):
        return answer.text()
    return None  # a PDF or an image: the quotes stage reads those, not this one


def _judge(
    memento: Memento,
    session: requests.Session,
    settings: Settings,
    limiter: CdxRateLimiter | None,
) -> _Judgement:
    """Read ``memento``'s archived body (following captured redirects) and judge it.

    Raises ``NetworkError`` when the archive cannot be reached or asks for a pause.
    """
    if urlsplit(memento.raw_url).scheme == "file":
        return _judge_by_metadata(memento)
    try:
        archive = parse_archive_spec(memento.archive)
    except ArchiverError:
        return _judge_by_metadata(memento)
    if not isinstance(archive, Archive):
        return _judge_elsewhere(memento, session, settings)
    raw_url = memento.raw_url
    followed: list[str] = []  # originals of the captured redirects' targets
    previous: Memento | None = None
    first = False

    def rejected(reason: str, lasting: bool = True) -> _Judgement:
        return _Judgement(ContentVerdict(False, reason, None, previous, first), None, lasting)

    for hop in range(MAX_CAPTURED_REDIRECTS + 1):
        fetched_url, answer = _read_capture(raw_url, archive, session, settings, limiter)
        if answer.header("Memento-Datetime") is None and not 300 <= answer.status < 400:
            if answer.status == 404 and followed:
                return rejected(f"captured redirect to {followed[-1]}, which is not archived")
            if answer.status == 404:
                return rejected("the archive has no capture at its replay URL")
            return rejected(f"the archive could not replay it (HTTP {answer.status})", False)
        position = parse_replay_url(archive, fetched_url)
        if position is None:  # cannot happen: _read_capture stays inside the archive
            return rejected(f"the archive answered from an unexpected URL ({fetched_url})")
        timestamp, original = position
        if hop == 0:
            previous, first = _navigation(archive, answer, timestamp)
        status = answer.status
        if 300 <= status < 400:
            target = _captured_target(archive, fetched_url, original, answer)
            if target is None:
                return rejected(f"captured redirect {status} without a usable Location")
            target_timestamp, target_url = target
            page = PageSummary(url=original, final_url=target_url, status=status, title="", text="")
            evidence = redirect_evidence(page)
            if evidence is not None:  # "redirected to the home page (...)"
                return rejected("captured " + evidence.replace("redirected", "redirect", 1))
            if target_url in (original, memento.original, *followed):  # http -> https is no loop
                return rejected(f"captured redirect loop through {target_url}")
            followed.append(target_url)
            raw_url = archive.raw_url(target_timestamp or timestamp, target_url)
            continue

        where = f"captured redirect to {followed[-1]}, whose capture " if followed else ""
        if not 200 <= status < 300:
            return rejected(f"{where}has status {status}" if where else f"captured status {status}")
        content_type = (answer.header("Content-Type") or "").split(";")[0].strip().lower()
        page = summarise(original, original, status, answer.body, content_type)
        wording = not_found_wording(page)
        if wording is not None:
            return rejected(f"{where}is a soft-404: {wording}" if where else f"soft-404: {wording}")

        listed_mimetype = memento.mimetype not in (None, "warc/revisit")
        standing = replay_memento(archive, timestamp, original, status, content_type or None)
        if fetched_url == memento.raw_url:  # the capture itself: keep what the CDX listed
            standing = dataclass_replace(
                memento,
                http_status=status,
                mimetype=memento.mimetype if listed_mimetype else standing.mimetype,
            )
        note = ""
        if original != memento.original:  # followed by us, or by the archive itself
            captured = _memento_day(answer, timestamp)
            note = f"its capture redirected to {original} (captured {captured})"
        text = _plain_text(answer, page, content_type)
        verdict = ContentVerdict(True, note, standing, previous, first)
        return _Judgement(verdict, normalise_passage(text) if text else None, True)
    return rejected(f"more than {MAX_CAPTURED_REDIRECTS} captured redirects")


def _judge_by_metadata(memento: Memento) -> _Judgement:
    """A memento in a local WARC collection (or of an archive we cannot read): judged by
    its recorded status only, and not remembered (local files change)."""
    status = memento.http_status
    if status is None or 200 <= status < 300:
        return _Judgement(ContentVerdict(True, "", memento), None, False)
    return _Judgement(ContentVerdict(False, _rejection_reason(status)), None, False)


def _judge_elsewhere(memento: Memento, session: requests.Session, settings: Settings) -> _Judgement:
    """Judge a memento of a non-Wayback archive (archive.today, Perma.cc, ...).

    Their replay URLs have no common form, so the archive's redirects are simply followed
    and the page it ends on is judged: a captured error or a soft-404 is rejected, but a
    captured redirect to the home page cannot be told from the archive's own redirects.
    """
    try:
        answer = fetch(session, memento.raw_url, settings)
    except NetworkError as e:
        raise e.with_context(f"{memento.archive}: cannot read {memento.raw_url}") from e
    if not 200 <= answer.status < 300:
        if answer.header("Memento-Datetime") is not None:
            return _Judgement(ContentVerdict(False, f"captured status {answer.status}"), None, True)
        reason = f"the archive could not replay it (HTTP {answer.status})"
        return _Judgement(ContentVerdict(False, reason), None, False)
    content_type = (answer.header("Content-Type") or "").split(";")[0].strip().lower()
    page = summarise(memento.original, memento.original, answer.status, answer.body, content_type)
    wording = not_found_wording(page)
    if wording is not None:
        return _Judgement(ContentVerdict(False, f"soft-404: {wording}"), None, True)
    standing = dataclass_replace(memento, http_status=memento.http_status or answer.status)
    text = _plain_text(answer, page, content_type)
    verdict = ContentVerdict(True, "", standing)
    return _Judgement(verdict, normalise_passage(text) if text else None, True)


def _memento_day(answer: Fetched, timestamp: str) -> str:
    header = answer.header("Memento-Datetime")
    if header:
        try:
            return _day(parse_http_date(header))
        except (TypeError, ValueError, IndexError):
            pass
    return f"{timestamp[0:4]}-{timestamp[4:6]}-{timestamp[6:8]}"


# -- choosing among captures ----------------------------------------------------------------


@dataclass(frozen=True)
class _Inspector:
    """What reading captures needs, and the cache it reads through."""

    session: requests.Session
    settings: Settings
    cache: LookupCache
    limiter: CdxRateLimiter | None
    quote: str | None  # normalised

    def inspect(self, memento: Memento) -> tuple[ContentVerdict, PassageMatch | None]:
        verdict = self.cache.verdict(memento.raw_url)
        if verdict is not None and (not verdict.accepted or self.quote is None):
            return verdict, None
        if verdict is not None and self.quote is not None:
            passage = self.cache.passage(memento.raw_url, self.quote)
            if passage is not None:
                return verdict, passage
        judgement = _judge(memento, self.session, self.settings, self.limiter)
        if judgement.lasting:
            self.cache.remember_verdict(memento.raw_url, judgement.verdict)
        if not judgement.verdict.accepted or self.quote is None:
            return judgement.verdict, None
        if judgement.text is None:
            passage = PassageMatch("unreadable", 0.0)
        else:
            passage = find_passage(self.quote, judgement.text)
        if judgement.lasting:
            self.cache.remember_passage(memento.raw_url, self.quote, passage)
        return judgement.verdict, passage


@dataclass(frozen=True)
class _Choice:
    selection: Selection
    rank: int  # position of the chosen capture in the ranking (-1: none chosen)
    passage: PassageMatch | None


def _choose_by_content(
    mementos: Sequence[Memento],
    when: datetime | None,
    inspector: _Inspector,
    max_inspected: int,
) -> _Choice:
    ranked, metadata_rejections = rank_mementos(mementos, when)
    reasons = {r.memento.raw_url: r.reason for r in metadata_rejections}
    acceptable: list[tuple[int, ContentVerdict, PassageMatch | None]] = []
    inspected = 0
    for rank, memento in enumerate(ranked[:max_inspected]):
        inspected = rank + 1
        verdict, passage = inspector.inspect(memento)
        if not verdict.accepted:
            reasons[memento.raw_url] = verdict.reason
            continue
        acceptable.append((rank, verdict, passage))
        if inspector.quote is None or (passage is not None and passage.found == "exact"):
            break
    not_inspected = len(ranked) - inspected

    def in_listed_order() -> tuple[Rejection, ...]:
        return tuple(Rejection(m, reasons[m.raw_url]) for m in mementos if m.raw_url in reasons)

    if not acceptable:
        return _Choice(
            Selection(
                None, _none_usable(ranked, reasons, not_inspected, max_inspected), in_listed_order()
            ),
            -1,
            None,
        )

    pick = acceptable[0]
    if inspector.quote is not None:
        for wanted in ("exact", "fuzzy"):
            found = [a for a in acceptable if a[2] is not None and a[2].found == wanted]
            if found:
                pick = found[0]
                break
    rank, verdict, passage = pick
    for other_rank, _, other_passage in acceptable:
        if other_rank < rank:  # closer, usable, but without the passage
            reasons[ranked[other_rank].raw_url] = _passed_over(other_passage)
    chosen = ranked[rank]
    reason = _date_reason(parse_iso(chosen.datetime), _utc(when))
    if verdict.reason:
        reason += f"; {verdict.reason}"
    if inspector.quote is not None and passage is not None:
        if passage.found == "exact":
            reason += "; contains the quoted passage"
        elif passage.found == "fuzzy":
            reason += f"; contains the quoted passage approximately ({passage.score:.0f}%)"
        elif passage.found == "unreadable":
            reason += "; quote not checked (the capture has no text to search)"
        else:
            reason += "; quote not found in any capture"
            if not_inspected:
                reason += f" ({not_inspected} more not inspected)"
    assert verdict.memento is not None  # accepted verdicts always carry one
    return _Choice(Selection(verdict.memento, reason, in_listed_order()), rank, passage)


def _passed_over(passage: PassageMatch | None) -> str:
    if passage is not None and passage.found == "fuzzy":
        return f"contains the quoted passage only approximately ({passage.score:.0f}%)"
    if passage is not None and passage.found == "unreadable":
        return "has no text to search for the quoted passage"
    return "does not contain the quoted passage"


def _none_usable(
    ranked: Sequence[Memento], reasons: dict[str, str], not_inspected: int, max_inspected: int
) -> str:
    if not reasons:
        return "no archive holds a copy"
    if not_inspected:
        inspected = len(ranked) - not_inspected
        closest = "the closest capture was" if inspected == 1 else f"the {inspected} closest were"
        more = "1 more was" if not_inspected == 1 else f"{not_inspected} more were"
        return f"{closest} rejected; {more} not inspected (at most {max_inspected} are read)"
    if len(reasons) == 1:
        return f"the only capture was rejected ({next(iter(reasons.values()))})"
    return f"all {len(reasons)} captures were rejected"


def choose_memento(
    mementos: Sequence[Memento],
    when: datetime | None,
    session: requests.Session,
    settings: Settings,
    quote: str | None = None,
    max_inspected: int = DEFAULT_MAX_INSPECTED,
    *,
    cache: LookupCache | None = None,
    limiter: CdxRateLimiter | None = None,
) -> Selection:
    """The best of ``mementos`` for a citation made at ``when``, judged by their bodies.

    Reads at most ``max_inspected`` archived bodies, in ``rank_mementos`` order, through
    ``cache`` (verdicts already made are not fetched again) and ``limiter`` (replay
    calls). Rejected captures come back in ``rejected`` with the reason, in listed order.
    With a ``quote``, the closest usable capture containing it exactly wins, then the
    closest containing it approximately, then the closest usable one (with a note).
    Raises ``NetworkError`` when the archive cannot be read at all.
    """
    if max_inspected < 1:
        raise ValueError("max_inspected must be at least 1")
    inspector = _Inspector(
        session,
        settings,
        cache or LookupCache.in_memory(),
        limiter,
        normalise_passage(quote) if quote and quote.strip() else None,
    )
    return _choose_by_content(mementos, when, inspector, max_inspected).selection


# -- finding and choosing, on a budget --------------------------------------------------------


def _closest(
    url: str,
    when: datetime | None,
    archive: Archive,
    inspector: _Inspector,
) -> Memento | None:
    cached = inspector.cache.lookup(archive.spec, url, when, "replay")
    if cached is not None:
        return cached[0] if cached else None
    found = find_closest_by_replay(
        url, when, archive, inspector.session, inspector.settings, limiter=inspector.limiter
    )
    inspector.cache.remember_lookup(archive.spec, url, when, "replay", [found] if found else [])
    return found


def _listed(
    url: str,
    when: datetime | None,
    archive: AnyArchive,
    inspector: _Inspector,
    limit: int,
    limiter: CdxRateLimiter | None,
) -> list[Memento]:
    kind = f"cdx:{limit}" if isinstance(archive, Archive) else f"list:{limit}"
    cached = inspector.cache.lookup(archive.spec, url, when, kind)
    if cached is not None:
        return cached
    session, settings = inspector.session, inspector.settings
    if isinstance(archive, Archive):
        found = find_in_archive(url, when, archive, session, settings, limit, limiter=limiter)
    else:
        found = find_mementos(url, when, [archive], session, settings, limit, limiter=limiter)
    inspector.cache.remember_lookup(archive.spec, url, when, kind, found)
    return found


def find_best_memento(
    url: str,
    when: datetime | None,
    archives: Sequence[AnyArchive],
    session: requests.Session,
    settings: Settings,
    *,
    quote: str | None = None,
    cache: LookupCache | None = None,
    max_inspected: int = DEFAULT_MAX_INSPECTED,
    cdx_limit: int = DEFAULT_CDX_LIMIT,
    cdx_limiter: CdxRateLimiter | None = None,
    replay_limiter: CdxRateLimiter | None = None,
) -> Selection:
    """Find and choose the memento of ``url`` for a citation made at ``when``.

    Replay first, CDX only when the closest captures do not settle it (see the module
    docstring); every answer goes through ``cache``. An archive that fails is left out
    (and logged) when another answered; when none did, the first failure is raised as
    ``NetworkError``.
    """
    if max_inspected < 1:
        raise ValueError("max_inspected must be at least 1")
    when = _utc(when)
    inspector = _Inspector(
        session,
        settings,
        cache or LookupCache.in_memory(),
        replay_limiter,
        normalise_passage(quote) if quote and quote.strip() else None,
    )

    # 1. The closest capture in each archive, through replay.
    landed: list[Memento] = []
    reachable: list[AnyArchive] = []
    failures: list[NetworkError] = []
    settled = True  # False: a capture nobody has seen could rank ahead of those landed on
    for archive in archives:
        if not isinstance(archive, Archive):  # a TimeMap or a local collection: in step 2
            reachable.append(archive)
            settled = False
            continue
        try:
            closest = _closest(url, when, archive, inspector)
            earlier: Memento | None = None
            if closest is not None and when is not None and parse_iso(closest.datetime) > when:
                # An earlier capture may exist; the archive's Link header may name it.
                verdict, _ = inspector.inspect(closest)
                if verdict.previous is not None and parse_iso(verdict.previous.datetime) <= when:
                    earlier = verdict.previous
                elif not verdict.first:
                    settled = False
        except NetworkError as e:
            failures.append(e)
            log.warning("%s", e)
            continue
        reachable.append(archive)
        landed.extend(m for m in (closest, earlier) if m is not None)
    if not reachable:
        raise failures[0]
    if not landed and settled:
        return Selection(None, "no archive holds a copy")
    first = _choose_by_content(landed, when, inspector, max_inspected) if landed else None
    if first is not None and settled and first.rank == 0:
        quote_settled = inspector.quote is None or (
            first.passage is not None and first.passage.found == "exact"
        )
        if quote_settled:
            return first.selection

    # 2. More candidates: one CDX query per archive.
    listed: list[Memento] = []
    cdx_failures: list[NetworkError] = []
    for archive in reachable:
        try:
            listed.extend(_listed(url, when, archive, inspector, cdx_limit, cdx_limiter))
        except NetworkError as e:
            cdx_failures.append(e)
            log.warning("%s", e)
    if len(cdx_failures) == len(reachable) and (first is None or first.selection.memento is None):
        raise cdx_failures[0]
    known = {m.raw_url for m in listed}
    listed.extend(m for m in landed if m.raw_url not in known)
    selection = _choose_by_content(listed, when, inspector, max_inspected).selection
    if cdx_failures:
        note = f"; not checked against every capture ({cdx_failures[0]})"
        selection = dataclass_replace(selection, reason=selection.reason + note)
    return selection
