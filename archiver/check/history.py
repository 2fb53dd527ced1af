"""The history rules: when a run of failures makes a dead link "confirmed".

Every check is kept in the state file (``archiver.state``). One failed check proves little
(a server down for the afternoon), so ``confirm`` asks for at least N failures spread over
at least D days, reset by any alive answer: InternetArchiveBot's rule, defaults 3 and 3
days (``Settings.confirm_failures`` and ``confirm_days``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from archiver.config import Settings
from archiver.dates import parse_iso
from archiver.models import History, LinkCheck, Verdict


def summarise_history(history: Sequence[LinkCheck]) -> History:
    """Failures since the last alive answer, from a URL's checks (oldest first)."""
    failures: list[str] = []
    for check in history:
        if check.verdict is Verdict.ALIVE:
            failures = []
        elif check.verdict.is_failure:
            failures.append(check.checked_at)
    return History(
        checks=len(history),
        failures=len(failures),
        first_failure=failures[0] if failures else None,
        last_failure=failures[-1] if failures else None,
    )


def confirm(check: LinkCheck, history: History, min_failures: int, min_days: float) -> bool:
    """A failure is confirmed after ``min_failures`` of them spread over ``min_days`` days."""
    if not check.verdict.is_failure or history.failures < min_failures:
        return False
    assert history.first_failure is not None and history.last_failure is not None
    span = parse_iso(history.last_failure) - parse_iso(history.first_failure)
    return span.total_seconds() >= min_days * 86400


def with_history(check: LinkCheck, checks: list[LinkCheck], settings: Settings) -> LinkCheck:
    """``check`` with its summed-up history (``checks``, oldest first, ending with it)
    and whether that confirms it; an offline verdict says nothing about the link."""
    if check.verdict is Verdict.OFFLINE:
        return check
    history = summarise_history(checks)
    confirmed = confirm(check, history, settings.confirm_failures, settings.confirm_days)
    return replace(check, history=history, confirmed=confirmed)
