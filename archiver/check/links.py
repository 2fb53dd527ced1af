"""The check stage: one verdict per URL, with the evidence behind it.

A link checker that cries wolf is worse than none, so ``dead`` needs real evidence: a 404
or 410, a host name that does not exist while the network works, or a soft-404 (a "not
found" page served with 200, see ``archiver.check.soft404``). Answers that only say "not now"
or "not for you" get their own verdicts: timeouts, 5xx, and bot walls (401/403/429,
challenge pages) are never called dead. The requests, and the verdict on each answer, are
``archiver.check.checker``'s; this module decides what to check, where, and keeps the history.

- Long lists (``SPLIT_THRESHOLD`` URLs and more) are split by host over worker processes
  (``archiver.check.processes``: one per core, at most two), each with its own event loop.
- Offline: when nothing answered and the failures are all network failures, a canary URL
  is tried; if it fails too, this machine is offline: every such verdict becomes
  ``offline`` and nothing is written to the history.

Every check is kept in the state file, written within moments of its arrival (a killed
run loses nothing it learned), and each result carries its history
(``archiver.check.history``: the writing, and when failures count as ``confirmed``).

This module does not import asyncio or the HTTP client: the parent of the worker
processes never needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from itertools import islice

from archiver.check.history import HistoryWriter, with_history
from archiver.check.hosts import group_by_host, split_hosts
from archiver.check.loop import run_loop
from archiver.check.processes import (
    SPLIT_THRESHOLD,
    TICK_SECONDS,
    CheckProcesses,
    can_fork,
    process_count,
)
from archiver.config import Settings
from archiver.dates import Clock, utcnow
from archiver.models import LinkCheck, Verdict
from archiver.state import State, latest_if_fresh


def check_urls(
    urls: Iterable[str],
    settings: Settings,
    *,
    state: State | None = None,
    on_result: Callable[[LinkCheck], None] | None = None,
    clock: Clock = utcnow,
    processes: CheckProcesses | None = None,
    keep: bool = True,
) -> list[LinkCheck]:
    """Check each distinct URL once; results in the order the URLs were first given.

    Fresh results in ``state`` (younger than ``settings.fresh_for``) are reused without a
    request; every new result is recorded there, except verdicts of an offline machine.
    ``on_result`` sees each result as it is ready, with its history; only on an offline
    machine are the returned results different objects (their verdicts become offline).
    ``processes`` (see ``check_processes_for``) are used for a long list when they were
    started for these settings and clock.

    With ``keep`` False (a long list streamed to its output) nothing is held once some
    link answered: results go to ``on_result`` only, and the list returned is empty; on
    an offline machine it holds the offline verdicts of the links checked (``on_result``
    saw them before that was known; see ``report.jsonl_format.StreamedChecks``).
    """
    taken = _take_in(urls, state, settings, clock(), keep)
    known, reused, unique, checking = taken.known, taken.reused, taken.unique, taken.count
    if on_result is not None:
        for check in reused.values():
            on_result(check)
    results = reused if keep else {}
    writer = HistoryWriter(state) if state is not None else None
    answers = _Answers()

    def arrived(check: LinkCheck) -> None:
        shown = check
        if writer is not None:
            shown = with_history(check, [*known.get(check.url, ()), check], settings)
        if keep:
            results[check.url] = shown
        answers.saw(check)
        if on_result is not None:
            on_result(shown)
        if writer is not None:
            # Written down within moments, while the rest are in flight: a run killed
            # now keeps it. Until something answers, nothing is: it may be offline.
            writer.add(check)

    tick, settle = (writer.tick, writer.settle) if writer is not None else (None, None)
    if checking:
        _check_fresh(taken, settings, clock, arrived, tick, settle, processes)
    offline: list[LinkCheck] = []
    if checking and not answers.answered and _machine_offline(settings, clock):
        offline = [_offline_verdict(check, settings) for check in answers.waiting]
    for check in offline:  # an offline machine's verdicts: no history, nothing recorded
        results[check.url] = check
    if writer is not None:
        writer.discard() if offline else writer.flush()
    return [results[url] for url in unique] if keep else offline


INTAKE_CHUNK = 10_000  # URLs taken in at a time (``_take_in``)


class _Taken:
    """The URLs of one ``check_urls``: each once (``unique``, in the order first given,
    when the results are kept), those with a history (``known``), those reused from it
    (``reused``), and the rest, to check (``count`` of them), in that order
    (``to_check``) and by host (``by_host``). What checks them lets go of the last two
    once the URLs are handed on."""

    def __init__(self) -> None:
        self.unique: list[str] = []
        self.known: dict[str, list[LinkCheck]] = {}
        self.reused: dict[str, LinkCheck] = {}
        self.to_check: list[str] = []
        self.by_host: dict[str, list[str]] = {}
        self.count = 0


def _take_in(
    urls: Iterable[str], state: State | None, settings: Settings, now: datetime, keep: bool
) -> _Taken:
    """``urls`` taken in ``INTAKE_CHUNK`` at a time: a long article's URLs come as its
    reading process parses it (``processes.stream_apart``), and each chunk is looked up in
    the history and grouped by host meanwhile, not once the last one is in (200,000 URLs:
    ~0.4 s that the checking processes waited, with a core idle). ``unique`` only when
    the results are kept (``keep``)."""
    taken = _Taken()
    seen: set[str] = set()
    given = iter(urls)
    while chunk := list(islice(given, INTAKE_CHUNK)):
        new = [url for url in dict.fromkeys(chunk) if url not in seen]
        seen.update(new)
        if keep:
            taken.unique += new
        if state is not None:
            known = state.recorded_histories(new)
            taken.known.update(known)
            fresh = _fresh_enough(new, known, settings, now)
            if fresh:
                taken.reused.update(fresh)
                new = [url for url in new if url not in fresh]
        taken.to_check += new
        group_by_host(new, taken.by_host)
    taken.count = len(taken.to_check)
    return taken


class _Answers:
    """Whether some link of a run answered; until one does, the checks so far (they may
    be an offline machine's), after that nothing."""

    def __init__(self) -> None:
        self.answered = False
        self.waiting: list[LinkCheck] = []

    def saw(self, check: LinkCheck) -> None:
        if self.answered:
            return
        if check.http_status is None:
            self.waiting.append(check)
        else:
            self.answered, self.waiting = True, []


def _check_here(
    taken: _Taken,
    settings: Settings,
    clock: Clock,
    on_result: Callable[[LinkCheck], None],
    on_tick: Callable[[], None] | None,
    on_started: Callable[[], None] | None,
    processes: CheckProcesses | None,
) -> None:
    """Check ``taken.to_check`` on this machine, each result to ``on_result``: one event
    loop, or worker processes split by host for a long list (``processes`` when they were
    started early for these settings), which call ``on_started`` once every URL's check
    has started."""
    long_list = taken.count >= SPLIT_THRESHOLD
    parts = split_hosts(
        taken.by_host.values(), process_count(settings) if long_list else settings.processes
    )
    taken.by_host = {}
    ready = processes if processes is not None and processes.fits(settings, clock) else None
    if ready is None and processes is not None:
        processes.close()
    if len(parts) > 1 and can_fork():
        taken.to_check = []  # the parts hold them, until they are sent (``run``)
        ready = ready or CheckProcesses(len(parts), settings, clock)
        ready.run(parts, on_result, on_tick, on_started)
    else:
        if ready is not None:
            ready.close()
        from archiver.check import checker

        checking = checker.check_all(taken.to_check, settings, clock, on_result)
        run_loop(checking, on_tick=on_tick, every=TICK_SECONDS)


def found_offline(checks: Iterable[LinkCheck]) -> bool:
    """Whether these checks found this machine offline. Every link checked in one go is
    ``offline`` when any is, so one is enough to tell; the others were reused from the
    history."""
    return any(check.verdict is Verdict.OFFLINE for check in checks)


def _fresh_enough(
    urls: Sequence[str], known: dict[str, list[LinkCheck]], settings: Settings, now: datetime
) -> dict[str, LinkCheck]:
    """The results in ``known`` (each URL's history) young enough to reuse, by URL."""
    reused: dict[str, LinkCheck] = {}
    for url in urls if known else ():
        cached = latest_if_fresh(known.get(url, []), settings.fresh_for, now)
        if cached is not None:  # reused: its history already holds it
            reused[url] = with_history(replace(cached, from_cache=True), known[url], settings)
    return reused


def _check_fresh(
    taken: _Taken,
    settings: Settings,
    clock: Clock,
    on_result: Callable[[LinkCheck], None],
    on_tick: Callable[[], None] | None,
    on_started: Callable[[], None] | None,
    processes: CheckProcesses | None,
) -> None:
    """Check ``taken.to_check`` here (``_check_here``) or on the Dask cluster the settings
    name, each result to ``on_result``. ``on_tick`` is called every ``TICK_SECONDS`` or so
    meanwhile, whether results arrive or not; ``on_started`` (by worker processes only)
    once every URL's check has started, when only answers are awaited."""
    if settings.cluster is not None:
        from archiver.check.cluster import check_on_cluster

        if processes is not None:
            processes.close()  # started early for a long article; the cluster does it
        check_on_cluster(taken.to_check, settings, on_result, on_tick)
    else:
        _check_here(taken, settings, clock, on_result, on_tick, on_started, processes)


def _machine_offline(settings: Settings, clock: Clock) -> bool:
    """Whether the canary fails too, when no checked link answered."""
    from archiver.check import checker

    return not run_loop(checker.canary_answers(settings, clock))


def _offline_verdict(check: LinkCheck, settings: Settings) -> LinkCheck:
    reason = f"this machine seems to be offline (the canary {settings.canary_url} failed too)"
    return replace(check, verdict=Verdict.OFFLINE, reason=f"{reason}; {check.reason}")


def check_url(url: str, settings: Settings, clock: Clock = utcnow) -> LinkCheck:
    """Check one URL (no state file)."""
    [result] = check_urls([url], settings, clock=clock)
    return result
