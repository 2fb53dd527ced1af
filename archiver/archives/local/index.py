"""The index of a local collection: one ``IndexEntry`` per capture, read from each file.

Each file is read once, with warcio, into a CDXJ index (one line per ``response`` or
``revisit`` record with an http(s) target: ``urlkey timestamp {json}``, the JSON using
pywb's field names ``url``, ``mime``, ``status``, ``digest``, ``length``, ``offset``,
``filename`` plus what revisits and redirects need); ``archiver.archives.local.cache``
keeps it between runs. ``digest`` is the record's ``WARC-Payload-Digest`` as sha1 base32
(computed when the record has none).

**Bad files.** A file that cannot be read at all is an ``InputError`` when it is the
collection, and is skipped with a logged warning (kept in ``problems``) in a folder; a file
readable up to some point keeps the records before it, with a warning. A ``.warc.gz`` that
is one gzip stream instead of one member per record (``example-bad.warc.gz.bad`` in pywb's
samples) is indexed decompressed, with a warning: its records are then read by
decompressing from the start, which is slow for a large file (``warcio recompress`` fixes
it).

verify.py's readers are not reused here: they check digests and drop what an index needs
(HTTP status, ``Location``, the ``WARC-Refers-To-*`` fields); the damage they detect
(records cut short, gzip members that hide a truncation) is detected here the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archiver.archives.local.keys import make_locator, url_key
from archiver.dates import parse_iso, parse_wayback_timestamp, to_wayback_timestamp
from archiver.storage.digests import base32_of, sha1_base32_digest
from archiver.storage.verify import WARC_READ_ERRORS

READ_SIZE = 1024 * 1024
_INDEXED_TYPES = ("response", "revisit")
_READ_ERRORS = WARC_READ_ERRORS


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One ``response`` or ``revisit`` record: a line of the CDXJ index."""

    urlkey: str
    timestamp: str  # 14 digits, from WARC-Date
    url: str  # WARC-Target-URI
    record_type: str  # "response" | "revisit"
    file: str  # absolute path of the WARC or WACZ file
    offset: int  # of the record (into the decompressed data when the file is one gzip stream)
    length: int
    member: str | None = None  # the WARC inside a WACZ
    status: int | None = None
    mime: str | None = None
    digest: str | None = None  # sha1 base32 of the payload (a revisit: of the one it repeats)
    location: str | None = None  # a 3xx's Location, as recorded
    record_id: str | None = None
    refers_to: str | None = None  # a revisit's WARC-Refers-To (record id)
    refers_to_uri: str | None = None
    refers_to_date: str | None = None  # 14 digits
    profile: str | None = None
    has_http: bool = True  # False for a revisit without HTTP headers of its own

    @property
    def locator(self) -> str:
        return make_locator(Path(self.file), self.offset, self.member)

    @property
    def moment(self) -> datetime:
        return parse_wayback_timestamp(self.timestamp)

    def cdxj_line(self) -> str:
        fields: dict[str, Any] = {
            "url": self.url,
            "mime": self.mime,
            "status": self.status,
            "digest": self.digest,
            "length": self.length,
            "offset": self.offset,
            "filename": self.member,
            "type": self.record_type,
            "id": self.record_id,
            "location": self.location,
            "refers_to": self.refers_to,
            "refers_to_uri": self.refers_to_uri,
            "refers_to_date": self.refers_to_date,
            "profile": self.profile,
            "http": None if self.has_http else False,
        }
        kept = {k: v for k, v in fields.items() if v is not None}
        return f"{self.urlkey} {self.timestamp} {json.dumps(kept, separators=(',', ':'))}"

    @classmethod
    def from_cdxj_line(cls, line: str, file: str) -> IndexEntry:
        urlkey, timestamp, text = line.split(" ", 2)
        data = json.loads(text)
        return cls(
            urlkey=urlkey,
            timestamp=timestamp,
            url=data["url"],
            record_type=data["type"],
            file=file,
            offset=int(data["offset"]),
            length=int(data["length"]),
            member=data.get("filename"),
            status=data.get("status"),
            mime=data.get("mime"),
            digest=data.get("digest"),
            location=data.get("location"),
            record_id=data.get("id"),
            refers_to=data.get("refers_to"),
            refers_to_uri=data.get("refers_to_uri"),
            refers_to_date=data.get("refers_to_date"),
            profile=data.get("profile"),
            has_http=data.get("http", True),
        )


@dataclass(frozen=True)
class FileIndex:
    stamp: tuple[int, int]  # (size, mtime_ns) of the file when it was indexed
    entries: tuple[IndexEntry, ...] = ()
    decompressed: bool = False  # one gzip stream: offsets are into the decompressed data
    warning: str | None = None  # why part of the file was not indexed
    error: str | None = None  # why none of it could be


def file_stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def describe(error: BaseException) -> str:
    text = _one_line(str(error))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _target(value: str | None) -> str:
    # WARC/1.0 writers (wget among them) may wrap the URI in angle brackets.
    return (value or "").strip().strip("<>").strip()


def _timestamp(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return to_wayback_timestamp(parse_iso(value))
    except ValueError:
        return None


def _mime(content_type: str | None) -> str | None:
    value = (content_type or "").split(";", 1)[0].strip().lower()
    return value or None


def _entry_fields(record: Any, file: str, member: str | None) -> tuple[dict[str, Any] | None, int]:
    """Read ``record`` to its end: the fields of its index entry (None: not indexed) and the
    bytes of its block actually read (fewer than its Content-Length when it is cut short)."""
    headers = record.rec_headers
    http = record.http_headers
    sha1 = hashlib.sha1()
    payload_read = 0
    while chunk := record.raw_stream.read(READ_SIZE):
        sha1.update(chunk)
        payload_read += len(chunk)
    block_read = payload_read + (int(http.total_len or 0) if http is not None else 0)

    record_type = (headers.get_header("WARC-Type") or record.rec_type or "").lower()
    url = _target(headers.get_header("WARC-Target-URI"))
    timestamp = _timestamp(headers.get_header("WARC-Date"))
    if record_type not in _INDEXED_TYPES or not timestamp:
        return None, block_read
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return None, block_read
    digest = sha1_base32_digest(headers.get_header("WARC-Payload-Digest"))
    if digest is None and record_type == "response":
        digest = base32_of(sha1)
    status: int | None = None
    if http is not None and (http.get_statuscode() or "").isdigit():
        status = int(http.get_statuscode())
    fields: dict[str, Any] = {
        "urlkey": url_key(url),
        "timestamp": timestamp,
        "url": url,
        "record_type": record_type,
        "file": file,
        "member": member,
        "status": status,
        "mime": _mime(http.get_header("Content-Type")) if http is not None else None,
        "digest": digest,
        "location": (http.get_header("Location") or None) if http is not None else None,
        "record_id": headers.get_header("WARC-Record-ID"),
    }
    if record_type == "revisit":
        fields.update(
            refers_to=headers.get_header("WARC-Refers-To"),
            refers_to_uri=_target(headers.get_header("WARC-Refers-To-Target-URI")) or None,
            refers_to_date=_timestamp(headers.get_header("WARC-Refers-To-Date")),
            profile=headers.get_header("WARC-Profile"),
            has_http=http is not None,
        )
    return fields, block_read


class _QuietArchiveIterator(ArchiveIterator):
    # warcio writes this warning straight to stderr; its err_count becomes our warning instead
    INC_RECORD = ""


@dataclass
class _Scan:
    """What reading one WARC stream found."""

    entries: list[IndexEntry] = field(default_factory=list)
    warc_records: int = 0
    boundary_errors: int = 0  # records not followed by the blank lines a WARC requires
    end: int = 0  # where the last record read ends


class _CutShort(ValueError):
    """A record's block ends before its Content-Length: the file is truncated there.

    warcio reads a gzip member cut short as if it simply ended, so this is checked here.
    """


class _Damaged(Exception):
    """Reading stopped at damage; ``scan`` holds what was read before it."""

    def __init__(self, scan: _Scan, cause: BaseException) -> None:
        if isinstance(cause, _CutShort):
            reason = str(cause)
        elif "Unknown archive format" in str(cause):  # warcio quotes the bytes it met
            reason = "not a WARC file, or damaged where it starts"
        else:
            reason = describe(cause)
        super().__init__(reason)
        self.scan = scan


def _scan_stream(stream: Any, file: str, member: str | None, scan: _Scan, size: int | None) -> None:
    """Read every record of one WARC stream into ``scan``; ``size`` (None: unknown) is the
    stream's length, which the records must fill: a gzip member cut short early in its
    data gives warcio no record at all, and no error either."""
    iterator = _QuietArchiveIterator(stream)
    try:
        for record in iterator:
            fields, block_read = _entry_fields(record, file, member)
            offset, length = iterator.get_record_offset(), iterator.get_record_length()
            if record.length is not None and block_read < record.length:
                raise _CutShort(
                    f"the record at offset {offset} ends after {block_read} of its "
                    f"{record.length} bytes"
                )
            if record.format == "warc":
                scan.warc_records += 1
            if fields is not None:
                scan.entries.append(IndexEntry(offset=offset, length=length, **fields))
            scan.end = offset + length
    finally:
        scan.boundary_errors += iterator.err_count
    if size is not None and scan.end < size:
        raise _CutShort(
            f"the {size - scan.end} bytes after offset {scan.end} are not a complete record "
            "(the file is cut short or damaged there)"
        )


def _index_warc(
    open_stream: Any, file: str, member: str | None, size: int | None
) -> tuple[_Scan, bool]:
    """Scan one WARC of ``size`` bytes; a .gz that is one gzip stream is scanned
    decompressed (True)."""
    scan = _Scan()
    try:
        with open_stream() as stream:
            _scan_stream(stream, file, member, scan, size)
        return scan, False
    except ArchiveLoadFailed as e:
        if "non-chunked gzip" not in str(e):
            raise _Damaged(scan, e) from e
    except _READ_ERRORS as e:
        raise _Damaged(scan, e) from e
    scan = _Scan()
    try:
        with open_stream() as raw, gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            _scan_stream(stream, file, member, scan, None)
    except _READ_ERRORS as e:
        raise _Damaged(scan, e) from e
    return scan, True


def _wacz_warcs(archive: zipfile.ZipFile) -> list[str]:
    return [
        info.filename
        for info in archive.infolist()
        if not info.is_dir()
        and info.filename.startswith("archive/")
        and info.filename.lower().endswith((".warc", ".warc.gz"))
    ]


_SINGLE_STREAM = "the whole file is one gzip stream, not one member per record"


def _outcome(scan: _Scan, damage: str | None) -> tuple[str | None, str | None]:
    """(error, warning) for a scan: no WARC record or nothing read before damage is an error."""
    if damage is not None and scan.end == 0:
        return f"cannot read it: {damage}", None
    if scan.warc_records == 0:  # warcio reads some text as ARC records
        return "no WARC record in it (is it a WARC file?)", None
    if damage is not None and not scan.entries:
        return f"cannot read it: {damage}", None
    notes = []
    if damage is not None:
        notes.append(f"indexed {len(scan.entries)} captures, then stopped: {damage}")
    if scan.boundary_errors:
        notes.append(
            f"{scan.boundary_errors} record(s) not followed by the two blank lines a WARC "
            "requires (a Content-Length may be wrong)"
        )
    return None, "; ".join(notes) or None


def build_index(path: Path, stamp: tuple[int, int]) -> FileIndex:
    """Read ``path`` (a WARC or a WACZ) into a ``FileIndex``; damage is recorded, not raised."""
    if path.name.lower().endswith(".wacz") or zipfile.is_zipfile(path):
        return _build_wacz_index(path, stamp)
    damage = None
    decompressed = False
    try:
        scan, decompressed = _index_warc(lambda: path.open("rb"), str(path), None, stamp[0])
    except _Damaged as e:
        scan, damage = e.scan, str(e)
    error, warning = _outcome(scan, damage)
    if error is not None:
        return FileIndex(stamp, error=error)
    if decompressed:
        slow = (
            f"{_SINGLE_STREAM}, so each record is read by decompressing from the start "
            "(`warcio recompress` fixes it)"
        )
        warning = f"{slow}; {warning}" if warning else slow
    return FileIndex(stamp, tuple(scan.entries), decompressed, warning=warning)


def _build_wacz_index(path: Path, stamp: tuple[int, int]) -> FileIndex:
    entries: list[IndexEntry] = []
    notes: list[str] = []
    try:
        with zipfile.ZipFile(path) as archive:
            members = _wacz_warcs(archive)
            if not members:
                return FileIndex(stamp, error="not a usable WACZ: no WARC file under archive/")
            for name in members:
                damage = None
                try:
                    scan, decompressed = _index_warc(
                        lambda name=name: archive.open(name),
                        str(path),
                        name,
                        archive.getinfo(name).file_size,
                    )
                except _Damaged as e:
                    scan, damage, decompressed = e.scan, str(e), False
                if decompressed:  # its offsets could only be read by decompressing: skip it
                    notes.append(f"{name}: skipped: {_SINGLE_STREAM}")
                    continue
                error, warning = _outcome(scan, damage)
                if error is not None or warning is not None:
                    notes.append(f"{name}: {error or warning}")
                if error is None:
                    entries.extend(scan.entries)
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as e:
        return FileIndex(stamp, error=f"cannot read it as a WACZ: {describe(e)}")
    if not entries and notes:
        return FileIndex(stamp, error="; ".join(notes))
    return FileIndex(stamp, tuple(entries), warning="; ".join(notes) or None)
