"""An HTTP/1.x answer read off the wire the way browsers read it, and within bounds.

What decides a link's verdict is whether a browser would show the answer, not whether it
keeps RFC 9112 to the letter. So, as browsers do, line ends may be LF alone (in the head
and in chunked bodies), folded header lines are joined with a space, control bytes stay
in values, a Content-Length repeated with the same value counts once, Transfer-Encoding
wins over Content-Length (and that connection is not used again: such an answer may be
an attempt at response splitting), a blank line before the status line is skipped, and
the reason phrase may be missing. What browsers refuse stays refused: a status line
without a code, a header line without a colon, Content-Lengths that disagree, a chunk
without a size.

Why here and not llhttp (through httptools, which the link checker's client used
before): llhttp refuses most of the above unless told to be lenient, none of its
leniencies accepts a repeated Content-Length or a chunked body with LF line ends, and
httptools joins the pieces of a header line that arrives over many reads by copying, so a
server sending its head a few bytes at a time makes that quadratic (256 KiB in 16-byte
reads: 0.3 s). Here a head is gathered until its blank line and read in one pass; a body
is counted off by its length, or read chunk by chunk with one search per line. That costs
about 3 µs more per answer than llhttp and its callbacks did: checking scenario A's 1,961
answering links in one process took 0.280 s of CPU against 0.269 s (medians of five
alternating runs), a few milliseconds of a run that is 5 s of waiting.

Bounds: at most ``MAX_HEAD_BYTES`` (256 KiB, Chrome's limit) of head and trailer in all,
interim 1xx answers included, and at most ``MAX_HEADER_FIELDS`` fields; every step is
linear in what was read, repeated headers included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archiver.errors import BadAnswer

MAX_HEAD_BYTES = 256 * 1024
MAX_HEADER_FIELDS = 1000
HEAD_TOO_LARGE = "the answer's headers are over 256 KiB"
TOO_MANY_FIELDS = f"the answer has more than {MAX_HEADER_FIELDS} header fields"
TRAILER_TOO_LARGE = "the answer's headers and trailer are over 256 KiB"
NO_BODY_STATUSES = frozenset({204, 304})

_FOLD = re.compile(rb"\r?\n[ \t]+")  # obs-fold: the field value goes on after a line end
_STATUS_LINE = re.compile(r"HTTP/(\d+)(?:\.(\d+))?[ \t]+(\d{3})(?:[ \t].*)?", re.IGNORECASE)
_CHUNK_SIZE = re.compile(rb"[ \t]*([0-9a-fA-F]{1,15})[ \t]*(?:;.*)?")  # extensions ignored


def end_of_head(data: bytes | bytearray, start: int = 0) -> int:
    """Where the head at the start of ``data`` ends (just past its blank line), or -1.
    ``start``: where to look from; a caller that looked before passes where that look
    stopped, less the three bytes a line end split between reads may have left."""
    crlf = data.find(b"\n\r\n", start)
    lf = data.find(b"\n\n", start, crlf + 1 if crlf >= 0 else len(data))  # one before it?
    if lf >= 0:
        return lf + 2
    return crlf + 3 if crlf >= 0 else -1


def looks_like_http(data: bytes | bytearray) -> bool:
    """Whether ``data``, the start of an answer (blank lines skipped), could be an HTTP
    answer's head: checked as soon as there are five bytes, so a server that sends
    anything else is refused at once rather than read until the timeout."""
    return len(data) < 5 or data[:5].upper() == b"HTTP/"


@dataclass(slots=True)
class ResponseHead:
    """A status and its header fields, names in lower case: ``headers`` with repeated
    fields joined by ", ", and ``repeated`` with each value of those (read Set-Cookie
    and Location, which cannot be joined, with ``every`` and ``first``)."""

    version: tuple[int, int]
    status: int
    headers: dict[str, str]
    repeated: dict[str, list[str]]

    def first(self, name: str) -> str | None:
        """The first value of field ``name`` (lower case), as browsers read Location."""
        values = self.repeated.get(name)
        return values[0] if values else self.headers.get(name)

    def every(self, name: str) -> list[str]:
        """Each value of field ``name`` (lower case), in order."""
        if name in self.repeated:
            return self.repeated[name]
        return [self.headers[name]] if name in self.headers else []

    @property
    def keep_alive(self) -> bool:
        """Whether the server means to keep the connection open after this answer."""
        connection = self.headers.get("connection")
        if connection is None:
            return self.version >= (1, 1)
        if connection == "keep-alive":  # what nearly every server sends: no need to split it
            return True
        tokens = {token.strip() for token in connection.lower().split(",")}
        return "close" not in tokens and (self.version >= (1, 1) or "keep-alive" in tokens)


def parse_head(raw: bytes) -> ResponseHead:
    """The head ``raw`` (up to and including its blank line, at most ``MAX_HEAD_BYTES``).
    Raises BadAnswer for what no browser would read, or past ``MAX_HEADER_FIELDS``."""
    status_line, *lines = raw.decode("latin-1").split("\n")
    if len(lines) > MAX_HEADER_FIELDS + 2:  # with the blank line, and "" after it
        if _FOLD.search(raw):
            return parse_head(_FOLD.sub(b" ", raw))
        raise BadAnswer(TOO_MANY_FIELDS)
    match = _STATUS_LINE.fullmatch(status_line.rstrip("\r"))
    if match is None:
        raise BadAnswer(f"not a valid HTTP answer (no status code in {status_line[:40]!r})")
    major, minor, status = match.groups()
    headers: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if name.startswith((" ", "\t")):  # a folded line: once joined, none is left
            return parse_head(_FOLD.sub(b" ", raw))
        if not colon:
            if line.strip("\r"):
                raise BadAnswer("not a valid HTTP answer (a header line without a colon)")
            continue  # the blank line at the end
        name = name.strip(" \t").lower()
        value = value.strip(" \t\r")
        if not name:
            continue  # ": value", which browsers skip
        if name not in headers:
            headers[name] = value
        elif name in repeated:
            repeated[name].append(value)
        else:
            repeated[name] = [headers[name], value]
    for name, values in repeated.items():  # joined once each: linear however many
        headers[name] = ", ".join(values)
    return ResponseHead((int(major), int(minor or 0)), int(status), headers, repeated)


def _content_length(value: str) -> int | None:
    """The body's length from the Content-Length fields (joined, and each may list
    several): the same number however often it is given; None when it is no number at
    all (the body then runs until the connection closes, as in Chrome)."""
    if value.isdigit() and value.isascii():  # nearly always
        return int(value) if len(value) <= 18 else None
    lengths = {part.strip() for part in value.split(",")}
    if len(lengths) > 1:
        raise BadAnswer("not a valid HTTP answer (conflicting Content-Length headers)")
    [length] = lengths
    if not (length.isascii() and length.isdigit()) or len(length) > 18:
        return None
    return int(length)


class BodyReader:
    """Which of the bytes after a head are its body, and where the answer ends: after
    Content-Length bytes, after the last chunk and its trailer, or when the connection
    closes. ``feed`` each read to it; then ``done`` says the answer is complete, ``extra``
    that more bytes came after it, and ``keep_alive`` whether the connection may carry
    another request."""

    def __init__(self, head: ResponseHead, budget: int) -> None:
        self.done = False
        self.extra = False
        self.keep_alive = head.keep_alive
        self._budget = budget  # for chunk lines and the trailer: what the head left
        self._chunked = False
        self._remaining = 0  # body bytes still to come (of this chunk); -1: until closed
        self._line = bytearray()  # a chunk line not yet ended
        self._since_body = 0  # bytes read since the last body byte
        self._after_data = False  # a chunk's data is in: the line end comes next
        self._trailer = False
        codings = head.headers.get("transfer-encoding")
        lengths = head.headers.get("content-length")  # repeated ones joined by ", "
        if head.status in NO_BODY_STATUSES:
            self.done = True
        elif codings and "chunked" in (coding.strip() for coding in codings.lower().split(",")):
            self._chunked = True
            self.keep_alive = self.keep_alive and lengths is None
        else:  # as Chrome: another coding alone does not frame the body
            length = None if lengths is None else _content_length(lengths)
            self._remaining = -1 if length is None else length
            self.done = length == 0
            self.keep_alive = self.keep_alive and length is not None

    def feed(self, data: bytes) -> bytes:
        """The body bytes in ``data``. Raises BadAnswer for a chunked body no browser
        would read, or one whose chunk lines and trailer run past the bounds."""
        if self._chunked:
            return self._feed_chunks(data)
        if self._remaining < 0:
            return data
        if len(data) < self._remaining:
            self._remaining -= len(data)
            return data
        body = data[: self._remaining]
        self.done, self.extra = True, len(data) > self._remaining
        self._remaining = 0
        return body

    def _feed_chunks(self, data: bytes) -> bytes:
        pieces: list[bytes] = []
        position, end = 0, len(data)
        while position < end and not self.done:
            if self._remaining:
                piece = data[position : position + self._remaining]
                pieces.append(piece)
                position += len(piece)
                self._remaining -= len(piece)
                self._after_data = not self._remaining
                self._since_body = 0
                continue
            line_end = data.find(b"\n", position)
            stop = end if line_end < 0 else line_end + 1
            self._since_body += stop - position
            if self._since_body > self._budget:
                raise BadAnswer(TRAILER_TOO_LARGE)
            if line_end < 0:
                self._line += data[position:]
                break
            if self._line:
                line = bytes(self._line + data[position:line_end])
                self._line.clear()
            else:
                line = data[position:line_end]
            position = stop
            self._take_line(line[:-1] if line.endswith(b"\r") else line)
        self.extra = self.done and position < end
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _take_line(self, line: bytes) -> None:
        if self._after_data:
            if line:
                raise BadAnswer("not a valid HTTP answer (a chunk longer than its size)")
            self._after_data = False
        elif self._trailer:
            self.done = not line  # the trailer's fields are not read, only counted
        else:
            match = _CHUNK_SIZE.fullmatch(line)
            if match is None:
                raise BadAnswer("not a valid HTTP answer (a chunk without a size)")
            self._remaining = int(match[1], 16)
            self._trailer = not self._remaining
