"""Rendering for programs: each result as one JSON document.

Field names come from the models' ``to_dict`` and are documented in the README; they are
a contract, so a change here is a change for every script that reads them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archiver.export.contents import Exported
    from archiver.models import Citation, LinkCheck, Selection
    from archiver.pipeline import FinishedRun, NotStored
    from archiver.save.results import SaveReport
    from archiver.storage.manifest import Capture
    from archiver.storage.verify import VerifyReport


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


class JsonFormat:
    """An indented JSON document per result: an array for lists, an object otherwise."""

    def citations(self, citations: Sequence[Citation]) -> str:
        return to_json([c.to_dict() for c in citations])

    def checks(self, results: Sequence[LinkCheck]) -> str:
        return to_json([r.to_dict() for r in results])

    def selection(self, url: str, date: str | None, selection: Selection) -> str:
        return to_json({"url": url, "date": date, **selection.to_dict()})

    def captures(self, captures: Sequence[Capture], not_stored: Sequence[NotStored] = ()) -> str:
        failed = [{**f.to_dict(), "warc_file": None} for f in not_stored]
        return to_json([*(c.to_dict() for c in captures), *failed])

    def verification(self, report: VerifyReport) -> str:
        return to_json(report.to_dict())

    def saves(self, report: SaveReport) -> str:
        return to_json(report.to_dict())

    def exports(self, results: Sequence[Exported]) -> str:
        return to_json([r.to_dict() for r in results])

    def run(self, finished: FinishedRun) -> str:
        return to_json(finished.to_dict())
