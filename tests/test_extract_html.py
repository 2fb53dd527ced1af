"""HTML citations that carry their own archived copy (Robust Links), and HTML nested deeper
than the parser's default limit."""

from __future__ import annotations

import logging

import pytest

from archiver.extract import extract_citations, extract_urls
from archiver.models import Citation

WAYBACK = "https://web.archive.org/web/20200102030405/http://report.example/q3"
PUBLISHED = '<meta property="article:published_time" content="2021-06-01">'


def test_robust_link_href_original_with_version_url_and_date() -> None:
    html = (
        f"<html><head>{PUBLISHED}</head><body><p>The board said so in "
        '<a href="http://report.example/q3"'
        f' data-versionurl="{WAYBACK}" data-versiondate="2020-01-02">its report</a>.</p>'
        "</body></html>"
    )
    assert extract_citations(html, "html") == [
        Citation(
            url="http://report.example/q3",
            text="its report",
            context="The board said so in its report.",
            line=1,
            cited_at="2020-01-02",  # the day it was linked, not the article's date
            archive_url=WAYBACK,
            archived_at="2020-01-02T03:04:05Z",  # the memento's own timestamp
        )
    ]


def test_robust_link_href_memento_with_original_url() -> None:
    # The spec's own example: href is an archive.today short link, which says neither
    # the original nor the date; data-originalurl and data-versiondate do.
    html = (
        '<p>See <a href="https://archive.today/r7cov" data-originalurl="http://www.w3.org/"'
        ' data-versiondate="2015-01-21">the W3C home page</a>.</p>'
    )
    assert extract_citations(html, "html") == [
        Citation(
            url="http://www.w3.org/",
            text="the W3C home page",
            context="See the W3C home page.",
            line=1,
            cited_at="2015-01-21",
            archive_url="https://archive.today/r7cov",
            archived_at="2015-01-21T00:00:00Z",
        )
    ]


def test_robust_link_to_a_short_snapshot_dated_only_by_its_version_date() -> None:
    html = '<p><a href="https://archive.ph/AbCd1" data-versiondate="2017-01-02">A</a></p>'
    (citation,) = extract_citations(html, "html")
    assert (citation.url, citation.archive_url, citation.archived_at, citation.cited_at) == (
        "https://archive.ph/AbCd1",  # no original to be had: kept as both, as without
        "https://archive.ph/AbCd1",
        "2017-01-02T00:00:00Z",
        "2017-01-02",
    )


def test_robust_link_whose_version_url_is_its_only_link() -> None:
    html = (
        "<p>Gone: <a data-versionurl="
        '"https://web.archive.org/web/20190506102030/http://gone.example/page"'
        ' data-versiondate="2019-05-06">the page</a>.</p>'
    )
    (citation,) = extract_citations(html, "html")
    assert (citation.url, citation.archive_url, citation.archived_at, citation.cited_at) == (
        "http://gone.example/page",
        "https://web.archive.org/web/20190506102030/http://gone.example/page",
        "2019-05-06T10:20:30Z",
        "2019-05-06",
    )


def test_robust_link_with_a_date_but_no_version_url_dates_the_citation() -> None:
    html = (
        f"<html><head>{PUBLISHED}</head><body>"
        '<p>Per <a href="http://x.example/a" data-versiondate="2018-03-04">the source</a>.</p>'
        "</body></html>"
    )
    (citation,) = extract_citations(html, "html")
    assert (citation.url, citation.archive_url, citation.archived_at, citation.cited_at) == (
        "http://x.example/a",
        None,
        None,
        "2018-03-04",
    )


def test_robust_link_full_datetime_and_a_snapshot_without_a_timestamp() -> None:
    html = (
        '<p>Per <a href="http://x.example/a" data-versionurl="https://perma.cc/ABCD-1234"'
        ' data-versiondate="2018-11-28T23:30:00-05:00">the source</a>.</p>'
    )
    (citation,) = extract_citations(html, "html")
    assert (citation.url, citation.archive_url, citation.archived_at, citation.cited_at) == (
        "http://x.example/a",
        "https://perma.cc/ABCD-1234",
        "2018-11-29T04:30:00Z",  # the snapshot's moment, in UTC
        "2018-11-28",  # the day as the author wrote it
    )


def test_robust_link_with_several_snapshots_takes_the_first_and_its_own_date() -> None:
    html = (
        '<p><a href="http://x.example/a" data-versiondate="2017-01-01" data-versionurl='
        '"https://archive.ph/AbCd1 2017-01-02 https://perma.cc/ABCD-1234 2017-01-03">A</a></p>'
    )
    (citation,) = extract_citations(html, "html")
    assert (citation.url, citation.archive_url, citation.archived_at, citation.cited_at) == (
        "http://x.example/a",
        "https://archive.ph/AbCd1",
        "2017-01-02T00:00:00Z",
        "2017-01-01",
    )


def test_robust_link_relative_urls_resolve_against_the_page() -> None:
    html = (
        '<p><a href="/a" data-versionurl="/archive/20200101000000/http://site.example/a"'
        ' data-versiondate="2020-01-01">A</a></p>'
    )
    (citation,) = extract_citations(html, "html", source="http://site.example/post")
    assert (citation.url, citation.archive_url) == (
        "http://site.example/a",
        "http://site.example/archive/20200101000000/http://site.example/a",
    )


def test_robust_links_in_markdown_raw_html() -> None:
    markdown = (
        "The board said so in "
        f'<a href="http://report.example/q3" data-versionurl="{WAYBACK}"'
        ' data-versiondate="2020-01-02">its report</a>.\n'
    )
    assert extract_citations(markdown, "markdown") == [
        Citation(
            url="http://report.example/q3",
            text="its report",
            context="The board said so in its report.",
            line=1,
            cited_at="2020-01-02",
            archive_url=WAYBACK,
            archived_at="2020-01-02T03:04:05Z",
        )
    ]


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_robust_link_urls_are_the_originals(fmt: str) -> None:
    text = (
        '<p><a href="https://archive.today/r7cov" data-originalurl="http://www.w3.org/"'
        ' data-versiondate="2015-01-21">W3C</a></p>'
    )
    assert extract_urls(text, fmt) == ["http://www.w3.org/"]


# -- Deep nesting -----------------------------------------------------------------------


def _deep_html(levels: int, open_tag: str = "<div>", close_tag: str = "</div>") -> str:
    return (
        "<html><body><p>Before <a href='https://before.example/'>before</a>.</p>\n"
        + open_tag * levels
        + "<p>Deep <a href='https://deep.example/'>deep</a>.</p>\n"
        + close_tag * levels
        + "\n<p>After <a href='https://after.example/'>after</a>.</p></body></html>"
    )


EVERY_CITATION = [
    ("https://before.example/", "before", "Before before.", 1),
    ("https://deep.example/", "deep", "Deep deep.", 2),
    ("https://after.example/", "after", "After after.", 4),
]


@pytest.mark.parametrize(
    ("levels", "open_tag", "close_tag"),
    [
        (300, "<div>", "</div>"),  # lxml's default parser stops at 255
        (1_000, "<div>", "</div>"),
        (2_100, "<div>", "</div>"),  # past huge_tree's 2,048
        (100_000, "<div>", "</div>"),
        (2_100, "<span class='word'>", "</span>"),
        (100_000, "<div>", ""),  # never closed
        (2_100, "<blockquote>", "</blockquote>"),
    ],
)
def test_html_nested_deeper_than_the_parser_builds_still_yields_every_citation(
    levels: int, open_tag: str, close_tag: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = _deep_html(levels, open_tag, close_tag)
    with caplog.at_level(logging.WARNING):
        citations = extract_citations(text, "html")
    assert [(c.url, c.text, c.context, c.line) for c in citations] == EVERY_CITATION
    assert extract_urls(text, "html") == [url for url, *_ in EVERY_CITATION]
    assert caplog.records == []


def test_html_flattened_for_depth_keeps_lines_hidden_parts_and_navigation() -> None:
    text = (
        "<html><body>\n"
        + "<div\nclass='x'>" * 2_100
        + "<div hidden><a href='https://hidden.example/'>hidden</a></div>"
        + "<div role='navigation'><a href='https://menu.example/'>menu</a></div>"
        + "<nav><a href='https://nav.example/'>nav</a></nav>"
        + "\n<p>Deep <a href='https://deep.example/'>deep</a>.</p>"
        + "</div>" * 2_100
        + "\n<p>After <a href='https://after.example/'>after</a>.</p></body></html>"
    )
    assert [(c.url, c.line) for c in extract_citations(text, "html")] == [
        ("https://deep.example/", 2_103),
        ("https://after.example/", 2_104),
    ]


def test_html_still_too_deep_after_flattening_says_the_document_was_cut(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Quotations within quotations are read for their curly quotes and cite=: kept.
    text = _deep_html(3_000, "<q>", "</q>")
    with caplog.at_level(logging.WARNING):
        citations = extract_citations(text, "html", source="https://site.example/post")
    assert [c.url for c in citations] == ["https://before.example/"]
    assert [r.getMessage() for r in caplog.records] == [
        "https://site.example/post: HTML cut at line 2, elements nested deeper than the parser"
        " builds trees (2,048 levels); citations after it were not read"
    ]


def test_html_with_a_text_over_ten_megabytes_is_read_whole() -> None:
    # A page's inline JSON can be that big; lxml's default parser stopped there.
    text = (
        "<html><body><p>Before <a href='https://before.example/'>before</a>.</p>\n"
        "<script>var data = '" + "x" * 11_000_000 + "';</script>\n"
        "<p>After <a href='https://after.example/'>after</a>.</p></body></html>"
    )
    assert [(c.url, c.line) for c in extract_citations(text, "html")] == [
        ("https://before.example/", 1),
        ("https://after.example/", 3),
    ]
