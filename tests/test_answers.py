"""Reading answers off the wire (``archiver.net.answers``): heads as browsers read them,
bodies by their framing, and the bounds, on bytes given directly."""

from __future__ import annotations

import time

import pytest

from archiver.errors import BadAnswer
from archiver.net.answers import (
    MAX_HEAD_BYTES,
    BodyReader,
    ResponseHead,
    end_of_head,
    parse_head,
)


def head(text: str) -> ResponseHead:
    return parse_head(text.encode("latin-1"))


def test_repeated_fields_are_joined_and_each_value_kept_in_order() -> None:
    parsed = head(
        "HTTP/1.1 302 Found\r\nLocation: /a\r\nSet-Cookie: a=1; Expires=Wed, 21 Oct 2037 07:28:00"
        " GMT\r\nLOCATION: /b\r\nSet-Cookie: b=2\r\n\r\n"
    )
    assert (parsed.version, parsed.status) == ((1, 1), 302)
    assert parsed.headers == {
        "location": "/a, /b",
        "set-cookie": "a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT, b=2",
    }
    assert parsed.headers["location"] == "/a, /b"
    assert parsed.first("location") == "/a"
    assert parsed.every("set-cookie") == ["a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT", "b=2"]
    assert (parsed.first("vary"), parsed.every("vary")) == (None, [])


@pytest.mark.parametrize(
    ("status_line", "connection", "keep_alive"),
    [
        ("HTTP/1.1 200 OK", "", True),
        ("HTTP/1.1 200 OK", "Close", False),
        ("HTTP/1.1 200 OK", "keep-alive, close", False),
        ("HTTP/1.0 200 OK", "", False),
        ("HTTP/1.0 200 OK", "Keep-Alive", True),
        ("http/1.1 200", "", True),
    ],
)
def test_keep_alive_follows_version_and_connection(
    status_line: str, connection: str, keep_alive: bool
) -> None:
    field = f"Connection: {connection}\r\n" if connection else ""
    assert head(f"{status_line}\r\n{field}\r\n").keep_alive is keep_alive


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("HTTP/1.1 OK\r\n\r\n", "not a valid HTTP answer (no status code in 'HTTP/1.1 OK\\r')"),
        ("HTTP/1.1 2000 OK\r\n\r\n", "not a valid HTTP answer (no status code in"),
        ("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "not a valid HTTP answer (a header line"),
    ],
)
def test_what_browsers_refuse_is_refused(raw: str, message: str) -> None:
    with pytest.raises(BadAnswer) as caught:
        head(raw)
    assert str(caught.value).startswith(message)


def test_at_most_1000_fields() -> None:
    fields = "".join(f"X-{i}: {i}\r\n" for i in range(1000))
    assert len(head(f"HTTP/1.1 200 OK\r\n{fields}\r\n").headers) == 1000
    with pytest.raises(BadAnswer) as caught:
        head(f"HTTP/1.1 200 OK\r\n{fields}X-1000: one too many\r\n\r\n")
    assert str(caught.value) == "the answer has more than 1000 header fields"


def test_end_of_head_is_the_first_blank_line_of_either_kind() -> None:
    assert end_of_head(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody\n\n") == 25
    assert end_of_head(b"HTTP/1.1 200 OK\nA: b\n\nbody\r\n\r\n") == 22
    assert end_of_head(b"HTTP/1.1 200 OK\r\nA: b\n\r\n") == 24
    assert end_of_head(b"HTTP/1.1 200 OK\r\nA: b\r\n") == -1
    assert end_of_head(b"HTTP/1.1 200 OK\r\nA: b\r\n\r", 20) == -1


# -- bodies ------------------------------------------------------------------------------


def read_all(reader: BodyReader, data: bytes, piece: int) -> bytes:
    return b"".join(reader.feed(data[i : i + piece]) for i in range(0, len(data), piece))


CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 1000])
@pytest.mark.parametrize(
    "body",
    [
        b"5\r\nhello\r\n1;name=value\r\n \r\nA \r\nchunked!!!\r\n0\r\nX-Trailer: t\r\n\r\n",
        b"5\nhello\n1 ; x\n \na\nchunked!!!\n0\n\n",  # LF line ends, as browsers read them
    ],
    ids=["crlf", "lf"],
)
def test_chunked_body_read_in_pieces_of_any_size(body: bytes, piece: int) -> None:
    reader = BodyReader(head(CHUNKED), MAX_HEAD_BYTES)
    assert read_all(reader, body, piece) == b"hello chunked!!!"
    assert (reader.done, reader.extra, reader.keep_alive) == (True, False, True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"5\r\nhello!\r\n", "not a valid HTTP answer (a chunk longer than its size)"),
        (b"five\r\nhello\r\n", "not a valid HTTP answer (a chunk without a size)"),
        (b"0x5\r\nhello\r\n", "not a valid HTTP answer (a chunk without a size)"),
        (b"\r\n", "not a valid HTTP answer (a chunk without a size)"),
    ],
)
def test_chunks_browsers_refuse_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(BadAnswer) as caught:
        BodyReader(head(CHUNKED), MAX_HEAD_BYTES).feed(body)
    assert str(caught.value) == message


def test_a_trailer_past_what_the_head_left_is_refused() -> None:
    reader = BodyReader(head(CHUNKED), 1000)
    reader.feed(b"5\r\nhello\r\n0\r\n" + b"X-T: 1234\r\n" * 89)  # 984 bytes since "hello"
    with pytest.raises(BadAnswer) as caught:
        reader.feed(b"X-T: 1234\r\n" * 2)
    assert str(caught.value) == "the answer's headers and trailer are over 256 KiB"


def test_a_trailer_a_few_bytes_at_a_time_is_read_in_linear_time() -> None:
    trailer = b"".join(b"X-Trailer-%d: %s\r\n" % (i, b"v" * 40) for i in range(4000))  # 230 KB
    data = b"5\r\nhello\r\n0\r\n" + trailer + b"\r\n"
    reader = BodyReader(head(CHUNKED), MAX_HEAD_BYTES)
    started = time.monotonic()
    assert read_all(reader, data, 3) == b"hello"
    assert time.monotonic() - started < 1.0
    assert reader.done


@pytest.mark.parametrize(
    ("fields", "sent", "body", "extra", "keep_alive"),
    [
        ("Content-Length: 5", b"hello", b"hello", False, True),
        ("Content-Length: 5", b"hello, and more", b"hello", True, True),
        ("Content-Length: 5, 5\r\nContent-Length: 5", b"hello", b"hello", False, True),
        ("Content-Length: five", b"hello", b"hello", False, False),  # until the end
        ("", b"hello", b"hello", False, False),  # until the connection closes
        ("Transfer-Encoding: gzip\r\nContent-Length: 5", b"hello", b"hello", False, True),
        (
            "Transfer-Encoding: chunked\r\nContent-Length: 5",
            b"5\r\nhello\r\n0\r\n\r\n",
            b"hello",
            False,
            False,
        ),
    ],
    ids=["length", "more", "repeated", "no-number", "none", "other-coding", "te-and-cl"],
)
def test_body_framing(fields: str, sent: bytes, body: bytes, extra: bool, keep_alive: bool) -> None:
    reader = BodyReader(head(f"HTTP/1.1 200 OK\r\n{fields}\r\n\r\n"), MAX_HEAD_BYTES)
    assert reader.feed(sent) == body
    assert (reader.extra, reader.keep_alive) == (extra, keep_alive)


@pytest.mark.parametrize("status", [204, 304])
def test_answers_without_a_body_are_done_at_once(status: int) -> None:
    reader = BodyReader(head(f"HTTP/1.1 {status} X\r\nContent-Length: 10\r\n\r\n"), 0)
    assert (reader.done, reader.keep_alive) == (True, True)


def test_conflicting_lengths_are_refused() -> None:
    with pytest.raises(BadAnswer) as caught:
        BodyReader(head("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n"), 0)
    assert str(caught.value) == "not a valid HTTP answer (conflicting Content-Length headers)"
