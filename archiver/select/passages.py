"""Quoted passages: whether a capture holds the words an article quotes, and in what words
the selection says so.

The quote is looked for as the ``quotes`` stage looks for it (``archiver.quotes.match`` on
the reader's text of ``archiver.quotes.pagetext``), so the capture chosen and the quote's
verdict agree: a capture holds the quote when the verdict is ``verbatim`` or
``equivalent``; an ``altered`` passage (a changed number, name or negation) never does.

``normalise_passage`` is the flattening ``recover`` compares sentences by.
"""

from __future__ import annotations

import unicodedata

from archiver.archives.cache import PassageFound, PassageMatch
from archiver.quotes.match import PageWords, find_quote
from archiver.quotes.words import QuotePart, parse_quote, words_of

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


def normalise_passage(text: str) -> str:
    """Text as ``recover`` compares sentences: NFKC, straight apostrophes and hyphens, no
    double quotation marks, casefolded, single spaces."""
    flat = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    return " ".join(flat.casefold().split())


_CHANGES_SHOWN = 3  # word changes a reason names; the quotes report lists them all
_VERDICTS: dict[str, PassageFound] = {
    "verbatim": "verbatim",
    "equivalent": "equivalent",
    "altered": "altered",
    "not-found": "not-found",
}


def quote_parts(quote: str | None) -> tuple[QuotePart, ...] | None:
    """The parts ``quote`` is looked for by; None when it has no words to look for."""
    parts = parse_quote(quote) if quote else []
    return tuple(parts) or None


def find_passage(parts: tuple[QuotePart, ...], text: str | None) -> PassageMatch:
    """How the quote made of ``parts`` stands in a capture's reader ``text`` (None: the
    capture has no text to read)."""
    if text is None:
        return PassageMatch("unreadable", 0.0)
    finding = find_quote(parts, PageWords(words_of(text)))
    details = finding.forms if finding.verdict == "equivalent" else ()
    details += tuple(change.shown for change in finding.changes)
    return PassageMatch(_VERDICTS[finding.verdict], finding.score, details)


def quote_verdict_of(passage: PassageMatch) -> str:
    """The quotes stage's name for ``passage``'s verdict (``unreadable`` is its
    ``not-checked``)."""
    return "not-checked" if passage.found == "unreadable" else passage.found


def holds_quote_wording(passage: PassageMatch) -> str:
    """What a capture holds of the quote, in the quotes stage's words: "contains the
    quoted passage (verbatim)", "holds an altered version of the quoted passage (1998 →
    1999)", "does not contain the quoted passage (not-found)"."""
    if passage.found == "verbatim":
        return "contains the quoted passage (verbatim)"
    if passage.found == "equivalent":
        forms = f", differs in {', '.join(passage.details)}" if passage.details else ""
        return f"contains the quoted passage (equivalent{forms})"
    if passage.found == "altered":
        shown = passage.details[:_CHANGES_SHOWN]
        more = len(passage.details) - len(shown)
        changed = "; ".join([*shown, f"{more} more change(s)"] if more else shown)
        changed = changed or f"score {passage.score:g}"
        return f"holds an altered version of the quoted passage ({changed})"
    if passage.found == "unreadable":
        return "has no text to search for the quoted passage (not-checked)"
    return "does not contain the quoted passage (not-found)"
