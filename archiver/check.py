"""The check stage: one verdict per URL, with the evidence behind it.

A link checker that cries wolf is worse than none, so a verdict of ``dead`` needs real
evidence: a 404 or 410 confirmed by GET, or a host name that does not exist. Answers that
only say "not now" or "not for you" (timeouts, 5xx, 401/403/429) get their own verdicts.

HEAD is tried first because it is cheap, but only a 2xx answer to HEAD is trusted: many
servers answer HEAD with 405, 404 or 5xx while GET works, so every other HEAD answer is
re-asked with GET (reading at most ``CHECK_BODY_BYTES`` of the body).

URLs are checked concurrently by a small scheduler that keeps at most ``per_host``
requests in flight to any one host and ``workers`` overall; a host that is saturated never
ties up workers that could serve other hosts.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError

from archiver.config import Settings
from archiver.dates import to_iso, utcnow
from archiver.errors import InputError
from archiver.http import Fetched, build_session, fetch
from archiver.models import LinkCheck, Verdict
from archiver.state import State

CHECK_BODY_BYTES = 256 * 1024
BLOCKED_STATUSES = {401, 402, 403, 407, 429, 451}
DEAD_STATUSES = {404, 410}

Clock = Callable[[], datetime]


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


def verdict_for_status(status: int) -> tuple[Verdict, str]:
    """The verdict an HTTP status alone supports, and the reason to show."""
    if 200 <= status < 300:
        return Verdict.ALIVE, f"HTTP {status}"
    if status in DEAD_STATUSES:
        return Verdict.DEAD, f"HTTP {status}: {'gone' if status == 410 else 'not found'}"
    if status in BLOCKED_STATUSES:
        return Verdict.BLOCKED, f"HTTP {status}: access refused to this client, not proof of death"
    if status >= 500:
        return Verdict.SERVER_ERROR, f"HTTP {status}: the server failed"
    if 300 <= status < 400:
        return Verdict.SERVER_ERROR, f"HTTP {status}: redirect without a usable Location"
    return Verdict.BLOCKED, f"HTTP {status}: the server refused the request; inconclusive"


def check_url(
    session: requests.Session, url: str, settings: Settings, clock: Clock = utcnow
) -> LinkCheck:
    """Check one URL, retrying timeouts and connection failures ``settings.retries`` times."""
    attempts = max(settings.retries, 0) + 1
    result = _check_once(session, url, settings, clock)
    for _ in range(attempts - 1):
        if result.verdict not in (Verdict.TIMEOUT, Verdict.UNREACHABLE):
            break
        result = _check_once(session, url, settings, clock)
    return result


def _check_once(session: requests.Session, url: str, settings: Settings, clock: Clock) -> LinkCheck:
    method = "HEAD"
    try:
        answer = fetch(session, url, settings, method="HEAD", max_bytes=0)
        if not 200 <= answer.status < 300:
            method = "GET"
            answer = fetch(session, url, settings, method="GET", max_bytes=CHECK_BODY_BYTES)
    except requests.Timeout:
        return _result(
            url,
            Verdict.TIMEOUT,
            None,
            None,
            f"no answer within {settings.timeout:g} s",
            method,
            clock,
        )
    except requests.TooManyRedirects:
        reason = f"more than {settings.max_redirects} redirects"
        return _result(url, Verdict.UNREACHABLE, None, None, reason, method, clock)
    except requests.exceptions.SSLError as e:
        return _result(
            url, Verdict.UNREACHABLE, None, None, f"TLS failed: {_root_cause(e)}", method, clock
        )
    except requests.ConnectionError as e:
        if _is_name_error(e):
            host = urlsplit(url).hostname
            return _result(url, Verdict.DEAD, None, None, f"no such host: {host}", method, clock)
        return _result(
            url,
            Verdict.UNREACHABLE,
            None,
            None,
            f"connection failed: {_root_cause(e)}",
            method,
            clock,
        )
    except requests.RequestException as e:
        return _result(
            url, Verdict.UNREACHABLE, None, None, f"request failed: {_root_cause(e)}", method, clock
        )
    return _from_answer(url, answer, method, clock)


def _from_answer(url: str, answer: Fetched, method: str, clock: Clock) -> LinkCheck:
    verdict, reason = verdict_for_status(answer.status)
    if answer.history and verdict is Verdict.ALIVE:
        reason += f" after {len(answer.history)} redirect(s)"
    return _result(url, verdict, answer.status, answer.final_url, reason, method, clock)


def _result(
    url: str,
    verdict: Verdict,
    status: int | None,
    final_url: str | None,
    reason: str,
    method: str,
    clock: Clock,
) -> LinkCheck:
    return LinkCheck(
        url=url,
        verdict=verdict,
        http_status=status,
        final_url=final_url,
        reason=reason,
        checked_at=to_iso(clock()),
        method=method,
    )


def _causes(error: BaseException) -> list[BaseException]:
    """The chain inside a requests error: itself, urllib3's wrapper, its reason, causes."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        inner = next((a for a in current.args if isinstance(a, BaseException)), None)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            inner = inner or reason
            if inner is not reason:
                chain.append(inner)
                inner = reason
        current = inner or current.__cause__
    return chain


def _is_name_error(error: BaseException) -> bool:
    return any(isinstance(cause, NameResolutionError) for cause in _causes(error))


def _root_cause(error: BaseException) -> str:
    """The innermost message, without urllib3's pool and retry wrapping."""
    text = str(_causes(error)[-1])
    if "Failed to establish a new connection:" in text:
        text = text.split("Failed to establish a new connection:", 1)[1]
    return text.strip().strip("'\"()") or type(error).__name__


def check_urls(
    urls: Iterable[str],
    settings: Settings,
    *,
    state: State | None = None,
    session: requests.Session | None = None,
    on_result: Callable[[LinkCheck], None] | None = None,
    clock: Clock = utcnow,
) -> list[LinkCheck]:
    """Check each distinct URL once; results in the order the URLs were first given.

    Fresh results in ``state`` (younger than ``settings.fresh_for``) are reused without a
    request; every new result is recorded there.
    """
    unique = list(dict.fromkeys(urls))
    results: dict[str, LinkCheck] = {}
    to_check: list[str] = []
    now = clock()
    for url in unique:
        cached = state.fresh_check(url, settings.fresh_for, now) if state is not None else None
        if cached is not None:
            results[url] = LinkCheck(**{**cached.__dict__, "from_cache": True})
            if on_result is not None:
                on_result(results[url])
        else:
            to_check.append(url)

    own_session = session is None
    hosts = {urlsplit(url).hostname or "" for url in to_check}
    active = session or build_session(settings, pool_hosts=max(len(hosts), 1))
    try:
        for check in _run_scheduled(to_check, settings, active, clock):
            results[check.url] = check
            if state is not None:
                state.record_check(check)
            if on_result is not None:
                on_result(check)
    finally:
        if own_session:
            active.close()
    return [results[url] for url in unique]


def _run_scheduled(
    urls: Sequence[str], settings: Settings, session: requests.Session, clock: Clock
) -> Iterable[LinkCheck]:
    """Yield checks as they finish, never exceeding the per-host or global limits."""
    queues: dict[str, deque[str]] = defaultdict(deque)
    for url in urls:
        queues[urlsplit(url).hostname or ""].append(url)
    in_flight: dict[str, int] = defaultdict(int)
    per_host = max(settings.per_host, 1)
    workers = max(settings.workers, 1)
    pending: dict[Future[LinkCheck], str] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check") as pool:

        def fill() -> None:
            for host, queue in queues.items():
                while queue and in_flight[host] < per_host and len(pending) < workers:
                    url = queue.popleft()
                    in_flight[host] += 1
                    pending[pool.submit(check_url, session, url, settings, clock)] = host

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                host = pending.pop(future)
                in_flight[host] -= 1
                yield future.result()
            fill()
