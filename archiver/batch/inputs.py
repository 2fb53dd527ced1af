"""What a command's ARTICLE arguments name, one article at a time.

An argument is a file, ``-`` (stdin), an http(s) URL, a folder (read recursively, every
file whose extension names a format archiver reads), a glob (``articles/**/*.md``), a
sitemap (``sitemap.xml``, a sitemap index, local or at a URL: every page it lists), or a
MediaWiki XML dump (``pages-articles*.xml``, ``.bz2`` or ``.gz``: every article in it,
streamed). ``--from-file LIST`` adds one argument a line (``-`` reads the list from stdin;
blank lines and lines starting with ``#`` are skipped).

Arguments are expanded lazily, in order: a dump of millions of pages is never listed in
memory. An argument that names nothing (no such file, a glob that matches nothing) is an
``InputError`` raised when that argument's turn comes.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archiver.errors import InputError
from archiver.extract.formats import format_from_name

if TYPE_CHECKING:
    from archiver.batch.xmlfiles import SitemapEntry
    from archiver.extract import Article

# archiver.batch.xmlfiles (and lxml) is imported only for XML arguments: `archiver check`
# on a Markdown file should not pay for it.

# A sitemap index may list sitemaps; the protocol allows no deeper nesting than that.
_SITEMAP_DEPTH = 2
_GLOB_SIGNS = frozenset("*?[")
_XML_NAMES = (".xml", ".xml.bz2", ".xml.gz")

# Fetches a URL's bytes (a sitemap on the web); given by the caller, which owns the
# network settings, so that reading local files needs no HTTP client.
Fetcher = Callable[[str], bytes]


@dataclass(frozen=True, slots=True)
class ArticleSource:
    """One article to read. ``name`` is what reports call it: the path or URL, or
    ``DUMP#Title`` for a page of a MediaWiki dump, whose wikitext ``text`` holds and whose
    address on its wiki is ``url`` (when the dump says where the wiki is)."""

    name: str
    path: Path | None = None
    url: str | None = None
    text: str | None = None

    @property
    def is_url(self) -> bool:
        return self.path is None and self.text is None and self.url is not None


def read_source(source: ArticleSource) -> Article:
    """The article a source that needs no network names: a file, stdin, or a page of a
    MediaWiki dump (its wikitext, and its address on the wiki)."""
    from dataclasses import replace

    from archiver.extract import parse_article_bytes, read_article

    if source.text is not None:
        article = parse_article_bytes(source.text.encode("utf-8"), source.name, "text/x-wiki")
        return replace(article, url=source.url or article.url)
    return read_article(str(source.path) if source.path is not None else "-")


def expand(
    targets: Iterable[str],
    from_file: str | None = None,
    *,
    fetch: Fetcher | None = None,
    stdin: io.BufferedIOBase | None = None,
) -> Iterator[ArticleSource]:
    """Every article ``targets`` and the list in ``from_file`` name, in order."""
    for target in targets:
        yield from _expand_one(target, fetch)
    if from_file is not None:
        for target in _listed(from_file, stdin):
            yield from _expand_one(target, fetch)


def _listed(from_file: str, stdin: io.BufferedIOBase | None) -> Iterator[str]:
    """The arguments in a list file, one a line."""
    if from_file == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        lines: Iterable[bytes] = stream
    else:
        try:
            lines = Path(from_file).read_bytes().splitlines()
        except OSError as error:
            raise InputError(
                f"cannot read the list {from_file}: {error.strerror or error}"
            ) from None
    for number, raw in enumerate(lines, 1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise InputError(
                f"cannot read the list {from_file}: line {number} is not UTF-8"
            ) from None
        if line and not line.startswith("#"):
            yield line


def _expand_one(target: str, fetch: Fetcher | None) -> Iterator[ArticleSource]:
    if target == "-":
        yield ArticleSource(name="-")
        return
    if "://" in target:
        if looks_like_xml(target):
            yield from _sitemap_at(target, fetch, depth=0)
        else:
            yield ArticleSource(name=target, url=target)
        return
    path = Path(target)
    if path.is_dir():
        yield from _folder(path)
    elif path.exists():
        yield from _file(path, fetch)
    elif _GLOB_SIGNS & set(target):
        matches = sorted(glob.glob(target, recursive=True))
        if not matches:
            raise InputError(f"no file matches {target}")
        for match in matches:
            matched = Path(match)
            yield from (_folder(matched) if matched.is_dir() else _file(matched, fetch))
    else:
        raise InputError(f"cannot read article {target}: no such file")


def looks_like_xml(name: str) -> bool:
    return name.lower().split("?", 1)[0].endswith(_XML_NAMES)


def _folder(folder: Path) -> Iterator[ArticleSource]:
    """The articles in a folder and its subfolders, in name order; hidden entries
    (``.git``, ``.venv``) are left out. A folder with none is an error."""
    found = False
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and format_from_name(name) is not None:
                found = True
                yield ArticleSource(name=os.path.join(root, name), path=Path(root, name))
    if not found:
        raise InputError(
            f"no article in the folder {folder} (none of its files is Markdown, HTML, text "
            "or wikitext by its name)"
        )


def _file(path: Path, fetch: Fetcher | None) -> Iterator[ArticleSource]:
    if not looks_like_xml(path.name):
        yield ArticleSource(name=str(path), path=path)
        return
    from archiver.batch.xmlfiles import open_maybe_compressed, read_dump, read_sitemap, root_element

    root = root_element(path)
    if root == "mediawiki":
        for page in read_dump(path):
            yield ArticleSource(name=f"{path}#{page.title}", url=page.url, text=page.text)
    elif root in ("urlset", "sitemapindex"):
        with open_maybe_compressed(path) as stream:
            yield from _sitemap_entries(read_sitemap(stream, str(path)), fetch, depth=0)
    else:
        yield ArticleSource(name=str(path), path=path)  # XML of another kind: an article


def _sitemap_at(url: str, fetch: Fetcher | None, depth: int) -> Iterator[ArticleSource]:
    if fetch is None:
        raise InputError(f"cannot read the sitemap {url}: this command does not fetch")
    from archiver.batch.xmlfiles import read_sitemap

    data = fetch(url)
    if data[:2] == b"\x1f\x8b":  # sitemap.xml.gz, or a server that did not say
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise InputError(f"cannot read the sitemap {url}: {error}") from None
    yield from _sitemap_entries(read_sitemap(io.BytesIO(data), url), fetch, depth)


def _sitemap_entries(
    entries: Iterable[SitemapEntry], fetch: Fetcher | None, depth: int
) -> Iterator[ArticleSource]:
    for entry in entries:
        if not entry.is_sitemap:
            yield ArticleSource(name=entry.loc, url=entry.loc)
        elif depth + 1 < _SITEMAP_DEPTH:
            yield from _sitemap_at(entry.loc, fetch, depth + 1)
        else:
            raise InputError(
                f"the sitemap index lists {entry.loc}, nested deeper than sitemaps may be"
            )
