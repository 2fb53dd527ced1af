"""MediaWiki XML dumps written by the tests, in the export format MediaWiki's
``dumpBackup.php`` writes (schema 0.11): a ``<siteinfo>`` naming the wiki, then one
``<page>`` per article with its revisions."""

from __future__ import annotations

import bz2
import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

HEAD = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">
  <siteinfo>
    <sitename>Testwiki</sitename>
    <dbname>testwiki</dbname>
    <base>https://wiki.example/wiki/Main_Page</base>
    <generator>MediaWiki 1.43.0</generator>
    <case>first-letter</case>
  </siteinfo>
"""


@dataclass(frozen=True)
class DumpPage:
    title: str
    text: str
    namespace: int = 0
    redirect: str | None = None
    older: str | None = None  # an earlier revision's text, written before the latest


def _revision(number: int, text: str, stamp: str) -> str:
    return (
        f"    <revision>\n      <id>{number}</id>\n      <timestamp>{stamp}</timestamp>\n"
        f"      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
        f'      <text bytes="{len(text.encode())}" xml:space="preserve">{escape(text)}</text>\n'
        "    </revision>\n"
    )


def dump_xml(pages: Iterable[DumpPage]) -> Iterable[str]:
    yield HEAD
    for number, page in enumerate(pages, 1):
        redirect = f'    <redirect title="{escape(page.redirect)}" />\n' if page.redirect else ""
        older = _revision(number * 10, page.older, "2019-01-01T00:00:00Z") if page.older else ""
        yield (
            f"  <page>\n    <title>{escape(page.title)}</title>\n    <ns>{page.namespace}</ns>\n"
            f"    <id>{number}</id>\n{redirect}{older}"
            f"{_revision(number * 10 + 1, page.text, '2024-05-06T07:08:09Z')}  </page>\n"
        )
    yield "</mediawiki>\n"


def write_dump(path: Path, pages: Iterable[DumpPage]) -> Path:
    """Write the dump, compressed as ``path``'s name says (``.bz2``, ``.gz`` or none)."""
    opener = {".bz2": bz2.open, ".gz": gzip.open}.get(path.suffix, open)
    with opener(path, "wt", encoding="utf-8") as stream:  # type: ignore[operator]
        for part in dump_xml(pages):
            stream.write(part)
    return path
