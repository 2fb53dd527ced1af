"""The worker processes that check a long list: one per group of hosts, each with its own
event loop.

Long lists (``SPLIT_THRESHOLD`` URLs and more) are split by host (``archiver.check.links``)
over ``process_count`` processes: one per core but at most two, unless
``Settings.processes`` asks for another number (bench/ measured one against two, on a
machine of two cores). They can be started before the article
is read (``check_processes_for``): they import the checker while the parent parses, which
takes that import off the time to the first request.

Plain ``os.fork`` and pipes, not multiprocessing: its import and its queue's set-up took
20 ms of that start, and its queue's thread competed with the requests. This module does
not import asyncio or the HTTP client: the parent never needs them; each worker imports
the checker itself.
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from archiver.check.loop import new_runner
from archiver.config import Settings
from archiver.dates import Clock, utcnow
from archiver.models import LinkCheck

SPLIT_THRESHOLD = 1000  # URLs from which checking is spread over the processes
TICK_SECONDS = 0.1  # the parent's ``on_tick`` is called at least this often while it waits
# An article file from which the worker processes are started before it is read: a
# thousand short links fit in 32 KB; a smaller article rarely holds that many.
EARLY_START_BYTES = 32 * 1024
# Articles from which the URLs are read in a process of their own (``read_apart``):
# about 15,000 links. HTML and wikitext parses peak at some 15 MB for that; Markdown and
# plain text are parsed paragraph by paragraph, but the text is not held here either.
READ_APART_BYTES = 1 << 20
READ_BATCH = 10_000  # items ``read_apart``'s process sends back at a time


T = TypeVar("T")


def process_count(settings: Settings) -> int:
    """Worker processes for a long list: ``settings.processes``, else one per core, at
    most two."""
    return settings.processes or min(2, os.cpu_count() or 1)


def can_fork() -> bool:
    return hasattr(os, "fork") and hasattr(select, "poll")


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
        give_back_large_blocks()  # after the fork: the workers were no smaller for it

    def fits(self, settings: Settings, clock: Clock) -> bool:
        """Whether these processes check as ``settings`` and ``clock`` ask."""
        return settings == self.settings and clock is self.clock

    def run(
        self,
        parts: list[list[str]],
        on_result: Callable[[LinkCheck], None],
        on_tick: Callable[[], None] | None = None,
        on_started: Callable[[], None] | None = None,
    ) -> None:
        """Check each part in its own process (at most one part per process), each result
        to ``on_result`` (none is held here); ``on_tick`` is called after each batch of
        results and whenever none arrived for ``TICK_SECONDS``, ``on_started`` once every
        process has started its last URL's check (each says so with a None): from then on
        the processes only await answers, and the CPU has time to spare.

        ``parts`` is emptied once they are sent: the URLs are then held by the processes
        that check them, not here too (200,000 URLs: ~20 MB)."""
        if len(parts) > len(self._work):
            raise ValueError(f"{len(parts)} parts for {len(self._work)} processes")
        missing = {fd: len(part) for fd, part in zip(self._results, parts, strict=False)}
        for fd in self._work[: len(parts)]:
            _write_all(fd, pickle.dumps(parts.pop(0), pickle.HIGHEST_PROTOCOL))
        self._close_work()  # the work is out; a process given no part goes
        buffers = {fd: bytearray() for fd in missing}
        started: set[int] = set()  # the processes that started their last URL's check
        poller = select.poll()
        for fd in missing:
            poller.register(fd, select.POLLIN)
        complete = False
        try:
            while any(missing.values()):
                events = poller.poll(None if on_tick is None else TICK_SECONDS * 1000)
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
                        if item is None:
                            started.add(fd)
                            if on_started is not None and len(started) == len(missing):
                                on_started()
                            continue
                        missing[fd] -= len(item)
                        for result in item:
                            on_result(result)
                if on_tick is not None:
                    on_tick()
            complete = True
        finally:
            if complete:  # they close their connections and exit on their own
                self.close()
            else:
                self.stop()

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


# glibc's M_MMAP_THRESHOLD: blocks from this size on are mapped each on its own.
_MMAP_THRESHOLD, _MMAP_FROM_BYTES = -3, 128 * 1024


def give_back_large_blocks() -> None:
    """Have every block of 128 KB and more that this process allocates (and any process
    it forks after) mapped on its own, so that freeing it gives it back to the system.

    glibc does that at first, but raises the size from which it does to the largest
    block freed so far, up to 32 MB: once a list of 200,000 URLs has been unpickled, the
    tables and lists made from it later are carved out of the heap, whose freed middle is
    never given back. The parent checking scenario C's 200,000 links held 56 MB at the
    summed peak, 42 MB with this (bench/check_memory.py). Nothing is done elsewhere than
    on glibc. The worker processes were no smaller for it, and a block mapped on its own
    is new pages each time: they are forked before."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_MMAP_THRESHOLD, _MMAP_FROM_BYTES)


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
    """``data`` preceded by its length (not copied behind it: it can be a long list)."""
    for piece in (len(data).to_bytes(8, "big"), data):
        view = memoryview(piece)
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
        from archiver.check.batches import check_in_batches

        with new_runner() as runner:
            runner.get_loop()
            data = _read_all(work)
            os.close(work)
            if not data:  # let go: no work for this process
                return 0
            urls = pickle.loads(memoryview(data)[8:])
            del data  # not held while checking: as long as the list

            def send(batch: list[LinkCheck]) -> None:
                _write_all(results, pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))

            def started() -> None:
                _write_all(results, pickle.dumps(None))

            runner.run(check_in_batches(urls, settings, clock, send, started))
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
    count = process_count(settings)
    if article_bytes(targets) < EARLY_START_BYTES or count < 2 or not can_fork():
        yield None
        return
    processes = CheckProcesses(count, settings, clock)
    try:
        yield processes
    except BaseException:
        processes.stop()
        raise
    processes.close()


def article_bytes(targets: Sequence[str]) -> int:
    """The size of the article files among ``targets`` (folders, URLs and stdin: 0)."""
    size = 0
    for target in targets:
        with suppress(OSError, ValueError):
            size += Path(target).stat().st_size if "://" not in target else 0
    return size


def stream_apart(read: Callable[[Callable[[list[T]], None]], None]) -> Iterator[T]:
    """The items ``read(give)`` gives (a list at a time), worked out in a forked process
    of its own and sent back in batches of ``READ_BATCH``, each given here as soon as it
    arrives: what is done with them is done while the rest is still being read. Its
    error, if it raised one, is raised here after the items before it.

    For the URLs of long articles: a parse holds more than what it gives (Markdown and
    plain text no longer, see ``extract_urls``; HTML and wikitext do), and the memory a
    process frees is mostly not given back to the system (what it keeps, the URLs, is
    scattered over it), so the process that goes on to check would hold that peak to its
    end (scenario C, 200,000 links: 200 MB while checking, for 20 MB of URLs). In batches,
    neither process holds the whole list pickled (35 MB in the reader, twice the URLs).
    """
    if not can_fork():
        items: list[T] = []
        read(items.extend)
        yield from items
        return
    sys.stderr.flush()  # else what it holds would be written twice
    results_in, results_out = os.pipe()
    pid = os.fork()
    if pid == 0:  # the reader: it never returns into the caller's code
        try:
            os.close(results_in)
            _send_read(read, results_out)
        finally:
            os._exit(0)
    os.close(results_out)
    buffer = bytearray()
    ended = False
    try:
        while chunk := os.read(results_in, 1 << 20):
            for frame in _frames(buffer, chunk):
                if isinstance(frame, BaseException):
                    raise frame
                if frame is None:  # what follows the last batch
                    ended = True
                else:
                    yield from frame
    finally:
        os.close(results_in)  # a reader still writing (given up on early) then stops
        os.waitpid(pid, 0)
    if not ended:
        raise RuntimeError("reading the articles failed: its process died")


def _send_read(read: Callable[[Callable[[list[Any]], None]], None], fd: int) -> None:
    """``stream_apart``'s process: each batch of what ``read`` gives, then None (or the
    error it raised, which the caller raises)."""
    outcome: BaseException | None = None
    batch: list[Any] = []

    def give(items: list[Any]) -> None:
        nonlocal batch
        batch += items
        if len(batch) >= READ_BATCH:
            _write_all(fd, pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))
            batch = []

    try:
        read(give)
        _write_all(fd, pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))
    except BaseException as e:  # raised by the caller
        outcome = e
    try:
        data = pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # an error that cannot travel: a bug, said in one line
        data = pickle.dumps(RuntimeError(f"{type(outcome).__name__}: {outcome} ({e})"))
    sys.stderr.flush()
    _write_all(fd, data)
