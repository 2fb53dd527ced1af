"""Wikitext: citation templates, external links and dead-link tags, as on Wikipedia.

Parsed with mwparserfromhell, because citation templates nest (a title with a
``{{lang}}`` in it, a ``{{dead link}}`` inside a ``<ref>``) and regexes get that wrong.

- ``{{cite web}}``, ``{{cite news}}``, any ``{{cite ...}}`` and ``{{citation}}`` give
  url, title (the anchor text), ``access-date`` (the citation date), ``archive-url`` /
  ``archive-date``, ``quote``; ``url-status=dead`` (or the older ``dead-url=yes``) is
  kept as the marker, as written.
- ``[http://x text]`` and bare URLs are links; ``[[wikilinks]]`` are not (they stay on
  the wiki) and render as their text.
- ``{{dead link}}`` (and its aliases) right after a link marks that link dead; on its own
  it is a marker citation without a URL. ``{{webarchive}}`` / ``{{wayback}}`` after a
  link give that link its archive copy.
- A ``<ref>`` takes no room in the rendered text, so its citations get the sentence the
  footnote is attached to as their context. Other templates render as nothing, except
  ``{{quote}}``-style templates, which render as a blockquote.

Wikitext has no publication date of its own; citations without an access date get none.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

import mwparserfromhell
from mwparserfromhell.nodes import (
    Comment,
    ExternalLink,
    Heading,
    HTMLEntity,
    Tag,
    Template,
    Text,
    Wikilink,
)
from mwparserfromhell.parser import ParserError

from archiver.archives.urls import parse_archive_url
from archiver.extract.bareurls import trim_url
from archiver.extract.blocks import BlockBuilder, Document, Link, Marker
from archiver.extract.datetext import parse_date
from archiver.extract.hrefs import resolve_href
from archiver.extract.markers import DEAD_LINK_TEMPLATES
from archiver.extract.plaintext import parse_plain_text

_LIST_MARKUP = frozenset({"*", "#", ":", ";"})
_NOT_PROSE_WORDS = """
    references gallery math chem score syntaxhighlight source pre code timeline
    templatedata imagemap graph mapframe hiero poem categorytree
"""
_NOT_PROSE = frozenset(_NOT_PROSE_WORDS.split())
_BLOCK_TAGS = frozenset({"table", "tr", "td", "th", "caption", "p", "div", "center", "ul", "ol"})
_HIDDEN_LINK_PREFIXES = ("file:", "image:", "category:", "media:")
_QUOTE_TEMPLATES = frozenset({"quote", "blockquote", "cquote", "quote box", "quotation"})
_ARCHIVE_TEMPLATES = frozenset({"webarchive", "wayback", "web archive"})
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*|\n")
_DEAD_STATUS = frozenset({"dead", "yes", "y", "true"})


def parse_wikitext(text: str) -> Document:
    try:
        code = mwparserfromhell.parse(text)
    except ParserError:  # never seen in practice; plain text still finds URLs and markers
        return parse_plain_text(text)
    walker = _Walker(text)
    walker.walk(code, 0)
    walker.builder.flush()
    return Document(walker.builder.blocks)


class _Walker:
    def __init__(self, text: str) -> None:
        self.builder = BlockBuilder()
        self.lengths: dict[int, int] = {}
        self.line_starts = [0] + [index + 1 for index, char in enumerate(text) if char == "\n"]
        self.ends_at_newline = False  # list items, table rows and headings end at a newline

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset)

    def walk(self, code: Any, offset: int) -> None:
        for node in code.nodes:
            self.node(node, offset)
            offset += self.length(node)

    def length(self, node: Any) -> int:
        """``len(str(node))``, without re-serialising nested tags at every level.

        HTML-heavy wikitext nests tags deeply, and ``str()`` of a tag rebuilds all of its
        contents; measuring tags from their parts with memoised children keeps the walk
        linear in the size of the input.
        """
        key = id(node)
        known = self.lengths.get(key)
        if known is None:
            if isinstance(node, Tag) and not node.self_closing and node.contents is not None:
                known = (
                    _opening_length(node)
                    + sum(self.length(child) for child in node.contents.nodes)
                    + _closing_length(node)
                )
            else:
                known = len(str(node))
            self.lengths[key] = known
        return known

    def node(self, node: Any, offset: int) -> None:
        if isinstance(node, Text):
            self.text(str(node), offset)
        elif isinstance(node, Tag):
            self.tag(node, offset)
        elif isinstance(node, Template):
            self.template(node, offset)
        elif isinstance(node, ExternalLink):
            self.external_link(node, offset)
        elif isinstance(node, Wikilink):
            title = str(node.title).strip().lstrip(":")
            if not title.lower().startswith(_HIDDEN_LINK_PREFIXES):
                shown = node.text.strip_code().strip() if node.text is not None else title
                self.builder.add_text(shown, self.line_of(offset))
        elif isinstance(node, Heading):
            self.new_block()
            self.walk(node.title, offset + node.level)
            self.new_block()
        elif isinstance(node, HTMLEntity):
            self.builder.add_text(node.normalize(), self.line_of(offset))
        elif isinstance(node, Comment):
            pass
        # Arguments ({{{1}}}) and anything newer render as nothing.

    def text(self, value: str, offset: int) -> None:
        position = 0
        for match in _PARAGRAPH_BREAK.finditer(value):
            self.builder.add_text(value[position : match.start()], self.line_of(offset + position))
            if self.ends_at_newline or match.group(0).count("\n") > 1:
                self.new_block()
            else:
                self.builder.add_text("\n", self.line_of(offset + match.start()))
            position = match.end()
        self.builder.add_text(value[position:], self.line_of(offset + position))

    def new_block(self, kind: str = "paragraph") -> None:
        self.builder.flush(next_kind=kind)
        self.ends_at_newline = False

    def tag(self, node: Any, offset: int) -> None:
        name = str(node.tag).strip().lower()
        if node.wiki_markup in _LIST_MARKUP:
            self.new_block()
            self.ends_at_newline = True
            return
        if name in _NOT_PROSE or node.self_closing or node.contents is None:
            if name in ("br", "hr"):
                self.builder.add_text(" ", self.line_of(offset))
            return
        contents_offset = offset + _opening_length(node)
        if name == "ref":
            self.builder.silent += 1
            self.walk(node.contents, contents_offset)
            self.builder.silent -= 1
        elif name == "blockquote":
            self.new_block("blockquote")
            self.walk(node.contents, contents_offset)
            self.new_block()
        elif name in _BLOCK_TAGS:
            self.new_block()
            self.walk(node.contents, contents_offset)
            self.new_block()
        else:
            self.walk(node.contents, contents_offset)

    def external_link(self, node: Any, offset: int) -> None:
        raw = str(node.url).strip()
        url = _absolute(raw if node.brackets else trim_url(raw))
        title = node.title.strip_code().strip() if node.title is not None else ""
        shown = title or ("" if node.brackets else raw)
        start = self.builder.position
        self.builder.add_text(shown, self.line_of(offset))
        if url:
            self.builder.add_link(
                Link(url, title or url, start, self.builder.position, self.line_of(offset))
            )

    def template(self, node: Any, offset: int) -> None:
        name = " ".join(str(node.name).replace("_", " ").split()).lower()
        name = name.removeprefix("template:")
        if name.startswith("cite") or name == "citation":
            self.cite(node, offset)
        elif name in DEAD_LINK_TEMPLATES:
            position = self.builder.position
            self.builder.add_marker(Marker(str(node), position, position, self.line_of(offset)))
        elif name in _ARCHIVE_TEMPLATES:
            self.archive_copy(node, name)
        elif name in _QUOTE_TEMPLATES:
            quote = _param(node, "text", "quote", "1")
            if quote:
                self.new_block("blockquote")
                self.builder.add_text(quote, self.line_of(offset))
                self.new_block()

    def cite(self, node: Any, offset: int) -> None:
        url_text = _param(node, "url", "chapter-url", "chapterurl") or ""
        archive_url = _param(node, "archive-url", "archiveurl") or None
        url = _absolute(url_text) or (_absolute(archive_url) if archive_url else None)
        if url is None:
            return
        title = _param(node, "title", "script-title", "trans-title", "chapter", "website", "work")
        access = _param(node, "access-date", "accessdate", "access_date")
        archive_date = _param(node, "archive-date", "archivedate")
        archived_day = parse_date(archive_date) if archive_date else None
        line = self.line_of(offset)
        start = self.builder.position
        self.builder.add_text(title or "", line)
        self.builder.add_link(
            Link(
                url,
                title or url,
                start,
                self.builder.position,
                line,
                quote=_param(node, "quote") or None,
                accessed=parse_date(access) if access else None,
                archive_url=archive_url,
                archived_at=f"{archived_day}T00:00:00Z" if archived_day else None,
                marker=_dead_status(node),
            )
        )

    def archive_copy(self, node: Any, name: str) -> None:
        """Give the link just before ``{{webarchive}}``/``{{wayback}}`` its archived copy."""
        link = self.builder.last_link
        if link is None or link.archive_url:
            return
        url = _param(node, "url", "1")
        date = _param(node, "date", "2")
        if not url:
            return
        if name == "wayback":  # url= is the original; date= a Wayback timestamp
            stamp = date if date and date.isdigit() else "*"
            archive_url = f"https://web.archive.org/web/{stamp}/{url}"
        else:
            archive_url = url
        parsed = parse_archive_url(archive_url)
        link.archive_url = archive_url
        link.archived_at = parsed.archived_at if parsed else None


def _opening_length(tag: Any) -> int:
    """Characters before a tag's contents (mirrors ``Tag.__str__``)."""
    attributes = sum(len(str(attribute)) for attribute in tag.attributes)
    padding = len(tag.padding or "")
    if tag.wiki_markup:
        return len(tag.wiki_markup) + attributes + padding + len(tag.wiki_style_separator or "")
    return (3 if tag.invalid else 2) + len(str(tag.tag)) + attributes + padding


def _closing_length(tag: Any) -> int:
    if tag.wiki_markup:
        return len(tag.closing_wiki_markup or "")
    return 3 + len(str(tag.closing_tag))


_URL_PARAMETERS = frozenset({"url", "chapter-url", "chapterurl", "archive-url", "archiveurl"})


def _param(node: Any, *names: str) -> str:
    """The first of ``names`` that the template sets, as plain text ("" if none).

    URLs are taken as written (minus comments); other values with markup stripped.
    """
    for name in names:
        if node.has(name):
            value = node.get(name).value
            if name in _URL_PARAMETERS:
                text = "".join(str(n) for n in value.nodes if not isinstance(n, Comment))
            else:
                text = value.strip_code()
            if text.strip():
                return " ".join(text.split())
    return ""


def _dead_status(node: Any) -> str | None:
    for name in ("url-status", "dead-url", "deadurl"):
        if node.has(name):
            parameter = node.get(name)
            if str(parameter.value).strip().lower() in _DEAD_STATUS:
                return f"{str(parameter.name).strip()}={str(parameter.value).strip()}"
    return None


def _absolute(url: str) -> str | None:
    value = url.strip()
    if value.startswith("//"):
        value = "https:" + value
    return resolve_href(value, None)
