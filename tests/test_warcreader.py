"""warcreader: the one WARC reader under the collection index and verify.

Records are written here byte by byte where warcio's writer would tidy them (it encodes a
non-ASCII header value as RFC 5987), and read back with warcio's own iterator for the
offsets expected.
"""

from __future__ import annotations

import gzip
import hashlib
from io import BytesIO
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.storage.digests import payload_sha1_base32
from archiver.storage.warcreader import MAX_HEAD, HeadTooLong, scan_stream, scan_warc

HEAD = 'HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename="café.html"\r\n\r\n'
BODY = b"<p>caf\xc3\xa9</p>"


def warc_record(target: str, block: bytes, payload: bytes, **headers: str) -> bytes:
    """One uncompressed WARC/1.1 response record with correct digests (sha1, base32)."""
    fields = {
        "WARC-Type": "response",
        "WARC-Record-ID": f"<urn:uuid:{hashlib.md5(block).hexdigest()}>",
        "WARC-Target-URI": target,
        "WARC-Date": "2018-05-01T00:00:00Z",
        "WARC-Block-Digest": f"sha1:{payload_sha1_base32(block)}",
        "WARC-Payload-Digest": f"sha1:{payload_sha1_base32(payload)}",
        "Content-Type": "application/http; msgtype=response",
        "Content-Length": str(len(block)),
        **headers,
    }
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode() + block + b"\r\n\r\n"


def utf8_record(target: str = "http://news.example/utf8") -> bytes:
    return warc_record(target, HEAD.encode("utf-8") + BODY, BODY)


def offsets(data: bytes) -> list[tuple[int, int]]:
    iterator = ArchiveIterator(BytesIO(data))
    found = []
    for record in iterator:
        record.raw_stream.read()
        found.append((iterator.get_record_offset(), iterator.get_record_length()))
    return found


def test_records_have_warcios_offsets_and_each_digest_of_their_bytes() -> None:
    data = utf8_record() + warc_record("http://news.example/b", b"plain block", b"plain block")
    scan = scan_stream(BytesIO(data), check_digests=True, payload_sha256=True)
    assert [(r.offset, r.length) for r in scan.records] == offsets(data)
    first = scan.records[0]
    assert first.http.get_statuscode() == "200"
    assert first.payload_sha1 == payload_sha1_base32(BODY)
    assert first.payload_sha256 == hashlib.sha256(BODY).hexdigest()
    assert [(c.header, c.mismatch()) for c in first.digest_checks] == [
        ("WARC-Block-Digest", None),
        ("WARC-Payload-Digest", None),
    ]
    # the head is counted in bytes: "é" is two of them, one character
    assert (first.block_read, first.declared, first.cut_short) == (
        len(HEAD.encode("utf-8") + BODY),
        len(HEAD.encode("utf-8") + BODY),
        False,
    )
    assert (scan.error, scan.boundary_errors, scan.end) == (None, 0, len(data))


def test_a_record_cut_inside_its_warc_headers_has_no_length() -> None:
    whole = utf8_record() + utf8_record("http://news.example/second")
    second = offsets(whole)[1][0]
    scan = scan_stream(BytesIO(whole[: second + 60]))  # WARC-Target-URI is cut
    cut = scan.records[1]
    assert (cut.offset, cut.declared, cut.http, cut.cut_short) == (second, None, None, False)
    assert scan.error is None


def test_nothing_after_the_warc_headers_of_a_response_is_a_missing_head() -> None:
    whole = utf8_record()
    block_start = whole.index(b"HTTP/1.1")
    (record,) = scan_stream(BytesIO(whole[:block_start])).records
    assert (record.head_missing, record.cut_short, record.block_read) == (True, True, 0)


def test_a_single_gzip_stream_is_read_again_decompressed(tmp_path: Path) -> None:
    data = utf8_record() + utf8_record("http://news.example/second")
    path = tmp_path / "one-stream.warc.gz"
    path.write_bytes(gzip.compress(data))
    scan = scan_warc(lambda: path.open("rb"))
    assert scan.decompressed
    assert [(r.offset, r.length) for r in scan.records] == offsets(data)
    assert scan.error is None


# -- header lines are bounded: a line that never ends is damage, not a memory hog ---------


def test_an_http_head_that_never_ends_stops_the_scan_after_max_head() -> None:
    endless = b"HTTP/1.1 200 OK\r\nX-Endless: " + b"a" * (3 * MAX_HEAD)
    data = utf8_record() + warc_record("http://news.example/endless", endless, b"")
    second = len(utf8_record())  # the blank lines after it included
    scan = scan_stream(BytesIO(data))
    assert [r.offset for r in scan.records] == [0]
    assert isinstance(scan.error, HeadTooLong)
    assert str(scan.error) == (
        f"the HTTP head of the record at offset {second} runs past 1 MiB without ending "
        "(a damaged record, or a decompression bomb)"
    )


@pytest.mark.parametrize(
    "lines",
    [
        [b"X-Endless: " + b"a" * (3 * MAX_HEAD)],  # one line that never ends
        [b"X-Many-%d: value\r\n" % n for n in range(MAX_HEAD // 16)],  # lines without end
    ],
    ids=["one line", "many lines"],
)
def test_warc_headers_that_never_end_stop_the_scan(lines: list[bytes]) -> None:
    data = utf8_record() + b"WARC/1.1\r\n" + b"".join(lines)
    scan = scan_stream(BytesIO(data))
    assert [r.offset for r in scan.records] == [0]
    assert isinstance(scan.error, HeadTooLong)
    assert str(scan.error) == (
        "more than 1 MiB of WARC headers, or of lines between two records (a damaged file, "
        "or a decompression bomb)"
    )


def test_long_heads_under_the_bound_are_read_whole() -> None:
    cookie = "a" * (MAX_HEAD - 100_000)  # a big, real-looking header
    head = f"HTTP/1.1 200 OK\r\nSet-Cookie: {cookie}\r\n\r\n".encode()
    warc_headers = {f"X-Note-{n}": "b" * 100 for n in range((MAX_HEAD - 100_000) // 120)}
    data = (
        warc_record("http://news.example/a", head + BODY, BODY, **warc_headers)
        + warc_record("http://news.example/b", head + BODY, BODY)
        + utf8_record()
    )
    scan = scan_stream(BytesIO(data), check_digests=True)
    assert [(r.offset, r.length) for r in scan.records] == offsets(data)
    assert scan.records[1].http.get_header("Set-Cookie") == cookie
    assert [c.mismatch() for r in scan.records for c in r.digest_checks] == [None] * 6
    assert scan.error is None
