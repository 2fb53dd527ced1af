"""An aligned plain-text table, the one shape every table of the report is drawn in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


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
