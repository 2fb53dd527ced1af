"""The extract stage: an article in, its citations out.

An article comes as Markdown, HTML, plain text or wikitext. Each format has a parser
that renders the article into paragraphs of plain text with its links marked
(``blocks``); the rules that turn those into ``Citation`` records (sentence context,
quotes, access dates, dead-link markers, archive links) live once, in ``citations``.

Reading the input is separate from extracting (``article``): ``read_article`` takes a
file or stdin and ``parse_article_bytes`` takes bytes the CLI fetched, and both refuse
binary and undecodable input with a one-line ``InputError``. Extraction itself never
raises on odd content: broken markup yields whatever citations can still be read, and
markup nested past what a parser builds is read all the same (``flathtml``, and
wikitext parsed again). Where even that fails, one line says so: HTML is read up to
where its parser stopped, with a logged warning naming the line; wikitext that
mwparserfromhell would spend hours on is refused with an ``InputError``.

Typical use::

    article = read_article("post.md")
    citations = extract_citations(article.text, article.fmt, source=article.source)
"""

from __future__ import annotations

from collections.abc import Callable

from archiver.errors import InputError
from archiver.extract.article import Article, parse_article_bytes, read_article
from archiver.extract.blocks import Block, Document
from archiver.extract.citations import block_urls, build_citations
from archiver.extract.formats import (
    FORMATS,
    collector_paused,
    detect_format,
    page_url,
    parse_document,
)
from archiver.models import Citation

__all__ = [
    "FORMATS",
    "Article",
    "detect_format",
    "extract_citations",
    "extract_urls",
    "parse_article_bytes",
    "read_article",
]


def extract_citations(
    text: str, fmt: str | None = None, *, source: str | None = None
) -> list[Citation]:
    """Every citation in ``text``, in document order; the same URL twice is two citations.

    ``fmt`` is one of ``FORMATS``; None detects it from ``source`` (a file name or URL)
    and then from the content. When ``source`` is an http(s) URL it is the article's
    address, against which relative links in HTML and Markdown are resolved.
    """
    # Paused over both steps: let go between them, the collector would go over every
    # object the parse made (a twentieth of a second for each 10 MB of Markdown).
    with collector_paused():
        document = _document(text, fmt, source)
        return build_citations(document)


def extract_urls(
    text: str,
    fmt: str | None = None,
    *,
    source: str | None = None,
    sink: Callable[[list[str]], None] | None = None,
) -> list[str]:
    """The ``url`` of each citation ``extract_citations`` gives (those without one left
    out), in the same order, in a half to two thirds of its time (parsing included): the
    sentences, quotes and dates that only the other fields need are not worked out. What
    ``archiver check`` reads. Each block's URLs are taken as the parse finishes it, and the
    block let go (``parse_document``'s ``sink``): a long Markdown or plain-text article's
    parse is never all held, only its URLs. With ``sink``, not even those: they go to it a
    few blocks' worth at a time, as they are found (while the rest is parsed), and the
    list returned is empty."""
    urls: list[str] = []
    parsed: list[Block] = []

    def take(block: Block) -> None:
        nonlocal urls
        parsed.append(block)
        if len(parsed) >= _BLOCKS_AT_ONCE:
            _take_urls(parsed, urls)
            if sink is not None and urls:
                sink(urls)
                urls = []

    with collector_paused():
        parse_document(text, _format(text, fmt, source), page_url(source), sink=take)
        _take_urls(parsed, urls)
    if sink is not None:
        sink(urls)
        return []
    return urls


# Blocks whose URLs are taken together. One at a time, as each is parsed, was 12% slower
# on prose (10 MB, bench/extract_bench.py's shape) than all after the parse: the parser
# and the citation rules took turns for every block. 64 at a time is as fast as either.
_BLOCKS_AT_ONCE = 64


def _take_urls(blocks: list[Block], urls: list[str]) -> None:
    """Add the URLs of ``blocks`` to ``urls``, and let the blocks go."""
    for block in blocks:
        urls.extend(block_urls(block))
    blocks.clear()


def _document(text: str, fmt: str | None, source: str | None) -> Document:
    return parse_document(text, _format(text, fmt, source), page_url(source))


def _format(text: str, fmt: str | None, source: str | None) -> str:
    chosen = fmt if fmt is not None else detect_format(text, source)
    if chosen not in FORMATS:
        raise InputError(f"unknown article format {chosen!r}; expected one of {', '.join(FORMATS)}")
    return chosen
