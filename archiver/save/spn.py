"""Save Page Now 2: ask the Internet Archive to capture the cited pages that are still alive.

A source that is alive today is the one that rots tomorrow; a capture made now is what a
later repair will find. Only links the check stage called ``alive`` are submitted
(``save_checks``): SPN2 refuses error pages by default, and a capture of a 404 page is not
a copy of the source.

The protocol, from the Internet Archive's "SPN2 public API docs":

- ``POST https://web.archive.org/save`` with ``Accept: application/json``,
  ``Authorization: LOW <access>:<secret>`` and the form ``url=...&if_not_archived_within=30d``
  answers ``{"url", "job_id"}``, plus a ``message`` ("The same snapshot had been made ...")
  when a capture younger than the window is reused. Refusals come as
  ``{"status": "error", "status_ext": "error:...", "message"}``, usually with HTTP 200.
- ``GET .../save/status/<job_id>`` answers ``pending``, then ``success`` (``timestamp``,
  ``original_url``, ``duration_sec``) or ``error`` (``status_ext``, ``message``).
- ``GET .../save/status/user`` gives the user's quota (``available``, ``processing``); it is
  asked first, which also proves the keys and the endpoint before anything is submitted.

Choices that are not obvious:

- Keys are required: anonymous submissions are refused (401) or limited to uselessness.
  They come from ``IA_ACCESS_KEY_ID`` / ``IA_SECRET_ACCESS_KEY``, the names the
  ``internetarchive`` library (the ``ia`` tool) reads, or else from that tool's config file,
  so a machine where ``ia configure`` was run needs nothing more. (waybackpy has no keys:
  it uses the anonymous ``GET /save/<url>``, which is why it is not used here.)
- Keys never leave the ``Authorization`` header: ``InternetArchiveKeys`` hides them from
  ``repr``/``str``, they are not part of ``Settings``, and no message quotes a header.
- Few jobs in flight (``Settings.spn_concurrency``, default 2), each polled every
  ``spn_poll_interval`` seconds for at most ``spn_job_timeout``; a job still pending then is
  reported as ``pending-timeout`` with its job id, since it may still finish.
- One pause per run: the first 429/503 stops every worker for the ``Retry-After`` asked (at
  most ``Settings.max_retry_after``); a refusal after that pause stops all traffic to SPN2,
  because a client that keeps going through 429s gets firewalled.
- Every request, the POST included, goes through ``http.fetch``: the same session, size
  cap and typed transport errors as any other request.
"""

from __future__ import annotations

import configparser
import enum
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from archiver.config import Settings
from archiver.dates import Clock, parse_wayback_timestamp, to_iso, utcnow
from archiver.errors import InputError, NetworkError, SetupError
from archiver.models import LinkCheck, Verdict, _Serialisable
from archiver.net.http import build_session, fetch
from archiver.net.retry_after import parse_retry_after
from archiver.net.urls import validate_url

ACCESS_KEY_ENV = "IA_ACCESS_KEY_ID"
SECRET_KEY_ENV = "IA_SECRET_ACCESS_KEY"
KEYS_PAGE = "https://archive.org/account/s3.php"
MISSING_KEYS = (
    f"Save Page Now needs Internet Archive keys: set {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} "
    f"(get them at {KEYS_PAGE}), or run 'ia configure'"
)
SPN_BODY_LIMIT = 256 * 1024  # SPN2 answers are small JSON objects
DEFAULT_PAUSE = 10.0  # seconds to pause after a 429/503 that gives no Retry-After
REUSE_SLACK = timedelta(minutes=5)  # a capture older than submission by more was reused
THROTTLE_STATUSES = (429, 503)
_WITHIN = re.compile(r"^\d+[smhd]?(\s+\d+[smhd]?)*$", re.IGNORECASE)

Sleep = Callable[[float], None]
Monotonic = Callable[[], float]


# -- keys ------------------------------------------------------------------------------


class InternetArchiveKeys:
    """An archive.org S3-style access key and secret; shown nowhere, only sent.

    ``source`` says where they came from (an environment variable, a config file), for
    messages such as "the keys from ~/.config/ia.ini were refused".
    """

    __slots__ = ("_access", "_secret", "source")

    def __init__(self, access: str, secret: str, source: str = "the caller") -> None:
        if not access.strip() or not secret.strip():
            raise SetupError(MISSING_KEYS)
        self._access = access.strip()
        self._secret = secret.strip()
        self.source = source

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value SPN2 expects."""
        return f"LOW {self._access}:{self._secret}"

    def __repr__(self) -> str:
        return f"InternetArchiveKeys(access=<hidden>, secret=<hidden>, source={self.source!r})"

    __str__ = __repr__


def load_keys(environ: Mapping[str, str] | None = None) -> InternetArchiveKeys:
    """The keys from ``IA_ACCESS_KEY_ID``/``IA_SECRET_ACCESS_KEY``, else from ``ia``'s config.

    Raises SetupError with a one-line explanation when there are none.
    """
    env = os.environ if environ is None else environ
    access = env.get(ACCESS_KEY_ENV, "").strip()
    secret = env.get(SECRET_KEY_ENV, "").strip()
    if access and secret:
        return InternetArchiveKeys(access, secret, f"{ACCESS_KEY_ENV}/{SECRET_KEY_ENV}")
    if access or secret:
        missing = SECRET_KEY_ENV if access else ACCESS_KEY_ENV
        raise SetupError(
            f"{missing} is not set: Save Page Now needs both {ACCESS_KEY_ENV} and {SECRET_KEY_ENV}"
        )
    config = ia_config_file(env)
    if config is not None:
        keys = _keys_from_ia_config(config)
        if keys is not None:
            return keys
    raise SetupError(MISSING_KEYS)


def ia_config_file(environ: Mapping[str, str]) -> Path | None:
    """The config file the ``ia`` tool would read (the first that exists), as it looks for it:
    ``$IA_CONFIG_FILE``, ``$XDG_CONFIG_HOME/internetarchive/ia.ini``, ``~/.config/ia.ini``,
    ``~/.ia``."""
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    candidates = [Path(environ["IA_CONFIG_FILE"])] if environ.get("IA_CONFIG_FILE") else []
    xdg = environ.get("XDG_CONFIG_HOME", "")
    xdg_home = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config"
    candidates += [xdg_home / "internetarchive" / "ia.ini", home / ".config" / "ia.ini"]
    candidates.append(home / ".ia")
    return next((path for path in candidates if path.is_file()), None)


def _keys_from_ia_config(path: Path) -> InternetArchiveKeys | None:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, configparser.Error) as e:
        what = type(e).__name__
        raise SetupError(f"cannot read the Internet Archive config file {path}: {what}") from e
    access = parser.get("s3", "access", fallback="") or ""
    secret = parser.get("s3", "secret", fallback="") or ""
    if access.strip() and secret.strip():
        return InternetArchiveKeys(access, secret, str(path))
    return None


def validate_within(text: str) -> str:
    """SPN2's ``if_not_archived_within``: '30d', '3d 5h 20m', or a number of seconds."""
    value = " ".join(text.split())
    if not _WITHIN.match(value):
        raise InputError(
            f"not an age SPN2 understands: {text!r} (examples: '30d', '3d 5h 20m', '3600')"
        )
    return value


# -- results ---------------------------------------------------------------------------


class SaveStatus(enum.StrEnum):
    """What became of one URL; the README documents each value."""

    SAVED = "saved"  # a new capture was made
    RECENTLY_ARCHIVED = "recently-archived"  # a capture younger than the window was reused
    ERROR = "error"  # SPN2 refused or failed the capture (error_code says why)
    PENDING_TIMEOUT = "pending-timeout"  # still pending when we stopped waiting
    SKIPPED = "skipped"  # not submitted: the link is not alive

    @property
    def is_success(self) -> bool:
        return self in (SaveStatus.SAVED, SaveStatus.RECENTLY_ARCHIVED)


@dataclass(frozen=True)
class SaveResult(_Serialisable):
    url: str
    status: SaveStatus
    message: str
    memento_url: str | None = None  # the capture in the Wayback Machine
    timestamp: str | None = None  # ISO 8601 time of that capture
    job_id: str | None = None  # SPN2's job; its status stays at <endpoint>/status/<job_id>
    error_code: str | None = None  # SPN2's status_ext, e.g. "error:too-many-daily-captures"


@dataclass(frozen=True)
class Quota(_Serialisable):
    """The user's SPN2 quota as ``/save/status/user`` gave it (fields it omits are None)."""

    available: int | None
    processing: int | None
    daily_captures: int | None = None
    daily_captures_limit: int | None = None

    def describe(self) -> str:
        parts = [f"{self.available if self.available is not None else '?'} available"]
        parts.append(f"{self.processing if self.processing is not None else '?'} processing")
        if self.daily_captures is not None and self.daily_captures_limit is not None:
            parts.append(f"{self.daily_captures}/{self.daily_captures_limit} captures today")
        return ", ".join(parts)


@dataclass(frozen=True)
class SaveReport(_Serialisable):
    quota: Quota | None  # None when nothing was submitted
    results: tuple[SaveResult, ...]

    @property
    def all_saved(self) -> bool:
        return all(result.status.is_success for result in self.results)

    def summary(self) -> dict[str, int]:
        counts = {status.value: 0 for status in SaveStatus}
        for result in self.results:
            counts[result.status.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["summary"] = self.summary()
        return data


# -- talking to SPN2 -------------------------------------------------------------------


class _Stopped(Exception):
    """SPN2 told us to stop; the message says how."""


@dataclass(frozen=True)
class _Reply:
    status: int
    data: dict[str, Any] | None  # the JSON object answered, if it was one
    retry_after: str | None

    def field(self, name: str) -> str:
        value = (self.data or {}).get(name)
        return value.strip() if isinstance(value, str) else ""


class _Throttle:
    """What all workers share about SPN2 telling us to slow down.

    The first 429/503 pauses every worker for the Retry-After asked. A request refused
    that was sent before the pause began is the same refusal and is retried after it; a
    refusal of a request sent after the pause stops all traffic to SPN2 for the run.
    """

    def __init__(self, max_pause: float, sleep: Sleep, monotonic: Monotonic) -> None:
        self._max_pause = max_pause
        self._sleep = sleep
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self._pauses = 0
        self._paused_for = 0.0
        self.stopped: str | None = None

    def before_request(self) -> int:
        """Wait out a pause; the ticket says how many pauses had begun when the request left."""
        with self._lock:
            resume_at, ticket = self._resume_at, self._pauses
        delay = resume_at - self._monotonic()
        if delay > 0:
            self._sleep(delay)
        if self.stopped is not None:
            raise _Stopped(self.stopped)
        return ticket

    def refused(self, ticket: int, status: int, retry_after: str | None) -> None:
        """Record a 429/503; returns when the request may be sent again, else raises _Stopped."""
        asked = parse_retry_after(retry_after)
        with self._lock:
            if self.stopped is None and ticket >= self._pauses:
                what = f"Save Page Now refused a request (HTTP {status})"
                if self._pauses:
                    self.stopped = (
                        f"{what} again after the {self._paused_for:g}s pause it asked for; "
                        "stopped sending it requests for this run"
                    )
                elif asked is not None and asked > self._max_pause:
                    self.stopped = (
                        f"{what} and asked for a {asked:g}s pause, longer than the "
                        f"{self._max_pause:g}s we wait; try again later"
                    )
                else:
                    self._paused_for = (
                        min(DEFAULT_PAUSE, self._max_pause) if asked is None else asked
                    )
                    self._pauses += 1
                    self._resume_at = self._monotonic() + self._paused_for
            stopped = self.stopped
        if stopped is not None:
            raise _Stopped(stopped)


class _SpnClient:
    """Authenticated requests to one SPN2 endpoint through one session."""

    def __init__(
        self,
        session: requests.Session,
        settings: Settings,
        keys: InternetArchiveKeys,
        throttle: _Throttle,
    ) -> None:
        self._session = session
        self._settings = settings
        self._keys = keys
        self._throttle = throttle
        self.endpoint = settings.spn_endpoint.rstrip("/")

    def status_url(self, job_id: str) -> str:
        return f"{self.endpoint}/status/{job_id}"

    def request(self, method: str, url: str, form: Mapping[str, str] | None = None) -> _Reply:
        """One request, sent again once after a pause SPN2 asked for; raises _Stopped or
        the ``NetworkError`` subclasses."""
        while True:
            ticket = self._throttle.before_request()
            reply = self._send(method, url, form)
            if reply.status not in THROTTLE_STATUSES:
                return reply
            self._throttle.refused(ticket, reply.status, reply.retry_after)

    def _send(self, method: str, url: str, form: Mapping[str, str] | None) -> _Reply:
        answer = fetch(
            self._session,
            url,
            self._settings,
            method=method,
            headers={"Accept": "application/json", "Authorization": self._keys.authorization},
            data=form,
            allow_redirects=False,
            max_bytes=SPN_BODY_LIMIT,
        )
        data = None if answer.truncated else _json_object(answer.body)
        return _Reply(answer.status, data, answer.header("Retry-After"))

    def quota(self) -> Quota:
        """The user's quota; also proves the keys and the endpoint before any submission."""
        where = f"Save Page Now at {self.endpoint}"
        try:
            reply = self.request("GET", self.status_url("user"))
        except _Stopped as e:
            raise NetworkError(str(e)) from e
        except NetworkError as e:
            raise e.with_context(where) from e
        if reply.status in (401, 403):
            said = f": {reply.field('message')}" if reply.field("message") else ""
            raise SetupError(
                f"Save Page Now refused the keys from {self._keys.source} "
                f"(HTTP {reply.status}){said}"
            )
        if reply.status != 200 or reply.data is None:
            raise NetworkError(
                f"{where} does not answer like Save Page Now "
                f"(HTTP {reply.status} for /status/user{'' if reply.data else ', not JSON'})"
            )
        data = reply.data
        return Quota(
            available=_int_or_none(data.get("available")),
            processing=_int_or_none(data.get("processing")),
            daily_captures=_int_or_none(data.get("daily_captures")),
            daily_captures_limit=_int_or_none(data.get("daily_captures_limit")),
        )


class _Saver:
    """Submits one URL and follows its job to the end."""

    def __init__(
        self,
        client: _SpnClient,
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
        except _Stopped as e:
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
            except _Stopped as e:
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
        self, url: str, reply: _Reply, job_id: str, notice: str, submitted_at: datetime
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


def _refusal(url: str, reply: _Reply, job_id: str | None) -> SaveResult:
    code = reply.field("status_ext") or None
    said = reply.field("message")
    if reply.status in (401, 403):
        message = f"Save Page Now refused the keys (HTTP {reply.status})"
    elif said:
        message = said
    else:
        message = f"Save Page Now answered HTTP {reply.status}" + (f" ({code})" if code else "")
    return SaveResult(url, SaveStatus.ERROR, message, job_id=job_id, error_code=code)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# -- running ---------------------------------------------------------------------------


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
    throttle = _Throttle(settings.max_retry_after, sleep, monotonic)
    with build_session(settings) as session:
        quota = _SpnClient(session, settings, keys, throttle).quota()

    results: list[SaveResult | None] = [None] * len(unique)
    queue = list(enumerate(unique))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work() -> None:
        try:
            with build_session(settings) as session:
                saver = _Saver(
                    _SpnClient(session, settings, keys, throttle), settings, sleep, monotonic, clock
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
