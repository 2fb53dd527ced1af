"""XML inputs read as a stream: MediaWiki XML dumps (``pages-articles*.xml``, also
``.bz2`` and ``.gz``) page by page, and sitemaps (``urlset`` or ``sitemapindex``).

Nothing here holds more than one page: lxml's ``iterparse`` builds each ``<page>``, we
take its title and wikitext, then clear it and drop it from its parent, so a dump of any
size is read in the memory of its largest page. Entities are not expanded and nothing is
fetched by the parser (a dump or sitemap is data, not a document to resolve).
"""

from __future__ import annotations

import bz2
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lxml import etree  # type: ignore[import-untyped]

from archiver.errors import InputError

# How far into a file we look for its first element to tell a dump from a sitemap.
_SNIFF_BYTES = 65536
_FIRST_ELEMENT = re.compile(rb"<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s>/]")
# Main namespace only: talk pages, user pages and templates cite nothing a reader sees.
ARTICLE_NAMESPACE = "0"


@dataclass(frozen=True, slots=True)
class WikiPage:
    """One article of a dump: its title, its address on the wiki (when the dump's
    ``<siteinfo><base>`` says where the wiki is), its latest revision's time and text."""

    title: str
    url: str | None
    revised_at: str | None
    text: str


def open_maybe_compressed(path: Path) -> io.BufferedIOBase:
    """The file's bytes, inflated on the fly when its name ends in ``.bz2`` or ``.gz``."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".bz2":
            return bz2.BZ2File(path, "rb")
        if suffix == ".gz":
            return gzip.GzipFile(path, "rb")
        return path.open("rb")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None


def root_element(path: Path) -> str | None:
    """The local name of the file's first element (``mediawiki``, ``urlset``,
    ``sitemapindex``, ...), or None when it is not XML we can tell."""
    try:
        with open_maybe_compressed(path) as stream:
            head = stream.read(_SNIFF_BYTES)
    except (OSError, EOFError, ValueError) as error:  # a damaged .bz2/.gz
        raise InputError(f"cannot read {path}: {error}") from None
    for match in _FIRST_ELEMENT.finditer(head):
        start = match.start()
        if head[start + 1 : start + 2] in (b"?", b"!"):
            continue
        return match.group(2).decode("ascii")
    return None


def _parser_events(stream: io.BufferedIOBase, tags: tuple[str, ...]) -> Any:
    return etree.iterparse(
        stream,
        events=("end",),
        tag=tags,
        resolve_entities=False,
        no_network=True,
        huge_tree=True,  # a page's text may be over lxml's 10 MB default
        remove_comments=True,
    )


def _drop(element: Any) -> None:
    """Free what the parser built so far: the element and every sibling before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _child_text(element: Any, name: str) -> str | None:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return child.text or ""
    return None


def _page_url(base: str | None, title: str) -> str | None:
    """``https://en.wikipedia.org/wiki/Main_Page`` and "Alan Turing" give
    ``https://en.wikipedia.org/wiki/Alan_Turing``, as MediaWiki writes its links."""
    if not base or "/" not in base:
        return None
    return base.rsplit("/", 1)[0] + "/" + quote(title.replace(" ", "_"), safe="/:@!$&'()*+,;=")


def read_dump(
    path: Path, *, namespaces: frozenset[str] = frozenset({ARTICLE_NAMESPACE})
) -> Iterator[WikiPage]:
    """The articles of a MediaWiki XML dump, one at a time, redirects left out."""
    base: str | None = None
    with open_maybe_compressed(path) as stream:
        try:
            for _event, element in _parser_events(stream, ("{*}base", "{*}page")):
                if etree.QName(element).localname == "base":
                    base = (element.text or "").strip() or None
                    continue
                page = _page_of(element, base, namespaces)
                _drop(element)
                if page is not None:
                    yield page
        except etree.XMLSyntaxError as error:
            raise InputError(
                f"cannot read the dump {path}: not well-formed XML ({error})"
            ) from None
        except (OSError, EOFError) as error:
            raise InputError(f"cannot read the dump {path}: {error}") from None


def _page_of(element: Any, base: str | None, namespaces: frozenset[str]) -> WikiPage | None:
    title = _child_text(element, "title")
    namespace = (_child_text(element, "ns") or ARTICLE_NAMESPACE).strip()
    if title is None or namespace not in namespaces or _child_text(element, "redirect") is not None:
        return None
    text, revised = "", None
    for child in element:  # the dump's last <revision> is the page as it is now
        if isinstance(child.tag, str) and etree.QName(child).localname == "revision":
            text = _child_text(child, "text") or ""
            revised = _child_text(child, "timestamp")
    return WikiPage(title=title, url=_page_url(base, title), revised_at=revised, text=text)


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    """A ``<loc>`` of a sitemap: a page (``is_sitemap`` False) or, in a sitemap index,
    another sitemap."""

    loc: str
    is_sitemap: bool


def read_sitemap(stream: io.BufferedIOBase, name: str) -> Iterator[SitemapEntry]:
    """The ``<loc>`` entries of a sitemap or sitemap index read from ``stream``."""
    try:
        for _event, element in _parser_events(stream, ("{*}url", "{*}sitemap")):
            loc = (_child_text(element, "loc") or "").strip()
            is_sitemap = etree.QName(element).localname == "sitemap"
            _drop(element)
            if loc:
                yield SitemapEntry(loc, is_sitemap)
    except etree.XMLSyntaxError as error:
        raise InputError(f"cannot read the sitemap {name}: not well-formed XML ({error})") from None
    except (OSError, EOFError) as error:
        raise InputError(f"cannot read the sitemap {name}: {error}") from None
