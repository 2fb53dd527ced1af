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

import bisect
import re
from array import array
from typing import TYPE_CHECKING

from archiver.extract.quoted import quoted_passages

if TYPE_CHECKING:
    from archiver.extract.quoted import Quoted

_SPACES = re.compile(r"\s*")
# Only from the start of a run of stops (the first stop not after another), never giving
# back: a run of 10,000 dots (a table of contents' leaders) was tried from each of its
# dots, at each of its lengths. The stop comes first so the scan looks for it alone.
_ENDING = re.compile(r"[.!?…](?<![.!?…][.!?…])[.!?…]*+[\"”’')\]»]*+(?=\s|$)")
_NEXT_START = re.compile(r"\s*(\S)")
# The last word of a stretch: one match from its start, the greedy part giving back to the
# last space (searching for "(\S*)\.$" tried every position of the stretch instead).
_LAST_WORD = re.compile(r"(?s:.*\s)?(\S*)")
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
    protected: list[tuple[int, int]] = []
    protected_starts: list[int] = []
    if quoted:
        protected = _merged([(q.start, q.end) for q in quoted])
        protected_starts = [start for start, _ in protected]
    starts, ends = array("q"), array("q")
    start = _skip_space(text, 0)
    for match in _ENDING.finditer(text):
        end = match.end()
        if end <= start or (protected and _inside(protected, protected_starts, end)):
            continue
        if not _is_sentence_end(text, match):
            continue
        starts.append(start)
        ends.append(end)
        start = _skip_space(text, end)
    tail_end = len(text.rstrip())
    if start < tail_end:
        starts.append(start)
        ends.append(tail_end)
    return starts, ends


def _is_sentence_end(text: str, match: re.Match[str]) -> bool:
    following = _NEXT_START.match(text, match.end())
    if following is None:
        return True
    if following.group(1).islower():
        return False
    punctuation = match.group(0)
    if not punctuation.startswith(".") or punctuation.startswith(".."):
        return True
    dot = match.start()
    word = _LAST_WORD.fullmatch(text, max(0, dot - 40), dot).group(1)  # type: ignore[union-attr]
    word = word.lstrip("([{\"'“‘«")
    if not word:
        return True
    if word.lower() in _NEVER_FINAL:
        return False
    if len(word) == 1 and word.isupper():  # an initial
        return False
    return not _DOTTED.match(word)


def _skip_space(text: str, index: int) -> int:
    return _SPACES.match(text, index).end()  # type: ignore[union-attr]  # r"\s*" always matches


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans joined, sorted, so a position can be looked up by bisection."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _inside(spans: list[tuple[int, int]], starts: list[int], position: int) -> bool:
    index = bisect.bisect_left(starts, position) - 1
    return index >= 0 and spans[index][0] < position < spans[index][1]
