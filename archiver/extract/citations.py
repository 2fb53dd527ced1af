"""From rendered blocks to ``Citation`` records: the rules every format shares.

- ``context`` is the whole sentence around the link or marker, whitespace-normalised,
  with markup already rendered away, and *with* any marker text left in place
  ("In May, the board said in its annual report [link removed] that ..."): that is how
  the sentence reads in this copy, and the words around the marker are what find the
  same sentence (with the link still in it) in an archived copy of the article. A link
  whose anchor spans sentences gets all of them; a ``<blockquote cite>`` gets the
  quote's first sentence. A sentence longer than ``CONTEXT_LIMIT`` is cut to that
  around the link, at word boundaries, with "…" where it was cut: a paragraph with no
  full stop and thousands of links would otherwise cost each of them the whole
  paragraph, and the extraction its square.
- A marker right after a link (only spaces or closing quotes between) marks that link
  dead: the citation keeps the URL and gets ``marker``. A marker on its own is a
  citation with ``url`` None whose ``text`` is the words before it in its clause (after
  the last comma, semicolon, colon, dash or parenthesis), at most eight, since the
  anchor text that was lost most likely ended there: "the board said in its annual
  report". Without any words before it in its sentence, ``text`` is "".
- ``quote`` is, in order: what the markup says (``<q cite>``, ``quote=``); the quoted
  passage of at least five words in the context nearest the link, unless it
  encloses the link (then it is a title, not a quotation); or a blockquote right after
  the paragraph (attributed to its last citation) or right before it (to its first;
  see ``_attach_blockquotes``).
- ``cited_at`` is the access date the markup states, else a "retrieved/accessed <date>"
  after the link and before the next one in the same block, else the article's date.
- A link into a web archive is reported as the original URL with ``archive_url`` and
  ``archived_at``; an archive short link with no recoverable original (archive.ph/AbCd1,
  perma.cc/ABCD-1234) keeps itself as both ``url`` and ``archive_url``.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from array import array
from operator import attrgetter

from archiver.archives.urls import archive_name, parse_archive_url
from archiver.extract.blocks import Block, Document, Link, Marker
from archiver.extract.datetext import access_date, may_state_access
from archiver.extract.markers import MARKER
from archiver.extract.quoted import MIN_QUOTE_WORDS, Quoted, clean_quote, quoted_passages
from archiver.extract.sentences import sentence_bounds
from archiver.models import CONTEXT_LIMIT, CUT, Citation, ContextWindow

_ACCESS_WINDOW = 250  # characters after a link searched for "Retrieved <date>"
_MARKER_TEXT_WORDS = 8
_ATTACHES = re.compile(r"[\s\"”’'»)\]]*")
# A comma, semicolon, colon, dash or parenthesis, or " - ": one character class first, so
# that the scan skips to the next candidate at C speed (a choice first is tried at every
# position).
_CLAUSE_BREAK = re.compile(r"[,;:—–(\[\s](?:(?<=\s)-\s|(?<!\s))")
_SPACE = re.compile(r"\s")
_WORD = re.compile(r"\S+")
_START, _END, _POSITION = attrgetter("start"), attrgetter("end"), attrgetter("start", "end")


def build_citations(document: Document) -> list[Citation]:
    """The citations of ``document``, whose blocks it reads away: each is let go as soon as
    its citations are made (``document.blocks`` is left empty), so that a long article's
    blocks and its citations are not all held at once. Of a block, only what attaching
    blockquotes needs is kept: its kind and where its citations start."""
    blocks = document.blocks
    document.blocks = []
    blocks.reverse()
    citations: list[Citation] = []
    kinds: list[str] = []
    starts = array("q")  # where each block's citations start in ``citations``
    quotes: dict[int, str] = {}  # a blockquote that does not name its source: its words
    introducing: set[int] = set()  # blocks before a blockquote that end in a colon
    previous: Block | None = None
    while blocks:
        block = blocks.pop()
        starts.append(len(citations))
        citations += _block_citations(block, document.published)
        kinds.append(block.kind)
        if block.kind == "blockquote":
            index = len(kinds) - 1
            if not block.quote_has_cite:
                quotes[index] = " ".join(block.text.split())
            if previous is not None and _ends_with_colon(previous.text):
                introducing.add(index - 1)
        previous = block
    starts.append(len(citations))
    _attach_blockquotes(kinds, starts, quotes, introducing, citations)
    return citations


def _ends_with_colon(text: str) -> bool:
    end = len(text)
    while end and text[end - 1].isspace():
        end -= 1
    return end > 0 and text[end - 1] == ":"


def block_urls(block: Block) -> list[str]:
    """``url`` of each of ``build_citations``'s citations of ``block`` that has one, in
    order (what ``extract_urls`` gives, block by block): the links ``_items``
    finds, archive links unpacked as ``_link_citation`` does. A block's citations depend
    on no other block, so a parse can hand its blocks here one by one."""
    return [_unpack_archive(item)[0] for item in _items(block)[0] if type(item) is Link]


def _block_citations(block: Block, published: str | None) -> list[Citation]:
    """Long because it is the loop every citation goes through, written to do as little
    per item as it can: half a million citations pay for every step."""
    items, attached = _items(block)
    if not items:
        return []
    text = block.text
    quotes = quoted_passages(text)
    starts, ends = sentence_bounds(text, quotes)
    quote_starts = [quoted.start for quoted in quotes]
    dated = may_state_access(text)
    single = (starts[0], ends[0]) if len(starts) == 1 else None
    last_sentence: tuple[int, int] | None = None
    whole: str | None = None
    citations: list[Citation] = []
    # The items (and with them the block's links) are let go one by one as their citations
    # are made, so that a paragraph of half a million links does not hold both at once.
    block.links = []
    items.reverse()
    while items:
        item = items.pop()
        start, end = item.start, item.end
        sentence = single or _sentence_around(starts, ends, start, end)
        if sentence != last_sentence:  # the links of one sentence share its string
            last_sentence, whole = sentence, _whole_sentence(text, sentence)
        context: str | ContextWindow
        if whole is None:
            shown = _shown_span(text, sentence, item)
            context = _context(text, sentence, shown)
        else:
            shown, context = sentence, whole
        inline_quote = _nearest_quote(quotes, quote_starts, shown, item) if quotes else None
        written_access = None
        if dated:
            following = items[-1].start if items else len(text)
            written_access = access_date(text[end : min(following, end + _ACCESS_WINDOW)])
        if type(item) is Link:
            after = attached.pop(id(item), None) if attached else None
            marker = after.text if after else item.marker
            citations.append(
                _link_citation(item, marker, context, inline_quote, written_access, published)
            )
        else:
            citations.append(
                Citation(
                    None,
                    _words_before(text[shown[0] : start]),
                    context,
                    item.line,
                    inline_quote,
                    written_access or published,
                    item.text,
                )
            )
    return citations


def _items(block: Block) -> tuple[list[Link | Marker], dict[int, Marker]]:
    """The block's links and lone markers in order, and the marker written right after a
    link (by the link's ``id``): a link is its own item, so that half a million of them
    need no wrapper each."""
    text = block.text
    written = [
        Marker(match.group(), match.start(), match.end(), block.line_at(match.start()))
        for match in MARKER.finditer(text)
    ]
    if not written and not block.markers:  # the common case: only links, nothing to fold in
        items: list[Link | Marker] = list(block.links)
        if len(items) > 1:
            items.sort(key=_POSITION)
        return items, {}
    links = block.links
    if written:
        # A link whose anchor is itself a marker (Wikipedia's "[dead link]" points to a
        # help page) is part of the marker, not a citation. Written markers never overlap.
        # A footnote's link takes no room: it is beside a marker, never inside one.
        starts = [marker.start for marker in written]
        kept = []
        for link in links:
            if link.start != link.end:
                index = bisect.bisect_right(starts, link.start) - 1
                if index >= 0 and link.end <= written[index].end:
                    continue
            kept.append(link)
        links = kept
    by_end = sorted(links, key=_END)
    ends = [link.end for link in by_end]
    lone: list[Marker] = []
    attached: dict[int, Marker] = {}  # id(link) -> the marker after it
    markers = sorted([*block.markers, *written], key=_START) if block.markers else written
    for marker in markers:
        target = _link_before(by_end, ends, text, marker)
        if target is None or id(target) in attached:
            lone.append(marker)
        else:
            attached[id(target)] = marker
    items = [*links, *lone]
    items.sort(key=_POSITION)
    return items, attached


def _link_before(by_end: list[Link], ends: list[int], text: str, marker: Marker) -> Link | None:
    """The link ending closest before ``marker``, if only spaces or quotes separate them."""
    index = bisect.bisect_right(ends, marker.start) - 1
    if index < 0:
        return None
    link = by_end[index]
    if _ATTACHES.fullmatch(text, link.end, marker.start):
        return link
    return None


def _link_citation(
    link: Link,
    marker: str | None,
    context: str | ContextWindow,
    inline_quote: str | None,
    written_access: str | None,
    published: str | None,
) -> Citation:
    url, archive_url, archived_at = _unpack_archive(link)
    text = " ".join(link.text.split()) or link.url
    if text == url:
        text = url  # one string for both: a bare URL's citation is mostly its URL
    return Citation(
        url,
        text,
        context,
        link.line,
        link.quote or inline_quote,
        link.accessed or written_access or published,
        marker,
        archive_url,
        archived_at,
    )


def _unpack_archive(link: Link) -> tuple[str, str | None, str | None]:
    """(original url, archive url, memento datetime) for a link as written."""
    if link.archive_url:
        unpacked = parse_archive_url(link.url)
        archived_at = link.archived_at
        from_archive_url = parse_archive_url(link.archive_url)
        if from_archive_url and from_archive_url.archived_at:
            archived_at = from_archive_url.archived_at
        return (unpacked.original if unpacked else link.url), link.archive_url, archived_at
    # archive_name names the archive of every link parse_archive_url can unpack (and of
    # some it cannot), so one look rules out the ordinary links that most citations are.
    if archive_name(link.url) is None:
        return link.url, None, None
    unpacked = parse_archive_url(link.url)
    if unpacked:
        return unpacked.original, link.url, unpacked.archived_at
    return link.url, link.url, None


def _sentence_around(starts: array[int], ends: array[int], start: int, end: int) -> tuple[int, int]:
    if not starts:
        return (start, start)
    first = bisect.bisect_right(starts, start) - 1
    last = bisect.bisect_right(starts, end - 1 if end > start else start) - 1
    if first < 0:
        first = 0
    return starts[first], ends[last if last > first else first]


def _whole_sentence(text: str, sentence: tuple[int, int]) -> str | None:
    """``sentence`` whitespace-normalised, or None if that is over ``CONTEXT_LIMIT``.

    Worked out once per sentence (the caller keeps the last one, so that its links share
    one string), and only as far as the limit: every link in a sentence of a megabyte must
    not read all of it.
    """
    start, end = sentence
    if end - start <= CONTEXT_LIMIT:
        return " ".join(text[start:end].split())
    words: list[str] = []
    length = -1
    for word in _WORD.finditer(text, start, end):
        length += 1 + word.end() - word.start()
        if length > CONTEXT_LIMIT:
            return None
        words.append(word.group())
    return " ".join(words)


def _shown_span(text: str, sentence: tuple[int, int], item: Link | Marker) -> tuple[int, int]:
    """The part of ``sentence`` that the context of ``item`` shows: all of it when it is
    short enough, else as much as ``CONTEXT_LIMIT`` leaves room for, centred on the item
    (its start, if the item alone is longer) and cut between words."""
    start, end = sentence
    if end - start <= CONTEXT_LIMIT:
        return sentence
    room = CONTEXT_LIMIT - 2 * len(CUT + " ")
    first = min(max(item.start, start), end)
    last = min(max(item.end, first), end)
    if last - first >= room:
        low, high = first, first + room
    else:
        low = max(start, first - (room - (last - first)) // 2)
        high = min(end, low + room)
        low = max(start, high - room)
    if low > start and not text[low - 1].isspace():
        space = _SPACE.search(text, low, first)
        if space is not None:
            low = space.end()
    if high < end and not text[high].isspace():
        cut = max(text.rfind(" ", last, high), text.rfind("\n", last, high))
        if cut > last:
            high = cut
    return low, high


def _context(text: str, sentence: tuple[int, int], shown: tuple[int, int]) -> ContextWindow:
    return ContextWindow(text, shown[0], shown[1], shown[0] > sentence[0], shown[1] < sentence[1])


def _nearest_quote(
    quotes: list[Quoted], quote_starts: list[int], shown: tuple[int, int], item: Link | Marker
) -> str | None:
    """The quoted passage in the ``shown`` part of the sentence nearest the item."""
    lo = bisect.bisect_left(quote_starts, shown[0])
    hi = bisect.bisect_left(quote_starts, shown[1], lo)
    if lo == hi:
        return None
    best: Quoted | None = None
    best_distance = 0
    for quoted in quotes[lo:hi]:
        if quoted.end > shown[1] or quoted.words < MIN_QUOTE_WORDS:
            continue
        if quoted.start <= item.start and item.end <= quoted.end:
            continue  # a quoted title around the link itself
        distance = max(quoted.start - item.end, item.start - quoted.end, 0)
        if best is None or distance < best_distance:
            best, best_distance = quoted, distance
    return clean_quote(best.text) if best else None


def _words_before(before: str) -> str:
    clause = _CLAUSE_BREAK.split(before)[-1]
    words = clause.split() or before.split()
    return " ".join(words[-_MARKER_TEXT_WORDS:]).strip(' ,;:.!?—–-(["“')


def _attach_blockquotes(
    kinds: list[str],
    starts: array[int],
    quotes: dict[int, str],
    introducing: set[int],
    citations: list[Citation],
) -> None:
    """Give an uncited blockquote to the citation that introduces it (or follows it).

    The paragraph before a quote usually introduces it ("Reuters notes:"), so its last
    citation gets the quote. Only when there is no such paragraph, or it has no citation
    and does not end in a colon (it is not an introduction), may the paragraph after the
    quote claim it, for its first citation ("... wrote the [Gazette](url)").
    ``starts[i]`` is where block ``i``'s citations start in ``citations``.
    """
    for index, quote in quotes.items():  # in the order of the blocks
        if not quote:
            continue
        if index > 0 and kinds[index - 1] != "blockquote":
            if starts[index] > starts[index - 1]:  # the paragraph before has citations
                last = starts[index] - 1
                if citations[last].quote is None:
                    citations[last] = dataclasses.replace(citations[last], quote=quote)
                continue
            if index - 1 in introducing:
                continue
        if index + 1 < len(kinds) and kinds[index + 1] != "blockquote":
            first = starts[index + 1]
            if starts[index + 2] > first and citations[first].quote is None:
                citations[first] = dataclasses.replace(citations[first], quote=quote)
