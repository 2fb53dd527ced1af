#!/usr/bin/env python3
"""How long extraction takes on large articles (results in bench/RESULTS.md).

    .venv/bin/python bench/extract_bench.py

Two inputs: 1 MB of Markdown prose with three citations a paragraph, and the link-dense
article of the link-checking benchmark's scenario B (20,000 links), generated here in the
same shape so this needs no server.
"""

from __future__ import annotations

import statistics
import time

from archiver.extract import extract_citations

PROSE = (
    "Long prose about the harbour and the council, with numbers like 3.5 and Dr. Smith, "
    'and "a quoted passage of some length here" too. See [the report](https://r.example/a) '
    "and https://bare.example/b. Opponents objected [dead link]. `code https://c.example/`\n\n"
)


def timed(text: str, fmt: str, runs: int = 5) -> tuple[float, int]:
    seconds = []
    count = 0
    for _ in range(runs):
        started = time.perf_counter()
        count = len(extract_citations(text, fmt))
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), count


def main() -> None:
    prose = PROSE * (1_000_000 // len(PROSE) + 1)
    dense = "# Benchmark article\n\n" + "".join(
        f"Claim {i} is supported by [source {i}](http://127.0.0.{2 + i % 20}:18200/p/{i}).\n\n"
        for i in range(20_000)
    )
    for name, text in (("1 MB of prose", prose), ("20,000 links", dense)):
        seconds, count = timed(text, "markdown")
        print(f"{name}: {len(text) / 1e6:.2f} MB, {count} citations, {seconds:.2f} s (median of 5)")


if __name__ == "__main__":
    main()
