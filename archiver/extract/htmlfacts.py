"""What an HTML page says about itself: its own URL, its ``<base>`` and its date.

Gathered from the parser's start and end events (``PageFacts.see``), so that a page is
read without holding its whole tree: the facts may come from anywhere in the page, and
they decide how every link is read (``html.parse_html`` reads them in a first pass).
An element's attributes are read at its start, its text at its end (with the events
one behind the parser's, its text before its first child is complete at its start).

- The page's own URL: the first ``<link rel=canonical>`` with an href that resolves,
  else the first ``og:url`` meta tag.
- Its base: the first ``<base href>`` that resolves, else the page's URL.
- Its date: ``article:published_time`` and similar meta tags (in the order of
  ``_PUBLISHED_META``), JSON-LD ``datePublished``, ``<time datetime>`` (those marked as
  the publication's first), or a "Published ..." line among the first lines of
  ``<body>``'s text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from archiver.extract.datetext import parse_date, published_date_from_lines
from archiver.extract.hrefs import resolve_href
from archiver.jsontext import parse_json

_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.date",
    "dcterms.issued",
    "dcterms.created",
    "citation_publication_date",
    "citation_date",
    "pubdate",
    "publishdate",
    "publish-date",
    "parsely-pub-date",
    "sailthru.date",
)
_PUBLISHED_NAMES = frozenset(_PUBLISHED_META)
_HEADER_LINES = 200


class PageFacts:
    """The facts of one page, gathered as a parser target: lxml calls ``start``, ``data``
    and ``end`` as it reads the page, and builds no tree (``read_tree`` gives it a tree's
    elements in the same order)."""

    def __init__(self) -> None:
        self.canonical: list[str | None] = []  # hrefs of <link rel=canonical>
        self.og_urls: list[str | None] = []
        self.bases: list[str] = []
        self.metas: list[tuple[str, str]] = []  # (name, content) of date meta tags
        self.json_ld: list[str] = []
        self.preferred_time: str | None = None
        self.any_time: str | None = None
        self.lines = _Lines(_HEADER_LINES)
        self.elements = 0
        self.depth = 0
        self.body_seen = False
        self.in_body = False
        self.script: list[str] | None = None  # the text of an open JSON-LD script

    def start(self, tag: str, attrib: Any) -> None:
        self.elements += 1
        self.depth += 1
        if tag == "body" and self.depth == 2 and not self.body_seen:
            self.body_seen = self.in_body = True
        elif tag == "link":
            if "canonical" in (attrib.get("rel") or "").lower().split():
                self.canonical.append(attrib.get("href"))
        elif tag == "meta":
            if (attrib.get("property") or attrib.get("name") or "").strip().lower() == "og:url":
                self.og_urls.append(attrib.get("content"))
            key = attrib.get("property") or attrib.get("name") or attrib.get("itemprop") or ""
            key = key.strip().lower()
            if key in _PUBLISHED_NAMES:
                self.metas.append((key, attrib.get("content") or ""))
        elif tag == "base":
            href = attrib.get("href")
            if href:
                self.bases.append(href)
        elif tag == "time":
            written = attrib.get("datetime") or ""
            if attrib.get("pubdate") is not None or attrib.get("itemprop") == "datePublished":
                self.preferred_time = self.preferred_time or parse_date(written)
            self.any_time = self.any_time or parse_date(written)
        elif tag == "script":
            json_ld = (attrib.get("type") or "").strip().lower() == "application/ld+json"
            self.script = [] if json_ld else None

    def data(self, text: str) -> None:
        if self.in_body:
            self.lines.add(text)
        if self.script is not None:
            self.script.append(text)

    def end(self, tag: str) -> None:
        if self.in_body and self.depth == 2:
            self.in_body = False  # the <body> itself ends
        self.depth -= 1
        if self.script is not None and tag == "script":
            text = "".join(self.script)
            if text:
                self.json_ld.append(text)
            self.script = None

    def close(self) -> PageFacts:
        return self

    def own_url(self, page_url: str | None) -> str | None:
        for candidate in [*self.canonical, *self.og_urls]:
            if candidate:
                resolved = resolve_href(candidate, page_url)
                if resolved:
                    return resolved
        return None

    def base(self, page: str | None) -> str | None:
        for href in self.bases:
            resolved = resolve_href(href, page)
            if resolved:
                return resolved
        return page

    def published(self) -> str | None:
        for name in _PUBLISHED_META:
            for key, content in self.metas:
                if key == name:
                    found = parse_date(content)
                    if found:
                        return found
        for text in self.json_ld:
            try:
                data = parse_json(text)
            except ValueError:
                continue
            for value in _json_values(data, "datePublished"):
                found = parse_date(value)
                if found:
                    return found
        if self.preferred_time or self.any_time:
            return self.preferred_time or self.any_time
        if not self.body_seen:
            return None
        return published_date_from_lines(self.lines.result())


def read_tree(root: Any, facts: PageFacts) -> None:
    """Give ``facts`` the elements of a tree, as a parser would."""
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(element.tag, str):
            continue
        if event == "start":
            facts.start(element.tag, element.attrib)
            if element.text:
                facts.data(element.text)
        else:
            facts.end(element.tag)
            if element.tail:
                facts.data(element.tail)


class _Lines:
    """The first ``count`` lines of a text that are not blank, from its pieces in order,
    kept only as far as they go (the text of a 50 MB page is not built to look at its top)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.lines: list[str] = []
        self.partial = ""
        self.full = False

    def add(self, piece: str | None) -> None:
        if self.full or not piece:
            return
        *complete, self.partial = (self.partial + piece).split("\n")
        self.lines.extend(line for line in complete if line.strip())
        if len(self.lines) >= self.count:
            del self.lines[self.count :]
            self.full = True

    def result(self) -> list[str]:
        if self.full or not self.partial.strip():
            return self.lines
        return [*self.lines, self.partial][: self.count]


def _json_values(data: Any, key: str, depth: int = 0) -> Iterator[str]:
    """Every string value under ``key`` anywhere in parsed JSON (JSON-LD nests freely)."""
    if depth > 20:
        return
    if isinstance(data, dict):
        for name, value in data.items():
            if name == key and isinstance(value, str):
                yield value
            else:
                yield from _json_values(value, key, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _json_values(value, key, depth + 1)
