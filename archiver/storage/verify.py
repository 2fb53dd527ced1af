"""Proving that stored bytes are the bytes that were captured: the ``verify`` stage.

``verify_store`` re-reads a store directory and recomputes everything its manifest claims:
each file's sha256 and size, each record's place, identity and payload sha256, and the
archive's own digest (CDX ``digest``, sha1 base32) of each memento; it also checks every
record's own ``WARC-Block-Digest`` / ``WARC-Payload-Digest`` the way ``warcio check`` does.
``verify_warc`` does the second part alone for any WARC or WACZ file, without a manifest
(for a WACZ, also the sha256 of each file ``datapackage.json`` lists). One WARC is checked
by ``archiver.storage.warccheck``, a WACZ package by ``archiver.storage.waczcheck``; this
module compares a store with its manifest.

Every mismatch is a ``VerifyProblem`` that names the file, the record (its WARC-Record-ID,
or ``offset N`` when the record could not be identified) and the check that failed, with
the expected and actual values. Damaged input is a problem in the report, never an
exception: verification exists to look at broken files. A store whose ``manifest.json``
exists but cannot be parsed raises ``StoreError`` (nothing it lists can be trusted, so
there is nothing to check against), and a folder with nothing to verify (no WARC or WACZ
file, no manifest) raises ``InputError``: verify never says OK about nothing.

**A folder without a manifest** (a store whose manifest was lost, a copy of third-party
files) has each WARC/WACZ file in it, subfolders included, checked against its own
digests; it never verifies, since nothing proves the set complete: a file lost or added
would not show (``no-manifest``).

Check names (``VerifyProblem.check``):

    file-sha256, file-size      a whole file differs from the manifest (or from a WACZ's
                                datapackage.json, which may also name file-sha224 etc.)
    missing-file, unknown-file  listed but absent; a WARC/WACZ present but not listed
    unreadable                  the file or a record cannot be parsed (the rest of the
                                file is not read)
    gzip-members                a .gz WARC that is one gzip stream rather than one member
                                per record (its records are then checked decompressed)
    truncated                   a record's block is shorter than its Content-Length
    record-boundary             records not followed by the blank lines a WARC requires
    block-digest, payload-digest, digest-algorithm
                                a record's own WARC digests (or an unknown algorithm)
    payload-sha256              a record's payload differs from the manifest
    archive-digest              a memento's payload no longer has the archive's digest
    record-missing, record-offset, unlisted-record, record-id, record-type, target-uri,
    warc-date, record-length    a record is gone, moved, unknown, or not what was listed
    wacz-datapackage, wacz-layout
                                a WACZ's datapackage.json is missing or unusable; no WARC
                                under archive/
    no-manifest                 a folder without manifest.json: its files were checked
                                one by one, but nothing proves the set complete
    no-records                  a WARC file (given alone, or in a folder without manifest)
                                holds no record at all

**A file still named ``.open``** (``archiver.storage.warcfile``) holds the committed bytes
the manifest lists first, and may hold more after them: a capture being appended, or
what a killed run wrote half. Only its committed bytes are checked; the rest is not part
of the store.

Notes (``VerifyReport.notes``) are facts worth showing that are not failures: a capture
stored with ``archive_digest_match: false`` (flagged when it was written), a listed file
still named ``.open`` that no run is writing to, because a run was killed before closing
it (``pending-rename``: its committed bytes are checked, the bytes after them counted),
an unlisted ``.open`` file (an interrupted write, deleted when the store is next opened),
and a store that holds nothing yet (``empty-store``: a ``Store`` was opened in the folder,
its lock file is there, but no capture was recorded). Non-WARC files in a store
(``state.sqlite``, reports) are ignored.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.errors import InputError, StoreError
from archiver.storage.digests import file_sha256
from archiver.storage.manifest import (
    MANIFEST_NAME,
    MANIFEST_TEMP_NAME,
    FileEntry,
    RecordEntry,
    read_manifest,
)
from archiver.storage.problems import VerifyProblem, VerifyReport
from archiver.storage.waczcheck import check_wacz
from archiver.storage.warccheck import SeenRecord, check_warc
from archiver.storage.warcfile import committed_sha256, committed_stream, is_in_use

__all__ = ["VerifyProblem", "VerifyReport", "verify_store", "verify_warc"]

_ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz", ".wacz")
_OPEN_SUFFIX = ".open"
# What a Store leaves in its folder besides WARC files and the manifest (store.LOCK_NAME).
_STORE_MARKS = (".lock", MANIFEST_TEMP_NAME)


def _is_archive_name(name: str) -> bool:
    return name.lower().endswith(_ARCHIVE_SUFFIXES)


def _check_file(path: Path, label: str) -> tuple[int, list[VerifyProblem]]:
    """(records, problems) of one WARC or WACZ file, against its own digests; a file in
    which nothing was found, and nothing wrong, is a problem too (``no-records``)."""
    if path.name.lower().endswith(".wacz") or zipfile.is_zipfile(path):
        records, problems = check_wacz(path, label)
    else:
        check = check_warc(lambda: path.open("rb"), label)
        records, problems = len(check.records), list(check.problems)
    if records == 0 and not problems:
        text = f"{label}: no WARC record in it"
        problems.append(VerifyProblem(label, None, "no-records", None, "0", text))
    return records, problems


def verify_warc(path: Path) -> VerifyReport:
    """Check one WARC or WACZ file against its own digests (no manifest needed)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a directory: verify it as a store")
    if not path.exists():
        raise InputError(f"no such file: {path}")
    records, problems = _check_file(path, path.name)
    return VerifyReport(
        root=str(path), files_checked=1, records_checked=records, problems=tuple(problems)
    )


@dataclass
class _Findings:
    """What checking a store has found so far."""

    problems: list[VerifyProblem] = field(default_factory=list)
    notes: list[VerifyProblem] = field(default_factory=list)
    files_checked: int = 0
    records_checked: int = 0

    def report(self, root: Path) -> VerifyReport:
        return VerifyReport(
            root=str(root),
            files_checked=self.files_checked,
            records_checked=self.records_checked,
            problems=tuple(self.problems),
            notes=tuple(self.notes),
        )


def verify_store(root: Path) -> VerifyReport:
    """Recompute every hash the store's manifest records, and name each mismatch.

    ``root`` may be a BagIt bag of a store (``archiver export --bag``): its payload,
    ``root/data``, is the store checked."""
    root = Path(root)
    if not root.is_dir():
        raise StoreError(f"no such store: {root}")
    if (root / "bagit.txt").is_file() and (root / "data").is_dir():
        root = root / "data"  # a bag of a store (``archiver export --bag``): its payload
    manifest = read_manifest(root)
    if manifest is None:
        return _verify_unindexed(root)
    found = _Findings()
    rows_by_file: dict[str, list[RecordEntry]] = {}
    for row in manifest.records:
        rows_by_file.setdefault(row.file, []).append(row)
    listed = manifest.file_names()
    for entry in manifest.files:
        _check_listed_file(root, entry, rows_by_file.get(entry.name, []), found)
    for orphan in sorted(set(rows_by_file) - listed):
        for row in rows_by_file[orphan]:
            found.problems.append(
                VerifyProblem(
                    orphan,
                    row.record_id,
                    "record-missing",
                    row.record_id,
                    None,
                    f"{orphan}: {row.record_id}: listed in a file the manifest does not list",
                )
            )
    _check_unlisted_files(root, listed, found)
    return found.report(root)


def _listed_path(root: Path, entry: FileEntry, found: _Findings) -> Path | None:
    """Where a file the manifest lists is: under its name, or still under its ``.open``
    name while it is written to or when a run stopped before closing it; None when it is
    missing."""
    name = entry.name
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        found.problems.append(
            VerifyProblem(name, None, "missing-file", None, None, f"{name}: not a file name")
        )
        return None
    path = root / name
    if path.exists():
        return path
    pending = root / (name + _OPEN_SUFFIX)
    if pending.exists():
        return pending
    found.problems.append(
        VerifyProblem(name, None, "missing-file", entry.sha256, None, f"{name}: file is missing")
    )
    return None


def _check_listed_file(
    root: Path, entry: FileEntry, rows: list[RecordEntry], found: _Findings
) -> None:
    """One listed file: its size and sha256, its own digests, its records against ``rows``."""
    path = _listed_path(root, entry, found)
    if path is None:
        return
    name = entry.name
    found.files_checked += 1
    committed = entry.size if path.name.endswith(_OPEN_SUFFIX) else None
    if committed is None:
        sha256, size = file_sha256(path)
    else:
        sha256, size = committed_sha256(path, committed)
        _note_left_open(path, entry, found)
    if size != entry.size:
        found.problems.append(
            VerifyProblem(
                name,
                None,
                "file-size",
                str(entry.size),
                str(size),
                f"{name}: {size} bytes, the manifest says {entry.size}",
            )
        )
    if sha256 != entry.sha256:
        found.problems.append(
            VerifyProblem(
                name,
                None,
                "file-sha256",
                entry.sha256,
                sha256,
                f"{name}: sha256 is {sha256}, the manifest says {entry.sha256}",
            )
        )
    check = check_warc(lambda: committed_stream(path, committed), name)
    found.records_checked += len(check.records)
    found.problems.extend(check.problems)
    _compare_records(name, rows, check.records, found)


def _note_left_open(path: Path, entry: FileEntry, found: _Findings) -> None:
    """A note for a listed ``.open`` file no run is writing to (a killed run left it)."""
    if is_in_use(path):
        return
    after = path.stat().st_size - entry.size
    text = f"{entry.name}: still named {path.name} (a run stopped before closing it; opening "
    if after > 0:
        text += (
            f"the store cuts off the {after} bytes after its {entry.size} committed ones, "
            "which are not part of the store, and renames it)"
        )
    else:
        text += "the store renames it)"
    found.notes.append(VerifyProblem(entry.name, None, "pending-rename", None, None, text))


def _check_unlisted_files(root: Path, listed: set[str], found: _Findings) -> None:
    """Files in the store the manifest does not list: WARCs are problems, ``.open`` notes."""
    for path in sorted(root.iterdir()):
        name = path.name
        if name.endswith(_OPEN_SUFFIX):
            if name[: -len(_OPEN_SUFFIX)] not in listed:
                found.notes.append(
                    VerifyProblem(
                        name,
                        None,
                        "incomplete-file",
                        None,
                        None,
                        f"{name}: an interrupted write, not part of the store (deleted when "
                        "the store is next opened)",
                    )
                )
        elif _is_archive_name(name) and name not in listed and path.is_file():
            found.problems.append(
                VerifyProblem(
                    name,
                    None,
                    "unknown-file",
                    None,
                    None,
                    f"{name}: a WARC file that {MANIFEST_NAME} does not list",
                )
            )


def _row_problem(
    name: str, row: RecordEntry, check: str, expected: Any, actual: Any, text: str
) -> VerifyProblem:
    return VerifyProblem(
        name,
        row.record_id,
        check,
        None if expected is None else str(expected),
        None if actual is None else str(actual),
        f"{name}: {row.record_id}: {text}",
    )


def _compare_records(
    name: str, rows: list[RecordEntry], records: list[SeenRecord], found: _Findings
) -> None:
    """Each manifest row against the record found at its offset (or, moved, by its id)."""
    by_offset = {seen.offset: seen for seen in records}
    by_id = {seen.record_id: seen for seen in records if seen.record_id}
    matched: set[int] = set()
    for row in rows:
        seen = by_offset.get(row.offset)
        if seen is None or (seen.record_id != row.record_id and row.record_id in by_id):
            moved = by_id.get(row.record_id)
            if moved is None:
                text = f"no record at offset {row.offset}"
                found.problems.append(
                    _row_problem(name, row, "record-missing", row.offset, None, text)
                )
                continue
            text = f"at offset {moved.offset}, the manifest says {row.offset}"
            found.problems.append(
                _row_problem(name, row, "record-offset", row.offset, moved.offset, text)
            )
            seen = moved
        matched.add(seen.offset)
        _compare_record(name, row, seen, found)
    for seen in records:
        if seen.offset not in matched:
            found.problems.append(
                VerifyProblem(
                    name,
                    seen.label,
                    "unlisted-record",
                    None,
                    seen.record_id,
                    f"{name}: {seen.label} at offset {seen.offset} is not in the manifest",
                )
            )


def _compare_record(name: str, row: RecordEntry, seen: SeenRecord, found: _Findings) -> None:
    """One manifest row against its record: identity, payload sha256, the archive's digest."""
    comparisons = (
        ("record-id", row.record_id, seen.record_id),
        ("record-type", row.type, seen.type),
        ("target-uri", row.target_uri, seen.target_uri),
        ("warc-date", row.warc_date, seen.warc_date),
        ("record-length", row.length, seen.length),
    )
    for check, expected, actual in comparisons:
        if expected != actual:
            text = f"{check} is {actual!r}, listed {expected!r}"
            found.problems.append(_row_problem(name, row, check, expected, actual, text))
    if seen.payload_sha256 != row.payload_sha256:
        text = f"payload sha256 is {seen.payload_sha256}, the manifest says {row.payload_sha256}"
        found.problems.append(
            _row_problem(name, row, "payload-sha256", row.payload_sha256, seen.payload_sha256, text)
        )
    if not row.archive_digest:
        return
    if row.archive_digest_match is False:
        found.notes.append(
            VerifyProblem(
                name,
                row.record_id,
                "archive-digest-flagged",
                row.archive_digest,
                seen.payload_sha1,
                f"{name}: {row.record_id}: stored payload (sha1 {seen.payload_sha1}) "
                f"was not the archive's (digest {row.archive_digest}) when captured",
            )
        )
    elif seen.payload_sha1 != row.archive_digest.upper():
        text = f"payload sha1 is {seen.payload_sha1}, the archive's digest is {row.archive_digest}"
        found.problems.append(
            _row_problem(name, row, "archive-digest", row.archive_digest, seen.payload_sha1, text)
        )


def _is_store(root: Path) -> bool:
    """True for a folder a ``Store`` was opened in: its lock file, an ``.open`` file or a
    manifest being replaced are there, even before a first capture is recorded."""
    return any(
        path.name in _STORE_MARKS or path.name.endswith(_OPEN_SUFFIX) for path in root.iterdir()
    )


def _verify_empty_store(root: Path) -> VerifyReport:
    """A store that holds nothing yet: not a failure, but said (with its ``.open`` files)."""
    found = _Findings()
    found.notes.append(
        VerifyProblem(
            MANIFEST_NAME,
            None,
            "empty-store",
            None,
            None,
            f"{root} is a store that holds nothing yet: no capture was stored in it (no "
            f"{MANIFEST_NAME}, no WARC file)",
        )
    )
    _check_unlisted_files(root, set(), found)
    return found.report(root)


def _archive_files(root: Path) -> list[Path]:
    """The WARC and WACZ files under ``root``, subfolders included, hidden ones not."""
    return sorted(
        path
        for path in root.rglob("*")
        if _is_archive_name(path.name)
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
        and path.is_file()
    )


def _verify_unindexed(root: Path) -> VerifyReport:
    """A directory without a manifest: each WARC/WACZ against its own digests, and a
    ``no-manifest`` problem, since nothing proves the set complete."""
    files = _archive_files(root)
    if not files and _is_store(root):
        return _verify_empty_store(root)
    if not files:
        raise InputError(
            f"nothing to verify in {root}: no WARC or WACZ file, and no {MANIFEST_NAME}"
        )
    problems = [
        VerifyProblem(
            MANIFEST_NAME,
            None,
            "no-manifest",
            MANIFEST_NAME,
            None,
            f"{root} has no {MANIFEST_NAME}: each of its {len(files)} WARC/WACZ files was "
            "checked against its own digests, but nothing proves the set complete (a file "
            "lost or added would not show)",
        )
    ]
    records = 0
    for path in files:
        count, found = _check_file(path, path.relative_to(root).as_posix())
        records += count
        problems.extend(found)
    return VerifyReport(
        root=str(root), files_checked=len(files), records_checked=records, problems=tuple(problems)
    )
