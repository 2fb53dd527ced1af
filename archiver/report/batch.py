"""Rendering a batch's report (``archiver.batch.run.BatchReport``): for people, the
totals and the hosts with the most dead links; for programs, the JSON document also
written to the reports folder's ``batch.json`` (with ``jsonl`` it is the last line, after
one line per article)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from archiver.report.columns import table
from archiver.report.json_format import to_json

if TYPE_CHECKING:
    from archiver.batch.run import BatchReport


def render_batch(report: BatchReport, fmt: str) -> str:
    if fmt == "json":
        return to_json(report.to_dict())
    if fmt == "jsonl":
        return json.dumps({"batch": report.to_dict()}, ensure_ascii=False)
    return batch_table(report)


def batch_table(report: BatchReport) -> str:
    summary = report.summary
    resumed = f" ({report.resumed} finished by an earlier run)" if report.resumed else ""
    lines = [
        f"articles: {report.articles}{resumed}, unreadable: {report.failed}, "
        f"with problems: {report.with_problems}",
        f"citations: {summary.get('citations', 0)}, dead: {summary.get('dead', 0)}, "
        f"recovered: {summary.get('recovered', 0)}, with a memento: "
        f"{summary.get('with_memento', 0)}, captures: {summary.get('captures', 0)}",
    ]
    verdicts = [
        (k.removeprefix("verdict_"), v) for k, v in summary.items() if k.startswith("verdict_")
    ]
    if verdicts:
        lines.append("verdicts: " + ", ".join(f"{k} {v}" for k, v in verdicts))
    if report.verification is not None:
        state = "verified" if report.verification.ok else "FAILED verification"
        lines.append(f"store: {report.store}, {state}")
    if report.worst_hosts:
        rows = [(h["host"], h["links"], h["failed"]) for h in report.worst_hosts]
        lines += ["", "hosts with the most dead links:", table(["host", "links", "dead"], rows)]
    if report.errors:
        lines += ["", "articles that could not be read:", *report.errors]
    return "\n".join(lines)
