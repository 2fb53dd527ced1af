"""Choose the one memento that best stands for what the author cited.

The author saw the page on or before the citation date, so the best copy is the latest
capture at or before it; failing that, the earliest after it is the nearest thing to
what they saw. Only captures that recorded a real page count (a 2xx status): a captured
404, 5xx or redirect is not the source, and is rejected with its reason so a user can see
why an apparently closer capture was passed over.

Revisit records (``http_status`` None: the archive stored "same payload as before"
without the status) are used only when no capture has a known 2xx status, and the reason
says so. With several archives the same rules apply to all their captures together;
between captures at the same moment the archive listed first wins, because ``find``
returns mementos in archive order and every choice here keeps the first of equals.

Content checks (soft-404s, quotes present) belong to later stages, which can call
``select_memento`` again on the mementos that survive them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from archiver.dates import parse_iso
from archiver.models import Memento, Rejection, Selection


def _rejection_reason(status: int) -> str:
    if 300 <= status < 400:
        return f"captured redirect {status}"
    return f"captured status {status}"


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _choose(
    candidates: Sequence[tuple[datetime, Memento]], when: datetime | None
) -> tuple[Memento, str]:
    """Pick from non-empty ``candidates`` by date alone; return it with the reason."""
    if when is None:
        moment, memento = max(candidates, key=lambda c: c[0])
        return memento, f"newest capture ({_day(moment)})"
    before = [c for c in candidates if c[0] <= when]
    if before:
        moment, memento = max(before, key=lambda c: c[0])
        if _day(moment) == _day(when):
            return memento, f"capture from the date itself ({_day(moment)})"
        return memento, f"latest capture before {_day(when)} ({_day(moment)})"
    moment, memento = min(candidates, key=lambda c: c[0])
    return memento, f"no capture before {_day(when)}; earliest after it ({_day(moment)})"


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
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # archiver's convention: naive means UTC
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
            rejected.append(Rejection(memento, _rejection_reason(memento.http_status)))

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
