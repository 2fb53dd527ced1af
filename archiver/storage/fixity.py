"""The fixity log: every ``verify`` of a store, kept in the store, so that its history of
checks travels with it (as PREMIS fixity events travel with a package).

``fixity.jsonl`` in the store folder holds one JSON object per line, one line per run of
``archiver verify`` on the store, oldest first:

    {"format": "archiver-fixity-log", "version": 1,
     "started": "2026-12-05T10:30:00Z", "finished": "2026-12-05T10:30:04Z",
     "software": "archiver 0.1.0", "mode": "plain" | "deep",
     "manifest_sha256": "<hex of the manifest.json bytes checked against>",
     "journal_digest": "sha256:<hex>" | null,      the last manifest.journal line applied
     "files_checked": 3, "records_checked": 0, "bytes_checked": 12345,
     "ok": true, "problem_count": 0,
     "problems": [VerifyProblem.to_dict(), ...],   the first MAX_LOGGED_PROBLEMS
     "notes": ["<check>", ...]}                    the kind of each note

``manifest_sha256`` and ``journal_digest`` say exactly what was checked: the files and
hashes that version of ``manifest.json`` lists (``sha256sum manifest.json`` gives the same
value while it is current), with the lines of its journal (``archiver.storage.journal``)
up to the one of that digest applied (null: none, the journal was empty or absent).

**Appending is safe.** A line is appended whole, in one ``write`` to a file opened for
appending, under the store's lock (the ``flock`` on its folder that writers take), then
flushed to disk. A run killed mid-write can leave at most a part of its own line at the
end; the next run starts on a new line, and a reader skips a line it cannot read (saying
which), so the log is never unreadable. Nothing else ever rewrites the file.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archiver.durable import fsync_directory
from archiver.errors import StoreError
from archiver.jsontext import parse_json
from archiver.models import _Serialisable
from archiver.storage.problems import VerifyProblem, VerifyReport

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock between processes
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOG_NAME", "FixityRun", "append_run", "fixity_run", "read_log"]

LOG_NAME = "fixity.jsonl"
LOG_FORMAT = "archiver-fixity-log"
LOG_VERSION = 1
MAX_LOGGED_PROBLEMS = 100  # a run's line stays small however much is wrong


@dataclass(frozen=True)
class FixityRun(_Serialisable):
    """One run of ``verify`` on a store, as the log keeps it."""

    started: str
    finished: str
    software: str
    mode: str
    manifest_sha256: str | None
    files_checked: int
    records_checked: int
    bytes_checked: int
    ok: bool
    problem_count: int
    problems: tuple[VerifyProblem, ...] = ()
    notes: tuple[str, ...] = ()
    journal_digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"format": LOG_FORMAT, "version": LOG_VERSION, **super().to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> FixityRun:
        """A logged line's object; ``ValueError`` when it is not one."""
        if not isinstance(data, dict) or data.get("format") != LOG_FORMAT:
            raise ValueError("not a fixity log entry")
        try:
            problems = tuple(VerifyProblem(**item) for item in data["problems"])
            run = cls(
                **{
                    key: data[key]
                    for key in cls.__dataclass_fields__
                    if key not in ("problems", "notes", "journal_digest")
                },
                problems=problems,
                notes=tuple(str(note) for note in data.get("notes", ())),
                journal_digest=data.get("journal_digest"),
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"not a fixity log entry: {e}") from e
        for name, wanted in _FIELD_TYPES.items():
            value = getattr(run, name)
            if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
                raise ValueError(f"not a fixity log entry: {name!r} is {value!r}")
        return run


_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "started": str,
    "finished": str,
    "software": str,
    "mode": str,
    "manifest_sha256": (str, type(None)),
    "journal_digest": (str, type(None)),
    "files_checked": int,
    "records_checked": int,
    "bytes_checked": int,
    "ok": bool,
    "problem_count": int,
}


def fixity_run(
    report: VerifyReport,
    manifest_sha256: str | None,
    started: str,
    finished: str,
    journal_digest: str | None = None,
) -> FixityRun:
    """What the log keeps of ``report``."""
    from archiver import __version__

    return FixityRun(
        started=started,
        finished=finished,
        software=f"archiver {__version__}",
        mode=report.mode,
        manifest_sha256=manifest_sha256,
        files_checked=report.files_checked,
        records_checked=report.records_checked,
        bytes_checked=report.bytes_checked,
        ok=report.ok,
        problem_count=len(report.problems),
        problems=report.problems[:MAX_LOGGED_PROBLEMS],
        notes=tuple(note.check for note in report.notes),
        journal_digest=journal_digest,
    )


@contextlib.contextmanager
def _store_lock(root: Path) -> Iterator[None]:
    """The store's lock: an exclusive ``flock`` on its folder, as ``Store`` takes it."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    directory = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(directory, fcntl.LOCK_EX)
        yield
    finally:
        os.close(directory)  # releases the flock


def append_run(root: Path, run: FixityRun) -> Path:
    """Append ``run`` to the store's fixity log (see the module docstring); returns its
    path. ``StoreError`` when it cannot be written (a read-only store, a full disk)."""
    path = root / LOG_NAME
    line = (json.dumps(run.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
    try:
        with _store_lock(root):
            created = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                end = os.fstat(fd).st_size
                if end and os.pread(fd, 1, end - 1) != b"\n":
                    line = b"\n" + line  # after a line a killed run left unfinished
                _write_all(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                fsync_directory(root)
    except OSError as e:
        raise StoreError(f"cannot append to {path}: {e.strerror or e}") from e
    return path


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_log(root: Path) -> tuple[list[FixityRun], list[int]]:
    """The runs the store's fixity log holds, oldest first, and the numbers of the lines
    that could not be read (a line a killed run left unfinished, a damaged one)."""
    path = root / LOG_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], []
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror or e}") from e
    runs: list[FixityRun] = []
    damaged: list[int] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            runs.append(FixityRun.from_dict(parse_json(line.decode("utf-8"))))
        except ValueError:  # UnicodeDecodeError and a line nested too deep are ValueErrors
            damaged.append(number)
    return runs, damaged


def verify_logged(
    root: Path, warn: Callable[[str], None], *, deep: bool = True, log: bool = True
) -> VerifyReport:
    """Verify the store at ``root`` (a store folder: a bag or a single file is verified
    elsewhere and never written to) and append the run to its fixity log. A log that
    cannot be written is a warning (to ``warn``): the verification stands."""
    from archiver.dates import to_iso, utcnow
    from archiver.storage.verify import verify_snapshot

    started = to_iso(utcnow())
    report, snapshot = verify_snapshot(root, deep=deep)
    if log and snapshot is not None:
        journal = snapshot.journal.head if snapshot.journal.lines else None
        run = fixity_run(report, snapshot.sha256, started, to_iso(utcnow()), journal)
        try:
            append_run(root, run)
        except StoreError as e:
            warn(f"this verification was not recorded: {e}")
    return report
