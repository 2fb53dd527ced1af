"""Reading an article: from a file, stdin or fetched bytes to checked text.

Everything after this point assumes text, so this is where unusable input is refused,
each with a one-line ``InputError`` that says what is wrong and where: a missing file, a
directory, a file we may not read, binary data (a NUL byte, or mostly control
characters), and text that is not valid in its encoding (with the byte offset, so the
user can find it). An empty article is not an error; it has no citations.

Encodings: a byte-order mark wins; then, for HTML, the charset the server declared
(``content_type``) and then a ``<meta charset>`` in the first bytes, as browsers do
(with "iso-8859-1" read as windows-1252, as browsers also do); everything else must be
UTF-8. Guessing an encoding for undeclared text would silently corrupt quotes.
"""

from __future__ import annotations

import codecs
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from archiver.errors import InputError
from archiver.extract.formats import article_facts, detect_format, format_from_name, page_url


@dataclass(frozen=True)
class Article:
    """An article's text with what is known about it.

    ``url`` is the article's own address when known (an HTML canonical link or og:url, or
    the URL it was fetched from); ``published`` is its ISO publication date if it says.
    """

    text: str
    fmt: str
    source: str
    url: str | None
    published: str | None


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([a-z0-9_.:-]+)", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([a-z0-9_.:-]+)", re.IGNORECASE)
_CONTENT_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/x-wiki": "wikitext",
}
_SNIFF_BYTES = 8192
_CONTROL_LIMIT = 0.3  # share of control characters above which a file is "binary"
# Control characters, less tab, newline, form feed, carriage return and escape.
_CONTROL_BYTES = bytes(byte for byte in range(32) if byte not in (9, 10, 12, 13, 27))


def read_article(source: str, *, stdin: BinaryIO | None = None) -> Article:
    """Read the article at path ``source``, or standard input when ``source`` is "-"."""
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        try:
            data = stream.read()
        except OSError as error:
            raise InputError(
                f"cannot read the article from stdin: {error.strerror or error}"
            ) from None
        return parse_article_bytes(data, source)
    path = Path(source)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"cannot read article {source}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"cannot read article {source}: it is a directory") from None
    except PermissionError:
        raise InputError(f"cannot read article {source}: permission denied") from None
    except OSError as error:
        if path.is_dir():
            raise InputError(f"cannot read article {source}: it is a directory") from None
        reason = error.strerror or type(error).__name__
        raise InputError(f"cannot read article {source}: {reason}") from None
    return parse_article_bytes(data, source)


def parse_article_bytes(data: bytes, source: str, content_type: str | None = None) -> Article:
    """Decode and check fetched or read bytes; ``source`` is the file name or URL they came from."""
    fmt_hint = _format_from_content_type(content_type) or format_from_name(source)
    text = _decode(data, source, content_type, fmt_hint)
    fmt = fmt_hint or detect_format(text, source)
    own_url = page_url(source)
    published, url = article_facts(text, fmt, own_url)
    return Article(text=text, fmt=fmt, source=source, url=url or own_url, published=published)


def _decode(data: bytes, source: str, content_type: str | None, fmt_hint: str | None) -> str:
    label = "stdin" if source == "-" else source
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_as(data, encoding, label)
    nul = data.find(b"\x00", 0, _SNIFF_BYTES)
    if nul >= 0:
        raise InputError(f"cannot read article {label}: binary data (NUL byte at offset {nul})")
    if _mostly_control(data[:_SNIFF_BYTES]):
        raise InputError(f"cannot read article {label}: binary data (mostly control characters)")
    encoding = "utf-8"
    declared = _declared_charset(data, content_type, fmt_hint)
    if declared:
        encoding = declared
    text = _decode_as(data, encoding, label)
    nul_later = text.find("\x00")
    if nul_later >= 0:
        raise InputError(
            f"cannot read article {label}: binary data (NUL character at offset {nul_later})"
        )
    return text


def _decode_as(data: bytes, encoding: str, label: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1].hex()
        name = "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding
        raise InputError(
            f"cannot read article {label}: not valid {name} (byte 0x{bad} at offset {error.start})"
        ) from None


def _declared_charset(data: bytes, content_type: str | None, fmt_hint: str | None) -> str | None:
    candidates: list[str] = []
    if content_type:
        header = _HEADER_CHARSET.search(content_type)
        if header:
            candidates.append(header.group(1))
    if fmt_hint in (None, "html"):
        meta = _META_CHARSET.search(data[:_SNIFF_BYTES])
        if meta:
            candidates.append(meta.group(1).decode("ascii"))
    for name in candidates:
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            continue
        # What browsers do: a page labelled latin-1 is read as windows-1252.
        return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec
    return None


def _mostly_control(sample: bytes) -> bool:
    if not sample:
        return False
    control = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return control / len(sample) > _CONTROL_LIMIT


def _format_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return _CONTENT_TYPES.get(content_type.split(";", 1)[0].strip().lower())
