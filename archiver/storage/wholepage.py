"""A page with its requisites: the stylesheets, images, fonts, scripts and icons it needs.

A preserved source is the page as its reader saw it, so ``Store`` captures a page's
requisites (``archiver.storage.requisites`` finds them) with it, into the same WARC file:
``with_requisites`` takes the page as ``archiver.storage.sources`` obtained it and returns
it carrying them.

- **From a memento, the same archive, near the page's time.** Each requisite is looked up
  with ``Archive.closest`` at the page's own datetime and read with ``Archive.read`` (the
  ``id_`` form of a Wayback server, a Memento archive's raw form, a local collection's
  record), politely, through the same limiters as every archive request; its captured
  redirects are kept, as the page's are. Its record's ``WARC-Date`` is the datetime the
  archive stated for it, never the page's, and the manifest says how far apart the two
  are (``seconds_from_page``, with a note past a year: a stylesheet captured years after
  the page may not be the one its reader got). An archive that asks for a pause
  (``Throttled``) is not asked for the page's other requisites.
- **From the live web, for a live page**, each redirect kept as the response it is.
- **Bounded per page** (``RequisiteBounds``, from ``Settings``): how many requisites are
  asked for, how many bytes are stored, how long it takes; a stylesheet's own requisites
  count as the page's. What is left out is listed, with the reason, in the capture's
  ``requisites_left_out``: over a bound, not in the archive, captured with an error, could
  not be fetched.
- **Stored once.** A requisite already in the store (the same capture: its URL and
  datetime, or for a live page its URL) is not fetched again: the capture lists the stored
  one, ``shared``, and what a shared stylesheet names comes with it. For a memento the
  archive is still asked which capture is closest, since that is what decides.
- Only responses that are what the page got are stored: 2xx, after redirects. A captured
  404 is left out with its status.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests

from archiver.config import Settings
from archiver.dates import parse_iso, to_iso
from archiver.errors import InputError, NetworkError, Throttled
from archiver.storage.browser import obtain_in_browser
from archiver.storage.entries import instant_key
from archiver.storage.manifest import LeftOutRequisite, Manifest, StoredRequisite
from archiver.storage.requisites import Requisite, find_in_css, find_in_html, is_css, is_html
from archiver.storage.sources import (
    Obtained,
    ObtainedRequisite,
    obtain_live,
    obtain_live_hops,
    obtained_part,
    read_chain,
)
from archiver.storage.warcwriter import WrittenRecord

if TYPE_CHECKING:
    from archiver.archives.base import Archive
    from archiver.net.polite import Net

__all__ = [
    "RequisiteBounds",
    "obtain_whole_live",
    "requisite_entries",
    "share_stored_since",
    "with_live_requisites",
    "with_memento_requisites",
]

FAR_APART = 365 * 86400  # seconds: a requisite captured further from its page is noted


@dataclass(frozen=True)
class RequisiteBounds:
    """How much work a page's requisites may take: ``count`` asked for, ``bytes`` stored
    (their payloads), ``seconds`` spent."""

    count: int
    bytes: int
    seconds: float

    @classmethod
    def of(cls, settings: Settings) -> RequisiteBounds:
        return cls(settings.requisite_count, settings.requisite_bytes, settings.requisite_seconds)


def with_memento_requisites(
    page: Obtained,
    archive: Archive,
    net: Net,
    manifest: Manifest,
    clock: Callable[[], datetime],
    *,
    monotonic: Callable[[], float] = time.monotonic,
) -> Obtained:
    """``page`` (a memento read from ``archive``) with its requisites, read from the same
    archive at the captures closest to the page's datetime (see the module docstring)."""
    if not net.settings.requisites:
        return page
    source = _FromArchive(archive, net, parse_iso(page.warc_date), to_iso(clock()))
    return _gather(page, source, net.settings, manifest.stored_requisites("memento"), monotonic)


def obtain_whole_live(
    url: str,
    session: requests.Session,
    settings: Settings,
    manifest: Manifest,
    clock: Callable[[], datetime],
) -> Obtained:
    """The live page at ``url`` with its requisites: fetched plainly (the default), or
    loaded in the browser ``settings.browser`` names (``archiver.storage.browser``), which
    records what it loaded; requisites already in the store are shared, not stored again."""
    if not settings.browser:
        page = obtain_live(url, session, settings, clock)
        return with_live_requisites(page, session, settings, manifest, clock)
    page = obtain_in_browser(url, settings, clock)
    if not settings.requisites:
        return replace(page, requisites=(), requisites_left_out=())
    stored = manifest.stored_requisites("live")
    kept = [r for r in page.requisites if (r.requisite.url, "") not in stored]
    shared = [
        _as_named(stored[key], r.requisite)
        for r in page.requisites
        if (key := (r.requisite.url, "")) in stored
    ]
    return replace(page, requisites=tuple(kept), requisites_shared=tuple(shared))


def with_live_requisites(
    page: Obtained,
    session: requests.Session,
    settings: Settings,
    manifest: Manifest,
    clock: Callable[[], datetime],
    *,
    monotonic: Callable[[], float] = time.monotonic,
) -> Obtained:
    """``page`` (fetched from the live web) with its requisites, fetched live too."""
    if not settings.requisites:
        return page
    source = _FromLive(session, settings, clock)
    return _gather(page, source, settings, manifest.stored_requisites("live"), monotonic)


# -- where requisites come from -----------------------------------------------------------


class _LeftOut(Exception):
    """A requisite that cannot be had, and why (the message)."""


@dataclass
class _FromArchive:
    """Requisites of a memento: the same archive, the capture closest to the page's time."""

    archive: Archive
    net: Net
    when: datetime
    created: str

    def locate(self, url: str) -> tuple[Any, tuple[str, str]]:
        """The capture to read for ``url``, and the key it is stored under."""
        memento = self.archive.closest(url, self.when, self.net)
        if memento is None:
            raise _LeftOut(f"not in {self.archive.spec}")
        return memento, (memento.original, instant_key(memento.datetime))

    def read(self, memento: Any, max_bytes: int) -> Obtained:
        chain = read_chain(memento, self.archive, self.net, max_bytes=max_bytes)
        parts = [obtained_part(response, self.archive, self.created) for response in chain]
        return replace(parts[-1], captured_redirects=tuple(parts[:-1]))

    def distance(self, warc_date: str) -> int:
        return round((parse_iso(warc_date) - self.when).total_seconds())

    @property
    def status_words(self) -> str:
        return "captured with"


@dataclass
class _FromLive:
    """Requisites of a live page: the live web, now."""

    session: requests.Session
    settings: Settings
    clock: Callable[[], datetime]

    def locate(self, url: str) -> tuple[Any, tuple[str, str]]:
        return url, (url, "")

    def read(self, url: Any, max_bytes: int) -> Obtained:
        return obtain_live_hops(url, self.session, self.settings, self.clock, max_bytes=max_bytes)

    def distance(self, warc_date: str) -> int | None:
        return None

    @property
    def status_words(self) -> str:
        return "answered"


def share_stored_since(page: Obtained, manifest: Manifest) -> Obtained | None:
    """``page`` with those of its fetched requisites that ``manifest`` now lists shared
    instead of kept, or None when it lists none of them.

    What a page's requisites are is decided against the store as it was when the page was
    read; another process may have stored one of them since. ``Store`` asks this under its
    lock, before it lists the page, and writes the page again without them, so that each
    requisite is stored once."""
    if not page.requisites:
        return None
    stored = manifest.stored_requisites(page.source)
    kept: list[ObtainedRequisite] = []
    shared: list[StoredRequisite] = []
    for fetched in page.requisites:
        entry = stored.get(_key_of(fetched.obtained, page.source, fetched.requisite.url))
        if entry is None:
            kept.append(fetched)
            continue
        shared.append(
            replace(
                _as_named(entry, fetched.requisite),
                seconds_from_page=fetched.seconds_from_page,
                note=fetched.note,
            )
        )
    if not shared:
        return None
    return replace(
        page, requisites=tuple(kept), requisites_shared=(*page.requisites_shared, *shared)
    )


def _key_of(obtained: Obtained, source: str, named: str) -> tuple[str, str]:
    """The key ``locate`` gave a requisite that was read as ``obtained``: a memento's
    first response (a captured redirect or the capture itself), a live one's named URL."""
    if source != "memento":
        return (named, "")
    first = _responses(obtained)[0]
    return (first.target_uri, instant_key(first.warc_date))


# -- gathering within the bounds ----------------------------------------------------------


class _Gathering:
    """One page's requisites being gathered: the queue, what was kept, shared and left
    out, and what of the bounds is spent."""

    def __init__(
        self,
        source: _FromArchive | _FromLive,
        settings: Settings,
        stored: Mapping[tuple[str, str], StoredRequisite],
        deadline: float,
    ) -> None:
        self.source, self.settings, self.stored = source, settings, stored
        self.bounds = RequisiteBounds.of(settings)
        self.deadline = deadline
        self.queue: list[tuple[int, int, Requisite]] = []
        self.seen: set[str] = set()
        self.fetched: list[ObtainedRequisite] = []
        self.shared: list[StoredRequisite] = []
        self.left_out: list[LeftOutRequisite] = []
        self.asked = 0
        self.bytes = 0
        self.keys: dict[tuple[str, str], str] = {}  # stored now → the URL that named it
        self.paused: str | None = None  # why the archive is not asked again

    def push(self, found: Iterable[Requisite]) -> None:
        for requisite in found:
            if requisite.url not in self.seen:
                self.seen.add(requisite.url)
                heapq.heappush(self.queue, (requisite.tier, len(self.seen), requisite))

    def leave_out(self, requisite: Requisite, reason: str) -> None:
        self.left_out.append(
            LeftOutRequisite(requisite.url, requisite.kind, requisite.found_in, reason)
        )

    def over_bound(self, now: float) -> str | None:
        """Why no more requisites may be asked for, or None while no bound is reached."""
        if self.paused is not None:
            return self.paused
        bounds = self.bounds
        if self.asked >= bounds.count:
            return f"over the page's bound of {bounds.count} requisites"
        if self.bytes >= bounds.bytes:
            return f"over the page's bound of {bounds.bytes:,} bytes"
        if now >= self.deadline:
            return f"over the page's bound of {bounds.seconds:g} s"
        return None

    def take(self, requisite: Requisite) -> None:
        """Ask for ``requisite``: share it with the store, or read it and keep it, or
        leave it out with the reason."""
        self.asked += 1
        try:
            handle, key = self.source.locate(requisite.url)
            if key in self.stored:
                more = _shared(self.stored[key], requisite, self.stored, self.seen)
                self.shared.extend(_from_page(entry, self.source) for entry in more)
                return
            if key in self.keys:
                self.leave_out(requisite, f"the same capture as {self.keys[key]}, stored once")
                return
            left = min(self.settings.max_bytes, self.bounds.bytes - self.bytes)
            obtained = self.source.read(handle, left)
        except _LeftOut as e:
            self.leave_out(requisite, str(e))
            return
        except (NetworkError, InputError) as e:
            if isinstance(e, Throttled):
                self.paused = f"not asked: the archive asked for a pause ({e})"
            self.leave_out(requisite, f"could not be read: {e}")
            return
        reason = self.unfit(obtained)
        if reason is not None:
            self.leave_out(requisite, reason)
            return
        self.keys[key] = requisite.url
        self.bytes += sum(len(part.fetched.raw_body) for part in _responses(obtained))
        self.fetched.append(_kept(requisite, obtained, self.source.distance(obtained.warc_date)))
        content_type = obtained.fetched.header("Content-Type") or ""
        if requisite.kind == "stylesheet" or is_css(content_type, obtained.target_uri):
            self.push(find_in_css(obtained.fetched.text(), obtained.target_uri, requisite.url))

    def unfit(self, obtained: Obtained) -> str | None:
        """Why a requisite that was read is not stored, or None to store it."""
        status = obtained.fetched.status
        if not 200 <= status < 300:
            return f"{self.source.status_words} HTTP {status}"
        if any(part.fetched.truncated for part in _responses(obtained)):
            cap, bound = self.settings.max_bytes, self.bounds.bytes
            left = bound - self.bytes
            if left < cap:
                return f"larger than the {left:,} bytes left of the page's bound of {bound:,}"
            return f"larger than the {cap:,} bytes any one body may be"
        return None


def _responses(obtained: Obtained) -> tuple[Obtained, ...]:
    return (*obtained.captured_redirects, obtained)


def _gather(
    page: Obtained,
    source: _FromArchive | _FromLive,
    settings: Settings,
    stored: Mapping[tuple[str, str], StoredRequisite],
    monotonic: Callable[[], float],
) -> Obtained:
    """``page`` carrying the requisites ``source`` gives, within the bounds: each, in tier
    order, left out (a bound reached, the archive paused), shared with the store, or read
    and kept (a stylesheet's own requisites then joining the queue)."""
    found = _named_by(page.fetched.header("Content-Type") or "", page)
    if not found:
        return page
    gathering = _Gathering(source, settings, stored, monotonic() + settings.requisite_seconds)
    gathering.seen.update((page.url, page.target_uri))
    gathering.push(found)
    while gathering.queue:
        requisite = heapq.heappop(gathering.queue)[2]
        over = gathering.over_bound(monotonic())
        if over is not None:
            gathering.leave_out(requisite, over)
        else:
            gathering.take(requisite)
    return replace(
        page,
        requisites=tuple(gathering.fetched),
        requisites_shared=tuple(gathering.shared),
        requisites_left_out=tuple(gathering.left_out),
    )


def _named_by(content_type: str, page: Obtained) -> list[Requisite]:
    """The requisites a 2xx HTML page (or stylesheet) names; none for anything else."""
    fetched = page.fetched
    if not 200 <= fetched.status < 300:
        return []
    if is_html(content_type, fetched.body):
        return find_in_html(fetched.body, page.target_uri)
    if is_css(content_type, page.target_uri):
        return find_in_css(fetched.text(), page.target_uri)
    return []


def _kept(requisite: Requisite, obtained: Obtained, distance: int | None) -> ObtainedRequisite:
    return ObtainedRequisite(requisite, obtained, distance, _far(distance))


def _from_page(entry: StoredRequisite, source: _FromArchive | _FromLive) -> StoredRequisite:
    """A shared requisite, its distance measured from this page."""
    distance = source.distance(entry.warc_date)
    return replace(entry, seconds_from_page=distance, note=_far(distance))


def _far(distance: int | None) -> str | None:
    """The note for a requisite captured more than a year from its page."""
    if distance is None or abs(distance) <= FAR_APART:
        return None
    return f"captured {_span(abs(distance))} {'after' if distance > 0 else 'before'} the page"


def _span(seconds: int) -> str:
    days = seconds / 86400
    return f"{days / 365.25:.1f} years" if days >= 730 else f"{days:.0f} days"


def _shared(
    entry: StoredRequisite,
    requisite: Requisite,
    stored: Mapping[tuple[str, str], StoredRequisite],
    seen: set[str],
) -> list[StoredRequisite]:
    """A stored requisite as this page's (named by ``requisite``), and for a stylesheet
    the stored requisites it names, which come with it."""
    shared = [_as_named(entry, requisite)]
    if entry.kind != "stylesheet":
        return shared
    for other in stored.values():
        if other.found_in in (entry.url, entry.target_uri) and other.url not in seen:
            seen.add(other.url)
            named = Requisite(other.url, other.kind, requisite.url)
            shared.extend(_shared(other, named, stored, seen))
    return shared


def _as_named(entry: StoredRequisite, requisite: Requisite) -> StoredRequisite:
    """A stored requisite as the one this page (or its stylesheet) names."""
    return replace(entry, url=requisite.url, kind=requisite.kind, found_in=requisite.found_in)


def requisite_entries(
    name: str, page: Obtained, records: list[WrittenRecord]
) -> list[StoredRequisite]:
    """The manifest entries of ``page``'s requisites, written to file ``name`` as
    ``records`` (their response records, in the order ``Obtained.parts`` gives)."""
    entries = []
    at = 0
    for requisite in page.requisites:
        count = len(requisite.obtained.captured_redirects) + 1
        entries.append(requisite.stored(name, records[at : at + count]))
        at += count
    return entries
