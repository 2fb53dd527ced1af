"""Quotes as the article gives them (archiver.extract.quoted and the citation it is
attached to): nested quotes, block quotes, <q>, quotes split over lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.extract import extract_citations, read_article
from archiver.extract.quoted import quoted_passages

FIXTURE = Path(__file__).parent / "fixtures" / "articles" / "iana-quotes.md"


@pytest.mark.parametrize(
    ("text", "quotes"),
    [
        (
            'IANA says "the technical standards ("protocols") that drive the Internet" today.',
            ['the technical standards ("protocols") that drive the Internet', "protocols"],
        ),
        ("“a “b” c”", ["a “b” c", "b"]),
        ("„Das ist „gut“ so“, sagte er", ["Das ist „gut“ so", "gut"]),
        ("«fr «in» out»", ["fr «in» out", "in"]),
        ('He said "one two" and "three four".', ["one two", "three four"]),
        ('a 5" screen, then "a quote here"', ["a quote here"]),
        ("“unclosed and “closed one”", ["closed one"]),
        ('said "split\nover lines" here', ["split\nover lines"]),
        ('("quoted in parentheses")', ["quoted in parentheses"]),
    ],
)
def test_quoted_passages_pair_nested_marks(text: str, quotes: list[str]) -> None:
    assert [q.text for q in quoted_passages(text)] == quotes


def test_quotes_of_a_real_article_nested_split_and_blockquoted() -> None:
    article = read_article(str(FIXTURE))
    citations = extract_citations(article.text, article.fmt, source=article.source)
    assert [(c.url, c.quote) for c in citations] == [
        (
            "http://www.iana.org/about",
            # one quote, nested and split over two lines (it was ") that drive the Internet")
            "allocates and maintains unique codes and numbering systems that are used in "
            'the technical standards ("protocols") that drive the Internet',
        ),
        ("http://www.iana.org/about", "with its activities dating back to the 1980s"),
        (
            "http://www.iana.org/time-zones",
            "is updated periodically to reflect changes made by political bodies to time "
            "zone boundaries, UTC offsets, and daylight-saving rules",
        ),
        (
            "http://www.iana.org/domains/reserved",
            'Certain domains are set aside, and nominally registered to "IANA", for '
            "specific policy or technical purposes.",
        ),
    ]


def test_q_elements_and_nested_quotes_in_html() -> None:
    html = (
        "<html><body><p>The board wrote that <q>the sensors were installed in 1998 and "
        "have never failed</q> (<a href='http://news.example/report'>report</a>).</p>"
        "<p>Its chair said “we rely on the “harbour” sensors every single day” "
        "(<a href='http://news.example/chair'>interview</a>).</p></body></html>"
    )
    citations = extract_citations(html, "html")
    assert [(c.url, c.quote) for c in citations] == [
        ("http://news.example/report", "the sensors were installed in 1998 and have never failed"),
        ("http://news.example/chair", "we rely on the “harbour” sensors every single day"),
    ]
