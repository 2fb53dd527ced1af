"""What a format renders: one method per kind of result a command gives.

A command renders with ``formatter(fmt)``, whatever ``fmt`` its ``--format`` took; each
format is a module of its own (``table``, ``json_format``, ``jsonl_format``), so adding
one (CSV, HTML) touches no command. Every method returns the text to print, without a
final newline; an empty text prints nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from archiver.report.json_format import JsonFormat
from archiver.report.jsonl_format import JsonLinesFormat
from archiver.report.table import TableFormat

if TYPE_CHECKING:
    from archiver.export.contents import Exported
    from archiver.models import Citation, LinkCheck, Selection
    from archiver.pipeline import FinishedRun, NotStored
    from archiver.save.results import SaveReport
    from archiver.storage.manifest import Capture
    from archiver.storage.verify import VerifyReport


class Format(Protocol):
    def citations(self, citations: Sequence[Citation]) -> str:
        """``scan``: the citations found in an article."""

    def checks(self, results: Sequence[LinkCheck]) -> str:
        """``check``: a verdict per URL."""

    def selection(self, url: str, date: str | None, selection: Selection) -> str:
        """``find``: the copy chosen for ``url`` cited at ``date`` (as the user wrote it)."""

    def captures(self, captures: Sequence[Capture], not_stored: Sequence[NotStored] = ()) -> str:
        """``archive``: what was stored, then what should have been and was not (why)."""

    def verification(self, report: VerifyReport) -> str:
        """``verify``: what was checked and every problem."""

    def saves(self, report: SaveReport) -> str:
        """``save``: what Save Page Now made of each URL."""

    def exports(self, results: Sequence[Exported]) -> str:
        """``export``: each package written."""

    def run(self, finished: FinishedRun) -> str:
        """``run`` and ``demo``: the whole job, one row per citation."""


FORMATS: dict[str, type[Format]] = {
    "table": TableFormat,
    "json": JsonFormat,
    "jsonl": JsonLinesFormat,
}


def formatter(name: str) -> Format:
    """The format called ``name`` (``table``, ``json`` or ``jsonl``)."""
    return FORMATS[name]()
