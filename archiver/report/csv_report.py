"""A run as CSV, one row a citation, for spreadsheets: rendered from the run's JSON
document, as the HTML report is. A cell that a spreadsheet would take for a formula
(starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading
apostrophe, so a hostile page title cannot run in the reader's spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from archiver.report.html_report import citation_extras

COLUMNS = (
    "line", "url", "text", "sentence", "cited_at", "verdict", "confirmed", "http_status",
    "reason", "final_url", "memento_datetime", "memento_url", "memento_archive", "captures",
    "quote", "quote_verdict", "repair", "notes",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def run_csv(report: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    extras = citation_extras(report)
    for result in report.get("results") or ():
        quote, repair = extras(result.get("citation") or {})
        writer.writerow([_cell(v) for v in _row(result, quote or {}, repair or {})])
    return out.getvalue().rstrip("\n")


def _row(
    result: Mapping[str, Any], quote: Mapping[str, Any], repair: Mapping[str, Any]
) -> list[object]:
    citation = result.get("citation") or {}
    check = result.get("check") or {}
    memento = (result.get("selection") or {}).get("memento") or {}
    return [
        citation.get("line"),
        citation.get("url") or "",
        citation.get("text") or citation.get("marker"),
        citation.get("context"),
        citation.get("cited_at"),
        check.get("verdict") or ("removed" if not citation.get("url") else ""),
        check.get("confirmed"),
        check.get("http_status"),
        check.get("reason"),
        check.get("final_url"),
        memento.get("datetime"),
        memento.get("url"),
        memento.get("archive"),
        len(result.get("captures") or ()),
        citation.get("quote"),
        quote.get("verdict"),
        repair.get("action"),
        "; ".join(result.get("notes") or ()),
    ]
