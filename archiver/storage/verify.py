"""Proving that stored bytes are the bytes that were captured: the ``verify`` stage.

``verify_store`` re-reads a store directory against its manifest. **Plain** (``deep=False``)
it recomputes each file's sha256 and size, over the length the manifest lists: every
stored byte read once, at hashing speed, the files hashed on every core at once, in
helper processes (``digests.Sha256Helpers``) while the manifest is parsed here. **Deep**
(the default here; ``verify --deep``) it also inflates every record, checks its place,
identity and payload sha256 against the manifest, the archive's own digest (CDX
``digest``, sha1 base32) of each memento, and the record's own ``WARC-Block-Digest`` /
``WARC-Payload-Digest`` the way ``warcio check`` does; each file is still read once and
inflated once (``archiver.storage.warccheck``), several at a time
(zlib lets go of the GIL too). Both check the manifest's digest of itself
(``archiver.storage.manifest``). ``verify_warc`` checks any WARC or WACZ file against its
own digests, without a manifest (for a WACZ, also the sha256 of each file
``datapackage.json`` lists, ``archiver.storage.waczcheck``).

**A consistent snapshot.** Other processes may be writing to the store meanwhile. The
folder is listed first, then the manifest is read once (``manifest.json`` is only ever
replaced whole, its journal only appended to: one read is one version of it,
``archiver.storage.journal``), and only what that manifest lists is checked: a file
a run renames into place after listing it in the manifest cannot be seen as unknown, a
listed file still named ``.open`` is found under either name, and a file longer than
listed, while a run holds it open, is checked up to the listed length (what follows is
being written). Files being written are notes, never problems.

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
    manifest-digest             manifest.json is not what archiver wrote: its content does
                                not have the digest it carries
    journal-digest              a line of manifest.journal is not what archiver wrote
    unreadable                  the file or a record cannot be parsed (the rest of the
                                file is not read), or the file cannot be opened at all (a
                                folder in its place, no permission)
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
the manifest lists first, and may hold more after them (a capture being appended, or
what a killed run wrote half): only its committed bytes are checked.

Notes (``VerifyReport.notes``) are facts worth showing that are not failures: a capture
stored with ``archive_digest_match: false`` (``archive-digest-flagged``, when it was
written), a listed file still named ``.open`` (``pending-rename``: a run is appending
captures to it, or was killed before closing it), an unlisted ``.open`` file
(``incomplete-file``: an interrupted write, deleted when the store is next opened;
``being-written`` while a run holds it), a listed file a run is appending to
(``growing-file``), a manifest written before manifests carried their own digest
(``manifest-digest-absent``), and a store that holds nothing yet (``empty-store``).
Non-WARC files in a store (``state.sqlite``, reports, the fixity log) are ignored.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from archiver.errors import InputError, StoreError
from archiver.storage.digests import Sha256Helpers
from archiver.storage.journal import JOURNAL_NAME
from archiver.storage.manifest import (
    MANIFEST_NAME,
    MANIFEST_TEMP_NAME,
    FileEntry,
    ManifestSnapshot,
    RecordEntry,
    read_manifest_snapshot,
)
from archiver.storage.problems import VerifyProblem, VerifyReport
from archiver.storage.rowcheck import compare_records

# warccheck, waczcheck (and warcio) are imported where records are read: not by a plain verify.

__all__ = ["VerifyProblem", "VerifyReport", "verify_store", "verify_warc"]

_ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz", ".wacz")
_OPEN_SUFFIX = ".open"
# What a Store leaves in its folder besides WARC files and the manifest (store.LOCK_NAME).
_STORE_MARKS = (".lock", MANIFEST_TEMP_NAME)
_HashFile = Callable[[Path, int], tuple[str, int]]  # sha256, size of a file's first N bytes


def _is_archive_name(name: str) -> bool:
    return name.lower().endswith(_ARCHIVE_SUFFIXES)


def _note(file: str, check: str, message: str) -> VerifyProblem:
    return VerifyProblem(file, None, check, None, None, message)


def _is_being_written(path: Path) -> bool:
    """True while a run holds ``path`` open for writing (the ``flock`` a Store takes)."""
    from archiver.storage.warcfile import is_in_use  # only when a file looks busy

    return is_in_use(path)


def _check_file(path: Path, label: str) -> tuple[int, list[VerifyProblem]]:
    """(records, problems) of one WARC or WACZ file, against its own digests; a file in
    which nothing was found, and nothing wrong, is a problem too (``no-records``)."""
    import zipfile

    from archiver.storage.waczcheck import check_wacz
    from archiver.storage.warccheck import check_warc

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
        root=str(path),
        files_checked=1,
        records_checked=records,
        problems=tuple(problems),
        bytes_checked=path.stat().st_size,
    )


@dataclass
class _Findings:
    """What checking a store (or one of its files) has found so far."""

    problems: list[VerifyProblem] = field(default_factory=list)
    notes: list[VerifyProblem] = field(default_factory=list)
    files_checked: int = 0
    records_checked: int = 0
    bytes_checked: int = 0

    def add(self, other: _Findings) -> None:
        self.problems += other.problems
        self.notes += other.notes
        self.files_checked += other.files_checked
        self.records_checked += other.records_checked
        self.bytes_checked += other.bytes_checked

    def report(self, root: Path, mode: str = "deep") -> VerifyReport:
        return VerifyReport(
            root=str(root),
            files_checked=self.files_checked,
            records_checked=self.records_checked,
            problems=tuple(self.problems),
            notes=tuple(self.notes),
            mode=mode,
            bytes_checked=self.bytes_checked,
        )


def store_root(root: Path) -> Path:
    """The store folder ``root`` names: itself, or the payload of a bag of a store."""
    root = Path(root)
    if not root.is_dir():
        raise StoreError(f"no such store: {root}")
    if (root / "bagit.txt").is_file() and (root / "data").is_dir():
        return root / "data"  # a bag of a store (``archiver export --bag``): its payload
    return root


def verify_store(root: Path, *, deep: bool = True, workers: int | None = None) -> VerifyReport:
    """Recompute every hash the store's manifest records, and name each mismatch.

    ``deep=False`` checks each file's sha256 and size only (see the module docstring);
    ``workers`` files are checked at once (default: one per core). ``root`` may be a
    BagIt bag of a store (``archiver export --bag``): its payload, ``root/data``, is the
    store checked."""
    return verify_snapshot(store_root(root), deep=deep, workers=workers)[0]


def verify_snapshot(
    root: Path, *, deep: bool = True, workers: int | None = None
) -> tuple[VerifyReport, ManifestSnapshot | None]:
    """``verify_store`` of a store folder, with the manifest it checked against."""
    names = _listing(root)  # before the manifest: what it does not list is not its own
    with _FileChecks(root, deep, workers) as checks:
        snapshot = read_manifest_snapshot(root, on_files=checks.start)
        if snapshot is None:
            return _verify_unindexed(root), None
        manifest = snapshot.manifest
        found = _Findings()
        _check_manifest_digest(snapshot, found)
        rows_by_file = checks.set_rows(manifest.records)
        for result in checks.results(manifest.files):
            found.add(result)
    listed = manifest.file_names()
    for orphan in sorted(set(rows_by_file) - listed):
        for row in rows_by_file[orphan]:
            text = f"{orphan}: {row.record_id}: listed in a file the manifest does not list"
            found.problems.append(
                VerifyProblem(orphan, row.record_id, "record-missing", row.record_id, None, text)
            )
    _check_unlisted_files(root, names, listed, found)
    return found.report(root, "deep" if deep else "plain"), snapshot


class _FileChecks:
    """The listed files' checks, several at once (the largest first, so that one large
    file does not start last): started as soon as the manifest's file list is read, while
    the rest of it is parsed; their results in the manifest's order.

    A plain check hashes in helper processes (``digests.Sha256Helpers``), one per thread,
    so that parsing the manifest here does not hold up the hashing there (a deep check
    reads records, in threads); the first is started before the manifest is read."""

    def __init__(self, root: Path, deep: bool, workers: int | None) -> None:
        self.root = root
        self.deep = deep
        self.workers = workers
        self.entries: tuple[FileEntry, ...] | None = None
        self._rows: dict[str, list[RecordEntry]] = {}
        self._rows_ready = threading.Event()  # deep checks compare records once it is set
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[int, Future[_Findings]] = {}
        self._helpers = Sha256Helpers()
        if not deep:
            self._helpers.start(1)

    def start(self, entries: tuple[FileEntry, ...]) -> None:
        self.entries = entries
        workers = max(1, min(self.workers or os.cpu_count() or 1, len(entries)))
        if not self.deep:
            self._helpers.start(workers)
        self._pool = ThreadPoolExecutor(workers)
        for i in sorted(range(len(entries)), key=lambda i: -entries[i].size):
            self._futures[i] = self._pool.submit(self._check, entries[i])

    def _check(self, entry: FileEntry) -> _Findings:
        hash_file = self._helpers.sha256
        return _check_listed_file(self.root, entry, self._rows_of, self.deep, hash_file)

    def _rows_of(self, name: str) -> list[RecordEntry]:
        self._rows_ready.wait()
        return self._rows.get(name, [])

    def set_rows(self, records: tuple[RecordEntry, ...]) -> dict[str, list[RecordEntry]]:
        """The manifest's records by file, for the deep checks (which wait for them)."""
        for row in records:
            self._rows.setdefault(row.file, []).append(row)
        self._rows_ready.set()
        return self._rows

    def results(self, entries: tuple[FileEntry, ...]) -> list[_Findings]:
        if entries != self.entries:  # not started from this list: start again
            self.close()
            self._futures = {}
            self.start(entries)
        return [self._futures[i].result() for i in range(len(entries))]

    def close(self) -> None:
        self._rows_ready.set()
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        self._helpers.close()

    def __enter__(self) -> _FileChecks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _listing(root: Path) -> list[str]:
    try:
        return sorted(path.name for path in root.iterdir())
    except OSError as e:
        raise StoreError(f"cannot list the store {root}: {e.strerror or e}") from e


def _check_manifest_digest(snapshot: ManifestSnapshot, found: _Findings) -> None:
    """The manifest against the digest it carries of itself (see ``manifest``), and each
    line of its journal against its own."""
    for text in snapshot.journal.damaged:
        found.problems.append(VerifyProblem(JOURNAL_NAME, None, "journal-digest", None, None, text))
    if snapshot.stated_digest is None:
        found.notes.append(
            _note(
                MANIFEST_NAME,
                "manifest-digest-absent",
                f"{MANIFEST_NAME} carries no digest of its own (written by an earlier version "
                "of archiver), so a change made to it would not show; the next run that "
                "stores a capture in the store adds one",
            )
        )
    elif snapshot.stated_digest != snapshot.digest:
        found.problems.append(
            VerifyProblem(
                MANIFEST_NAME,
                None,
                "manifest-digest",
                snapshot.stated_digest,
                snapshot.digest,
                f"{MANIFEST_NAME} was changed after archiver wrote it: its content hashes to "
                f"{snapshot.digest}, it says {snapshot.stated_digest}",
            )
        )


def _check_listed_file(
    root: Path,
    entry: FileEntry,
    rows: Callable[[str], list[RecordEntry]],
    deep: bool,
    hash_file: _HashFile,
) -> _Findings:
    """One listed file, found under its name or its ``.open`` name (a run renames it from
    one to the other after listing it, so both are tried, and the first again);
    ``hash_file`` hashes it when not ``deep``."""
    found = _Findings()
    name = entry.name
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        found.problems.append(
            VerifyProblem(name, None, "missing-file", None, None, f"{name}: not a file name")
        )
        return found
    for path in (root / name, root / (name + _OPEN_SUFFIX), root / name):
        try:
            _check_file_bytes(path, entry, rows, (deep, hash_file), found)
        except FileNotFoundError:
            continue
        except OSError as error:  # a folder in its place, no permission, an I/O error
            what = (error.strerror or str(error)).lower()
            text = f"{name}: cannot be read ({what}); restore it from a copy (see the manifest)"
            found.problems.append(VerifyProblem(name, None, "unreadable", entry.sha256, None, text))
            return found
        if path.name != name:
            found.notes.insert(0, _pending_note(path, name))
        return found
    found.problems.append(
        VerifyProblem(name, None, "missing-file", entry.sha256, None, f"{name}: file is missing")
    )
    return found


def _committed_since(path: Path, name: str, size: int) -> bool:
    """Whether the store's manifest, read again now, lists ``name`` with at least ``size``
    bytes: a run appended captures to it (and may have closed it) after the manifest this
    verification checks against was read. Asked only when a file is longer than listed."""
    from archiver.storage.manifest import read_manifest

    try:
        manifest = read_manifest(path.parent)
    except (StoreError, OSError):
        return False
    entry = next((e for e in manifest.files if e.name == name), None) if manifest else None
    return entry is not None and entry.size >= size


def _pending_note(path: Path, name: str) -> VerifyProblem:
    if _is_being_written(path):
        why = "a run is appending captures to it"
    else:
        why = "a run stopped before closing it; opening the store closes it"
    text = f"{name}: still named {path.name} ({why}); the bytes the manifest lists were checked"
    return _note(name, "pending-rename", text)


def _check_file_bytes(
    path: Path,
    entry: FileEntry,
    rows: Callable[[str], list[RecordEntry]],
    how: tuple[bool, _HashFile],
    found: _Findings,
) -> None:
    """The bytes of one listed file: up to the length listed when more is being written
    to it, else all of them; its records too when ``deep`` (``how``: deep, and how a
    plain check hashes a file)."""
    name = entry.name
    deep, hash_file = how
    # The listed bytes are read first: a run may append to the file meanwhile (and close
    # it); its length is taken after reading, so that what was appended is seen as such.
    open_file: Callable[[], BinaryIO] = lambda: path.open("rb")  # noqa: E731
    if deep:
        from archiver.storage.warccheck import check_warc

        check = check_warc(open_file, name, limit=entry.size, stop=True)
        sha256, hashed = check.sha256, check.size
    else:
        sha256, hashed = hash_file(path, entry.size)
    size = max(hashed, path.stat().st_size)
    busy = size > entry.size and _is_being_written(path)
    # past the listed length: a run appending (or one that appended and closed it since
    # the manifest was read), or a tail a killed run left in its .open file
    growing = size > entry.size and (
        busy or path.name != name or _committed_since(path, name, size)
    )
    if deep and size > entry.size and not growing:  # bytes no run wrote: say what they are
        check = check_warc(open_file, name, limit=entry.size)
        sha256, hashed = check.sha256, check.size
    size = hashed if hashed < entry.size or growing else size
    found.files_checked += 1
    found.bytes_checked += min(size, entry.size) if growing else size
    _compare_file(entry, sha256, size, (busy, growing), found)
    if deep:
        problems, notes = compare_records(name, rows(name), check.records)
        found.records_checked += len(check.records)
        found.problems += [*check.problems, *problems]
        found.notes += notes


def _compare_file(
    entry: FileEntry, sha256: str, size: int, writing: tuple[bool, bool], found: _Findings
) -> None:
    """A file's sha256 and size against its entry; ``writing`` is (a run holds it, bytes
    after the listed length are a run's to write or cut off)."""
    name = entry.name
    busy, growing = writing
    if growing:
        found.notes.append(
            _note(
                name,
                "growing-file",
                f"{name}: "
                + ("a run is writing to it" if busy else "bytes a stopped run left after it")
                + f": checked up to the {entry.size} bytes the manifest lists",
            )
        )
    elif size != entry.size:
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
        listed = f"its first {entry.size} bytes' sha256" if size > entry.size else "sha256"
        found.problems.append(
            VerifyProblem(
                name,
                None,
                "file-sha256",
                entry.sha256,
                sha256,
                f"{name}: {listed} is {sha256}, the manifest says {entry.sha256}",
            )
        )


def _check_unlisted_files(root: Path, names: list[str], listed: set[str], found: _Findings) -> None:
    """Files in the store the manifest does not list: WARCs are problems, ``.open`` notes.

    ``names`` were listed before the manifest was read, and a run lists a file in the
    manifest before it gives it its name: a WARC among them that the manifest does not
    list is not the store's (unless a run holds it, writing)."""
    for name in names:
        path = root / name
        if name.endswith(_OPEN_SUFFIX):
            if name[: -len(_OPEN_SUFFIX)] in listed or not path.exists():
                continue
            if _is_being_written(path):
                text = f"{name}: being written by a run now, not part of the store yet"
                found.notes.append(_note(name, "being-written", text))
            else:
                found.notes.append(
                    _note(
                        name,
                        "incomplete-file",
                        f"{name}: an interrupted write, not part of the store (deleted when "
                        "the store is next opened)",
                    )
                )
        elif _is_archive_name(name) and name not in listed and path.is_file():
            if _is_being_written(path):
                text = f"{name}: being written by a run now, not listed in {MANIFEST_NAME} yet"
                found.notes.append(_note(name, "being-written", text))
                continue
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
    _check_unlisted_files(root, _listing(root), set(), found)
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
        root=str(root),
        files_checked=len(files),
        records_checked=records,
        problems=tuple(problems),
        bytes_checked=sum(path.stat().st_size for path in files),
    )
