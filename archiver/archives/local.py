"""A local collection of WARC and WACZ files as an archive: find, resolve and read captures.

Archivists keep their own crawls (wget ``--warc-file``, wpull, Browsertrix and other WACZ
packages, a pywb collection, a store written by archiver itself); a cited page may be in
one of them when no public archive has it. ``--archive PATH`` names such a collection:
PATH is a WARC, WARC.gz or WACZ file (given directly, any file name is tried) or a folder,
searched recursively for ``*.warc``, ``*.warc.gz`` and ``*.wacz`` (hidden folders skipped).

**The index.** Each file is read once, with warcio, into a CDXJ index (one line per
``response`` or ``revisit`` record with an http(s) target: ``urlkey timestamp {json}``, the
JSON using pywb's field names ``url``, ``mime``, ``status``, ``digest``, ``length``,
``offset``, ``filename`` plus what revisits and redirects need). The index of each file is
cached in ``<cache>/cdxj/<sha1 of the absolute path>.cdxj``, where ``<cache>`` is
``$ARCHIVER_CACHE_DIR``, else ``$XDG_CACHE_HOME/archiver``, else ``~/.cache/archiver``:
never inside the collection, which is often read-only and belongs to someone else. The
cache records the file's size and mtime and is rebuilt when either changes; a folder is
listed again on every lookup, so files added or removed are noticed too.

**URL matching** is by SURT urlkey, as CDX servers do (``http://www.Example.com/a?b=1&a=2``
and ``https://example.com/a?a=2&b=1`` are the same key): the ``surt`` package (installed
with pywb) when it is importable, otherwise ``fallback_url_key``, which lowercases, drops
the scheme, a default port and a leading ``www``, reverses the host and sorts the query.
The canonicaliser in use is part of the cache's validity, so switching rebuilds it.

**Mementos.** ``url`` and ``raw_url`` are a locator of the record,
``file:///abs/crawl.warc.gz#offset=1234`` or, in a WACZ,
``file:///abs/pkg.wacz#member=archive/data.warc.gz&offset=1234``; ``http_status`` is the
status recorded; ``digest`` the record's ``WARC-Payload-Digest`` as sha1 base32 (computed
when the record has none). ``Store.capture_memento`` recognises the locator and reads the
record with ``read_collection_memento`` instead of fetching anything.

**Revisits** (``warc/revisit``) hold no payload. The one they refer to is looked up in the
whole collection (so a folder resolves revisits across files): by ``WARC-Refers-To``
(record id), then ``WARC-Refers-To-Target-URI`` + ``WARC-Refers-To-Date``, then by payload
digest (same URL first, then the latest before the revisit, then any); a candidate is used
only if its payload's sha1 is the revisit's digest. Per the WARC spec the revisit's own
HTTP status line and headers describe it, so they are kept; a revisit without HTTP headers,
or with a 304 (the server-not-modified profile), takes the original's.

**Captured redirects** (3xx with ``Location``) are followed inside the collection by
``LocalCollection.read``, to the capture of the target closest in time (same URL first,
then same urlkey), never to the live web, at most ``max_redirects`` times and never to a
record already on the chain; the result lists the chain. ``find`` itself reports a 3xx
capture as the 3xx it is, like a CDX server, so ``select`` still rejects it.

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

import base64
import binascii
import contextlib
import gzip
import hashlib
import importlib
import importlib.metadata
import json
import logging
import os
import re
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, quote, urljoin, urlsplit
from urllib.request import url2pathname

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archiver.archives.base import ArchivedResponse, CapturedRedirect
from archiver.dates import (
    as_utc,
    parse_iso,
    parse_wayback_timestamp,
    to_iso,
    to_wayback_timestamp,
    utcnow,
)
from archiver.durable import replace_file
from archiver.errors import InputError
from archiver.models import Memento, _Serialisable
from archiver.net.http import Fetched
from archiver.storage.verify import WARC_READ_ERRORS

if TYPE_CHECKING:
    from archiver.net.polite import Net

__all__ = [
    "CollectionResponse",
    "IndexEntry",
    "LocalCollection",
    "RedirectStep",
    "default_cache_dir",
    "fallback_url_key",
    "is_collection_locator",
    "is_collection_path",
    "looks_like_collection_path",
    "make_locator",
    "open_collection",
    "parse_locator",
    "read_collection_memento",
    "url_key",
]

log = logging.getLogger(__name__)

COLLECTION_SUFFIXES = (".warc", ".warc.gz", ".wacz")
CACHE_ENV = "ARCHIVER_CACHE_DIR"
INDEX_FORMAT = "archiver-cdxj"
INDEX_VERSION = 1
MAX_REDIRECTS = 10
_READ_SIZE = 1024 * 1024
_INDEXED_TYPES = ("response", "revisit")
_READ_ERRORS = WARC_READ_ERRORS


# -- URL keys ------------------------------------------------------------------------------


def _load_surt() -> Any:
    try:
        return importlib.import_module("surt")
    except ImportError:
        return None


_SURT = _load_surt()
_WWW = re.compile(r"^www\d*\.")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _canonicaliser_name() -> str:
    if _SURT is None:
        return "archiver-fallback/1"
    try:
        return f"surt/{importlib.metadata.version('surt')}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "surt"


def fallback_url_key(url: str) -> str:
    """A SURT-like urlkey without the ``surt`` package: ``com,example)/a?a=2&b=1``.

    Lowercased; scheme, userinfo, fragment, a default port and a leading ``www``/``wwwN``
    dropped; host labels reversed and joined by commas; query parameters sorted.
    """
    text = url.strip()
    parts = urlsplit(text if "://" in text else "http://" + text)
    host = _WWW.sub("", (parts.hostname or "").lower().rstrip("."))
    try:
        port = parts.port
    except ValueError:
        port = None
    authority = ",".join(reversed(host.split(".")))
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        authority += f":{port}"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return f"{authority}){parts.path or '/'}{'?' + query if query else ''}".lower()


def url_key(url: str) -> str:
    """The urlkey under which ``url`` is indexed and looked up (see the module docstring)."""
    text = url.strip().split("#", 1)[0]
    if _SURT is not None:
        try:
            return str(_SURT.surt(text))
        except Exception:  # surt raises assorted errors on odd URLs; fall back rather than fail
            pass
    return fallback_url_key(text)


# -- locators ------------------------------------------------------------------------------


def make_locator(path: Path, offset: int, member: str | None = None) -> str:
    """``file:///abs/x.warc.gz#offset=N`` or ``file:///abs/x.wacz#member=M&offset=N``."""
    where = f"member={quote(member, safe='/')}&" if member is not None else ""
    return f"{Path(path).absolute().as_uri()}#{where}offset={offset}"


def is_collection_locator(url: str) -> bool:
    """True for a memento ``raw_url`` that names a record in a local file, not a URL to fetch."""
    return url.lower().startswith("file:")


def parse_locator(locator: str) -> tuple[Path, str | None, int]:
    """(file, WACZ member or None, offset) of a locator made by ``make_locator``."""
    parts = urlsplit(locator)
    fields = parse_qs(parts.fragment)
    offsets = fields.get("offset", [])
    if parts.scheme.lower() != "file" or len(offsets) != 1 or not offsets[0].isdigit():
        raise InputError(f"not a record locator in a local collection: {locator}")
    members = fields.get("member")
    # url2pathname undoes the percent-encoding of Path.as_uri (it unquotes on POSIX)
    return Path(url2pathname(parts.path)), members[0] if members else None, int(offsets[0])


def is_collection_path(spec: str) -> bool:
    """True when ``spec`` names an existing file or folder (an ``--archive`` collection)."""
    return Path(spec).expanduser().exists()


def looks_like_collection_path(spec: str) -> bool:
    """True when ``spec`` reads as a path (so a missing one deserves "no such file")."""
    text = spec.strip()
    return "://" not in text and (
        "/" in text or os.sep in text or text.lower().endswith(COLLECTION_SUFFIXES)
    )


# -- the index -----------------------------------------------------------------------------


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
class _FileIndex:
    stamp: tuple[int, int]  # (size, mtime_ns) of the file when it was indexed
    entries: tuple[IndexEntry, ...] = ()
    decompressed: bool = False  # one gzip stream: offsets are into the decompressed data
    warning: str | None = None  # why part of the file was not indexed
    error: str | None = None  # why none of it could be


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _describe(error: BaseException) -> str:
    text = _one_line(str(error))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _sha1_base32(hasher: Any) -> str:
    return base64.b32encode(hasher.digest()).decode("ascii")


def _normalise_digest(value: str | None) -> str | None:
    """A ``WARC-Payload-Digest`` as sha1 base32 (hex accepted), or None for other algorithms."""
    if not value:
        return None
    label, _, encoded = value.strip().partition(":")
    if label.strip().lower().replace("-", "") != "sha1" or not encoded:
        return None
    encoded = encoded.strip()
    if len(encoded) == 40:
        with contextlib.suppress(ValueError):
            return base64.b32encode(bytes.fromhex(encoded)).decode("ascii")
    try:
        raw = base64.b32decode(encoded.upper() + "=" * (-len(encoded) % 8))
    except (binascii.Error, ValueError):
        return None
    return encoded.upper() if len(raw) == 20 else None


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
    while chunk := record.raw_stream.read(_READ_SIZE):
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
    digest = _normalise_digest(headers.get_header("WARC-Payload-Digest"))
    if digest is None and record_type == "response":
        digest = _sha1_base32(sha1)
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
            reason = _describe(cause)
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


def _build_index(path: Path, stamp: tuple[int, int]) -> _FileIndex:
    """Read ``path`` (a WARC or a WACZ) into a ``_FileIndex``; damage is recorded, not raised."""
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
        return _FileIndex(stamp, error=error)
    if decompressed:
        slow = (
            f"{_SINGLE_STREAM}, so each record is read by decompressing from the start "
            "(`warcio recompress` fixes it)"
        )
        warning = f"{slow}; {warning}" if warning else slow
    return _FileIndex(stamp, tuple(scan.entries), decompressed, warning=warning)


def _build_wacz_index(path: Path, stamp: tuple[int, int]) -> _FileIndex:
    entries: list[IndexEntry] = []
    notes: list[str] = []
    try:
        with zipfile.ZipFile(path) as archive:
            members = _wacz_warcs(archive)
            if not members:
                return _FileIndex(stamp, error="not a usable WACZ: no WARC file under archive/")
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
        return _FileIndex(stamp, error=f"cannot read it as a WACZ: {_describe(e)}")
    if not entries and notes:
        return _FileIndex(stamp, error="; ".join(notes))
    return _FileIndex(stamp, tuple(entries), warning="; ".join(notes) or None)


def default_cache_dir() -> Path:
    """Where index caches live: ``$ARCHIVER_CACHE_DIR``, ``$XDG_CACHE_HOME/archiver`` or
    ``~/.cache/archiver`` (the CDXJ files are in its ``cdxj`` folder)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "archiver"


class _IndexCache:
    """One CDXJ file per indexed WARC/WACZ, named by the sha1 of its absolute path."""

    def __init__(self, root: Path) -> None:
        self.directory = root / "cdxj"

    def path_for(self, file: Path) -> Path:
        return self.directory / f"{hashlib.sha1(str(file).encode()).hexdigest()[:24]}.cdxj"

    def _header(self, file: Path, index: _FileIndex) -> dict[str, Any]:
        return {
            "format": INDEX_FORMAT,
            "version": INDEX_VERSION,
            "file": str(file),
            "size": index.stamp[0],
            "mtime_ns": index.stamp[1],
            "urlkeys": _canonicaliser_name(),
            "decompressed": index.decompressed,
            "warning": index.warning,
        }

    def load(self, file: Path, stamp: tuple[int, int]) -> _FileIndex | None:
        try:
            with self.path_for(file).open(encoding="utf-8") as stream:
                first = stream.readline()
                if not first.startswith(f"!{INDEX_FORMAT} "):
                    return None
                header = json.loads(first.split(" ", 1)[1])
                expected = self._header(file, _FileIndex(stamp))
                checked = ("format", "version", "file", "size", "mtime_ns", "urlkeys")
                if any(header.get(key) != expected[key] for key in checked):
                    return None
                entries = tuple(
                    IndexEntry.from_cdxj_line(line.rstrip("\n"), str(file))
                    for line in stream
                    if line.strip()
                )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.debug("ignoring the unusable index cache of %s: %s", file, e)
            return None
        return _FileIndex(stamp, entries, bool(header.get("decompressed")), header.get("warning"))

    def save(self, file: Path, index: _FileIndex) -> None:
        target = self.path_for(file)
        temporary = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        lines = sorted(entry.cdxj_line() for entry in index.entries)
        text = f"!{INDEX_FORMAT} {json.dumps(self._header(file, index))}\n"
        text += "".join(f"{line}\n" for line in lines)
        try:
            replace_file(target, text.encode("utf-8"), temp=temporary, sync=False)
        except OSError as e:  # an unwritable cache only costs a re-index next time
            log.debug("cannot cache the index of %s in %s: %s", file, self.directory, e)


# -- reading records -----------------------------------------------------------------------


@dataclass(frozen=True)
class RedirectStep(_Serialisable):
    """A captured redirect followed inside the collection."""

    url: str  # the redirecting capture's URL
    datetime: str
    status: int
    location: str  # the absolute target
    locator: str  # the redirecting record


@dataclass(frozen=True)
class CollectionResponse:
    """A capture read back from a collection, its revisit resolved, its redirects followed.

    ``status``, ``headers`` and ``datetime`` are those of the record at ``locator`` (the
    last one reached); ``payload`` is the payload as stored (content-encoding intact,
    chunked framing removed), from ``payload_locator`` when that record is a revisit.
    ``digest`` is the collection's sha1 (base32) for the payload. ``stopped`` says why
    redirects stopped being followed before a non-redirect was reached, if they did.
    """

    url: str  # WARC-Target-URI of the record at locator
    datetime: str
    locator: str
    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    payload: bytes
    truncated: bool
    digest: str | None
    payload_locator: str
    redirects: tuple[RedirectStep, ...] = ()
    stopped: str | None = None

    def as_fetched(self, requested: str) -> Fetched:
        """This response in the form ``Store`` writes: ``requested`` is the first locator."""
        return Fetched(
            url=requested,
            final_url=self.locator,
            status=self.status,
            reason=self.reason,
            http_version=self.http_version,
            headers=list(self.headers),
            raw_body=self.payload,
            truncated=self.truncated,
            history=tuple((step.url, step.status) for step in self.redirects),
        )


@dataclass(frozen=True)
class _Record:
    status: int | None
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    payload: bytes
    payload_sha1: str  # of the whole payload, even when ``payload`` was cut at max_bytes
    truncated: bool


def _dechunked(body: bytes) -> bytes | None:
    """``body`` without HTTP chunked framing, or None when it is not exactly that framing.

    Stricter than warcio's reader on purpose: many captures keep ``Transfer-Encoding:
    chunked`` in their headers over a body already de-chunked, and one that merely starts
    with a hex-looking line must not be mangled.
    """
    out = bytearray()
    position = 0
    while True:
        end = body.find(b"\r\n", position)
        if end < 0:
            return None
        size_text = body[position:end].split(b";", 1)[0].strip()
        if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
            return None
        size = int(size_text, 16)
        start = end + 2
        if size == 0:  # then optional trailers and a blank line
            trailer = body[start:]
            ends = trailer in (b"", b"\r\n") or trailer.endswith(b"\r\n\r\n")
            return bytes(out) if ends else None
        if body[start + size : start + size + 2] != b"\r\n":
            return None
        out += body[start : start + size]
        position = start + size + 2


class LocalCollection:
    """A WARC/WACZ file or a folder of them, indexed once and searched like a CDX server.

    ``index_builds`` counts the files read to build their index, ``index_loads`` the
    indexes taken from the cache; ``problems`` lists files (or parts) that could not be
    indexed, one line each. Thread-safe.
    """

    listing_kind: ClassVar[str] = "list"
    closest_first: ClassVar[bool] = False  # the index answers both at no cost
    verdicts_last: ClassVar[bool] = False  # local files change

    def __init__(self, path: Path | str, *, spec: str | None = None, cache_dir: Path | None = None):
        self.spec = spec if spec is not None else str(path)
        self.root = Path(path).expanduser().absolute()
        self._cache = _IndexCache(cache_dir if cache_dir is not None else default_cache_dir())
        self.index_builds = 0
        self.index_loads = 0
        self._lock = threading.RLock()
        self._files: dict[Path, _FileIndex] = {}
        self._by_key: dict[str, list[IndexEntry]] = {}
        self._by_place: dict[tuple[str, str | None, int], IndexEntry] = {}
        self._by_id: dict[str, IndexEntry] = {}
        self._by_digest: dict[str, list[IndexEntry]] = {}

    @property
    def cache_dir(self) -> Path:
        return self._cache.directory

    @property
    def problems(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(
                f"{path}: {index.error or index.warning}"
                for path, index in self._files.items()
                if index.error or index.warning
            )

    # -- the index --

    def _list_files(self) -> list[Path]:
        if self.root.is_file():
            return [self.root]
        if not self.root.is_dir():
            raise InputError(f"archive {self.spec!r}: no such WARC/WACZ file or folder")
        found = []
        for path in self.root.rglob("*"):
            relative = path.relative_to(self.root).parts
            if any(part.startswith(".") for part in relative):
                continue
            if path.name.lower().endswith(COLLECTION_SUFFIXES) and path.is_file():
                found.append(path)
        return sorted(found)

    def refresh(self) -> None:
        """Index new and changed files, forget removed ones (each lookup does this)."""
        with self._lock:
            paths = self._list_files()
            changed = set(paths) != set(self._files)
            for path in paths:
                try:
                    stamp = _stamp(path)
                except OSError as e:
                    self._files[path] = _FileIndex(
                        (-1, -1), error=f"cannot read it: {_describe(e)}"
                    )
                    continue
                known = self._files.get(path)
                if known is not None and known.stamp == stamp:
                    continue
                self._files[path] = self._index_of(path, stamp)
                changed = True
            for gone in set(self._files) - set(paths):
                del self._files[gone]
            if changed:
                self._rebuild_maps()
            usable = [index for index in self._files.values() if index.error is None]
            if self.root.is_file() and not usable:
                reason = self._files[self.root].error
                raise InputError(f"archive {self.spec!r}: {reason}")
            if not usable:
                skipped = f" ({len(self._files)} unreadable)" if self._files else ""
                raise InputError(
                    f"archive {self.spec!r}: no readable WARC or WACZ file in the folder{skipped}"
                )

    def _index_of(self, path: Path, stamp: tuple[int, int]) -> _FileIndex:
        index = self._cache.load(path, stamp)
        if index is not None:
            self.index_loads += 1
        else:
            self.index_builds += 1
            index = _build_index(path, stamp)
            if index.error is None:
                self._cache.save(path, index)
        if index.error is not None and path != self.root:
            log.warning("%s: skipped: %s", path, index.error)
        elif index.warning is not None:
            log.warning("%s: %s", path, index.warning)
        return index

    def _rebuild_maps(self) -> None:
        self._by_key, self._by_place, self._by_id, self._by_digest = {}, {}, {}, {}
        for index in self._files.values():
            for entry in index.entries:
                self._by_key.setdefault(entry.urlkey, []).append(entry)
                self._by_place.setdefault((entry.file, entry.member, entry.offset), entry)
                if entry.record_type == "response":
                    if entry.record_id:
                        self._by_id.setdefault(entry.record_id, entry)
                    if entry.digest:
                        self._by_digest.setdefault(entry.digest, []).append(entry)

    def entries(self, url: str) -> list[IndexEntry]:
        """Every indexed capture under ``url``'s urlkey, oldest first."""
        with self._lock:
            self.refresh()
            found = list(self._by_key.get(url_key(url), ()))
        return sorted(found, key=lambda e: e.timestamp)

    # -- finding --

    def find(
        self, url: str, when: datetime | None = None, limit: int = 25, net: Net | None = None
    ) -> list[Memento]:
        """The (up to ``limit``) captures of ``url`` closest to ``when`` (None: now), oldest
        first; one per (moment, URL), a response preferred to a revisit. ``net`` is not
        needed: the files are local."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        moment = utcnow() if when is None else as_utc(when)
        unique: dict[tuple[str, str], IndexEntry] = {}
        for entry in self.entries(url):
            key = (entry.timestamp, entry.url)
            kept = unique.get(key)
            if kept is None or (kept.record_type == "revisit" and entry.record_type != "revisit"):
                unique[key] = entry
        nearest = sorted(unique.values(), key=lambda e: abs((e.moment - moment).total_seconds()))[
            :limit
        ]
        with self._lock:
            return [self._memento(e) for e in sorted(nearest, key=lambda e: (e.timestamp, e.url))]

    def closest(self, url: str, when: datetime | None, net: Net | None = None) -> Memento | None:
        """The capture of ``url`` closest to ``when`` (None: now), from the index."""
        found = self.find(url, when, 1)
        return found[0] if found else None

    def _memento(self, entry: IndexEntry) -> Memento:
        status, mime = entry.status, entry.mime
        if entry.record_type == "revisit" and (not entry.has_http or status == 304):
            originals = self._revisit_originals(entry)
            status = originals[0].status if originals else None
            mime = originals[0].mime if originals else mime
        return Memento(
            original=entry.url,
            datetime=to_iso(entry.moment),
            archive=self.spec,
            url=entry.locator,
            raw_url=entry.locator,
            http_status=status,
            mimetype=mime,
            digest=entry.digest,
        )

    def _revisit_originals(self, revisit: IndexEntry) -> list[IndexEntry]:
        """Response records a revisit may repeat, best first (see the module docstring)."""
        candidates: list[IndexEntry] = []
        if revisit.refers_to and revisit.refers_to in self._by_id:
            candidates.append(self._by_id[revisit.refers_to])
        if revisit.refers_to_uri and revisit.refers_to_date:
            same = [
                e
                for e in self._by_key.get(url_key(revisit.refers_to_uri), ())
                if e.record_type == "response" and e.timestamp == revisit.refers_to_date
            ]
            same.sort(key=lambda e: e.url != revisit.refers_to_uri)
            candidates.extend(same)
        if revisit.digest:

            def preference(e: IndexEntry) -> tuple[bool, bool, float]:
                gap = (revisit.moment - e.moment).total_seconds()
                return (e.urlkey != revisit.urlkey, gap < 0, abs(gap))

            candidates.extend(sorted(self._by_digest.get(revisit.digest, ()), key=preference))
        unique = list(dict.fromkeys(candidates))
        if revisit.digest:
            unique = [e for e in unique if e.digest in (None, revisit.digest)]
        return unique

    # -- reading --

    def read(
        self, memento: Memento, net: Net | None = None, *, max_bytes: int | None = None
    ) -> ArchivedResponse:
        """The record ``memento.raw_url`` locates, revisit resolved, payload cut at
        ``max_bytes`` (None: ``net``'s cap). A captured redirect is not followed: it comes
        back with its target and the target's capture closest in time, if the collection
        holds one."""
        if max_bytes is None and net is not None:
            max_bytes = net.settings.max_bytes
        served = self.read_locator(memento.raw_url, follow_redirects=False, max_bytes=max_bytes)
        redirect = None
        with self._lock:
            entry = self._entry_at(served.locator)
            target = self._captured_target(entry, served)
            if target is not None and urlsplit(target).scheme in ("http", "https"):
                following = self._closest_capture(target, entry, {entry.locator})
                capture = self._memento(following) if following is not None else None
                redirect = CapturedRedirect(target, None, capture)
        return ArchivedResponse(
            memento=dataclass_replace(memento, http_status=served.status),
            requested=memento.raw_url,
            url=served.locator,
            status=served.status,
            reason=served.reason,
            http_version=served.http_version,
            headers=served.headers,
            payload=served.payload,
            truncated=served.truncated,
            captured=True,
            datetime=served.datetime,
            original=served.url,
            digest=served.digest,
            redirect=redirect,
        )

    def read_locator(
        self,
        locator: str,
        *,
        follow_redirects: bool = True,
        max_redirects: int = MAX_REDIRECTS,
        max_bytes: int | None = None,
    ) -> CollectionResponse:
        """The capture at ``locator``: revisit resolved, captured redirects followed inside
        the collection (at most ``max_redirects``), payload cut at ``max_bytes``."""
        with self._lock:
            self.refresh()
            entry = self._entry_at(locator)
            chain: list[RedirectStep] = []
            visited = {entry.locator}
            stopped = None
            while True:
                served = self._serve(entry, max_bytes)
                target = self._captured_target(entry, served) if follow_redirects else None
                if target is None:
                    break
                if len(chain) >= max_redirects:
                    stopped = f"stopped after {max_redirects} redirects"
                    break
                following = self._closest_capture(target, entry, visited)
                if following is None:
                    captured = any(
                        e.locator in visited for e in self._by_key.get(url_key(target), ())
                    )
                    stopped = (
                        f"redirect loop at {target}"
                        if captured
                        else f"the redirect target {target} is not in the collection"
                    )
                    break
                chain.append(
                    RedirectStep(
                        entry.url, to_iso(entry.moment), served.status, target, entry.locator
                    )
                )
                visited.add(following.locator)
                entry = following
            return dataclass_replace(served, redirects=tuple(chain), stopped=stopped)

    def _entry_at(self, locator: str) -> IndexEntry:
        file, member, offset = parse_locator(locator)
        entry = self._by_place.get((str(file), member, offset))
        if entry is None:
            raise InputError(f"archive {self.spec!r} has no capture at {locator}")
        return entry

    @staticmethod
    def _captured_target(entry: IndexEntry, served: CollectionResponse) -> str | None:
        """The absolute target of a captured redirect, or None when ``served`` is not one."""
        if not 300 <= served.status < 400:
            return None
        location = dict((k.lower(), v) for k, v in served.headers).get("location")
        return urljoin(entry.url, location.strip()) if location else None

    def _closest_capture(
        self, target: str, after: IndexEntry, visited: set[str]
    ) -> IndexEntry | None:
        candidates = [e for e in self._by_key.get(url_key(target), ()) if e.locator not in visited]
        exact = [e for e in candidates if e.url == target] or candidates
        if not exact:
            return None

        def distance(e: IndexEntry) -> tuple[float, bool]:
            gap = (e.moment - after.moment).total_seconds()
            return abs(gap), gap < 0  # a crawler fetches the target after the redirect

        return min(exact, key=distance)

    def _serve(self, entry: IndexEntry, max_bytes: int | None) -> CollectionResponse:
        """One record as a response: a revisit gets its original's payload."""
        record = self._read_record(entry, max_bytes)
        head, body, payload_entry = record, record, entry
        if entry.record_type == "revisit":
            for original in self._revisit_originals(entry):
                try:
                    candidate = self._read_record(original, max_bytes)
                except InputError as e:
                    log.warning("%s", e)
                    continue
                if entry.digest and candidate.payload_sha1 != entry.digest:
                    continue
                body, payload_entry = candidate, original
                if record.status is None or record.status == 304:
                    head = candidate
                break
            else:
                refers = entry.refers_to_uri or entry.refers_to or f"digest {entry.digest}"
                raise InputError(
                    f"archive {self.spec!r}: {entry.url} at {to_iso(entry.moment)} is a revisit "
                    f"of {refers}, whose payload is not in the collection"
                )
        if head.status is None:
            raise InputError(f"archive {self.spec!r}: {entry.locator} has no HTTP status line")
        payload = body.payload
        chunked = any(
            k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in head.headers
        )
        if chunked and not body.truncated:
            payload = _dechunked(payload) or payload
        return CollectionResponse(
            url=entry.url,
            datetime=to_iso(entry.moment),
            locator=entry.locator,
            status=head.status,
            reason=head.reason,
            http_version=head.http_version,
            headers=head.headers,
            payload=payload,
            truncated=body.truncated,
            digest=entry.digest or payload_entry.digest or body.payload_sha1,
            payload_locator=payload_entry.locator,
        )

    def _read_record(self, entry: IndexEntry, max_bytes: int | None) -> _Record:
        path = Path(entry.file)
        index = self._files.get(path)
        decompressed = index.decompressed if index is not None else False
        limit = max_bytes if max_bytes is not None else -1
        try:
            with _open_at(path, entry.member, entry.offset, decompressed) as stream:
                record = next(iter(ArchiveIterator(stream)), None)
                if record is None:
                    raise EOFError("no record there")
                http = record.http_headers
                sha1 = hashlib.sha1()
                kept = bytearray()
                truncated = False
                while chunk := record.raw_stream.read(_READ_SIZE):
                    sha1.update(chunk)
                    room = len(chunk) if limit < 0 else max(0, limit - len(kept))
                    kept += chunk[:room]
                    truncated = truncated or room < len(chunk)
        except _READ_ERRORS as e:
            raise InputError(
                f"archive {self.spec!r}: cannot read the record at {entry.locator}: {_describe(e)}"
            ) from e
        status = None
        if http is not None and (http.get_statuscode() or "").isdigit():
            status = int(http.get_statuscode())
        truncated = truncated or bool(record.rec_headers.get_header("WARC-Truncated"))
        return _Record(
            status=status,
            reason=http.statusline.partition(" ")[2].strip() if http is not None else "",
            http_version=(http.protocol or "HTTP/1.1") if http is not None else "HTTP/1.1",
            headers=tuple(http.headers) if http is not None else (),
            payload=bytes(kept),
            payload_sha1=_sha1_base32(sha1),
            truncated=truncated,
        )


@contextlib.contextmanager
def _open_at(path: Path, member: str | None, offset: int, decompressed: bool) -> Iterator[Any]:
    """A binary stream positioned at ``offset`` in the file, the WACZ member, or the
    decompressed data of a one-stream gzip file (seeking there decompresses from the start)."""
    with contextlib.ExitStack() as stack:
        stream: Any
        if member is not None:
            archive = stack.enter_context(zipfile.ZipFile(path))
            stream = stack.enter_context(archive.open(member))
        else:
            stream = stack.enter_context(path.open("rb"))
        if decompressed:
            stream = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))
        stream.seek(offset)
        yield stream


# -- one collection per path, shared by find and store -----------------------------------

_OPEN: dict[tuple[Path, Path], LocalCollection] = {}
_OPEN_LOCK = threading.Lock()


def open_collection(spec: str | Path, cache_dir: Path | None = None) -> LocalCollection:
    """The ``LocalCollection`` for ``spec`` (a path), shared within the process so that its
    index is read once; ``cache_dir`` defaults to ``default_cache_dir()``.

    ``parse_archive_spec`` opens collections here. Stages hand archives along rather than
    reopening them; the one place a collection is opened from a memento alone is
    ``read_collection_memento``, for the store until it is given the run's archives.
    """
    root = Path(spec).expanduser().absolute()
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    with _OPEN_LOCK:
        key = (root, cache.absolute())
        collection = _OPEN.get(key)
        if collection is None:
            collection = LocalCollection(root, spec=str(spec), cache_dir=cache)
            _OPEN[key] = collection
        return collection


def read_collection_memento(
    memento: Memento, *, max_redirects: int = MAX_REDIRECTS, max_bytes: int | None = None
) -> CollectionResponse:
    """Read a memento found in a local collection (``memento.raw_url`` is its locator).

    The collection is ``memento.archive``; if that path is gone, the locator's own file.
    """
    file, _, _ = parse_locator(memento.raw_url)
    spec: str | Path = memento.archive if is_collection_path(memento.archive) else file
    collection = open_collection(spec)
    return collection.read_locator(
        memento.raw_url, max_redirects=max_redirects, max_bytes=max_bytes
    )
