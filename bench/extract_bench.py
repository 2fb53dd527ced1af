#!/usr/bin/env python3
"""How long extraction takes on large articles (results in bench/RESULTS.md).

    .venv/bin/python bench/extract_bench.py

Three inputs: 1 MB of Markdown prose with three citations a paragraph, and the link-dense
articles of the link-checking benchmark's scenarios A (2,000 links on 200 hosts) and B
(20,000 links on 20 hosts), generated here in the same shape so this needs no server.
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


def dense_article(links: int, hosts: int, port: int) -> str:
    """The shape of the article ``shared/bench/origin.py article`` writes."""
    return "# Benchmark article\n\n" + "".join(
        f"Claim {i} is supported by [source {i}](http://127.0.0.{2 + i % hosts}:{port}/p/{i}).\n\n"
        for i in range(links)
    )


def main() -> None:
    prose = PROSE * (1_000_000 // len(PROSE) + 1)
    inputs = (
        ("1 MB of prose", prose),
        ("2,000 links", dense_article(2_000, 200, 18100)),
        ("20,000 links", dense_article(20_000, 20, 18200)),
    )
    for name, text in inputs:
        seconds, count = timed(text, "markdown")
        print(f"{name}: {len(text) / 1e6:.2f} MB, {count} citations, {seconds:.2f} s (median of 5)")


if __name__ == "__main__":
    main()
