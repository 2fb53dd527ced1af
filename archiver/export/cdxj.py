"""The CDXJ index of a set of WARC files, line for line what ``cdxj-indexer`` writes.

A WACZ carries a sorted CDXJ index (``indexes/index.cdx``) that pywb and ReplayWeb.page
use as it is, without reading the WARCs again: every line must point at a real record.
The lines are those of Webrecorder's ``cdxj-indexer`` with its defaults (``--sort``):
``<SURT urlkey> <14-digit WARC-Date> {json}``, the JSON holding ``url``, ``mime``,
``status``, ``digest``, ``length``, ``offset`` and ``filename`` in that order (a field with
no value is left out), for ``response``, ``revisit``, ``resource`` and ``metadata``
records, except ``resource`` and ``metadata`` records of ``application/warc-fields`` (a
capture's own notes, not something to replay). A test compares the two byte for byte.

The store keeps no CDXJ index of its own (its manifest is its index); the index is made
when a package is written.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from archiver.archives.local.keys import url_key
from archiver.storage.warcfile import committed_stream

__all__ = ["cdxj_lines", "sorted_cdxj"]

logger = logging.getLogger(__name__)

_INDEXED = ("response", "revisit", "resource", "metadata")
_NOTES_TYPE = "application/warc-fields"
_MIME_END = re.compile(r"[;\s]")


def _mime(record: Any) -> str | None:
    if record.rec_type == "revisit":
        return "warc/revisit"
    if record.rec_type in ("response", "request"):
        value = record.http_headers.get_header("content-type") if record.http_headers else None
    else:
        value = record.rec_headers.get_header("content-type")
    return _MIME_END.split(value, maxsplit=1)[0].strip() if value else value


def _status(record: Any) -> str | None:
    if record.rec_type in ("response", "revisit") and record.http_headers:
        return str(record.http_headers.get_statuscode())
    return None


def _digest(record: Any) -> str:
    """The record's WARC-Payload-Digest, or (as cdxj-indexer does) the sha1 of its payload."""
    stated = record.rec_headers.get_header("WARC-Payload-Digest")
    if stated:
        return str(stated)
    sha1 = hashlib.sha1()
    while chunk := record.raw_stream.read(1024 * 1024):
        sha1.update(chunk)
    return "sha1:" + base64.b32encode(sha1.digest()).decode("ascii")


def _indexed(record: Any) -> bool:
    if record.rec_type not in _INDEXED:
        return False
    notes = record.rec_type in ("resource", "metadata")
    return not (notes and record.rec_headers.get_header("Content-Type") == _NOTES_TYPE)


def cdxj_lines(path: Path, filename: str | None = None, *, size: int | None = None) -> list[str]:
    """The CDXJ lines of one WARC file (its first ``size`` bytes, or all of it), in file
    order, each ending in a newline. ``filename`` is the name the lines give it (its base
    name by default).

    warcio writes what it finds odd (a record not followed by its blank lines) straight
    to stderr; here that becomes a warning naming the file, and nothing when reading the
    file fails anyway (the error says it all), so a command's error stays one line."""
    name = filename or Path(path).name
    said = io.StringIO()
    with committed_stream(Path(path), size) as stream, contextlib.redirect_stderr(said):
        lines = list(_lines(ArchiveIterator(stream, arc2warc=True), name))
    if said.getvalue().strip():
        odd = " ".join(said.getvalue().split())
        logger.warning("%s: %s", name, odd)
    return lines


def _lines(records: Any, name: str) -> Iterator[str]:
    for record in records:
        if not _indexed(record):
            continue
        url = record.rec_headers.get_header("WARC-Target-URI")
        fields: dict[str, str | None] = {
            "url": url,
            "mime": _mime(record),
            "status": _status(record),
            "digest": _digest(record),
        }
        records.read_to_end(record)
        fields["length"] = str(records.get_record_length())
        fields["offset"] = str(records.get_record_offset())
        fields["filename"] = name
        stamp = iso_date_to_timestamp(record.rec_headers.get_header("WARC-Date"))
        body = {k: v for k, v in fields.items() if v is not None}
        yield f"{url_key(url)} {stamp} {json.dumps(body)}\n"


def sorted_cdxj(paths: Iterable[Path]) -> str:
    """The sorted CDXJ index of ``paths`` (lines sorted as text, as ``--sort`` does)."""
    return "".join(sorted(line for path in paths for line in cdxj_lines(path)))
