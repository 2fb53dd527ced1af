"""Extraction is linear in the article's size, whatever its shape (issue 12).

Each shape below was quadratic in time or memory: a paragraph of thousands of dead-link
markers (every citation held the whole paragraph as its context, and each marker split
it again), bare URLs in one sentence (each one counted the lines from the start), reference
links and emphasised links in one paragraph, long runs of dots or closing brackets, and
unclosed tags in the sample read to detect the format. Each test reads the shape at two
sizes, asserts the exact result, and that four times the input takes well under sixteen
times as long: the least of three runs of each, taken in turns, and measured again up to
three times, so that a busy machine does not decide (quadratic work fails every time).
The speed on full-sized articles is measured in bench/extract_bench.py, not asserted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from archiver.extract import detect_format, extract_citations, extract_urls
from archiver.extract.blocks import BlockBuilder
from archiver.extract.datetext import access_date, published_date_from_lines
from archiver.extract.frontmatter import front_matter
from archiver.models import CONTEXT_LIMIT, Citation

GROWTH = 4
# Linear work takes ~4x as long for 4x the input, quadratic work ~16x.
MOST_TIME_RATIO = 10


def seconds(work: Callable[[], object]) -> float:
    """Processor time, not wall time: other processes on a loaded machine (a CI runner's
    neighbours, other test suites) then barely move the ratio."""
    started = time.process_time()
    work()
    return time.process_time() - started


def assert_linear(work: Callable[[int], object], n: int) -> None:
    """``work(GROWTH * n)`` takes well under ``GROWTH ** 2`` times as long as ``work(n)``."""
    ratios = []
    for _ in range(3):
        small = large = float("inf")
        for _ in range(3):
            small = min(small, seconds(lambda: work(n)))
            large = min(large, seconds(lambda: work(GROWTH * n)))
        ratios.append(large / small)
        if ratios[-1] < MOST_TIME_RATIO:
            return
    raise AssertionError(f"{GROWTH}x the input took {', '.join(f'{r:.1f}x' for r in ratios)}")


def citations_of(make: Callable[[int], str], fmt: str) -> Callable[[int], list[Citation]]:
    return lambda n: extract_citations(make(n), fmt)


def assert_bounded(citations: list[Citation]) -> None:
    assert max(len(c.context) for c in citations) <= CONTEXT_LIMIT


# -- the context: a sentence, capped ------------------------------------------------------

WORDS = " ".join(f"word{i}" for i in range(150))  # 1,039 characters


def test_a_short_sentence_is_the_whole_context() -> None:
    (citation,) = extract_citations("Before. The [report](https://r.example/) said so.\n")
    assert citation.context == "The report said so."


def test_a_long_sentence_is_cut_around_the_link_between_words() -> None:
    text = f"{WORDS} [the report](https://r.example/) {WORDS}.\n"
    (citation,) = extract_citations(text, "markdown")
    context = citation.context
    assert len(context) <= CONTEXT_LIMIT
    assert context.startswith("… word") and context.endswith(" …")
    assert "word149 the report word0" in context
    head, tail = context.split(" the report ")
    assert abs(len(head) - len(tail)) < 12  # the link in the middle
    assert all(word.startswith("word") for word in context[2:-2].split() if word not in "thereport")


def test_a_link_at_either_end_of_a_long_sentence_is_cut_on_one_side_only() -> None:
    first = extract_citations(f"[the report](https://r.example/) {WORDS} {WORDS}.\n")[0]
    assert first.context.startswith("the report word0 word1 ")
    assert first.context.endswith(" …") and len(first.context) <= CONTEXT_LIMIT
    last = extract_citations(f"{WORDS} {WORDS} [the report](https://r.example/).\n")[0]
    assert last.context.startswith("… word") and last.context.endswith(" word149 the report.")
    assert len(last.context) <= CONTEXT_LIMIT


def test_an_anchor_longer_than_the_limit_starts_the_context() -> None:
    (citation,) = extract_citations(f"Intro and [{WORDS}](https://r.example/) tail.\n")
    assert citation.context.startswith("… word0 word1 ")
    assert citation.context.endswith(" …") and len(citation.context) <= CONTEXT_LIMIT
    assert citation.text == WORDS


def test_a_sentence_long_only_in_its_spaces_is_the_whole_context() -> None:
    text = "The [report](https://r.example/)" + " " * 500 + "said so\n" * 40 + "in the end.\n"
    (citation,) = extract_citations(text, "markdown")
    assert citation.context == "The report " + "said so " * 40 + "in the end."


def test_a_marker_in_a_long_sentence_keeps_the_words_before_it() -> None:
    text = f"{WORDS}, as the board said in its annual report [link removed] {WORDS}.\n"
    (citation,) = extract_citations(text, "text")
    assert (citation.url, citation.marker) == (None, "[link removed]")
    assert citation.text == "as the board said in its annual report"
    assert "the board said in its annual report [link removed] word0" in citation.context


def test_a_quote_is_looked_for_in_the_context_shown() -> None:
    quoted = '"the harbour will be dredged next spring"'
    near = f"{WORDS} [the report](https://r.example/) said {quoted} {WORDS}.\n"
    assert extract_citations(near, "markdown")[0].quote == "the harbour will be dredged next spring"
    far = f"[the report](https://r.example/) said {WORDS} {quoted} {WORDS}.\n"
    assert extract_citations(far, "markdown")[0].quote is None


# -- the shapes that were quadratic ---------------------------------------------------------


def markers_in_one_paragraph(n: int) -> str:
    return "The board said in its report [link no longer available] and " * n + "\n"


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_thousands_of_markers_in_one_paragraph(fmt: str) -> None:
    # 8,000 took 28 s and 4.9 GB; 50,000 on one line ran out of 24 GB.
    citations = extract_citations(markers_in_one_paragraph(1_000), fmt)
    assert len(citations) == 1_000
    assert {(c.url, c.marker, c.line) for c in citations} == {
        (None, "[link no longer available]", 1)
    }
    assert citations[0].text == "The board said in its report"
    assert {c.text for c in citations[1:]} == {"available] and The board said in its report"}
    assert citations[0].context.startswith("The board said") and citations[0].context.endswith("…")
    assert_bounded(citations)
    assert_linear(citations_of(markers_in_one_paragraph, fmt), 1_000)


def bare_urls_in_one_sentence(n: int) -> str:
    return "See " + "".join(f"https://h{i % 20}.example/page/{i:07d} " for i in range(n)) + "\n"


def test_bare_urls_in_one_sentence() -> None:
    # 200,000 (7.4 MB): over 260 s counting lines from the start for each, then out of memory.
    citations = extract_citations(bare_urls_in_one_sentence(5_000), "text")
    assert len(citations) == 5_000
    assert citations[-1].url == "https://h19.example/page/0004999"
    assert {c.line for c in citations} == {1}
    assert all(c.url in c.context for c in citations)  # type: ignore[operator]
    assert_bounded(citations)
    assert_linear(citations_of(bare_urls_in_one_sentence, "text"), 5_000)


def bare_urls_on_lines(n: int) -> str:
    return "See\n" + "".join(f"https://h.example/{i} and\n" for i in range(n))


def test_bare_urls_on_the_lines_of_one_paragraph_keep_their_lines() -> None:
    citations = extract_citations(bare_urls_on_lines(5_000), "text")
    assert [c.line for c in citations] == list(range(2, 5_002))
    assert_linear(lambda n: extract_urls(bare_urls_on_lines(n), "text"), 5_000)


def reference_links(n: int) -> str:
    uses = "".join(f"[a][r{i}] " for i in range(n))
    definitions = "".join(f"[r{i}]: https://h{i % 20}.example/{i}\n" for i in range(n))
    return f"{uses}\n\n{definitions}"


def test_reference_links_in_one_paragraph() -> None:
    # 50,000 definitions and uses took 3.7 GB.
    citations = extract_citations(reference_links(5_000), "markdown")
    assert [(c.url, c.text, c.line) for c in citations[:2]] == [
        ("https://h0.example/0", "a", 1),
        ("https://h1.example/1", "a", 1),
    ]
    assert len(citations) == 5_000
    assert_bounded(citations)
    assert_linear(citations_of(reference_links, "markdown"), 5_000)


def emphasised_links(n: int) -> str:
    return "*[a](https://e.example/url)_ " * n + "\n"


def test_emphasis_around_links_in_one_paragraph() -> None:
    # 30,000 took 2.7 GB.
    citations = extract_citations(emphasised_links(5_000), "markdown")
    assert len(citations) == 5_000
    assert {(c.url, c.text) for c in citations} == {("https://e.example/url", "a")}
    assert citations[0].context == "a " * 197 + "a …"
    assert_bounded(citations)
    assert_linear(citations_of(emphasised_links, "markdown"), 5_000)


def wikitext_links_in_one_paragraph(n: int) -> str:
    return "".join(f"[http://h{i % 20}.example/p/{i} source {i}] " for i in range(n)) + "\n"


def test_wikitext_links_in_one_paragraph() -> None:
    citations = extract_citations(wikitext_links_in_one_paragraph(1_000), "wikitext")
    assert [(c.url, c.text) for c in citations[-1:]] == [("http://h19.example/p/999", "source 999")]
    assert len(citations) == 1_000
    assert_bounded(citations)
    assert_linear(citations_of(wikitext_links_in_one_paragraph, "wikitext"), 1_000)


def html_links_in_one_paragraph(n: int) -> str:
    links = "".join(f'<a href="https://h.example/{i}">source {i}</a>, ' for i in range(n))
    return f"<html><body><p>See {links}</p></body></html>"


def test_html_links_in_one_paragraph() -> None:
    citations = extract_citations(html_links_in_one_paragraph(2_000), "html")
    assert len(citations) == 2_000
    assert citations[1_000].text == "source 1000"
    assert_bounded(citations)
    assert_linear(citations_of(html_links_in_one_paragraph, "html"), 2_000)


# -- long runs that regular expressions tried from every position ----------------------------


def test_a_long_run_of_dots_is_one_sentence_end() -> None:
    # "[.!?…]+" was tried from each dot of the run, at each length: 45 s for 40,000 dots.
    def dots(n: int) -> str:
        return "See [a](https://a.example/) here" + "." * n + "x. Next one.\n"

    (citation,) = extract_citations(dots(10), "markdown")
    assert citation.context == "See a here..........x."
    assert_linear(lambda n: extract_citations(dots(n), "markdown"), 20_000)


def test_a_url_ending_in_a_long_run_of_closers_is_trimmed_in_linear_time() -> None:
    def closers(n: int) -> str:
        return "See https://a.example/(x)" + ")" * n + " now.\n"

    assert [c.url for c in extract_citations(closers(3), "text")] == ["https://a.example/(x)"]
    assert_linear(lambda n: extract_urls(closers(n), "text"), 50_000)


def test_dates_after_a_long_run_of_spaces_are_read_in_linear_time() -> None:
    assert access_date("Retrieved  :  5 May 2018") == "2018-05-05"
    assert published_date_from_lines(["Published   -   2018-01-05"]) == "2018-01-05"
    assert_linear(lambda n: access_date("retrieved" + " " * n), 20_000)
    assert_linear(lambda n: published_date_from_lines(["published" + " " * n]), 20_000)


def test_front_matter_with_a_long_run_of_spaces_is_read_in_linear_time() -> None:
    assert front_matter(["---", "date: '2018-01-05'", "---", "Text."]) == (3, "2018-01-05", None)
    assert_linear(lambda n: front_matter(["---", "date: a" + " " * n + "b", "---"]), 5_000)


@pytest.mark.parametrize("unclosed", ["<p ", "[[a ", "](a"])
def test_the_format_of_thousands_of_unclosed_tags_is_found_in_linear_time(unclosed: str) -> None:
    assert_linear(lambda n: detect_format(unclosed * n), 3_000)


def nested_quotations(depth: int) -> str:
    words = "word " * 20_000
    return f"<p>{'<q cite=https://q.example/>' * depth}{words}{'</q>' * depth}</p>"


def test_quotations_nested_in_one_another_each_keep_a_bounded_quote() -> None:
    # Each <q cite> quoted all the words inside it: 1,600 around 100 kB held 160 MB.
    citations = extract_citations(nested_quotations(200), "html")
    assert len(citations) == 200
    assert {c.quote for c in citations} == {("word " * 300).strip() + " …"}
    assert {c.text for c in citations} == {c.quote for c in citations}
    assert_linear(citations_of(nested_quotations, "html"), 200)


def test_brackets_nested_a_hundred_thousand_deep_are_read_in_linear_time() -> None:
    # Each "[" looked its label up as a reference, normalising the rest of the paragraph:
    # 11 s for 100,000.
    def nested(n: int) -> str:
        return "[" * n + "a" + "]" * n + "(https://a.example/)\n\n[b]: https://b.example/\n"

    assert [c.url for c in extract_citations(nested(10), "markdown")] == ["https://a.example/"]
    assert_linear(lambda n: extract_urls(nested(n), "markdown"), 25_000)


def test_a_block_keeps_only_the_anchors_its_lines_need() -> None:
    """Text added on the line the text before it ends on needs no anchor of its own; the
    line of every character is the same as with one anchor per piece."""
    chooser = random.Random(7)
    builder = BlockBuilder()
    expected: list[int] = []  # the source line of each rendered character
    line = 3
    for _ in range(400):
        piece = chooser.choice(["word ", "two\nlines ", "\n", "x"])
        line += chooser.choice([0, 0, 0, 1, 5])  # mostly where the last piece ended
        builder.add_text(piece, line)
        for char in piece:
            expected.append(line)
            line += char == "\n"
    builder.flush()
    (block,) = builder.blocks
    assert [block.line_at(offset) for offset in range(len(block.text))] == expected
    assert len(block.anchors) < 250  # not one for each of the 400 pieces
