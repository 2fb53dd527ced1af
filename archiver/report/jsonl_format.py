"""Rendering for programs that read a stream: JSON Lines, one compact object per line.

A list (citations, checks, captures) is a line per item; a result that is one document
(a selection, a verification, a Save Page Now report, a run) is one line. The objects are
the same as ``json_format``'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from archiver.models import FAILING, History, LinkCheck

if TYPE_CHECKING:
    from archiver.export.contents import Exported
    from archiver.models import Citation, Selection
    from archiver.pipeline import FinishedRun, NotStored
    from archiver.save.results import SaveReport
    from archiver.storage.fixity import FixityRun
    from archiver.storage.manifest import Capture
    from archiver.storage.verify import VerifyReport

# What json.dumps(row, ensure_ascii=False) builds for every call, made once: a long list's
# JSON lines are tens of thousands of calls.
_JSON_LINE = json.JSONEncoder(ensure_ascii=False)


_STRING = json.encoder.encode_basestring  # what _JSON_LINE writes a string as
_NULL = "null"


def check_line(check: LinkCheck) -> str:
    """``check``'s JSON line, the same characters as ``_JSON_LINE.encode(check.to_dict())``
    (a test holds it, for every field), made with a third of the work: a long list has
    hundreds of thousands, and they were a quarter of what its main process did."""
    c = check
    return (
        f'{{"url": {_STRING(c.url)}, "verdict": "{c.verdict}", "http_status": '
        f"{_NULL if c.http_status is None else int(c.http_status)}, "
        f'"final_url": {_NULL if c.final_url is None else _STRING(c.final_url)}, '
        f'"reason": {_STRING(c.reason)}, "checked_at": {_STRING(c.checked_at)}, '
        f'"method": {_NULL if c.method is None else _STRING(c.method)}, '
        f'"from_cache": {"true" if c.from_cache else "false"}, '
        f'"confirmed": {"true" if c.confirmed else "false"}, '
        f'"history": {_NULL if c.history is None else _history_json(c.history)}}}'
    )


# Equal histories are shared (check.history._history): nearly every line has one of a few.
# Known by identity, each held with its JSON (so its id is not reused meanwhile): a
# dataclass's hash, for an lru_cache, cost a call of Python a line.
_HISTORY_JSON: dict[int, tuple[History, str]] = {}
_HISTORIES_KEPT = 1024


def _history_json(history: History) -> str:
    known = _HISTORY_JSON.get(id(history))
    if known is not None and known[0] is history:
        return known[1]
    if len(_HISTORY_JSON) >= _HISTORIES_KEPT:
        _HISTORY_JSON.clear()
    text = _JSON_LINE.encode(history.to_dict())
    _HISTORY_JSON[id(history)] = (history, text)
    return text


def to_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "\n".join(_JSON_LINE.encode(row) for row in rows)


class JsonLinesFormat:
    """A line per item of a list; one line for a result that is one document."""

    def citations(self, citations: Sequence[Citation]) -> str:
        return to_jsonl(c.to_dict() for c in citations)

    def checks(self, results: Sequence[LinkCheck]) -> str:
        return "\n".join(check_line(r) for r in results)

    def selection(self, url: str, date: str | None, selection: Selection) -> str:
        return to_jsonl([{"url": url, "date": date, **selection.to_dict()}])

    def captures(self, captures: Sequence[Capture], not_stored: Sequence[NotStored] = ()) -> str:
        failed = [{**f.to_dict(), "warc_file": None} for f in not_stored]
        return to_jsonl([*(c.to_dict() for c in captures), *failed])

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
    """JSON lines of checks written out as they arrive, so that a list of any length is
    never held: memory stays flat however many links are checked (bench/, scenario C).

    Until some link answers, this machine may be offline, and then the verdicts of the
    links checked become ``offline`` at the end: those lines are held back until a link
    answers (then written) or the end (``finish`` writes the offline verdicts instead).
    Results reused from the history are written at once: they are not redone offline.
    """

    def __init__(self, write: Callable[[str], object]) -> None:
        self._write = write
        self._held: list[str] = []
        self._answered = False
        self.count = 0
        self.failures = 0  # dead or soft-404 verdicts written

    def arrived(self, result: LinkCheck) -> None:
        line = check_line(result) + "\n"
        self.count += 1
        self.failures += result.verdict in FAILING
        if self._answered or result.from_cache:
            self._write(line)
        elif result.http_status is not None:
            self._answered = True
            self._write("".join(self._held) + line)
            self._held = []
        else:
            self._held.append(line)

    def finish(self, offline: Sequence[LinkCheck]) -> None:
        """Write what was held: as it was, or the offline verdicts that replace it."""
        if offline:
            self.failures = 0  # an offline machine's verdicts say nothing of the links
            self._write("".join(check_line(r) + "\n" for r in offline))
        else:
            self._write("".join(self._held))
        self._held = []
