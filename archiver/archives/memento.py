"""Any archive that speaks Memento (RFC 7089) as an archive: TimeMaps, TimeGates, reading.

Most web archives that have no CDX API (archive.today, Perma.cc) or whose CDX API is not
public (national libraries) still answer the Memento protocol: a **TimeMap**
(``application/link-format``, RFC 7089 §5) lists every memento of a URL with its
datetime, and a **TimeGate** answers a request carrying ``Accept-Datetime`` with a
redirect to the memento it judges closest (§4). ``--archive memento:URL`` reaches any of
them; the well-known ones have names (``archiver.archives.specs.PRESETS``).

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
  redirect to the memento, and reading a memento, are replay requests and do not wait,
  but no request goes to an archive that asked for a long pause.
- Reading a memento (``MementoArchive.read``) follows the archive's own redirects (those
  without ``Memento-Datetime``) and stops at a captured redirect. The capture of its
  target, to be read next, is named where memento URLs are Wayback-shaped: the same
  moment's, at the target's URL (the archive redirects to the exact capture from there).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Literal
from urllib.parse import urldefrag, urljoin, urlsplit

import requests

from archiver.archives.base import ArchivedResponse, CapturedRedirect, stated_original
from archiver.archives.linkformat import http_date_or_none, iter_links, parse_timemap
from archiver.archives.wayback import IA_CDX_URL, IA_HOST
from archiver.config import Settings
from archiver.dates import as_utc, parse_iso, parse_wayback_timestamp, to_http_date, to_iso, utcnow
from archiver.errors import NetworkError
from archiver.models import Memento
from archiver.net.http import Fetched
from archiver.net.polite import DEFAULT_RATE_LIMITER, CdxRateLimiter, polite_get
from archiver.net.urls import is_http_url

if TYPE_CHECKING:
    from archiver.net.polite import Net

log = logging.getLogger(__name__)

URL_PLACEHOLDER = "{url}"
MAX_TIMEMAP_PAGES = 3  # TimeMap requests for one URL, the first page included

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

    listing_kind: ClassVar[str] = "list"
    closest_first: ClassVar[bool] = False  # a TimeGate costs a lookup, as a TimeMap does
    verdicts_last: ClassVar[bool] = True

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

    def find(self, url: str, when: datetime | None, limit: int, net: Net) -> list[Memento]:
        """The mementos nearest ``when``, from the TimeMap (or the TimeGate)."""
        return find_in_memento_archive(
            url, when, self, net.session, net.settings, limit, limiter=net.cdx_limiter
        )

    def closest(self, url: str, when: datetime | None, net: Net) -> Memento | None:
        """The memento the TimeGate negotiates, or the nearest the TimeMap lists."""
        lookup = _Lookup(self, net.session, net.settings, net.cdx_limiter, _utc(when))
        return lookup.closest(urldefrag(url).url)

    def read(self, memento: Memento, net: Net, *, max_bytes: int | None = None) -> ArchivedResponse:
        """``memento.raw_url``, the archive's own redirects followed (see the module
        docstring). Raises ``NetworkError``."""
        url = memento.raw_url
        history: list[tuple[str, int]] = []
        for _ in range(net.settings.max_redirects + 1):
            answer = polite_get(
                net.session,
                url,
                net.settings,
                spec=self.spec,
                server="archive",
                limiter=net.cdx_limiter,
                endpoint=self.limiter_key,
                min_interval=None,
                allow_redirects=False,
                max_bytes=max_bytes,
            )
            location = answer.header("Location")
            own = answer.header("Memento-Datetime") is None and answer.status in _REDIRECTS
            if own and location:
                history.append((url, answer.status))
                url = urljoin(answer.final_url, location)
                continue
            served = _as_served(memento, answer, moved=bool(history))
            redirect = self._captured_redirect(memento, answer)
            return ArchivedResponse.from_http(
                answer, memento, served, history=tuple(history), redirect=redirect
            )
        raise NetworkError(f"{self.spec}: more than {net.settings.max_redirects} redirects")

    def _captured_redirect(self, memento: Memento, answer: Fetched) -> CapturedRedirect | None:
        """Where a captured redirect points, and the capture to read there: the same
        moment's, where memento URLs are Wayback-shaped."""
        location = answer.header("Location")
        if (
            not (location and 300 <= answer.status < 400)
            or answer.header("Memento-Datetime") is None
        ):
            return None
        inside = _WAYBACK_MEMENTO.match(urljoin(answer.final_url, location))
        if inside is not None and is_http_url(inside.group("rest")):  # rewritten into the archive
            target, timestamp = inside.group("rest"), inside.group("ts")
            return CapturedRedirect(
                target, timestamp, self._memento_at(inside.group("prefix"), timestamp, target)
            )
        original = stated_original(answer) or memento.original
        target = urljoin(original, location)
        if not is_http_url(target):
            return None
        shape = _WAYBACK_MEMENTO.match(memento.url)
        if shape is None:
            return CapturedRedirect(target, None, None)
        return CapturedRedirect(
            target, None, self._memento_at(shape.group("prefix"), shape.group("ts"), target)
        )

    def _memento_at(self, prefix: str, timestamp: str, original: str) -> Memento:
        url = f"{prefix}{timestamp}/{original}"
        return Memento(
            original=original,
            datetime=to_iso(parse_wayback_timestamp(timestamp)),
            archive=self.spec,
            url=url,
            raw_url=self.raw_url(url),
        )


# ".../<14-digit timestamp>[flags_]/<original>" where the original is a URL.
_WAYBACK_MEMENTO = re.compile(
    r"^(?P<prefix>https?://[^/]+/(?:.*?/)?)(?P<ts>\d{14})(?:[a-z]{2}_)?/(?P<rest>.+)$",
    re.IGNORECASE | re.DOTALL,
)


def _expand(template: str, original: str) -> str:
    if URL_PLACEHOLDER in template:
        return template.replace(URL_PLACEHOLDER, original)
    return template + original


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
    original = urldefrag(url).url  # a fragment is never sent to a server
    lookup = _Lookup(archive, session, settings, limiter or DEFAULT_RATE_LIMITER, _utc(when))
    found = lookup.find(original)
    return _closest(_unique(found), lookup.when or utcnow(), limit)


def _utc(when: datetime | None) -> datetime | None:
    return None if when is None else as_utc(when)


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

    def closest(self, original: str) -> Memento | None:
        """The TimeGate's memento for the date, or the nearest the TimeMap lists."""
        timegate = self.archive.timegate_url(original)
        if timegate is not None:
            return self._from_timegate(timegate, original)
        nearest = _closest(_unique(self.find(original)), self.when or utcnow(), 1)
        return nearest[0] if nearest else None

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
        moment = http_date_or_none(answer.header("Memento-Datetime"))
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


def _as_served(memento: Memento, answer: Fetched, *, moved: bool) -> Memento:
    """``memento`` as the archive's ``answer`` stated it: the capture's own datetime
    (``Memento-Datetime``) and original (``Link: rel="original"``), and its URL when the
    archive's own redirects led elsewhere; what it did not state stays as listed."""
    stated = http_date_or_none(answer.header("Memento-Datetime"))
    return dataclass_replace(
        memento,
        http_status=memento.http_status or answer.status,
        datetime=to_iso(stated) if stated is not None else memento.datetime,
        original=stated_original(answer) or memento.original,
        raw_url=answer.final_url if moved else memento.raw_url,
    )
