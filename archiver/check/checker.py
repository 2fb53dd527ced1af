"""The checker: requests and verdicts for a list of URLs, inside one event loop.

``archiver.check.links`` decides what to check and keeps the history; this module, imported only
where the requests are made (in each worker process, while the parent still reads the
article), makes them:

- GET, not HEAD, for web pages: one GET answers the status and the soft-404 question at
  once, where HEAD would need a GET after it for every page that is not plainly alive
  (and many servers answer HEAD wrongly). HEAD is used where it is trustworthy: for files
  (PDFs, images, archives) a 2xx HEAD with a non-HTML type is taken as alive, since a
  soft-404 would be an HTML page. At most ``CHECK_BODY_BYTES`` of any body are read.
- Soft-404 probes: one request per host and directory, for a URL that surely does not
  exist, made only when a 200 page needs comparing, and shared by all its neighbours.
- One event loop keeps thousands of requests in flight on one thread, through the small
  client in ``archiver.net.aioclient``: ``workers`` coroutines take turns, ``per_host``
  turns per host, so at most that many requests are on any one host (a semaphore per
  host holds it too, and one at most ``workers`` overall). Each
  redirect hop takes a slot on its own host, so ``per_host`` holds for redirect targets
  too (a hundred cited sites that all send their readers to one host do not send it a
  hundred requests at once). 429 and 503 answers are retried once when ``Retry-After``
  asks for no more than ``max_retry_after`` seconds.
- One deadline for a link's whole check (``Settings.link_deadline``): every hop, HEAD
  then GET, the pauses servers ask for and the retries; waiting for a free slot does not
  count (that is the run's pace, not the link's). Each hop's timeout is what is left of
  it when that is less than ``timeout``.
- Whatever a server sends, the link gets a verdict with a reason: a redirect that cannot
  be followed, or whose target fails, says so (and the target is the ``final_url``).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import math
import secrets
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from archiver.check.slots import Slots
from archiver.check.soft404 import (
    PageSummary,
    not_found_wording,
    probe_evidence,
    probe_key,
    probe_url_for,
    redirect_evidence,
    summarise,
)
from archiver.check.verdicts import alive_reason, bot_wall, looks_like_file, verdict_for_status
from archiver.config import Settings
from archiver.dates import Clock, to_iso
from archiver.errors import NetworkError
from archiver.models import LinkCheck, Verdict
from archiver.net.aioclient import Client, Response
from archiver.net.redirects import RedirectChain
from archiver.net.retry_after import parse_retry_after, pause_within
from archiver.net.urls import host_of

CHECK_BODY_BYTES = 64 * 1024
RETRYABLE_STATUSES = {429, 503}
FAILURE_VERDICTS = {"timeout": Verdict.TIMEOUT, "no-such-host": Verdict.DEAD}  # else unreachable
COLLECT_EVERY = 500_000  # allocations between garbage collections while checking (Python: 700)


class _NetworkFailure(Exception):
    """A request that got no usable HTTP answer; ``verdict`` and ``reason`` say what
    happened, ``final_url`` where (when a redirect led there)."""

    def __init__(self, verdict: Verdict, reason: str, final_url: str | None = None) -> None:
        super().__init__(reason)
        self.verdict = verdict
        self.reason = reason
        self.final_url = final_url


class _Deadline:
    """What is left of one link's time (``Settings.link_deadline``, or three timeouts):
    its requests and the pauses servers ask for count, waits for a free slot do not."""

    def __init__(self, settings: Settings) -> None:
        self.seconds = settings.link_deadline or 3 * settings.timeout
        self.left = self.seconds

    def passed(self, chain: RedirectChain) -> _NetworkFailure:
        reason = f"no verdict within the link's deadline of {self.seconds:g} s"
        if chain.redirects:
            plural = "s" if chain.redirects > 1 else ""
            reason += f" ({chain.redirects} redirect{plural} followed)"
            return _NetworkFailure(Verdict.TIMEOUT, reason, chain.url)
        return _NetworkFailure(Verdict.TIMEOUT, reason)


_Waiting = tuple[str, Response, PageSummary]  # a page waiting for its probe: URL, answer, page


class _Checker:
    def __init__(
        self,
        client: Client,
        settings: Settings,
        clock: Clock,
        on_result: Callable[[LinkCheck], None] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self.on_result = on_result  # where the verdicts that waited for a probe go
        self.loop = asyncio.get_running_loop()  # looked up once: each look-up is a syscall
        self.host_slots: dict[str, Slots] = defaultdict(lambda: Slots(max(settings.per_host, 1)))
        self.overall = Slots(max(settings.workers, 1))
        self._stamps: tuple[int, str] = (-1, "")  # the last result's second, and its ISO form
        # Each host's soft-404 probes, by directory; let go with the host (``host_done``).
        self.probes: dict[str, dict[tuple[str, str], asyncio.Future[PageSummary | None]]] = {}
        # Each host's URLs still to start, where workers take them in turn (see
        # ``_probe``); a probe is then one more item there.
        self.queues: dict[str, deque[str | Coroutine[Any, Any, None]]] = {}
        self.probe_tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps weak refs
        # The pages waiting for each probe not yet in (``_after_probe``).
        self.waiting: dict[asyncio.Future[PageSummary | None], list[_Waiting]] = {}
        self.failure: BaseException | None = None  # met while judging them: raised at the end

    def check_soon(self, url: str) -> Awaitable[LinkCheck | None]:
        """The verdict on ``url``, or, when it waits only on the host's soft-404 probe
        (another request, made once), None: the verdict goes to ``on_result`` once the
        probe is in, and the caller's slot is free by then to take its next URL instead
        of waiting. Timeouts and failed connections are tried again (``retries``) while
        the link's deadline allows. Without retries, the one check's coroutine itself:
        each coroutine between the loop and the answer is resumed on every answer
        (scenario C makes 100,000 a process)."""
        deadline = _Deadline(self.settings)
        if self.settings.retries <= 0:
            return self._check_once(url, deadline)
        return self._check_with_retries(url, deadline)

    async def _check_with_retries(self, url: str, deadline: _Deadline) -> LinkCheck | None:
        result = await self._check_once(url, deadline)
        for _ in range(self.settings.retries):
            if (
                result is None
                or result.verdict not in (Verdict.TIMEOUT, Verdict.UNREACHABLE)
                or deadline.left <= 0
            ):
                break
            result = await self._check_once(url, deadline)
        return result

    async def _check_once(self, url: str, deadline: _Deadline) -> LinkCheck | None:
        try:
            answer = await self._fetch(url, deadline)
            if answer.status in RETRYABLE_STATUSES:
                asked = parse_retry_after(answer.headers.get("retry-after"), self.clock())
                wait = pause_within(asked, self.settings.max_retry_after)
                if wait is not None and wait < deadline.left:
                    await asyncio.sleep(wait)
                    deadline.left -= wait
                    answer = await self._fetch(url, deadline)
        except _NetworkFailure as failure:
            return self._result(url, failure.verdict, failure.reason, final_url=failure.final_url)
        judged = self._judge(url, answer)
        if isinstance(judged, tuple):
            return self._result(url, *judged, answer)
        page = judged
        probe = self._probe(url)
        if probe.done():
            return self._result(url, *_compare(answer, page, probe.result()), answer)

        # Waiting, it keeps only what its verdict reads (status, method, final URL,
        # redirects), not the body of up to CHECK_BODY_BYTES: every page of a host may
        # wait for its probe, on thousands of hosts at once.
        # (made here, not by dataclasses.replace: ~3 us less, for a third of the pages)
        kept = Response(answer.method, answer.status, answer.final_url, {}, b"", answer.redirects)
        self._after_probe(probe, (url, kept, page))
        return None

    def _after_probe(self, probe: asyncio.Future[PageSummary | None], page: _Waiting) -> None:
        """Judge ``page`` once its host's ``probe`` is in: the pages waiting for a probe
        are kept in a list, judged by one callback on it; not a future and a callback
        for each page (~4 us; a third of the pages wait, thousands at once on scenario C),
        let alone a task."""
        pages = self.waiting.get(probe)
        if pages is None:
            self.waiting[probe] = pages = []
            probe.add_done_callback(self._probe_in)
        pages.append(page)

    def _probe_in(self, probe: asyncio.Future[PageSummary | None]) -> None:
        pages = self.waiting.pop(probe)
        assert self.on_result is not None
        try:
            summary = probe.result()
            for url, kept, page in pages:
                self.on_result(self._result(url, *_compare(kept, page, summary), kept))
        # The probe's failure (a bug) or cancellation, or a bug here: in a callback, it
        # would only be logged, so the run raises it at its end (``_check_each_host``).
        except (Exception, asyncio.CancelledError) as e:
            self.failure = self.failure or e

    def _fetch(self, url: str, deadline: _Deadline) -> Awaitable[Response]:
        """HEAD for files (``_fetch_file``), GET otherwise: for a page, the request's own
        coroutine, not one more around it."""
        if looks_like_file(url):
            return self._fetch_file(url, deadline)
        return self._request("GET", url, deadline)

    async def _fetch_file(self, url: str, deadline: _Deadline) -> Response:
        """HEAD for a file (trusted when it says 2xx and not HTML), else GET, and GET
        after a HEAD that got no answer (some servers drop or never answer HEAD)."""
        try:
            head = await self._request("HEAD", url, deadline)
            if 200 <= head.status < 300 and "html" not in head.content_type.lower():
                return head
        except _NetworkFailure:
            if deadline.left <= 0:
                raise
        return await self._request("GET", url, deadline)

    async def _request(self, method: str, url: str, deadline: _Deadline) -> Response:
        """``method`` on ``url`` and on each redirect after it, every hop holding a slot
        on its own host (and one of the overall ones) while it is made; consecutive hops
        on one host keep theirs. Each hop is made within what is left of the link's
        deadline (here, not in a coroutine of its own: one less to resume on every
        answer)."""
        chain = RedirectChain(method, url, self.settings.max_redirects)
        held: list[Slots] = []
        host = None
        loop = self.loop
        try:
            while True:
                if (hop_host := host_of(chain.url)) != host:
                    for slot in held:
                        slot.give_back()
                    held.clear()
                    host = hop_host
                    for slot in (self.host_slots[host], self.overall):
                        if not slot.take_now():
                            await slot.take(self.loop)
                        held.append(slot)
                if deadline.left <= 0:
                    raise deadline.passed(chain)
                timeout = min(self.settings.timeout, deadline.left)
                started = loop.time()
                try:
                    head, body = await self.client.exchange(chain, timeout)
                except NetworkError as failure:
                    deadline.left -= loop.time() - started
                    raise self._hop_failure(chain, deadline, timeout, failure) from failure
                deadline.left -= loop.time() - started
                try:
                    response = self.client.final_answer(chain, head, body)
                except NetworkError as failure:  # a redirect that cannot be followed
                    verdict = FAILURE_VERDICTS.get(failure.kind, Verdict.UNREACHABLE)
                    raise _NetworkFailure(verdict, str(failure), chain.url) from failure
                if response is not None:
                    return response
        finally:
            for slot in held:
                slot.give_back()

    def _hop_failure(
        self, chain: RedirectChain, deadline: _Deadline, timeout: float, failure: NetworkError
    ) -> _NetworkFailure:
        """What a hop of ``chain`` that got no answer (within ``timeout``) means for the
        link; a failure after a redirect names where the redirect led."""
        if failure.kind == "timeout" and (timeout < self.settings.timeout or deadline.left <= 0):
            return deadline.passed(chain)
        verdict = FAILURE_VERDICTS.get(failure.kind, Verdict.UNREACHABLE)
        if chain.redirects:
            return _NetworkFailure(verdict, f"redirected to {chain.url}: {failure}", chain.url)
        return _NetworkFailure(verdict, str(failure))

    def _judge(self, url: str, answer: Response) -> tuple[Verdict, str] | PageSummary:
        """The verdict on an answer, or the page summary when only a comparison with the
        host's soft-404 probe can tell."""
        verdict, reason = verdict_for_status(answer.status)
        if verdict is Verdict.BLOCKED or answer.status == 503:
            wall = bot_wall(answer)
            if wall:
                return Verdict.BLOCKED, f"HTTP {answer.status}: {wall}"
        if verdict is not Verdict.ALIVE:
            return verdict, reason
        if answer.method == "HEAD":
            return Verdict.ALIVE, alive_reason(answer)
        page = summarise(url, answer.final_url, answer.status, answer.body, answer.content_type)
        wall = bot_wall(answer)
        if wall:
            return Verdict.BLOCKED, f"HTTP {answer.status}: {wall}"
        evidence = redirect_evidence(page) or not_found_wording(page)
        if evidence is not None:
            return Verdict.SOFT_404, f"HTTP {answer.status} but {evidence}"
        if not (page.title or page.text):
            return Verdict.ALIVE, alive_reason(answer)
        return page

    def host_done(self, host: str, url: str) -> None:
        """Let go of what was kept for ``host``, whose URLs are all checked: its queue,
        its soft-404 probes, and the idle connections to ``url``'s origin (one of its
        URLs)."""
        del self.queues[host]
        self.probes.pop(host, None)
        self.client.let_go(url)

    def _probe(self, url: str) -> asyncio.Future[PageSummary | None]:
        """The soft-404 probe for ``url``'s host and directory, asked for once. Where the
        host's URLs wait in a queue, the probe takes its turn there, behind the next
        ``per_host`` of them: a cited link that could start now goes first (a link that
        hangs costs the whole timeout from when it starts; a probe holds up only the
        verdicts that wait on it, by about one answer's time)."""
        key, host = probe_key(url), host_of(url)
        probes = self.probes.get(host)
        if probes is None:
            self.probes[host] = probes = {}
        future = probes.get(key)
        if future is None:
            future = self.loop.create_future()
            probes[key] = future
            queue = self.queues.get(host)
            if queue is None:
                task = asyncio.ensure_future(self._run_probe(url, future))
                self.probe_tasks.add(task)
                task.add_done_callback(self.probe_tasks.discard)
            else:
                queue.insert(min(len(queue), self.settings.per_host), self._run_probe(url, future))
        return future

    async def _run_probe(self, url: str, future: asyncio.Future[PageSummary | None]) -> None:
        try:
            future.set_result(await self._make_probe(url))
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as e:  # a bug: raised where the verdicts wait for it
            future.set_exception(e)

    async def _make_probe(self, url: str) -> PageSummary | None:
        probe = probe_url_for(url, f"archiver-probe-{secrets.token_hex(8)}")
        try:
            answer = await self._request("GET", probe, _Deadline(self.settings))
        except _NetworkFailure:
            return None
        return summarise(probe, answer.final_url, answer.status, answer.body, answer.content_type)

    def _result(
        self,
        url: str,
        verdict: Verdict,
        reason: str,
        answer: Response | None = None,
        final_url: str | None = None,
    ) -> LinkCheck:
        return LinkCheck(
            url=url,
            verdict=verdict,
            http_status=answer.status if answer is not None else None,
            final_url=answer.final_url if answer is not None else final_url,
            reason=reason,
            checked_at=self._now_iso(),
            method=answer.method if answer is not None else "GET",
        )

    def _now_iso(self) -> str:
        """``to_iso`` of the clock's time, worked out once a second (it took ~3 us a
        result): results in the same second share the string."""
        moment = self.clock()
        second = math.floor(moment.timestamp())
        if second != self._stamps[0]:
            self._stamps = (second, to_iso(moment))
        return self._stamps[1]


def _compare(answer: Response, page: PageSummary, probe: PageSummary | None) -> tuple[Verdict, str]:
    """An alive-looking page against its host's probe for a page that cannot exist."""
    evidence = probe_evidence(page, probe) if probe is not None else None
    if evidence is not None:
        return Verdict.SOFT_404, f"HTTP {answer.status} but {evidence}"
    return Verdict.ALIVE, alive_reason(answer)


def _allow_open_files(wanted: int) -> None:
    """Raise the soft limit on open files towards ``wanted`` (many systems start at 1024,
    fewer than a busy check keeps open); never above the hard limit."""
    try:
        import resource
    except ImportError:  # not on this platform: connections are then capped by the OS
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def check_all(
    urls: Sequence[str],
    settings: Settings,
    clock: Clock,
    on_result: Callable[[LinkCheck], None],
    on_started: Callable[[], None] | None = None,
) -> None:
    """Check ``urls`` with ``per_host`` turns per host taken by ``workers`` coroutines,
    each turn taking the host's next URL when it is done, each result to ``on_result``
    (none is held here): besides the URLs (and a few small things per host), memory
    stays proportional to the requests in flight, not to the hosts' slots nor to the
    results, and no host waits behind another's queue. ``on_started`` is called once the
    last URL's check has started: from then on, only answers are awaited."""
    on_start = _on_last(len(urls), on_started)
    with _rare_collections():
        await _check_each_host(urls, settings, clock, on_result, on_start)


def _on_last(count: int, then: Callable[[], None] | None) -> Callable[[], None]:
    """A function that calls ``then`` (if any) when it is called the ``count``-th time."""
    calls = itertools.count(1)

    def call() -> None:
        if next(calls) == count and then is not None:
            then()

    return call


@contextmanager
def _rare_collections() -> Iterator[None]:
    """Fewer passes of the garbage collector while requests are in flight. Each request
    makes many short-lived objects (coroutines, futures) that reference counting frees
    anyway; the collector's frequent passes over them took CPU the first wave of
    requests needed (scenario A: 5.59 s to 5.54 s, mean of 8 runs). Pages waiting for
    their host's probe (10,000 at once, checking a scenario C worker's 100,000 links in
    one process) are no garbage either: at 50,000 allocations, passes over them took
    0.12 s of its CPU, at 500,000 0.01 s, for the same peak memory (102 MB). Cycles are
    rare here (123 objects in all)."""
    old = gc.get_threshold()
    gc.set_threshold(COLLECT_EVERY, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


async def _check_each_host(
    urls: Sequence[str],
    settings: Settings,
    clock: Clock,
    on_result: Callable[[LinkCheck], None],
    on_start: Callable[[], None],
) -> None:
    """Each host's turns (``_line_up``) taken by ``workers`` coroutines: a turn checks
    its host's next URL, then goes to the back of the line while that host has URLs
    left. Only ``workers`` coroutines, not ``per_host`` for every host (40,000 of them,
    each with its frame and futures, on 5,000 hosts): the overall limit let no more than
    that many make requests anyway. When a host's last turn ends, what was kept for it
    (its queue, its soft-404 probes, its idle connections) is let go. ``on_start`` is
    called as each URL's check starts. Long because the turns share its state."""
    _allow_open_files(settings.workers + 256)
    client = Client(settings, max_body=CHECK_BODY_BYTES)
    checker = _Checker(client, settings, clock, on_result)
    queues = checker.queues
    turns, left = _line_up(urls, queues, max(settings.per_host, 1))

    async def work() -> None:
        while turns:
            host = turns.popleft()
            queue = queues[host]
            # Empty when the host's other turns took what this one was lined up for.
            item = queue.popleft() if queue else None
            if isinstance(item, str):
                on_start()
                result = await checker.check_soon(item)
                if result is not None:  # else it waits for the host's probe
                    on_result(result)
            elif item is not None:  # a soft-404 probe's turn
                await item
            if queue:
                turns.append(host)
            else:
                count, url = left.pop(host)
                if count > 1:
                    left[host] = (count - 1, url)
                else:
                    checker.host_done(host, url)

    try:
        await asyncio.gather(*(work() for _ in range(min(max(settings.workers, 1), len(turns)))))
        # The last probes' pages: judged by the probes' callbacks, which come before
        # the gather's own.
        await asyncio.gather(*checker.waiting)
        if checker.failure is not None:
            raise checker.failure
    finally:
        for queue in queues.values():  # not empty only when a worker failed
            for item in queue:
                if not isinstance(item, str):
                    item.close()
        await client.close()


def _line_up(
    urls: Sequence[str], queues: dict[str, deque[str | Coroutine[Any, Any, None]]], per_host: int
) -> tuple[deque[str], dict[str, tuple[int, str]]]:
    """Each host's URLs put in its queue in ``queues``; the line of turns, ``per_host``
    per host (fewer for fewer URLs), round-robin: every host's first turn, then every
    host's second, ... so that each host has an answer back, and a slot free for its
    next URL, as early as can be; and each host's count of turns with one of its URLs
    (whose origin's connections are let go after its last turn)."""
    for url in urls:
        queue = queues.get(host := host_of(url))
        if queue is None:
            queues[host] = queue = deque()
        queue.append(url)
    turns = deque(host for rank in range(per_host) for host, q in queues.items() if rank < len(q))
    left = {host: (min(per_host, len(queue)), str(queue[0])) for host, queue in queues.items()}
    return turns, left


async def canary_answers(settings: Settings, clock: Clock) -> bool:
    """Any HTTP answer at all from the canary shows the network works."""
    client = Client(settings, max_body=0)
    try:
        checker = _Checker(client, settings, clock)
        await checker._request("HEAD", settings.canary_url, _Deadline(settings))
    except _NetworkFailure:
        return False
    finally:
        await client.close()
    return True
