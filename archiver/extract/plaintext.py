"""Plain text: paragraphs, URLs written out, and dead-link markers.

Text copied out of a web page (like the article this project started from) has one
paragraph per line; text written by hand is wrapped. Both are read as paragraphs
separated by blank lines, with a bullet line ("•", "-", "*", "1.") starting a new one,
so the sentence around a marker is never glued to a heading or a list item.
"""

from __future__ import annotations

import re

from archiver.extract.bareurls import find_bare_urls
from archiver.extract.blocks import BlockBuilder, BlockSink, Document, Link, first_lines, iter_lines
from archiver.extract.datetext import published_date_from_lines

_BULLET = re.compile(r"^\s*(?:[•·‣▪◦*-]|\d{1,3}[.)])\s+")
_HEADER_LINES = 40  # where a "Published ..." line is looked for


def parse_plain_text(text: str, sink: BlockSink | None = None) -> Document:
    """``text`` as blocks; with ``sink``, each block goes to it as it is finished and the
    document returned has none."""
    builder = BlockBuilder(sink=sink)
    paragraph: list[str] = []
    first_line = 1
    for number, raw in enumerate(iter_lines(text), start=1):
        line = raw.rstrip("\r")
        bullet = _BULLET.match(line)
        if not line.strip() or bullet:
            _add_paragraph(builder, paragraph, first_line)
            paragraph = []
        if line.strip():
            if not paragraph:
                first_line = number
                line = line[bullet.end() :] if bullet else line.lstrip()
            paragraph.append(line)
    _add_paragraph(builder, paragraph, first_line)
    return Document(builder.blocks, published=plain_text_date(text))


def plain_text_date(text: str) -> str | None:
    """The date a "Published ..." line near the top of ``text`` gives, if any."""
    return published_date_from_lines(first_lines(text, _HEADER_LINES))


def _add_paragraph(builder: BlockBuilder, lines: list[str], first_line: int) -> None:
    if not lines:
        return
    text = "\n".join(lines)
    builder.add_text(text, first_line)
    line, counted_to = first_line, 0
    for start, end, url in find_bare_urls(text):  # in order: lines are counted onwards
        line += text.count("\n", counted_to, start)
        counted_to = start
        builder.add_link(Link(url, url, start, end, line))
    builder.flush()
