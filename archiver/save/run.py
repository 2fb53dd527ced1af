"""Saving pages with Save Page Now 2: submit each URL, follow its job, report what became of it.

A source that is alive today is the one that rots tomorrow; a capture made now is what a
later repair will find. Only links the check stage called ``alive`` are submitted
(``save_checks``): SPN2 refuses error pages by default, and a capture of a 404 page is not
a copy of the source.

Choices that are not obvious:

- Few jobs in flight (``Settings.spn_concurrency``, default 2), each polled every
  ``spn_poll_interval`` seconds for at most ``spn_job_timeout``; a job still pending then is
  reported as ``pending-timeout`` with its job id, since it may still finish.
- One pause per run: the first 429/503 stops every worker for the ``Retry-After`` asked (at
  most ``Settings.max_retry_after``); a refusal after that pause stops all traffic to SPN2
  (``archiver.save.spn.SpnThrottle`` says why this differs from the archives' rule).
- The user's quota is asked for first (``SpnClient.quota``): refused keys or an endpoint
  that is not SPN2 are one error before anything is submitted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from archiver.config import Settings
from archiver.dates import Clock, parse_wayback_timestamp, to_iso, utcnow
from archiver.errors import NetworkError, Throttled
from archiver.models import LinkCheck, Verdict
from archiver.net.http import build_session
from archiver.net.urls import validate_url
from archiver.save.keys import InternetArchiveKeys
from archiver.save.results import SaveReport, SaveResult, SaveStatus
from archiver.save.spn import Monotonic, Sleep, SpnClient, SpnReply, SpnThrottle, validate_within

REUSE_SLACK = timedelta(minutes=5)  # a capture older than submission by more was reused


class _Saver:
    """Submits one URL and follows its job to the end."""

    def __init__(
        self,
        client: SpnClient,
        settings: Settings,
        sleep: Sleep,
        monotonic: Monotonic,
        clock: Clock,
    ) -> None:
        self._client = client
        self._settings = settings
        self._sleep = sleep
        self._monotonic = monotonic
        self._clock = clock
        parts = urlsplit(client.endpoint)
        self._replay_base = f"{parts.scheme}://{parts.netloc}/web/"

    def save(self, url: str) -> SaveResult:
        submitted_at = self._clock()
        form = {"url": url, "if_not_archived_within": self._settings.spn_if_not_archived_within}
        try:
            reply = self._client.request("POST", self._client.endpoint, form)
        except Throttled as e:
            return SaveResult(url, SaveStatus.ERROR, f"not submitted: {e}")
        except NetworkError as e:
            return SaveResult(url, SaveStatus.ERROR, f"submission failed: {e}")
        job_id = reply.field("job_id")
        if reply.field("status") == "error" or not 200 <= reply.status < 300:
            return _refusal(url, reply, job_id or None)
        if not job_id:
            if reply.field("timestamp"):  # a recent capture given at once, without a job
                return self._finished(url, reply, "", reply.field("message"), submitted_at)
            return SaveResult(
                url,
                SaveStatus.ERROR,
                f"Save Page Now answered HTTP {reply.status} without a job id",
            )
        return self._follow(url, job_id, reply.field("message"), submitted_at)

    def _follow(self, url: str, job_id: str, notice: str, submitted_at: datetime) -> SaveResult:
        started = self._monotonic()
        timeout = self._settings.spn_job_timeout
        problem = ""
        while True:
            self._sleep(self._settings.spn_poll_interval)
            try:
                reply = self._client.request("GET", self._client.status_url(job_id))
            except Throttled as e:
                message = f"stopped polling: {e}; the job may still finish"
                return SaveResult(url, SaveStatus.PENDING_TIMEOUT, message, job_id=job_id)
            except NetworkError as e:
                problem = str(e)
            else:
                status = reply.field("status")
                if reply.status == 200 and status == "success":
                    return self._finished(url, reply, job_id, notice, submitted_at)
                if status == "error" or 400 <= reply.status < 500:
                    return _refusal(url, reply, job_id)
                if reply.status != 200:
                    problem = f"HTTP {reply.status}"
                else:
                    problem = "" if reply.data is not None else "an answer that is not JSON"
            if self._monotonic() - started >= timeout:
                last = f" (last poll: {problem})" if problem else ""
                message = f"still pending after {timeout:g}s{last}; the job may still finish"
                return SaveResult(url, SaveStatus.PENDING_TIMEOUT, message, job_id=job_id)

    def _finished(
        self, url: str, reply: SpnReply, job_id: str, notice: str, submitted_at: datetime
    ) -> SaveResult:
        stamp = reply.field("timestamp")
        try:
            if len(stamp) != 14:
                raise ValueError(stamp)
            captured = parse_wayback_timestamp(stamp)
        except ValueError:
            message = f"Save Page Now reported success without a capture time ({stamp!r})"
            return SaveResult(url, SaveStatus.ERROR, message, job_id=job_id or None)
        original = reply.field("original_url") or url
        memento = f"{self._replay_base}{stamp}/{original}"
        common = {"memento_url": memento, "timestamp": to_iso(captured), "job_id": job_id or None}
        # SPN2 says when it reused a capture; a capture older than the submission was too.
        if notice or captured < submitted_at - REUSE_SLACK:
            window = self._settings.spn_if_not_archived_within
            message = notice or f"reused a capture younger than {window}"
            return SaveResult(url, SaveStatus.RECENTLY_ARCHIVED, message, **common)
        duration = (reply.data or {}).get("duration_sec")
        took = f" in {duration:g}s" if isinstance(duration, int | float) else ""
        return SaveResult(url, SaveStatus.SAVED, f"captured{took}", **common)


def _refusal(url: str, reply: SpnReply, job_id: str | None) -> SaveResult:
    code = reply.field("status_ext") or None
    said = reply.field("message")
    if reply.status in (401, 403):
        message = f"Save Page Now refused the keys (HTTP {reply.status})"
    elif said:
        message = said
    else:
        message = f"Save Page Now answered HTTP {reply.status}" + (f" ({code})" if code else "")
    return SaveResult(url, SaveStatus.ERROR, message, job_id=job_id, error_code=code)


def save_urls(
    urls: Iterable[str],
    settings: Settings,
    keys: InternetArchiveKeys,
    *,
    on_result: Callable[[SaveResult], None] | None = None,
    sleep: Sleep = time.sleep,
    monotonic: Monotonic = time.monotonic,
    clock: Clock = utcnow,
) -> SaveReport:
    """Submit each distinct URL to SPN2 and wait for its capture; results in input order.

    Raises SetupError when the keys are refused and NetworkError when the endpoint is
    unusable (both found by the quota request made first). What becomes of each URL is a
    ``SaveResult``, never an exception.
    """
    unique = list(dict.fromkeys(validate_url(url) for url in urls))
    validate_within(settings.spn_if_not_archived_within)
    if not unique:
        return SaveReport(quota=None, results=())
    throttle = SpnThrottle(settings.max_retry_after, sleep, monotonic)
    with build_session(settings) as session:
        quota = SpnClient(session, settings, keys, throttle).quota()

    results: list[SaveResult | None] = [None] * len(unique)
    queue = list(enumerate(unique))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work() -> None:
        try:
            with build_session(settings) as session:
                saver = _Saver(
                    SpnClient(session, settings, keys, throttle), settings, sleep, monotonic, clock
                )
                while True:
                    with lock:
                        if not queue or failures:
                            return
                        index, url = queue.pop(0)
                    result = saver.save(url)
                    with lock:
                        results[index] = result
                        if on_result is not None:
                            on_result(result)
        except BaseException as e:  # a bug: raised again in the caller's thread
            with lock:
                failures.append(e)

    workers = [
        threading.Thread(target=work, name=f"spn-{n}", daemon=True)
        for n in range(max(1, min(settings.spn_concurrency, len(unique))))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise failures[0]
    return SaveReport(quota=quota, results=tuple(r for r in results if r is not None))


def save_checks(
    checks: Sequence[LinkCheck],
    settings: Settings,
    keys: InternetArchiveKeys,
    *,
    on_result: Callable[[SaveResult], None] | None = None,
    sleep: Sleep = time.sleep,
    monotonic: Monotonic = time.monotonic,
    clock: Clock = utcnow,
) -> SaveReport:
    """Save the URLs whose check says ``alive``; every other one is reported as skipped."""
    alive = [check.url for check in checks if check.verdict is Verdict.ALIVE]
    report = save_urls(
        alive, settings, keys, on_result=on_result, sleep=sleep, monotonic=monotonic, clock=clock
    )
    saved = {result.url: result for result in report.results}
    results = []
    for check in checks:
        result = saved.get(check.url)
        if result is None:
            reason = f"not submitted: its check says {check.verdict.value} ({check.reason})"
            result = SaveResult(check.url, SaveStatus.SKIPPED, reason)
            if on_result is not None:
                on_result(result)
        results.append(result)
    return SaveReport(quota=report.quota, results=tuple(results))
