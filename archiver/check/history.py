"""The history of every link: written as checks arrive, and when a run of failures makes
a dead link "confirmed".

Every check is kept in the state file (``archiver.state``). One failed check proves little
(a server down for the afternoon), so ``confirm`` asks for at least N failures spread over
at least D days, reset by any alive answer: InternetArchiveBot's rule, defaults 3 and 3
days (``Settings.confirm_failures`` and ``confirm_days``).

``HistoryWriter`` writes a run's checks down within ``WRITE_EVERY`` seconds of their
arrival, so that a run killed halfway loses nothing it learned and a rerun reuses it
(``--fresh-for``): one transaction (one disk sync) for what arrived meanwhile, at most two
a second, rather than one per check (2,000 syncs would cost seconds) or one at the end.
Those transactions append to a table with no index; the checks are moved into the
history's indexed table, sorted, once every request of the run is made (``settle``) and at
its end (``State.record_checks`` says why and what it saves).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from archiver.config import Settings
from archiver.dates import parse_iso
from archiver.models import FAILING, History, LinkCheck, Verdict

if TYPE_CHECKING:
    from archiver.state import State

WRITE_EVERY = 0.5  # seconds: a check is in the state file at most about this long after it arrived


class HistoryWriter:
    """Checks on their way into the state file: ``add`` each as it arrives, ``tick`` now and
    then while none does, ``settle`` once every request is made and only answers are
    awaited, ``flush`` at the end.

    What arrived is recorded every ``every`` seconds (``State.record_checks``: crash-safe,
    and cheap while the CPUs are busy with the requests) and moved into the history's
    indexed table (``State.move_new_checks``) when the CPUs have less to do: when only the
    last answers are awaited (often a timeout's wait), and at the end.

    Nothing is written until some link got an HTTP answer: if none ever does, this machine
    may be offline, and an offline machine's verdicts say nothing about the links (the
    caller then ``discard``s them).
    """

    def __init__(
        self, state: State, every: float = WRITE_EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._state, self._every, self._clock = state, every, clock
        self._waiting: list[LinkCheck] = []
        self._answered = False
        self._due = 0.0  # when the next write may be made

    def add(self, check: LinkCheck) -> None:
        """Take ``check`` to write at the next ``tick`` (the caller's, after each batch of
        results and whenever none arrived for a while: not one look at the clock a
        result)."""
        self._waiting.append(check)
        if not self._answered:
            self._answered = check.http_status is not None

    def tick(self) -> None:
        """Write what waits, if anything answered and the last write is long enough ago."""
        if self._answered and self._waiting and self._clock() >= self._due:
            self._write()

    def settle(self) -> None:
        """Write what waits and move what was written into the history's table, if
        anything answered (else it may all be discarded)."""
        if self._answered:
            self.flush()

    def flush(self) -> None:
        """Write everything that waits, now, and move it into the history's table."""
        self._write()
        self._state.move_new_checks()

    def discard(self) -> None:
        """Forget what waits (an offline machine's verdicts)."""
        self._waiting = []

    def _write(self) -> None:
        if self._waiting:
            self._state.record_checks(self._waiting)
            self._waiting = []
        self._due = self._clock() + self._every


def summarise_history(history: Sequence[LinkCheck]) -> History:
    """Failures since the last alive answer, from a URL's checks (oldest first)."""
    if len(history) == 1:  # a link checked for the first time: most of a long list
        check = history[0]
        if check.verdict in FAILING:
            return _history(1, 1, check.checked_at, check.checked_at)
        return _history(1, 0, None, None)
    failures: list[str] = []
    for check in history:
        if check.verdict is Verdict.ALIVE:
            failures = []
        elif check.verdict in FAILING:
            failures.append(check.checked_at)
    if not failures:
        return _history(len(history), 0, None, None)
    return _history(len(history), len(failures), failures[0], failures[-1])


@functools.lru_cache(maxsize=1024)
def _history(checks: int, failures: int, first: str | None, last: str | None) -> History:
    """One History for equal ones, made once: they are immutable, and on a long run
    nearly every link's is (1, 0) or (1, 1) with the same second (~5 us each to make)."""
    return History(checks=checks, failures=failures, first_failure=first, last_failure=last)


def confirm(check: LinkCheck, history: History, min_failures: int, min_days: float) -> bool:
    """A failure is confirmed after ``min_failures`` of them spread over ``min_days`` days."""
    if history.failures < min_failures or check.verdict not in FAILING:
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
    return check.judged(confirmed, history)
