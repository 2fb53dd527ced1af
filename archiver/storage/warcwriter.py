"""The WARC records of one capture: ``write_capture``.

``write_capture`` turns one fetched response into WARC records on any binary stream, and
is pure: the same inputs, ids and dates give the same bytes (the golden-file tests pin
them down). ``archiver.storage.store`` gives it a file of the store to write to.

Each capture is WARC/1.1, gzipped per record: a ``warcinfo`` record; the ``response``;
the ``request`` actually sent (``WARC-Concurrent-To`` the response); and, when redirects
were followed, a ``metadata`` record listing them. A memento read from a local WARC/WACZ
collection (``archiver.archives.local``; its ``WARC-Source-URI`` is a ``file:`` locator)
has no request record, since none was sent, and its headers are stored as a live
capture's are (they are the crawl's own, with no archive framing).

**Provenance of a memento** (``source_uri`` given): ``WARC-Target-URI`` is the original
URL, ``WARC-Date`` the archive's datetime of the capture it served, ``WARC-Source-URI``
the archive URL fetched and ``WARC-Creation-Date`` when archiver fetched it
(``archiver.storage.sources`` works them out).

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
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver import __version__
from archiver.models import _Serialisable
from archiver.net.http import Fetched

__all__ = [
    "Tally",
    "WritableStream",
    "WrittenRecord",
    "default_warcinfo",
    "stored_response_headers",
    "write_capture",
]

WARC_1_1_SPEC = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"

_MEMENTO_RELATIONS = {"original", "timegate", "timemap", "memento"}
_REL = re.compile(r'rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))', re.IGNORECASE)


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


class Tally:
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


class _Records:
    """Writes WARC records to one stream, gzipped, and notes where each one went."""

    def __init__(self, stream: WritableStream) -> None:
        self.out = Tally(stream)
        self.writer = WARCWriter(self.out, gzip=True, warc_version="1.1")
        self.written: list[WrittenRecord] = []

    def emit(self, record: Any, payload: bytes) -> None:
        offset = self.out.position
        self.writer.write_record(record)
        self.written.append(
            WrittenRecord(
                type=record.rec_type,
                record_id=record.rec_headers.get_header("WARC-Record-ID"),
                offset=offset,
                length=self.out.position - offset,
                target_uri=record.rec_headers.get_header("WARC-Target-URI"),
                warc_date=record.rec_headers.get_header("WARC-Date"),
                payload_sha256=hashlib.sha256(payload).hexdigest(),
                payload_length=len(payload),
            )
        )


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
    records = _Records(stream)
    writer = records.writer
    info_id, response_id, request_id = (f"<urn:uuid:{new_id()}>" for _ in range(3))
    provenance = {"WARC-Target-URI": target_uri, "WARC-Date": warc_date}
    if source_uri is not None:
        provenance["WARC-Source-URI"] = source_uri
        provenance["WARC-Creation-Date"] = creation_date
    records.emit(*_warcinfo_record(writer, info_id, creation_date, warcinfo, warc_filename))
    over_http = _fetched_over_http(fetched)
    from_archive = source_uri is not None and over_http
    response_headers = {
        "WARC-Type": "response",
        "WARC-Record-ID": response_id,
        **provenance,
        "WARC-Warcinfo-ID": info_id,
    }
    records.emit(*_response_record(writer, fetched, target_uri, response_headers, from_archive))
    if over_http:  # a record read from a local WARC/WACZ had no request sent for it
        request_headers = {
            "WARC-Type": "request",
            "WARC-Record-ID": request_id,
            **provenance,
            "WARC-Concurrent-To": response_id,
            "WARC-Warcinfo-ID": info_id,
            "Content-Type": "application/http; msgtype=request",
        }
        records.emit(*_request_record(writer, fetched, target_uri, request_headers))
    if fetched.history:
        redirects_headers = {
            "WARC-Type": "metadata",
            "WARC-Record-ID": f"<urn:uuid:{new_id()}>",
            "WARC-Target-URI": target_uri,
            "WARC-Date": warc_date,
            "WARC-Concurrent-To": response_id,
            "WARC-Warcinfo-ID": info_id,
            "Content-Type": "application/warc-fields",
        }
        records.emit(*_redirects_record(writer, fetched, target_uri, redirects_headers))
    return records.written


def _warcinfo_record(
    writer: WARCWriter,
    record_id: str,
    creation_date: str,
    warcinfo: Mapping[str, str],
    warc_filename: str | None,
) -> tuple[Any, bytes]:
    info = b"".join(f"{k}: {v}\r\n".encode() for k, v in warcinfo.items() if v)
    headers = {"WARC-Type": "warcinfo", "WARC-Record-ID": record_id, "WARC-Date": creation_date}
    if warc_filename:
        headers["WARC-Filename"] = warc_filename
    headers["Content-Type"] = "application/warc-fields"
    record = writer.create_warc_record(
        "", "warcinfo", payload=BytesIO(info), length=len(info), warc_headers_dict=headers
    )
    return record, info


def _response_record(
    writer: WARCWriter,
    fetched: Fetched,
    target_uri: str,
    headers: dict[str, str],
    from_archive: bool,
) -> tuple[Any, bytes]:
    body = fetched.raw_body
    headers = dict(headers)
    if fetched.truncated:
        headers["WARC-Truncated"] = "length"
    headers["Content-Type"] = "application/http; msgtype=response"
    status_line = f"{fetched.status} {fetched.reason}".strip()
    http = StatusAndHeaders(
        status_line,
        stored_response_headers(fetched, from_archive=from_archive),
        protocol=fetched.http_version,
    )
    record = writer.create_warc_record(
        target_uri,
        "response",
        payload=BytesIO(body),
        length=len(body),
        http_headers=http,
        warc_headers_dict=headers,
    )
    return record, body


def _request_record(
    writer: WARCWriter, fetched: Fetched, target_uri: str, headers: dict[str, str]
) -> tuple[Any, bytes]:
    request_line, sent_headers = _request_headers(fetched)
    record = writer.create_warc_record(
        target_uri,
        "request",
        http_headers=StatusAndHeaders(request_line, sent_headers, protocol=""),
        warc_headers_dict=headers,
    )
    return record, b""


def _redirects_record(
    writer: WARCWriter, fetched: Fetched, target_uri: str, headers: dict[str, str]
) -> tuple[Any, bytes]:
    """The redirects followed, as a ``metadata`` record: requested, each hop, fetched."""
    lines = [f"requested: {fetched.url}"]
    lines.extend(f"redirect: {status} {url}" for url, status in fetched.history)
    lines.append(f"fetched: {fetched.final_url}")
    note = "".join(f"{line}\r\n" for line in lines).encode()
    record = writer.create_warc_record(
        target_uri, "metadata", payload=BytesIO(note), length=len(note), warc_headers_dict=headers
    )
    return record, note
