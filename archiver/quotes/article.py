"""The ``quotes`` command's stage: every quote of an article checked.

For each quoted citation, the memento closest to the citation date is chosen as ``find``
chooses it (the same archives, the same lookup cache, a copy holding the quote preferred:
``archiver.select``), read through its archive (``verify.read_memento``), and the live
page is read when it answers (``verify.read_live``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from archiver.archives.base import by_spec
from archiver.archives.cache import LookupCache
from archiver.archives.specs import parse_archive_spec
from archiver.dates import SYSTEM_CLOCK, RunClock, to_iso
from archiver.errors import ArchiverError
from archiver.models import Citation, Memento
from archiver.net.http import build_session
from archiver.net.polite import Net
from archiver.pipeline import citation_date
from archiver.quotes.result import QuoteResult
from archiver.quotes.verify import (
    Page,
    Unread,
    check_quote,
    quoted_citations,
    read_live,
    read_memento,
)
from archiver.select.choose import find_best_memento
from archiver.state import open_state

if TYPE_CHECKING:
    from archiver.config import Settings

Progress = Callable[[str], None]


def check_article_quotes(
    citations: Sequence[Citation],
    settings: Settings,
    *,
    live: bool = True,
    ignore_case: bool = False,
    on_progress: Progress | None = None,
    clock: RunClock = SYSTEM_CLOCK,
) -> list[QuoteResult]:
    """Every quote of ``citations`` checked against the memento at its citation date
    (across ``settings.archives``) and, with ``live``, the live page."""
    say = on_progress or (lambda _message: None)
    quoted = quoted_citations(citations)
    archives = [parse_archive_spec(spec) for spec in settings.archives]
    results = []
    with open_state(settings) as state, build_session(settings) as session:
        cache = LookupCache(state, clock=clock.now)
        net = Net(session, settings)
        for number, citation in enumerate(quoted, 1):
            assert citation.url is not None
            say(f"[{number}/{len(quoted)}] {citation.url}")
            memento: Memento | None = None
            archived: Page | Unread
            try:
                selection = find_best_memento(
                    citation.url,
                    citation_date(citation),
                    archives,
                    session,
                    settings,
                    quote=citation.quote,
                    cache=cache,
                )
                memento = selection.memento
                archived = Unread(None, f"no archived copy: {selection.reason}")
            except ArchiverError as e:
                archived = Unread(None, f"archive lookup failed: {e}")
            if memento is not None:
                archived = read_memento(memento, by_spec(archives)[memento.archive], net)
            page = read_live(citation.url, session, settings, to_iso(clock.now())) if live else None
            results.append(check_quote(citation, memento, archived, page, ignore_case=ignore_case))
    return results
