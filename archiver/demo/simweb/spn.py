"""A stand-in for the Internet Archive's Save Page Now 2 (SPN2) API, on loopback.

It speaks the protocol of the "SPN2 public API docs" as real clients meet it:

- ``POST /save`` with ``Authorization: LOW <access>:<secret>`` and a form body
  (``url``, ``if_not_archived_within``, ...) answers ``{"url", "job_id"}``; when a capture
  younger than ``if_not_archived_within`` exists it answers the same plus a ``message``
  ("The same snapshot had been made ... ago"), and the job reports that older capture.
  Refusals come as JSON with HTTP 200: ``{"status": "error", "status_ext", "message"}``.
- ``GET /save/status/<job_id>`` answers ``pending`` until the job is done, then ``success``
  (``timestamp``, ``original_url``, ``duration_sec``) or ``error`` (``status_ext``, ``message``).
- ``GET /save/status/user`` gives the user's quota: ``available``, ``processing``,
  ``daily_captures``, ``daily_captures_limit``.
- A request without the right keys gets 401, as anonymous POSTs to the real service do.

What each URL does is planned with ``CapturePlan``; ``throttle`` makes the next requests
answer 429 with a ``Retry-After``; ``session_limit`` refuses captures beyond that many in
flight (``error:user-session-limit``), which is how a test sees a client overrun it.
Everything the server was asked is kept in ``requests`` for the tests to inspect.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from archiver.dates import to_wayback_timestamp, utcnow
from archiver.demo.simweb.serving import ThreadedService

LOGIN_REQUIRED = "You need to be logged in to use Save Page Now."
_WITHIN_PART = re.compile(r"(\d+)\s*([smhd]?)", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class CapturePlan:
    """How a capture job for one URL goes."""

    pending_polls: int = 1  # status polls answered "pending" before the job ends
    error: str | None = None  # the job ends with this status_ext, e.g. "error:blocked-url"
    refuse: str | None = None  # the submission itself is refused with this status_ext
    message: str = ""  # the message sent with ``error`` or ``refuse``
    duration_sec: float = 2.5


@dataclass(frozen=True)
class SpnRequest:
    method: str
    path: str
    form: dict[str, str]
    authorized: bool
    authorization: str | None  # as sent, so a test can check what a client put there


@dataclass
class _Job:
    job_id: str
    url: str
    plan: CapturePlan
    timestamp: str
    reused: bool
    polls: int = 0
    finished: bool = False


@dataclass
class _Throttle:
    remaining: int
    retry_after: str | None
    methods: tuple[str, ...]
    path_prefix: str


class SpnServer(ThreadedService):
    """Serve the SPN2 API on 127.0.0.1; use as a context manager.

    ``endpoint`` is what a client uses as its save endpoint (``.../save``). Only requests
    carrying ``LOW <access_key>:<secret_key>`` are served.
    """

    def __init__(
        self,
        access_key: str = "spn-test-access",
        secret_key: str = "spn-test-secret",
        *,
        default_plan: CapturePlan | None = None,
        session_limit: int | None = None,  # captures in flight allowed per user
        daily_limit: int = 100_000,
        reuse_message: bool = True,  # say "The same snapshot had been made ..." on reuse
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.default_plan = default_plan or CapturePlan()
        self.session_limit = session_limit
        self.daily_limit = daily_limit
        self.reuse_message = reuse_message
        self.clock = clock
        self.plans: dict[str, CapturePlan] = {}
        self.captures: dict[str, list[datetime]] = {}  # url -> times it was captured
        self.requests: list[SpnRequest] = []
        self.peak_processing = 0
        self._jobs: dict[str, _Job] = {}
        self._daily_captures = 0
        self._throttle: _Throttle | None = None
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.spn = self

    # -- configuring ----------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://{self.address}/save"

    def plan(self, url: str, plan: CapturePlan) -> None:
        self.plans[url] = plan

    def add_capture(self, url: str, when: datetime) -> None:
        """An existing capture of ``url``, which ``if_not_archived_within`` may reuse."""
        self.captures.setdefault(url, []).append(when)

    def throttle(
        self,
        times: int,
        retry_after: str | None = "1",
        methods: tuple[str, ...] = ("POST",),
        path_prefix: str = "/save",
    ) -> None:
        """Answer the next ``times`` requests of ``methods`` to paths starting with
        ``path_prefix`` with 429 and ``Retry-After``."""
        with self._lock:
            self._throttle = _Throttle(times, retry_after, methods, path_prefix)

    def posts(self) -> list[SpnRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def status_polls(self) -> list[SpnRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.startswith("/save/status/") and r.path != "/save/status/user"
            ]

    # -- answering (called from the handler threads) --------------------------------

    def _answer(
        self, method: str, path: str, form: dict[str, str], authorization: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        authorized = authorization == f"LOW {self.access_key}:{self.secret_key}"
        with self._lock:
            self.requests.append(SpnRequest(method, path, form, authorized, authorization))
            throttle = self._throttle
            if (
                throttle is not None
                and throttle.remaining > 0
                and method in throttle.methods
                and path.startswith(throttle.path_prefix)
            ):
                throttle.remaining -= 1
                headers = {"Retry-After": throttle.retry_after} if throttle.retry_after else {}
                body = {
                    "status": "error",
                    "status_ext": "error:too-many-requests",
                    "message": "Too many requests. Please slow down.",
                }
                return 429, body, headers
            if not authorized:
                return 401, {"status": "error", "message": LOGIN_REQUIRED}, {}
            if method == "POST" and path.rstrip("/") == "/save":
                return self._submit(form)
            if method == "GET" and path == "/save/status/user":
                return 200, self._quota(), {}
            if method == "GET" and path.startswith("/save/status/"):
                return self._status(path.removeprefix("/save/status/"))
            return 404, {"status": "error", "message": "Not found"}, {}

    def _processing(self) -> int:
        return sum(1 for job in self._jobs.values() if not job.finished)

    def _quota(self) -> dict[str, Any]:
        return {
            "available": max(self.daily_limit - self._daily_captures, 0),
            "processing": self._processing(),
            "daily_captures": self._daily_captures,
            "daily_captures_limit": self.daily_limit,
        }

    def _submit(self, form: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        url = form.get("url", "").strip()
        if not url:
            return 200, _error("error:invalid-url-syntax", "The URL is missing."), {}
        plan = self.plans.get(url, self.default_plan)
        if plan.refuse is not None:
            return 200, _error(plan.refuse, plan.message), {}
        if self._daily_captures >= self.daily_limit:
            message = "You have reached your daily limit of captures."
            return 200, _error("error:too-many-daily-captures", message), {}
        if self.session_limit is not None and self._processing() >= self.session_limit:
            message = (
                f"You cannot make more than {self.session_limit} captures at the same time; "
                "please wait for one to finish."
            )
            return 200, _error("error:user-session-limit", message), {}
        now = self.clock()
        job_id = "spn2-" + hashlib.sha1(f"{url} {len(self._jobs)}".encode()).hexdigest()
        answer: dict[str, Any] = {"url": url, "job_id": job_id}
        recent = self._recent_capture(url, form.get("if_not_archived_within", ""), now)
        if recent is not None:
            job = _Job(
                job_id, url, CapturePlan(pending_polls=0), to_wayback_timestamp(recent), True
            )
            if self.reuse_message:
                answer["message"] = (
                    f"The same snapshot had been made {_ago(now - recent)} ago. "
                    "You can make new capture of this URL after "
                    f"{form.get('if_not_archived_within')}."
                )
        else:
            job = _Job(job_id, url, plan, to_wayback_timestamp(now), False)
            self._daily_captures += 1
            if plan.error is None:
                self.captures.setdefault(url, []).append(now)
        self._jobs[job_id] = job
        self.peak_processing = max(self.peak_processing, self._processing())
        return 200, answer, {}

    def _recent_capture(self, url: str, within: str, now: datetime) -> datetime | None:
        window = _within_seconds(within)
        if window is None or not self.captures.get(url):
            return None
        latest = max(self.captures[url])
        return latest if (now - latest).total_seconds() <= window else None

    def _status(self, job_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        job = self._jobs.get(job_id)
        if job is None:
            return 404, _error("error:not-found", f"Job {job_id} not found."), {}
        job.polls += 1
        if job.polls <= job.plan.pending_polls:
            return 200, {"status": "pending", "job_id": job_id, "resources": []}, {}
        job.finished = True
        if job.plan.error is not None:
            body = _error(job.plan.error, job.plan.message)
            body["job_id"] = job_id
            return 200, body, {}
        return (
            200,
            {
                "status": "success",
                "job_id": job_id,
                "original_url": job.url,
                "timestamp": job.timestamp,
                "duration_sec": job.plan.duration_sec,
                "http_status": 200,
                "resources": [job.url],
            },
            {},
        )


def _error(status_ext: str, message: str) -> dict[str, Any]:
    return {"status": "error", "status_ext": status_ext, "message": message}


def _within_seconds(text: str) -> float | None:
    """SPN2's timedelta syntax: '30d', '3d 5h 20m' or a number of seconds."""
    parts = _WITHIN_PART.findall(text or "")
    if not parts:
        return None
    return float(sum(int(number) * _UNIT_SECONDS[unit.lower()] for number, unit in parts))


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} minutes"
    if minutes < 48 * 60:
        return f"{minutes // 60} hours"
    return f"{minutes // (24 * 60)} days"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    spn: SpnServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return  # keep test output quiet

    def do_GET(self) -> None:
        self._reply({})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        form = {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
        self._reply(form)

    def _reply(self, form: dict[str, str]) -> None:
        path = urlsplit(self.path).path
        status, body, headers = self.server.spn._answer(
            self.command, path, form, self.headers.get("Authorization")
        )
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
