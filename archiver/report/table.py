"""Rendering for people: each result as an aligned table (``columns.table``).

Long columns (URLs, reasons) are shortened to fit the terminal, whose width is read when
the formatter is made; everything else is shown whole. What a reader may want besides
the table (a summary line, where the report went) is for the command to say on stderr.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from archiver.report.columns import table, terminal_width

if TYPE_CHECKING:
    from archiver.export.contents import Exported
    from archiver.models import Citation, LinkCheck, Selection
    from archiver.pipeline import FinishedRun, NotStored
    from archiver.save.results import SaveReport
    from archiver.storage.manifest import Capture
    from archiver.storage.verify import VerifyReport


class TableFormat:
    """A table per result, fitted to ``width`` columns (default: the terminal's)."""

    def __init__(self, width: int | None = None) -> None:
        self.width = terminal_width() if width is None else width

    def citations(self, citations: Sequence[Citation]) -> str:
        rows = [
            (c.line, c.url or c.marker, c.text, c.cited_at or "", c.quote or "") for c in citations
        ]
        widths = [0, self.width // 2, 30, 0, 30]
        return table(["line", "url", "text", "cited", "quote"], rows, widths)

    def checks(self, results: Sequence[LinkCheck]) -> str:
        rows = [
            (
                r.verdict.value + (" (confirmed)" if r.confirmed else ""),
                r.http_status or "",
                r.url,
                r.reason,
            )
            for r in results
        ]
        return table(["verdict", "status", "url", "reason"], rows, [0, 0, self.width // 2, 70])

    def selection(self, url: str, date: str | None, selection: Selection) -> str:
        """The memento chosen, or nothing when there is none (the reason says why)."""
        memento = selection.memento
        if memento is None:
            return ""
        row = (memento.datetime, memento.http_status or "", memento.archive, memento.url)
        return table(["datetime", "status", "archive", "memento"], [row])

    def captures(self, captures: Sequence[Capture], not_stored: Sequence[NotStored] = ()) -> str:
        rows = [
            (c.source, c.warc_date, c.target_uri, c.warc_file, requisites_summary([c]))
            for c in captures
        ]
        rows += [(f.source, "not stored", f.url, f.reason, "") for f in not_stored]
        headers = ["kind", "date", "url", "file", "requisites"]
        return table(headers, rows, [0, 0, self.width // 2, 0, 0])

    def verification(self, report: VerifyReport) -> str:
        """A line per problem, one per note, then the outcome."""
        lines = [f"{problem.check}: {problem.message}" for problem in report.problems]
        lines += [f"note: {note.check}: {note.message}" for note in report.notes]
        status = "OK" if report.ok else f"FAILED ({len(report.problems)} problem(s))"
        lines.append(
            f"{status}: {report.files_checked} file(s), {report.records_checked} record(s) checked"
        )
        return "\n".join(lines)

    def saves(self, report: SaveReport) -> str:
        rows = [
            (r.status.value, r.url, r.timestamp or "", r.memento_url or r.message)
            for r in report.results
        ]
        body = table(
            ["status", "url", "captured", "memento or reason"], rows, [0, self.width // 3, 0, 90]
        )
        summary = ", ".join(f"{k}={v}" for k, v in report.summary().items() if v)
        return f"{body}\n\n{summary or 'nothing to save'}"

    def exports(self, results: Sequence[Exported]) -> str:
        """A line per package written, then what of the store each left out."""
        lines = []
        for r in results:
            pages = f", {r.pages} page(s)" if r.kind == "wacz" else ""
            lines.append(
                f"{r.kind}: {r.path}: {r.files} file(s), {r.bytes:,} bytes{pages} from {r.store}"
            )
            if r.left_out:
                lines.append(f"  left out (not the store's): {', '.join(r.left_out)}")
        return "\n".join(lines)

    def run(self, finished: FinishedRun) -> str:
        """One row per citation: its verdict, the copy chosen (or why none), what was
        stored; then the counts, and the notes about the whole run (offline)."""
        rows = []
        for result in finished.report.results:
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
            requisites = requisites_summary(result.captures)
            rows.append((c.line, verdict, shown, found, stored, requisites))
        wide = max(self.width // 3, 40)
        headers = ["line", "verdict", "url", "archived copy", "stored", "requisites"]
        body = table(headers, rows, [0, 0, wide, wide, 0, 0])
        summary = ", ".join(f"{k}={v}" for k, v in finished.report.summary().items())
        return "\n".join([body, "", summary, *finished.report.notes])


def requisites_summary(captures: Sequence[Capture]) -> str:
    """What the captures' requisites came to, in a few words ("9 stored, 2 shared, 1 left
    out, 1 a year or more from its page"); "-" when they name none. The JSON report
    lists each one, and why one was left out."""
    stored = shared = far = 0
    left_out = 0
    for capture in captures:
        for requisite in capture.requisites:
            shared += requisite.shared
            stored += not requisite.shared
            far += requisite.note is not None
        left_out += len(capture.requisites_left_out)
    parts = [f"{stored} stored"] if stored or shared or left_out else []
    parts += [f"{shared} shared"] if shared else []
    parts += [f"{left_out} left out"] if left_out else []
    parts += [f"{far} a year or more from its page"] if far else []
    return ", ".join(parts) or "-"


def _archive_label(spec: str) -> str:
    """A short name for an archive spec: 'ia', 'wayback', 'loc', or a file name."""
    if "://" not in spec and ("/" in spec or "\\" in spec):
        return Path(spec).name
    return spec.split(":", 1)[0]
