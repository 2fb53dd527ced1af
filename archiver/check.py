"""The check stage: one verdict per URL, with the evidence behind it.

A link checker that cries wolf is worse than none, so ``dead`` needs real evidence: a 404
or 410, a host name that does not exist while the network works, or a soft-404 (a "not
found" page served with 200, see ``archiver.soft404``). Answers that only say "not now"
or "not for you" get their own verdicts: timeouts, 5xx, and bot walls (401/403/429,
challenge pages) are never called dead. The requests, and the verdict on each answer, are
``archiver.checker``'s; this module decides what to check, where, and keeps the history.

- Long lists (``SPLIT_THRESHOLD`` URLs and more) are split by host over one process per
  core (``CheckProcesses``), each with its own event loop. The processes can be started
  before the article is read (``check_processes_for``): they import the checker while
  the parent parses, which takes that import off the time to the first request.
- Offline: when nothing answered and the failures are all network failures, a canary URL
  is tried; if it fails too, this machine is offline: every such verdict becomes
  ``offline`` and nothing is written to the history.

Every check is kept in the state file. ``confirm`` turns a history of failures into a
``confirmed`` flag: at least N failures spread over at least D days, reset by any alive
answer (InternetArchiveBot's rule, defaults 3 and 3 days).

This module does not import asyncio or the HTTP client: the parent of the worker
processes never needs them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from queue import Empty
from typing import Any, TypeVar
from urllib.parse import urlsplit

from archiver.config import Settings
from archiver.dates import parse_iso, utcnow
from archiver.errors import InputError
from archiver.models import History, LinkCheck, Verdict
from archiver.state import State, latest_if_fresh

RECORD_BATCH = 1000  # checks written to the state file at a time during a run
SPLIT_THRESHOLD = 1000  # URLs from which checking is spread over the cores
# An article file from which the worker processes are started before it is read: a
# thousand short links fit in 32 KB; a smaller article rarely holds that many.
EARLY_START_BYTES = 32 * 1024

Clock = Callable[[], datetime]
T = TypeVar("T")


def validate_url(url: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL; raise InputError otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"not an http(s) URL: {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as e:
        raise InputError(f"not a valid URL: {url!r} ({e})") from e
    return url.strip()


AUTHORITY = re.compile(r"[^:/?#]*://([^/?#]*)")


def host_of(url: str) -> str:
    """The authority part of ``url``, lower-cased: what per-host limits count by
    (a regular expression, as ``urlsplit`` is twenty times slower on 20,000 URLs)."""
    match = AUTHORITY.match(url)
    return match.group(1).lower() if match else urlsplit(url).netloc.lower()


# -- history ---------------------------------------------------------------------------


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


# -- running many checks ---------------------------------------------------------------


def check_urls(
    urls: Iterable[str],
    settings: Settings,
    *,
    state: State | None = None,
    on_result: Callable[[LinkCheck], None] | None = None,
    clock: Clock = utcnow,
    processes: CheckProcesses | None = None,
) -> list[LinkCheck]:
    """Check each distinct URL once; results in the order the URLs were first given.

    Fresh results in ``state`` (younger than ``settings.fresh_for``) are reused without a
    request; every new result is recorded there, except verdicts of an offline machine.
    ``on_result`` sees each result as it is ready, with its history; only on an offline
    machine are the returned results different objects (their verdicts become offline).
    ``processes`` (see ``check_processes_for``) are used for a long list when they were
    started for these settings and clock.
    """
    unique = list(dict.fromkeys(urls))
    results: dict[str, LinkCheck] = {}
    to_check: list[str] = []
    now = clock()
    known = state.histories(unique) if state is not None else {}
    for url in unique:
        cached = latest_if_fresh(known.get(url, []), settings.fresh_for, now)
        if cached is not None:  # reused: its history already holds it
            results[url] = _with_history(replace(cached, from_cache=True), known[url], settings)
        else:
            to_check.append(url)
    if on_result is not None:
        for url in unique:
            if url in results:
                on_result(results[url])
    unrecorded: list[LinkCheck] = []
    answered = False  # once anything answered, this machine is not offline

    def arrived(check: LinkCheck) -> None:
        # The history is summed up and recorded as answers arrive, while the rest are in
        # flight, rather than all at the end. Until something answers, nothing is
        # recorded: if nothing ever does, the machine may be offline.
        nonlocal answered
        if state is not None:
            unrecorded.append(check)
            answered = answered or check.http_status is not None
            if answered and len(unrecorded) >= RECORD_BATCH:
                state.record_checks(unrecorded)
                unrecorded.clear()
            check = _with_history(check, [*known.get(check.url, []), check], settings)
        results[check.url] = check
        if on_result is not None:
            on_result(check)

    fresh = _check_fresh(to_check, settings, clock, arrived, processes) if to_check else []
    if fresh and all(check.verdict is Verdict.OFFLINE for check in fresh):
        for check in fresh:  # an offline machine's verdicts: no history, nothing recorded
            results[check.url] = check
    elif state is not None:
        state.record_checks(unrecorded)
    return [results[url] for url in unique]


def _with_history(check: LinkCheck, checks: list[LinkCheck], settings: Settings) -> LinkCheck:
    if check.verdict is Verdict.OFFLINE:
        return check
    history = summarise_history(checks)
    confirmed = confirm(check, history, settings.confirm_failures, settings.confirm_days)
    return replace(check, history=history, confirmed=confirmed)


def _check_fresh(
    urls: Sequence[str],
    settings: Settings,
    clock: Clock,
    on_result: Callable[[LinkCheck], None] | None,
    processes: CheckProcesses | None,
) -> list[LinkCheck]:
    """Check ``urls`` in one event loop, or in one per core for long lists (in
    ``processes`` when they were started early for these settings), then decide whether
    the machine is offline."""
    long_list = len(urls) >= SPLIT_THRESHOLD
    parts = _partition_by_host(urls, _process_count(settings) if long_list else settings.processes)
    ready = processes if processes is not None and processes.fits(settings, clock) else None
    if ready is None and processes is not None:
        processes.close()
    if len(parts) > 1 and _can_fork():
        ready = ready or CheckProcesses(len(parts), settings, clock)
        results = ready.run(parts, on_result)
    else:
        if ready is not None:
            ready.close()
        from archiver import checker  # here: a parent of worker processes never needs it

        results = run_loop(checker.check_all(urls, settings, clock, on_result))
    if any(r.http_status is not None for r in results):
        return results
    from archiver import checker

    if run_loop(checker.canary_answers(settings, clock)):
        return results
    reason = f"this machine seems to be offline (the canary {settings.canary_url} failed too)"
    return [replace(r, verdict=Verdict.OFFLINE, reason=f"{reason}; {r.reason}") for r in results]


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop where it is installed, else on asyncio's own loop: uvloop
    opens connections in C, which took 0.1 s off scenario A's 5.7 (see bench/)."""
    try:
        import uvloop
    except ImportError:
        import asyncio

        return asyncio.run(main)
    return uvloop.run(main)


def _process_count(settings: Settings) -> int:
    return settings.processes or min(2, os.cpu_count() or 1)


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _partition_by_host(urls: Sequence[str], parts: int) -> list[list[str]]:
    """Split the URLs into at most ``parts`` groups of whole hosts, of similar size, so
    that per-host limits hold inside each group."""
    by_host: dict[str, list[str]] = defaultdict(list)
    for url in urls:
        by_host[host_of(url)].append(url)
    groups: list[list[str]] = [[] for _ in range(max(1, min(parts, len(by_host))))]
    for host_urls in sorted(by_host.values(), key=len, reverse=True):
        min(groups, key=len).extend(host_urls)
    return [group for group in groups if group]


class CheckProcesses:
    """Forked worker processes, one per group of hosts, each with its own event loop.

    Each imports the checker as soon as it starts, then waits for its URLs (``run``);
    results stream back through one queue, in batches, so progress stays live. Started
    before the article is read, they do that import while the parent parses. ``close``
    lets the ones never given work go.
    """

    def __init__(self, count: int, settings: Settings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        context = multiprocessing.get_context("fork")
        self._queue: Any = context.Queue()
        self.children: list[multiprocessing.process.BaseProcess] = []
        self._work: list[Any] = []  # the sending end of each child's pipe
        # Objects the parent already has are frozen out of the garbage collector first,
        # so the children's collections do not touch, and so copy, every page they share.
        gc.freeze()
        try:
            for _ in range(count):
                receiving, sending = context.Pipe(duplex=False)
                child = context.Process(
                    target=_worker,
                    args=(receiving, [*self._work, sending], settings, clock, self._queue),
                    daemon=True,
                )
                child.start()
                receiving.close()
                self.children.append(child)
                self._work.append(sending)
        finally:
            gc.unfreeze()

    def fits(self, settings: Settings, clock: Clock) -> bool:
        """Whether these processes check as ``settings`` and ``clock`` ask."""
        return settings == self.settings and clock is self.clock

    def run(
        self, parts: Sequence[Sequence[str]], on_result: Callable[[LinkCheck], None] | None
    ) -> list[LinkCheck]:
        """Check each part in its own process (at most one part per process)."""
        if len(parts) > len(self.children):
            raise ValueError(f"{len(parts)} parts for {len(self.children)} processes")
        for sending, part in zip(self._work, parts, strict=False):
            sending.send(list(part))
        self.close()  # a process given no part goes
        results: dict[str, LinkCheck] = {}
        expected = sum(len(part) for part in parts)
        complete = False
        try:
            while len(results) < expected:
                try:
                    item = self._queue.get(timeout=1.0)
                except Empty:
                    if not any(child.is_alive() for child in self.children):
                        raise RuntimeError("a link-checking process died") from None
                    continue
                if isinstance(item, BaseException):
                    raise item
                for result in item:
                    results[result.url] = result
                    if on_result is not None:
                        on_result(result)
            complete = True
        finally:
            # With every result in, the children are left to close their connections
            # and exit on their own (multiprocessing reaps them), not waited for.
            if not complete:
                self.stop()
        return [results[url] for part in parts for url in part]

    def close(self) -> None:
        """Tell the processes that have no work yet that none is coming."""
        for sending in self._work:
            sending.close()
        self._work = []

    def stop(self) -> None:
        """End every process now (after a failure)."""
        self.close()
        for child in self.children:
            child.kill()
            child.join()


def _worker(
    receiving: Any, inherited: Sequence[Any], settings: Settings, clock: Clock, queue: Any
) -> None:
    for sending in inherited:  # so that the parent closing its end (or exiting) is seen
        sending.close()
    try:
        from archiver import checker  # before the URLs arrive: the parent may be parsing

        try:
            urls = receiving.recv()
        except EOFError:  # closed: no work for this process
            return
        run_loop(checker.check_in_batches(urls, settings, clock, queue))
    except BaseException as e:  # reported to the parent, which raises it
        with suppress(ValueError):  # the queue is closed: the parent has every result
            queue.put(RuntimeError(f"link checking failed: {type(e).__name__}: {e}"))


@contextmanager
def check_processes_for(
    targets: Sequence[str], settings: Settings, clock: Clock = utcnow
) -> Iterator[CheckProcesses | None]:
    """Worker processes started now, for the URLs ``targets`` will give, when a target is
    an article file big enough to cite about ``SPLIT_THRESHOLD`` links (else None); any
    not given work by the end are let go, and all are stopped after a failure."""
    size = 0
    for target in targets:
        with suppress(OSError, ValueError):
            size += Path(target).stat().st_size if "://" not in target else 0
    count = _process_count(settings)
    if size < EARLY_START_BYTES or count < 2 or not _can_fork():
        yield None
        return
    processes = CheckProcesses(count, settings, clock)
    try:
        yield processes
    except BaseException:
        processes.stop()
        raise
    processes.close()


def check_url(url: str, settings: Settings, clock: Clock = utcnow) -> LinkCheck:
    """Check one URL (no state file)."""
    [result] = check_urls([url], settings, clock=clock)
    return result
