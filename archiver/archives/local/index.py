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
it). Header lines that never end (a damaged file, or a gzip bomb: a few MB that inflate
to gigabytes) stop indexing there like any other damage, after 1 MiB; a record body is
read in chunks, however large: indexing a file takes bounded memory, plus its entries.

Files are read with ``archiver.storage.warcreader``, the reader ``verify`` uses too.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archiver.archives.local.keys import make_locator, url_key
from archiver.dates import parse_iso, parse_wayback_timestamp, to_wayback_timestamp
from archiver.jsontext import parse_json
from archiver.storage.digests import sha1_base32_digest
from archiver.storage.warcreader import (
    WARC_READ_ERRORS,
    HeadTooLong,
    OpenStream,
    WarcRecord,
    describe_error,
    scan_warc,
    wacz_warc_members,
)

_INDEXED_TYPES = ("response", "revisit")


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
        data = parse_json(text)
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


def _entry(record: WarcRecord, file: str, member: str | None) -> IndexEntry | None:
    """The index entry of ``record``, or None when it is not indexed."""
    http = record.http
    record_type = (record.header("WARC-Type") or record.rec_type or "").lower()
    url = _target(record.header("WARC-Target-URI"))
    timestamp = _timestamp(record.header("WARC-Date"))
    if record_type not in _INDEXED_TYPES or not timestamp:
        return None
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    digest = sha1_base32_digest(record.header("WARC-Payload-Digest"))
    if digest is None and record_type == "response":
        digest = record.payload_sha1
    status: int | None = None
    if http is not None and (http.get_statuscode() or "").isdigit():
        status = int(http.get_statuscode())
    fields: dict[str, Any] = {
        "urlkey": url_key(url),
        "timestamp": timestamp,
        "url": url,
        "record_type": record_type,
        "file": file,
        "offset": record.offset,
        "length": record.length,
        "member": member,
        "status": status,
        "mime": _mime(http.get_header("Content-Type")) if http is not None else None,
        "digest": digest,
        "location": (http.get_header("Location") or None) if http is not None else None,
        "record_id": record.header("WARC-Record-ID"),
    }
    if record_type == "revisit":
        fields.update(
            refers_to=record.header("WARC-Refers-To"),
            refers_to_uri=_target(record.header("WARC-Refers-To-Target-URI")) or None,
            refers_to_date=_timestamp(record.header("WARC-Refers-To-Date")),
            profile=record.header("WARC-Profile"),
            has_http=http is not None,
        )
    return IndexEntry(**fields)


@dataclass(frozen=True)
class _Indexed:
    """What reading one WARC gave the index, up to the damage that stopped it, if any."""

    entries: list[IndexEntry]
    warc_records: int = 0
    boundary_errors: int = 0
    end: int = 0  # where the last record read ends
    damage: str | None = None
    decompressed: bool = False  # one gzip stream: offsets are into the decompressed data


def _unframed(record: WarcRecord) -> bool:
    """True for a record whose header block is cut short, most likely: it has no
    Content-Length (which a WARC record must have), or nothing after its WARC headers
    where an HTTP head was due."""
    return record.declared is None or record.head_missing


def _damage(error: BaseException) -> str:
    if "Unknown archive format" in str(error):  # warcio quotes the bytes it met
        return "not a WARC file, or damaged where it starts"
    if isinstance(error, HeadTooLong):  # its message says it all
        return str(error)
    return describe_error(error)


def _index_warc(
    open_stream: OpenStream, file: str, member: str | None, size: int | None
) -> _Indexed:
    """Index one WARC of ``size`` bytes (None: unknown). Indexing stops at the first record
    cut short or at an error; bytes left after the last record are damage too, since a
    gzip member cut short early in its data gives warcio no record, and no error either."""
    try:
        scan = scan_warc(open_stream)
    except WARC_READ_ERRORS as e:
        return _Indexed([], damage=_damage(e))
    records, damage, boundary_errors = scan.records, None, scan.boundary_errors
    stop = next((i for i, r in enumerate(records) if r.cut_short or _unframed(r)), None)
    if stop is not None and _unframed(records[stop]):  # read as if the input ended before it
        boundary_errors = sum(record.boundary_error for record in records[:stop])
        records = records[:stop]
    elif stop is not None:
        short = records[stop]
        damage = (
            f"the record at offset {short.offset} ends after {short.block_read} of its "
            f"{short.declared} bytes"
        )
        boundary_errors = sum(record.boundary_error for record in records[: stop + 1])
        records = records[:stop]
    elif scan.error is not None:
        damage = _damage(scan.error)
    end = records[-1].end if records else 0
    read_to = scan.end if stop is None else end
    if damage is None and not scan.decompressed and size is not None and read_to < size:
        damage = (
            f"the {size - end} bytes after offset {end} are not a complete record "
            "(the file is cut short or damaged there)"
        )
    return _Indexed(
        entries=[entry for record in records if (entry := _entry(record, file, member))],
        warc_records=sum(record.format == "warc" for record in records),
        boundary_errors=boundary_errors,
        end=end,
        damage=damage,
        decompressed=scan.decompressed,
    )


_SINGLE_STREAM = "the whole file is one gzip stream, not one member per record"


def _outcome(indexed: _Indexed) -> tuple[str | None, str | None]:
    """(error, warning) for a scan: no WARC record or nothing read before damage is an error."""
    damage = indexed.damage
    if damage is not None and indexed.end == 0:
        return f"cannot read it: {damage}", None
    if indexed.warc_records == 0:  # warcio reads some text as ARC records
        return "no WARC record in it (is it a WARC file?)", None
    if damage is not None and not indexed.entries:
        return f"cannot read it: {damage}", None
    notes = []
    if damage is not None:
        notes.append(f"indexed {len(indexed.entries)} captures, then stopped: {damage}")
    if indexed.boundary_errors:
        notes.append(
            f"{indexed.boundary_errors} record(s) not followed by the two blank lines a WARC "
            "requires (a Content-Length may be wrong)"
        )
    return None, "; ".join(notes) or None


def build_index(path: Path, stamp: tuple[int, int]) -> FileIndex:
    """Read ``path`` (a WARC or a WACZ) into a ``FileIndex``; damage is recorded, not raised."""
    if path.name.lower().endswith(".wacz") or zipfile.is_zipfile(path):
        return _build_wacz_index(path, stamp)
    indexed = _index_warc(lambda: path.open("rb"), str(path), None, stamp[0])
    error, warning = _outcome(indexed)
    if error is not None:
        return FileIndex(stamp, error=error)
    if indexed.decompressed:
        slow = (
            f"{_SINGLE_STREAM}, so each record is read by decompressing from the start "
            "(`warcio recompress` fixes it)"
        )
        warning = f"{slow}; {warning}" if warning else slow
    return FileIndex(stamp, tuple(indexed.entries), indexed.decompressed, warning=warning)


def _build_wacz_index(path: Path, stamp: tuple[int, int]) -> FileIndex:
    entries: list[IndexEntry] = []
    notes: list[str] = []
    try:
        with zipfile.ZipFile(path) as archive:
            members = wacz_warc_members(archive)
            if not members:
                return FileIndex(stamp, error="not a usable WACZ: no WARC file under archive/")
            for name in members:
                size = archive.getinfo(name).file_size
                indexed = _index_warc(partial(archive.open, name), str(path), name, size)
                if indexed.decompressed:  # its offsets could only be read by decompressing
                    notes.append(f"{name}: skipped: {_SINGLE_STREAM}")
                    continue
                error, warning = _outcome(indexed)
                if error is not None or warning is not None:
                    notes.append(f"{name}: {error or warning}")
                if error is None:
                    entries.extend(indexed.entries)
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as e:
        return FileIndex(stamp, error=f"cannot read it as a WACZ: {describe_error(e)}")
    if not entries and notes:
        return FileIndex(stamp, error="; ".join(notes))
    return FileIndex(stamp, tuple(entries), warning="; ".join(notes) or None)
