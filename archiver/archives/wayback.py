"""Find archived copies (mementos) of a URL near a date, in every configured archive.

Why the CDX API and not the Wayback "availability" API: the availability API returns at
most one snapshot, the closest by time whatever it holds (a captured 404, a redirect to
the home page), with no status or digest to judge it by, and it is known to answer "no
snapshot" intermittently for URLs that do have captures. One CDX query with
``sort=closest&closest=<timestamp>&limit=N`` instead returns the N captures nearest the date
on both sides, each with its recorded HTTP status, MIME type and payload digest, which is
what ``select`` needs to choose a real page from before the citation.

waybackpy builds the CDX query and parses its 7-field lines into snapshots. Two parts of
it are replaced: ``cdx_api_manager`` so that the request goes through archiver's session
(timeouts, User-Agent, host map, size cap) instead of waybackpy's own ``get_response``,
which has no timeout, retries by itself and would follow resume keys page after page; and
``add_payload`` so that pywb-style servers, whose CDX API defaults to CDXJ and names the
fields ``url``/``mime``/``status``, are asked for the same 7 fields as text.

Archives are protected from us: the Internet Archive's CDX API allows roughly 0.4
requests a second per client, and a client that keeps sending requests through 429s is
firewalled for an hour (doubling each time). So every CDX call waits its turn in a
per-endpoint ``CdxRateLimiter`` (2.5 s apart for web.archive.org, no wait for other
archives unless their spec says ``interval=``), a 429 or 503 is retried at most once and
only when ``Retry-After`` asks for a bounded wait, and otherwise it is an error.

Revisit records (``warc/revisit``; the CDX status is ``-``) say "same payload as an earlier
capture" without saying what status that capture had; their ``http_status`` is None and
``select`` uses them only when no capture with a known 2xx status exists.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urljoin, urlsplit

import requests
from waybackpy import WaybackMachineCDXServerAPI
from waybackpy.cdx_snapshot import CDXSnapshot
from waybackpy.cdx_utils import full_url
from waybackpy.exceptions import WaybackError

from archiver.config import Settings
from archiver.dates import (
    parse_wayback_timestamp,
    to_iso,
    to_wayback_timestamp,
    utcnow,
)
from archiver.errors import NetworkError
from archiver.models import Memento
from archiver.net.http import Fetched
from archiver.net.polite import (
    DEFAULT_RATE_LIMITER,
    DEFAULT_REPLAY_LIMITER,
    CdxRateLimiter,
    first_line,
    polite_get,
)
from archiver.net.urls import is_http_url

if TYPE_CHECKING:
    # archiver.archives.memento builds on this module, so it is imported where it is used.
    pass

log = logging.getLogger(__name__)

IA_SPEC = "ia"
IA_CDX_URL = "https://web.archive.org/cdx/search/cdx"
IA_REPLAY_BASE = "https://web.archive.org/web/"
IA_HOST = "web.archive.org"
IA_MIN_INTERVAL = 2.5  # seconds between CDX calls: ~0.4 requests/s, under the IA's limit

CDX_BODY_LIMIT = 4 * 1024 * 1024  # a CDX answer for N<=1000 rows is far smaller

# pywb's names for the IA's default fields (urlkey timestamp original mimetype statuscode
# digest length); asking for them by name gives IA-shaped lines waybackpy can parse.
PYWB_FIELDS = ("urlkey", "timestamp", "url", "mime", "status", "digest", "length")

CdxDialect = Literal["ia", "pywb"]


@dataclass(frozen=True)
class Archive:
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

    def replay_url(self, timestamp: str, original: str) -> str:
        return f"{self.replay_base}{timestamp}/{original}"

    def raw_url(self, timestamp: str, original: str) -> str:
        return f"{self.replay_base}{timestamp}id_/{original}"


INTERNET_ARCHIVE = Archive(
    spec=IA_SPEC,
    replay_base=IA_REPLAY_BASE,
    cdx_url=IA_CDX_URL,
    dialect="ia",
    min_interval=IA_MIN_INTERVAL,
)


class ArchiveCdxQuery(WaybackMachineCDXServerAPI):
    """waybackpy's CDX client, pointed at ``archive`` and sending through our session."""

    def __init__(
        self,
        url: str,
        archive: Archive,
        closest: str,
        limit: int,
        session: requests.Session,
        settings: Settings,
        limiter: CdxRateLimiter,
    ) -> None:
        super().__init__(
            url,
            user_agent=settings.user_agent,
            sort="closest",
            closest=closest,
            limit=str(limit),
        )
        self.endpoint = archive.cdx_url
        self.archive = archive
        self.session = session
        self.settings = settings
        self.limiter = limiter

    def add_payload(self, payload: dict[str, str]) -> None:
        super().add_payload(payload)
        if self.archive.dialect == "pywb":
            payload["output"] = "text"
            payload["fl"] = ",".join(PYWB_FIELDS)

    def cdx_api_manager(
        self, payload: dict[str, str], headers: dict[str, str]
    ) -> Generator[str, None, None]:
        # One request, no resume keys: sort=closest&limit=N already returns what we need.
        payload["limit"] = str(self.limit)
        request_url = full_url(self.endpoint, params=payload)
        self.last_api_request_url = request_url
        yield self._get(request_url)

    def _get(self, request_url: str) -> str:
        archive = self.archive
        answer = polite_get(
            self.session,
            request_url,
            self.settings,
            spec=archive.spec,
            server="CDX server",
            limiter=self.limiter,
            endpoint=archive.cdx_url,
            min_interval=archive.min_interval,
            headers={"Accept": "text/plain"},
            max_bytes=CDX_BODY_LIMIT,
        )
        return _cdx_text(answer, archive)


def _cdx_text(answer: Fetched, archive: Archive) -> str:
    if answer.status != 200:
        raise NetworkError(f"{archive.spec}: CDX server answered HTTP {answer.status}")
    if answer.truncated:
        raise NetworkError(f"{archive.spec}: CDX answer larger than {CDX_BODY_LIMIT} bytes")
    content_type = (answer.header("Content-Type") or "").lower()
    if "html" in content_type or "json" in content_type:
        raise NetworkError(
            f"{archive.spec}: CDX server answered with {content_type.split(';')[0]}, not CDX text"
        )
    return answer.text()


def find_in_archive(
    url: str,
    when: datetime | None,
    archive: Archive,
    session: requests.Session,
    settings: Settings,
    limit: int = 25,
    *,
    limiter: CdxRateLimiter | None = None,
) -> list[Memento]:
    """The (up to ``limit``) captures of ``url`` in ``archive`` closest to ``when``.

    ``when`` None means now, which gives the newest captures. Sorted oldest first.
    Raises ``NetworkError`` when the archive cannot be queried; no captures is ``[]``.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if when is None:
        when = utcnow()
    elif when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # archiver's convention: naive means UTC
    closest = to_wayback_timestamp(when)
    query = ArchiveCdxQuery(
        url, archive, closest, limit, session, settings, limiter or DEFAULT_RATE_LIMITER
    )
    snapshots: list[CDXSnapshot] = []
    try:
        snapshots.extend(query.snapshots())
    except (WaybackError, ValueError) as e:
        # waybackpy raises WaybackError for lines that are not 7 fields and ValueError
        # (from strptime) for a bad timestamp: the server did not speak CDX.
        raise NetworkError(f"{archive.spec}: unexpected CDX answer: {first_line(e)}") from e

    seen: set[tuple[str, str]] = set()
    mementos: list[Memento] = []
    for snapshot in sorted(snapshots, key=lambda s: s.timestamp):
        key = (snapshot.timestamp, snapshot.original)
        if key in seen:  # the IA lists some captures twice
            continue
        seen.add(key)
        mementos.append(_memento(snapshot, archive))
    return mementos


def _memento(snapshot: CDXSnapshot, archive: Archive) -> Memento:
    status = snapshot.statuscode
    return Memento(
        original=snapshot.original,
        datetime=to_iso(parse_wayback_timestamp(snapshot.timestamp)),
        archive=archive.spec,
        url=archive.replay_url(snapshot.timestamp, snapshot.original),
        raw_url=archive.raw_url(snapshot.timestamp, snapshot.original),
        http_status=int(status) if status.isdigit() else None,
        mimetype=snapshot.mimetype if snapshot.mimetype != "-" else None,
        digest=snapshot.digest if snapshot.digest != "-" else None,
    )


# -- the closest capture through replay ----------------------------------------------------
#
# ``/web/<ts>id_/<url>`` answers with a redirect to the capture closest to <ts> (the IA
# with 302, pywb configured like it with 307), so one replay request finds the closest
# capture without spending the CDX budget. Replay requests get their own limiter: the
# Internet Archive allows several a second there, against ~0.4 a second for CDX.

REPLAY_SHARE = 0.2  # replay calls are spaced a fifth of the CDX interval: 0.5 s for the IA
_REPLAY_PATH = re.compile(r"^(\d{4,14})(?:[a-z]{2}_)?/(.+)$")


def replay_interval(archive: Archive) -> float:
    """Least seconds between two replay calls to ``archive``."""
    return archive.min_interval * REPLAY_SHARE


def replay_get(
    url: str,
    archive: Archive,
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


def parse_replay_url(archive: Archive, url: str) -> tuple[str, str] | None:
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
    archive: Archive,
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
    archive: Archive,
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
    moment = utcnow() if when is None else when
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # archiver's convention: naive means UTC
    timestamp = to_wayback_timestamp(moment)
    original = url
    for _ in range(settings.max_redirects + 1):
        asked = archive.raw_url(timestamp, original)
        answer = replay_get(asked, archive, session, settings, limiter=limiter, max_bytes=64 * 1024)
        if answer.header("Memento-Datetime") is not None:
            content_type = (answer.header("Content-Type") or "").split(";")[0].strip() or None
            return replay_memento(archive, timestamp, original, answer.status, content_type)
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
