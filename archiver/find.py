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
import math
import re
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urljoin, urlsplit

import requests
from waybackpy import WaybackMachineCDXServerAPI
from waybackpy.cdx_snapshot import CDXSnapshot
from waybackpy.cdx_utils import full_url
from waybackpy.exceptions import WaybackError

from archiver.collection import (
    LocalCollection,
    is_collection_path,
    looks_like_collection_path,
    open_collection,
)
from archiver.config import Settings
from archiver.dates import (
    parse_http_date,
    parse_wayback_timestamp,
    to_iso,
    to_wayback_timestamp,
    utcnow,
)
from archiver.errors import InputError, NetworkError
from archiver.http import Fetched, fetch
from archiver.models import Memento

if TYPE_CHECKING:
    # archiver.memento builds on this module, so it is imported where it is used.
    from archiver.memento import MementoArchive

log = logging.getLogger(__name__)

IA_SPEC = "ia"
IA_CDX_URL = "https://web.archive.org/cdx/search/cdx"
IA_REPLAY_BASE = "https://web.archive.org/web/"
IA_HOST = "web.archive.org"
IA_MIN_INTERVAL = 2.5  # seconds between CDX calls: ~0.4 requests/s, under the IA's limit

MAX_RETRY_AFTER = 60.0  # the longest Retry-After we wait out; a longer one is an error
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

_SPEC_OPTION = re.compile(r",(cdx|interval)=")


def parse_archive_spec(spec: str) -> Archive | MementoArchive | LocalCollection:
    """Parse an ``--archive`` value.

    - ``ia``: the Internet Archive's Wayback Machine.
    - ``wayback:BASE_URL[,cdx=CDX_URL][,interval=SECONDS]``: any Wayback-compatible
      server, ``BASE_URL`` being its replay base (``http://127.0.0.1:8080/web/``). The CDX
      endpoint defaults to ``BASE_URL + "cdx"``, pywb's; a ``cdx=`` URL ending in
      ``/cdx/search/cdx`` (the IA / OpenWayback CDX server) is queried with the IA's field
      names. A base on web.archive.org is the Internet Archive, limits included.
    - ``memento:URL``, ``memento:NAME`` or a Memento archive's name (``archive.today``,
      ...): an archive reached through TimeMaps and TimeGates (``archiver.memento``).
    - the path of an existing WARC, WARC.gz or WACZ file, or of a folder of them: a local
      collection (``archiver.collection``).
    """
    text = spec.strip()
    if text.lower() == IA_SPEC:
        return INTERNET_ARCHIVE
    if is_collection_path(text):
        return open_collection(text)
    from archiver.memento import NAMED_ARCHIVES, is_memento_spec, parse_memento_spec

    if is_memento_spec(text):
        return parse_memento_spec(text)
    usage = "use 'ia' or 'wayback:BASE_URL' (for example wayback:http://127.0.0.1:8080/web/)"
    if not text.startswith("wayback:"):
        if looks_like_collection_path(text):
            raise InputError(f"archive {spec!r}: no such WARC/WACZ file or folder")
        raise InputError(
            f"unknown archive {spec!r}: {usage}; or 'memento:TIMEMAP_URL' or one of "
            + ", ".join(NAMED_ARCHIVES)
        )

    rest = text[len("wayback:") :]
    first = _SPEC_OPTION.search(rest)
    base = rest[: first.start()] if first else rest
    options: dict[str, str] = {}
    if first:
        parts = _SPEC_OPTION.split(rest[first.start() :])
        # split gives ["", key1, value1, key2, value2, ...]
        for key, value in zip(parts[1::2], parts[2::2], strict=True):
            if key in options:
                raise InputError(f"archive {spec!r}: {key}= given twice")
            options[key] = value

    if not _is_http_url(base):
        raise InputError(f"archive {spec!r}: {base!r} is not an http(s) URL; {usage}")
    if not base.endswith("/"):
        base += "/"

    host = (urlsplit(base).hostname or "").lower()
    cdx_url = options.get("cdx")
    if cdx_url is not None and not _is_http_url(cdx_url):
        raise InputError(f"archive {spec!r}: cdx={cdx_url!r} is not an http(s) URL")
    if host == IA_HOST:
        dialect: CdxDialect = "ia"
        cdx_url = cdx_url or IA_CDX_URL
        interval = IA_MIN_INTERVAL
    else:
        cdx_url = cdx_url or base + "cdx"
        dialect = "ia" if urlsplit(cdx_url).path.rstrip("/").endswith("/cdx/search/cdx") else "pywb"
        interval = IA_MIN_INTERVAL if (urlsplit(cdx_url).hostname or "") == IA_HOST else 0.0

    if "interval" in options:
        interval = parse_interval_option(spec, options["interval"])
    return Archive(
        spec=text, replay_base=base, cdx_url=cdx_url, dialect=dialect, min_interval=interval
    )


def parse_interval_option(spec: str, value: str) -> float:
    """The seconds of an ``interval=`` option in an archive spec; InputError if not."""
    try:
        interval = float(value)
    except ValueError:
        interval = -1.0
    if not (interval >= 0 and math.isfinite(interval)):
        raise InputError(f"archive {spec!r}: interval={value!r} is not a number of seconds")
    return interval


def parse_archive_specs(
    specs: Iterable[str],
) -> list[Archive | MementoArchive | LocalCollection]:
    """``parse_archive_spec`` for each of ``specs`` (``Settings.archives``), in order."""
    return [parse_archive_spec(spec) for spec in specs]


def _is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class CdxRateLimiter:
    """Spaces out CDX calls to each endpoint; thread-safe; clock and sleep injectable.

    Each call reserves the next free slot for its endpoint under a lock and then sleeps
    outside it, so concurrent callers queue up instead of all firing when a wait ends.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, endpoint: str, min_interval: float) -> float:
        """Wait until ``endpoint`` may be called again; return the seconds waited."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_slot.get(endpoint, now))
            self._next_slot[endpoint] = start + min_interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay

    def pending(self, endpoint: str) -> float:
        """Seconds until ``endpoint`` may be called again (0 if it may be called now)."""
        with self._lock:
            return max(0.0, self._next_slot.get(endpoint, 0.0) - self._clock())

    def hold(self, endpoint: str, seconds: float) -> None:
        """Keep every caller off ``endpoint`` for ``seconds`` from now (after a 429)."""
        with self._lock:
            until = self._clock() + seconds
            self._next_slot[endpoint] = max(self._next_slot.get(endpoint, until), until)


DEFAULT_RATE_LIMITER = CdxRateLimiter()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parse_http_date(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (moment - (now or utcnow())).total_seconds())


def polite_get(
    session: requests.Session,
    url: str,
    settings: Settings,
    *,
    spec: str,
    server: str,
    limiter: CdxRateLimiter,
    endpoint: str,
    min_interval: float | None,
    headers: Mapping[str, str] | None = None,
    allow_redirects: bool = True,
    max_bytes: int | None = None,
) -> Fetched:
    """One GET to an archive, with every politeness rule archiver keeps towards archives.

    ``spec`` and ``server`` name the archive in errors ("ia: CDX server ..."). Calls to
    one ``endpoint`` wait their turn in ``limiter``, ``min_interval`` apart (None: this
    call does not take a turn, but still respects a pause the archive asked for).
    Connection failures and timeouts are retried ``settings.retries`` times. A 429 or
    503 is retried once, and only when ``Retry-After`` asks for at most
    ``MAX_RETRY_AFTER`` seconds; the endpoint is then held for what was asked, so later
    calls wait or fail at once instead of going through more 429s. A 429/503 that has a
    ``Memento-Datetime`` is a captured answer, not the archive being busy. Raises
    ``NetworkError``.
    """
    label = f"{spec}: {server}"
    transport_failures = 0
    throttled = False
    while True:
        # An archive that asked for a long pause gets it: fail fast rather than sleep
        # for minutes or ask again before it is ready.
        pending = limiter.pending(endpoint)
        if pending > MAX_RETRY_AFTER:
            raise NetworkError(
                f"{label} asked for a pause; not asking it again for another {pending:.0f}s"
            )
        if min_interval is not None:
            limiter.wait(endpoint, min_interval)
        try:
            answer = fetch(
                session,
                url,
                settings,
                allow_redirects=allow_redirects,
                headers=headers,
                max_bytes=max_bytes,
            )
        except (requests.ConnectionError, requests.Timeout) as e:
            transport_failures += 1
            if transport_failures > settings.retries:
                reason = _describe_failure(e, urlsplit(url).netloc, settings)
                raise NetworkError(f"{spec}: {reason}") from e
            continue
        except requests.RequestException as e:
            raise NetworkError(f"{label} request failed: {_first_line(e)}") from e
        if answer.status in (429, 503) and answer.header("Memento-Datetime") is None:
            delay = parse_retry_after(answer.header("Retry-After"))
            limiter.hold(endpoint, delay if delay is not None else MAX_RETRY_AFTER)
            what = "rate limited (HTTP 429)" if answer.status == 429 else "unavailable (HTTP 503)"
            if throttled or delay is None or delay > MAX_RETRY_AFTER:
                asked = "" if delay is None else f", asked to wait {delay:g}s"
                raise NetworkError(f"{label} {what}{asked}; try again later")
            throttled = True
            log.info("%s %s; retrying in %gs", label, what, delay)
            continue
        return answer


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


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def _describe_failure(error: requests.RequestException, where: str, settings: Settings) -> str:
    if isinstance(error, requests.Timeout):
        return f"no answer from {where} within {settings.timeout:g}s"
    reason = "connection refused" if "refused" in str(error).lower() else _first_line(error)
    if "Name or service not known" in str(error) or "NameResolution" in str(error):
        reason = "no such host"
    return f"cannot connect to {where} ({reason})"


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
        raise NetworkError(f"{archive.spec}: unexpected CDX answer: {_first_line(e)}") from e

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


def find_mementos(
    url: str,
    when: datetime | None,
    archives: Sequence[Archive | MementoArchive | LocalCollection],
    session: requests.Session,
    settings: Settings,
    limit: int = 25,
    *,
    limiter: CdxRateLimiter | None = None,
) -> list[Memento]:
    """Candidates near ``when`` (newest when None) from every archive, in archive order.

    An archive that fails is an error only when it matters: if another archive returned
    captures, they are returned and the failure is logged; if none did, "no copy" would
    be a wrong answer, so the first failure is raised as ``NetworkError``.
    """
    from archiver.memento import MementoArchive, find_in_memento_archive

    found: list[Memento] = []
    failures: list[NetworkError] = []
    for archive in archives:
        try:
            if isinstance(archive, LocalCollection):
                mementos = archive.find(url, when, limit)  # local files: no session needed
            elif isinstance(archive, MementoArchive):
                mementos = find_in_memento_archive(
                    url, when, archive, session, settings, limit, limiter=limiter
                )
            else:
                mementos = find_in_archive(
                    url, when, archive, session, settings, limit, limiter=limiter
                )
            found.extend(mementos)
        except NetworkError as e:
            failures.append(e)
            log.warning("%s", e)
    if failures and not found:
        raise failures[0]
    return found


# -- the closest capture through replay ----------------------------------------------------
#
# ``/web/<ts>id_/<url>`` answers with a redirect to the capture closest to <ts> (the IA
# with 302, pywb configured like it with 307), so one replay request finds the closest
# capture without spending the CDX budget. Replay requests get their own limiter: the
# Internet Archive allows several a second there, against ~0.4 a second for CDX.

REPLAY_SHARE = 0.2  # replay calls are spaced a fifth of the CDX interval: 0.5 s for the IA
DEFAULT_REPLAY_LIMITER = CdxRateLimiter()
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
    if match is None or not _is_http_url(match.group(2)):
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
