"""HTML read from the parser's events without holding the page's tree (issue 12).

``html.parse_html`` reads a page in two passes over lxml's events (``_streamed``), letting
each element go once read, and reads the whole tree (``_from_tree``) only where the parser
reported a fatal error (a page cut short, or nested too deep). Both must give the same
citations, the same page URL and the same date: they are compared here over the fixture
pages, the HTML pages of the corpus's WARCs, and generated pages that put every fact a
page states about itself (``<base>``, the canonical URL, the date in each of its forms)
before, after and among links, quotes, skipped parts and anchors with images. The memory
it saves is measured in a child process: the peak resident set over the page's size, at
two sizes.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.extract import html as html_module
from archiver.extract.citations import build_citations

FIXTURES = Path(__file__).parent / "fixtures" / "articles"

PIECES = [
    '<p>The board said so in <a href="/report">its report</a>. See https://bare.example/x.</p>',
    '<p>Read <a href="report.html"><img alt="the chart"></a> and <a href="#top">top</a>.</p>',
    '<blockquote cite="http://q.example/src"><p>A quoted passage of some length here.</p>'
    "</blockquote>",
    '<p>He said <q cite="http://q.example/q">the harbour <b>will</b> be dredged</q> [dead link].'
    "</p>",
    '<nav><a href="http://nav.example/">Home</a></nav><footer>Published 3 May 2019</footer>',
    '<script type="application/ld+json">{"datePublished": "2018-02-03"}</script>',
    '<meta property="article:published_time" content="2020-01-02">',
    '<meta name="og:url" content="http://og.example/page">',
    '<link rel="canonical" href="http://canonical.example/article">',
    '<base href="http://base.example/dir/">',
    '<time datetime="2017-04-05">April</time>',
    '<time pubdate datetime="2016-07-08">July</time>',
    "<p>Published 9 September 2015 by the desk.</p>",
    '<div role="navigation"><a href="http://role.example/">x</a></div>',
    '<q cite="http://q.example/n">outer <script>hidden words</script> inner</q>',
    '<p>A <a href="http://a.example/"><span>nested <i>anchor</i></span> text</a> after.</p>\n',
    "<pre>https://code.example/not-a-citation</pre>",
    '<a href="mailto:x@example.org">mail</a> <a href="javascript:void(0)">js</a>',
    '<p hidden><a href="http://hidden.example/">hidden</a></p>',
    "\n\n<p>Lines\nof text\nwith https://lines.example/a in them.</p>\n",
]


def both_readers(text: str, page_url: str | None = None) -> tuple[object, object]:
    data = text.encode("utf-8", "surrogatepass")
    streamed = html_module._streamed(data, page_url)
    assert streamed is not None, "the streaming reader fell back"
    tree = html_module._from_tree(text, data, page_url)
    return _outcome(streamed), _outcome(tree)


def _outcome(document: html_module.Document) -> object:
    facts = (document.url, document.published)
    return facts, [citation.to_dict() for citation in build_citations(document)]


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.html")))
def test_fixture_pages_read_the_same_streamed(name: str) -> None:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    streamed, tree = both_readers(text, "http://article.example/page")
    assert streamed == tree
    assert streamed[1]  # type: ignore[index]  # the page has citations


def test_generated_pages_read_the_same_streamed() -> None:
    rng = random.Random(12)
    compared = 0
    for _ in range(300):
        body = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
        head = "".join(rng.choice(PIECES[5:12]) for _ in range(rng.randint(0, 3)))
        text = f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"
        for page_url in (None, "http://article.example/dir/page"):
            streamed, tree = both_readers(text, page_url)
            assert streamed == tree, text
            compared += 1
    assert compared == 600


def test_each_piece_alone_reads_the_same_streamed() -> None:
    for piece in PIECES:
        for text in (piece, f"<html><body>{piece}</body></html>", f"<p>x</p>{piece}{piece}"):
            streamed, tree = both_readers(text)
            assert streamed == tree, text


def corpus_pages() -> list[str]:
    from warcio.archiveiterator import ArchiveIterator

    shared = Path(os.environ.get("ARCHIVER_SHARED", "/work/shared"))
    pages = []
    for path in sorted((shared / "corpus" / "warcs").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                headers = record.http_headers
                if record.rec_type != "response" or headers is None:
                    continue
                if "html" in (headers.get_header("Content-Type") or ""):
                    pages.append(record.content_stream().read().decode("utf-8", "replace"))
    return pages


def test_the_corpus_pages_read_the_same_streamed() -> None:
    pages = [page for page in corpus_pages() if page.strip()]
    if not pages:
        pytest.skip("no corpus WARCs here (ARCHIVER_SHARED)")
    for page in pages:
        streamed, tree = both_readers(page, "http://article.example/page")
        assert streamed == tree


CHILD = """
import json, resource, sys
from archiver.extract import extract_citations
unit = '<p>Prose with <a href="https://r.example/a">a link</a> and https://b.example/b.</p>\\n'
extract_citations(unit * 10, "html")
text = "<html><body>" + unit * int(sys.argv[1]) + "</body></html>"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
count = len(extract_citations(text, "html"))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps([count, (after - before) * 1024 / len(text)]))
"""


def test_a_large_page_is_read_without_holding_its_tree() -> None:
    # With the whole tree held, this page's peak was 26.6 bytes a byte of the page at
    # both sizes; read from the events, 14.5-14.8.
    for n in (40_000, 160_000):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, check=True
        )
        count, per_byte = json.loads(done.stdout)
        assert count == 2 * n
        assert per_byte < 20, f"{n}: {per_byte:.1f} bytes a byte of the page"
