"""The captures of a URL near a date, from a Wayback server's CDX API.

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
only when ``Retry-After`` asks for a bounded wait, and otherwise it is an error
(``archiver.net.polite``).

Revisit records (``warc/revisit``; the CDX status is ``-``) say "same payload as an earlier
capture" without saying what status that capture had; their ``http_status`` is None and
``select`` uses them only when no capture with a known 2xx status exists.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from typing import TYPE_CHECKING

import requests
from waybackpy import WaybackMachineCDXServerAPI
from waybackpy.cdx_snapshot import CDXSnapshot
from waybackpy.cdx_utils import full_url
from waybackpy.exceptions import WaybackError

from archiver.config import Settings
from archiver.dates import as_utc, parse_wayback_timestamp, to_iso, to_wayback_timestamp, utcnow
from archiver.errors import NetworkError
from archiver.models import Memento
from archiver.net.http import Fetched
from archiver.net.polite import DEFAULT_RATE_LIMITER, CdxRateLimiter, first_line, polite_get

if TYPE_CHECKING:
    # archiver.archives.wayback builds on this module: its archive is only a type here.
    from archiver.archives.wayback import WaybackArchive

CDX_BODY_LIMIT = 4 * 1024 * 1024  # a CDX answer for N<=1000 rows is far smaller

# pywb's names for the IA's default fields (urlkey timestamp original mimetype statuscode
# digest length); asking for them by name gives IA-shaped lines waybackpy can parse.
PYWB_FIELDS = ("urlkey", "timestamp", "url", "mime", "status", "digest", "length")


class ArchiveCdxQuery(WaybackMachineCDXServerAPI):
    """waybackpy's CDX client, pointed at ``archive`` and sending through our session."""

    def __init__(
        self,
        url: str,
        archive: WaybackArchive,
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


def _cdx_text(answer: Fetched, archive: WaybackArchive) -> str:
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
    archive: WaybackArchive,
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
    closest = to_wayback_timestamp(utcnow() if when is None else as_utc(when))
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


def _memento(snapshot: CDXSnapshot, archive: WaybackArchive) -> Memento:
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
