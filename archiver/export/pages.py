"""The pages a package lists: one per cited source, with its memento time and title.

A WACZ's ``pages/pages.jsonl`` is what a replay client shows as the package's contents
(ReplayWeb.page's page list, pywb's collection), and ``archiver serve`` prints the same
pages as addresses to open. A source is a cited URL; the store may hold more than one
capture of it (a memento and, for a link still alive, a copy of the live page), and the
page is the memento (the first one stored), since the memento is the copy of what the
author read; a source with no memento is its live copy. Each page is at the URL a reader
asks for (the cited URL when its captured redirect is stored, else the URL the page was
stored under), at the capture's datetime (for a memento, the datetime the archive stated
for it), with the ``<title>`` of the stored HTML (the URL when it has none).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archiver.storage.manifest import Capture

PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Cited sources"}
_TITLE_BYTES = 256 * 1024  # a <title> is in a page's head


class _TitleParser(HTMLParser):
    """Collects the text of the first ``<title>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.inside = False
        self.done = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "title" and not self.done:
            self.inside = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self.inside:
            self.inside, self.done = False, True

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.parts.append(data)


def html_title(html: str) -> str | None:
    """The text of the first ``<title>`` of ``html``, whitespace collapsed (None if none)."""
    parser = _TitleParser()
    parser.feed(html)
    title = " ".join("".join(parser.parts).split())
    return title or None


def stored_title(path: Path, offset: int) -> str | None:
    """The title of the HTML page in the response record at ``offset`` of ``path``."""
    with open(path, "rb") as stream:
        stream.seek(offset)
        for record in ArchiveIterator(stream):
            headers = record.http_headers
            kind = headers.get_header("content-type", "") if headers else ""
            if "html" not in kind.lower():
                return None
            body = record.content_stream().read(_TITLE_BYTES)
            charset = kind.lower().partition("charset=")[2].split(";")[0].strip() or "utf-8"
            try:
                text = body.decode(charset, errors="replace")
            except LookupError:
                text = body.decode("utf-8", errors="replace")
            return html_title(text)
    return None


def page_url(capture: Capture) -> str:
    """The URL a reader opens for ``capture``: the cited one when it replays."""
    if capture.url == capture.target_uri:
        return capture.url
    if any(r.url == capture.url for r in capture.captured_redirects):
        return capture.url
    return capture.target_uri


def source_captures(captures: Iterable[Capture]) -> list[Capture]:
    """One capture per cited URL, in the order the sources were first stored: the first
    memento of it, else its first capture (a live copy)."""
    chosen: dict[str, Capture] = {}
    for capture in captures:
        kept = chosen.get(capture.url)
        if kept is None or (kept.source != "memento" and capture.source == "memento"):
            chosen[capture.url] = capture
    return list(chosen.values())


@dataclass(frozen=True)
class Page:
    """A cited source as a reader opens it: ``url`` at ``ts`` (ISO 8601, the capture's
    WARC-Date), titled ``title`` (the URL when the stored page has none)."""

    id: str
    url: str
    ts: str
    title: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "url": self.url, "ts": self.ts, "title": self.title}


def cited_pages(captures: Iterable[Capture], path_of: Callable[[str], Path]) -> list[Page]:
    """The page of each cited source among ``captures``; ``path_of`` maps a WARC file's
    name in the manifest to where its bytes are."""
    pages = []
    for capture in source_captures(captures):
        url = page_url(capture)
        title = stored_title(path_of(capture.warc_file), capture.offset)
        page_id = hashlib.sha1(capture.record_id.encode()).hexdigest()[:24]
        pages.append(Page(page_id, url, capture.warc_date, title or url))
    return pages


def pages_jsonl(pages: Sequence[Page]) -> bytes:
    """``pages/pages.jsonl``: the header line, then one line per page."""
    lines = [json.dumps(PAGES_HEADER)]
    lines += [json.dumps(page.to_dict(), ensure_ascii=False) for page in pages]
    return ("\n".join(lines) + "\n").encode("utf-8")
