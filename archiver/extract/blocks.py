"""An article as paragraphs of plain text with the links marked in them.

Each input format (Markdown, HTML, plain text, wikitext) is first rendered into this one
shape, so that everything a citation needs from its surroundings (the sentence, a quoted
passage, an access date, a dead-link marker next to it) is found once, in ``citations``,
the same way for every format. A format parser only has to say what the reader would
see and where the links are in it.

Links, markers and blocks have slots: a 50 MB article has half a million of them. A
parser given a ``sink`` hands it each block as it is finished instead of keeping them
(``archiver check`` takes the URLs of each and lets it go), and reads its input's lines
as it goes (``iter_lines``): a long article's parse then holds one block at a time.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

_NEWLINE = re.compile("\n")
_LINES_AT_ONCE = 1 << 16  # characters of text split into lines at a time by ``iter_lines``

BlockSink = Callable[["Block"], object]


def iter_lines(text: str, start: int = 0, strip_cr: bool = False) -> Iterator[str]:
    """The lines of ``text`` from index ``start`` on, as ``text.split("\\n")[start:]``
    gives them (each less its trailing "\\r" with ``strip_cr``), split a slice of
    ``_LINES_AT_ONCE`` characters at a time: a list of every line of a long article would
    hold more than the article itself."""
    position = 0
    for _ in range(start):
        position = text.find("\n", position) + 1
        if not position:
            return
    while True:
        end = text.find("\n", position + _LINES_AT_ONCE)
        piece = text[position:] if end < 0 else text[position:end]
        lines = piece.split("\n")
        if strip_cr and "\r" in piece:
            lines = [line.rstrip("\r") for line in lines]
        yield from lines
        if end < 0:
            return
        position = end + 1


def first_lines(text: str, count: int) -> list[str]:
    """``text.split("\\n")[:count]``, without splitting much more of ``text``."""
    return list(islice(iter_lines(text), count))


@dataclass(slots=True)
class Link:
    """A link as found by a format parser; ``start``/``end`` index into ``Block.text``.

    The optional fields carry what the markup states explicitly (a wikitext
    ``access-date=``, a ``<q cite>``'s text), which wins over anything guessed from prose.
    """

    url: str
    text: str
    start: int
    end: int
    line: int
    quote: str | None = None
    accessed: str | None = None  # ISO date
    archive_url: str | None = None
    archived_at: str | None = None  # ISO datetime
    marker: str | None = None


@dataclass(slots=True)
class Marker:
    """A dead-link marker stated in markup (wikitext ``{{dead link}}``)."""

    text: str
    start: int
    end: int
    line: int


@dataclass(slots=True)
class Block:
    """One paragraph-like unit: a paragraph, list item, heading, table cell or blockquote."""

    text: str
    kind: str  # "paragraph" or "blockquote"
    links: list[Link]
    markers: list[Marker]
    # (offset in text, source line at that offset); later lines are counted from "\n"s.
    anchors: list[tuple[int, int]]
    quote_has_cite: bool = False  # a blockquote that names its own source
    _newlines: list[int] | None = field(default=None, init=False, repr=False)

    def line_at(self, offset: int) -> int:
        """The source line of the character at ``offset`` in ``text``."""
        index = bisect.bisect_right(self.anchors, (offset, 1 << 62)) - 1
        anchor_offset, anchor_line = self.anchors[max(index, 0)]
        if offset <= anchor_offset:
            return anchor_line
        if self._newlines is None:
            self._newlines = [match.start() for match in _NEWLINE.finditer(self.text)]
        between = bisect.bisect_left(self._newlines, offset) - bisect.bisect_left(
            self._newlines, anchor_offset
        )
        return anchor_line + between


@dataclass
class Document:
    """What a format parser hands on: the blocks plus what the article says about itself."""

    blocks: list[Block]
    published: str | None = None  # ISO date
    url: str | None = None  # the article's own URL (canonical link, og:url)


@dataclass
class BlockBuilder:
    """Accumulates rendered text into blocks while a parser walks its input.

    ``silent`` mode (for wikitext ``<ref>`` contents) records links at the current
    position without adding their text, so footnotes do not break up the sentence they
    are attached to. Finished blocks go to ``sink`` when one is given, else to ``blocks``.
    """

    blocks: list[Block] = field(default_factory=list)
    sink: BlockSink | None = None
    kind: str = "paragraph"
    silent: int = 0
    _parts: list[str] = field(default_factory=list)
    _length: int = 0
    _links: list[Link] = field(default_factory=list)
    _markers: list[Marker] = field(default_factory=list)
    _anchors: list[tuple[int, int]] = field(default_factory=list)
    _quote_has_cite: bool = False
    _line: int = 0  # the line ``Block.line_at`` gives at the end of the text so far
    _emit: BlockSink = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._emit = self.sink if self.sink is not None else self.blocks.append

    @property
    def position(self) -> int:
        return self._length

    def add_text(self, text: str, line: int) -> None:
        """Append rendered text that starts on source ``line``.

        An anchor is kept only where counting newlines from the one before would not give
        ``line``: most texts start on the line the text before them ends on, and half a
        million anchors would be a tenth of a long article's blocks."""
        if self.silent or not text:
            return
        if line != self._line or not self._anchors:
            self._anchors.append((self._length, line))
        self._parts.append(text)
        self._length += len(text)
        self._line = line + text.count("\n")

    def add_block(self, text: str, line: int, links: list[Link], kind: str) -> None:
        """A block rendered whole, starting on source ``line``: what ``add_text``, then
        ``add_link`` for each of ``links`` and ``flush`` would make of it, in one step.
        Only for an empty builder."""
        if text.strip() or links:
            self._emit(Block(text, kind, links, [], [(0, line)]))

    def add_link(self, link: Link) -> None:
        self._links.append(link)
        if not self._anchors:
            self._anchors.append((self._length, link.line))
            self._line = link.line

    def add_marker(self, marker: Marker) -> None:
        self._markers.append(marker)
        if not self._anchors:
            self._anchors.append((self._length, marker.line))
            self._line = marker.line

    @property
    def last_link(self) -> Link | None:
        return self._links[-1] if self._links else None

    @property
    def link_count(self) -> int:
        """Links in the current block so far (see ``links_since``)."""
        return len(self._links)

    def links_since(self, count: int) -> list[Link]:
        """The links added to the current block after it held ``count``."""
        return self._links[count:]

    def mark_quote_cited(self) -> None:
        self._quote_has_cite = True

    def text_so_far(self) -> str:
        return "".join(self._parts)

    def flush(self, next_kind: str = "paragraph") -> None:
        """Close the current block (if it has anything in it) and start a new one."""
        text = "".join(self._parts)
        if text.strip() or self._links or self._markers:
            self._emit(
                Block(
                    text=text,
                    kind=self.kind,
                    links=self._links,
                    markers=self._markers,
                    anchors=self._anchors or [(0, 1)],
                    quote_has_cite=self._quote_has_cite,
                )
            )
        self._parts = []
        self._length = 0
        self._links = []
        self._markers = []
        self._anchors = []
        self._quote_has_cite = False
        self.kind = next_kind
