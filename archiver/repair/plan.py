"""Which citations a repair changes, and to what: the decisions taken before any byte moves.

A citation is repaired when its link was found ``dead`` or ``soft-404`` in this run (the
only verdicts that say a source is gone: ``blocked``, ``timeout``, ``offline`` and the
rest never count), or when ``--all`` asks for an archive link on every citation (those
still alive are marked ``live``, as InternetArchiveBot does for a copy made pre-emptively).
A dead link counts at once; ``--confirmed-only`` holds back those the failures-over-days
rule has not confirmed yet, as InternetArchiveBot waits for three failures over three days.
A removed link ("[link no longer available]") whose URL was recovered is always put back,
with its archived copy. A citation that already links an archived copy is left as it is
unless ``--replace-archived`` is given.

The link written is the memento's public replay URL (``archiver.repair.replay``); a dead
link without one gets a dead-link tag where the format has one (wikitext), and is
otherwise left, with the reason in the summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from archiver.models import Citation, LinkCheck, _Serialisable
from archiver.repair.replay import ReplayAddress

if TYPE_CHECKING:
    from archiver.pipeline import CitationResult

ALREADY_ARCHIVED = "already links an archived copy"
DEFAULT_MARKDOWN_FORM = "[{text}]({memento}{title}) ([original]({url}))"
MARKDOWN_FIELDS = ("text", "memento", "url", "date", "title")


@dataclass(frozen=True)
class RepairOptions:
    """How a repair behaves (each field is a ``repair`` option).

    ``markdown_form`` is how a dead Markdown link with text is rewritten, with the fields
    ``{text}``, ``{memento}``, ``{url}``, ``{date}`` (the memento's, YYYY-MM-DD) and
    ``{title}`` (the link's title as written, with its leading space, or nothing).
    ``html_swap_dead``: a dead HTML link points at its memento (``href``), the original
    kept in ``data-originalurl``, instead of keeping ``href`` and adding
    ``data-versionurl``. ``served_at``: the replay address a local collection is served
    at. ``now``: the run's time, for the month of a ``{{dead link}}``.
    """

    every_citation: bool = False
    confirmed_only: bool = False
    replace_archived: bool = False
    served_at: str | None = None
    markdown_form: str = DEFAULT_MARKDOWN_FORM
    html_swap_dead: bool = False
    now: datetime | None = None


@dataclass(frozen=True)
class Target:
    """A citation to change: ``action`` is ``archive`` (add its archived copy),
    ``restore`` (a removed link put back, with its copy) or ``tag-dead`` (no copy: say
    the link is dead). ``status`` is ``dead`` or ``live``: what the copy stands in for."""

    number: int  # the citation's place among the run's citations, from 0
    citation: Citation
    action: str
    status: str
    memento: str | None  # public replay URL
    memento_date: str | None  # ISO 8601, as the archive stated it
    why: str
    verdict: str | None  # the link check's, None when not checked
    confirmed: bool | None  # None: not a failure verdict


@dataclass(frozen=True)
class Change(_Serialisable):
    """What the repair did to one citation (``action``: ``archived``, ``archived-live``,
    ``restored``, ``tagged-dead``), or why it did nothing (``kept``; ``already-archived``
    for a citation that already links an archived copy).

    ``before`` and ``after`` are the article's text that was replaced and what replaced
    it, ``offset`` where that text starts (all None when nothing changed); ``confirmed``
    says whether a dead verdict is confirmed by the failures-over-days rule (None when
    the link is not dead).
    """

    line: int
    url: str | None
    action: str
    reason: str
    verdict: str | None = None
    confirmed: bool | None = None
    memento: str | None = None
    memento_date: str | None = None
    before: str | None = None
    after: str | None = None
    offset: int | None = None  # where ``before`` starts in the article's text (characters)


def plan_repairs(
    results: Sequence[CitationResult], options: RepairOptions, replay: ReplayAddress
) -> list[Target | Change]:
    """For each result, in order: the ``Target`` to change, or a ``kept`` change saying
    why the citation stays as it is."""
    beside = _archived_beside([r.citation for r in results])
    return [_decide(n, result, options, replay, n in beside) for n, result in enumerate(results)]


def _archived_beside(citations: Sequence[Citation]) -> set[int]:
    """The citations whose archived copy is linked right beside them, on the same line
    (``[text](copy) ([original](url))``, ``url (archived copy: copy)``): what a repair
    writes, so that repairing the repaired article changes nothing."""
    found = set()
    for number, citation in enumerate(citations):
        for other in citations[max(number - 1, 0) : number + 2]:
            if (
                other is not citation
                and other.archive_url
                and not citation.archive_url
                and other.url == citation.url
                and other.line == citation.line
            ):
                found.add(number)
    return found


def _decide(
    number: int,
    result: CitationResult,
    options: RepairOptions,
    replay: ReplayAddress,
    archived_beside: bool,
) -> Target | Change:
    citation, check = result.citation, result.check
    verdict = check.verdict.value if check is not None else None
    failed = check is not None and check.verdict.is_failure
    confirmed = check.confirmed if check is not None and failed else None

    def keep(reason: str) -> Change:
        return Change(citation.line, citation.url, "kept", reason, verdict, confirmed)

    if citation.url is None:
        return keep("the link was removed from the text and not recovered")
    memento, why_none = None, "no archived copy was found"
    selection = result.selection
    if selection is not None and selection.memento is not None:
        memento, why_none = replay.public_url(selection.memento)
        if memento is None:  # a copy there is, but no address a reader could open
            return keep(why_none)
    elif selection is not None:
        why_none = f"no archived copy: {selection.reason}"
    date = selection.memento.datetime if memento and selection and selection.memento else None
    if citation.marker is not None and citation.recovered_from is not None:
        if memento is None:
            return keep(f"the removed link was recovered, but {why_none}")
        status = "dead" if failed else "live"
        why = "the removed link was recovered"
        return Target(number, citation, "restore", status, memento, date, why, verdict, confirmed)
    if archived_beside or (citation.archive_url and not options.replace_archived):
        reason = f"{ALREADY_ARCHIVED} (--replace-archived replaces it)"
        if archived_beside:
            reason = f"{ALREADY_ARCHIVED}: its copy is linked beside it"
        return Change(citation.line, citation.url, "already-archived", reason, verdict, confirmed)
    if failed:
        assert check is not None
        if options.confirmed_only and not check.confirmed:
            return keep(f"{verdict}, not yet confirmed: {_unconfirmed(check)}")
        why = f"{verdict}: {check.reason}"
        if memento is None:
            return Target(number, citation, "tag-dead", "dead", None, None, why, verdict, confirmed)
        return Target(number, citation, "archive", "dead", memento, date, why, verdict, confirmed)
    if options.every_citation:
        if memento is None:
            return keep(why_none)
        why = f"{verdict or 'not checked'}: archived on request (--all)"
        return Target(number, citation, "archive", "live", memento, date, why, verdict, None)
    if check is None:
        return keep("not checked")
    return keep(f"{verdict}: not dead ({check.reason})")


def _unconfirmed(check: LinkCheck) -> str:
    history = check.history
    if history is None:
        return "its first failure"
    first = (history.first_failure or "")[:10]
    return f"{history.failures} failure(s) since {first}" if first else "its first failure"


def unconfirmed_note(change: Change) -> str:
    """What the summary says of a dead link repaired before it was confirmed."""
    return (
        " (not yet confirmed by the failures-over-days rule)" if change.confirmed is False else ""
    )
