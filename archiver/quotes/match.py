"""Finding a quote in a page's text, and saying how it differs.

Two searches, on the words of ``archiver.quotes.words``:

1. **Exact** (on the loose keys): each part of the quote in order, the first part
   anywhere, each next one after the previous, within the gap's reach. Found, the
   passage is ``verbatim`` when the strict keys and the punctuation between the words are
   the same too (case is ignored when asked), else ``equivalent``, with the kinds of form
   that differ.
2. **Aligned**, when there is no exact match: for each part, the stretch of the page that
   shares most words with it on one diagonal (a quote word at position i voting for a
   passage starting at p - i for every p it occurs at), then a word alignment
   (``difflib``) of the part with that stretch. At ``ALTERED_SCORE`` or more (100 × 2 ×
   matched words / words in both) the quote is ``altered``, with every changed word
   listed (``WordChange``): a changed number, name or negation is reported as such, and
   any changed word at all is ``altered``: there is no "close enough". Below, it is
   ``not-found``, with the best score seen.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from archiver.models import _Serialisable
from archiver.quotes.words import QuotePart, Word

ALTERED_SCORE = 60.0  # alignment score from which a passage is the quote altered
MIN_ALIGNED_WORDS = 3  # ... and at least this many of its words (fewer when it is shorter)
GAP_REACH = 5000  # words an ellipsis may skip
_DIAGONALS_TRIED = 4
_STRETCH = 3  # words each end of an aligned stretch may move
_COMMON_WORD = 2000  # a word this frequent in the page casts no votes
_NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "nor",
        "neither",
        "none",
        "nobody",
        "nothing",
        "nowhere",
        "without",
        "cannot",
        "non",
        "un",
    ]
)


@dataclass(frozen=True)
class WordChange(_Serialisable):
    """Words of the quote that the source has otherwise: ``quote`` as the article wrote
    them ("" when the source has words the quote lacks), ``source`` as the page has them
    ("" when the quote adds words), ``kinds`` among ``number``, ``name``, ``negation``,
    ``word``, and ``shown``, the change in a few characters (``1998 → 1999``)."""

    quote: str
    source: str
    kinds: tuple[str, ...]
    shown: str


def word_change(quote: str, source: str, kinds: tuple[str, ...]) -> WordChange:
    return WordChange(quote, source, kinds, f"{quote or '(nothing)'} → {source or '(nothing)'}")


@dataclass(frozen=True)
class Finding:
    """Where and how a quote was found in one text: ``verdict`` (``verbatim``,
    ``equivalent``, ``altered``, ``not-found``), ``score`` (0-100), ``start``/``end``
    (characters of the text; -1 when not found), ``changes`` (altered), ``forms`` (what
    differs in form: ``case``, ``punctuation``)."""

    verdict: str
    score: float
    start: int = -1
    end: int = -1
    changes: tuple[WordChange, ...] = ()
    forms: tuple[str, ...] = ()


NOT_FOUND = Finding("not-found", 0.0)


class PageWords:
    """A text's words, with an index of where each loose key occurs."""

    def __init__(self, words: Sequence[Word]) -> None:
        self.words = list(words)
        self.keys = [word.loose for word in self.words]
        self.at: dict[str, list[int]] = {}
        for index, key in enumerate(self.keys):
            self.at.setdefault(key, []).append(index)


def find_quote(parts: Sequence[QuotePart], page: PageWords, ignore_case: bool = False) -> Finding:
    """How the quote made of ``parts`` stands in ``page`` (see the module docstring)."""
    if not parts or not page.words:
        return NOT_FOUND
    placements = _exact_placements(parts, page)
    if placements:
        graded = [(_forms(parts, page, placed, ignore_case), placed) for placed in placements]
        forms, placed = min(graded, key=lambda item: len(item[0]))
        words = page.words
        start, end = words[placed[0]].start, words[placed[-1] + len(parts[-1].words) - 1].end
        return Finding("verbatim" if not forms else "equivalent", 100.0, start, end, (), forms)
    return _aligned(parts, page)


def _exact_placements(parts: Sequence[QuotePart], page: PageWords) -> list[list[int]]:
    """Where each part starts, for every way (at most 20) of placing the quote exactly."""
    found: list[list[int]] = []
    first = parts[0]
    for start in page.at.get(first.words[0].loose, ()):
        if not _part_at(first, page, start):
            continue
        placed = [start]
        position = start + len(first.words)
        for part in parts[1:]:
            reach = part.max_skip if part.max_skip is not None else GAP_REACH
            following = _next_part(part, page, position, position + reach)
            if following < 0:
                break
            placed.append(following)
            position = following + len(part.words)
        else:
            found.append(placed)
            if len(found) >= 20:
                break
    return found


def _part_at(part: QuotePart, page: PageWords, start: int) -> bool:
    keys = page.keys[start : start + len(part.words)]
    return len(keys) == len(part.words) and all(
        key == word.loose for key, word in zip(keys, part.words, strict=True)
    )


def _next_part(part: QuotePart, page: PageWords, low: int, high: int) -> int:
    for start in page.at.get(part.words[0].loose, ()):
        if low <= start <= high and _part_at(part, page, start):
            return start
        if start > high:
            break
    return -1


def _forms(
    parts: Sequence[QuotePart], page: PageWords, placed: list[int], ignore_case: bool
) -> tuple[str, ...]:
    """What differs in form between the quote and the page where it was placed."""
    forms: set[str] = set()
    for part, start in zip(parts, placed, strict=True):
        for offset, word in enumerate(part.words):
            found = page.words[start + offset]
            if word.strict != found.strict and not (ignore_case or word.relaxed):
                forms.add("case")
            if offset and word.gap != found.gap:
                forms.add("punctuation")
    return tuple(sorted(forms))


def _aligned(parts: Sequence[QuotePart], page: PageWords) -> Finding:
    """The best alignment of each part; ``altered`` or ``not-found`` (module docstring)."""
    matched = total = 0
    spans: list[tuple[int, int]] = []
    changes: list[WordChange] = []
    for part in parts:
        best = _best_stretch(part, page)
        quote_keys = [word.loose for word in part.words]
        if best is None:
            total += len(quote_keys)
            continue
        low, high = best
        matcher = difflib.SequenceMatcher(None, quote_keys, page.keys[low:high], autojunk=False)
        same = sum(block.size for block in matcher.get_matching_blocks())
        matched += same
        total += len(quote_keys) + (high - low)
        spans.append((low, high))
        changes.extend(_changes(part.words, page.words[low:high], matcher))
    score = round(200.0 * matched / total, 1) if total else 0.0
    wanted = min(MIN_ALIGNED_WORDS, sum(len(p.words) for p in parts))
    if not spans or score < ALTERED_SCORE or matched < wanted:
        return Finding("not-found", score)
    start = page.words[min(low for low, _ in spans)].start
    end = page.words[max(high for _, high in spans) - 1].end
    return Finding("altered", score, start, end, tuple(changes))


def _best_stretch(part: QuotePart, page: PageWords) -> tuple[int, int] | None:
    """The page words [low, high) that best align with ``part``, or None: on each of the
    diagonals with most votes, the stretch of the quote's length there, each end moved by
    up to ``_STRETCH`` words (the source may have words more or fewer), that has most
    words in common with the quote; of equal ones the closest to the quote's length (a
    changed word is a change, not a word left out and one added), then the shortest."""
    votes: Counter[int] = Counter()
    for index, word in enumerate(part.words):
        places = page.at.get(word.loose, ())
        if len(places) < _COMMON_WORD:
            votes.update(place - index for place in places)
    quote_keys = [word.loose for word in part.words]
    best: tuple[int, int, int, int, int] | None = None
    for diagonal, _ in votes.most_common(_DIAGONALS_TRIED):
        for low_shift in range(-_STRETCH, _STRETCH + 1):
            for high_shift in range(-_STRETCH, _STRETCH + 1):
                low = max(diagonal + low_shift, 0)
                high = min(diagonal + len(quote_keys) + high_shift, len(page.keys))
                if high <= low:
                    continue
                matcher = difflib.SequenceMatcher(None, quote_keys, page.keys[low:high], False)
                matched = sum(block.size for block in matcher.get_matching_blocks())
                size = high - low
                candidate = (matched, -abs(size - len(quote_keys)), -size, low, high)
                if best is None or candidate > best:
                    best = candidate
    return (best[3], best[4]) if best is not None and best[0] > 0 else None


def _changes(
    quoted: Sequence[Word], found: Sequence[Word], matcher: difflib.SequenceMatcher[str]
) -> list[WordChange]:
    changes = []
    for tag, a_low, a_high, b_low, b_high in matcher.get_opcodes():
        if tag == "equal":
            continue
        mine, theirs = quoted[a_low:a_high], found[b_low:b_high]
        kinds = _kinds([*mine, *theirs], first_of_part=a_low == 0 and b_low == 0)
        changes.append(
            word_change(" ".join(w.text for w in mine), " ".join(w.text for w in theirs), kinds)
        )
    return changes


def _kinds(words: Sequence[Word], first_of_part: bool) -> tuple[str, ...]:
    kinds = []
    if any(any(c.isdigit() for c in w.text) for w in words):
        kinds.append("number")
    if any(w.text[:1].isupper() for w in words[(1 if first_of_part else 0) :]):
        kinds.append("name")
    if any(w.loose in _NEGATIONS or w.loose.endswith("n't") for w in words):
        kinds.append("negation")
    return tuple(kinds) or ("word",)
