"""Politeness towards archives: spacing calls per endpoint, honouring ``Retry-After``.

Archives are protected from us: the Internet Archive's CDX API allows roughly 0.4
requests a second per client and firewalls a client that keeps going through 429s. Every
request to an archive goes through ``polite_get``, which waits its turn in a
``CdxRateLimiter``, retries a transient transport failure (``NetworkError.transient``)
``settings.retries`` times, and retries a 429/503 once, only when ``Retry-After`` asks for
a bounded wait (``archiver.net.retry_after``, the rule Save Page Now and the checker keep
too).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests

from archiver.config import Settings
from archiver.errors import InputError, NetworkError, Throttled
from archiver.net.http import Fetched, fetch
from archiver.net.retry_after import parse_retry_after, pause_within

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
    """Spaces out calls to each endpoint (CDX lookups, replay, Save Page Now), and keeps
    callers off an endpoint that asked for a pause; thread-safe; clock and sleep injectable.

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
    Transient transport failures (timeouts, refused or dropped connections) are retried
    ``settings.retries`` times. A 429 or 503 is retried once, and only when
    ``Retry-After`` asks for at most ``MAX_RETRY_AFTER`` seconds; the endpoint is then
    held for what was asked, so later calls wait or fail at once instead of going through
    more 429s. A 429/503 that has a ``Memento-Datetime`` is a captured answer, not the
    archive being busy. Raises the ``NetworkError`` subclasses, prefixed with ``spec``,
    and ``Throttled``.
    """
    label = f"{spec}: {server}"
    transport_failures = 0
    throttled = False
    while True:
        _take_turn(limiter, endpoint, min_interval, label, after_pause=throttled)
        try:
            answer = fetch(
                session,
                url,
                settings,
                allow_redirects=allow_redirects,
                headers=headers,
                max_bytes=max_bytes,
            )
        except NetworkError as e:
            transport_failures += 1
            if e.transient and transport_failures <= settings.retries:
                continue
            raise e.with_context(spec) from e
        if answer.status not in (429, 503) or answer.header("Memento-Datetime") is not None:
            return answer
        _hold_for_retry_after(answer, limiter, endpoint, label, again=throttled)
        throttled = True


def _take_turn(
    limiter: CdxRateLimiter,
    endpoint: str,
    min_interval: float | None,
    label: str,
    *,
    after_pause: bool,
) -> None:
    """Wait for ``endpoint``'s next slot (a call that takes no turn waits only for a pause
    the archive asked for, when it asks again after one)."""
    # An archive that asked for a long pause gets it: fail fast rather than sleep for
    # minutes or ask again before it is ready.
    pending = limiter.pending(endpoint)
    if pending > MAX_RETRY_AFTER:
        raise Throttled(
            f"{label} asked for a pause; not asking it again for another {pending:.0f}s"
        )
    if min_interval is not None or after_pause:
        limiter.wait(endpoint, min_interval or 0.0)


def _hold_for_retry_after(
    answer: Fetched, limiter: CdxRateLimiter, endpoint: str, label: str, *, again: bool
) -> None:
    """Hold ``endpoint`` for the pause a 429/503 asked for; returns when the request is to
    be sent again after it, else raises ``Throttled``."""
    asked = parse_retry_after(answer.header("Retry-After"))
    limiter.hold(endpoint, asked if asked is not None else MAX_RETRY_AFTER)
    what = "rate limited (HTTP 429)" if answer.status == 429 else "unavailable (HTTP 503)"
    pause = None if again else pause_within(asked, MAX_RETRY_AFTER)
    if pause is None:
        waited = "" if asked is None else f", asked to wait {asked:g}s"
        raise Throttled(f"{label} {what}{waited}; try again later")
    log.info("%s %s; retrying in %gs", label, what, pause)


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), for errors of
    libraries whose messages run over several lines."""
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
