"""Storing captures as WARC files: the ``store`` stage.

A *capture* is one HTTP response kept for a citation: either a memento fetched from an
archive in its raw (``id_``) form, or the live page. ``write_capture`` turns one fetched
response into WARC records on any binary stream (pure: the same inputs, ids and dates give
the same bytes, which the golden-file test pins down); ``Store`` is the directory that
holds the WARC files and the manifest (``archiver.storage.manifest``) that indexes them.

Layout of a store directory::

    manifest.json                         the index (see archiver.storage.manifest)
    <YYYYmmddHHMMSS>-<sha1(target)[:8]>-<id>.warc.gz
                                          one file per capture, named by its WARC-Date
    *.warc.gz.open                        a file being written (or left by a killed run)
    manifest.json.tmp, .lock              the manifest being replaced; the lock file
    state.sqlite, report.json, ...        other stages' files, ignored here

One WARC file per capture costs a little space but makes a crash lose at most the capture
in flight, and lets a file be checked, copied or deleted as a unit.

Each file is WARC/1.1, gzipped per record, and holds: a ``warcinfo`` record; the
``response``; the ``request`` actually sent (``WARC-Concurrent-To`` the response); and,
when redirects were followed, a ``metadata`` record listing them. A memento read from a
local WARC/WACZ collection (``archiver.archives.local``; its ``WARC-Source-URI`` is a
``file:`` locator) has no request record, since none was sent, and its headers are
stored as a live capture's are (they are the crawl's own, with no archive framing).

**Provenance of a memento.** The record says where the bytes really came from, the way
pywb's own recorder does: ``WARC-Target-URI`` is the original URL, ``WARC-Date`` is the
archive's ``Memento-Datetime`` for the capture it actually served (archives answer with a
neighbouring capture when the asked-for one is gone; ``memento.datetime`` is only the
fallback), ``WARC-Source-URI`` is the archive URL fetched (after the archive's own
redirects) and ``WARC-Creation-Date`` is when archiver fetched it. The request record is
the request that was sent, to the archive. Redirects are followed only while they are the
archive's own (no ``Memento-Datetime``, same host): a 3xx that *is* the memento is stored
as it is, never followed to the live web.

**Headers of a stored memento.** Dropped: the archive's ``Memento-Datetime``, its
``Link`` headers that carry Memento relations (original/timegate/timemap/memento; a page's
own Link header, which pywb passes through, is kept), its ``Content-Location`` when it
points into the archive, and ``Transfer-Encoding`` (the body is stored de-chunked).
``Content-Length`` is set to the stored payload's length; ``Content-Encoding`` and the
body stay as received. Headers the archive prefixed as ``X-Archive-Orig-<Name>`` are
kept prefixed, not restored. Checked against pywb 2.10's ``id_`` replay: it prefixes
Server, Date, Last-Modified, ETag, Expires, Cache-Control, Vary, Via, Age, Connection,
Transfer-Encoding and an invalid Content-Length (``X-Archive-Orig-Content-Length: -1``);
it passes Content-Type, Content-Encoding, Location, Link, Set-Cookie unprefixed; it adds
its own Date, Link, Memento-Datetime and Content-Location. Restoring the prefixed names
would clash with the archive's Date and revive ``Transfer-Encoding: chunked`` and
``Content-Length: -1``, which are false of the stored bytes; it would also make a copy
look like a first-hand capture. pywb's recorder keeps them prefixed too.

**Nothing is written half.** A capture is written in this order, and a run killed at any
point and started again ends with a store that verifies:

1. fetch (nothing on disk yet);
2. create ``<name>.warc.gz.open`` (exclusive, under the store lock, and ``flock``-ed for
   as long as it is being written), write the records, fsync;
3. under the store lock: re-read ``manifest.json``, add the file, its records and the
   capture, write ``manifest.json.tmp``, fsync, ``os.replace``, fsync the directory;
4. rename ``.open`` to ``<name>.warc.gz``, fsync the directory.

Opening a ``Store`` reconciles, under the store lock: an ``.open`` file that the manifest
lists (killed between 3 and 4) and whose sha256 and size match is renamed into place;
any other ``.open`` file (killed before 3) is deleted, unless another process still holds
its ``flock`` (it is being written); a leftover ``manifest.json.tmp`` is deleted. A killed
capture that never reached the manifest is simply captured again by the rerun.

**Concurrency.** Fetching and writing ``.open`` files run in parallel; manifest updates are
serialised by a thread lock and, between processes, by ``fcntl.flock`` on ``.lock`` in
the store. Every update re-reads the manifest under the lock, so several threads and
several processes can capture into one store. (Without ``fcntl``, on Windows, only the
thread lock applies: use one process per store there.)
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver import __version__
from archiver.archives.local import is_collection_locator, read_collection_memento
from archiver.config import Settings
from archiver.dates import (
    parse_http_date,
    parse_iso,
    parse_wayback_timestamp,
    to_iso,
    to_wayback_timestamp,
    utcnow,
)
from archiver.durable import fsync_directory
from archiver.errors import NetworkError, StoreError
from archiver.models import Memento, _Serialisable
from archiver.net.http import Fetched, fetch
from archiver.storage.digests import file_sha256, payload_sha1_base32, sha1_base32_digest
from archiver.storage.manifest import (
    MANIFEST_NAME,
    MANIFEST_TEMP_NAME,
    Capture,
    FileEntry,
    Manifest,
    RecordEntry,
    read_manifest,
    write_manifest,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the thread lock only
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "Capture",
    "Store",
    "WrittenRecord",
    "default_warcinfo",
    "payload_sha1_base32",
    "stored_response_headers",
    "write_capture",
]

WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"
LOCK_NAME = ".lock"
WARC_1_1_SPEC = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"

_MEMENTO_RELATIONS = {"original", "timegate", "timemap", "memento"}
_REL = re.compile(r'rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))', re.IGNORECASE)
_LINK_ORIGINAL = re.compile(r'<([^>]*)>\s*;[^,]*?rel\s*=\s*"?original"?', re.IGNORECASE)


# -- writing records ---------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenRecord(_Serialisable):
    """Where ``write_capture`` put one record, and the hash of its payload."""

    type: str
    record_id: str
    offset: int  # of the record's gzip member, from where writing began
    length: int  # of the gzip member
    target_uri: str | None
    warc_date: str
    payload_sha256: str
    payload_length: int


class WritableStream(Protocol):
    """What ``write_capture`` needs of its output: a binary file, a BytesIO, a socket file."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class _Tally:
    """A write-only stream that counts (and sha256-hashes) what passes to ``stream``."""

    def __init__(self, stream: WritableStream) -> None:
        self._stream = stream
        self.position = 0
        self._sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._stream.write(data)
        self.position += len(data)
        self._sha256.update(data)
        return len(data)

    def flush(self) -> None:
        self._stream.flush()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()


def default_warcinfo(description: str) -> dict[str, str]:
    """The warcinfo fields ``Store`` writes; ``description`` says what the file holds."""
    try:
        warcio_version = importlib.metadata.version("warcio")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        warcio_version = "unknown"
    return {
        "software": f"archiver/{__version__} (warcio/{warcio_version})",
        "format": "WARC File Format 1.1",
        "conformsTo": WARC_1_1_SPEC,
        "description": description,
    }


def _is_memento_link(value: str) -> bool:
    for match in _REL.finditer(value):
        relations = (match.group(1) or match.group(2) or "").lower().split()
        if _MEMENTO_RELATIONS.intersection(relations):
            return True
    return False


def stored_response_headers(fetched: Fetched, *, from_archive: bool) -> list[tuple[str, str]]:
    """The response headers as stored: see the module docstring for what changes and why."""
    archive_host = urlsplit(fetched.final_url).netloc.lower()
    headers: list[tuple[str, str]] = []
    length_set = False
    for name, value in fetched.headers:
        lower = name.lower()
        if lower == "transfer-encoding":
            continue
        if lower == "content-length":
            if not length_set:  # in place of the first, so the order stays as received
                headers.append((name, str(len(fetched.raw_body))))
                length_set = True
            continue
        if from_archive:
            if lower == "memento-datetime":
                continue
            if lower == "link" and _is_memento_link(value):
                continue
            if lower == "content-location":
                location = urljoin(fetched.final_url, value.strip())
                if urlsplit(location).netloc.lower() == archive_host:
                    continue
        headers.append((name, value))
    if not length_set:
        headers.append(("Content-Length", str(len(fetched.raw_body))))
    return headers


def _fetched_over_http(fetched: Fetched) -> bool:
    """False for a memento read from a local WARC/WACZ file (``archiver.archives.local``): no
    request was sent for it, and its headers are the crawl's own, with no archive framing."""
    return urlsplit(fetched.final_url).scheme.lower() in ("http", "https")


def _request_headers(fetched: Fetched) -> tuple[str, list[tuple[str, str]]]:
    # http.client sends Host first; requests' PreparedRequest does not list it.
    parts = urlsplit(fetched.final_url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rpartition("@")[2]
    headers = [("Host", host)]
    headers.extend((k, v) for k, v in fetched.request_headers if k.lower() != "host")
    return f"GET {target} {fetched.http_version}", headers


def write_capture(
    stream: WritableStream,
    fetched: Fetched,
    *,
    target_uri: str,
    warc_date: str,
    creation_date: str,
    new_id: Callable[[], str],
    warcinfo: Mapping[str, str],
    warc_filename: str | None = None,
    source_uri: str | None = None,
) -> list[WrittenRecord]:
    """Write one capture as gzipped WARC/1.1 records to ``stream``; return where they went.

    ``source_uri`` marks the capture as a copy of a memento: it is written as
    ``WARC-Source-URI`` (with ``WARC-Creation-Date``) and the archive's own headers are
    dropped from the stored response. Without it this is a live capture and ``warc_date``
    should be the fetch time. ``new_id`` gives a UUID string per record (warcinfo,
    response, request, then metadata when ``fetched.history`` is not empty).
    """
    out = _Tally(stream)
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    written: list[WrittenRecord] = []

    def emit(record: Any, payload: bytes) -> None:
        offset = out.position
        writer.write_record(record)
        written.append(
            WrittenRecord(
                type=record.rec_type,
                record_id=record.rec_headers.get_header("WARC-Record-ID"),
                offset=offset,
                length=out.position - offset,
                target_uri=record.rec_headers.get_header("WARC-Target-URI"),
                warc_date=record.rec_headers.get_header("WARC-Date"),
                payload_sha256=hashlib.sha256(payload).hexdigest(),
                payload_length=len(payload),
            )
        )

    info_id, response_id, request_id = (f"<urn:uuid:{new_id()}>" for _ in range(3))
    provenance = {"WARC-Target-URI": target_uri, "WARC-Date": warc_date}
    if source_uri is not None:
        provenance["WARC-Source-URI"] = source_uri
        provenance["WARC-Creation-Date"] = creation_date

    info = b"".join(f"{k}: {v}\r\n".encode() for k, v in warcinfo.items() if v)
    info_headers = {"WARC-Type": "warcinfo", "WARC-Record-ID": info_id, "WARC-Date": creation_date}
    if warc_filename:
        info_headers["WARC-Filename"] = warc_filename
    info_headers["Content-Type"] = "application/warc-fields"
    emit(
        writer.create_warc_record(
            "", "warcinfo", payload=BytesIO(info), length=len(info), warc_headers_dict=info_headers
        ),
        info,
    )

    body = fetched.raw_body
    status_line = f"{fetched.status} {fetched.reason}".strip()
    response_headers = {
        "WARC-Type": "response",
        "WARC-Record-ID": response_id,
        **provenance,
        "WARC-Warcinfo-ID": info_id,
    }
    if fetched.truncated:
        response_headers["WARC-Truncated"] = "length"
    response_headers["Content-Type"] = "application/http; msgtype=response"
    over_http = _fetched_over_http(fetched)
    stored_headers = stored_response_headers(
        fetched, from_archive=source_uri is not None and over_http
    )
    emit(
        writer.create_warc_record(
            target_uri,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=StatusAndHeaders(
                status_line, stored_headers, protocol=fetched.http_version
            ),
            warc_headers_dict=response_headers,
        ),
        body,
    )

    if over_http:  # a record read from a local WARC/WACZ had no request sent for it
        request_line, sent_headers = _request_headers(fetched)
        emit(
            writer.create_warc_record(
                target_uri,
                "request",
                http_headers=StatusAndHeaders(request_line, sent_headers, protocol=""),
                warc_headers_dict={
                    "WARC-Type": "request",
                    "WARC-Record-ID": request_id,
                    **provenance,
                    "WARC-Concurrent-To": response_id,
                    "WARC-Warcinfo-ID": info_id,
                    "Content-Type": "application/http; msgtype=request",
                },
            ),
            b"",
        )

    if fetched.history:
        lines = [f"requested: {fetched.url}"]
        lines.extend(f"redirect: {status} {url}" for url, status in fetched.history)
        lines.append(f"fetched: {fetched.final_url}")
        note = "".join(f"{line}\r\n" for line in lines).encode()
        emit(
            writer.create_warc_record(
                target_uri,
                "metadata",
                payload=BytesIO(note),
                length=len(note),
                warc_headers_dict={
                    "WARC-Type": "metadata",
                    "WARC-Record-ID": f"<urn:uuid:{new_id()}>",
                    "WARC-Target-URI": target_uri,
                    "WARC-Date": warc_date,
                    "WARC-Concurrent-To": response_id,
                    "WARC-Warcinfo-ID": info_id,
                    "Content-Type": "application/warc-fields",
                },
            ),
            note,
        )
    return written


# -- fetching ------------------------------------------------------------------------------


def _describe(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    text = text if len(text) <= 160 else text[:157] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _fetch_memento(session: requests.Session, memento: Memento, settings: Settings) -> Fetched:
    """GET ``memento.raw_url``, following only the archive's own redirects."""
    url = memento.raw_url
    archive_host = urlsplit(url).netloc.lower()
    history: list[tuple[str, int]] = []
    while True:
        try:
            fetched = fetch(session, url, settings, allow_redirects=False)
        except requests.RequestException as e:
            raise NetworkError(f"could not fetch memento {url}: {_describe(e)}") from e
        location = fetched.header("Location")
        if (
            300 <= fetched.status < 400
            and location
            and fetched.header("Memento-Datetime") is None
            and urlsplit(urljoin(url, location)).netloc.lower() == archive_host
        ):
            if len(history) >= settings.max_redirects:
                raise NetworkError(f"too many redirects fetching memento {memento.raw_url}")
            history.append((url, fetched.status))
            url = urljoin(url, location)
            continue
        break
    if fetched.header("Memento-Datetime") is None and fetched.status >= 400:
        raise NetworkError(
            f"{memento.archive} has no memento at {memento.raw_url} (HTTP {fetched.status})"
        )
    return dataclass_replace(fetched, url=memento.raw_url, history=tuple(history))


def _memento_datetime(fetched: Fetched, listed: str) -> datetime:
    header = fetched.header("Memento-Datetime")
    if header:
        with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
            return parse_http_date(header)
    return parse_iso(listed)


def _archive_original(fetched: Fetched) -> str | None:
    for name, value in fetched.headers:
        if name.lower() == "link":
            match = _LINK_ORIGINAL.search(value)
            if match:
                return match.group(1)
    return None


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        pass
    try:
        return parse_wayback_timestamp(text)
    except ValueError:
        return None


def _new_uuid() -> str:
    return str(uuid.uuid4())


# -- the store -----------------------------------------------------------------------------


def _is_in_use(path: Path) -> bool:
    """True when another open file description holds the ``flock`` of ``path``."""
    if fcntl is None:  # pragma: no cover
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


class Store:
    """A directory of WARC files (one per capture) indexed by ``manifest.json``.

    ``clock`` and ``new_id`` are the seams for reproducible output. ``on_step`` is called
    with "open-written", "manifest-written" and "renamed" as each capture passes those
    durable points (the kill-safety tests stop a process there).
    """

    def __init__(
        self,
        root: Path,
        *,
        clock: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = _new_uuid,
        on_step: Callable[[str], None] | None = None,
    ) -> None:
        self.root = Path(root)
        self._clock = clock
        self._new_id = new_id
        self._on_step = on_step
        self._lock = threading.RLock()
        self._cached: tuple[tuple[int, int, int], Manifest] | None = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the store {self.root}: {e.strerror or e}") from e
        with self._locked():
            manifest = read_manifest(self.root)
            if manifest is None and any(p.name.endswith(WARC_SUFFIX) for p in self._entries()):
                raise StoreError(
                    f"{self.root} holds WARC files but no {MANIFEST_NAME}: it is not an "
                    "archiver store (verify its files with `archiver verify FILE`)"
                )
            self._reconcile(manifest or Manifest())

    # -- reading --

    @property
    def manifest(self) -> Manifest:
        """The manifest as it is on disk now (re-read when another writer replaced it)."""
        path = self.root / MANIFEST_NAME
        try:
            stat = path.stat()
        except FileNotFoundError:
            return Manifest()
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1]
        manifest = read_manifest(self.root) or Manifest()
        self._cached = (key, manifest)
        return manifest

    @property
    def captures(self) -> tuple[Capture, ...]:
        return self.manifest.captures

    def path_of(self, capture: Capture) -> Path:
        return self.root / capture.warc_file

    def find(
        self, target_uri: str, warc_date: str | None = None, *, source: str | None = None
    ) -> Capture | None:
        """The latest capture of ``target_uri`` (as asked for, or as stored).

        With ``warc_date``, only a capture of that moment: its WARC-Date, or the datetime
        its memento was listed under. With ``source`` ("memento"/"live"), only that kind.
        """
        wanted = _instant(warc_date) if warc_date else None
        if warc_date and wanted is None:
            return None
        for capture in reversed(self.manifest.captures):
            if target_uri not in (capture.url, capture.target_uri):
                continue
            if source is not None and capture.source != source:
                continue
            if wanted is not None and wanted not in (
                _instant(capture.warc_date),
                _instant(capture.memento_datetime),
            ):
                continue
            return capture
        return None

    # -- capturing --

    def capture_memento(
        self,
        memento: Memento,
        session: requests.Session,
        settings: Settings,
        citations: Sequence[str] = (),
        *,
        reuse: bool = True,
    ) -> Capture:
        """Fetch ``memento.raw_url`` and store it with honest provenance.

        With ``reuse`` (the default) a memento already in the store is not fetched again;
        the stored capture is returned, with ``citations`` added to it.
        """
        if reuse:
            existing = self.find(memento.original, memento.datetime, source="memento")
            if existing is not None:
                return self.add_citations(existing, citations)
        if is_collection_locator(memento.raw_url):
            return self._capture_collection_memento(memento, settings, tuple(citations))
        fetched = _fetch_memento(session, memento, settings)
        fetched_at = self._clock()
        warc_date = to_iso(_memento_datetime(fetched, memento.datetime))
        digest = sha1_base32_digest(memento.digest)
        served = _archive_original(fetched)
        return self._store(
            fetched,
            url=memento.original,
            target_uri=memento.original,
            warc_date=warc_date,
            creation_date=to_iso(fetched_at),
            source="memento",
            citations=tuple(citations),
            archive=memento.archive,
            memento_datetime=memento.datetime,
            archive_original=served if served and served != memento.original else None,
            archive_digest=digest,
            warcinfo=default_warcinfo(
                f"Memento of {memento.original} from {memento.archive}, re-archived from "
                f"its raw replay {fetched.final_url}"
            ),
        )

    def _capture_collection_memento(
        self, memento: Memento, settings: Settings, citations: tuple[str, ...]
    ) -> Capture:
        """Store a memento of a local WARC/WACZ collection, read from its file, not fetched.

        The record reached after the collection's own captured redirects is stored under
        its URL and WARC-Date, as a redirected live capture is; ``WARC-Source-URI`` is the
        record's locator (``file:///...#offset=N``).
        """
        served = read_collection_memento(
            memento, max_redirects=settings.max_redirects, max_bytes=settings.max_bytes
        )
        return self._store(
            served.as_fetched(memento.raw_url),
            url=memento.original,
            target_uri=served.url,
            warc_date=served.datetime,
            creation_date=to_iso(self._clock()),
            source="memento",
            citations=citations,
            archive=memento.archive,
            memento_datetime=memento.datetime,
            archive_original=served.url if served.url != memento.original else None,
            archive_digest=sha1_base32_digest(served.digest),
            warcinfo=default_warcinfo(
                f"Memento of {memento.original} from the local collection {memento.archive}, "
                f"read from {served.locator}"
            ),
        )

    def capture_live(
        self,
        url: str,
        session: requests.Session,
        settings: Settings,
        citations: Sequence[str] = (),
        *,
        reuse: bool = True,
    ) -> Capture:
        """Fetch ``url`` from the live web and store the final response under its own URL.

        With ``reuse`` (the default) a URL already captured live is not fetched again.
        """
        if reuse:
            existing = self.find(url, source="live")
            if existing is not None:
                return self.add_citations(existing, citations)
        try:
            fetched = fetch(session, url, settings)
        except requests.RequestException as e:
            raise NetworkError(f"could not fetch {url}: {_describe(e)}") from e
        fetched_at = to_iso(self._clock())
        return self._store(
            fetched,
            url=url,
            target_uri=fetched.final_url,
            warc_date=fetched_at,
            creation_date=fetched_at,
            source="live",
            citations=tuple(citations),
            warcinfo=default_warcinfo(f"Live capture of {url}"),
        )

    def add_citations(self, capture: Capture, citations: Sequence[str]) -> Capture:
        """Record that ``capture`` (and each of its records) also serves ``citations``."""
        if all(c in capture.citations for c in citations):
            return capture
        with self._locked():
            manifest = read_manifest(self.root) or Manifest()
            updated: Capture | None = None
            captures = []
            for existing in manifest.captures:
                if (existing.warc_file, existing.record_id) == (
                    capture.warc_file,
                    capture.record_id,
                ):
                    existing = dataclass_replace(
                        existing, citations=_merged(existing.citations, citations)
                    )
                    updated = existing
                captures.append(existing)
            if updated is None:
                raise StoreError(f"{capture.warc_file} is not in the manifest of {self.root}")
            records = tuple(
                dataclass_replace(r, citations=_merged(r.citations, citations))
                if r.file == capture.warc_file
                else r
                for r in manifest.records
            )
            write_manifest(self.root, Manifest(manifest.files, records, tuple(captures)))
            return updated

    # -- internals --

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if fcntl is None:  # pragma: no cover
                yield
                return
            try:
                lock_file = (self.root / LOCK_NAME).open("ab")
            except OSError as e:
                raise StoreError(f"cannot lock the store {self.root}: {e.strerror or e}") from e
            with lock_file:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def _entries(self) -> list[Path]:
        try:
            return sorted(self.root.iterdir())
        except OSError as e:
            raise StoreError(f"cannot list the store {self.root}: {e.strerror or e}") from e

    def _reconcile(self, manifest: Manifest) -> None:
        """Finish or discard what a killed run left (see the module docstring)."""
        listed = {entry.name: entry for entry in manifest.files}
        changed = False
        for path in self._entries():
            name = path.name
            if name == MANIFEST_TEMP_NAME:
                path.unlink(missing_ok=True)
                changed = True
            elif name.endswith(OPEN_SUFFIX):
                if _is_in_use(path):
                    continue
                final = path.with_name(name[: -len(OPEN_SUFFIX)])
                entry = listed.get(final.name)
                if (
                    entry is not None
                    and not final.exists()
                    and file_sha256(path) == (entry.sha256, entry.size)
                ):
                    os.replace(path, final)
                    changed = True
                    continue
                path.unlink(missing_ok=True)
                changed = True
        if changed:
            fsync_directory(self.root)

    def _step(self, name: str) -> None:
        if self._on_step is not None:
            self._on_step(name)

    def _create_open_file(self, warc_date: str, target_uri: str) -> tuple[str, int]:
        """A new, exclusive, flock-ed ``.open`` file; returns (final name, fd)."""
        stamp = to_wayback_timestamp(parse_iso(warc_date))
        key = hashlib.sha1(target_uri.encode("utf-8")).hexdigest()[:8]
        with self._locked():
            listed = self.manifest.file_names()
            for _ in range(20):
                name = f"{stamp}-{key}-{self._new_id().replace('-', '')[-12:]}{WARC_SUFFIX}"
                if name in listed or (self.root / name).exists():
                    continue
                try:
                    fd = os.open(
                        self.root / (name + OPEN_SUFFIX),
                        os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                        0o644,
                    )
                except FileExistsError:
                    continue
                except OSError as e:
                    raise StoreError(f"cannot write to {self.root}: {e.strerror or e}") from e
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                return name, fd
        raise StoreError(f"could not find a free file name in {self.root} (is new_id constant?)")

    def _store(
        self,
        fetched: Fetched,
        *,
        url: str,
        target_uri: str,
        warc_date: str,
        creation_date: str,
        source: str,
        citations: tuple[str, ...],
        warcinfo: Mapping[str, str],
        archive: str | None = None,
        memento_datetime: str | None = None,
        archive_original: str | None = None,
        archive_digest: str | None = None,
    ) -> Capture:
        name, fd = self._create_open_file(warc_date, target_uri)
        open_path = self.root / (name + OPEN_SUFFIX)
        listed = False
        try:
            with os.fdopen(fd, "wb") as stream:  # closing it releases the flock
                tally = _Tally(stream)
                written = write_capture(
                    tally,
                    fetched,
                    target_uri=target_uri,
                    warc_date=warc_date,
                    creation_date=creation_date,
                    new_id=self._new_id,
                    warcinfo=warcinfo,
                    warc_filename=name,
                    source_uri=fetched.final_url if source == "memento" else None,
                )
                stream.flush()
                os.fsync(stream.fileno())
                self._step("open-written")

                match = (
                    None
                    if archive_digest is None
                    else payload_sha1_base32(fetched.raw_body) == archive_digest
                )
                response = next(w for w in written if w.type == "response")
                capture = Capture(
                    url=url,
                    target_uri=target_uri,
                    warc_date=warc_date,
                    source=source,
                    source_uri=fetched.final_url,
                    creation_date=creation_date,
                    warc_file=name,
                    record_id=response.record_id,
                    offset=response.offset,
                    http_status=fetched.status,
                    payload_sha256=response.payload_sha256,
                    payload_length=response.payload_length,
                    truncated=fetched.truncated,
                    redirects=fetched.history,
                    archive=archive,
                    memento_datetime=memento_datetime,
                    archive_original=archive_original,
                    archive_digest=archive_digest,
                    archive_digest_match=match,
                    citations=citations,
                )
                rows = tuple(
                    RecordEntry(
                        file=name,
                        offset=w.offset,
                        length=w.length,
                        type=w.type,
                        record_id=w.record_id,
                        target_uri=w.target_uri,
                        warc_date=w.warc_date,
                        payload_sha256=w.payload_sha256,
                        payload_length=w.payload_length,
                        citations=citations,
                        archive_digest=archive_digest if w.type == "response" else None,
                        archive_digest_match=match if w.type == "response" else None,
                    )
                    for w in written
                )
                with self._locked():
                    manifest = read_manifest(self.root) or Manifest()
                    write_manifest(
                        self.root,
                        Manifest(
                            files=(*manifest.files, FileEntry(name, tally.sha256, tally.position)),
                            records=(*manifest.records, *rows),
                            captures=(*manifest.captures, capture),
                        ),
                    )
                    listed = True
                    self._step("manifest-written")
                    os.replace(open_path, self.root / name)
                    fsync_directory(self.root)
                    self._step("renamed")
                return capture
        except OSError as e:
            if not listed:
                open_path.unlink(missing_ok=True)
            raise StoreError(f"cannot write {open_path}: {e.strerror or e}") from e
        except BaseException:
            # Once the manifest lists the file, the .open file is the only copy of the
            # capture: leave it for the next Store to rename into place.
            if not listed:
                open_path.unlink(missing_ok=True)
            raise


def _merged(existing: tuple[str, ...], more: Sequence[str]) -> tuple[str, ...]:
    return (*existing, *(c for c in dict.fromkeys(more) if c not in existing))
