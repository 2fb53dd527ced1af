"""Matching a removed link in one archived copy of the article: which link stood where
the marker is now.

- **Matching by sentence.** Page layout changes between the archived HTML and today's
  text (or plain-text copy), sentences rarely do. Both sentences are normalised (NFKC,
  quotes, hyphens, case, whitespace: ``select.passages.normalise_passage``) with every
  marker removed, and compared with rapidfuzz's ``ratio`` (``partial_ratio`` when one
  sentence is much longer, because the two copies split a paragraph differently); at least
  ``MIN_SENTENCE_SCORE`` is needed.
- **The right link in the sentence.** The marker's position is carried through an
  alignment of the two sentences (rapidfuzz's Indel opcodes). Either the editor appended
  the marker after the anchor words: the link must end where the marker stands and its
  words must be mostly the words before it; or the editor replaced the anchor words with
  the marker: the archived sentence without them must read like today's, with the marker
  where they were. Both within ``POSITION_SLACK`` characters.
- **Never a guess.** Two different URLs that fit equally well, or nothing that fits, give
  no URL, with the reason ("not found in the archived article (best match 62%)").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from archiver.extract import extract_citations
from archiver.extract.formats import parse_document
from archiver.extract.markers import find_markers
from archiver.extract.sentences import sentence_spans
from archiver.models import Citation
from archiver.select.passages import normalise_passage

MIN_SENTENCE_SCORE = 85.0  # how alike (0-100) the two sentences must be
POSITION_SLACK = 3  # characters allowed between the marker's place and the link
MIN_ANCHOR_OVERLAP = 0.5  # share of the anchor's words that must come before the marker
PARTIAL_MIN_CHARS = 40  # a shorter sentence is compared whole, never as a part
PARTIAL_LENGTH_RATIO = 0.75  # below this length ratio a part of the longer one may match
_WORD = re.compile(r"\w+")
_CLOSING = frozenset(".,;:!?)]}\"'”’»")


# -- normalised text that remembers where each character came from --------------------------


@dataclass(frozen=True)
class _Text:
    """``norm`` is ``normalise_passage`` applied character by character; ``origin[i]`` is
    the index in the raw text of ``norm[i]``, so raw positions can be carried over."""

    norm: str
    origin: tuple[int, ...]

    def position(self, raw_index: int) -> int:
        """Where raw position ``raw_index`` falls in ``norm``."""
        return bisect.bisect_left(self.origin, raw_index)


def _normalised(raw: str) -> _Text:
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(raw):
        if char.isspace():
            if chars and chars[-1] != " ":
                chars.append(" ")
                origin.append(index)
            continue
        for out in normalise_passage(char):
            chars.append(out)
            origin.append(index)
    while chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    return _Text("".join(chars), tuple(origin))


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _similarity(a: str, b: str, cutoff: float = 0.0) -> float:
    """How alike two normalised sentences are, 0-100; 0 for anything below ``cutoff``
    (rapidfuzz then gives up early, which matters across thousands of links)."""
    if not a or not b:
        return 0.0
    score = fuzz.ratio(a, b, score_cutoff=cutoff)
    short, long = sorted((a, b), key=len)
    if len(short) >= PARTIAL_MIN_CHARS and len(short) < PARTIAL_LENGTH_RATIO * len(long):
        # No part of ``long`` can match ``short`` better than their common subsequence
        # allows; that bound is cheap, partial_ratio is not.
        bound = 50.0 * Indel.similarity(short, long) / len(short)
        if bound >= max(cutoff, score):
            score = max(score, fuzz.partial_ratio(short, long, score_cutoff=max(cutoff, score)))
    return float(score)


def _mapped(position: int, source: str, target: str) -> tuple[int, int]:
    """The span of ``target`` that ``position`` in ``source`` corresponds to, once aligned.

    A single point where the texts agree there; the whole inserted stretch when ``target``
    has words that ``source`` lacks at that point (the anchor the marker replaced).
    """
    points: list[int] = []
    for op in Indel.opcodes(source, target):
        if not op.src_start <= position <= op.src_end:
            continue
        if op.tag == "equal":
            points.append(op.dest_start + position - op.src_start)
        elif op.tag == "insert":
            points.extend((op.dest_start, op.dest_end))
        else:  # delete: the source's characters are not in the target
            points.append(op.dest_start)
    if not points:
        return len(target), len(target)
    return min(points), max(points)


# -- one archived copy --------------------------------------------------------------------


@dataclass(frozen=True)
class LinkMatch:
    """The archived link found for a removed one, or None and why not.

    ``score`` is how alike the sentences are (0-100): of the matched sentence, or of the
    closest sentence in the copy when there is no match.
    """

    citation: Citation | None
    score: float
    reason: str
    sentence_found: bool = False  # the sentence is there, without a link at the marker


@dataclass(frozen=True)
class _Link:
    citation: Citation
    sentence: _Text
    span: tuple[int, int] | None  # the anchor's place in ``sentence.norm``


@dataclass(frozen=True)
class _Candidate:
    link: _Link
    score: float
    distance: int
    overlap: float


class ArchivedArticle:
    """One archived copy of the article, read once for matching: its links and sentences.

    ``text`` is the copy's decoded text in format ``fmt``; ``url`` is the article's own
    URL, against which relative links are resolved.
    """

    def __init__(self, text: str, fmt: str = "html", url: str | None = None) -> None:
        self.citations = [c for c in extract_citations(text, fmt, source=url) if c.url]
        self._texts: dict[str, _Text] = {}
        self.links = self._locate_links()
        self.sentences = [self._text(s) for s in _all_sentences(text, fmt, url)]

    def _text(self, raw: str) -> _Text:
        found = self._texts.get(raw)
        if found is None:
            found = self._texts[raw] = _normalised(raw)
        return found

    def _locate_links(self) -> list[_Link]:
        """Each link with its anchor's place in its sentence.

        Links of one sentence come in document order, so each anchor is looked for after
        the previous one's; an anchor not written in the sentence (a blockquote's cite)
        has no place.
        """
        links: list[_Link] = []
        previous_context: str | None = None
        searched_from = 0
        for citation in self.citations:
            context = citation.context
            if context != previous_context:
                previous_context, searched_from = context, 0
            sentence = self._text(context)
            start = context.find(citation.text, searched_from) if citation.text else -1
            if start < 0 and searched_from:  # the same sentence again, elsewhere in the page
                start = context.find(citation.text)
            span = None
            if start >= 0:
                end = start + len(citation.text)
                searched_from = end
                span = (sentence.position(start), sentence.position(end))
            links.append(_Link(citation, sentence, span))
        return links

    def match(self, removed: Citation, occurrence: int = 0) -> LinkMatch:
        """The link in this copy that ``removed`` (a marker citation) stood for.

        ``occurrence`` is which of the same marker in the same sentence it is (0: the
        first), for a sentence that lost more than one link.
        """
        current, position = _without_markers(removed, occurrence)
        if not current.norm:
            return LinkMatch(None, 0.0, "its sentence has no words besides the marker")
        before = set(_words(current.norm[:position]))
        scores: dict[str, float] = {}  # per archived sentence: many links share one
        candidates: list[_Candidate] = []
        for link in self.links:
            whole = scores.get(link.sentence.norm)
            if whole is None:
                whole = scores[link.sentence.norm] = _similarity(
                    current.norm, link.sentence.norm, MIN_SENTENCE_SCORE
                )
            candidate = _fit(link, whole, current.norm, position, before)
            if candidate is not None:
                candidates.append(candidate)
        if candidates:
            return _pick(candidates)
        # Sentences without links count too, and the contexts of links, which may span
        # sentences the splitter keeps apart.
        every = [*self.sentences, *(link.sentence for link in self.links)]
        best = max((_similarity(current.norm, s.norm) for s in every), default=0.0)
        if best >= MIN_SENTENCE_SCORE:
            return LinkMatch(
                None,
                best,
                f"the sentence is there ({best:.0f}% alike) but has no link where the marker is",
                sentence_found=True,
            )
        return LinkMatch(None, best, f"not found in the archived article (best match {best:.0f}%)")


def _fit(
    link: _Link, whole: float, current: str, position: int, before: set[str]
) -> _Candidate | None:
    """How well ``link`` fits the marker at ``position`` in ``current``, if it fits at all.

    Two ways an editor leaves a sentence: the marker after the anchor words (the link's
    sentence reads like today's, the link ends at the marker and its words come before
    it), or the marker instead of the anchor words (the sentence without the anchor reads
    like today's, the marker where the anchor was).
    """
    if link.span is None:
        return None
    start, end = link.span
    sentence = link.sentence.norm
    fits: list[_Candidate] = []
    if whole >= MIN_SENTENCE_SCORE:
        low, high = _mapped(position, current, sentence)
        distance = max(0, start - high, low - end)
        anchor = _words(sentence[start:end])
        overlap = sum(1 for w in anchor if w in before) / len(anchor) if anchor else 0.0
        if distance <= POSITION_SLACK and overlap >= MIN_ANCHOR_OVERLAP:
            fits.append(_Candidate(link, whole, distance, overlap))
    head, tail = sentence[:start].rstrip(), sentence[end:].lstrip()
    cut = f"{head} {tail}".strip()
    without_anchor = _similarity(current, cut, MIN_SENTENCE_SCORE)
    if without_anchor >= MIN_SENTENCE_SCORE:
        low, high = _mapped(position, current, cut)
        place = len(head)  # the gap between head and tail: [place, place + 1]
        distance = max(0, place - high, low - (place + 1))
        if distance <= POSITION_SLACK:
            fits.append(_Candidate(link, without_anchor, distance, 0.0))
    return max(fits, key=_rank, default=None)


def _rank(candidate: _Candidate) -> tuple[float, int, float]:
    return (round(candidate.score, 1), -candidate.distance, candidate.overlap)


def _pick(candidates: list[_Candidate]) -> LinkMatch:
    candidates.sort(key=_rank, reverse=True)
    best = candidates[0]
    rivals = [
        c
        for c in candidates[1:]
        if _rank(c) == _rank(best) and c.link.citation.url != best.link.citation.url
    ]
    if rivals:
        urls = ", ".join(
            sorted({best.link.citation.url or "", *(c.link.citation.url or "" for c in rivals)})
        )
        return LinkMatch(
            None,
            best.score,
            f"ambiguous: links to {urls} fit the marker equally well",
            sentence_found=True,
        )
    citation = best.link.citation
    reason = f"the same sentence ({best.score:.0f}% alike) links “{citation.text}” there"
    return LinkMatch(citation, best.score, reason, sentence_found=True)


def _without_markers(removed: Citation, occurrence: int) -> tuple[_Text, int]:
    """The citation's sentence with every marker taken out, and the removed link's place
    in it (normalised)."""
    context = removed.context
    marker = " ".join((removed.marker or "").split()).casefold()
    pieces: list[str] = []
    kept_to = 0
    length = 0
    place: int | None = None
    seen = 0
    for start, end, text in find_markers(context):
        kept = context[kept_to:start]
        gap = " "
        if context[end : end + 1] in _CLOSING:  # "the budget [marker]." reads "the budget."
            kept, gap = kept.rstrip(), ""
        pieces.append(kept)
        length += len(kept)
        if place is None and " ".join(text.split()).casefold() == marker:
            if seen == occurrence:
                place = length
            seen += 1
        pieces.append(gap)
        length += len(gap)
        kept_to = end
    pieces.append(context[kept_to:])
    stripped = "".join(pieces)
    current = _normalised(stripped)
    if place is None:  # no such marker in the sentence: take the words before it as given
        found = stripped.find(removed.text) if removed.text else -1
        place = found + len(removed.text) if found >= 0 else len(stripped)
    return current, current.position(place)


def _all_sentences(text: str, fmt: str, url: str | None) -> list[str]:
    """Every sentence of the copy, links or not: to say whether the sentence is there."""
    sentences: list[str] = []
    for block in parse_document(text, fmt, url).blocks:
        for start, end in sentence_spans(block.text):
            sentence = " ".join(block.text[start:end].split())
            if sentence:
                sentences.append(sentence)
    return sentences


def occurrences(citations: Sequence[Citation]) -> list[int]:
    """For each citation, how many earlier ones share its sentence and marker text."""
    counts: dict[tuple[str, str], int] = {}
    result = []
    for citation in citations:
        key = (citation.context, " ".join((citation.marker or "").split()).casefold())
        result.append(counts.get(key, 0))
        counts[key] = counts.get(key, 0) + 1
    return result


__all__ = ["MIN_SENTENCE_SCORE", "ArchivedArticle", "LinkMatch", "occurrences"]
