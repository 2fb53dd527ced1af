"""Which format an article is in, and the parser for each.

The format is taken from the file name or URL when its extension says (``.md``,
``.html``, ``.txt``, ``.wiki``), else from the content: an HTML doctype or enough tags
means HTML, ``{{cite``/``<ref>``/``[[links]]`` mean wikitext, ``[text](url)`` links,
``#`` headings or reference definitions mean Markdown, and anything else is plain
text, which is also the safe reading of anything ambiguous.

Each parser is imported when its format is first parsed: the HTML and wikitext parsers
bring in bs4, lxml and mwparserfromhell, which a Markdown article never needs.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from archiver.extract.blocks import BlockSink, Document

FORMATS = ("markdown", "html", "text", "wikitext")

_BY_EXTENSION = {
    "md": "markdown",
    "markdown": "markdown",
    "mdown": "markdown",
    "mkd": "markdown",
    "mkdn": "markdown",
    "html": "html",
    "htm": "html",
    "xhtml": "html",
    "shtml": "html",
    "txt": "text",
    "text": "text",
    "wiki": "wikitext",
    "wikitext": "wikitext",
    "mediawiki": "wikitext",
    "mw": "wikitext",
}

_SNIFF_CHARS = 50_000
# Each pattern's open-ended part stops where another match could start ("<", "[", "]"), so
# a sample of thousands of unclosed "<p" or "[[" is read in linear time.
_HTML_START = re.compile(r"<(?:!doctype\s+html|html)\b", re.I)
_HTML_TAG = re.compile(
    r"</?(?:p|div|a|span|br|li|ul|ol|h[1-6]|body|head|table|article|section|em|strong)\b[^<>]*>",
    re.I,
)
_WIKI_SIGNS = re.compile(
    r"\{\{\s*(?:cite|citation|dead|reflist)|<ref[\s>/]|\[\[[^\[\]\n]+\]\]|'''|^=+[^=\n]+=+\s*$",
    re.I | re.M,
)
_MARKDOWN_SIGNS = re.compile(
    r"\]\([^)\]\s]+\)|^#{1,6}\s+\S|^\s{0,3}\[[^\]\n]+\]:\s*\S|^\s{0,3}(?:```|~~~)|^>\s|\*\*\S", re.M
)


def detect_format(text: str, source: str | None = None) -> str:
    """One of ``FORMATS`` for ``text``, trusting ``source``'s extension first."""
    by_name = format_from_name(source)
    if by_name:
        return by_name
    sample = text[:_SNIFF_CHARS]
    if _HTML_START.match(_skip_prolog(sample)):
        return "html"
    html_tags = len(_HTML_TAG.findall(sample))
    wiki = len(_WIKI_SIGNS.findall(sample))
    markdown = len(_MARKDOWN_SIGNS.findall(sample))
    if wiki >= 2 and wiki > markdown:
        return "wikitext"
    if markdown and markdown * 2 >= html_tags:
        return "markdown"
    if html_tags >= 3:
        return "html"
    return "text"


def format_from_name(source: str | None) -> str | None:
    """The format a file name or URL's extension names, if any."""
    if not source or source == "-":
        return None
    path = urlsplit(source).path if re.match(r"^[a-z][a-z0-9+.-]*://", source, re.I) else source
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in name:
        return None
    return _BY_EXTENSION.get(name.rsplit(".", 1)[-1].lower())


_handed_over: dict[tuple[str, str, str | None], Document] = {}


def parse_document(
    text: str,
    fmt: str,
    page_url: str | None,
    *,
    keep: bool = False,
    sink: BlockSink | None = None,
) -> Document:
    """Render ``text`` in format ``fmt`` into blocks; ``page_url`` resolves relative links.

    Reading an article parses it to learn its URL and date (``article_facts``), and
    extracting its citations needs the very same parse: ``keep=True`` holds the result for
    the next call with the same arguments, which takes it (it is kept once, not cached, so
    a long article's parse does not outlive its use). Callers must not change the returned
    document. With ``sink`` (not with ``keep``), each block goes to it and the document
    returned has none: Markdown and plain text are parsed block by block, never all held;
    the other formats' blocks are handed on, and let go, one by one once parsed.
    """
    key = (text, fmt, page_url)
    held = _handed_over.pop(key, None)
    if held is None:
        with collector_paused():
            held = _parse(text, fmt, page_url, None if keep else sink)
    if keep:
        _handed_over.clear()
        _handed_over[key] = held
    elif sink is not None and held.blocks:
        blocks = held.blocks
        held.blocks = []
        blocks.reverse()
        while blocks:
            sink(blocks.pop())
    return held


def article_facts(text: str, fmt: str, page_url: str | None) -> tuple[str | None, str | None]:
    """(date, own URL) of an article, as its parse's ``Document`` gives them. Markdown
    and plain text say them in their first lines, read alone: their parse is left to
    what extracts (``archiver check`` streams it); other formats are parsed, and the
    parse kept for that (``parse_document``)."""
    if fmt == "markdown":
        from archiver.extract.markdown import markdown_facts

        _handed_over.clear()
        _, published, url = markdown_facts(text)
        return published, url
    if fmt == "text":
        from archiver.extract.plaintext import plain_text_date

        _handed_over.clear()
        return plain_text_date(text), None
    document = parse_document(text, fmt, page_url, keep=True)
    return document.published, document.url


@contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection inside: parsing a long article makes hundreds of thousands of
    small objects that live until it is done and form no reference cycles, so each pass of
    the collector over them (a tenth of the parse of a link-dense article) finds nothing."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse(text: str, fmt: str, page_url: str | None, sink: BlockSink | None) -> Document:
    if fmt == "markdown":
        from archiver.extract.markdown import parse_markdown

        return parse_markdown(text, page_url, sink)
    if fmt == "html":
        from archiver.extract.html import parse_html

        return parse_html(text, page_url)
    if fmt == "wikitext":
        from archiver.extract.wikitext import parse_wikitext

        return parse_wikitext(text)
    from archiver.extract.plaintext import parse_plain_text

    return parse_plain_text(text, sink)


def page_url(source: str | None) -> str | None:
    """``source`` when it is an http(s) URL: then it is the article's own address."""
    if source and re.match(r"^https?://", source, re.I):
        return source
    return None


def _skip_prolog(text: str) -> str:
    """``text`` from its first tag that is not an XML declaration or a comment."""
    rest = text.lstrip()
    while rest.startswith(("<?", "<!--")):
        closer = "?>" if rest.startswith("<?") else "-->"
        end = rest.find(closer)
        if end < 0:
            return rest
        rest = rest[end + len(closer) :].lstrip()
    return rest
