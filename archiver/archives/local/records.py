"""Reading one record back from a collection: the response it stands for.

``CollectionResponse`` is what ``LocalCollection.read`` answers (a revisit resolved, its
captured redirects followed); ``Record`` is one record as read; ``open_at`` positions a
stream at a record, in a plain file, a WACZ member or a one-stream gzip file.
"""

from __future__ import annotations

import contextlib
import gzip
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archiver.models import _Serialisable


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


@dataclass(frozen=True)
class Record:
    status: int | None
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    payload: bytes
    payload_sha1: str  # of the whole payload, even when ``payload`` was cut at max_bytes
    truncated: bool


def dechunked(body: bytes) -> bytes | None:
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


@contextlib.contextmanager
def open_at(path: Path, member: str | None, offset: int, decompressed: bool) -> Iterator[Any]:
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
