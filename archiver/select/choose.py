"""Choose the one memento that best stands for what the author cited, reading captures.

``archiver.select.rank`` orders captures by date and recorded status; this module reads
them, closest first and at most ``max_inspected`` of them, and judges each
(``archiver.select.judge``): the first usable one wins, unless the citation quotes a
passage, when the closest capture that holds it wins (verdict ``verbatim`` or
``equivalent``, as the ``quotes`` stage finds it: ``archiver.select.passages``), then the
closest that holds an ``altered`` version of it, then the closest usable one.
Revisits rank by date like any capture here: their replay is checked. Archives are held
through their protocol (``archiver.archives.base.Archive``): nothing here asks which kind
an archive is.

``find_best_memento`` spends the archives' budgets only where needed. The Internet
Archive allows about 0.4 CDX requests a second but several replay requests, so:

1. ask each archive whose closest capture is cheaper to find than a listing
   (``Archive.closest_first``: a Wayback server, where ``/web/<ts>id_/<url>`` redirects
   there, one replay request and no CDX) for the capture closest to the date;
2. if that capture is usable, holds the quote (when there is one), and nothing could
   rank ahead of it, it is the answer. Something could when the closest capture is after
   the date: an earlier one may exist. The Internet Archive's ``Link: prev memento``
   names it (one more replay request); pywb sends no such link;
3. otherwise one listing per archive (a CDX query, a TimeMap, the index of a local
   collection) gives the candidates near the date, and they are chosen among as by
   ``choose_memento``, reusing every verdict already made.

Every lookup and verdict goes through a ``LookupCache`` (the state file), so a rerun over
settled dates asks the archives nothing at all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from datetime import datetime

import requests

from archiver.archives.base import Archive, by_spec
from archiver.archives.cache import ContentVerdict, LookupCache, PassageMatch
from archiver.config import Settings
from archiver.dates import parse_iso
from archiver.errors import NetworkError
from archiver.models import Memento, Rejection, Selection
from archiver.net.polite import DEFAULT_RATE_LIMITER, DEFAULT_REPLAY_LIMITER, CdxRateLimiter, Net
from archiver.quotes.words import QuotePart
from archiver.select.judge import judge
from archiver.select.passages import (
    find_passage,
    holds_quote_wording,
    quote_parts,
    quote_verdict_of,
)
from archiver.select.rank import date_reason, rank_mementos, utc_or_none

log = logging.getLogger(__name__)

DEFAULT_MAX_INSPECTED = 5  # archived bodies read per citation, closest first
DEFAULT_CDX_LIMIT = 25  # captures a listing asks for, nearest the date on both sides


@dataclass(frozen=True)
class _Inspector:
    """What reading captures needs, and the cache it reads through."""

    archives: Mapping[str, Archive]
    net: Net
    cache: LookupCache
    quote: str | None  # as the article has it; the cache's key
    parts: tuple[QuotePart, ...] | None  # what is looked for: None, no quote

    def inspect(self, memento: Memento) -> tuple[ContentVerdict, PassageMatch | None]:
        verdict = self.cache.verdict(memento.raw_url)
        if verdict is not None and (not verdict.accepted or self.parts is None):
            return verdict, None
        if verdict is not None and self.quote is not None:
            passage = self.cache.passage(memento.raw_url, self.quote)
            if passage is not None:
                return verdict, passage
        judgement = judge(memento, self._archive_of(memento), self.net)
        if judgement.lasting:
            self.cache.remember_verdict(memento.raw_url, judgement.verdict)
        if not judgement.verdict.accepted or self.quote is None or self.parts is None:
            return judgement.verdict, None
        passage = find_passage(self.parts, judgement.text)
        if judgement.lasting:
            self.cache.remember_passage(memento.raw_url, self.quote, passage)
        return judgement.verdict, passage

    def _archive_of(self, memento: Memento) -> Archive:
        archive = self.archives.get(memento.archive)
        if archive is None:
            raise ValueError(f"{memento.raw_url} is of {memento.archive!r}, not an archive given")
        return archive

    def settles(self, passage: PassageMatch | None) -> bool:
        """Whether a usable capture with ``passage`` needs no rival: no quote is asked for,
        or it holds the quote."""
        return self.parts is None or (passage is not None and passage.holds_quote)


def _inspector(
    archives: Sequence[Archive] | Mapping[str, Archive],
    net: Net,
    cache: LookupCache | None,
    quote: str | None,
) -> _Inspector:
    parts = quote_parts(quote)
    quoted = quote.strip() if quote and parts else None
    return _Inspector(by_spec(archives), net, cache or LookupCache.in_memory(), quoted, parts)


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
        if inspector.settles(passage):
            break
    not_inspected = len(ranked) - inspected

    def in_listed_order() -> tuple[Rejection, ...]:
        return tuple(Rejection(m, reasons[m.raw_url]) for m in mementos if m.raw_url in reasons)

    if not acceptable:
        reason = _none_usable(ranked, reasons, not_inspected, max_inspected)
        return _Choice(Selection(None, reason, in_listed_order()), -1, None)

    rank, verdict, passage = _pick(acceptable)
    for other_rank, _, other_passage in acceptable:
        if other_rank < rank:  # closer, usable, but without the passage
            reasons[ranked[other_rank].raw_url] = _passed_over(other_passage)
    reason = _chosen_reason(ranked[rank], when, verdict, passage, inspector, not_inspected)
    assert verdict.memento is not None  # accepted verdicts always carry one
    quote_verdict = None if passage is None else quote_verdict_of(passage)
    chosen = Selection(verdict.memento, reason, in_listed_order(), quote_verdict)
    return _Choice(chosen, rank, passage)


def _pick(
    acceptable: list[tuple[int, ContentVerdict, PassageMatch | None]],
) -> tuple[int, ContentVerdict, PassageMatch | None]:
    """The closest usable capture that holds the quote, else the closest holding an altered
    version of it, else the closest usable one (``acceptable`` is closest first)."""
    holding = [a for a in acceptable if a[2] is not None and a[2].holds_quote]
    altered = [a for a in acceptable if a[2] is not None and a[2].found == "altered"]
    return (holding or altered or acceptable)[0]


def _chosen_reason(
    chosen: Memento,
    when: datetime | None,
    verdict: ContentVerdict,
    passage: PassageMatch | None,
    inspector: _Inspector,
    not_inspected: int,
) -> str:
    reason = date_reason(parse_iso(chosen.datetime), utc_or_none(when))
    if verdict.reason:
        reason += f"; {verdict.reason}"
    if inspector.quote is None or passage is None:
        return reason
    if passage.found != "not-found":
        return f"{reason}; {holds_quote_wording(passage)}"
    reason += "; the quoted passage is in no capture read (not-found)"
    if not_inspected:
        reason += f" ({not_inspected} more not inspected)"
    return reason


def _passed_over(passage: PassageMatch | None) -> str:
    return holds_quote_wording(passage or PassageMatch("not-found", 0.0))


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
    archives: Sequence[Archive] | Mapping[str, Archive],
    session: requests.Session,
    settings: Settings,
    quote: str | None = None,
    max_inspected: int = DEFAULT_MAX_INSPECTED,
    *,
    cache: LookupCache | None = None,
    limiter: CdxRateLimiter | None = None,
) -> Selection:
    """The best of ``mementos`` for a citation made at ``when``, judged by their bodies.

    Each memento is read from the archive its ``archive`` spec names among ``archives``.
    Reads at most ``max_inspected`` archived bodies, in ``rank_mementos`` order, through
    ``cache`` (verdicts already made are not fetched again) and ``limiter`` (replay
    calls). Rejected captures come back in ``rejected`` with the reason, in listed order.
    With a ``quote``, the closest usable capture holding it (``verbatim`` or
    ``equivalent``) wins, then the closest holding an altered version of it, then the
    closest usable one; the reason says the quote's verdict in the one chosen.
    Raises ``NetworkError`` when the archive cannot be read at all.
    """
    if max_inspected < 1:
        raise ValueError("max_inspected must be at least 1")
    net = Net(session, settings, replay_limiter=limiter or DEFAULT_REPLAY_LIMITER)
    inspector = _inspector(archives, net, cache, quote)
    return _choose_by_content(mementos, when, inspector, max_inspected).selection


# -- finding and choosing, on a budget --------------------------------------------------------


@dataclass
class _Landing:
    """What asking archives for their closest capture found (step 1)."""

    landed: list[Memento] = field(default_factory=list)
    reachable: list[Archive] = field(default_factory=list)
    failures: list[NetworkError] = field(default_factory=list)
    settled: bool = True  # False: a capture nobody has seen could rank ahead of those landed on


def find_best_memento(
    url: str,
    when: datetime | None,
    archives: Sequence[Archive],
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

    Closest captures first, listings only when they do not settle it (see the module
    docstring); every answer goes through ``cache``. An archive that fails is left out
    (and logged) when another answered; when none did, the first failure is raised as
    ``NetworkError``.
    """
    if max_inspected < 1:
        raise ValueError("max_inspected must be at least 1")
    when = utc_or_none(when)
    net = Net(
        session,
        settings,
        cdx_limiter=cdx_limiter or DEFAULT_RATE_LIMITER,
        replay_limiter=replay_limiter or DEFAULT_REPLAY_LIMITER,
    )
    inspector = _inspector(archives, net, cache, quote)
    landing = _land(url, when, archives, inspector)
    if not landing.reachable:
        raise landing.failures[0]
    if not landing.landed and landing.settled:
        return Selection(None, "no archive holds a copy")
    first = None
    if landing.landed:
        first = _choose_by_content(landing.landed, when, inspector, max_inspected)
        if landing.settled and first.rank == 0 and inspector.settles(first.passage):
            return first.selection
    return _choose_from_listings(url, when, landing, first, inspector, max_inspected, cdx_limit)


def _land(
    url: str, when: datetime | None, archives: Sequence[Archive], inspector: _Inspector
) -> _Landing:
    """Step 1: the closest capture in each archive where that is cheap, and the capture
    before it when the archive names one."""
    landing = _Landing()
    for archive in archives:
        if not archive.closest_first:  # its listing costs no more: in step 2
            landing.reachable.append(archive)
            landing.settled = False
            continue
        try:
            closest = inspector.cache.closest(archive, url, when, inspector.net)
            earlier: Memento | None = None
            if closest is not None and when is not None and parse_iso(closest.datetime) > when:
                # An earlier capture may exist; the archive's Link header may name it.
                verdict, _ = inspector.inspect(closest)
                if verdict.previous is not None and parse_iso(verdict.previous.datetime) <= when:
                    earlier = verdict.previous
                elif not verdict.first:
                    landing.settled = False
        except NetworkError as e:
            landing.failures.append(e)
            log.warning("%s", e)
            continue
        landing.reachable.append(archive)
        landing.landed.extend(m for m in (closest, earlier) if m is not None)
    return landing


def _choose_from_listings(
    url: str,
    when: datetime | None,
    landing: _Landing,
    first: _Choice | None,
    inspector: _Inspector,
    max_inspected: int,
    limit: int,
) -> Selection:
    """Steps 2 and 3: one listing per archive, then the choice among all candidates."""
    listed: list[Memento] = []
    failures: list[NetworkError] = []
    for archive in landing.reachable:
        try:
            listed.extend(inspector.cache.listed(archive, url, when, limit, inspector.net))
        except NetworkError as e:
            failures.append(e)
            log.warning("%s", e)
    if len(failures) == len(landing.reachable) and (
        first is None or first.selection.memento is None
    ):
        raise failures[0]
    known = {m.raw_url for m in listed}
    listed.extend(m for m in landing.landed if m.raw_url not in known)
    selection = _choose_by_content(listed, when, inspector, max_inspected).selection
    if failures:
        note = f"; not checked against every capture ({failures[0]})"
        selection = dataclass_replace(selection, reason=selection.reason + note)
    return selection
