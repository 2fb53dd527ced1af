"""The quotes checked, as the ``quotes`` command prints them: a table or JSON.

The table gives one block per quote: the verdict of the memento (and of the live page),
the score, the changed words, the passage found and the link that highlights it. JSON is
``{"quotes": [QuoteResult...], "summary": {...}}`` (fields in ``archiver.quotes.result``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archiver.quotes.result import CopyCheck, QuoteResult, quote_summary
from archiver.report.json_format import to_json

_SHOWN_PASSAGE = 200  # characters of a passage shown in the table


def quotes_json(results: Sequence[QuoteResult]) -> str:
    return to_json(quotes_section(results))


def quotes_section(results: Sequence[QuoteResult]) -> dict[str, Any]:
    """The JSON object of the ``quotes`` command, and of the run report's section."""
    return {"quotes": [r.to_dict() for r in results], "summary": quote_summary(list(results))}


def quotes_table(results: Sequence[QuoteResult]) -> str:
    if not results:
        return "no quoted passages to check"
    blocks = [_block(result) for result in results]
    counts = quote_summary(list(results))
    tally = ", ".join(f"{counts[k]} {k}" for k in counts if k != "quotes" and counts[k])
    return "\n\n".join([*blocks, f"{counts['quotes']} quote(s): {tally}"])


def _block(result: QuoteResult) -> str:
    lines = [f"line {result.line}: “{_cut(result.quote)}”", f"  source: {result.url}"]
    if result.memento is not None:
        lines.append(f"  memento: {result.memento.datetime} {result.memento.url}")
    if result.archived is not None:
        lines.extend(_copy_lines("archived", result.archived))
    if result.live is not None:
        lines.extend(_copy_lines("live", result.live))
    if result.drift is not None:
        label = "DRIFTED" if result.drifted else "drift"
        lines.append(f"  {label}: {result.drift.reason}")
    return "\n".join(lines)


def _copy_lines(label: str, check: CopyCheck) -> list[str]:
    verdict = check.verdict
    if check.verdict in ("altered", "not-found"):
        verdict += f" ({check.score:g}%)"
    if check.forms:
        verdict += f" (differs in {', '.join(check.forms)})"
    lines = [f"  {label}: {verdict}" + (f": {check.reason}" if check.reason else "")]
    if check.changes:
        lines.append("    changed: " + "; ".join(change.shown for change in check.changes))
    if check.passage is not None:
        lines.append(f"    passage: “{_cut(check.passage.exact)}”")
    if check.link:
        lines.append(f"    link: {check.link}")
    return lines


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN_PASSAGE else text[: _SHOWN_PASSAGE - 1] + "…"
