"""The WARC records of one capture: ``write_capture`` and ``write_responses``.

``write_responses`` turns fetched responses into WARC records on any binary stream, and
is pure: the same inputs, ids and dates give the same bytes (the golden-file tests pin
them down). It writes one capture: a ``warcinfo`` record, then each response with the
records that go with it, captured redirects first (``write_capture`` is the one-response
case). ``archiver.storage.store`` appends captures one after another to a WARC file of
the store (``archiver.storage.warcfile``); each capture keeps its own ``warcinfo``, which
describes the records after it up to the next one, as the WARC 1.1 spec has it.

**A live capture**: the ``response``; the ``request`` actually sent (``WARC-Concurrent-To``
the response: one capture event, one target URI); and, when redirects were followed, a
``metadata`` record listing them. ``WARC-Date`` is the fetch time.

**A memento** (``source_uri`` given): ``WARC-Target-URI`` is the original URL,
``WARC-Date`` the archive's datetime of the capture it served, ``WARC-Source-URI`` the
archive URL fetched and ``WARC-Creation-Date`` when archiver fetched it
(``archiver.storage.sources`` works them out). A captured redirect is stored the same way,
as the ``response`` it is (its status, its ``Location``, its own ``WARC-Date``), so that
pywb and ReplayWeb.page replay the cited URL through it.

**No request record for a memento.** A ``request`` record states a request that was
sent, to its ``WARC-Target-URI``, at its ``WARC-Date``. The only request sent for a memento
went to the archive, now; the 2014 request that produced the response is not known. A
request record addressed to the archive would have no response of its own in the file
(what is stored is the original response inside the archive's answer, under the original
URL), and ``WARC-Concurrent-To`` would claim one capture event for records with different
target URIs and dates, which the WARC 1.1 spec does not allow. So the exchange with the
archive is recorded in a ``metadata`` record instead (``application/warc-fields``,
``WARC-Target-URI`` the archive URL fetched, ``WARC-Date`` the fetch time,
``WARC-Refers-To`` the response it describes): the URL first asked (``requested``), each
redirect of the archive's own, the URL whose answer is stored (``fetched``), what the
archive stated (``memento``: the exact memento URI; ``memento-datetime``; ``original``;
``archive-digest``, when it gave them), the request sent (``request-line`` and each
``request-header``) and the archive's answer as received (``status-line`` and each
``response-header``, its own headers and its renamed ones included). pywb's indexer skips
``application/warc-fields`` metadata, so replay is unaffected. A memento read from a local
WARC/WACZ collection (``WARC-Source-URI`` a ``file:`` locator) has no such record: no
request was sent, and its record's headers are the crawl's own.

**Headers of a stored memento are the original's**, the archive's own left out and its
renamed ones restored: ``archiver.storage.headers`` says which and why.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Protocol
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver import __version__
from archiver.models import _Serialisable
from archiver.net.http import Fetched
from archiver.storage.headers import stored_response_headers

__all__ = [
    "ResponseToWrite",
    "Tally",
    "WritableStream",
    "WrittenRecord",
    "default_warcinfo",
    "stored_response_headers",
    "write_capture",
    "write_responses",
]

WARC_1_1_SPEC = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"


@dataclass(frozen=True)
class WrittenRecord(_Serialisable):
    """Where ``write_capture`` put one record, and the hash of its payload."""

    type: str
    record_id: str
    offset: int  # of the record's gzip member in the file (``start`` + bytes written before)
    length: int  # of the gzip member
    target_uri: str | None
    warc_date: str
    payload_sha256: str
    payload_length: int


@dataclass(frozen=True)
class ResponseToWrite:
    """One response to write, and what its records say of where it came from.

    ``source_uri`` makes it a memento (see the module docstring); ``provenance`` are the
    fields a memento's ``metadata`` record states after ``fetched`` (what the archive
    said), in order.
    """

    fetched: Fetched
    target_uri: str
    warc_date: str
    source_uri: str | None = None
    provenance: tuple[tuple[str, str], ...] = ()


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


def _fetched_over_http(fetched: Fetched) -> bool:
    """False for a memento read from a local WARC/WACZ file (``archiver.archives.local``): no
    request was sent for it, and its headers are the crawl's own, with no archive framing."""
    return urlsplit(fetched.final_url).scheme.lower() in ("http", "https")


def _request_head(fetched: Fetched) -> tuple[str, list[tuple[str, str]]]:
    """The request line and headers sent for ``fetched.final_url``."""
    # http.client sends Host first; requests' PreparedRequest does not list it.
    parts = urlsplit(fetched.final_url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rpartition("@")[2]
    headers = [("Host", host)]
    headers.extend((k, v) for k, v in fetched.request_headers if k.lower() != "host")
    return f"GET {target} {fetched.http_version}", headers


class _Records:
    """Writes WARC records to one stream, gzipped, and notes where each one went."""

    def __init__(self, stream: WritableStream, new_id: Callable[[], str], start: int) -> None:
        self.out = Tally(stream)
        self.start = start
        self.writer = WARCWriter(self.out, gzip=True, warc_version="1.1")
        self.new_id = lambda: f"<urn:uuid:{new_id()}>"
        self.written: list[WrittenRecord] = []

    def emit(self, record: Any, payload: bytes) -> None:
        begun = self.out.position
        self.writer.write_record(record)
        self.written.append(
            WrittenRecord(
                type=record.rec_type,
                record_id=record.rec_headers.get_header("WARC-Record-ID"),
                offset=self.start + begun,
                length=self.out.position - begun,
                target_uri=record.rec_headers.get_header("WARC-Target-URI"),
                warc_date=record.rec_headers.get_header("WARC-Date"),
                payload_sha256=hashlib.sha256(payload).hexdigest(),
                payload_length=len(payload),
            )
        )

    def fields(self, uri: str, headers: dict[str, str], lines: Sequence[tuple[str, str]]) -> None:
        """A record whose block is ``application/warc-fields`` made of ``lines``."""
        block = b"".join(f"{name}: {value}\r\n".encode() for name, value in lines if value)
        headers = {**headers, "Content-Type": "application/warc-fields"}
        kind = headers["WARC-Type"]
        record = self.writer.create_warc_record(
            uri, kind, payload=BytesIO(block), length=len(block), warc_headers_dict=headers
        )
        self.emit(record, block)


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
    provenance: tuple[tuple[str, str], ...] = (),
) -> list[WrittenRecord]:
    """Write one capture of one response as gzipped WARC/1.1 records to ``stream``.

    ``source_uri`` marks the capture as a copy of a memento: it is written as
    ``WARC-Source-URI`` (with ``WARC-Creation-Date``) and the archive's own headers are
    left out of the stored response. Without it this is a live capture and ``warc_date``
    should be the fetch time. See ``write_responses``.
    """
    response = ResponseToWrite(fetched, target_uri, warc_date, source_uri, provenance)
    return write_responses(
        stream,
        [response],
        creation_date=creation_date,
        new_id=new_id,
        warcinfo=warcinfo,
        warc_filename=warc_filename,
    )


def write_responses(
    stream: WritableStream,
    responses: Sequence[ResponseToWrite],
    *,
    creation_date: str,
    new_id: Callable[[], str],
    warcinfo: Mapping[str, str],
    warc_filename: str | None = None,
    start: int = 0,
) -> list[WrittenRecord]:
    """Write a ``warcinfo`` record, then each of ``responses`` with its records (see the
    module docstring), to ``stream``; return where each record went. ``start`` is where
    in its file ``stream`` begins (the offset the records' places count from).

    ``new_id`` gives a UUID string per record, in the order written: the warcinfo; for a
    live response its response, request and (when ``fetched.history`` is not empty)
    metadata; for a memento its response and, when it was read over HTTP, metadata.
    """
    records = _Records(stream, new_id, start)
    info_id = records.new_id()
    records.emit(*_warcinfo_record(records.writer, info_id, creation_date, warcinfo, warc_filename))
    for response in responses:
        if response.source_uri is None:
            _write_live(records, response, info_id)
        else:
            _write_memento(records, response, response.source_uri, info_id, creation_date)
    return records.written


def _write_live(records: _Records, response: ResponseToWrite, info_id: str) -> None:
    fetched, target_uri = response.fetched, response.target_uri
    response_id, request_id = records.new_id(), records.new_id()
    common = {"WARC-Target-URI": target_uri, "WARC-Date": response.warc_date}
    records.emit(
        *_response_record(
            records.writer,
            fetched,
            target_uri,
            {
                "WARC-Type": "response",
                "WARC-Record-ID": response_id,
                **common,
                "WARC-Warcinfo-ID": info_id,
            },
            from_archive=False,
        )
    )
    request_headers = {
        "WARC-Type": "request",
        "WARC-Record-ID": request_id,
        **common,
        "WARC-Concurrent-To": response_id,
        "WARC-Warcinfo-ID": info_id,
        "Content-Type": "application/http; msgtype=request",
    }
    records.emit(*_request_record(records.writer, fetched, target_uri, request_headers))
    if fetched.history:
        metadata = {
            "WARC-Type": "metadata",
            "WARC-Record-ID": records.new_id(),
            **common,
            "WARC-Concurrent-To": response_id,
            "WARC-Warcinfo-ID": info_id,
        }
        records.fields(target_uri, metadata, _redirect_lines(fetched))


def _write_memento(
    records: _Records,
    response: ResponseToWrite,
    source_uri: str,
    info_id: str,
    creation_date: str,
) -> None:
    fetched, target_uri = response.fetched, response.target_uri
    over_http = _fetched_over_http(fetched)
    response_id = records.new_id()
    headers = {
        "WARC-Type": "response",
        "WARC-Record-ID": response_id,
        "WARC-Target-URI": target_uri,
        "WARC-Date": response.warc_date,
        "WARC-Source-URI": source_uri,
        "WARC-Creation-Date": creation_date,
        "WARC-Warcinfo-ID": info_id,
    }
    records.emit(
        *_response_record(records.writer, fetched, target_uri, headers, from_archive=over_http)
    )
    if not over_http:  # read from a local WARC/WACZ file: no exchange with an archive
        return
    metadata = {
        "WARC-Type": "metadata",
        "WARC-Record-ID": records.new_id(),
        "WARC-Target-URI": source_uri,
        "WARC-Date": creation_date,
        "WARC-Refers-To": response_id,
        "WARC-Warcinfo-ID": info_id,
    }
    lines = [*_redirect_lines(fetched), *response.provenance, *_exchange_lines(fetched)]
    records.fields(source_uri, metadata, lines)


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
    *,
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
    request_line, sent_headers = _request_head(fetched)
    record = writer.create_warc_record(
        target_uri,
        "request",
        http_headers=StatusAndHeaders(request_line, sent_headers, protocol=""),
        warc_headers_dict=headers,
    )
    return record, b""


def _redirect_lines(fetched: Fetched) -> list[tuple[str, str]]:
    """The redirects followed: requested, each hop, fetched."""
    lines = [("requested", fetched.url)]
    lines.extend(("redirect", f"{status} {url}") for url, status in fetched.history)
    lines.append(("fetched", fetched.final_url))
    return lines


def _exchange_lines(fetched: Fetched) -> list[tuple[str, str]]:
    """The request sent for ``fetched.final_url`` and the answer's head, as received."""
    request_line, sent_headers = _request_head(fetched)
    lines = [("request-line", request_line)]
    lines.extend(("request-header", f"{name}: {value}") for name, value in sent_headers)
    lines.append(("status-line", f"{fetched.http_version} {fetched.status} {fetched.reason}"))
    lines.extend(("response-header", f"{name}: {value}") for name, value in fetched.headers)
    return lines
