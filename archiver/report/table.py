"""Rendering for people: each result as an aligned table (``columns.table``).

Long columns (URLs, reasons) are shortened to fit the terminal, whose width is read when
the formatter is made; everything else is shown whole. What a reader may want besides
the table (a summary line, where the report went) is for the command to say on stderr.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from archiver.quotes.render import quote_tally
from archiver.report.columns import table, terminal_width

if TYPE_CHECKING:
    from archiver.export.contents import Exported
    from archiver.models import Citation, LinkCheck, Selection
    from archiver.pipeline import CitationResult, FinishedRun, NotStored
    from archiver.quotes.result import QuoteResult
    from archiver.save.results import SaveReport
    from archiver.storage.fixity import FixityRun
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
        if report.mode == "plain":
            what = (
                f"{report.bytes_checked:,} bytes checked against the manifest's sha256 "
                "(--deep also reads every record)"
            )
        else:
            what = f"{report.records_checked} record(s) checked"
        lines.append(f"{status}: {report.files_checked} file(s), {what}")
        return "\n".join(lines)

    def fixity(self, runs: Sequence[FixityRun]) -> str:
        """A row per run of ``verify``, oldest first; the problems named by their checks."""
        if not runs:
            return "no verification recorded yet"
        rows = [
            (
                r.started,
                r.mode,
                "OK" if r.ok else f"FAILED ({r.problem_count})",
                r.files_checked,
                r.records_checked if r.mode == "deep" else "",
                f"{r.bytes_checked:,}",
                (r.manifest_sha256 or "")[:12],
                ", ".join(sorted({f"{p.check} {p.file}" for p in r.problems}))
                + (" ..." if r.problem_count > len(r.problems) else ""),
            )
            for r in runs
        ]
        headers = ["started", "mode", "result", "files", "records", "bytes", "manifest"]
        return table([*headers, "problems"], rows, [0, 0, 0, 0, 0, 0, 0, self.width // 3])

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
        stored, and, when the article quotes its sources, the quote's verdict in the
        stored copy (``run_quote_cell``); then the counts, the quotes' counts, and the
        notes about the whole run (offline)."""
        report = finished.report
        quotes: dict[tuple[str | None, int, str | None], QuoteResult] = {
            (q.url, q.line, q.quote): q for q in report.quotes
        }
        rows = []
        for result in report.results:
            c = result.citation
            row: list[object] = [c.line, *self._run_cells(result)]
            if quotes:
                row.append(run_quote_cell(quotes.get((c.url, c.line, c.quote))))
            rows.append(row)
        wide = max(self.width // 3, 40)
        headers = ["line", "verdict", "url", "archived copy", "stored", "requisites"]
        widths = [0, 0, wide, wide, 0, 0]
        if quotes:
            headers.append("quote")
            widths.append(max(self.width // 4, 30))
        summary = ", ".join(f"{k}={v}" for k, v in report.summary().items())
        counts = [f"quotes: {quote_tally(report.quotes)}"] if quotes else []
        return "\n".join([table(headers, rows, widths), "", summary, *counts, *report.notes])

    @staticmethod
    def _run_cells(result: CitationResult) -> tuple[str, str | None, str, str, str]:
        """A run row's verdict, url, archived copy, stored and requisites."""
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
        return verdict, shown, found, stored, requisites_summary(result.captures)


def run_quote_cell(quote: QuoteResult | None) -> str:
    """The quote's verdict in the stored copy, in a few words: ``verbatim``, ``equivalent
    (case)``, ``altered: 1998 → 1999``, ``not-found``, ``not-checked``, with ``, drifted``
    when the live page no longer holds it; "" for a citation that quotes nothing."""
    if quote is None:
        return ""
    archived = quote.archived
    cell = quote.verdict
    if archived is not None and archived.forms:
        cell += f" ({', '.join(archived.forms)})"
    if archived is not None and archived.changes:
        cell += ": " + "; ".join(change.shown for change in archived.changes)
    return cell + (", drifted" if quote.drifted else "")


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
