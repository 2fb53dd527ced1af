"""Passages in quotation marks.

A quoted passage next to a link is usually the words the cited source said, which is
what checking a quote (not built yet) will look for in the archived copy. The sentence
splitter also uses these spans so that a quotation of several sentences is not cut in
the middle.

Recognised pairs: “…”, «…», „…“ / „…”, and straight "…". Single quotes are left alone:
the apostrophe in "the council’s" is the same character as a closing single quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Each body excludes its own opening mark, so an unclosed mark costs one bounded scan.
# Each pattern is run only on text that has its opening mark: most paragraphs have none.
_QUOTED = (
    ("“", re.compile(r"“([^“”]{1,1500})”")),
    ("«", re.compile(r"«([^«»]{1,1500})»")),
    ("„", re.compile(r"„([^„“”]{1,1500})[“”]")),
    ('"', re.compile(r'"([^"]{1,1500})"')),
)

MIN_QUOTE_WORDS = 5


@dataclass(frozen=True)
class Quoted:
    """A quoted passage: ``start``/``end`` include the marks, ``text`` is what is inside."""

    start: int
    end: int
    text: str

    @property
    def words(self) -> int:
        return len(self.text.split())


def quoted_passages(text: str) -> list[Quoted]:
    """Every quoted passage in ``text``, ordered by position, outermost first."""
    found = [
        Quoted(match.start(), match.end(), match.group(1))
        for opening, pattern in _QUOTED
        if opening in text
        for match in pattern.finditer(text)
    ]
    if len(found) > 1:
        found.sort(key=lambda quoted: (quoted.start, -quoted.end))
    return found


def clean_quote(text: str) -> str:
    """Whitespace-normalised, without the trailing comma or period that punctuation style
    (not the source) often puts inside the closing mark."""
    return " ".join(text.split()).rstrip(",.;:").strip()
