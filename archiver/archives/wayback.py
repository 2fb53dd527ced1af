"""Wayback servers (the Internet Archive, pywb, OpenWayback) as archives: replay URLs, the
closest capture through replay, and reading a capture.

A Wayback server has two doors. Its CDX API lists captures with their status and digest
(``archiver.archives.cdx``), but the Internet Archive allows only about 0.4 CDX requests a
second. Its replay endpoint, ``<base><timestamp>id_/<url>``, serves a capture's original
bytes and allows far more; asked for an inexact timestamp it redirects to the capture
closest to it (the IA with 302, pywb configured like it with 307), which makes it a cheap
closest-capture lookup (``find_closest_by_replay``). Replay requests have their own
limiter and pace (``replay_interval``).

**Reading a capture** (``WaybackArchive.read``) follows the archive's own redirects: a
redirect without ``Memento-Datetime`` to the same page under another timestamp (or
another scheme, ``www.`` or trailing slash) is the archive pointing at the capture it
means. Anything else is answered as it is: a captured redirect (the Internet Archive
rewrites its ``Location`` into a replay URL; pywb leaves it as captured), or a redirect the
archive chose to follow itself to another page, are both returned as the captured
redirect they are, with their target. The ``Link`` header of a memento may name the
capture before it and say whether it is the first (the IA's ``prev memento`` and
``first memento``; pywb sends neither).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Literal
from urllib.parse import urljoin, urlsplit

import requests

from archiver.archives.base import ArchivedResponse, CapturedRedirect, stated_original
from archiver.archives.cdx import find_in_archive
from archiver.archives.linkformat import http_date_or_none
from archiver.config import Settings
from archiver.dates import as_utc, parse_wayback_timestamp, to_iso, to_wayback_timestamp, utcnow
from archiver.errors import NetworkError
from archiver.models import Memento
from archiver.net.http import Fetched
from archiver.net.polite import DEFAULT_REPLAY_LIMITER, CdxRateLimiter, polite_get
from archiver.net.urls import is_http_url

if TYPE_CHECKING:
    from archiver.net.polite import Net

IA_SPEC = "ia"
IA_CDX_URL = "https://web.archive.org/cdx/search/cdx"
IA_REPLAY_BASE = "https://web.archive.org/web/"
IA_HOST = "web.archive.org"
IA_MIN_INTERVAL = 2.5  # seconds between CDX calls: ~0.4 requests/s, under the IA's limit

CdxDialect = Literal["ia", "pywb"]


@dataclass(frozen=True)
class WaybackArchive:
    """One Wayback-compatible archive: where to query it and how to build replay URLs.

    ``spec`` is the name as given to ``--archive``; ``dialect`` says which CDX field
    names the server understands; ``min_interval`` is the least time between two CDX
    calls to ``cdx_url``.
    """

    spec: str
    replay_base: str  # ends with "/": <replay_base><timestamp>/<url>
    cdx_url: str
    dialect: CdxDialect = "pywb"
    min_interval: float = 0.0

    listing_kind: ClassVar[str] = "cdx"
    closest_first: ClassVar[bool] = True  # a replay request spares the CDX budget
    verdicts_last: ClassVar[bool] = True

    def replay_url(self, timestamp: str, original: str) -> str:
        return f"{self.replay_base}{timestamp}/{original}"

    def raw_url(self, timestamp: str, original: str) -> str:
        return f"{self.replay_base}{timestamp}id_/{original}"

    def find(self, url: str, when: datetime | None, limit: int, net: Net) -> list[Memento]:
        """The captures nearest ``when``: one CDX query (``find_in_archive``)."""
        return find_in_archive(
            url, when, self, net.session, net.settings, limit, limiter=net.cdx_limiter
        )

    def closest(self, url: str, when: datetime | None, net: Net) -> Memento | None:
        """The capture nearest ``when``: one replay request (``find_closest_by_replay``)."""
        return find_closest_by_replay(
            url, when, self, net.session, net.settings, limiter=net.replay_limiter
        )

    def read(self, memento: Memento, net: Net, *, max_bytes: int | None = None) -> ArchivedResponse:
        """``memento``'s raw replay (see the module docstring for which redirects are the
        archive's own). Raises ``NetworkError``."""
        url = memento.raw_url
        history: list[tuple[str, int]] = []
        for _ in range(net.settings.max_redirects + 1):
            answer = replay_get(
                url,
                self,
                net.session,
                net.settings,
                limiter=net.replay_limiter,
                max_bytes=max_bytes,
            )
            following = _own_redirect(self, url, answer)
            if following is None:
                return _response(self, memento, url, answer, tuple(history))
            history.append((url, answer.status))
            url = following
        raise NetworkError(f"{self.spec}: too many redirects replaying {url}")


INTERNET_ARCHIVE = WaybackArchive(
    spec=IA_SPEC,
    replay_base=IA_REPLAY_BASE,
    cdx_url=IA_CDX_URL,
    dialect="ia",
    min_interval=IA_MIN_INTERVAL,
)


# -- the closest capture through replay ----------------------------------------------------
#
# ``/web/<ts>id_/<url>`` answers with a redirect to the capture closest to <ts> (the IA
# with 302, pywb configured like it with 307), so one replay request finds the closest
# capture without spending the CDX budget. Replay requests get their own limiter: the
# Internet Archive allows several a second there, against ~0.4 a second for CDX.

REPLAY_SHARE = 0.2  # replay calls are spaced a fifth of the CDX interval: 0.5 s for the IA
_REPLAY_PATH = re.compile(r"^(\d{4,14})(?:[a-z]{2}_)?/(.+)$")


def replay_interval(archive: WaybackArchive) -> float:
    """Least seconds between two replay calls to ``archive``."""
    return archive.min_interval * REPLAY_SHARE


def replay_get(
    url: str,
    archive: WaybackArchive,
    session: requests.Session,
    settings: Settings,
    *,
    limiter: CdxRateLimiter | None = None,
    max_bytes: int | None = None,
) -> Fetched:
    """One GET to ``archive``'s replay endpoint, redirects not followed, politely.

    Calls wait their turn in ``limiter`` (per replay base, ``replay_interval`` apart). A
    429 or 503 is retried once, and only when ``Retry-After`` asks for at most
    ``MAX_RETRY_AFTER`` seconds; the endpoint is then held for what was asked, so later
    calls wait or fail at once instead of going through more 429s. Raises ``NetworkError``.
    """
    return polite_get(
        session,
        url,
        settings,
        spec=archive.spec,
        server="replay server",
        limiter=limiter or DEFAULT_REPLAY_LIMITER,
        endpoint=archive.replay_base,
        min_interval=replay_interval(archive),
        allow_redirects=False,
        max_bytes=max_bytes,
    )


def parse_replay_url(archive: WaybackArchive, url: str) -> tuple[str, str] | None:
    """``(timestamp, original)`` of a replay URL of ``archive``, or None for any other URL.

    Scheme and host are not compared: archives answer with ``http`` and ``https`` forms
    of their own URLs alike.
    """
    base_path = urlsplit(archive.replay_base).path
    parts = urlsplit(url)
    if not parts.path.startswith(base_path):
        return None
    rest = url[url.index(parts.path) + len(base_path) :]
    match = _REPLAY_PATH.match(rest)
    if match is None or not is_http_url(match.group(2)):
        return None
    return match.group(1), match.group(2)


def replay_memento(
    archive: WaybackArchive,
    timestamp: str,
    original: str,
    http_status: int | None = None,
    mimetype: str | None = None,
) -> Memento:
    """The ``Memento`` at ``timestamp`` in ``archive``, as known from replay alone."""
    return Memento(
        original=original,
        datetime=to_iso(parse_wayback_timestamp(timestamp)),
        archive=archive.spec,
        url=archive.replay_url(timestamp, original),
        raw_url=archive.raw_url(timestamp, original),
        http_status=http_status,
        mimetype=mimetype,
    )


def find_closest_by_replay(
    url: str,
    when: datetime | None,
    archive: WaybackArchive,
    session: requests.Session,
    settings: Settings,
    *,
    limiter: CdxRateLimiter | None = None,
) -> Memento | None:
    """The capture of ``url`` in ``archive`` closest to ``when`` (None: now), or None.

    One replay request: the archive redirects ``<when>id_/<url>`` to its closest capture
    (a redirect without ``Memento-Datetime``), answers with the capture itself when the
    timestamp is exact, or 404 when it holds no capture. The status the capture recorded
    is not known until it is fetched, so ``http_status`` is None unless it was.
    """
    timestamp = to_wayback_timestamp(utcnow() if when is None else as_utc(when))
    original = url
    for _ in range(settings.max_redirects + 1):
        asked = archive.raw_url(timestamp, original)
        answer = replay_get(asked, archive, session, settings, limiter=limiter, max_bytes=64 * 1024)
        if answer.header("Memento-Datetime") is not None:
            # The capture itself, which need not be at the asked timestamp: a stock pywb or
            # OpenWayback serves the closest capture at the asked URL and says which it is.
            stated = stated_position(archive, asked, answer)
            return replay_memento(archive, *stated, answer.status, _media_type(answer))
        location = answer.header("Location")
        if not (300 <= answer.status < 400 and location):
            break
        found = parse_replay_url(archive, urljoin(asked, location))
        if found is None:
            raise NetworkError(
                f"{archive.spec}: replay redirected outside the archive ({location[:200]})"
            )
        if found[0] != timestamp:
            return replay_memento(archive, *found)
        # Same timestamp, another URL: pywb followed a captured redirect (say, to add a
        # trailing slash) without naming a capture yet. Ask again there.
        original = found[1]
    else:
        raise NetworkError(f"{archive.spec}: too many redirects looking up {url}")
    if answer.status == 404:
        return None
    raise NetworkError(f"{archive.spec}: replay answered HTTP {answer.status} for {asked}")


def stated_position(archive: WaybackArchive, url: str, answer: Fetched) -> tuple[str, str]:
    """``(timestamp, original)`` of the capture ``answer`` to ``url`` is, as the archive
    stated it, falling back to ``url``'s own only for what it did not state.

    The exact memento URI comes from ``Content-Location`` (a stock pywb names the capture
    it served there), the instant from ``Memento-Datetime`` (to the second, whatever
    the URI's timestamp says), and the original from ``Link: <...>; rel="original"``
    (pywb serves a capture that redirected to its own URL plus a slash as the target).
    """
    timestamp, original = parse_replay_url(archive, url) or ("", url)
    location = answer.header("Content-Location")
    exact = parse_replay_url(archive, urljoin(url, location)) if location else None
    if exact is not None:
        timestamp, original = exact
    moment = http_date_or_none(answer.header("Memento-Datetime"))
    if moment is not None:
        timestamp = to_wayback_timestamp(moment)
    return timestamp, stated_original(answer) or original


# -- reading a capture ------------------------------------------------------------------


def _canonical(url: str) -> str:
    """A URL as archives match it: no scheme, no "www.", no trailing slash."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{parts.path.rstrip('/')}{query}"


def _own_redirect(archive: WaybackArchive, url: str, answer: Fetched) -> str | None:
    """The raw URL the archive's own redirect points to, or None when ``answer`` is not one.

    A redirect without ``Memento-Datetime`` that keeps the page is the archive pointing at
    its closest capture; one that changes the page is a captured redirect the archive
    chose to follow itself, and is answered as such.
    """
    location = answer.header("Location")
    if not (300 <= answer.status < 400 and location) or answer.header("Memento-Datetime"):
        return None
    here, there = parse_replay_url(archive, url), parse_replay_url(archive, urljoin(url, location))
    if here is None or there is None or _canonical(here[1]) != _canonical(there[1]):
        return None
    return archive.raw_url(*there)


def _response(
    archive: WaybackArchive,
    memento: Memento,
    url: str,
    answer: Fetched,
    history: tuple[tuple[str, int], ...],
) -> ArchivedResponse:
    if parse_replay_url(archive, url) is None:  # another archive's, or built by hand
        raise NetworkError(f"{archive.spec}: {url} is not one of its replay URLs")
    timestamp, original = stated_position(archive, url, answer)
    served = replay_memento(archive, timestamp, original, answer.status, _media_type(answer))
    if served.raw_url == memento.raw_url:  # the capture asked for: keep what its listing said
        listed = memento.mimetype not in (None, "warc/revisit")
        served = dataclass_replace(
            memento,
            http_status=answer.status,
            mimetype=memento.mimetype if listed else served.mimetype,
        )
    redirect = None
    if 300 <= answer.status < 400:
        redirect = _captured_redirect(archive, url, timestamp, original, answer)
    previous, first = _navigation(archive, answer, timestamp)
    return ArchivedResponse.from_http(
        answer,
        memento,
        served,
        history=history,
        redirect=redirect,
        previous=previous,
        first=first,
    )


def _media_type(answer: Fetched) -> str | None:
    return (answer.header("Content-Type") or "").split(";")[0].strip().lower() or None


def _captured_redirect(
    archive: WaybackArchive, url: str, timestamp: str, original: str, answer: Fetched
) -> CapturedRedirect | None:
    """Where a captured redirect points, and the capture to read there."""
    location = answer.header("Location")
    if not location:
        return None
    in_archive = parse_replay_url(archive, urljoin(url, location))
    if in_archive is not None:  # the Internet Archive rewrites Location into its own URLs
        target_timestamp: str | None = in_archive[0]
        target = in_archive[1]
    else:
        target_timestamp, target = None, urljoin(original, location)
        if urlsplit(target).scheme not in ("http", "https"):
            return None
    capture = replay_memento(archive, target_timestamp or timestamp, target)
    return CapturedRedirect(target, target_timestamp, capture)


def _navigation(
    archive: WaybackArchive, answer: Fetched, timestamp: str
) -> tuple[Memento | None, bool]:
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
