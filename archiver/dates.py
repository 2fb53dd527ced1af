"""Dates in the forms archives use.

Everything inside archiver is timezone-aware UTC. Archives speak 14-digit Wayback
timestamps (``20180115093000``), HTTP dates (``Mon, 15 Jan 2018 09:30:00 GMT``) and ISO 8601;
JSON output always uses ISO 8601 with a ``Z`` suffix.

``email.utils`` (for HTTP dates) is imported by the two functions that need it: it
pulls in much of the email package, which checking a Markdown article never uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

_WAYBACK_TS = re.compile(r"^\d{4,14}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; archiver's convention is that a naive datetime already is."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


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
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_http_date(text: str) -> datetime:
    from email.utils import parsedate_to_datetime

    parsed = parsedate_to_datetime(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_http_date(moment: datetime) -> str:
    from email.utils import format_datetime

    return format_datetime(moment.astimezone(UTC), usegmt=True)


def date_to_datetime(day: date) -> datetime:
    """The end of that day: a source cited on a day was seen at some time during it."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)


Clock = Callable[[], datetime]
