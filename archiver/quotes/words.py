"""Words as a quote is compared by: each word with where it stands and two keys.

Only what differs in form is normalised, nothing that could change what a passage says:

- ``strict``: the word in Unicode compatibility form (NFKC: full-width letters, ligatures),
  its apostrophes straightened; case kept. Two passages with the same strict words (and
  the same punctuation between them) say the same thing in the same way: ``verbatim``.
- ``loose``: the strict word case-folded. The same loose words with other punctuation,
  case or quotation marks between them: ``equivalent``.

Whitespace, quotation marks (curly or straight), dashes and character references never
make two passages differ: words are what is compared, and the punctuation between them
is compared with its marks made plain (``plain_punctuation``). Numbers keep their
separators ("1,000", "3.5", "2014-01-26" is three words: hyphens separate words).

A quote is read into parts separated by gaps (``parse_quote``): an ellipsis (``...``,
``…``, ``[...]``, ``(...)``) is a gap of any length; a ``[bracketed]`` word standing
alone is an editorial insertion, standing for a few words of the source (at most
``BRACKET_GAP``); ``[sic]`` stands for nothing; brackets inside a word (``[T]he``,
``govern[ment]``) are dropped and that word is compared case-blind.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

_WORD = re.compile(r"\d+(?:[.,:/]\d+)*[^\W_]*|[^\W_]+(?:['’][^\W_]+)*")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "′": "'"})
_PLAIN_MARKS = str.maketrans(
    {
        **dict.fromkeys("“”„‟«»″", '"'),
        **dict.fromkeys("‘’‚‛′´`", "'"),
        **dict.fromkeys("‐‑‒–—―−", "-"),
        "\u00ad": None,
        "\u200b": None,
    }
)
_GAPS = re.compile(
    r"\[\s*(?:\.\s?){3}\s*\]|\[\s*…\s*\]|\(\s*(?:\.\s?){3}\s*\)|\(\s*…\s*\)|\.\s?\.\s?\.|…"
    r"|(?<![^\W_])\[[^\[\]]{1,80}\](?![^\W_])",
    re.IGNORECASE,
)
_SIC = re.compile(r"\s*\[\s*sic\s*\]", re.IGNORECASE)
_IN_WORD_BRACKETS = re.compile(r"\[([^\W_]{1,40})\]")

BRACKET_GAP = 8  # source words an editorial [insertion] may stand for


class Word(NamedTuple):
    """A word of a text: its characters as written, where they are, its two keys, and the
    plain punctuation between it and the word before (``gap``; "" for the first). A tuple:
    a page has hundreds of thousands of words, and a frozen dataclass is slow to make."""

    text: str
    start: int
    end: int
    strict: str
    loose: str
    gap: str
    relaxed: bool = False  # an editor touched it ([T]he): compared case-blind


def words_of(text: str, relaxed: tuple[tuple[int, int], ...] = ()) -> list[Word]:
    """The words of ``text`` in order; a word overlapping a ``relaxed`` span is relaxed."""
    found: list[Word] = []
    previous_end = 0
    known_gaps: dict[str, str] = {" ": "", "\n": ""}
    for match in _WORD.finditer(text):
        written = match.group()
        start, end = match.span()
        strict = written if written.isascii() else _strict(written)
        between = text[previous_end:start]
        gap = known_gaps.get(between)
        if gap is None:
            gap = known_gaps[between] = plain_punctuation(between)
        soft = bool(relaxed) and any(low < end and start < high for low, high in relaxed)
        loose = strict.lower() if strict.isascii() else strict.casefold()
        found.append(Word(written, start, end, strict, loose, gap if found else "", soft))
        previous_end = end
    return found


def _strict(written: str) -> str:
    return unicodedata.normalize("NFKC", written).translate(_APOSTROPHES)


def plain_punctuation(between: str) -> str:
    """The punctuation between two words, with quotation marks and dashes made plain and
    whitespace dropped."""
    plain = unicodedata.normalize("NFKC", between).translate(_PLAIN_MARKS)
    return "".join(plain.split())


@dataclass(frozen=True)
class QuotePart:
    """Words of a quote with no gap inside. ``after_gap``: a gap comes before it, which
    may skip at most ``max_skip`` source words (None: any number)."""

    words: tuple[Word, ...]
    after_gap: bool
    max_skip: int | None


def parse_quote(quote: str) -> list[QuotePart]:
    """The parts of ``quote`` between its gaps (see the module docstring)."""
    text = _SIC.sub("", quote)
    relaxed: list[tuple[int, int]] = []
    pieces: list[str] = []
    last = 0
    for match in _IN_WORD_BRACKETS.finditer(text):
        glued = (match.start() > 0 and text[match.start() - 1].isalnum()) or (
            match.end() < len(text) and text[match.end()].isalnum()
        )
        if not glued:
            continue
        pieces.append(text[last : match.start()])
        start = sum(map(len, pieces))
        pieces.append(match.group(1))
        relaxed.append((start, start + len(match.group(1))))
        last = match.end()
    pieces.append(text[last:])
    text = "".join(pieces)
    parts: list[QuotePart] = []
    start = 0
    after_gap, max_skip = False, None
    for gap in [*_GAPS.finditer(text), None]:
        end = gap.start() if gap is not None else len(text)
        spans = tuple((s - start, e - start) for s, e in relaxed if s >= start and e <= end)
        words = words_of(text[start:end], spans)
        if words:
            parts.append(QuotePart(tuple(words), after_gap, max_skip))
            after_gap, max_skip = False, None
        if gap is not None:
            written = gap.group()
            bracket = written.startswith("[") and "." not in written and "…" not in written
            skip = BRACKET_GAP if bracket else None
            if parts:
                max_skip = _wider(max_skip, skip) if after_gap else skip
                after_gap = True
            start = gap.end()
    return parts


def _wider(first: int | None, second: int | None) -> int | None:
    """Two gaps in a row skip as much as both (None: any number)."""
    if first is None or second is None:
        return None
    return first + second
