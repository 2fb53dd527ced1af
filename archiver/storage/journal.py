"""The manifest's journal: what was committed since ``manifest.json`` was last written.

Writing the whole manifest again for each capture costs as much as the store is large: a
store of many thousand captures would spend most of its time rewriting its index. A
commit appends one line instead, to ``manifest.journal`` beside ``manifest.json``. The
store's manifest is ``manifest.json`` with each line of the journal applied in turn;
``archiver.storage.manifest.read_manifest`` returns that, so every reader (``verify``,
exports, ``serve``, a rerun) sees every committed capture.

Each line is one JSON object, UTF-8, ended by a newline::

    {"format": "archiver-store-journal", "version": 1,
     "prev": "sha256:<hex>",      the digest of the line before; for the first line, the
                                  digest of the manifest.json content it follows (its
                                  content's, ``manifest_digest``, whatever it states)
     "change": "capture",         a capture committed:
       "file": FileEntry,           its file, with its new committed size and sha256
       "records": [RecordEntry],    its records
       "capture": Capture,
     | "change": "citations",      citations added to a stored capture and its records:
       "warc_file": "...", "record_id": "...", "citations": ["..."],
     "digest": "sha256:<hex>"}    the line's own digest (as a manifest's: without it)

**A line written whole is committed.** A line is appended in one write under the store
lock, then synced. Bytes after the last newline are a line being written, or one a
killed run cut short: not committed, ignored by readers, cut off by the next writer
before it appends. A whole line whose digest is not its content's, or whose ``prev`` is
not the digest before it, was changed after it was written: ``verify`` reports it
(``journal-digest``) and no ``Store`` writes to the store until a person has looked.

**Compaction.** When the journal has grown larger than ``manifest.json`` (and past
``COMPACT_AT``), and when a ``Store`` is closed, the manifest is written whole again,
every line included (replaced atomically, as ever), and the journal is deleted. Since
each compaction at least doubles what the manifest holds, each capture is written out in
a compaction a bounded number of times on average: a commit costs its own size, however
large the store. A journal whose first line does not follow the current manifest is one
a compaction folded in and was stopped before deleting: readers ignore it, the next
writer deletes it. Unless it lists a capture the manifest does not (``manifest.json``
was replaced by another): then it is damaged.

A reader opens the journal *before* it reads ``manifest.json``: deleted after that, the
journal it holds open is still the one that manifest's captures were added by, or one
the new manifest holds already.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from archiver.durable import fsync_directory
from archiver.jsontext import parse_json
from archiver.storage.entries import (
    DIGEST_FIELD,
    Capture,
    FileEntry,
    Manifest,
    RecordEntry,
    manifest_digest,
    parse_entries,
    parse_entry,
)

__all__ = [
    "COMPACT_AT",
    "JOURNAL_NAME",
    "InDoubt",
    "Journal",
    "append_line",
    "capture_change",
    "citations_change",
    "follow",
    "open_journal",
]

JOURNAL_NAME = "manifest.journal"
JOURNAL_FORMAT = "archiver-store-journal"
JOURNAL_VERSION = 1
COMPACT_AT = 1 << 20  # a journal smaller than this is never compacted before close


def capture_change(
    file: FileEntry, records: tuple[RecordEntry, ...], capture: Capture
) -> dict[str, Any]:
    """The line's change that commits ``capture``: its ``records`` appended to ``file``."""
    return {
        "change": "capture",
        "file": file.to_dict(),
        "records": [r.to_dict() for r in records],
        "capture": capture.to_dict(),
    }


def citations_change(capture: Capture, citations: Sequence[str]) -> dict[str, Any]:
    """The line's change that adds ``citations`` to ``capture`` and its records."""
    return {
        "change": "citations",
        "warc_file": capture.warc_file,
        "record_id": capture.record_id,
        "citations": list(citations),
    }


def apply_change(manifest: Manifest, change: dict[str, Any]) -> Manifest:
    """``manifest`` with one line's change made; ``ValueError`` when it makes none."""
    kind = change.get("change")
    if kind == "capture":
        file = parse_entry(FileEntry, change.get("file"), 0)
        records = parse_entries(RecordEntry, change.get("records"))
        return manifest.with_capture(file, records, parse_entry(Capture, change.get("capture"), 0))
    if kind == "citations":
        warc_file, record_id = change.get("warc_file"), change.get("record_id")
        citations = change.get("citations")
        if not (
            isinstance(warc_file, str)
            and isinstance(record_id, str)
            and isinstance(citations, list)
            and all(isinstance(c, str) for c in citations)
        ):
            raise ValueError("its citations change is not complete")
        updated = manifest.with_citations(warc_file, record_id, citations)
        if updated is None:
            raise ValueError(f"adds citations to {record_id} in {warc_file}, not listed")
        return updated[0]
    raise ValueError(f"unknown change {kind!r}")


@dataclass(frozen=True)
class Journal:
    """A store's journal, as far as it was read: ``end`` bytes of whole lines (``lines``
    of them) following the manifest content of digest ``base``, the last line's digest
    ``head`` (``base`` when none), ``size`` the bytes the file held when read (more than
    ``end``: a line being written, or cut by a kill), ``inode`` the file's (None when
    there was none). ``stale``: it follows an earlier manifest, which holds it already.
    ``damaged`` says what is wrong with it, one line each. ``stated``: see ``following``."""

    base: str
    head: str
    end: int = 0
    size: int = 0
    lines: int = 0
    inode: int | None = None
    stale: bool = False
    damaged: tuple[str, ...] = ()
    stated: str | None = None

    @classmethod
    def following(cls, data: dict[str, Any], digest: str) -> Journal:
        """The journal, not read yet, of the manifest whose JSON is ``data`` and content's
        digest ``digest``: following that, or the digest it states (``stated``: one whose
        content was changed since archiver wrote it, which ``verify`` reports, is
        followed still)."""
        stated = data.get(DIGEST_FIELD)
        return cls(digest, digest, stated=stated if isinstance(stated, str) else None)

    @property
    def torn(self) -> bool:
        """Whether bytes follow its last whole line."""
        return self.size > self.end


def open_journal(root: Path) -> BinaryIO | None:
    """The journal of the store at ``root``, opened (before the manifest is read: see the
    module docstring); None when there is none. Raises ``OSError``."""
    try:
        return (root / JOURNAL_NAME).open("rb")
    except FileNotFoundError:
        return None


def follow(
    stream: BinaryIO | None, manifest: Manifest, journal: Journal
) -> tuple[Manifest, Journal]:
    """``manifest`` with the lines of the open journal ``stream`` (None: there is none)
    after ``journal.end`` applied, and the journal as now read. ``journal`` is as far as
    the same file was read before (a new ``Journal(base, base)`` for the manifest content
    of digest ``base``)."""
    if stream is None:
        return manifest, journal
    inode = os.fstat(stream.fileno()).st_ino
    if journal.inode not in (None, inode):
        raise ValueError("not the journal read before: read the manifest whole again")
    stream.seek(journal.end)
    data = stream.read()
    journal = replace(journal, inode=inode, size=journal.end + len(data))
    whole = data[: data.rfind(b"\n") + 1]
    first = _first_prev(whole) if journal.end == 0 and whole else None
    if first is not None and first == journal.stated:
        journal = replace(journal, base=first, head=first)
    elif first is not None and first != journal.base:
        return manifest, _stale(manifest, whole, journal)
    damaged = list(journal.damaged)
    head, number = journal.head, journal.lines
    for line in whole.split(b"\n")[:-1]:
        number += 1
        try:
            data_line = parse_json(line.decode("utf-8"))
            if not isinstance(data_line, dict) or data_line.get("format") != JOURNAL_FORMAT:
                raise ValueError("not a journal line")
            stated = data_line.get(DIGEST_FIELD)
            if stated != manifest_digest(data_line):
                damaged.append(f"{JOURNAL_NAME} line {number} was changed after archiver wrote it")
            elif data_line.get("prev") != head:
                damaged.append(
                    f"{JOURNAL_NAME} line {number} does not follow the line before it: a line "
                    "before it was changed, taken out or put in after archiver wrote it"
                )
            manifest = apply_change(manifest, data_line)
            head = stated if isinstance(stated, str) else head
        except (ValueError, TypeError, KeyError) as e:
            damaged.append(f"{JOURNAL_NAME} line {number} cannot be read: {_first_line(e)}")
    return manifest, replace(
        journal, head=head, end=journal.end + len(whole), lines=number, damaged=tuple(damaged)
    )


def _first_prev(whole: bytes) -> str | None:
    """The ``prev`` of the first line of ``whole``; None when it cannot be read."""
    try:
        first = parse_json(whole[: whole.find(b"\n")].decode("utf-8"))
    except ValueError:
        return None
    prev = first.get("prev") if isinstance(first, dict) else None
    return prev if isinstance(prev, str) else None


def _stale(manifest: Manifest, whole: bytes, journal: Journal) -> Journal:
    """A journal that follows another manifest content: folded into this one already
    (``stale``), unless it lists a capture this one does not (damaged)."""
    listed = {(c.warc_file, c.record_id) for c in manifest.captures}
    for number, line in enumerate(whole.split(b"\n")[:-1], start=1):
        try:
            data = parse_json(line.decode("utf-8"))
            capture = data.get("capture") if isinstance(data, dict) else None
            key = (capture["warc_file"], capture["record_id"]) if capture else None
        except (ValueError, TypeError, KeyError):
            key = None  # a damaged line of a journal already folded in: nothing lost
        if key is not None and key not in listed:
            text = (
                f"{JOURNAL_NAME} follows another manifest.json than this one, and its "
                f"line {number} lists a capture this one does not ({key[1]} in {key[0]})"
            )
            return replace(journal, end=len(whole), damaged=(text,))
    return replace(journal, end=len(whole), stale=True)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def append_line(root: Path, journal: Journal, change: dict[str, Any]) -> tuple[bytes, Journal]:
    """Append ``change`` to the journal of the store at ``root`` as a line following
    ``journal`` (read up to its end, under the store lock), synced; the line, and the
    journal with it. What follows its last whole line is cut off first; a stale journal
    is deleted first. Raises ``OSError``; the line is then not in the journal."""
    path = root / JOURNAL_NAME
    if journal.stale:
        path.unlink(missing_ok=True)
        journal = Journal(journal.base, journal.base)
    data = {"format": JOURNAL_FORMAT, "version": JOURNAL_VERSION, "prev": journal.head, **change}
    digest = manifest_digest(data)
    text = json.dumps({**data, DIGEST_FIELD: digest}, ensure_ascii=False, separators=(",", ":"))
    line = (text + "\n").encode("utf-8")  # one line: JSON escapes every newline in it
    try:
        inode = _append(path, journal, line)
    except OSError as e:
        e.filename = e.filename or str(path)
        raise
    if journal.inode is None:
        fsync_directory(root)
    end = journal.end + len(line)
    grown = replace(journal, head=digest, end=end, size=end, lines=journal.lines + 1)
    return line, replace(grown, inode=inode)


class InDoubt(OSError):
    """Appending a line failed, and what was written of it could not be cut off: whether
    the change is committed is for the next reader to find."""


def _append(path: Path, journal: Journal, line: bytes) -> int:
    """Write ``line`` after the ``journal.end`` bytes of the journal at ``path``, synced;
    its inode."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        stat = os.fstat(fd)
        if journal.inode not in (None, stat.st_ino) or stat.st_size < journal.end:
            raise InDoubt(f"{path} was replaced under the store lock")
        if stat.st_size != journal.end:
            os.ftruncate(fd, journal.end)  # a line a killed run cut short
        try:
            _write_all(fd, line, journal.end)
            os.fsync(fd)
        except OSError as e:
            try:  # not committed: not left to be read as if it were
                os.ftruncate(fd, journal.end)
                os.fsync(fd)
            except OSError:
                raise InDoubt(e.errno, e.strerror, str(path)) from e
            raise
    finally:
        os.close(fd)
    return stat.st_ino


def _write_all(fd: int, data: bytes, position: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, position)
        position += written
        view = view[written:]
