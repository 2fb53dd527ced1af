"""Ranking captures by date and recorded status alone, without reading them.

The author saw the page on or before the citation date, so the best copy is the latest
capture at or before it; failing that, the earliest after it is the nearest thing to
what they saw. Only captures that recorded a real page count (a 2xx status): a captured
404, 5xx or redirect is not the source, and is rejected with its reason so a user can see
why an apparently closer capture was passed over.

``select_memento`` judges by the archive's metadata alone (no request). Revisit records
(``http_status`` None: the archive stored "same payload as before" without the status)
are used only when no capture has a known 2xx status, and the reason says so. Between
captures at the same moment the archive listed first wins, because ``find`` returns
mementos in archive order and every choice here keeps the first of equals.
``rank_mementos`` gives the order in which ``archiver.select.choose`` reads captures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from archiver.dates import as_utc, parse_iso
from archiver.models import Memento, Rejection, Selection


def rejection_reason(status: int) -> str:
    """Why a capture that recorded ``status`` (not 2xx) is not the source."""
    if 300 <= status < 400:
        return f"captured redirect {status}"
    return f"captured status {status}"


def day_of(moment: datetime) -> str:
    """The day of ``moment``, as reasons state it (``2018-11-28``)."""
    return moment.strftime("%Y-%m-%d")


def utc_or_none(when: datetime | None) -> datetime | None:
    """``when`` in UTC (naive means UTC), or None."""
    return None if when is None else as_utc(when)


def date_reason(moment: datetime, when: datetime | None) -> str:
    """Why a capture at ``moment`` is the one for ``when``, given it is the best by date."""
    if when is None:
        return f"newest capture ({day_of(moment)})"
    if moment <= when:
        if day_of(moment) == day_of(when):
            return f"capture from the date itself ({day_of(moment)})"
        return f"latest capture before {day_of(when)} ({day_of(moment)})"
    return f"no capture before {day_of(when)}; earliest after it ({day_of(moment)})"


def _choose(
    candidates: Sequence[tuple[datetime, Memento]], when: datetime | None
) -> tuple[Memento, str]:
    """Pick from non-empty ``candidates`` by date alone; return it with the reason."""
    if when is None:
        moment, memento = max(candidates, key=lambda c: c[0])
    else:
        before = [c for c in candidates if c[0] <= when]
        if before:
            moment, memento = max(before, key=lambda c: c[0])
        else:
            moment, memento = min(candidates, key=lambda c: c[0])
    return memento, date_reason(moment, when)


def _all_rejected(rejected: Sequence[Rejection]) -> str:
    redirects = sum(1 for r in rejected if r.reason.startswith("captured redirect"))
    errors = len(rejected) - redirects
    if len(rejected) == 1:
        kind = "a redirect" if redirects else "an error"
        return f"the only capture was {kind} ({rejected[0].reason})"
    if not errors:
        kind = "redirects"
    elif not redirects:
        kind = "errors"
    else:
        kind = "errors or redirects"
    return f"all {len(rejected)} captures were {kind}"


def select_memento(mementos: Sequence[Memento], when: datetime | None) -> Selection:
    """The best memento for a citation made at ``when`` (None: the newest good one).

    Prefers, in order: the latest 2xx capture at or before ``when``; the earliest 2xx
    capture after it; the same two among captures whose status was not recorded
    (revisits). Non-2xx captures are never chosen and come back in ``rejected``.
    """
    when = utc_or_none(when)
    good: list[tuple[datetime, Memento]] = []
    unknown: list[tuple[datetime, Memento]] = []
    rejected: list[Rejection] = []
    for memento in mementos:
        moment = parse_iso(memento.datetime)
        if memento.http_status is None:
            unknown.append((moment, memento))
        elif 200 <= memento.http_status < 300:
            good.append((moment, memento))
        else:
            rejected.append(Rejection(memento, rejection_reason(memento.http_status)))

    if good:
        chosen, reason = _choose(good, when)
    elif unknown:
        chosen, reason = _choose(unknown, when)
        reason += (
            "; its status was not recorded (a revisit of an earlier capture), "
            "used because no capture with a known good status exists"
        )
    elif rejected:
        return Selection(None, _all_rejected(rejected), tuple(rejected))
    else:
        return Selection(None, "no archive holds a copy")
    return Selection(chosen, reason, tuple(rejected))


def rank_mementos(
    mementos: Sequence[Memento], when: datetime | None
) -> tuple[list[Memento], list[Rejection]]:
    """The order in which captures are worth reading, and those not worth it (pure).

    Captures at or before ``when`` come first, latest first; then those after it, earliest
    first (``when`` None: newest first); ties keep their listed order. A captured 3xx is a
    candidate (its redirect may lead to the page); a recorded 1xx, 4xx or 5xx is rejected.
    """
    when = utc_or_none(when)
    candidates: list[tuple[tuple[int, float], Memento]] = []
    rejected: list[Rejection] = []
    for memento in mementos:
        status = memento.http_status
        if status is not None and not 200 <= status < 400:
            rejected.append(Rejection(memento, rejection_reason(status)))
            continue
        stamp = parse_iso(memento.datetime).timestamp()
        if when is None or stamp <= when.timestamp():
            candidates.append(((0, -stamp), memento))
        else:
            candidates.append(((1, stamp), memento))
    candidates.sort(key=lambda c: c[0])  # stable: equals keep the archive order
    return [memento for _, memento in candidates], rejected
