#!/usr/bin/env python3
"""How long extraction takes, and how much memory, on large and oddly shaped articles.

    .venv/bin/python bench/extract_bench.py            # every shape, full size
    .venv/bin/python bench/extract_bench.py --scale 0.1 --only markers
    .venv/bin/python bench/extract_bench.py --typical  # the three inputs measured before

Results are in bench/RESULTS.md. Every article is generated here, none is stored.

The goal (issue 12): extraction linear in the article's size in time and memory, whatever
its shape; any 50 MB article in under 10 s and 500 MB, and 200,000 links in any format in
under 5 s. The shapes are the ones issue 12 found quadratic (a paragraph of dead-link
markers, bare URLs in one sentence, reference links, emphasis around links, dense
wikitext), the two goals in each format, and articles in one paragraph or on one line.

Each shape runs in a process of its own, under a hard address-space limit and a timeout,
so a case that is still quadratic is stopped instead of taking the machine (shared by
others) with it. The child reads the generated article from a file, as ``archiver scan``
does, and reports the time ``extract_citations`` took, the processor time it used (what
a busy machine changes least: on two cores shared by many, the elapsed time grows two- or
threefold, the processor time far less) and the process's peak resident memory
(interpreter, libraries and the article's text included).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MB = 1_000_000
LIMIT_BYTES = 6 * 1024**3  # address space allowed to each child
TIMEOUT = 300.0  # seconds allowed to each child

PROSE = (
    "Long prose about the harbour and the council, with numbers like 3.5 and Dr. Smith, "
    'and "a quoted passage of some length here" too. See [the report](https://r.example/a) '
    "and https://bare.example/b. Opponents objected [dead link]. `code https://c.example/`\n\n"
)
HTML_PROSE = (
    "<p>Long prose about the harbour and the council, with numbers like 3.5 and Dr. Smith, "
    'and "a quoted passage of some length here" too. See <a href="https://r.example/a">the '
    "report</a> and https://bare.example/b. Opponents objected [dead link]. "
    "<code>https://c.example/</code></p>\n"
)
TEXT_PROSE = (
    "Long prose about the harbour and the council, with numbers like 3.5 and Dr. Smith, "
    'and "a quoted passage of some length here" too. See the report https://r.example/a '
    "and https://bare.example/b. Opponents objected [dead link].\n\n"
)
WIKI_PROSE = (
    "Long prose about the harbour and the council, with numbers like 3.5 and Dr. Smith, "
    "and ''a quoted passage of some length here'' too. See [https://r.example/a the report]"
    "<ref>{{cite web |url=https://c.example/x |title=The harbour |access-date=2018-01-05}}"
    "</ref> and https://bare.example/b. Opponents objected.{{dead link|date=May 2019}}\n\n"
)


def repeat_to(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


# -- the shapes ------------------------------------------------------------------------------
# Each takes n (its count at full size) and returns the article.


def links_markdown(n: int) -> str:
    return "# Links\n\n" + "".join(
        f"Claim {i} is supported by [source {i}](http://h{i % 20}.example/p/{i}).\n\n"
        for i in range(n)
    )


def links_html(n: int) -> str:
    body = "".join(
        f'<p>Claim {i} is supported by <a href="http://h{i % 20}.example/p/{i}">'
        f"source {i}</a>.</p>\n"
        for i in range(n)
    )
    return f"<!doctype html><html><body>\n{body}</body></html>\n"


def links_text(n: int) -> str:
    return "".join(
        f"Claim {i} is supported by http://h{i % 20}.example/p/{i} (source {i}).\n\n"
        for i in range(n)
    )


def links_wikitext(n: int) -> str:
    return "".join(
        f"Claim {i} is supported by [http://h{i % 20}.example/p/{i} source {i}].\n\n"
        for i in range(n)
    )


def refs_wikitext(n: int) -> str:
    return "".join(
        f"Claim {i} is supported.<ref>{{{{cite web |url=http://h{i % 20}.example/p/{i}"
        f" |title=Source {i} |access-date=2018-01-05}}}}</ref>\n\n"
        for i in range(n)
    )


def links_wikitext_one_paragraph(n: int) -> str:
    return "".join(f"[http://h{i % 20}.example/p/{i} source {i}] " for i in range(n)) + "\n"


def markers_one_line(n: int) -> str:
    return "The board said in its report [link no longer available] and " * n + "\n"


def bare_urls_one_sentence(n: int) -> str:
    return "See " + "".join(f"https://h{i % 20}.example/page/{i:07d} " for i in range(n)) + "\n"


def reference_links(n: int) -> str:
    uses = "".join(f"[a][r{i}] " for i in range(n))
    definitions = "".join(f"[r{i}]: https://h{i % 20}.example/{i}\n" for i in range(n))
    return f"{uses}\n\n{definitions}"


def emphasis_links(n: int) -> str:
    return "*[a](https://e.example/url)_ " * n + "\n"


def prose_markdown(size: int) -> str:
    return repeat_to(PROSE, size)


def prose_html(size: int) -> str:
    return "<!doctype html><html><body>\n" + repeat_to(HTML_PROSE, size) + "</body></html>\n"


def prose_text(size: int) -> str:
    return repeat_to(TEXT_PROSE, size)


def prose_wikitext(size: int) -> str:
    return repeat_to(WIKI_PROSE, size)


def one_paragraph_markdown(size: int) -> str:
    return repeat_to(PROSE.replace("\n\n", " "), size)


def one_sentence_text(size: int) -> str:
    words = "the council said that the harbour https://r.example/a was to be dredged and "
    return repeat_to(words, size)


def words_no_links(size: int) -> str:
    return repeat_to("Words without any link at all, line after line.\n", size)


@dataclass(frozen=True)
class Shape:
    name: str
    fmt: str
    make: Callable[[int], str]
    full: int  # n at full size: a count of links or markers, or bytes
    seconds: float  # the goal
    megabytes: float = 500.0


SHAPES = (
    Shape("markers in one paragraph", "text", markers_one_line, 50_000, 5.0),
    Shape("markers in one paragraph", "markdown", markers_one_line, 50_000, 5.0),
    Shape("bare URLs in one sentence", "text", bare_urls_one_sentence, 200_000, 5.0),
    Shape("reference links in one paragraph", "markdown", reference_links, 50_000, 5.0),
    Shape("*[a](url)_ repeated, spaced", "markdown", emphasis_links, 30_000, 5.0),
    Shape("links, one a paragraph", "markdown", links_markdown, 200_000, 5.0),
    Shape("links, one a paragraph", "html", links_html, 200_000, 5.0),
    Shape("links, one a paragraph", "text", links_text, 200_000, 5.0),
    Shape("links, one a paragraph", "wikitext", links_wikitext, 200_000, 5.0),
    Shape("cite templates in refs", "wikitext", refs_wikitext, 200_000, 5.0),
    Shape("links in one paragraph", "wikitext", links_wikitext_one_paragraph, 200_000, 5.0),
    Shape("prose, 50 MB", "markdown", prose_markdown, 50 * MB, 10.0),
    Shape("prose, 50 MB", "html", prose_html, 50 * MB, 10.0),
    Shape("prose, 50 MB", "text", prose_text, 50 * MB, 10.0),
    Shape("prose, 50 MB", "wikitext", prose_wikitext, 50 * MB, 10.0),
    Shape("one paragraph, 50 MB", "markdown", one_paragraph_markdown, 50 * MB, 10.0),
    Shape("one sentence, 50 MB", "text", one_sentence_text, 50 * MB, 10.0),
    Shape("no links, 50 MB", "markdown", words_no_links, 50 * MB, 10.0),
)


# -- measuring -------------------------------------------------------------------------------


def child(path: str, fmt: str) -> None:
    """Run in the child: extract from the article at ``path`` and print what it cost."""
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))
    from archiver.extract import extract_citations

    text = Path(path).read_text(encoding="utf-8")
    started, cpu_started = time.perf_counter(), time.process_time()
    citations = extract_citations(text, fmt)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_mb": peak_kb * 1024 / MB,
        "citations": len(citations),
        "urls": sum(1 for c in citations if c.url),
        "longest_context": max((len(c.context) for c in citations), default=0),
    }
    print(json.dumps(result))


def measure(
    shape: Shape, scale: float, timeout: float, count: int = 0, runs: int = 1
) -> dict[str, Any]:
    """The least time and the most memory of ``runs`` children (a busy machine slows some)."""
    rows = [measure_once(shape, scale, timeout, count) for _ in range(runs)]
    failed = [row for row in rows if "failed" in row]
    if failed:
        return failed[0]
    best = min(rows, key=lambda row: row["seconds"])
    best["cpu_seconds"] = min(row["cpu_seconds"] for row in rows)
    best["peak_mb"] = max(row["peak_mb"] for row in rows)
    return best


def measure_once(shape: Shape, scale: float, timeout: float, count: int) -> dict[str, Any]:
    n = count or max(1, int(shape.full * scale))
    text = shape.make(n)
    with tempfile.NamedTemporaryFile("w", suffix=".article", delete=False) as file:
        file.write(text)
    row: dict[str, Any] = {"shape": shape.name, "fmt": shape.fmt, "n": n, "mb": len(text) / MB}
    del text
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", file.name, shape.fmt],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        row["failed"] = f"stopped after {timeout:.0f} s"
        return row
    finally:
        os.unlink(file.name)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        row["failed"] = f"{last[:100]} after {time.perf_counter() - started:.0f} s"
        return row
    row.update(json.loads(done.stdout.strip().splitlines()[-1]))
    return row


def verdict(shape: Shape, row: dict[str, Any], scale: float) -> str:
    """ "yes" when the goal is met; "CPU only" when only the processor time is under the
    goal's seconds (the machine was busy: other processes took the elapsed time)."""
    if "failed" in row:
        return "no"
    if scale != 1.0:
        return "-"
    if row["peak_mb"] >= shape.megabytes:
        return "no"
    if row["seconds"] < shape.seconds:
        return "yes"
    return "CPU only" if row["cpu_seconds"] < shape.seconds else "no"


def print_row(shape: Shape, row: dict[str, Any], scale: float) -> None:
    goal = f"< {shape.seconds:.0f} s, < {shape.megabytes:.0f} MB"
    head = f"| {shape.name} | {shape.fmt} | {row['n']:,} | {row['mb']:.1f} |"
    if "failed" in row:
        print(f"{head} - | failed: {row['failed']} | - | - | - | {goal} | no |", flush=True)
        return
    print(
        f"{head} {row['citations']:,} | {row['seconds']:.2f} | {row['cpu_seconds']:.2f} |"
        f" {row['peak_mb']:.0f} |"
        f" {row['longest_context']:,} | {goal} | {verdict(shape, row, scale)} |",
        flush=True,
    )


def typical() -> None:
    """The three inputs this benchmark measured first, in this process (median of 5)."""
    from archiver.extract import extract_citations, extract_urls

    for name, text in (
        ("1 MB of prose", prose_markdown(MB)),
        ("2,000 links", links_markdown(2_000)),
        ("20,000 links", links_markdown(20_000)),
    ):
        for function in (extract_citations, extract_urls):
            seconds, cpu_seconds = [], []
            for _ in range(5):
                started, cpu_started = time.perf_counter(), time.process_time()
                count = len(function(text, "markdown"))
                seconds.append(time.perf_counter() - started)
                cpu_seconds.append(time.process_time() - cpu_started)
            print(
                f"{name}: {len(text) / MB:.2f} MB, {function.__name__}: {count} in"
                f" {statistics.median(seconds):.3f} s, processor"
                f" {statistics.median(cpu_seconds):.3f} s (medians of 5)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("PATH", "FORMAT"), help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes")
    parser.add_argument("--only", default="", help="shapes whose name contains this")
    parser.add_argument("--format", default="", help="only this format")
    parser.add_argument("--n", type=int, default=0, help="this count instead of a scale")
    parser.add_argument("--timeout", type=float, default=TIMEOUT)
    parser.add_argument("--runs", type=int, default=1, help="least time of this many runs")
    parser.add_argument("--typical", action="store_true", help="the three typical inputs")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.typical:
        typical()
        return
    print(
        "| shape | format | n | MB | citations | s | CPU s | peak MB | longest context | goal"
        " | met |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for shape in SHAPES:
        if args.only not in shape.name or args.format not in shape.fmt:
            continue
        scale = 0.0 if args.n else args.scale
        print_row(shape, measure(shape, args.scale, args.timeout, args.n, args.runs), scale)


if __name__ == "__main__":
    main()
