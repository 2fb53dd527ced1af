"""What the citations of a long paragraph or sentence hold while they are made (issue 12).

Memory is measured with tracemalloc (allocations made by Python, so the machine's load
does not move it), at two sizes four times apart: each citation's share of the peak must
stay under a bound at both, so the memory is linear and its constant small. The full
sized articles are measured in bench/extract_bench.py.

- In one sentence with a link every 76 bytes, each citation used to keep its own cut
  context (up to 400 characters, two bytes each once "…" is in it): 1,400 bytes a
  citation. A cut context is now a window into the paragraph, written out when read.
- In one paragraph of prose, the block's links, its sentences and the citations used to
  be held at once: 900-1,000 bytes a citation at the peak. The links are now let go as
  their citations are made, and the sentences are two arrays.
- Reading an article for its URLs (``archiver check``, issue 15) used to hold its whole
  parse, every block with its links and a list of every line, until the URLs were taken
  from it at the end: 800-900 bytes a link (Markdown, one link a paragraph) beyond the
  URLs and the text. Each block's URLs are now taken as the parse finishes it.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import pickle
import sys
import tracemalloc
from collections.abc import Callable

import pytest

from archiver.extract import blocks, extract_citations, extract_urls, parse_article_bytes
from archiver.models import CONTEXT_LIMIT, Citation

SENTENCE_WORDS = "the council said that the harbour https://r.example/a was to be dredged and "
PROSE = (
    "Long prose about the harbour and the council, with numbers like 3.5 and Dr. Smith, "
    'and "a quoted passage of some length here" too. See [the report](https://r.example/a) '
    "and https://bare.example/b. Opponents objected [dead link]. `code https://c.example/` "
)


def one_sentence(n: int) -> str:
    return SENTENCE_WORDS * n + "\n"


def one_paragraph(n: int) -> str:
    return PROSE * n + "\n"


def peak_per_citation(make: Callable[[int], str], fmt: str, n: int) -> tuple[int, float]:
    """(citations, the peak of memory allocated while extracting, per citation)."""
    extract_citations(make(10), fmt)  # imports and caches filled before measuring
    text = make(n)
    gc.collect()
    tracemalloc.start()
    try:
        citations = extract_citations(text, fmt)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return len(citations), peak / len(citations)


@pytest.mark.parametrize(
    ("make", "fmt", "per_link", "most_bytes"),
    [(one_sentence, "text", 1, 800), (one_paragraph, "markdown", 3, 750)],
    ids=["one sentence", "one paragraph"],
)
def test_a_long_paragraph_holds_a_bounded_share_a_citation(
    make: Callable[[int], str], fmt: str, per_link: int, most_bytes: int
) -> None:
    for n in (1_000, 4_000):
        count, share = peak_per_citation(make, fmt, n)
        assert count == per_link * n
        assert share < most_bytes, f"{n}: {share:.0f} bytes a citation"


def links_a_paragraph(fmt: str, n: int) -> bytes:
    """An article of ``n`` links, one a paragraph (scenario C's shape in bench/)."""
    if fmt == "markdown":
        line = "Claim {0} is supported by [source {0}](http://h{1}.example/p/{0}).\n\n"
    else:
        line = "Claim {0} is supported by http://h{1}.example/p/{0} here.\n\n"
    return "".join(line.format(i, i % 500) for i in range(n)).encode()


def urls_read_as_check_does(fmt: str, n: int) -> tuple[list[str], int]:
    """The URLs of an article of ``n`` links read as ``archiver check`` reads it, and
    the peak memory allocated meanwhile less the text and the URLs themselves."""
    data = links_a_paragraph(fmt, n)
    name = "article.md" if fmt == "markdown" else "article.txt"
    gc.collect()
    tracemalloc.start()
    try:
        article = parse_article_bytes(data, name)
        urls = extract_urls(article.text, article.fmt, source=article.source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    held = sys.getsizeof(article.text) + sys.getsizeof(urls) + sum(map(sys.getsizeof, urls))
    return urls, peak - held


@pytest.mark.parametrize("fmt", ["markdown", "text"])
def test_reading_an_articles_urls_holds_them_not_its_parse(fmt: str) -> None:
    urls_read_as_check_does(fmt, 10)  # imports and caches filled before measuring
    small_urls, small = urls_read_as_check_does(fmt, 5_000)
    large_urls, large = urls_read_as_check_does(fmt, 20_000)
    assert small_urls == [f"http://h{i % 500}.example/p/{i}" for i in range(5_000)]
    assert len(large_urls) == 20_000
    per_link = (large - small) / 15_000
    assert per_link < 60, f"{per_link:.0f} bytes more a link, beyond the text and the URLs"


def long_sentence_citations() -> list[Citation]:
    words = " ".join(f"word{i}" for i in range(150))
    text = f"{words} [the report](https://r.example/) said [dead link] and {words}.\n"
    return extract_citations(text, "markdown")


def test_a_cut_context_reads_as_the_same_string_everywhere() -> None:
    link, marker = long_sentence_citations()
    assert marker.url is None and marker.marker == "[dead link]"
    for citation in (link, marker):
        context = citation.context
        assert type(context) is str and len(context) <= CONTEXT_LIMIT
        assert context.startswith("… word") and context.endswith(" …")
        assert citation.context == context  # the same words each time it is read
        assert citation.to_dict()["context"] == context
        as_string = dataclasses.replace(citation, context=context)
        assert as_string == citation and hash(as_string) == hash(citation)
        assert repr(as_string) == repr(citation)
        for copied in (pickle.loads(pickle.dumps(citation)), copy.deepcopy(citation)):
            assert copied == citation and copied.context == context
        assert dataclasses.replace(citation, quote="q").context == context
        assert dataclasses.asdict(citation)["context"] == context
    assert "the report said [dead link] and word0" in link.context


def test_a_context_cannot_be_set_on_a_made_citation() -> None:
    (link, _) = long_sentence_citations()
    with pytest.raises(dataclasses.FrozenInstanceError):
        link.context = "other"  # type: ignore[misc]


@pytest.mark.parametrize("at_once", [1, 2, 3, 7, 1 << 16])
def test_lines_read_as_the_parse_goes_are_those_of_split(
    monkeypatch: pytest.MonkeyPatch, at_once: int
) -> None:
    monkeypatch.setattr(blocks, "_LINES_AT_ONCE", at_once)
    texts = ["", "\n", "a", "a\n", "\n\nb\r\n", "ab\r\ncd\n\r\nef\r", "x\n" * 9 + "y"]
    for text in texts:
        lines = text.split("\n")
        for start in range(len(lines) + 2):
            assert list(blocks.iter_lines(text, start)) == lines[start:], (text, start)
            stripped = [line.rstrip("\r") for line in lines[start:]]
            assert list(blocks.iter_lines(text, start, strip_cr=True)) == stripped
            assert blocks.first_lines(text, start) == lines[:start]
