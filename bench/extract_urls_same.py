#!/usr/bin/env python3
"""Does ``extract_urls`` give the same URLs, in the same order, as another tree's?

For a change to how articles are parsed for ``archiver check`` (the streamed parse of
issue 15): runs ``read_article``'s decoding and ``extract_urls`` on every article under
``tests/fixtures/`` and ``citations/``, the HTML pages in the WARC files of
``../shared/corpus/``, every shape of ``extract_bench.py`` (at ``--scale`` of its full
size), scenario C's article (``../shared/bench/origin.py``, Markdown and HTML) and
``--mixed`` articles put together at random from pieces of Markdown (front matter,
fences, reference definitions, quotes, lists, CRLF line ends, ...), once
with this tree's ``archiver`` and once with ``--other``'s, each in a process of its own,
and lists every input whose URLs differ (or whose error does). It also checks, in this
tree, that the URLs are those of ``extract_citations``'s citations.

    python3 bench/extract_urls_same.py --other /tmp/main-tree
    python3 bench/extract_urls_same.py --other /tmp/main-tree --scale 0.01 --links 20000 --mixed 50

Exits with 1 when some input differs.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import ORIGIN, ROOT, origin
from extract_bench import SHAPES

Input = tuple[str, bytes, str]  # name, bytes, source (its extension names the format)
_ARTICLE_SUFFIXES = {".md", ".markdown", ".html", ".htm", ".txt", ".wiki", ".wikitext", ".xml"}
_EXTENSION = {"markdown": "md", "html": "html", "text": "txt", "wikitext": "wiki"}

# Run in each tree's own process: its archiver comes first on PYTHONPATH.
_CHILD = """
import pickle, sys
from archiver.errors import ArchiverError
from archiver.extract import extract_citations, extract_urls, parse_article_bytes

inputs = pickle.load(open(sys.argv[1], "rb"))
found, mismatched = {}, []
for name, data, source in inputs:
    try:
        article = parse_article_bytes(data, source)
        found[name] = extract_urls(article.text, article.fmt, source=article.source)
    except ArchiverError as e:
        found[name] = f"error: {e}"
        continue
    if sys.argv[3] == "citations":
        cited = extract_citations(article.text, article.fmt, source=article.source)
        if [c.url for c in cited if c.url is not None] != found[name]:
            mismatched.append(name)
pickle.dump((found, mismatched), open(sys.argv[2], "wb"))
"""


def inputs(scale: float, links: int, count: int) -> list[Input]:
    found: list[Input] = []
    for folder in (ROOT / "tests" / "fixtures", ROOT / "citations"):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix.lower() in _ARTICLE_SUFFIXES:
                found.append((str(path.relative_to(ROOT)), path.read_bytes(), str(path)))
    found.extend(_corpus_pages(ROOT.parent / "shared" / "corpus"))
    for shape in SHAPES:
        n = max(1, int(shape.full * scale))
        name = f"extract_bench: {shape.name} ({shape.fmt}, {n:,})"
        found.append((name, shape.make(n).encode(), f"shape.{_EXTENSION[shape.fmt]}"))
    if ORIGIN.exists():
        for fmt in ("md", "html"):
            common = ["--hosts", "5000", "--port", "8790", "--links", str(links)]
            article = origin("article", *common, "--format", fmt).encode()
            found.append((f"scenario C ({fmt}, {links:,} links)", article, f"article.{fmt}"))
    return found + mixed(count)


_PIECES = (
    "---\ntitle: A\ndate: 2024-03-05\nurl: https://own.example/post\n---\n",
    "+++\ndate = 2023-01-02\n+++\n",
    "Published 4 May 2022\n",
    "# Heading with [a link](https://h.example/1)\n",
    "Prose citing [the report](https://r.example/a) and https://bare.example/b.\n",
    "A [reference link][ref] and [ref] again, and [a relative one](/path/page).\n",
    '[ref]: https://ref.example/defined "Title"\n',
    "```\n[not a link](https://code.example/)\n```\n",
    "    indented https://indented.example/code\n",
    "> quoted [source](https://q.example/) line\n",
    "- item https://list.example/1 [dead link]\n",
    "1. numbered <https://auto.example/x>\n",
    "| cell [t](https://t.example/) | cell |\n|---|---|\n",
    "<!-- https://comment.example/ -->\n",
    '<a href="https://raw.example/">raw</a> and ![img](https://img.example/i.png)\n',
    "https://web.archive.org/web/20200101000000/https://arch.example/page\n",
    "\n",
    "\n\n",
)


def mixed(count: int) -> list[Input]:
    """``count`` articles of random pieces, each as Markdown and as plain text, half of
    them with CRLF line ends."""
    import random

    chooser = random.Random(15)
    made: list[Input] = []
    for number in range(count):
        text = "".join(chooser.choice(_PIECES) for _ in range(chooser.randint(1, 40)))
        if number % 2:
            text = text.replace("\n", "\r\n")
        for extension in ("md", "txt"):
            made.append((f"mixed #{number} ({extension})", text.encode(), f"mixed.{extension}"))
    return made


def _corpus_pages(corpus: Path) -> list[Input]:
    """The HTML responses in the corpus's WARC files, each an article."""
    from warcio.archiveiterator import ArchiveIterator

    pages: list[Input] = []
    for path in sorted(corpus.rglob("*.warc.gz")):
        with path.open("rb") as stream:
            for number, record in enumerate(ArchiveIterator(stream)):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                if "html" not in (record.http_headers.get_header("Content-Type") or ""):
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                name = f"{path.name} #{number} {url}"
                pages.append((name, record.content_stream().read(), url or "page.html"))
    return pages


def run(tree: Path, inputs_file: Path, out: Path, citations: bool) -> tuple[dict, list]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    mode = "citations" if citations else "urls"
    command = [sys.executable, "-c", _CHILD, str(inputs_file), str(out), mode]
    subprocess.run(command, check=True, env=env, cwd=tempfile.gettempdir())
    with out.open("rb") as stream:
        return pickle.load(stream)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--other", type=Path, required=True, help="the tree to compare with")
    parser.add_argument("--scale", type=float, default=0.05, help="of extract_bench's sizes")
    parser.add_argument("--links", type=int, default=200_000, help="scenario C's article")
    parser.add_argument("--mixed", type=int, default=500, help="articles of random pieces")
    args = parser.parse_args()
    given = inputs(args.scale, args.links, args.mixed)
    with tempfile.TemporaryDirectory(prefix="urls-same-") as tmp:
        inputs_file = Path(tmp) / "inputs.pickle"
        inputs_file.write_bytes(pickle.dumps(given))
        ours, mismatched = run(ROOT, inputs_file, Path(tmp) / "ours.pickle", citations=True)
        theirs, _ = run(args.other, inputs_file, Path(tmp) / "theirs.pickle", citations=False)
    differ = [name for name, _, _ in given if ours[name] != theirs[name]]
    urls = sum(len(found) for found in ours.values() if isinstance(found, list))
    errors = sum(1 for found in ours.values() if isinstance(found, str))
    print(f"{len(given)} inputs ({urls:,} URLs, {errors} refused as articles by both)")
    for name in differ:
        print(f"DIFFERS from {args.other}: {name}")
    for name in mismatched:
        print(f"DIFFERS from extract_citations here: {name}")
    if differ or mismatched:
        sys.exit(1)
    print(f"identical to {args.other} on every input, and to extract_citations's URLs")


if __name__ == "__main__":
    main()
