"""Rendering results for people (aligned tables) and for programs (JSON, JSON lines).

Formatters are small separate pieces so every command renders the same way; JSON field
names come from the models' ``to_dict`` and are documented in the README.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archiver.pipeline import RunReport
    from archiver.save.results import SaveReport

import json
from collections.abc import Iterable, Sequence
from typing import Any


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


# What json.dumps(row, ensure_ascii=False) builds for every call, made once: a long list's
# JSON lines are tens of thousands of calls.
_JSON_LINE = json.JSONEncoder(ensure_ascii=False)


def to_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "\n".join(_JSON_LINE.encode(row) for row in rows)


def shorten(text: str | None, width: int) -> str:
    value = " ".join((text or "").split())
    return value if len(value) <= width else value[: max(width - 1, 0)] + "…"


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], widths: Sequence[int] = ()
) -> str:
    """An aligned plain-text table; columns with a width in ``widths`` are shortened."""
    cells = [[str(h) for h in headers]]
    for row in rows:
        cells.append(
            [
                shorten("" if v is None else str(v), widths[i])
                if i < len(widths) and widths[i]
                else ("" if v is None else str(v))
                for i, v in enumerate(row)
            ]
        )
    sizes = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(sizes[i]) for i, c in enumerate(row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * s for s in sizes))
    return "\n".join(lines)


def terminal_width(default: int = 120) -> int:
    import shutil  # only tables need it, and JSON output is what scripts ask for

    return shutil.get_terminal_size((default, 24)).columns


def render_save_report(report: SaveReport) -> str:
    rows = [
        (r.status.value, r.url, r.timestamp or "", r.memento_url or r.message)
        for r in report.results
    ]
    width = terminal_width()
    body = table(["status", "url", "captured", "memento or reason"], rows, [0, width // 3, 0, 90])
    summary = ", ".join(f"{k}={v}" for k, v in report.summary().items() if v)
    return f"{body}\n\n{summary or 'nothing to save'}"


def render_run_report(report: RunReport) -> str:
    """One row per citation: its verdict, the copy chosen (or why none), what was stored."""
    rows = []
    for result in report.results:
        c = result.citation
        memento = result.selection.memento if result.selection else None
        if memento is not None:
            found = f"{memento.datetime[:10]} in {_archive_label(memento.archive)}"
        elif result.selection is not None:
            found = result.selection.reason
        else:
            found = "; ".join(result.notes)
        stored = "+".join(cap.source for cap in result.captures) or "-"
        verdict = result.check.verdict.value if result.check else "removed"
        shown = f"(recovered) {c.url}" if c.recovered_from else c.url or c.marker
        rows.append((c.line, verdict, shown, found, stored))
    width = terminal_width()
    body = table(
        ["line", "verdict", "url", "archived copy", "stored"],
        rows,
        [0, 0, max(width // 3, 40), max(width // 3, 40), 0],
    )
    summary = ", ".join(f"{k}={v}" for k, v in report.summary().items())
    return f"{body}\n\n{summary}"


def _archive_label(spec: str) -> str:
    """A short name for an archive spec: 'ia', 'wayback', 'loc', or a file name."""
    if "://" not in spec and ("/" in spec or "\\" in spec):
        return Path(spec).name
    return spec.split(":", 1)[0]
