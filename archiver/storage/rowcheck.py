"""A WARC file's records against the manifest's rows for it (``verify --deep``).

Each row is looked for at its offset, or, when the record there is another, by its
WARC-Record-ID (a record that moved); then its identity, length and payload sha256 are
compared, and for a memento the archive's own digest (CDX ``digest``, sha1 base32) of its
payload. A record no row lists is a problem too. Check names are listed in
``archiver.storage.verify``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archiver.storage.manifest import RecordEntry
from archiver.storage.problems import VerifyProblem

if TYPE_CHECKING:  # imported where records are read (warcio under it)
    from archiver.storage.warccheck import SeenRecord

__all__ = ["compare_records"]


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


def compare_records(
    name: str, rows: list[RecordEntry], records: list[SeenRecord]
) -> tuple[list[VerifyProblem], list[VerifyProblem]]:
    """(problems, notes): each manifest row of the file ``name`` against the record found
    at its offset (or, moved, by its id), and each record found against the rows."""
    problems: list[VerifyProblem] = []
    notes: list[VerifyProblem] = []
    by_offset = {seen.offset: seen for seen in records}
    by_id = {seen.record_id: seen for seen in records if seen.record_id}
    matched: set[int] = set()
    for row in rows:
        seen = by_offset.get(row.offset)
        if seen is None or (seen.record_id != row.record_id and row.record_id in by_id):
            moved = by_id.get(row.record_id)
            if moved is None:
                text = f"no record at offset {row.offset}"
                problems.append(_row_problem(name, row, "record-missing", row.offset, None, text))
                continue
            text = f"at offset {moved.offset}, the manifest says {row.offset}"
            problems.append(
                _row_problem(name, row, "record-offset", row.offset, moved.offset, text)
            )
            seen = moved
        matched.add(seen.offset)
        _compare_record(name, row, seen, problems, notes)
    for seen in records:
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


def _compare_record(
    name: str,
    row: RecordEntry,
    seen: SeenRecord,
    problems: list[VerifyProblem],
    notes: list[VerifyProblem],
) -> None:
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
            problems.append(_row_problem(name, row, check, expected, actual, text))
    if seen.payload_sha256 != row.payload_sha256:
        text = f"payload sha256 is {seen.payload_sha256}, the manifest says {row.payload_sha256}"
        problems.append(
            _row_problem(name, row, "payload-sha256", row.payload_sha256, seen.payload_sha256, text)
        )
    if not row.archive_digest:
        return
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
        text = f"payload sha1 is {seen.payload_sha1}, the archive's digest is {row.archive_digest}"
        problems.append(
            _row_problem(name, row, "archive-digest", row.archive_digest, seen.payload_sha1, text)
        )
