"""Reading WARC files record by record: the one reader behind the collection index and verify.

warcio's ``ArchiveIterator`` serves both pywb's indexer and ``warcio check``; this module
serves archiver's two, ``archiver.archives.local.index`` (a collection's CDXJ index) and
``archiver.storage.warccheck`` (``verify``). ``scan_warc`` walks a WARC, a WARC.gz or a
WACZ member record by record, with each record's offset and length, and reads each block
once, through every hash the two need: the payload's sha1 (base32, as CDX ``digest``
fields are written) and, when asked, the payload's sha256 and the record's own
``WARC-Block-Digest`` and ``WARC-Payload-Digest``.

The HTTP status line and headers of a record are parsed when warcio would parse them
(a ``response``, ``request`` or ``revisit`` with an http(s) target) and by warcio's own
parser, fed from the block as it is read. So the index agrees with what warcio reads when
the record is served later, and the payload digest is checked over the bytes ``warcio
check`` checks. The head's length is counted in bytes: warcio counts it in characters,
which differ from bytes when a header holds UTF-8.

Damage is reported, not raised; what it means is the caller's to decide:

- ``WarcRecord.cut_short``: a block that ends before its Content-Length (warcio reads a
  gzip member cut short as if it simply ended, so this is checked here);
- ``WarcScan.error``: what stopped reading before the end (the record being read when it
  happened is not in ``records``);
- ``WarcRecord.head_missing``: a response or request with nothing after its WARC headers
  (cut short there, or its header block itself cut, with no Content-Length to tell);
- ``WarcRecord.boundary_error``: a record not followed by the two blank lines a WARC
  requires (warcio's own warning about it, written to stderr, is silenced);
- ``WarcScan.decompressed``: the .gz is one gzip stream, not one member per record, past
  whose first record warcio will not go; it was read again decompressed, and offsets are
  into the decompressed data;
- ``HeadTooLong`` (as ``WarcScan.error``): a record's WARC headers, its HTTP head, or the
  blank lines before the next record ran past ``MAX_HEAD`` bytes without ending.

**Bounded memory.** A few MB of gzip can inflate to gigabytes. Blocks are read in chunks,
never whole; lines are where a reader holds bytes until something ends them, and warcio
would read a line that never ends into memory whole (its reader is not ours to change, so
``_LineBoundedReader`` wraps it). So every line-by-line read is bounded: ``MAX_HEAD`` for
the header lines of one record, real ones being a few KB. Memory while reading one file is
then that, a chunk, and warcio's buffer (one 16 KiB block of input, which inflates to at
most ~16 MiB), plus what is kept of each record.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import zipfile
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParserException
from warcio.utils import BUFF_SIZE

from archiver.storage.digests import DigestCheck

__all__ = [
    "MAX_HEAD",
    "WARC_READ_ERRORS",
    "CorruptMember",
    "HeadTooLong",
    "WarcRecord",
    "WarcScan",
    "describe_error",
    "is_single_gzip_stream",
    "one_line",
    "scan_decompressed",
    "scan_stream",
    "scan_warc",
    "wacz_warc_members",
]

READ_SIZE = 1024 * 1024
# The most one record's header lines may take: its WARC headers with the blank lines
# before them, or its HTTP head. Real ones take a few KB; more is damage, or a bomb.
MAX_HEAD = 1024 * 1024


class HeadTooLong(ValueError):
    """Header lines ran past ``MAX_HEAD`` bytes without ending (damage, or a gzip bomb)."""


# What warcio, zlib and zipfile raise on damaged input.
WARC_READ_ERRORS = (
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    UnicodeDecodeError,
    IndexError,
    KeyError,
    TypeError,
)

OpenStream = Callable[[], AbstractContextManager[IO[bytes]]]


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters (warcio quotes whole records)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def describe_error(error: BaseException) -> str:
    """``Type: message`` on one line, or the type alone when there is no message."""
    text = one_line(str(error))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass(frozen=True, slots=True)
class WarcRecord:
    """One record as read: where it is, its headers, and what its bytes hash to."""

    offset: int  # of the record (its gzip member, in a .gz read as it is)
    length: int
    format: str  # "warc" or "arc", as warcio tells them apart
    rec_type: str | None  # as warcio reads it (WARC-Type as written; "response" in an ARC)
    headers: Any  # warcio's StatusAndHeaders of the WARC (or ARC) header block
    http: Any | None  # the HTTP head, parsed as warcio parses it; None when there is none
    declared: int | None  # the block's Content-Length
    block_read: int  # bytes of the block actually there
    payload_sha1_bytes: bytes  # the payload is the block after the HTTP head, if any
    payload_sha256: str | None = None  # when asked for
    digest_checks: tuple[DigestCheck, ...] = ()  # the record's own digests, when asked for
    boundary_error: bool = False  # not followed by the two blank lines
    head_missing: bool = False  # an HTTP head was due, and the block is empty

    def header(self, name: str) -> str | None:
        value: str | None = self.headers.get_header(name)
        return value

    @property
    def payload_sha1(self) -> str:
        """The payload's sha1 in base32, as CDX ``digest`` fields are written."""
        return base64.b32encode(self.payload_sha1_bytes).decode("ascii")

    @property
    def cut_short(self) -> bool:
        return self.declared is not None and self.block_read < self.declared

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass
class WarcScan:
    """Every record read from one WARC stream, and why reading stopped early, if it did."""

    records: list[WarcRecord] = field(default_factory=list)
    boundary_errors: int = 0  # records not followed by the blank lines a WARC requires
    error: BaseException | None = None
    decompressed: bool = False
    # (offset, bytes there) of a gzip member the input ended inside (a truncated file)
    cut_member: tuple[int, int] | None = None
    # Where reading ended, with the blank lines after the last record (which the length of
    # a record in an uncompressed WARC leaves out); meaningful when ``error`` is None.
    end: int = 0


class CorruptMember(zlib.error):
    """A gzip member that does not inflate (a flipped bit, a bad checksum)."""

    def __init__(self, offset: int, error: zlib.error) -> None:
        super().__init__(f"the gzip member at offset {offset} is corrupt ({error})")
        self.offset = offset


class _LineBoundedReader(DecompressingBufferedReader):
    """warcio's reader, whose lines (all warcio reads by line: the blank lines between
    records, a WARC header block) may take ``MAX_HEAD`` bytes in all until ``head_read``
    is set back to 0 for the next record.

    It also keeps track of the gzip members it inflates, so that one pass over a file finds
    what warcio lets by: a member that does not inflate (warcio writes the error to stderr
    and reads on as if the member had ended) is ``CorruptMember``; a member the input ends
    inside (warcio reads it as if it simply ended) is ``cut_member``.
    """

    head_read = 0
    member_start = 0  # raw offset of the gzip member being inflated
    members_begun = 0  # members after the first

    def _raw_position(self) -> int:
        position: int = self.stream.tell()
        return position

    def read_next_member(self) -> bool:
        unused = self.decompressor.unused_data if self.decompressor else b""
        if not super().read_next_member():
            return False
        self.member_start = self._raw_position() - len(unused)
        self.members_begun += 1
        return True

    def _decompress(self, data: bytes) -> bytes:
        # warcio's own rule decides whether the first bytes of a file are gzip at all
        first = self.members_begun == 0 and self.num_block_read == 0
        if self.decompressor is None or not data or first:
            result: bytes = super()._decompress(data)
            return result
        try:
            inflated: bytes = self.decompressor.decompress(data)
        except zlib.error as e:
            raise CorruptMember(self.member_start, e) from None
        return inflated

    def cut_member(self) -> tuple[int, int] | None:
        """(offset, bytes there) of the gzip member the input ended inside, if it did."""
        if self.closed_inside is not None:
            return self.closed_inside
        decompressor = self.decompressor
        if decompressor is None or decompressor.eof:
            return None
        there = self._raw_position() - self.member_start
        return (self.member_start, there) if there > 0 else None

    closed_inside: tuple[int, int] | None = None

    def close_decompressor(self) -> None:
        # warcio closes the reader once it has read to the end: keep what it ended inside
        self.closed_inside = self.cut_member()
        super().close_decompressor()

    def readline(self, length: int | None = None) -> bytes:
        room = MAX_HEAD - self.head_read
        if length is None or length < 0 or length > room + 1:
            length = room + 1  # one byte more than fits tells a line too long
        line: bytes = super().readline(length)
        self.head_read += len(line)
        if self.head_read > MAX_HEAD:
            raise HeadTooLong(
                f"more than {MAX_HEAD >> 20} MiB of WARC headers, or of lines between two "
                "records (a damaged file, or a decompression bomb)"
            )
        return line


class _QuietArchiveIterator(ArchiveIterator):
    """warcio's iterator, quiet, reading through a ``_LineBoundedReader``."""

    # warcio writes this warning straight to stderr; boundary_error says it instead
    INC_RECORD = ""

    def __init__(self, fileobj: Any, **options: Any) -> None:
        super().__init__(fileobj, **options)
        block_size = options.get("block_size", BUFF_SIZE)
        self.reader = _LineBoundedReader(self.fh, block_size=block_size)


class _Block:
    """A record's block as it is read: every byte counted and fed to the block digests
    once, however it is read (lines of the HTTP head, then the payload in chunks)."""

    def __init__(self, stream: Any, checks: tuple[DigestCheck, ...]) -> None:
        self._stream = stream
        self._checks = checks
        self.count = 0
        self._buffer = b""  # read from the stream, not yet handed out
        self._position = 0
        self._lines_read = 0  # bytes handed out by readline, at most MAX_HEAD

    def _pull(self, size: int) -> bytes:
        data: bytes = self._stream.read(size)
        self.count += len(data)
        for check in self._checks:
            check.update(data)
        return data

    def readline(self, size: int | None = None) -> bytes:
        """A line (the HTTP head parser's way in), split from chunks read ahead; lines
        may take ``MAX_HEAD`` bytes in all (``HeadTooLong``)."""
        room = MAX_HEAD - self._lines_read
        while True:
            end = self._buffer.find(b"\n", self._position)
            if end >= 0 or len(self._buffer) - self._position > room:
                break
            if not (more := self._pull(READ_SIZE)):
                break
            self._buffer = self._buffer[self._position :] + more
            self._position = 0
        stop = len(self._buffer) if end < 0 else end + 1
        if size is not None and size >= 0:
            stop = min(stop, self._position + size)
        stop = min(stop, self._position + room + 1)
        line = self._buffer[self._position : stop]
        self._position = stop
        self._lines_read += len(line)
        if self._lines_read > MAX_HEAD:
            raise HeadTooLong(f"more than {MAX_HEAD >> 20} MiB of HTTP head")
        return line

    def read(self, size: int = -1) -> bytes:
        if self._position < len(self._buffer):
            stop = len(self._buffer) if size < 0 else self._position + size
            data = self._buffer[self._position : stop]
            self._position += len(data)
            return data
        return self._pull(size)


def _digest_checks(headers: Any) -> tuple[tuple[DigestCheck, ...], tuple[DigestCheck, ...]]:
    """(block checks, payload checks) for a record's own WARC digests."""
    block = headers.get_header("WARC-Block-Digest")
    payload = headers.get_header("WARC-Payload-Digest")
    # A revisit's payload digest names the payload it refers to, which it does not hold.
    is_revisit = (headers.get_header("WARC-Type") or "").lower() == "revisit"
    return (
        (DigestCheck("WARC-Block-Digest", block),) if block else (),
        (DigestCheck("WARC-Payload-Digest", payload),) if payload and not is_revisit else (),
    )


def _http_head(iterator: ArchiveIterator, record: Any, block: _Block) -> tuple[Any | None, bool]:
    """The record's HTTP head, read from ``block`` by warcio's rule and parser, and whether
    one was due but the block is empty (warcio, parsing, takes that for the end of input)."""
    uri = record.rec_headers.get_header("uri" if record.format == "arc" else "WARC-Target-URI")
    try:
        head = iterator.loader.load_http_headers(record.rec_type, uri or "", block, record.length)
    except EOFError:  # a response or request with nothing after its WARC headers
        return None, True
    except HeadTooLong:
        raise HeadTooLong(
            f"the HTTP head of the record at offset {iterator.offset} runs past "
            f"{MAX_HEAD >> 20} MiB without ending (a damaged record, or a decompression bomb)"
        ) from None
    return head, False


def _read_record(
    iterator: ArchiveIterator, record: Any, *, check_digests: bool, payload_sha256: bool
) -> WarcRecord:
    block_checks, payload_checks = _digest_checks(record.rec_headers) if check_digests else ((), ())
    block = _Block(record.raw_stream, block_checks)
    http, head_missing = _http_head(iterator, record, block)
    sha1 = hashlib.sha1()
    hashers = [sha1] if payload_sha256 is False else [sha1, hashlib.sha256()]
    for check in payload_checks:
        if check.algorithm == "sha1" and check.known:
            check.hasher = sha1  # the payload's sha1 is hashed once, for both
        elif check.known:
            hashers.append(check.hasher)
    while chunk := block.read(READ_SIZE):
        for hasher in hashers:
            hasher.update(chunk)
    errors = iterator.err_count
    offset, length = iterator.get_record_offset(), iterator.get_record_length()
    return WarcRecord(
        offset=offset,
        length=length,
        format=record.format,
        rec_type=record.rec_type,
        headers=record.rec_headers,
        http=http,
        declared=record.length,
        block_read=block.count,
        payload_sha1_bytes=sha1.digest(),
        payload_sha256=hashers[1].hexdigest() if payload_sha256 else None,
        digest_checks=(*block_checks, *payload_checks),
        boundary_error=iterator.err_count > errors,
        head_missing=head_missing,
    )


def scan_stream(
    stream: Any,  # a binary stream: a file, a GzipFile, a zip member, a HashingReader
    *,
    check_digests: bool = False,
    payload_sha256: bool = False,
) -> WarcScan:
    """Read every record of one WARC stream, as it is (gzip members are decompressed)."""
    scan = WarcScan()
    iterator = _QuietArchiveIterator(stream, no_record_parse=True)
    reader = iterator.reader  # warcio lets go of it at the end
    try:
        for record in iterator:
            iterator.reader.head_read = 0  # counts from here to the next record's headers
            scan.records.append(
                _read_record(
                    iterator, record, check_digests=check_digests, payload_sha256=payload_sha256
                )
            )
    except WARC_READ_ERRORS as e:
        scan.error = e
    scan.boundary_errors = iterator.err_count
    scan.end = iterator.offset
    if scan.error is None or (
        not isinstance(scan.error, CorruptMember) and reader.stream.read(1) == b""
    ):  # the whole input was read: did it end inside a gzip member?
        scan.cut_member = reader.cut_member()
    return scan


def is_single_gzip_stream(error: BaseException | None) -> bool:
    """True when warcio stopped because a .gz is one gzip stream, not one member per record."""
    return isinstance(error, ArchiveLoadFailed) and "non-chunked gzip" in str(error)


def scan_warc(
    open_stream: OpenStream, *, check_digests: bool = False, payload_sha256: bool = False
) -> WarcScan:
    """Read every record of the WARC ``open_stream`` opens; a .gz that is one gzip stream
    is read again, decompressed. Errors opening the stream are raised."""
    with open_stream() as stream:
        scan = scan_stream(stream, check_digests=check_digests, payload_sha256=payload_sha256)
    if not is_single_gzip_stream(scan.error):
        return scan
    return scan_decompressed(
        open_stream, check_digests=check_digests, payload_sha256=payload_sha256
    )


def scan_decompressed(
    open_stream: OpenStream, *, check_digests: bool = False, payload_sha256: bool = False
) -> WarcScan:
    """Read a .gz that is one gzip stream (see ``is_single_gzip_stream``) decompressed."""
    with open_stream() as raw, gzip.GzipFile(fileobj=raw, mode="rb") as stream:
        scan = scan_stream(stream, check_digests=check_digests, payload_sha256=payload_sha256)
    scan.decompressed = True
    return scan


def wacz_warc_members(archive: zipfile.ZipFile) -> list[str]:
    """The WARC files of a WACZ package: its ``.warc`` and ``.warc.gz`` under ``archive/``."""
    return [
        info.filename
        for info in archive.infolist()
        if not info.is_dir()
        and info.filename.startswith("archive/")
        and info.filename.lower().endswith((".warc", ".warc.gz"))
    ]
