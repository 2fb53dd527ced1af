"""The ``quotes`` section of a ``run`` report, from what the run already did.

The copies the run stored are read back from the store: the stored copy is what is
proved, and nothing is fetched again. A copy the run did not store (a memento that
failed to store, a live page the run did not find alive) is ``not-checked``, with the
reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from archiver.models import Verdict
from archiver.quotes.result import QuoteResult
from archiver.quotes.verify import Page, Unread, check_quote, read_stored

if TYPE_CHECKING:
    from pathlib import Path

    from archiver.pipeline import CitationResult


def check_run_quotes(results: Sequence[CitationResult], store: Path) -> tuple[QuoteResult, ...]:
    """A ``QuoteResult`` for every quoted citation of the run that has a URL."""
    checked = []
    for result in results:
        citation = result.citation
        if not citation.url or not citation.quote or not citation.quote.strip():
            continue
        memento = result.selection.memento if result.selection is not None else None
        stored = {capture.source: capture for capture in result.captures}
        archived: Page | Unread
        if "memento" in stored:
            shown = memento.url if memento is not None else None
            archived = read_stored(store, stored["memento"], shown)
        elif memento is not None:
            archived = Unread(memento.url, "the memento was not stored in this run")
        else:
            reason = result.selection.reason if result.selection is not None else "not looked up"
            archived = Unread(None, f"no archived copy: {reason}")
        live: Page | Unread
        if "live" in stored:
            live = read_stored(store, stored["live"])
        elif result.check is not None and result.check.verdict is not Verdict.ALIVE:
            live = Unread(citation.url, f"the link is {result.check.verdict.value}")
        else:
            live = Unread(citation.url, "the live page was not stored in this run")
        checked.append(check_quote(citation, memento, archived, live))
    return tuple(checked)
