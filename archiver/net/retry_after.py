"""``Retry-After``: the pause a server asks for, and whether we wait it out.

Every client of archiver reads the header here: the archive requests
(``archiver.net.polite``), Save Page Now (``archiver.save.spn``) and the link checker
(``archiver.check.checker``). The rule they share: a pause is waited out only when it is
bounded, no longer than the caller's limit; a longer one means "not now", and asking
again before it ends is what gets a client firewalled.

It imports neither requests nor anything heavy: the checker's worker processes load it.
"""

from __future__ import annotations

from datetime import datetime

from archiver.dates import parse_http_date, utcnow


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parse_http_date(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (moment - (now or utcnow())).total_seconds())


def pause_within(asked: float | None, longest: float, default: float | None = None) -> float | None:
    """The pause to wait before asking again: what was ``asked`` (``default`` when nothing
    was), if it is at most ``longest`` seconds; None when we must not wait for it."""
    pause = default if asked is None else asked
    return pause if pause is not None and pause <= longest else None
