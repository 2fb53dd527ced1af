"""Proving that stored bytes are the bytes that were captured: the ``verify`` stage.

``verify_store`` re-reads a store directory and recomputes everything its manifest claims:
each file's sha256 and size, each record's place, identity and payload sha256, and the
archive's own digest (CDX ``digest``, sha1 base32) of each memento; it also checks every
record's own ``WARC-Block-Digest`` / ``WARC-Payload-Digest`` the way ``warcio check`` does.
``verify_warc`` does the second part alone for any WARC or WACZ file, without a manifest
(for a WACZ, also the sha256 of each file ``datapackage.json`` lists).

Every mismatch is a ``VerifyProblem`` that names the file, the record (its WARC-Record-ID,
or ``offset N`` when the record could not be identified) and the check that failed, with
the expected and actual values. Damaged input is a problem in the report, never an
exception: verification exists to look at broken files. Only a store whose
``manifest.json`` exists but cannot be parsed raises ``StoreError`` (nothing it lists can
be trusted, so there is nothing to check against).

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

Notes (``VerifyReport.notes``) are facts worth showing that are not failures: a capture
stored with ``archive_digest_match: false`` (flagged when it was written), a file still
named ``.open`` because a run was killed just before renaming it (its bytes are checked),
an unlisted ``.open`` file (an interrupted write, deleted when the store is next opened),
and a directory of WARC files with no manifest (each file is then checked against its own
digests only). Non-WARC files in a store (``state.sqlite``, reports) are ignored.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from archiver.errors import InputError, StoreError
from archiver.models import _Serialisable
from archiver.storage.digests import DigestCheck, file_sha256
from archiver.storage.manifest import MANIFEST_NAME, RecordEntry, read_manifest
from archiver.storage.warcreader import WarcRecord, WarcScan, one_line, scan_warc

__all__ = ["VerifyProblem", "VerifyReport", "verify_store", "verify_warc"]

_ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz", ".wacz")
_OPEN_SUFFIX = ".open"
_READ_SIZE = 1024 * 1024


@dataclass(frozen=True)
class VerifyProblem(_Serialisable):
    """One failed check (or, in ``VerifyReport.notes``, one fact worth knowing)."""

    file: str
    record: str | None
    check: str
    expected: str | None
    actual: str | None
    message: str


@dataclass(frozen=True)
class VerifyReport(_Serialisable):
    """What was checked and what failed; ``ok`` is False on any problem (notes never fail)."""

    root: str
    files_checked: int
    records_checked: int
    problems: tuple[VerifyProblem, ...] = ()
    notes: tuple[VerifyProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **super().to_dict()}


# -- reading one WARC stream -----------------------------------------------------------


@dataclass(frozen=True)
class _SeenRecord:
    offset: int
    length: int
    type: str | None
    record_id: str | None
    target_uri: str | None
    warc_date: str | None
    payload_sha256: str
    payload_sha1: str  # base32, as archives write CDX digests

    @property
    def label(self) -> str:
        return self.record_id or f"offset {self.offset}"


@dataclass
class _Scan:
    records: list[_SeenRecord] = field(default_factory=list)
    problems: list[VerifyProblem] = field(default_factory=list)


def _digest_problem(check: DigestCheck, file: str, record: str) -> VerifyProblem | None:
    """The problem a record's own digest reports once its bytes were read, if any."""
    kind = "block-digest" if check.header == "WARC-Block-Digest" else "payload-digest"
    if not check.known:
        return VerifyProblem(
            file,
            record,
            "digest-algorithm",
            None,
            check.value,
            f"{file}: {record}: cannot check {check.header} {check.value!r} "
            "(unknown algorithm or no value)",
        )
    actual = check.mismatch()
    if actual is None:
        return None
    return VerifyProblem(
        file,
        record,
        kind,
        check.value,
        actual,
        f"{file}: {record}: {check.header} says {check.value}, the bytes hash to {actual}",
    )


def _seen(record: WarcRecord) -> _SeenRecord:
    return _SeenRecord(
        offset=record.offset,
        length=record.length,
        type=record.header("WARC-Type") or record.rec_type,
        record_id=record.header("WARC-Record-ID"),
        target_uri=record.header("WARC-Target-URI"),
        warc_date=record.header("WARC-Date"),
        payload_sha256=record.payload_sha256 or "",
        payload_sha1=record.payload_sha1,
    )


def _record_problems(scan: WarcScan, label: str) -> list[VerifyProblem]:
    """What one WARC's records say about themselves, in the order they were read."""
    problems: list[VerifyProblem] = []
    offset = 0  # where the record being read when reading stopped begins
    for record in scan.records:
        seen = _seen(record)
        offset = record.offset
        if record.cut_short:
            problems.append(
                VerifyProblem(
                    label,
                    seen.label,
                    "truncated",
                    str(record.declared),
                    str(record.block_read),
                    f"{label}: {seen.label}: the block ends after {record.block_read} of its "
                    f"{record.declared} bytes",
                )
            )
            continue  # its digests would only repeat that
        for check in record.digest_checks:
            problem = _digest_problem(check, label, seen.label)
            if problem is not None:
                problems.append(problem)
        offset = record.end
    if scan.error is not None:
        problems.append(_unreadable(label, offset, scan.error))
    if scan.boundary_errors:
        problems.append(
            VerifyProblem(
                label,
                None,
                "record-boundary",
                "0",
                str(scan.boundary_errors),
                f"{label}: {scan.boundary_errors} record(s) not followed by the two blank "
                "lines a WARC requires (a Content-Length may be wrong)",
            )
        )
    return problems


def _unreadable(label: str, offset: int, error: BaseException) -> VerifyProblem:
    reason = one_line(str(error)) or type(error).__name__
    return VerifyProblem(
        label,
        f"offset {offset}",
        "unreadable",
        None,
        None,
        f"{label}: cannot read past offset {offset}: {type(error).__name__}: {reason}",
    )


def _check_gzip_members(stream: IO[bytes], label: str) -> VerifyProblem | None:
    """Walk the gzip members of a .gz file; the first corrupt or cut-short one is a problem.

    warcio reads a member cut short as if it simply ended, so a truncated file would pass
    its checks; this pass catches that (and names the member a flipped bit broke).
    """
    if stream.read(2) != b"\x1f\x8b":
        return None
    stream.seek(0)
    member_start = 0
    position = 0
    decompressor = zlib.decompressobj(31)
    started = False
    pending = b""
    while True:
        chunk = pending or stream.read(_READ_SIZE)
        pending = b""
        if not chunk:
            break
        started = True
        data = chunk
        try:
            while data and not decompressor.eof:
                decompressor.decompress(data, _READ_SIZE)  # output not needed, only checks
                data = decompressor.unconsumed_tail
        except zlib.error as e:
            return VerifyProblem(
                label,
                f"offset {member_start}",
                "unreadable",
                None,
                None,
                f"{label}: the gzip member at offset {member_start} is corrupt ({e})",
            )
        if decompressor.eof:
            pending = decompressor.unused_data
            position += len(chunk) - len(pending)
            member_start = position
            decompressor = zlib.decompressobj(31)
            started = False
        else:
            position += len(chunk)
    if started:
        return VerifyProblem(
            label,
            f"offset {member_start}",
            "truncated",
            None,
            str(position - member_start),
            f"{label}: the gzip member at offset {member_start} is cut short after "
            f"{position - member_start} bytes (the file is truncated)",
        )
    return None


def _scan_warc(open_stream: Any, label: str) -> _Scan:
    """Check a WARC against its own digests; a single-stream .gz is reported, and its
    records checked decompressed."""
    with open_stream() as stream:
        gzip_problem = _check_gzip_members(stream, label) if stream.seekable() else None
    scan = scan_warc(open_stream, check_digests=True, payload_sha256=True)
    problems = _record_problems(scan, label)
    if scan.decompressed:
        problems.insert(
            0,
            VerifyProblem(
                label,
                None,
                "gzip-members",
                "one gzip member per record",
                "one gzip stream",
                f"{label}: the whole file is one gzip stream, not one member per record, so "
                "replay tools cannot seek to its records (`warcio recompress` fixes it); its "
                "records were checked decompressed, with offsets into the decompressed data",
            ),
        )
    elif gzip_problem is not None:
        # warcio's own complaint about the same member would only repeat it
        problems = [gzip_problem, *(p for p in problems if p.check != "unreadable")]
    return _Scan([_seen(record) for record in scan.records], problems)


# -- WACZ --------------------------------------------------------------------------------


def _wacz_resources(data: Any) -> list[tuple[str, str, str | None, int | None]]:
    """(path, algorithm, hex digest, size) of each datapackage resource (1.0 and 1.1 forms)."""
    resources = data.get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, list):
        raise ValueError('no "resources" list')
    result = []
    for item in resources:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise ValueError("a resource without a path")
        stats: dict[str, Any] = item["stats"] if isinstance(item.get("stats"), dict) else item
        value = stats.get("hash")
        algorithm = str(item.get("hashing") or "sha256")
        if isinstance(value, str) and ":" in value:
            algorithm, _, value = value.partition(":")
        size = stats.get("bytes")
        result.append(
            (
                item["path"],
                algorithm.lower().replace("-", ""),
                value if isinstance(value, str) else None,
                size if isinstance(size, int) else None,
            )
        )
    return result


def _hash_member(archive: zipfile.ZipFile, name: str, algorithm: str) -> tuple[str, int]:
    hasher = hashlib.new(algorithm)
    size = 0
    with archive.open(name) as stream:
        while chunk := stream.read(_READ_SIZE):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def _verify_wacz(path: Path, label: str) -> tuple[int, list[VerifyProblem]]:
    problems: list[VerifyProblem] = []
    records = 0
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        problems.append(_unreadable(label, 0, e))
        return 0, problems
    with archive:
        members = [info.filename for info in archive.infolist() if not info.is_dir()]
        listed: set[str] = {"datapackage.json", "datapackage-digest.json"}

        def member_problem(name: str, check: str, expected: Any, actual: Any, text: str) -> None:
            problems.append(
                VerifyProblem(
                    f"{label}/{name}",
                    None,
                    check,
                    None if expected is None else str(expected),
                    None if actual is None else str(actual),
                    f"{label}/{name}: {text}",
                )
            )

        try:
            package = json.loads(archive.read("datapackage.json").decode("utf-8"))
            resources = _wacz_resources(package)
        except KeyError:
            member_problem("datapackage.json", "wacz-datapackage", None, None, "missing")
            resources = []
        except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, zlib.error, OSError) as e:
            member_problem(
                "datapackage.json", "wacz-datapackage", None, None, f"unusable: {one_line(str(e))}"
            )
            resources = []

        for name, algorithm, expected, size in resources:
            listed.add(name)
            if name not in members:
                member_problem(name, "missing-file", expected, None, "listed but absent")
                continue
            try:
                actual, actual_size = _hash_member(archive, name, algorithm)
            except ValueError:
                member_problem(
                    name, "digest-algorithm", algorithm, None, f"unknown hash {algorithm!r}"
                )
                continue
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
                problems.append(_unreadable(f"{label}/{name}", 0, e))
                continue
            if size is not None and size != actual_size:
                member_problem(
                    name, "file-size", size, actual_size, f"{actual_size} bytes, listed {size}"
                )
            if expected is not None and expected.lower() != actual:
                member_problem(
                    name,
                    f"file-{algorithm}",
                    expected,
                    actual,
                    f"{algorithm} is {actual}, listed {expected}",
                )

        for name in members:
            if name not in listed:
                member_problem(name, "unknown-file", None, None, "not listed in datapackage.json")

        warcs = [
            name
            for name in members
            if name.startswith("archive/") and name.lower().endswith((".warc", ".warc.gz"))
        ]
        if not warcs:
            member_problem("archive", "wacz-layout", None, None, "no WARC file under archive/")
        for name in warcs:
            try:
                scan = _scan_warc(lambda name=name: archive.open(name), f"{label}/{name}")
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
                problems.append(_unreadable(f"{label}/{name}", 0, e))
                continue
            records += len(scan.records)
            problems.extend(scan.problems)
    return records, problems


# -- public API --------------------------------------------------------------------------


def _is_archive_name(name: str) -> bool:
    return name.lower().endswith(_ARCHIVE_SUFFIXES)


def _check_file(path: Path, label: str) -> tuple[int, list[VerifyProblem], _Scan | None]:
    """(records, problems, scan) of one WARC or WACZ file, against its own digests."""
    if path.name.lower().endswith(".wacz") or zipfile.is_zipfile(path):
        records, problems = _verify_wacz(path, label)
        return records, problems, None
    scan = _scan_warc(lambda: path.open("rb"), label)
    return len(scan.records), list(scan.problems), scan


def verify_warc(path: Path) -> VerifyReport:
    """Check one WARC or WACZ file against its own digests (no manifest needed)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a directory: verify it as a store")
    if not path.exists():
        raise InputError(f"no such file: {path}")
    records, problems, _ = _check_file(path, path.name)
    return VerifyReport(
        root=str(path), files_checked=1, records_checked=records, problems=tuple(problems)
    )


def verify_store(root: Path) -> VerifyReport:
    """Recompute every hash the store's manifest records, and name each mismatch."""
    root = Path(root)
    if not root.is_dir():
        raise StoreError(f"no such store: {root}")
    manifest = read_manifest(root)
    if manifest is None:
        return _verify_unindexed(root)

    problems: list[VerifyProblem] = []
    notes: list[VerifyProblem] = []
    files_checked = 0
    records_checked = 0
    records_by_file: dict[str, list[RecordEntry]] = {}
    for row in manifest.records:
        records_by_file.setdefault(row.file, []).append(row)
    listed = manifest.file_names()

    for entry in manifest.files:
        name = entry.name
        path = root / name
        if "/" in name or "\\" in name or name in ("", ".", ".."):
            problems.append(
                VerifyProblem(name, None, "missing-file", None, None, f"{name}: not a file name")
            )
            continue
        if not path.exists():
            pending = root / (name + _OPEN_SUFFIX)
            if pending.exists() and file_sha256(pending) == (entry.sha256, entry.size):
                notes.append(
                    VerifyProblem(
                        name,
                        None,
                        "pending-rename",
                        None,
                        None,
                        f"{name}: complete but still named {pending.name} (a run stopped "
                        "before renaming it; opening the store renames it)",
                    )
                )
                path = pending
            else:
                problems.append(
                    VerifyProblem(
                        name, None, "missing-file", entry.sha256, None, f"{name}: file is missing"
                    )
                )
                continue
        files_checked += 1
        sha256, size = file_sha256(path)
        if size != entry.size:
            problems.append(
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
            problems.append(
                VerifyProblem(
                    name,
                    None,
                    "file-sha256",
                    entry.sha256,
                    sha256,
                    f"{name}: sha256 is {sha256}, the manifest says {entry.sha256}",
                )
            )
        scan = _scan_warc(lambda path=path: path.open("rb"), name)
        records_checked += len(scan.records)
        problems.extend(scan.problems)
        found, found_notes = _compare_records(name, records_by_file.get(name, []), scan)
        problems.extend(found)
        notes.extend(found_notes)

    for orphan in sorted(set(records_by_file) - listed):
        for row in records_by_file[orphan]:
            problems.append(
                VerifyProblem(
                    orphan,
                    row.record_id,
                    "record-missing",
                    row.record_id,
                    None,
                    f"{orphan}: {row.record_id}: listed in a file the manifest does not list",
                )
            )

    for path in sorted(root.iterdir()):
        name = path.name
        if name.endswith(_OPEN_SUFFIX):
            if name[: -len(_OPEN_SUFFIX)] not in listed:
                notes.append(
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
            problems.append(
                VerifyProblem(
                    name,
                    None,
                    "unknown-file",
                    None,
                    None,
                    f"{name}: a WARC file that {MANIFEST_NAME} does not list",
                )
            )
    return VerifyReport(
        root=str(root),
        files_checked=files_checked,
        records_checked=records_checked,
        problems=tuple(problems),
        notes=tuple(notes),
    )


def _compare_records(
    name: str, rows: list[RecordEntry], scan: _Scan
) -> tuple[list[VerifyProblem], list[VerifyProblem]]:
    problems: list[VerifyProblem] = []
    notes: list[VerifyProblem] = []
    by_offset = {seen.offset: seen for seen in scan.records}
    by_id = {seen.record_id: seen for seen in scan.records if seen.record_id}
    matched: set[int] = set()

    def problem(row: RecordEntry, check: str, expected: Any, actual: Any, text: str) -> None:
        problems.append(
            VerifyProblem(
                name,
                row.record_id,
                check,
                None if expected is None else str(expected),
                None if actual is None else str(actual),
                f"{name}: {row.record_id}: {text}",
            )
        )

    for row in rows:
        seen = by_offset.get(row.offset)
        if seen is None or (seen.record_id != row.record_id and row.record_id in by_id):
            moved = by_id.get(row.record_id)
            if moved is None:
                problem(
                    row, "record-missing", row.offset, None, f"no record at offset {row.offset}"
                )
                continue
            problem(
                row,
                "record-offset",
                row.offset,
                moved.offset,
                f"at offset {moved.offset}, the manifest says {row.offset}",
            )
            seen = moved
        matched.add(seen.offset)
        comparisons = (
            ("record-id", row.record_id, seen.record_id),
            ("record-type", row.type, seen.type),
            ("target-uri", row.target_uri, seen.target_uri),
            ("warc-date", row.warc_date, seen.warc_date),
            ("record-length", row.length, seen.length),
        )
        for check, expected, actual in comparisons:
            if expected != actual:
                problem(row, check, expected, actual, f"{check} is {actual!r}, listed {expected!r}")
        if seen.payload_sha256 != row.payload_sha256:
            problem(
                row,
                "payload-sha256",
                row.payload_sha256,
                seen.payload_sha256,
                f"payload sha256 is {seen.payload_sha256}, the manifest says {row.payload_sha256}",
            )
        if row.archive_digest:
            if row.archive_digest_match is False:
                notes.append(
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
                problem(
                    row,
                    "archive-digest",
                    row.archive_digest,
                    seen.payload_sha1,
                    f"payload sha1 is {seen.payload_sha1}, the archive's digest is "
                    f"{row.archive_digest}",
                )
    for seen in scan.records:
        if seen.offset not in matched:
            problems.append(
                VerifyProblem(
                    name,
                    seen.label,
                    "unlisted-record",
                    None,
                    seen.record_id,
                    f"{name}: {seen.label} at offset {seen.offset} is not in the manifest",
                )
            )
    return problems, notes


def _verify_unindexed(root: Path) -> VerifyReport:
    """A directory without a manifest: each WARC/WACZ against its own digests."""
    problems: list[VerifyProblem] = []
    files = [p for p in sorted(root.iterdir()) if p.is_file() and _is_archive_name(p.name)]
    records = 0
    for path in files:
        count, found, _ = _check_file(path, path.name)
        records += count
        problems.extend(found)
    note = VerifyProblem(
        MANIFEST_NAME,
        None,
        "no-manifest",
        None,
        None,
        f"{root} has no {MANIFEST_NAME}: each file was checked against its own digests only",
    )
    return VerifyReport(
        root=str(root),
        files_checked=len(files),
        records_checked=records,
        problems=tuple(problems),
        notes=(note,),
    )
