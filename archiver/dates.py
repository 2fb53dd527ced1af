"""Dates in the forms archives use.

Everything inside archiver is timezone-aware UTC. Archives speak 14-digit Wayback
timestamps (``20180115093000``), HTTP dates (``Mon, 15 Jan 2018 09:30:00 GMT``) and ISO 8601;
JSON output always uses ISO 8601 with a ``Z`` suffix.

Time enters a run in one place, a ``RunClock``: what "now" is (``now``, for dates that
are written down), how to wait (``sleep``) and how long something took (``monotonic``).
``run_pipeline`` takes one and hands its parts to every stage that asks the time, so a test
can run the whole job at a moment of its choosing, and wait without waiting
(``RunClock.simulated``). The parts are plain functions, not methods: the link checker asks
``now`` once a result, and an attribute read costs less than a bound method call.

``email.utils`` (for HTTP dates) is imported by the two functions that need it: it
pulls in much of the email package, which checking a Markdown article never uses.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_WAYBACK_TS = re.compile(r"^\d{4,14}$")

Clock = Callable[[], datetime]  # "now", timezone-aware UTC
Sleep = Callable[[float], None]  # wait this many seconds
Monotonic = Callable[[], float]  # seconds from an arbitrary start, never going back


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken to be UTC already (archiver's convention)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class RunClock:
    """How a run tells the time and waits: the wall clock for dates written down, a
    monotonic clock for intervals, and sleep. ``SYSTEM_CLOCK`` is the real one."""

    now: Clock = utcnow
    sleep: Sleep = time.sleep
    monotonic: Monotonic = time.monotonic

    @classmethod
    def simulated(cls, start: datetime) -> RunClock:
        """A clock that stands at ``start`` and moves only when slept on: a sleep returns
        at once, having moved ``now`` and ``monotonic`` on by its length (so a loop that
        waits for a deadline still ends)."""
        origin = as_utc(start)
        elapsed = [0.0]

        def now() -> datetime:
            return origin + timedelta(seconds=elapsed[0])

        def sleep(seconds: float) -> None:
            elapsed[0] += max(seconds, 0.0)

        def monotonic() -> float:
            return elapsed[0]

        return cls(now=now, sleep=sleep, monotonic=monotonic)


SYSTEM_CLOCK = RunClock()


def parse_wayback_timestamp(ts: str) -> datetime:
    """Parse a (possibly shortened) Wayback timestamp; missing parts take their minimum."""
    if not _WAYBACK_TS.match(ts):
        raise ValueError(f"not a Wayback timestamp: {ts!r}")
    padded = ts + "00000101000000"[len(ts) :]
    # A shortened month/day of "00" is not a date; Wayback treats it as the first.
    year, month, day = int(padded[0:4]), int(padded[4:6]) or 1, int(padded[6:8]) or 1
    return datetime(
        year, month, day, int(padded[8:10]), int(padded[10:12]), int(padded[12:14]), tzinfo=UTC
    )


def to_wayback_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def to_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 (a date, or a datetime with or without zone); naive means UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return as_utc(datetime.fromisoformat(value))


def parse_http_date(text: str) -> datetime:
    from email.utils import parsedate_to_datetime

    return as_utc(parsedate_to_datetime(text))


def to_http_date(moment: datetime) -> str:
    from email.utils import format_datetime

    return format_datetime(moment.astimezone(UTC), usegmt=True)


def date_to_datetime(day: date) -> datetime:
    """The end of that day: a source cited on a day was seen at some time during it."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
