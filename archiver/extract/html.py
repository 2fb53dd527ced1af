"""HTML: the links in an article page, in the text a reader sees around them.

Parsed with lxml's HTML parser, the lenient libxml2 parser that BeautifulSoup also uses
for speed. We read lxml's elements directly because they keep their source line
(BeautifulSoup's lxml tree builder drops it), and a citation's line is what lets a repair
of the article find it again. The page is read from the parser's start and end events,
never holding its whole tree (a 50 MB page's tree alone took 290 MB): a first pass for
what the page says about itself (``htmlfacts``: its base, its own URL and its date, which
decide how every link is read), a second for its text, each element let go once read.
Where the parser reports a fatal error the whole tree is read instead: a page nested
deeper than libxml2 builds trees is read flattened (``flathtml``); one still too deep is
read up to where the parser stopped, and a logged warning says where.

Citations: ``<a href>`` (made absolute against ``<base href>`` or the article's URL;
mailto:, javascript:, same-page anchors and links back to the article itself are not
citations; Robust Link attributes give its archived snapshot and date, see
``robustlinks``), ``<q cite>`` (its words are both the anchor text and the quote; they are
rendered inside curly quotes, as browsers show them), ``<blockquote cite>`` (the whole
blockquote is the quote, its first sentence the context, and the URL stands in for the
anchor text it does not have), and URLs written out in the text outside links and code.
Not read: ``<script>``, ``<style>``, ``<head>``, forms' controls, and ``<nav>``,
``<header>``, ``<footer>`` (and elements with the matching ARIA roles), whose links are
site navigation and bylines rather than sources.

The page's own URL comes from ``<link rel=canonical>`` or ``og:url``; its date from
``article:published_time`` and similar meta tags, JSON-LD ``datePublished``,
``<time datetime>``, or a "Published ..." line near the top of the text.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

from lxml import etree, html  # type: ignore[import-untyped]

from archiver.extract.bareurls import find_bare_urls
from archiver.extract.blocks import BlockBuilder, Document, Link
from archiver.extract.flathtml import flatten_html
from archiver.extract.hrefs import resolve_href
from archiver.extract.htmlfacts import PageFacts, read_tree
from archiver.extract.robustlinks import ATTRIBUTES as ROBUST_ATTRIBUTES
from archiver.extract.robustlinks import RobustLink, read_robust_link

# huge_tree: without it libxml2 stops at 256 levels of elements or a 10 MB text (a page's
# inline JSON, a data: URI) and drops the rest of the page; with it, at 2,048 levels,
# beyond which the page is flattened (flathtml) and read again.
_PARSER = html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)
log = logging.getLogger(__name__)

_SKIPPED_WORDS = """
    head script style noscript template nav header footer svg math iframe object embed
    canvas audio video button select textarea option datalist
"""
_SKIPPED = frozenset(_SKIPPED_WORDS.split())
_SKIPPED_ROLES = frozenset({"navigation", "banner", "contentinfo"})
_NO_ATTRIBUTES: dict[str, str] = {}
_BLOCKS_WORDS = """
    address article aside body center dd details dialog dir div dl dt fieldset figcaption
    figure h1 h2 h3 h4 h5 h6 hgroup hr html legend li main menu ol p pre section summary
    table caption thead tbody tfoot tr td th ul
"""
_BLOCKS = frozenset(_BLOCKS_WORDS.split())
_LITERAL = frozenset({"pre", "code", "kbd", "samp", "tt"})  # no bare-URL reading inside
# Elements the walk reads for more than where a block begins and ends (see flathtml).
_KEPT_WORDS = "html body a q blockquote br img time meta link base"
_KEPT = _SKIPPED | _LITERAL | frozenset(_KEPT_WORDS.split())
_QUOTE_LIMIT = 1_500  # characters of a <q cite>'s words kept as its quote


def parse_html(text: str, page_url: str | None = None) -> Document:
    if not text.strip():
        return Document([])
    data = text.encode("utf-8", "surrogatepass")
    streamed = _streamed(data, page_url)
    return streamed if streamed is not None else _from_tree(text, data, page_url)


def _from_tree(text: str, data: bytes, page_url: str | None) -> Document:
    """``parse_html`` from the page's whole tree: where the parser stopped early, or
    nested the page too deep (then read flattened), and the warning says so."""
    try:
        root, stopped = _tree(data)
        if stopped is not None and "depth" in stopped.message.lower():
            root, stopped = _tree(
                flatten_html(text, _BLOCKS, _KEPT).encode("utf-8", "surrogatepass")
            )
    except (etree.ParserError, ValueError):
        return Document([])
    if stopped is not None:
        log.warning("%s", _cut_message(stopped, page_url))
    facts = PageFacts()
    read_tree(root, facts)
    own_url = facts.own_url(page_url)
    page = page_url or own_url
    walker = _Walker(facts.base(page), page)
    walker.walk(etree.iterwalk(root, events=("start", "end")))
    return Document(walker.builder.blocks, published=facts.published(), url=own_url)


def _streamed(data: bytes, page_url: str | None) -> Document | None:
    """``parse_html`` without ever holding the page's whole tree: two passes over the
    parser's events, the first for what the page says about itself (``PageFacts``), the
    second for the text, each element let go once read. None when the parser reported a
    fatal error (the page was cut, or nested too deep) or built nothing: the tree is read
    then, as before, and says so."""
    parser = etree.HTMLParser(
        target=PageFacts(), encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True
    )
    try:
        facts = etree.fromstring(data, parser)
    except etree.LxmlError:
        return None
    if _failed(parser) or not facts.elements:
        return None
    own_url = facts.own_url(page_url)
    page = page_url or own_url
    walker = _Walker(facts.base(page), page)
    events = _events(data)
    walker.walk(_one_behind(events), release=True)
    if _failed(events):
        return None
    return Document(walker.builder.blocks, published=facts.published(), url=own_url)


def _events(data: bytes) -> Any:
    return etree.iterparse(
        io.BytesIO(data),
        events=("start", "end"),
        html=True,
        encoding="utf-8",
        remove_comments=True,
        remove_pis=True,
        huge_tree=True,
    )


def _one_behind(events: Any) -> Iterator[tuple[str, Any]]:
    """The parser's events, each given once the next has come: an element's text (and
    its tail) is whole only once the parser has read past it."""
    previous = None
    for current in events:
        if previous is not None:
            yield previous
        previous = current
    if previous is not None:
        yield previous


def _failed(reader: Any) -> bool:
    """Whether the parser behind ``reader`` (a parser or its events) gave up early."""
    return any(error.level == etree.ErrorLevels.FATAL for error in reader.error_log)


def _release(element: Any) -> None:
    """Let go of an element read to its end: its children, and the siblings before it."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _tree(data: bytes) -> tuple[Any, Any]:
    """The document's tree, and the error that made libxml2 stop early (None if none)."""
    root = html.document_fromstring(data, parser=_PARSER)
    fatal = [e for e in _PARSER.error_log if e.level == etree.ErrorLevels.FATAL]
    return root, (fatal[0] if fatal else None)


def _cut_message(error: Any, page_url: str | None) -> str:
    """One line saying where the document was cut and why."""
    if "depth" in error.message.lower():
        levels = re.search(r"\d+", error.message)
        reason = "elements nested deeper than the parser builds trees"
        reason += f" ({int(levels.group()):,} levels)" if levels else ""
    else:
        reason = "the parser stopped: " + error.message.strip().rstrip(".")
    where = f"{page_url}: " if page_url else ""
    return f"{where}HTML cut at line {error.line}, {reason}; citations after it were not read"


class _Walker:
    """Renders the tree into blocks, one pass over start and end events."""

    def __init__(self, base: str | None, page: str | None) -> None:
        self.base = base
        self.page = page
        self.builder = BlockBuilder()
        self.line = 1
        self.quote_depth = 0
        self.anchor_depth = 0
        self.literal_depth = 0
        self.quoting: list[_QuoteWords] = []  # of the <q cite> open, those that want more

    def walk(self, events: Iterable[tuple[str, Any]], release: bool = False) -> None:
        """Read the start and end events of a tree (``release``: letting go of each
        element once read, unless an open link still needs its text)."""
        frames: list[tuple[str, Any]] = []
        skipping = 0  # how deep inside a skipped element
        for event, element in events:
            if skipping:
                skipping += 1 if event == "start" else -1
                if skipping:
                    continue
                if self.quoting and isinstance(element.tag, str):
                    self._quoted(_text_content(element))  # a quote's words, unread
            if event == "start":
                frame = self._start(element)
                frames.append(frame)
                if frame[0] == "skip":
                    skipping = 1
                else:
                    self._text(element.text)
                continue
            self._end(element, frames.pop())
            self._text(element.tail)
            if release and not self.anchor_depth:
                _release(element)
        self.builder.flush()

    def _start(self, element: Any) -> tuple[str, Any]:
        tag = element.tag
        if not isinstance(tag, str):
            return ("skip", None)
        if element.sourceline:
            self.line = element.sourceline
        # One call for all the attributes (most elements have none) instead of one a name.
        written = element.items()
        attributes = dict(written) if written else _NO_ATTRIBUTES
        role = (attributes.get("role") or "").strip().lower()
        if tag in _SKIPPED or role in _SKIPPED_ROLES or attributes.get("hidden") is not None:
            return ("skip", None)
        if tag == "blockquote":
            cite = self._resolve(attributes.get("cite"))
            if self.quote_depth == 0:
                self.builder.flush(next_kind="blockquote")
            else:
                self._separate()
            self.quote_depth += 1
            return ("blockquote", (cite, self.line))
        if tag in _BLOCKS:
            self._separate()
            if tag in _LITERAL:
                self.literal_depth += 1
            return ("block", tag)
        if tag == "a":
            url, robust = self._anchor(attributes) if self.anchor_depth == 0 else (None, None)
            self.anchor_depth += 1
            return ("a", (url, robust, self.builder.position, self.line))
        if tag == "q":
            self.builder.add_text("“", self.line)
            cite = self._resolve(attributes.get("cite"))
            words = _QuoteWords() if cite else None
            if words is not None:
                self.quoting.append(words)
            return ("q", (cite, words, self.builder.position, self.line))
        if tag == "br":
            self.builder.add_text(" ", self.line)
        if tag in _LITERAL:
            self.literal_depth += 1
            return ("literal", None)
        return ("inline", None)

    def _end(self, element: Any, frame: tuple[str, Any]) -> None:
        kind, data = frame
        if kind == "blockquote":
            self.quote_depth -= 1
            if self.quote_depth == 0:
                cite, line = data
                if cite:
                    quote = " ".join(self.builder.text_so_far().split())
                    self.builder.add_link(Link(cite, cite, 0, 0, line, quote=quote or None))
                    self.builder.mark_quote_cited()
                self.builder.flush()
            else:
                self._separate()
        elif kind == "block":
            if data in _LITERAL:
                self.literal_depth -= 1
            self._separate()
        elif kind == "literal":
            self.literal_depth -= 1
        elif kind == "a":
            self.anchor_depth -= 1
            url, robust, start, line = data
            if url:
                text = _anchor_text(element) or url
                end = self.builder.position
                self.builder.add_link(
                    robust.link(text, start, end, line)
                    if robust
                    else Link(url, text, start, end, line)
                )
        elif kind == "q":
            cite, words, start, line = data
            end = self.builder.position
            self.builder.add_text("”", self.line)
            if cite:
                if words in self.quoting:
                    self.quoting.remove(words)
                quote = words.text()
                self.builder.add_link(
                    Link(cite, quote or cite, start, end, line, quote=quote or None)
                )

    def _anchor(self, attributes: dict[str, str]) -> tuple[str | None, RobustLink | None]:
        """The URL an ``<a>`` cites, and what its Robust Link attributes say, if any."""
        href = attributes.get("href")
        if len(attributes) == 1 and href is not None:  # most links: an href, nothing else
            return self._resolve(href), None
        original, version, date = (attributes.get(name) for name in ROBUST_ATTRIBUTES)
        if original is None and version is None and date is None:
            return self._resolve(href), None
        robust = read_robust_link(href, original, version, date, self._resolve)
        return (robust.url if robust else None), robust

    def _separate(self) -> None:
        """A block boundary: inside a blockquote only a space, so the quote stays whole."""
        if self.quote_depth:
            self.builder.add_text(" ", self.line)
        else:
            self.builder.flush()

    def _quoted(self, text: str) -> None:
        """``text`` is part of every ``<q cite>`` open: give it to those that want more."""
        self.quoting = [words for words in self.quoting if words.add(text)]

    def _text(self, text: str | None) -> None:
        if not text:
            return
        if self.quoting:
            self._quoted(text)
        start = self.builder.position
        self.builder.add_text(text, self.line)
        if self.anchor_depth == 0 and self.literal_depth == 0 and "://" in text:
            line = self.line
            counted_to = 0
            for url_start, url_end, url in find_bare_urls(text):
                line += text.count("\n", counted_to, url_start)
                counted_to = url_start
                resolved = resolve_href(url, None, self.page)
                if resolved:
                    self.builder.add_link(
                        Link(resolved, url, start + url_start, start + url_end, line)
                    )
        self.line += text.count("\n")

    def _resolve(self, href: str | None) -> str | None:
        return resolve_href(href, self.base, self.page) if href else None


class _QuoteWords:
    """The words of a ``<q cite>`` (its text content) as the walk reads them.

    Only the first ``_QUOTE_LIMIT`` characters are kept, and a longer quote is cut between
    words with "…" (which passage matching reads as an elision): a thousand quotations
    nested in one another would each hold all the words inside them, and reading each
    one's text from the tree would build the innermost text a thousand times.
    """

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.length = 0

    def add(self, text: str) -> bool:
        """Take ``text``; whether more is wanted."""
        self.pieces.append(text[: _QUOTE_LIMIT + 1 - self.length])
        self.length += len(text)
        return self.length <= _QUOTE_LIMIT

    def text(self) -> str:
        words = " ".join("".join(self.pieces).split())
        if self.length <= _QUOTE_LIMIT:
            return words
        return (words[: words.rfind(" ")] if " " in words else words) + " …"


def _anchor_text(element: Any) -> str:
    text = " ".join(_text_content(element).split())
    if text:
        return text
    for image in element.iter("img"):
        alt = " ".join((image.get("alt") or "").split())
        if alt:
            return alt
    return ""


def _text_content(element: Any) -> str:
    """All the text inside ``element`` (lxml.html's ``text_content``, for any element)."""
    if len(element) == 0:  # most links: only their text, read without an iterator
        return element.text or ""
    return "".join(element.itertext())
