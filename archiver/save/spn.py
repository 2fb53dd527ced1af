"""The Save Page Now 2 client: authenticated requests to SPN2, and the pause it asks for.

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

Every request, the POST included, goes through ``archiver.net.http.fetch``: the same
session, size cap and typed transport errors as any other request. Whatever SPN2 answers,
and every error of a request carrying the keys, has the keys taken out
(``InternetArchiveKeys.redact``) before anything can show or store it. What to submit and how
to follow a job is ``archiver.save.run``'s; the keys are ``archiver.save.keys``'s.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from archiver.config import Settings
from archiver.errors import InputError, NetworkError, SetupError, Throttled
from archiver.net.http import fetch
from archiver.net.polite import CdxRateLimiter
from archiver.net.retry_after import parse_retry_after, pause_within
from archiver.save.keys import InternetArchiveKeys
from archiver.save.results import Quota

SPN_BODY_LIMIT = 256 * 1024  # SPN2 answers are small JSON objects
DEFAULT_PAUSE = 10.0  # seconds to pause after a 429/503 that gives no Retry-After
THROTTLE_STATUSES = (429, 503)
_WITHIN = re.compile(r"^\d+[smhd]?(\s+\d+[smhd]?)*$", re.IGNORECASE)

Sleep = Callable[[float], None]
Monotonic = Callable[[], float]


def validate_within(text: str) -> str:
    """SPN2's ``if_not_archived_within``: '30d', '3d 5h 20m', or a number of seconds."""
    value = " ".join(text.split())
    if not _WITHIN.match(value):
        raise InputError(
            f"not an age SPN2 understands: {text!r} (examples: '30d', '3d 5h 20m', '3600')"
        )
    return value


@dataclass(frozen=True)
class SpnReply:
    """One answer of SPN2: its status, the JSON object it held (if it was one), and the
    ``Retry-After`` it asked for."""

    status: int
    data: dict[str, Any] | None
    retry_after: str | None

    def field(self, name: str) -> str:
        value = (self.data or {}).get(name)
        return value.strip() if isinstance(value, str) else ""


class SpnThrottle:
    """What all workers share about SPN2 telling us to slow down.

    Where the rules are the archives' (``archiver.net.polite``), the code is theirs: the
    pause is read from ``Retry-After`` and waited out only when it is at most
    ``max_pause`` (``archiver.net.retry_after``), and it is kept the way an archive's is,
    by holding the endpoint in a ``CdxRateLimiter`` that every worker waits on.

    Where they differ, they differ because SPN2's limits belong to the account (captures
    in flight, captures a day), not to a request rate:

    - one pause per run, not one retry per request: the first 429/503 pauses every
      worker. A request refused that was sent before the pause began is the same refusal
      and is retried after it; a refusal of a request sent after the pause means the
      account is still at its limit, and stops all traffic to SPN2 for the run (a client
      that keeps going through 429s gets firewalled).
    - a 429/503 without ``Retry-After`` pauses ``DEFAULT_PAUSE`` seconds instead of
      failing at once: the run has one pause to spend, and a refusal after it stops the
      run anyway, so trying once more costs at most one more refused request.
    """

    _ENDPOINT = "spn"  # the one endpoint the limiter holds

    def __init__(self, max_pause: float, sleep: Sleep, monotonic: Monotonic) -> None:
        self._max_pause = max_pause
        self._pace = CdxRateLimiter(clock=monotonic, sleep=sleep)
        self._lock = threading.Lock()
        self._pauses = 0
        self._paused_for = 0.0
        self.stopped: str | None = None

    def before_request(self) -> int:
        """Wait out a pause; the ticket says how many pauses had begun when the request left."""
        with self._lock:
            ticket = self._pauses
        self._pace.wait(self._ENDPOINT, 0.0)
        if self.stopped is not None:
            raise Throttled(self.stopped)
        return ticket

    def refused(self, ticket: int, status: int, retry_after: str | None) -> None:
        """Record a 429/503; returns when the request may be sent again, else raises
        ``Throttled``."""
        asked = parse_retry_after(retry_after)
        with self._lock:
            if self.stopped is None and ticket >= self._pauses:
                what = f"Save Page Now refused a request (HTTP {status})"
                pause = pause_within(asked, self._max_pause, min(DEFAULT_PAUSE, self._max_pause))
                if self._pauses:
                    self.stopped = (
                        f"{what} again after the {self._paused_for:g}s pause it asked for; "
                        "stopped sending it requests for this run"
                    )
                elif pause is None:
                    self.stopped = (
                        f"{what} and asked for a {asked:g}s pause, longer than the "
                        f"{self._max_pause:g}s we wait; try again later"
                    )
                else:
                    self._paused_for = pause
                    self._pauses += 1
                    self._pace.hold(self._ENDPOINT, pause)
            stopped = self.stopped
        if stopped is not None:
            raise Throttled(stopped)


class SpnClient:
    """Authenticated requests to one SPN2 endpoint through one session."""

    def __init__(
        self,
        session: requests.Session,
        settings: Settings,
        keys: InternetArchiveKeys,
        throttle: SpnThrottle,
    ) -> None:
        self._session = session
        self._settings = settings
        self._keys = keys
        self._throttle = throttle
        self.endpoint = settings.spn_endpoint.rstrip("/")

    def status_url(self, job_id: str) -> str:
        return f"{self.endpoint}/status/{job_id}"

    def request(self, method: str, url: str, form: Mapping[str, str] | None = None) -> SpnReply:
        """One request, sent again once after a pause SPN2 asked for; raises ``Throttled``
        when SPN2 is not to be asked again, or the other ``NetworkError`` subclasses."""
        while True:
            ticket = self._throttle.before_request()
            try:
                answer = fetch(
                    self._session,
                    url,
                    self._settings,
                    method=method,
                    headers={
                        "Accept": "application/json",
                        "Authorization": self._keys.authorization,
                    },
                    data=form,
                    allow_redirects=False,
                    max_bytes=SPN_BODY_LIMIT,
                )
            except NetworkError as e:
                # Not chained: the HTTP library's own error may quote the header sent.
                raise type(e)(self._keys.redact(str(e))) from None
            data = None if answer.truncated else _json_object(answer.body)
            reply = SpnReply(answer.status, self._redacted(data), answer.header("Retry-After"))
            if reply.status not in THROTTLE_STATUSES:
                return reply
            self._throttle.refused(ticket, reply.status, reply.retry_after)

    def _redacted(self, value: Any) -> Any:
        """An answer's JSON with the keys taken out of every text, should SPN2 quote them."""
        if isinstance(value, str):
            return self._keys.redact(value)
        if isinstance(value, dict):
            return {self._keys.redact(k): self._redacted(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redacted(item) for item in value]
        return value

    def quota(self) -> Quota:
        """The user's quota; also proves the keys and the endpoint before any submission."""
        where = f"Save Page Now at {self.endpoint}"
        try:
            reply = self.request("GET", self.status_url("user"))
        except Throttled:
            raise
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


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
