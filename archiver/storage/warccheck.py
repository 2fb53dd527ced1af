"""Checking one WARC against its own digests, the way ``warcio check`` does.

``check_warc`` reads a WARC (a plain file or a member of a WACZ) with
``archiver.storage.warcreader`` and turns what it reports into problems: a record cut
short, a record's own ``WARC-Block-Digest`` or ``WARC-Payload-Digest`` that its
bytes do not match, records not followed by the blank lines a WARC requires, what stopped
reading, and a .gz that is one gzip stream. It also walks the gzip members of a .gz once
more, since warcio reads a member cut short as if it simply ended; that pass names the
member a truncation or a flipped bit broke. ``WarcCheck.records`` keeps what
``verify_store`` compares with the manifest.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import IO

from archiver.storage.digests import DigestCheck
from archiver.storage.problems import VerifyProblem
from archiver.storage.warcreader import OpenStream, WarcRecord, WarcScan, one_line, scan_warc

__all__ = ["SeenRecord", "WarcCheck", "check_warc", "unreadable"]

_READ_SIZE = 1024 * 1024


@dataclass(frozen=True)
class SeenRecord:
    """A record as found in a WARC, for comparison with the manifest's row."""

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
class WarcCheck:
    """What checking one WARC found: its records, and its problems in the order found."""

    records: list[SeenRecord] = field(default_factory=list)
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


def _seen(record: WarcRecord) -> SeenRecord:
    return SeenRecord(
        offset=record.offset,
        length=record.length,
        type=record.header("WARC-Type") or record.rec_type,
        record_id=record.header("WARC-Record-ID"),
        target_uri=record.header("WARC-Target-URI"),
        warc_date=record.header("WARC-Date"),
        payload_sha256=record.payload_sha256 or "",
        payload_sha1=record.payload_sha1,
    )


def _record_problems(
    scan: WarcScan, seen_records: list[SeenRecord], label: str
) -> list[VerifyProblem]:
    """What one WARC's records say about themselves, in the order they were read."""
    problems: list[VerifyProblem] = []
    offset = 0  # where the record being read when reading stopped begins
    for record, seen in zip(scan.records, seen_records, strict=True):
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
        problems.append(unreadable(label, offset, scan.error))
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


def unreadable(label: str, offset: int, error: BaseException) -> VerifyProblem:
    """The problem of a file that cannot be read past ``offset``."""
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


def check_warc(open_stream: OpenStream, label: str) -> WarcCheck:
    """Check a WARC against its own digests; a single-stream .gz is reported, and its
    records checked decompressed."""
    with open_stream() as stream:
        gzip_problem = _check_gzip_members(stream, label) if stream.seekable() else None
    scan = scan_warc(open_stream, check_digests=True, payload_sha256=True)
    seen = [_seen(record) for record in scan.records]
    problems = _record_problems(scan, seen, label)
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
    return WarcCheck(seen, problems)
