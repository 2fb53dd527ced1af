"""The repair stage: an article's bytes and its run's results in, the repaired bytes out.

``repair_article`` decides what changes (``plan``), has the article's format find and
rewrite each citation (``wikitext``, ``markdown``, ``html``, ``plaintext``), makes the
edits, and writes the result in the article's own encoding: every byte outside the
edited spans is the one read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archiver.models import _Serialisable
from archiver.repair.edits import Edit, apply_edits, encode_like
from archiver.repair.plan import ALREADY_ARCHIVED, Change, RepairOptions, Target, plan_repairs
from archiver.repair.replay import ReplayAddress

if TYPE_CHECKING:
    from archiver.extract import Article
    from archiver.pipeline import CitationResult

Editor = Callable[
    [str, Sequence[Target], RepairOptions, "str | None"], list[tuple[Edit | None, str]]
]

# What each kind of change is called in the summary.
ACTIONS = {
    ("archive", "dead"): "archived",
    ("archive", "live"): "archived-live",
    ("restore", "dead"): "restored",
    ("restore", "live"): "restored",
    ("tag-dead", "dead"): "tagged-dead",
}
EDITS = ("archived", "archived-live", "restored", "tagged-dead")
SUMMARY_ACTIONS = (*EDITS, "already-archived", "kept")


@dataclass(frozen=True)
class Repair(_Serialisable):
    """The repaired article: ``text`` and ``data`` (its bytes, in the original encoding),
    and one ``Change`` per citation, in the article's order."""

    source: str
    text: str
    data: bytes
    changes: tuple[Change, ...]

    @property
    def changed(self) -> list[Change]:
        return [c for c in self.changes if c.action in EDITS]

    def summary(self) -> dict[str, int]:
        counts = {"citations": len(self.changes)}
        for action in SUMMARY_ACTIONS:
            counts[action.replace("-", "_")] = sum(1 for c in self.changes if c.action == action)
        counts["unconfirmed"] = sum(
            1 for c in self.changes if c.action in EDITS and c.confirmed is False
        )
        counts["dead_left"] = sum(
            1 for c in self.changes if c.action == "kept" and c.verdict in ("dead", "soft-404")
        )
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "article": self.source,
            "changes": [c.to_dict() for c in self.changes],
            "summary": self.summary(),
        }


def repair_article(
    data: bytes,
    article: Article,
    results: Sequence[CitationResult],
    options: RepairOptions,
) -> Repair:
    """``article`` (read from ``data``) with the citations of ``results`` repaired."""
    planned = plan_repairs(results, options, ReplayAddress(options.served_at))
    targets = [p for p in planned if isinstance(p, Target)]
    outcomes = dict(
        zip(
            map(id, targets),
            _editor(article.fmt)(article.text, targets, options, article.url),
            strict=True,
        )
    )
    edits: list[Edit] = []
    changes: list[Change] = []
    for item in planned:
        if isinstance(item, Change):
            changes.append(item)
            continue
        edit, what = outcomes[id(item)]
        if edit is not None:
            edits.append(edit)
        changes.append(_change(article.text, item, edit, what))
    new_text = apply_edits(article.text, edits)
    new_data = encode_like(data, article.text, new_text, article.source)
    return Repair(article.source, new_text, new_data, tuple(changes))


def _change(text: str, target: Target, edit: Edit | None, what: str) -> Change:
    citation = target.citation
    if edit is None:
        action = "already-archived" if what.startswith(ALREADY_ARCHIVED) else "kept"
        reason = what
    else:
        action = ACTIONS[(target.action, target.status)]
        reason = f"{target.why}; {what}"
    return Change(
        citation.line,
        citation.url,
        action,
        reason,
        verdict=target.verdict,
        confirmed=target.confirmed,
        memento=target.memento,
        memento_date=target.memento_date,
        before=text[edit.start : edit.end] if edit is not None else None,
        after=edit.new if edit is not None else None,
        offset=edit.start if edit is not None else None,
    )


def _editor(fmt: str) -> Editor:
    """The format's editor, imported when first needed (wikitext brings mwparserfromhell)."""
    if fmt == "wikitext":
        from archiver.repair.wikitext import edit_wikitext

        return edit_wikitext
    if fmt == "markdown":
        from archiver.repair.markdown import edit_markdown

        return edit_markdown
    if fmt == "html":
        from archiver.repair.html import edit_html

        return edit_html
    from archiver.repair.plaintext import edit_plain_text

    return edit_plain_text
