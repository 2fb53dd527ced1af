"""The state file: an embedded SQLite database kept between runs.

It holds every link check ever made (not only the last), so that a rerun can reuse fresh
verdicts and later work can decide "dead" from a history of failures days apart rather
than from one bad answer. SQLite because it is in the standard library, survives a
killed process (each write is a transaction) and can be opened by anyone with sqlite3.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from types import TracebackType

from archiver.dates import parse_iso
from archiver.errors import StoreError
from archiver.models import LinkCheck, Verdict

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    verdict TEXT NOT NULL,
    http_status INTEGER,
    final_url TEXT,
    reason TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    method TEXT
);
CREATE INDEX IF NOT EXISTS checks_by_url ON checks (url, checked_at);
"""


class State:
    """A connection to the state file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open state file {path}: {e}") from e
        self._lock = threading.Lock()

    def record_check(self, check: LinkCheck) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO checks (url, verdict, http_status, final_url, reason, checked_at,"
                " method) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    check.url,
                    check.verdict.value,
                    check.http_status,
                    check.final_url,
                    check.reason,
                    check.checked_at,
                    check.method,
                ),
            )

    def history(self, url: str) -> list[LinkCheck]:
        """Every recorded check of ``url``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT url, verdict, http_status, final_url, reason, checked_at, method"
                " FROM checks WHERE url = ? ORDER BY checked_at, id",
                (url,),
            ).fetchall()
        return [_row_to_check(row) for row in rows]

    def fresh_check(self, url: str, max_age: float, now: datetime) -> LinkCheck | None:
        """The latest check of ``url`` if it is younger than ``max_age`` seconds."""
        history = self.history(url)
        if not history:
            return None
        latest = history[-1]
        age = (now - parse_iso(latest.checked_at)).total_seconds()
        if 0 <= age <= max_age:
            return latest
        return None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> State:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _row_to_check(row: tuple[object, ...]) -> LinkCheck:
    url, verdict, status, final_url, reason, checked_at, method = row
    return LinkCheck(
        url=str(url),
        verdict=Verdict(str(verdict)),
        http_status=int(status) if isinstance(status, int) else None,
        final_url=str(final_url) if final_url is not None else None,
        reason=str(reason),
        checked_at=str(checked_at),
        method=str(method) if method is not None else None,
    )
