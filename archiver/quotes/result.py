"""What checking one quote found: the stable JSON of ``archiver quotes`` and of the run
report's ``quotes`` section. Field names are documented here and in the README ("For
researchers"); the HTML report is built from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from archiver.models import Memento, _Serialisable
from archiver.quotes.evidence import Passage
from archiver.quotes.match import WordChange

VERDICTS = ("verbatim", "equivalent", "altered", "not-found", "not-checked")


@dataclass(frozen=True)
class CopyCheck(_Serialisable):
    """The quote looked for in one copy of the source.

    - ``copy``: ``memento`` (the archived copy at the citation date) or ``live``;
    - ``url``: where the text was read (the memento's replay URL or record locator, the
      live URL after redirects); ``datetime``: the memento's datetime as its archive
      stated it, or when the live page was read (ISO 8601 UTC);
    - ``verdict``: ``verbatim`` (the same words, case and punctuation, after normalising
      only form: whitespace, quotation marks, dashes, character references), ``equivalent``
      (the same words, differing only in form: ``forms`` says which, ``case`` or
      ``punctuation``), ``altered`` (words or numbers differ: ``changes``), ``not-found``,
      or ``not-checked`` (``reason`` says why: no copy, no text in it, the page not alive);
    - ``score``: 0-100, 100 for verbatim and equivalent; for altered and not-found how much
      of the quote and the closest passage align (2 × matched words / words in both);
    - ``passage``: the passage found (``exact``, ``before``, ``after``: text around it;
      ``start``/``end``: characters of the page's reader text), null when not found;
    - ``selector``: a W3C Web Annotation ``TextQuoteSelector`` (``type``, ``exact``,
      ``prefix``, ``suffix``) for the passage;
    - ``fragment``: the text fragment directive (``:~:text=...``) that highlights it, and
      ``link``: ``url`` with it, for a URL a browser opens (null for a local record);
    - ``changes``: for ``altered``, each ``{quote, source, kinds, shown}``: the quote's words
      and the source's (``""`` for none), ``kinds`` among ``number``, ``name``,
      ``negation``, ``word``, ``shown`` like ``1998 → 1999``.
    """

    copy: str
    url: str
    datetime: str | None
    verdict: str
    score: float = 0.0
    reason: str = ""
    passage: Passage | None = None
    selector: dict[str, str] | None = None
    fragment: str | None = None
    link: str | None = None
    changes: tuple[WordChange, ...] = ()
    forms: tuple[str, ...] = ()

    @property
    def holds_quote(self) -> bool:
        return self.verdict in ("verbatim", "equivalent")


@dataclass(frozen=True)
class Drift(_Serialisable):
    """The live page against the memento: ``drifted`` is true when the memento holds the
    quote (verbatim or equivalent) and the live page does not; ``changed_percent`` is how
    much of the page's words changed between the two (0-100: 100 × (1 − the indel
    similarity of their word sequences)); ``reason`` in words."""

    drifted: bool
    changed_percent: float
    reason: str


@dataclass(frozen=True)
class QuoteResult(_Serialisable):
    """One quoted passage of the article, checked.

    ``quote``, ``url``, ``line``, ``cited_at`` come from the citation; ``verdict`` and
    ``score`` are the memento's (``memento``: the copy chosen for the citation date, the
    ``find`` command's object); ``archived`` and ``live`` are the two ``CopyCheck``s
    (``live`` null when the live page was not read); ``drift`` compares them when both
    pages were read; ``drifted`` repeats ``drift.drifted`` (false without a drift).
    """

    quote: str
    url: str | None
    line: int
    cited_at: str | None
    verdict: str
    score: float
    memento: Memento | None
    archived: CopyCheck | None
    live: CopyCheck | None = None
    drift: Drift | None = None
    drifted: bool = False


def quote_summary(results: tuple[QuoteResult, ...] | list[QuoteResult]) -> dict[str, int]:
    """How many quotes got each verdict, and how many drifted."""
    counts = {"quotes": len(results), **dict.fromkeys(VERDICTS, 0), "drifted": 0}
    for result in results:
        counts[result.verdict] += 1
        counts["drifted"] += result.drifted
    return counts
