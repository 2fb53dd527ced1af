"""The pages a package lists: one per stored capture of a cited source, with its title.

A WACZ's ``pages/pages.jsonl`` is what a replay client shows as the package's contents
(ReplayWeb.page's page list, pywb's collection). Each capture in the manifest serves one
or more citations, so each is a page: at the URL a reader asks for (the cited URL when
its captured redirect is stored, else the URL the page was stored under), at the
capture's datetime (for a memento, the datetime the archive stated for it), with the
``<title>`` of the stored HTML (the URL when it has none).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
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


def pages_jsonl(captures: Sequence[Capture], titles: Sequence[str | None]) -> bytes:
    """``pages/pages.jsonl``: the header line, then one page per capture."""
    lines = [json.dumps(PAGES_HEADER)]
    for capture, title in zip(captures, titles, strict=True):
        url = page_url(capture)
        page = {
            "id": hashlib.sha1(capture.record_id.encode()).hexdigest()[:24],
            "url": url,
            "ts": capture.warc_date,
            "title": title or url,
        }
        lines.append(json.dumps(page, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")
