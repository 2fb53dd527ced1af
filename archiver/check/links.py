"""The check stage: one verdict per URL, with the evidence behind it.

A link checker that cries wolf is worse than none, so ``dead`` needs real evidence: a 404
or 410, a host name that does not exist while the network works, or a soft-404 (a "not
found" page served with 200, see ``archiver.check.soft404``). Answers that only say "not now"
or "not for you" get their own verdicts: timeouts, 5xx, and bot walls (401/403/429,
challenge pages) are never called dead. The requests, and the verdict on each answer, are
``archiver.check.checker``'s; this module decides what to check, where, and keeps the history.

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
import os
import pickle
import select
import signal
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from archiver.config import Settings
from archiver.dates import Clock, parse_iso, utcnow
from archiver.models import History, LinkCheck, Verdict
from archiver.net.urls import host_of
from archiver.state import State, latest_if_fresh

if TYPE_CHECKING:
    import asyncio

RECORD_BATCH = 1000  # checks written to the state file at a time during a run
IDLE_SECONDS = 0.2  # no result for this long: the ones waiting are written down then
SPLIT_THRESHOLD = 1000  # URLs from which checking is spread over the cores
# An article file from which the worker processes are started before it is read: a
# thousand short links fit in 32 KB; a smaller article rarely holds that many.
EARLY_START_BYTES = 32 * 1024

T = TypeVar("T")


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

    def idle() -> None:
        # Nothing arrived for a moment: a good time to write down what did (a long run's
        # last results, the links that time out, then leave little to write at the end).
        if state is not None and answered and unrecorded:
            state.record_checks(unrecorded)
            unrecorded.clear()

    fresh = _check_fresh(to_check, settings, clock, arrived, idle, processes) if to_check else []
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
    on_idle: Callable[[], None] | None,
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
        results = ready.run(parts, on_result, on_idle)
    else:
        if ready is not None:
            ready.close()
        from archiver.check import checker

        results = run_loop(checker.check_all(urls, settings, clock, on_result))
    if any(r.http_status is not None for r in results):
        return results
    from archiver.check import checker

    if run_loop(checker.canary_answers(settings, clock)):
        return results
    reason = f"this machine seems to be offline (the canary {settings.canary_url} failed too)"
    return [replace(r, verdict=Verdict.OFFLINE, reason=f"{reason}; {r.reason}") for r in results]


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` in a new event loop (see ``new_runner``)."""
    with new_runner() as runner:
        return runner.run(main)


def new_runner() -> asyncio.Runner:
    """A runner of uvloop's event loop where uvloop is installed, else of asyncio's own:
    uvloop opens connections in C, which took 0.1 s off scenario A's 5.7 (see bench/)."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def _process_count(settings: Settings) -> int:
    return settings.processes or min(2, os.cpu_count() or 1)


def _can_fork() -> bool:
    return hasattr(os, "fork") and hasattr(select, "poll")


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

    Each imports the checker as soon as it starts, then waits for its URLs (``run``).
    Started before the article is read, they do that import while the parent parses.
    Plain ``os.fork`` and pipes, not multiprocessing: its import and its queue's set-up
    took 20 ms of that start, and its queue's thread competed with the requests. Results
    come back as pickled batches, each preceded by its length; a process that ends
    before sending all of its results is an error. ``close`` lets the processes never
    given work go.
    """

    def __init__(self, count: int, settings: Settings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.pids: list[int] = []
        self._work: list[int] = []  # the parent's ends of the pipes: work out, results in
        self._results: list[int] = []
        _reap()
        # Objects the parent already has are frozen out of the garbage collector first,
        # so the children's collections do not touch, and so copy, every page they share.
        gc.freeze()
        try:
            for _ in range(count):
                work_in, work_out = os.pipe()
                results_in, results_out = os.pipe()
                pid = os.fork()
                if pid == 0:  # the worker: it never returns into the parent's code
                    code = 1
                    try:
                        for fd in (work_out, results_in, *self._work, *self._results):
                            os.close(fd)  # so that the parent closing its end is seen
                        code = _worker(work_in, results_out, settings, clock)
                    finally:
                        os._exit(code)
                os.close(work_in)
                os.close(results_out)
                self.pids.append(pid)
                self._work.append(work_out)
                self._results.append(results_in)
        finally:
            gc.unfreeze()

    def fits(self, settings: Settings, clock: Clock) -> bool:
        """Whether these processes check as ``settings`` and ``clock`` ask."""
        return settings == self.settings and clock is self.clock

    def run(
        self,
        parts: Sequence[Sequence[str]],
        on_result: Callable[[LinkCheck], None] | None,
        on_idle: Callable[[], None] | None = None,
    ) -> list[LinkCheck]:
        """Check each part in its own process (at most one part per process);
        ``on_idle`` is called whenever no result arrived for ``IDLE_SECONDS``."""
        if len(parts) > len(self._work):
            raise ValueError(f"{len(parts)} parts for {len(self._work)} processes")
        for fd, part in zip(self._work, parts, strict=False):
            _write_all(fd, pickle.dumps(list(part), pickle.HIGHEST_PROTOCOL))
        self._close_work()  # the work is out; a process given no part goes
        missing = {fd: len(part) for fd, part in zip(self._results, parts, strict=False)}
        buffers = {fd: bytearray() for fd in missing}
        results: dict[str, LinkCheck] = {}
        poller = select.poll()
        for fd in missing:
            poller.register(fd, select.POLLIN)
        complete = False
        try:
            while any(missing.values()):
                events = poller.poll(None if on_idle is None else IDLE_SECONDS * 1000)
                if not events and on_idle is not None:
                    on_idle()
                for fd, _ in events:
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        if missing[fd]:
                            raise RuntimeError("a link-checking process died")
                        poller.unregister(fd)
                        continue
                    for item in _frames(buffers[fd], chunk):
                        if isinstance(item, BaseException):
                            raise item
                        missing[fd] -= len(item)
                        for result in item:
                            results[result.url] = result
                            if on_result is not None:
                                on_result(result)
            complete = True
        finally:
            if complete:  # they close their connections and exit on their own
                self.close()
            else:
                self.stop()
        return [results[url] for part in parts for url in part]

    def close(self) -> None:
        """Let the processes go: those that have no work yet get none, and end."""
        self._close_work()
        for fd in self._results:
            os.close(fd)
        if self._results:  # the first close: collect them when they have ended
            _UNREAPED.extend(self.pids)
        self._results = []
        _reap()

    def stop(self) -> None:
        """End every process now (after a failure)."""
        for pid in self.pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.close()
        _reap(wait=True)

    def _close_work(self) -> None:
        for fd in self._work:
            os.close(fd)
        self._work = []


_UNREAPED: list[int] = []  # worker processes that ended, or will, and are not waited for


def _reap(wait: bool = False) -> None:
    """Collect the exit of worker processes (``wait``: even of those still ending)."""
    for pid in list(_UNREAPED):
        try:
            done, _ = os.waitpid(pid, 0 if wait else os.WNOHANG)
        except ChildProcessError:  # not ours, or collected already
            done = pid
        if done:
            _UNREAPED.remove(pid)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(len(data).to_bytes(8, "big") + data)
    while view:
        view = view[os.write(fd, view) :]


def _frames(buffer: bytearray, chunk: bytes) -> Iterator[Any]:
    """The objects completed by ``chunk`` of a stream of length-prefixed pickles."""
    buffer += chunk
    while len(buffer) >= 8:
        size = int.from_bytes(buffer[:8], "big")
        if len(buffer) < 8 + size:
            return
        data = bytes(buffer[8 : 8 + size])
        del buffer[: 8 + size]
        yield pickle.loads(data)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _worker(work: int, results: int, settings: Settings, clock: Clock) -> int:
    """A worker process's life: import the checker, wait for the URLs, check them."""
    try:
        # What can be done before the URLs arrive is done first, while the parent may
        # still be parsing: the checker's imports and the event loop.
        from archiver.check import checker

        with new_runner() as runner:
            runner.get_loop()
            data = _read_all(work)
            os.close(work)
            if not data:  # let go: no work for this process
                return 0
            urls = pickle.loads(data[8:])

            def send(batch: list[LinkCheck]) -> None:
                _write_all(results, pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))

            runner.run(checker.check_in_batches(urls, settings, clock, send))
        return 0
    except BaseException as e:  # reported to the parent, which raises it
        failure = RuntimeError(f"link checking failed: {type(e).__name__}: {e}")
        with suppress(OSError):  # the parent is gone, or has every result
            _write_all(results, pickle.dumps(failure))
        return 1


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
