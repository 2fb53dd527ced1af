"""Politeness towards archives: spacing calls per endpoint, honouring ``Retry-After``.

Archives are protected from us: the Internet Archive's CDX API allows roughly 0.4
requests a second per client and firewalls a client that keeps going through 429s. Every
request to an archive goes through ``polite_get``, which waits its turn in a
``CdxRateLimiter``, retries a failed connection ``settings.retries`` times, and retries a
429/503 once, only when ``Retry-After`` asks for a bounded wait.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import requests

from archiver.config import Settings
from archiver.dates import (
    parse_http_date,
    utcnow,
)
from archiver.errors import InputError, NetworkError
from archiver.net.http import Fetched, fetch

log = logging.getLogger(__name__)


MAX_RETRY_AFTER = 60.0  # the longest Retry-After we wait out; a longer one is an error


def parse_interval_option(spec: str, value: str) -> float:
    """The seconds of an ``interval=`` option in an archive spec; InputError if not."""
    try:
        interval = float(value)
    except ValueError:
        interval = -1.0
    if not (interval >= 0 and math.isfinite(interval)):
        raise InputError(f"archive {spec!r}: interval={value!r} is not a number of seconds")
    return interval


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
# Replay requests get their own limiter: the Internet Archive allows several a second
# there, against ~0.4 a second for CDX.
DEFAULT_REPLAY_LIMITER = CdxRateLimiter()


@dataclass(frozen=True)
class Net:
    """What a request to an archive needs: the session (identity, host map, pools), the
    settings (timeouts, retries, size caps) and the pace kept per endpoint, for CDX-like
    lookups and for replay. One is made per run and handed to every archive."""

    session: requests.Session
    settings: Settings
    cdx_limiter: CdxRateLimiter = DEFAULT_RATE_LIMITER
    replay_limiter: CdxRateLimiter = DEFAULT_REPLAY_LIMITER


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
                reason = describe_failure(e, urlsplit(url).netloc, settings)
                raise NetworkError(f"{spec}: {reason}") from e
            continue
        except requests.RequestException as e:
            raise NetworkError(f"{label} request failed: {first_line(e)}") from e
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


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def describe_failure(error: requests.RequestException, where: str, settings: Settings) -> str:
    if isinstance(error, requests.Timeout):
        return f"no answer from {where} within {settings.timeout:g}s"
    reason = "connection refused" if "refused" in str(error).lower() else first_line(error)
    if "Name or service not known" in str(error) or "NameResolution" in str(error):
        reason = "no such host"
    return f"cannot connect to {where} ({reason})"
