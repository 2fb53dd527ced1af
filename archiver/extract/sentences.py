"""Splitting a paragraph into sentences.

The sentence around a link is its ``context``: what an editor reads to see what the
source was cited for, and what identifies the citation in another copy of the article.
A wrong split (at "U.S." or "$1.5") would give a fragment that matches nothing, so the
rules err on the side of not splitting:

- a sentence ends at ``.``, ``!``, ``?`` or ``…``, plus any closing quotes and brackets
  after it (``Park.”``), and only where whitespace and then something other than a
  lowercase letter follow;
- not after a title or other short abbreviation (Dr., Mr., No., Jan., ...), a single
  initial ("J. Smith"), or a dotted acronym ("U.S.", "e.g.");
- not inside a quoted passage, so a quotation of several sentences stays whole.

"Inc.", "Ltd." and the like end a sentence only when a capitalised word follows, which
is also what happens after any other word; that is the one ambiguity left.
"""

from __future__ import annotations

import re
from array import array
from typing import TYPE_CHECKING

from archiver.extract.quoted import quoted_passages

if TYPE_CHECKING:
    from archiver.extract.quoted import Quoted

_SPACES = re.compile(r"\s*")
# Only from the start of a run of stops (the first stop not after another), never giving
# back: a run of 10,000 dots (a table of contents' leaders) was tried from each of its
# dots, at each of its lengths. The stop comes first so the scan looks for it alone. The
# lookahead also captures the first character of what follows (empty at the end), so that
# one match says both where a sentence may end and where the next one would start.
_ENDING = re.compile(r"[.!?…](?<![.!?…][.!?…])[.!?…]*+[\"”’')\]»]*+(?=(?:\s++|\Z)(\S?))")
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")

_NEVER_FINAL_WORDS = """
    mr mrs ms mx dr prof sr jr st mt ft gen gov sen rep rev hon lt col capt cpt sgt maj
    adm cmdr supt insp det vs v no nos nr fig figs vol vols pp p ed eds approx dept est
    jan feb mar apr jun jul aug sep sept oct nov dec art sec ch cf al
"""
_NEVER_FINAL = frozenset(_NEVER_FINAL_WORDS.split())


def sentence_spans(text: str, quoted: list[Quoted] | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence in ``text``, leading and trailing whitespace excluded.

    The spans cover the text without gaps except for the whitespace between sentences, so
    every non-space character belongs to exactly one sentence. ``quoted`` is
    ``quoted_passages(text)`` when the caller has it already.
    """
    starts, ends = sentence_bounds(text, quoted)
    return list(zip(starts, ends, strict=True))


def sentence_bounds(text: str, quoted: list[Quoted] | None = None) -> tuple[array[int], array[int]]:
    """``sentence_spans`` as two arrays, the starts and the ends: 16 bytes a sentence
    instead of some 120 (a tuple and its two numbers), for a paragraph of 50 MB."""
    if quoted is None:
        quoted = quoted_passages(text)
    # The quoted passages, joined where they overlap, in order; the candidates come in
    # order too, so the passage that may hold one is found by moving on, not searching.
    protected = _merged([(q.start, q.end) for q in quoted]) if quoted else []
    last = len(protected) - 1
    index = 0
    starts, ends = array("q"), array("q")
    start = _skip_space(text, 0) if text[:1].isspace() else 0
    for match in _ENDING.finditer(text):
        end = match.end()
        if end <= start:
            continue
        if protected:
            while index < last and protected[index + 1][0] < end:
                index += 1
            if protected[index][0] < end < protected[index][1]:
                continue  # inside a quotation
        following = match.group(1)
        if following:  # else only whitespace follows: the text's last sentence ends here
            if following.islower():
                continue
            stop = match.start()
            if text[stop] == "." and text[stop + 1] != "." and _abbreviated(text, stop):
                continue
        starts.append(start)
        ends.append(end)
        start = match.start(1) if following else len(text)
    tail_end = len(text.rstrip())
    if start < tail_end:
        starts.append(start)
        ends.append(tail_end)
    return starts, ends


def _abbreviated(text: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` ends an abbreviation, an initial or a dotted
    acronym (the word before it), not a sentence. The word is the last run of non-space
    in the 40 characters before the stop: no abbreviation is longer."""
    before = text[max(0, dot - 40) : dot]
    if not before or before[-1].isspace():
        return False
    word = before.rsplit(None, 1)[-1].lstrip("([{\"'“‘«")
    if not word:
        return False
    if word.lower() in _NEVER_FINAL:
        return True
    if len(word) == 1 and word.isupper():  # an initial
        return True
    return _DOTTED.match(word) is not None


def _skip_space(text: str, index: int) -> int:
    return _SPACES.match(text, index).end()  # type: ignore[union-attr]  # r"\s*" always matches


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans joined, sorted."""
    if len(spans) == 1:
        return spans
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
