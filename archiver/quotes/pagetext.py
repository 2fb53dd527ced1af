"""A page's text as a reader sees it: what a quote is looked for in.

Decoded in the page's own charset, found as a browser finds it: a byte-order mark, then
the ``charset`` of the ``Content-Type`` header, then a ``<meta charset>`` or ``<meta
http-equiv="Content-Type">`` near the top, then UTF-8 if the bytes are valid UTF-8, then
a guess from the bytes (charset-normalizer), else windows-1252; ISO-8859-1 and ASCII
are read as windows-1252, as browsers read them.

HTML is read with the standard library's tolerant parser, and only what is shown is
kept: not the ``<head>`` (so not the title), scripts, styles, ``<noscript>``,
``<template>``, forms' options, nor elements hidden by the ``hidden`` attribute,
``aria-hidden="true"``, or an inline ``display:none`` / ``visibility:hidden`` style.
Inline elements join their words as the browser does (``<b>wo</b>rd`` is one word);
block elements and ``<br>`` end a line. ``<q>`` is shown inside curly quotes.
Character references are decoded. Whitespace is collapsed to single spaces within a
line, as rendering does (``<pre>`` is not kept apart: quotes rarely come from code).
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

from charset_normalizer import from_bytes

_SKIPPED = frozenset({"head", "script", "style", "noscript", "template", "select", "datalist"})
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "keygen",
    ]
)
_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "legend",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_HIDING_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_AS_BROWSERS_READ = {"iso8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
META_WINDOW = 4096  # bytes searched for a <meta> charset (browsers look at 1024; pages lie)


def page_charset(body: bytes, content_type: str | None) -> str:
    """The Python codec the page is to be decoded with (see the module docstring)."""
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return bom_codec
    declared: list[str | None] = [_charset_param(content_type or "")]
    if _is_html(body, content_type):
        meta = _META_CHARSET.search(body[:META_WINDOW])
        declared.append(meta.group(1).decode("ascii") if meta else None)
    for name in declared:
        codec = _codec(name)
        if codec is not None:
            return codec
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    guess = _codec(_detected(body))
    return guess or "cp1252"


def _detected(body: bytes) -> str | None:
    """charset-normalizer's guess; never UTF-16 or UTF-32 for bytes without a NUL (which
    any text in those has), a guess it makes for short texts in a single-byte charset."""
    guess = from_bytes(body[:65536]).best()
    name = guess.encoding if guess is not None else None
    if name and name.replace("_", "-").startswith(("utf-16", "utf-32")) and b"\0" not in body:
        return None
    return name


def reader_text(body: bytes, content_type: str | None) -> str | None:
    """What a reader sees of the page, one line per block; None for what has no text to
    read (an image, a PDF: no text is extracted from those)."""
    media = (content_type or "").split(";")[0].strip().lower()
    html_page = _is_html(body, content_type)
    if not html_page and media and not media.startswith("text/"):
        return None
    if not html_page and not media and b"\0" in body[:1024]:  # no type, and not text
        return None
    decoded = body.decode(page_charset(body, content_type), errors="replace").lstrip("\ufeff")
    if not html_page:
        return "\n".join(_SPACES.sub(" ", line).strip() for line in decoded.splitlines())
    reader = _Reader()
    reader.feed(decoded)
    reader.close()
    return reader.text()


def _is_html(body: bytes, content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    if "html" in media:
        return True
    return not media and body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))


def _charset_param(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def _codec(name: str | None) -> str | None:
    """The Python codec for a charset label, None when Python knows no such codec."""
    if not name:
        return None
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return _AS_BROWSERS_READ.get(codec, codec)


class _Reader(HTMLParser):
    """Collects the shown text; ``hidden`` counts the hidden or skipped elements open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.hiding: list[str] = []  # tags of the open elements that hide their content

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag in ("br", "hr") and not self.hiding:
                self.end_line()
            return
        if tag == "body" and "head" in self.hiding:  # a <head> never closed ends here
            del self.hiding[self.hiding.index("head") :]
        if self.hiding or tag in _SKIPPED or _hides(attrs):
            self.hiding.append(tag)
            return
        if tag in _BLOCKS:
            self.end_line()
        elif tag == "q":
            self.line.append("“")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr") and not self.hiding:
            self.end_line()

    def handle_endtag(self, tag: str) -> None:
        if self.hiding:
            if tag in self.hiding:  # closes the innermost open element of that name
                index = len(self.hiding) - 1 - self.hiding[::-1].index(tag)
                del self.hiding[index:]
            return
        if tag in _BLOCKS:
            self.end_line()
        elif tag == "q":
            self.line.append("”")

    def handle_data(self, data: str) -> None:
        if not self.hiding:
            self.line.append(data)

    def end_line(self) -> None:
        line = _SPACES.sub(" ", " ".join("".join(self.line).split("\n"))).strip()
        if line:
            self.lines.append(line)
        self.line = []

    def text(self) -> str:
        self.end_line()
        return "\n".join(self.lines)


def _hides(attrs: list[tuple[str, str | None]]) -> bool:
    for name, value in attrs:
        if name == "hidden":
            return True
        if name == "aria-hidden" and (value or "").strip().lower() == "true":
            return True
        if name == "style" and value and _HIDING_STYLE.search(value):
            return True
    return False
