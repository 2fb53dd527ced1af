"""Rendering results for people (aligned tables) and for programs (JSON, JSON lines).

Formatters are small separate pieces so every command renders the same way; JSON field
names come from the models' ``to_dict`` and are documented in the README.
"""

from __future__ import annotations

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
