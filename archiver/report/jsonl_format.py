"""Rendering for programs that read a stream: JSON Lines, one compact object per line.

A list (citations, checks, captures) is a line per item; a result that is one document
(a selection, a verification, a Save Page Now report, a run) is one line. The objects are
the same as ``json_format``'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archiver.export.contents import Exported
    from archiver.models import Citation, LinkCheck, Selection
    from archiver.pipeline import FinishedRun
    from archiver.save.results import SaveReport
    from archiver.storage.fixity import FixityRun
    from archiver.storage.manifest import Capture
    from archiver.storage.verify import VerifyReport

# What json.dumps(row, ensure_ascii=False) builds for every call, made once: a long list's
# JSON lines are tens of thousands of calls.
_JSON_LINE = json.JSONEncoder(ensure_ascii=False)


def to_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "\n".join(_JSON_LINE.encode(row) for row in rows)


class JsonLinesFormat:
    """A line per item of a list; one line for a result that is one document."""

    def citations(self, citations: Sequence[Citation]) -> str:
        return to_jsonl(c.to_dict() for c in citations)

    def checks(self, results: Sequence[LinkCheck]) -> str:
        return to_jsonl(r.to_dict() for r in results)

    def selection(self, url: str, date: str | None, selection: Selection) -> str:
        return to_jsonl([{"url": url, "date": date, **selection.to_dict()}])

    def captures(self, captures: Sequence[Capture]) -> str:
        return to_jsonl(c.to_dict() for c in captures)

    def verification(self, report: VerifyReport) -> str:
        return to_jsonl([report.to_dict()])

    def fixity(self, runs: Sequence[FixityRun]) -> str:
        return to_jsonl(r.to_dict() for r in runs)

    def saves(self, report: SaveReport) -> str:
        return to_jsonl([report.to_dict()])

    def exports(self, results: Sequence[Exported]) -> str:
        return to_jsonl(r.to_dict() for r in results)

    def run(self, finished: FinishedRun) -> str:
        return to_jsonl([finished.to_dict()])


class StreamedChecks:
    """JSON lines of checks rendered as they arrive, while the checking process mostly
    waits, so that the end of a long run does not spend a moment on them; a result
    replaced since (an offline verdict) is rendered again."""

    def __init__(self) -> None:
        self._lines: dict[str, tuple[LinkCheck, str]] = {}

    def arrived(self, result: LinkCheck) -> None:
        self._lines[result.url] = (result, _JSON_LINE.encode(result.to_dict()))

    def render(self, results: Sequence[LinkCheck]) -> str:
        return "\n".join(self._line(result) for result in results)

    def _line(self, result: LinkCheck) -> str:
        rendered = self._lines.get(result.url)
        if rendered is not None and rendered[0] is result:
            return rendered[1]
        return _JSON_LINE.encode(result.to_dict())
