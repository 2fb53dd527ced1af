"""What a repair changed and why, for people (a table and a closing line) and programs
(JSON: the ``Repair``'s fields, with where the article was written)."""

from __future__ import annotations

from archiver.repair.article import EDITS, Repair
from archiver.repair.plan import unconfirmed_note
from archiver.report.columns import table, terminal_width
from archiver.report.json_format import to_json


def render_repair(repair: Repair, fmt: str, output: str | None) -> str:
    """``repair`` as ``fmt`` (``table`` or ``json``); ``output``: where it was written
    (None: nowhere, a dry run)."""
    if fmt == "json":
        return to_json({**repair.to_dict(), "output": output})
    width = terminal_width()
    rows = [
        (
            c.line,
            c.action,
            c.url or "(removed link)",
            c.memento or "",
            c.reason + (unconfirmed_note(c) if c.action in EDITS else ""),
        )
        for c in repair.changes
    ]
    return table(
        ["line", "action", "url", "archived copy", "why"], rows, [0, 0, width // 3, width // 3, 60]
    )


def closing_line(repair: Repair, output: str | None) -> str:
    """One line: what changed, which dead links are not yet confirmed or were left, and
    where the article went."""
    counts = repair.summary()
    linked = counts["archived"] + counts["archived_live"] + counts["restored"]
    parts = [f"{linked} of {counts['citations']} citation(s) now link an archived copy"]
    if counts["tagged_dead"]:
        parts.append(f"{counts['tagged_dead']} tagged as dead (no copy)")
    if counts["unconfirmed"]:
        parts.append(
            f"{counts['unconfirmed']} of those dead are not yet confirmed by the "
            "failures-over-days rule (--confirmed-only holds them back)"
        )
    if counts["dead_left"]:
        parts.append(f"{counts['dead_left']} dead link(s) left as they were")
    where = "nothing written (--dry-run)"
    if output is not None:
        where = "written to standard output" if output == "-" else f"written to {output}"
    return "; ".join(parts) + f"; {where}"
