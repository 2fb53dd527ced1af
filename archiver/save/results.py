"""What a Save Page Now run reports: one ``SaveResult`` per URL, the quota, a summary.

Plain values that serialise to JSON (the README documents each status); the run
(``archiver.save.run``) makes them, the report renderers read them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from archiver.models import _Serialisable


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
    offline: bool = False  # the links could not be checked: this machine seems offline

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
