"""The state file: an embedded SQLite database kept between runs.

It holds every link check ever made (not only the last), so that a rerun can reuse fresh
verdicts and later work can decide "dead" from a history of failures days apart rather
than from one bad answer. SQLite because it is in the standard library, survives a
killed process (each write is a transaction) and can be opened by anyone with sqlite3:
the checks are in ``checks``, the latest perhaps still in ``checks_new`` (see
``State.record_checks``).

It changes on every run, so it is kept outside the store, whose files are what an
archivist preserves (where, and why: ``archiver.config``). Earlier versions kept it in
the store as ``state.sqlite``; ``open_state`` copies such a file to its new place the
first time, and leaves the old one as it was.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

from archiver.config import Settings
from archiver.dates import parse_iso
from archiver.durable import file_error, fsync_directory
from archiver.errors import DiskFull, StateError, StoreError
from archiver.models import LinkCheck, Verdict

log = logging.getLogger(__name__)

OLD_STATE_NAME = "state.sqlite"  # where earlier versions kept the state: in the store

# The fields of a check, in ``checks`` and in ``checks_new`` alike.
_CHECK_FIELDS = """
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    verdict TEXT NOT NULL,
    http_status INTEGER,
    final_url TEXT,
    reason TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    method TEXT
"""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS checks ({_CHECK_FIELDS});
CREATE INDEX IF NOT EXISTS checks_by_url ON checks (url, checked_at);
-- Checks as they arrive, not yet in ``checks`` (see ``State.record_checks``).
CREATE TABLE IF NOT EXISTS checks_new ({_CHECK_FIELDS});

-- archiver.archives.cache: what archives answered, so a rerun need not ask them again.
CREATE TABLE IF NOT EXISTS archive_lookups (
    archive TEXT NOT NULL,
    url TEXT NOT NULL,
    moment TEXT NOT NULL,  -- the Wayback timestamp looked up around ('' for "newest")
    kind TEXT NOT NULL,  -- 'replay' (closest capture), 'cdx:<limit>' or 'list:<limit>'
    mementos TEXT NOT NULL,  -- JSON list of Memento.to_dict()
    looked_up_at TEXT NOT NULL,
    expires_at TEXT,  -- NULL: settled for good
    PRIMARY KEY (archive, url, moment, kind)
);
CREATE TABLE IF NOT EXISTS memento_verdicts (
    raw_url TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,  -- JSON of lookup_cache.ContentVerdict
    judged_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memento_passages (
    raw_url TEXT NOT NULL,
    passage TEXT NOT NULL,  -- sha1 of the quoted passage
    found TEXT NOT NULL,  -- the quote's verdict (archiver.quotes), then its details, by line
    score REAL NOT NULL,
    PRIMARY KEY (raw_url, passage)
);
"""


_COLUMNS = "url, verdict, http_status, final_url, reason, checked_at, method"
# Moves the checks recorded since into the history, sorted as its index is (so each page
# of the index is written once, not once a row), in their order of arrival for one URL
# and second; part of one transaction with the DELETE after it.
_MOVE_NEW = (
    f"INSERT INTO checks ({_COLUMNS}) SELECT {_COLUMNS} FROM checks_new"
    " ORDER BY url, checked_at, id"
)
_URLS_PER_QUERY = 500  # bound parameters per query; old SQLite builds allow 999
_BUSY_TIMEOUT = 30.0  # seconds to wait for another process's write before giving up

# What went wrong with the state file, and what its user can do, by SQLite's primary
# result code (https://sqlite.org/rescode.html); the others keep SQLite's own words.
_SQLITE_TROUBLE = {
    "SQLITE_BUSY": (
        "is locked by another process, for longer than archiver waits",
        "let it finish, or give another file with --state",
    ),
    "SQLITE_LOCKED": ("is locked", "let the other run finish, or give another file with --state"),
    "SQLITE_CORRUPT": (
        "is damaged",
        "move it aside (a new history starts) or give another file with --state",
    ),
    "SQLITE_NOTADB": (
        "is not an SQLite database",
        "move it aside (a new history starts) or give another file with --state",
    ),
    "SQLITE_FULL": ("cannot grow: the disk is full", "free some space, then run again"),
    "SQLITE_READONLY": (
        "is read-only",
        "make it and its folder writable, or give another file with --state",
    ),
    "SQLITE_CANTOPEN": (
        "cannot be opened",
        "check that its folder exists and is writable, or give another file with --state",
    ),
    "SQLITE_PERM": ("cannot be accessed", "give this user access, or use --state"),
    "SQLITE_IOERR": (
        "could not be read or written (a disk I/O error)",
        "check that the disk has room and works, then run again",
    ),
}


def state_error(error: sqlite3.Error | OSError, path: Path) -> StoreError:
    """``error`` from the state file at ``path`` as one line: what is wrong with the file,
    and what to do (``DiskFull`` when the disk is full); raise it ``from error``."""
    if isinstance(error, OSError):
        return file_error(error, path)
    code = getattr(error, "sqlite_errorcode", None)
    name = _PRIMARY_NAMES.get(code & 0xFF) if isinstance(code, int) else None
    what, todo = _SQLITE_TROUBLE.get(name or "", (f"cannot be used ({error})", ""))
    message = f"the state file {path} {what}" + (f"; {todo}" if todo else "")
    return (DiskFull if name == "SQLITE_FULL" else StateError)(message)


_PRIMARY_NAMES = {
    getattr(sqlite3, name): name for name in _SQLITE_TROUBLE if hasattr(sqlite3, name)
}


@contextlib.contextmanager
def _reported(path: Path) -> Iterator[None]:
    """SQLite's (and the file system's) errors about the state file as ``state_error``."""
    try:
        yield
    except (sqlite3.Error, OSError) as e:
        raise state_error(e, path) from e


class State:
    """A connection to the state file; safe to share between threads.

    ``busy_timeout`` is how long a statement waits for another process's write to end.
    """

    def __init__(self, path: Path, *, busy_timeout: float = _BUSY_TIMEOUT) -> None:
        self.path = path
        if path.is_dir():
            raise StateError(
                f"the state file {path} is a folder: move it out of the way, or give "
                "another file with --state"
            )
        with _reported(path):
            # 0700: the history lists every URL its user checked, for no one else to read
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=busy_timeout)
            try:
                # In one transaction: a new file is synced to disk once, not once a statement.
                self._db.executescript(f"BEGIN;\n{_SCHEMA}\nCOMMIT;")
                self._move_new_checks()  # what a run killed before its end recorded
            except sqlite3.Error:
                self._db.close()
                raise
        self._lock = threading.Lock()

    def record_check(self, check: LinkCheck) -> None:
        self.record_checks([check])

    def record_checks(self, checks: Iterable[LinkCheck]) -> None:
        """Add checks to the history in one transaction (one disk sync, not one each).

        They go to a table of their own, with no index, and into the history's table
        (``move_new_checks``) when it is read, when a State is opened, and when a run
        asks. Writing each batch of a long run into the indexed table cost a page of
        its index a row (the URLs come in no order): 200,000 checks written 3,640 at a
        time (scenario C's half second) took 1.6 s of CPU, half of it the system's; the
        same appended 0.55 s, then moved at once, sorted, 0.28 s more, when the CPU is
        idle (``bench/history_writes.py``).
        """
        rows = [
            (
                c.url,
                _VERDICT_VALUES[c.verdict],
                c.http_status,
                c.final_url,
                c.reason,
                c.checked_at,
                c.method,
            )
            for c in checks
        ]
        with self._lock, _reported(self.path), self._db:
            self._db.executemany(
                f"INSERT INTO checks_new ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )

    def move_new_checks(self) -> None:
        """Move the checks recorded since the last move (by any process) into the
        history's table, in one transaction: a process killed meanwhile leaves them where
        they were, and two processes moving at once move each row once."""
        with self._lock, _reported(self.path):
            self._move_new_checks()

    def _move_new_checks(self) -> None:
        if self._db.execute("SELECT 1 FROM checks_new LIMIT 1").fetchone() is None:
            return  # nothing to move: no write lock taken
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(_MOVE_NEW)
            self._db.execute("DELETE FROM checks_new")

    def history(self, url: str) -> list[LinkCheck]:
        """Every recorded check of ``url``, oldest first."""
        with self._lock, _reported(self.path):
            self._move_new_checks()
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM checks WHERE url = ? ORDER BY checked_at, id", (url,)
            ).fetchall()
        return [_row_to_check(row) for row in rows]

    def histories(self, urls: Iterable[str]) -> dict[str, list[LinkCheck]]:
        """``history`` of many URLs in a few queries (an article can cite thousands), by
        URL in the order given; an empty list for a URL never checked."""
        wanted = list(dict.fromkeys(urls))
        found: dict[str, list[LinkCheck]] = {url: [] for url in wanted}
        found.update(self.recorded_histories(wanted))
        return found

    def recorded_histories(self, urls: Sequence[str]) -> dict[str, list[LinkCheck]]:
        """``history`` of those of ``urls`` (distinct) that were checked before; the
        others are left out (on a long list, often all: 200,000 empty lists were 20 MB
        and a tenth of a second).

        Each query looks up a slice of the URLs with ``IN``, in the order of the index on
        (url, checked_at), so SQLite neither fills a temporary table nor sorts the rows.
        """
        found: dict[str, list[LinkCheck]] = {}
        # A long history is tens of thousands of new objects and no reference cycles: the
        # garbage collector's passes over them while they are made would find nothing.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with self._lock, _reported(self.path):
                self._move_new_checks()
                for start in range(0, len(urls), _URLS_PER_QUERY):
                    part = urls[start : start + _URLS_PER_QUERY]
                    rows = self._db.execute(
                        f"SELECT {_COLUMNS} FROM checks WHERE url IN ({', '.join('?' * len(part))})"
                        " ORDER BY url, checked_at, id",
                        part,
                    ).fetchall()
                    for row in rows:
                        found.setdefault(str(row[0]), []).append(_row_to_check(row))
        finally:
            if collecting:
                gc.enable()
        return found

    def execute(self, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run one statement in its own transaction and return its rows.

        For modules that keep their own tables in the state file (``lookup_cache``).
        """
        with self._lock, _reported(self.path), self._db:
            return self._db.execute(sql, parameters).fetchall()

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


def open_state(settings: Settings) -> State:
    """The state file of ``settings`` (``settings.state_file``), opened.

    Without ``--state``, the history an older version kept in the store
    (``STORE/state.sqlite``) is first copied to the new place, once, with a warning. The
    old file is never written again nor deleted: nothing of the history is lost, and a bag
    or checksum list that holds the file stays true.
    """
    path = settings.state_file
    if settings.state_path is None:
        old = settings.store / OLD_STATE_NAME
        if old.is_file() and not path.exists() and _copy_old_state(old, path):
            log.warning(
                "the check history is now kept outside the store, in %s: copied from %s,"
                " which is no longer used or changed (delete it, or keep it if the store"
                " was bagged or hashed with it)",
                path,
                old,
            )
    return State(path)


def _copy_old_state(old: Path, new: Path) -> bool:
    """Copy the state file ``old`` to ``new``; False if ``new`` exists by then.

    SQLite's backup API reads ``old`` read-only and as one consistent snapshot (a plain
    file copy could catch a writer of an older version halfway). The copy is made beside
    ``new`` and hard-linked into place, which fails if ``new`` exists: when two processes
    copy at once, the first copy stays, with whatever was written to it since.
    """
    partial = new.with_name(f".{new.name}.{os.getpid()}.copying")
    try:
        new.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        source = sqlite3.connect(f"{old.resolve().as_uri()}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(partial)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
        try:
            os.link(partial, new)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: a narrower race, same result
            if new.exists():
                return False
            os.replace(partial, new)
        fsync_directory(new.parent)
        return True
    except (OSError, sqlite3.Error) as e:
        raise StoreError(
            f"cannot copy the check history from {old} to {new}: {e};"
            f" to use it where it is, pass --state {old}"
        ) from e
    finally:
        partial.unlink(missing_ok=True)


def latest_if_fresh(history: list[LinkCheck], max_age: float, now: datetime) -> LinkCheck | None:
    """The last of ``history`` if it is younger than ``max_age`` seconds."""
    if not history:
        return None
    latest = history[-1]
    age = (now - parse_iso(latest.checked_at)).total_seconds()
    return latest if 0 <= age <= max_age else None


_VERDICTS: dict[object, Verdict] = {verdict.value: verdict for verdict in Verdict}
# The other way: a dict look-up, not the enum's ``value`` property (~1 us each)
_VERDICT_VALUES: dict[Verdict, str] = {verdict: verdict.value for verdict in Verdict}


def _row_to_check(row: tuple[object, ...]) -> LinkCheck:
    url, verdict, status, final_url, reason, checked_at, method = row
    return LinkCheck(  # positional: one per row of a long history, and keywords cost
        str(url),
        _VERDICTS.get(verdict) or Verdict(str(verdict)),
        int(status) if isinstance(status, int) else None,
        str(final_url) if final_url is not None else None,
        str(reason),
        str(checked_at),
        str(method) if method is not None else None,
    )
