"""Passages in quotation marks.

A quoted passage next to a link is usually the words the cited source said, which is
what ``archiver quotes`` looks for in the archived copy (``archiver.quotes``). The
sentence splitter also uses these spans so that a quotation of several sentences is not
cut in the middle.

Recognised pairs: “…”, «…», „…“ / „…”, and straight "…", nested in one another as
writers nest them: ``"the technical standards ("protocols") that drive"`` is one quote
with a quote inside it, not two quotes around the word "protocols". The marks are
paired with a stack, in one pass: a curly or angled mark says which side it is; a
straight one is an opening mark when it stands at the start of a word (after a space, an
opening bracket, a dash or another opening mark) and a closing one at the end of a word,
so ``("protocols")`` opens inside the parenthesis and closes before it ends. A mark that
is neither (``5"`` in ``a 5" screen`` is a closing mark with no opener; ``a"b`` is
neither) pairs with nothing. Single quotes are left alone: the apostrophe in "the
council’s" is the same character as a closing single quote. Line breaks inside a quote
are only spaces: a quote may be split over lines.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_MARKS = re.compile(r"[“”„«»\"]")
_OPENERS_OF = {"”": "“„", "“": "„", "»": "«", '"': '"'}
_BEFORE_OPENING = frozenset(" \t\n\r\f\v([{—–-/“„«\"'‘")
_AFTER_CLOSING = frozenset(" \t\n\r\f\v)]}.,;:!?—–-/…”»\"'’")
_MAX_QUOTE = 1500  # characters inside the marks: a longer "quote" is a mark left unclosed
_MAX_OPEN = 32  # marks open at once; deeper nesting is not writing but noise

MIN_QUOTE_WORDS = 5


class Quoted(NamedTuple):
    """A quoted passage: ``start``/``end`` include the marks, ``text`` is what is inside.

    A tuple, and its words counted once: a long article has hundreds of thousands."""

    start: int
    end: int
    text: str
    words: int  # how many words ``text`` has


def quoted_passages(text: str) -> list[Quoted]:
    """Every quoted passage in ``text`` (nested ones too), ordered by position, outermost
    first."""
    found: list[Quoted] = []
    open_marks: list[tuple[str, int]] = []  # (mark, position), innermost last
    for match in _MARKS.finditer(text):
        at = match.start()
        mark = text[at]
        side = _side(text, mark, at, open_marks)
        if side == "close":
            openers = _OPENERS_OF[mark]
            if open_marks and open_marks[-1][0] in openers:  # the innermost: most quotes
                opened: int | None = open_marks.pop()[1]
            else:
                opened = _pop_opener(open_marks, openers)
            if opened is not None and at - opened - 1 <= _MAX_QUOTE:
                inside = text[opened + 1 : at]
                found.append(Quoted(opened, at + 1, inside, len(inside.split())))
        elif side == "open" and len(open_marks) < _MAX_OPEN:
            open_marks.append((mark, at))
    if len(found) > 1:
        found.sort(key=_outermost_first)
    return found


def _outermost_first(quoted: Quoted) -> tuple[int, int]:
    return quoted.start, -quoted.end


def _side(text: str, mark: str, at: int, open_marks: list[tuple[str, int]]) -> str:
    """Whether the mark at ``at`` opens a quote, closes one, or neither."""
    if mark in "„«":
        return "open"
    if mark in "”»":
        return "close"
    if mark == "“":  # closes a German „…“, opens anywhere else
        return "close" if open_marks and open_marks[-1][0] == "„" else "open"
    before = text[at - 1] if at > 0 else " "
    after = text[at + 1] if at + 1 < len(text) else " "
    opens = before in _BEFORE_OPENING and not after.isspace()
    closes = after in _AFTER_CLOSING and not before.isspace()
    if opens and closes:  # between two marks or brackets: ("") or "("; the stack decides
        return "close" if any(m == '"' for m, _ in open_marks) else "open"
    return "open" if opens else "close" if closes else "neither"


def _pop_opener(open_marks: list[tuple[str, int]], openers: str) -> int | None:
    """Close the innermost open mark among ``openers`` (and any left open inside it), and
    return where it stood; None when no such mark is open."""
    for index in range(len(open_marks) - 1, -1, -1):
        if open_marks[index][0] in openers:
            position = open_marks[index][1]
            del open_marks[index:]
            return position
    return None


def clean_quote(text: str) -> str:
    """Whitespace-normalised, without the trailing comma or period that punctuation style
    (not the source) often puts inside the closing mark."""
    return " ".join(text.split()).rstrip(",.;:").strip()
