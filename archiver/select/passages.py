"""Quoted passages: whether the words an article quotes are in a capture's text.

Typography differs between an article and its source without changing the words (curly
quotes, hyphens, soft hyphens, spacing), and authors elide ("...") and misquote: the
comparison is made on normalised text, exactly first, then fuzzily for long quotes.
``recover`` normalises sentences the same way.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

from archiver.archives.cache import PassageMatch

FUZZY_PASSAGE = 90.0  # rapidfuzz partial_ratio at or above which a passage counts as found
FUZZY_MIN_LENGTH = 20  # shorter quotes match anything fuzzily; they must match exactly

# Typography that differs between an article and its source without changing the words.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        # Double quotation marks are dropped: a passage quoting a quotation nests them.
        '"': None,
        "\u201c": None,
        "\u201d": None,
        "\u201e": None,
        "\u201f": None,
        "\u2033": None,
        "\u00ab": None,
        "\u00bb": None,
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero-width space
    }
)
_ELISION = re.compile(r"\s*(?:\[\s*\.\.\.\s*\]|\(\s*\.\.\.\s*\)|\.\.\.)\s*")
_EDGE = " \"'.,;:"


def normalise_passage(text: str) -> str:
    """Text as compared for quotes: NFKC, straight apostrophes and hyphens, no double
    quotation marks, casefolded, single spaces. HTML is stripped before this
    (``soft404.summarise`` gives the visible text)."""
    flat = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    return " ".join(flat.casefold().split())


def find_passage(quote: str, text: str) -> PassageMatch:
    """Whether normalised ``quote`` is in normalised ``text``.

    Exact: every part of the quote (split at elisions, "..." or "[...]") appears in order.
    Otherwise fuzzy, for quotes of at least ``FUZZY_MIN_LENGTH`` characters: rapidfuzz's
    ``partial_ratio`` (best alignment of the quote within the text) of ``FUZZY_PASSAGE``
    or more, which forgives a changed word or a typo in a sentence.
    """
    parts = [p.strip(_EDGE) for p in _ELISION.split(quote)]
    parts = [p for p in parts if p]
    if not parts:
        return PassageMatch("no", 0.0)
    position = 0
    for part in parts:
        found = _find_words(text, part, position)
        if found < 0:
            break
        position = found + len(part)
    else:
        return PassageMatch("exact", 100.0)
    joined = " ".join(parts)
    if len(joined) < FUZZY_MIN_LENGTH:
        return PassageMatch("no", 0.0)
    score = fuzz.partial_ratio(joined, text, score_cutoff=FUZZY_PASSAGE)
    return PassageMatch("fuzzy", round(score, 1)) if score else PassageMatch("no", 0.0)


def _find_words(text: str, part: str, start: int) -> int:
    """Where ``part`` occurs in ``text`` from ``start`` without cutting a word, or -1."""
    found = text.find(part, start)
    while found >= 0:
        end = found + len(part)
        cuts_before = found > 0 and part[0].isalnum() and text[found - 1].isalnum()
        cuts_after = end < len(text) and part[-1].isalnum() and text[end].isalnum()
        if not (cuts_before or cuts_after):
            return found
        found = text.find(part, found + 1)
    return -1
