"""Checking one WARC against its own digests, the way ``warcio check`` does.

``check_warc`` reads a WARC (a plain file or a member of a WACZ) with
``archiver.storage.warcreader`` and turns what it reports into problems: a record cut
short, a record's own ``WARC-Block-Digest`` or ``WARC-Payload-Digest`` that its
bytes do not match, records not followed by the blank lines a WARC requires, what stopped
reading, and a .gz that is one gzip stream. The reader also names the gzip member a
truncation or a flipped bit broke, which warcio would read past as if it had simply ended.
``WarcCheck.records`` keeps what ``verify_store`` compares with the manifest.

**One pass.** The file is read once and inflated once: the raw bytes go through sha256 on
their way to warcio (``HashingReader``), so ``WarcCheck.sha256`` is the file's hash,
and each record's block and payload go through every digest wanted as they are inflated
(a payload's sha1 serves both its ``WARC-Payload-Digest`` and the archive's CDX digest).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archiver.storage.digests import DigestCheck, HashingReader
from archiver.storage.problems import VerifyProblem
from archiver.storage.warcreader import (
    CorruptMember,
    OpenStream,
    WarcRecord,
    WarcScan,
    is_single_gzip_stream,
    one_line,
    scan_decompressed,
    scan_stream,
)

__all__ = ["SeenRecord", "WarcCheck", "check_warc", "unreadable"]


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
    sha256: str = ""  # of the file's bytes as read (up to the limit asked for)
    size: int = 0  # bytes read in all


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
    if isinstance(scan.error, CorruptMember):
        where = scan.error.offset
        problems.append(
            VerifyProblem(
                label, f"offset {where}", "unreadable", None, None, f"{label}: {scan.error}"
            )
        )
    elif scan.error is not None:
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


def _member_problem(scan: WarcScan, label: str) -> VerifyProblem | None:
    """The gzip member the file ends inside, as a problem (warcio would read it as if it
    had simply ended, so a truncated file would pass its checks)."""
    if scan.cut_member is None:
        return None
    start, there = scan.cut_member
    return VerifyProblem(
        label,
        f"offset {start}",
        "truncated",
        None,
        str(there),
        f"{label}: the gzip member at offset {start} is cut short after {there} bytes "
        "(the file is truncated)",
    )


def check_warc(
    open_stream: OpenStream, label: str, *, limit: int | None = None, stop: bool = False
) -> WarcCheck:
    """Check a WARC against its own digests, reading it once: its bytes are hashed
    (``WarcCheck.sha256``: the first ``limit`` of them, with a limit) as its records are
    inflated and checked. ``stop`` ends the reading at ``limit`` (a file still being
    appended to). A single-stream .gz is reported, and its records checked decompressed
    (read a second time: it is no WARC.gz a replay tool can use)."""
    with open_stream() as stream:
        raw = HashingReader(stream, limit, stop=stop)
        scan = scan_stream(raw, check_digests=True, payload_sha256=True)
        sha256, size = raw.finish()
    if is_single_gzip_stream(scan.error):
        scan = scan_decompressed(open_stream, check_digests=True, payload_sha256=True)
    seen = [_seen(record) for record in scan.records]
    problems = _record_problems(scan, seen, label)
    member_problem = _member_problem(scan, label)
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
    elif member_problem is not None:
        # warcio's own complaint about the same member would only repeat it
        problems = [member_problem, *(p for p in problems if p.check != "unreadable")]
    return WarcCheck(seen, problems, sha256, size)
