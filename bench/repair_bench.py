#!/usr/bin/env python3
"""How long the repair stage takes on long articles, every link dead.

    .venv/bin/python bench/repair_bench.py [--repeat N] [--scale K]

Results are in bench/RESULTS.md. The articles: the largest real page of
``../shared/corpus/warcs/iana.warc.gz`` (www.iana.org/protocols, 656 KB, 3,500 links),
and the wikitext and Markdown test fixtures repeated ``--scale`` times (300: 360 KB of
wikitext with 2,700 citations, 630 KB of Markdown with 3,300). Only ``repair_article`` is timed (the
check and the archive lookups a real run makes are not): each citation is given a dead
verdict and an Internet Archive memento, as a run would.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archiver.dates import utcnow
from archiver.extract import extract_citations, parse_article_bytes
from archiver.models import LinkCheck, Memento, Selection, Verdict
from archiver.pipeline import CitationResult
from archiver.repair.article import repair_article
from archiver.repair.plan import RepairOptions

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "articles"
IANA = ROOT.parent / "shared" / "corpus" / "warcs" / "iana.warc.gz"


def iana_protocols() -> bytes | None:
    if not IANA.exists():
        return None
    with IANA.open("rb") as stream:
        for record in ArchiveIterator(stream):
            uri = record.rec_headers.get_header("WARC-Target-URI")
            if record.rec_type == "response" and uri == "http://www.iana.org/protocols":
                return bytes(record.content_stream().read())
    return None


def every_link_dead(data: bytes, name: str) -> tuple[object, list[CitationResult]]:
    article = parse_article_bytes(data, name)
    results = []
    for citation in extract_citations(article.text, article.fmt, source=name):
        if citation.url is None:
            results.append(CitationResult(citation))
            continue
        check = LinkCheck(
            citation.url, Verdict.DEAD, 404, citation.url, "HTTP 404", "2026-12-05T00:00:00Z"
        )
        memento = Memento(
            citation.url,
            "2015-03-04T05:06:07Z",
            "ia",
            f"https://web.archive.org/web/20150304050607/{citation.url}",
            f"https://web.archive.org/web/20150304050607id_/{citation.url}",
        )
        results.append(CitationResult(citation, check, Selection(memento, "closest")))
    return article, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=int, default=300)
    args = parser.parse_args()
    cases: list[tuple[str, bytes]] = []
    page = iana_protocols()
    if page is not None:
        cases.append(("http://www.iana.org/protocols", page))
    for name in ("dam-citations.wiki", "bike-lanes.md"):
        cases.append((name, (FIXTURES / name).read_bytes() * args.scale))
    options = RepairOptions(now=utcnow())
    print("| article | KB | citations | edited | seconds, median (range) |")
    print("|---|---|---|---|---|")
    for name, data in cases:
        article, results = every_link_dead(data, name)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            repair = repair_article(data, article, results, options)  # type: ignore[arg-type]
            times.append(time.perf_counter() - started)
        spread = f"{min(times):.2f}–{max(times):.2f}"
        print(
            f"| {name} | {len(data) // 1000} | {len(results)} | {len(repair.changed)} "
            f"| {statistics.median(times):.2f} ({spread}) |"
        )


if __name__ == "__main__":
    main()
