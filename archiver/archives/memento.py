"""Find mementos in any archive that speaks Memento (RFC 7089): TimeMaps and TimeGates.

Most web archives that have no CDX API (archive.today, Perma.cc) or whose CDX API is not
public (national libraries) still answer the Memento protocol: a **TimeMap**
(``application/link-format``, RFC 7089 §5) lists every memento of a URL with its
datetime, and a **TimeGate** answers a request carrying ``Accept-Datetime`` with a
redirect to the memento it judges closest (§4). ``--archive memento:URL`` reaches any of
them; the well-known ones have names (see ``PRESETS``).

Choices that are not obvious:

- One URL per archive is enough. It may be a TimeMap or a TimeGate prefix: the first
  answer says which (a ``link-format`` body is a TimeMap; a redirect with ``Vary:
  accept-datetime``, or one that leads to a response with ``Memento-Datetime``, is a
  TimeGate's), so ``memento:http://host/web/timemap/link/`` and ``memento:http://host/web/``
  both work; ``memento:timegate=URL`` skips the guess. The original URL is appended to
  the prefix, or put in place of ``{url}`` when the prefix has one.
- That first request carries no ``Accept-Datetime``: pywb (2.10) answers a TimeMap request
  that has one with a TimeMap of the single closest memento. A TimeGate found that way is
  asked again with the date.
- A TimeMap is preferred where an archive has both: it lists every capture, so ``select``
  can weigh them all (and those of other archives), where a TimeGate gives one capture
  closest on either side, by the archive's own rule. A TimeMap says nothing about the
  status of a capture, so its mementos have ``http_status`` None, like CDX revisits; a
  TimeGate lookup ends at the memento itself, whose replay status (the captured status on
  Wayback-style archives, which replay captured 404s and redirects as such) is recorded.
- TimeMaps can be huge (the Internet Archive serves tens of thousands of entries in one
  answer): the body is capped at ``Settings.max_bytes``; a capped TimeMap is parsed up to
  its last complete entry, a warning says so, and the TimeGate, when the archive has one,
  is asked for the memento nearest the date, which the capped part may have missed. Paged
  TimeMaps (links to further TimeMaps, ``rel="timemap"`` / ``"next"`` with
  ``from``/``until``) are followed only where a page's range covers the date, and at most
  ``MAX_TIMEMAP_PAGES`` requests are made for one URL.
- Raw bytes: on Wayback-style archives (pywb, OpenWayback, the Internet Archive, Arquivo.pt,
  the Library of Congress, the UK Web Archive) the memento URL ``.../<14 digits>/<url>``
  has a raw form with ``id_`` after the timestamp, which ``Memento.raw_url`` uses.
  archive.today and Perma.cc have no raw form (archive.today's URLs look Wayback-style but
  ``id_`` means nothing there; Perma.cc's are opaque ids), so ``raw_url`` is the memento
  URL itself and what ``store`` keeps is the archive's rendering of the page, not the
  bytes the original server sent.
- Politeness is the CDX path's (``archiver.net.polite``): the TimeMap or TimeGate request waits
  its turn in the shared ``CdxRateLimiter`` (the Internet Archive's TimeMap shares the CDX
  API's slot and 2.5 s spacing; other named archives are spaced 1 s apart, an assumption
  rather than a published limit), a 429/503 is retried once only when ``Retry-After`` asks
  for a bounded wait, and every request has the settings' timeout. Following a TimeGate's
  redirect to the memento is a replay request and does not wait.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal
from urllib.parse import urldefrag, urljoin, urlsplit

import requests

from archiver.archives.wayback import IA_CDX_URL, IA_HOST, IA_MIN_INTERVAL
from archiver.config import Settings
from archiver.dates import parse_http_date, parse_iso, to_http_date, to_iso, utcnow
from archiver.errors import InputError, NetworkError
from archiver.models import Memento
from archiver.net.http import Fetched
from archiver.net.polite import (
    DEFAULT_RATE_LIMITER,
    CdxRateLimiter,
    parse_interval_option,
    polite_get,
)

log = logging.getLogger(__name__)

MEMENTO_PREFIX = "memento:"
URL_PLACEHOLDER = "{url}"
MAX_TIMEMAP_PAGES = 3  # TimeMap requests for one URL, the first page included
PUBLIC_MIN_INTERVAL = 1.0  # seconds between lookups in a named archive other than the IA

RawReplay = Literal["id_", "none"]


@dataclass(frozen=True)
class MementoArchive:
    """An archive reached through the Memento protocol.

    ``timemap`` is asked first, when there is one: a TimeMap, or a TimeGate (its answer
    says which). ``timegate`` is the archive's TimeGate: asked first when there is no
    ``timemap``, and otherwise only for the memento nearest the date when a TimeMap is too
    large to read whole. Both are prefixes to which the original URL is appended, or
    templates with ``{url}``. ``raw_replay`` says whether memento URLs have a Wayback
    ``id_`` raw form; ``min_interval`` is the least time between two lookups.
    """

    spec: str
    timemap: str | None
    timegate: str | None = None
    raw_replay: RawReplay = "id_"
    min_interval: float = 0.0

    def __post_init__(self) -> None:
        if self.timemap is None and self.timegate is None:
            raise ValueError("a Memento archive needs a TimeMap or a TimeGate URL")

    def timemap_url(self, original: str) -> str | None:
        return _expand(self.timemap, original) if self.timemap else None

    def timegate_url(self, original: str) -> str | None:
        return _expand(self.timegate, original) if self.timegate else None

    @property
    def limiter_key(self) -> str:
        """The endpoint whose turn a lookup waits for (the IA's is its CDX API's)."""
        parts = urlsplit(self.timemap or self.timegate or "")
        if (parts.hostname or "").lower() == IA_HOST:
            return IA_CDX_URL
        return f"{parts.scheme}://{parts.netloc}/"

    def raw_url(self, memento_url: str) -> str:
        """The URL that returns the memento's original bytes, where the archive has one."""
        if self.raw_replay == "none":
            return memento_url
        match = _WAYBACK_MEMENTO.match(memento_url)
        if not match:
            return memento_url
        return f"{match.group('prefix')}{match.group('ts')}id_/{match.group('rest')}"


# ".../<14-digit timestamp>[flags_]/<original>" where the original is a URL.
_WAYBACK_MEMENTO = re.compile(
    r"^(?P<prefix>https?://[^/]+/(?:.*?/)?)(?P<ts>\d{14})(?:[a-z]{2}_)?/(?P<rest>.+)$",
    re.IGNORECASE | re.DOTALL,
)


def _expand(template: str, original: str) -> str:
    if URL_PLACEHOLDER in template:
        return template.replace(URL_PLACEHOLDER, original)
    return template + original


@dataclass(frozen=True)
class _Preset:
    timemap: str
    timegate: str | None
    raw_replay: RawReplay
    min_interval: float


# TimeMap and TimeGate prefixes of well-known archives, as MemGator (oduwsdl/MemGator,
# archives.json) lists them and their own Link headers name them. "ia" is reachable this
# way only as "memento:ia": plain "ia" stays the CDX API (archiver.archives.wayback).
PRESETS: Mapping[str, _Preset] = MappingProxyType(
    {
        "ia": _Preset(
            "https://web.archive.org/web/timemap/link/",
            "https://web.archive.org/web/",
            "id_",
            IA_MIN_INTERVAL,
        ),
        "archive.today": _Preset(
            "https://archive.ph/timemap/",
            "https://archive.ph/timegate/",
            "none",
            PUBLIC_MIN_INTERVAL,
        ),
        "arquivo.pt": _Preset(
            "https://arquivo.pt/wayback/timemap/link/",
            "https://arquivo.pt/wayback/",
            "id_",
            PUBLIC_MIN_INTERVAL,
        ),
        "loc": _Preset(
            "https://webarchive.loc.gov/all/timemap/link/",
            "https://webarchive.loc.gov/all/",
            "id_",
            PUBLIC_MIN_INTERVAL,
        ),
        "ukwa": _Preset(
            "https://www.webarchive.org.uk/wayback/archive/timemap/link/",
            "https://www.webarchive.org.uk/wayback/archive/",
            "id_",
            PUBLIC_MIN_INTERVAL,
        ),
        "perma.cc": _Preset(
            "https://perma.cc/timemap/link/",
            "https://perma.cc/timegate/",
            "none",
            PUBLIC_MIN_INTERVAL,
        ),
    }
)
# Names that mean a Memento archive without the "memento:" prefix ("ia" means the CDX API).
NAMED_ARCHIVES = tuple(name for name in PRESETS if name != "ia")

_OPTION = re.compile(r",(timegate|raw|interval)=")


def _split_options(spec: str, text: str) -> tuple[str, dict[str, str]]:
    first = _OPTION.search(text)
    if not first:
        return text, {}
    options: dict[str, str] = {}
    parts = _OPTION.split(text[first.start() :])
    # split gives ["", key1, value1, key2, value2, ...]
    for key, value in zip(parts[1::2], parts[2::2], strict=True):
        if key in options:
            raise InputError(f"archive {spec!r}: {key}= given twice")
        options[key] = value
    return text[: first.start()], options


def is_memento_spec(spec: str) -> bool:
    """True for ``memento:...`` and for the names of Memento archives (``archive.today``...)."""
    text = spec.strip()
    if text[: len(MEMENTO_PREFIX)].lower() == MEMENTO_PREFIX:
        return True
    first = _OPTION.search(text)
    name = text[: first.start()] if first else text
    return name.lower() in NAMED_ARCHIVES


def parse_memento_spec(spec: str) -> MementoArchive:
    """Parse a Memento ``--archive`` value.

    - ``NAME`` or ``memento:NAME``: a named archive (``archive.today``, ``arquivo.pt``,
      ``loc``, ``ukwa``, ``perma.cc``; ``memento:ia`` is the Internet Archive's TimeMap).
    - ``memento:URL``: any Memento archive, ``URL`` being the prefix (or ``{url}``
      template) of its TimeMap or of its TimeGate.

    Options, after a comma: ``timegate=URL`` (the TimeGate, for TimeMaps too large to
    read whole), ``raw=id_|none`` (whether memento URLs have a Wayback ``id_`` raw form;
    ``id_`` by default) and ``interval=SECONDS`` (the least time between two lookups).
    """
    text = spec.strip()
    named = text[: len(MEMENTO_PREFIX)].lower() != MEMENTO_PREFIX
    rest = text if named else text[len(MEMENTO_PREFIX) :]
    only_timegate = not named and rest.startswith("timegate=")
    target, options = _split_options(spec, "," + rest if only_timegate else rest)
    names = ", ".join(NAMED_ARCHIVES)
    preset = PRESETS.get(target.lower())
    if preset is None and not only_timegate and (named or not _is_template_url(target)):
        raise InputError(
            f"archive {spec!r}: {target!r} is neither an http(s) URL nor a Memento archive "
            f"name ({names}, ia)"
        )

    timegate = options.get("timegate")
    if timegate is not None and not _is_template_url(timegate):
        raise InputError(f"archive {spec!r}: timegate={timegate!r} is not an http(s) URL")
    raw: RawReplay | None = None
    if "raw" in options:
        if options["raw"] == "id_":
            raw = "id_"
        elif options["raw"] == "none":
            raw = "none"
        else:
            raise InputError(f"archive {spec!r}: raw={options['raw']!r} must be 'id_' or 'none'")
    interval: float | None = None
    if "interval" in options:
        interval = parse_interval_option(spec, options["interval"])

    if preset is not None:
        return MementoArchive(
            spec=text,
            timemap=preset.timemap,
            timegate=timegate or preset.timegate,
            raw_replay=raw or preset.raw_replay,
            min_interval=preset.min_interval if interval is None else interval,
        )
    if interval is None:
        on_ia = (urlsplit(target or timegate or "").hostname or "").lower() == IA_HOST
        interval = IA_MIN_INTERVAL if on_ia else 0.0
    return MementoArchive(
        spec=text,
        timemap=None if only_timegate else target,
        timegate=timegate,
        raw_replay=raw or "id_",
        min_interval=interval,
    )


def _is_template_url(text: str) -> bool:
    try:
        parts = urlsplit(text.replace(URL_PLACEHOLDER, ""))
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# -- link-format (RFC 6690 / RFC 8288), as TimeMaps and Link headers use it ----------------


@dataclass(frozen=True)
class Link:
    """One link: its target and parameters (names lower-cased, first occurrence kept)."""

    target: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def rels(self) -> frozenset[str]:
        """Relation types, lower-cased: ``rel="first memento"`` is {"first", "memento"}."""
        return frozenset(self.params.get("rel", "").lower().split())


_TARGET = re.compile(r"[\s,]*<([^>]*)>")
_PARAM = re.compile(
    r"\s*;\s*([^\s=;,\"<>]+)\s*(?:=\s*(\"(?:[^\"\\]|\\.)*\"|[^\s;,\"<>]*))?", re.DOTALL
)
_END_OF_LINK = re.compile(r"\s*(?:(,)|(?=<)|$)")
_NEXT_LINK = re.compile(r",\s*(?=<)")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def iter_links(text: str, *, complete: bool = True) -> Iterator[Link]:
    """The links in link-format ``text``, in order; entries it cannot read are skipped.

    Entries may span lines, and commas and semicolons inside ``<...>`` or quoted values
    are not separators. With ``complete`` False (a body cut short by a size cap) the last
    entry is dropped unless a comma shows it ended.
    """
    position, length = 0, len(text)
    while position < length:
        target = _TARGET.match(text, position)
        if target is None:
            if not text[position:].strip(" \t\r\n,"):
                break
            skip = _NEXT_LINK.search(text, position)  # not a link: resume at the next one
            if skip is None:
                break
            position = skip.end()
            continue
        position = target.end()
        params: dict[str, str] = {}
        while True:
            param = _PARAM.match(text, position)
            if param is None:
                break
            position = param.end()
            name, value = param.group(1).lower(), param.group(2) or ""
            if value.startswith('"'):
                value = value[1:-1]
                if "\\" in value:
                    value = _ESCAPE.sub(r"\1", value)
            params.setdefault(name, value)
        end = _END_OF_LINK.match(text, position)
        if end is None:  # garbage after the parameters: drop the entry, go to the next one
            skip = _NEXT_LINK.search(text, position)
            if skip is None:
                break
            position = skip.end()
            continue
        position = end.end()
        # Only a comma or the next "<" proves an entry whole; the end of a cut body does not.
        if end.group(1) or position < length or complete:
            yield Link(target.group(1).strip(), MappingProxyType(params))


@dataclass(frozen=True)
class TimeMapMemento:
    url: str
    datetime: datetime
    mimetype: str | None = None


@dataclass(frozen=True)
class TimeMapPage:
    """Another TimeMap this one points to, with the range of datetimes it says it covers."""

    url: str
    start: datetime | None = None
    end: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment <= self.end
        )


@dataclass(frozen=True)
class TimeMap:
    """What a TimeMap says: the original URL, its TimeGate, its mementos (in the order
    listed) and further pages; ``skipped`` counts memento entries without a usable
    datetime."""

    original: str | None
    timegate: str | None
    mementos: tuple[TimeMapMemento, ...]
    pages: tuple[TimeMapPage, ...] = ()
    skipped: int = 0


_PAGE_RELS = frozenset({"timemap", "next", "prev", "previous"})
_ABSOLUTE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
_RFC1123 = re.compile(
    r"\s*[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT\s*$"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def parse_timemap(text: str, base_url: str = "", *, complete: bool = True) -> TimeMap:
    """Parse an ``application/link-format`` TimeMap; relative URLs resolve against ``base_url``.

    Every link whose relation types include ``memento`` (``"first memento"``,
    ``"last memento"``, ``"first last memento"``...) is a memento; its ``datetime`` is an
    RFC 1123 date. ``complete`` is as for ``iter_links``.
    """
    original: str | None = None
    timegate: str | None = None
    mementos: list[TimeMapMemento] = []
    pages: list[TimeMapPage] = []
    skipped = 0
    for link in iter_links(text, complete=complete):
        rels = link.rels
        url = link.target
        if base_url and not _ABSOLUTE.match(url):
            url = urljoin(base_url, url)
        if "memento" in rels:
            moment = _http_date(link.params.get("datetime"))
            if moment is None:
                skipped += 1
                continue
            mementos.append(TimeMapMemento(url, moment, link.params.get("type") or None))
        elif "original" in rels:
            original = original or url
        elif "timegate" in rels:
            timegate = timegate or url
        elif rels & _PAGE_RELS and "self" not in rels:
            kind = link.params.get("type", "application/link-format").lower()
            if "link-format" in kind:
                start = _http_date(link.params.get("from"))
                end = _http_date(link.params.get("until"))
                pages.append(TimeMapPage(url, start, end))
    return TimeMap(original, timegate, tuple(mementos), tuple(pages), skipped)


def _http_date(text: str | None) -> datetime | None:
    if not text:
        return None
    # The RFC 1123 form every TimeMap entry uses, read directly: email.utils is slow
    # enough to dominate the parsing of a TimeMap with 100,000 entries.
    fixed = _RFC1123.match(text)
    if fixed and fixed.group(2).title() in _MONTHS:
        day, month, year, hour, minute, second = fixed.group(1, 2, 3, 4, 5, 6)
        try:
            return datetime(
                int(year),
                _MONTHS[month.title()],
                int(day),
                int(hour),
                int(minute),
                int(second),
                tzinfo=UTC,
            )
        except ValueError:
            return None
    try:
        return parse_http_date(text)
    except (TypeError, ValueError, IndexError):
        return None


# -- lookups ------------------------------------------------------------------------------


def find_in_memento_archive(
    url: str,
    when: datetime | None,
    archive: MementoArchive,
    session: requests.Session,
    settings: Settings,
    limit: int = 25,
    *,
    limiter: CdxRateLimiter | None = None,
) -> list[Memento]:
    """The (up to ``limit``) mementos of ``url`` in ``archive`` closest to ``when``.

    ``when`` None means now. Sorted oldest first. Raises ``NetworkError`` when the
    archive cannot be asked or answers with something that is not Memento; no mementos
    is ``[]``.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # archiver's convention: naive means UTC
    original = urldefrag(url).url  # a fragment is never sent to a server
    lookup = _Lookup(archive, session, settings, limiter or DEFAULT_RATE_LIMITER, when)
    found = lookup.find(original)
    return _closest(_unique(found), when or utcnow(), limit)


def _unique(mementos: Sequence[Memento]) -> list[Memento]:
    """One memento per (datetime, URL): the one whose status is known, else the first."""
    kept: dict[tuple[str, str], Memento] = {}
    for memento in mementos:
        key = (memento.datetime, memento.url)
        known = kept.get(key)
        if known is None or (known.http_status is None and memento.http_status is not None):
            kept[key] = memento
    return list(kept.values())


def _closest(mementos: Sequence[Memento], when: datetime, limit: int) -> list[Memento]:
    """The ``limit`` mementos nearest ``when`` on either side (as CDX ``sort=closest``)."""
    dated = [(parse_iso(m.datetime), m) for m in mementos]
    nearest = sorted(dated, key=lambda d: (abs((d[0] - when).total_seconds()), d[0]))[:limit]
    return [m for _, m in sorted(nearest, key=lambda d: d[0])]


_REDIRECTS = (301, 302, 303, 307, 308)


class _Lookup:
    """One URL's lookup in one archive: the requests, their limits and what they mean."""

    def __init__(
        self,
        archive: MementoArchive,
        session: requests.Session,
        settings: Settings,
        limiter: CdxRateLimiter,
        when: datetime | None,
    ) -> None:
        self.archive = archive
        self.session = session
        self.settings = settings
        self.limiter = limiter
        self.when = when

    def find(self, original: str) -> list[Memento]:
        timemap = self.archive.timemap_url(original)
        if timemap is not None:
            return self._from_endpoint(timemap, original)
        timegate = self.archive.timegate_url(original)
        assert timegate is not None  # MementoArchive has one or the other
        memento = self._from_timegate(timegate, original)
        return [memento] if memento is not None else []

    def _from_endpoint(self, url: str, original: str) -> list[Memento]:
        """Ask ``url``, expected to be a TimeMap, and read the answer for what it is.

        No ``Accept-Datetime`` here: pywb answers a TimeMap request that carries one with
        a TimeMap of the single closest memento. A TimeGate gives itself away by
        redirecting with ``Vary: accept-datetime``, or by leading to a memento; it is then
        asked again, with the date.
        """
        answer = self._get(url, lookup=True, accept_link_format=True)
        for _ in range(self.settings.max_redirects + 1):
            if _is_timemap(answer):
                return self._from_timemaps(answer, original)
            is_memento = answer.header("Memento-Datetime") is not None
            negotiates = "accept-datetime" in (answer.header("Vary") or "").lower()
            if self.when is not None and (is_memento or negotiates):
                memento = self._from_timegate(url, original)
                return [memento] if memento is not None else []
            if is_memento or negotiates:  # no date: the TimeGate's choice, the newest, is it
                memento = self._follow_to_memento(answer, original)
                return [memento] if memento is not None else []
            location = answer.header("Location")
            if answer.status in _REDIRECTS and location:  # the TimeMap moved
                moved = urljoin(answer.final_url, location)
                answer = self._get(moved, lookup=True, accept_link_format=True)
                continue
            if answer.status in (404, 410):
                return []
            raise self._unexpected(answer)
        raise self._too_many_redirects()

    # -- TimeMaps ---------------------------------------------------------------------

    def _from_timemaps(self, first: Fetched, original: str) -> list[Memento]:
        spec = self.archive.spec
        timemap = parse_timemap(first.text(), first.final_url, complete=not first.truncated)
        listed = list(timemap.mementos)
        truncated = first.truncated
        fetched = {first.final_url}
        queue = [page for page in timemap.pages if page.url not in fetched]
        moment = self.when or utcnow()
        while queue and len(fetched) < MAX_TIMEMAP_PAGES:
            page = queue.pop(0)
            if page.url in fetched or not page.covers(moment):
                continue
            fetched.add(page.url)
            answer = self._get(page.url, lookup=True, accept_link_format=True)
            if not _is_timemap(answer):
                log.warning("%s: TimeMap page %s answered HTTP %d", spec, page.url, answer.status)
                continue
            more = parse_timemap(answer.text(), answer.final_url, complete=not answer.truncated)
            listed.extend(more.mementos)
            truncated = truncated or answer.truncated
            queue.extend(p for p in more.pages if p.url not in fetched)
        if any(page.covers(moment) and page.url not in fetched for page in queue):
            log.warning(
                "%s: the TimeMap of %s has more pages than the %d read",
                spec,
                original,
                MAX_TIMEMAP_PAGES,
            )

        origin = timemap.original or original
        mementos = [
            Memento(
                original=origin,
                datetime=to_iso(entry.datetime),
                archive=spec,
                url=entry.url,
                raw_url=self.archive.raw_url(entry.url),
                mimetype=entry.mimetype,
            )
            for entry in listed
        ]
        if truncated:
            log.warning(
                "%s: the TimeMap of %s is larger than %d bytes; read its first %d mementos",
                spec,
                original,
                self.settings.max_bytes,
                len(listed),
            )
            mementos.extend(self._nearest_from_timegate(original))
        return mementos

    def _nearest_from_timegate(self, original: str) -> list[Memento]:
        """The TimeGate's memento for the date, to make up for a TimeMap read in part."""
        timegate = self.archive.timegate_url(original)
        if timegate is None:
            return []
        try:
            memento = self._from_timegate(timegate, original)
        except NetworkError as e:
            log.warning("%s", e)
            return []
        return [memento] if memento is not None else []

    # -- TimeGates --------------------------------------------------------------------

    def _from_timegate(self, url: str, original: str) -> Memento | None:
        """Negotiate with the TimeGate at ``url`` for the memento closest to the date."""
        return self._follow_to_memento(self._get(url, lookup=True), original)

    def _follow_to_memento(self, answer: Fetched, original: str) -> Memento | None:
        """Follow the archive's redirects to the first response that is a memento.

        A redirect that carries ``Memento-Datetime`` is a captured redirect: the memento
        itself, never followed.
        """
        for _ in range(self.settings.max_redirects + 1):
            if answer.header("Memento-Datetime") is not None:
                return self._memento_from(answer, original)
            location = answer.header("Location")
            if answer.status in _REDIRECTS and location:
                answer = self._get(urljoin(answer.final_url, location), max_bytes=0)
                continue
            if answer.status in (404, 410):
                return None
            raise self._unexpected(answer)
        raise self._too_many_redirects()

    def _memento_from(self, answer: Fetched, original: str) -> Memento:
        spec = self.archive.spec
        moment = _http_date(answer.header("Memento-Datetime"))
        if moment is None:
            raise NetworkError(
                f"{spec}: unreadable Memento-Datetime {answer.header('Memento-Datetime')!r} "
                f"at {answer.final_url}"
            )
        # A TimeGate that answers with the memento itself names it in Content-Location.
        location = answer.header("Content-Location")
        url = urljoin(answer.final_url, location) if location else answer.final_url
        links = list(iter_links(answer.header("Link") or ""))
        origin = next((link.target for link in links if "original" in link.rels), original)
        kind = (answer.header("Content-Type") or "").split(";")[0].strip() or None
        return Memento(
            original=origin,
            datetime=to_iso(moment),
            archive=spec,
            url=url,
            raw_url=self.archive.raw_url(url),
            http_status=answer.status,
            mimetype=kind,
        )

    def _unexpected(self, answer: Fetched) -> NetworkError:
        spec = self.archive.spec
        if 200 <= answer.status < 300:
            kind = (answer.header("Content-Type") or "no type").split(";")[0].strip()
            return NetworkError(
                f"{spec}: answered with {kind}, neither a TimeMap nor a memento "
                f"(no Memento-Datetime) at {answer.final_url}"
            )
        return NetworkError(f"{spec}: answered HTTP {answer.status} at {answer.final_url}")

    def _too_many_redirects(self) -> NetworkError:
        return NetworkError(
            f"{self.archive.spec}: more than {self.settings.max_redirects} redirects"
        )

    # -- requests ---------------------------------------------------------------------

    def _get(
        self,
        url: str,
        *,
        lookup: bool = False,
        accept_link_format: bool = False,
        max_bytes: int | None = None,
    ) -> Fetched:
        """One request, without following redirects, with the CDX path's politeness.

        ``lookup`` requests (TimeMaps, TimeGates) wait for the archive's slot; replay
        requests do not, but no request goes to an archive that asked for a long pause.
        TimeMap requests ask for link-format and carry no date (see ``_from_endpoint``);
        every other request carries ``Accept-Datetime`` when there is a date.
        """
        archive, settings, key = self.archive, self.settings, self.archive.limiter_key
        headers = {}
        if accept_link_format:
            headers["Accept"] = "application/link-format, */*;q=0.5"
        elif self.when is not None:
            headers["Accept-Datetime"] = to_http_date(self.when)
        return polite_get(
            self.session,
            url,
            settings,
            spec=archive.spec,
            server="archive",
            limiter=self.limiter,
            endpoint=key,
            min_interval=archive.min_interval if lookup else None,
            headers=headers,
            allow_redirects=False,
            max_bytes=max_bytes,
        )


def _is_timemap(answer: Fetched) -> bool:
    if answer.status != 200 or answer.header("Memento-Datetime") is not None:
        return False
    kind = (answer.header("Content-Type") or "").lower()
    if "link-format" in kind:
        return True
    # Some archives send TimeMaps as text/plain (or with no type), and "none" as nothing.
    return ("text/plain" in kind or not kind) and answer.body.lstrip()[:1] in (b"<", b"")
