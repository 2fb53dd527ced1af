"""Citations as an editor would list them, from each article format."""

from __future__ import annotations

import gc
import io
import os
import random
from pathlib import Path

import pytest

from archiver.errors import InputError
from archiver.extract import (
    Article,
    detect_format,
    extract_citations,
    extract_urls,
    parse_article_bytes,
    read_article,
)
from archiver.models import Citation
from tests.conftest import require_shared

ARTICLES = Path(__file__).parent / "fixtures" / "articles"
LOST = "[link no longer available]"


def fixture_citations(name: str) -> list[Citation]:
    article = read_article(str(ARTICLES / name))
    return extract_citations(article.text, article.fmt, source=article.source)


def brief(citations: list[Citation]) -> list[tuple[str | None, str, int]]:
    return [(c.url, c.text, c.line) for c in citations]


# -- Markdown ---------------------------------------------------------------------------


def test_markdown_article_citations_in_order() -> None:
    citations = fixture_citations("bike-lanes.md")
    assert brief(citations) == [
        ("https://council.example.gov/counts/2020.pdf", "first traffic count", 9),
        ("https://transport.example.gov/reports/harbour", "transport department", 13),
        ("https://university.example.edu/okafor/survey", "Dr. Ines Okafor", 14),
        ("https://radio.example.com/harbour-lane", "Radio Harbour", 16),
        ("http://planning.example.net/corridor-study", "2019 corridor study", 20),
        ("https://gazette.example.com/2021/03/shops", "Harbour Gazette", 23),
        (None, "pointed to an earlier statement by the mayor", 26),
        ("https://council.example.gov/minutes/2021-03", "council's own summary", 29),
        ("https://data.example.gov/harbour-street", "https://data.example.gov/harbour-street", 35),
        (
            "https://mirror.example.org/harbour_(2021)",
            "https://mirror.example.org/harbour_(2021)",
            36,
        ),
        ("https://council.example.gov/counts/method", "methodology", 42),
    ]


def test_markdown_skips_images_code_and_unused_definitions() -> None:
    urls = {c.url for c in fixture_citations("bike-lanes.md")}
    assert "https://news.example.org/img/cyclist.jpg" not in urls
    assert "https://api.example.com/not-a-citation" not in urls
    assert "https://example.com/also-not-cited" not in urls
    assert "https://unused.example.com/" not in urls


def test_markdown_context_is_rendered_sentence_across_wrapped_lines() -> None:
    citation = fixture_citations("bike-lanes.md")[2]
    assert citation.context == (
        "A follow-up survey by Dr. Ines Okafor found that the U.S. firm hired to run the "
        "counters charged $1.5 billion less than the original bid."
    )
    assert citation.cited_at == "2021-04-12"  # from the front matter


def test_markdown_wayback_link_reports_original_and_memento() -> None:
    assert fixture_citations("bike-lanes.md")[4] == Citation(
        url="http://planning.example.net/corridor-study",
        text="2019 corridor study",
        context="The regional planning office also keeps an archived copy of its 2019 corridor "
        "study for anyone who wants the baseline.",
        line=20,
        cited_at="2021-04-12",
        archive_url="https://web.archive.org/web/20190704101500/http://planning.example.net/corridor-study",
        archived_at="2019-07-04T10:15:00Z",
    )


def test_markdown_dead_link_marker_after_link_keeps_url() -> None:
    citation = fixture_citations("bike-lanes.md")[5]
    assert citation.url == "https://gazette.example.com/2021/03/shops"
    assert citation.marker == "[dead link]"
    assert citation.context == (
        "A shop owner told the Harbour Gazette [dead link] that deliveries now take longer."
    )


def test_markdown_lone_marker_has_no_url_and_words_before_it() -> None:
    assert fixture_citations("bike-lanes.md")[6] == Citation(
        url=None,
        text="pointed to an earlier statement by the mayor",
        context="Opponents pointed to an earlier statement by the mayor [link removed], saying the "
        "money should have gone to buses.",
        line=26,
        cited_at="2021-04-12",
        marker="[link removed]",
    )


def test_markdown_inline_quote_and_following_blockquote() -> None:
    citations = fixture_citations("bike-lanes.md")
    assert citations[3].quote == "the best thing the council has done in ten years"
    assert citations[7].quote == (
        "Cycling on Harbour Street has grown faster than on any other street we measure, "
        "and collisions involving cyclists have fallen."
    )
    assert citations[8].quote is None  # the paragraph after the quote does not claim it


def test_markdown_access_date_after_link() -> None:
    assert fixture_citations("bike-lanes.md")[-1].cited_at == "2022-01-05"


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("See [a](https://a.example/x 'Title').", [("https://a.example/x", "a")]),
        (
            "See [a *b*](<https://a.example/with space>).",
            [("https://a.example/with%20space", "a b")],
        ),
        ("See [a][r].\n\n[r]: https://r.example/", [("https://r.example/", "a")]),
        ("See [R][].\n\n[r]: https://r.example/", [("https://r.example/", "R")]),
        ("See [r].\n\n[R]: https://r.example/", [("https://r.example/", "r")]),
        ("See <https://auto.example/p>.", [("https://auto.example/p", "https://auto.example/p")]),
        ("See https://bare.example/p.", [("https://bare.example/p", "https://bare.example/p")]),
        ("(https://bare.example/p)", [("https://bare.example/p", "https://bare.example/p")]),
        (
            "See https://bare.example/a?b=c;",
            [("https://bare.example/a?b=c", "https://bare.example/a?b=c")],
        ),
        ('See <a href="https://raw.example/">raw</a> HTML.', [("https://raw.example/", "raw")]),
        ("![alt](https://img.example/i.png)", []),
        (
            "[![badge](https://img.example/b.svg)](https://ci.example/)",
            [("https://ci.example/", "https://ci.example/")],
        ),
        ("Use `https://code.example/` here.", []),
        ("```\nhttps://fenced.example/\n```", []),
        ("Text.\n\n    https://indented.example/\n", []),
        ("[mail](mailto:a@b.example) [top](#top) [rel](/relative)", []),
        ("[link no longer available] is not a link", []),
        (
            r"\[not a link\](https://escaped.example/)",
            [("https://escaped.example/", "https://escaped.example/")],
        ),
    ],
)
def test_markdown_link_forms(markdown: str, expected: list[tuple[str, str]]) -> None:
    citations = [c for c in extract_citations(markdown, "markdown") if c.url]
    assert [(c.url, c.text) for c in citations] == expected


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        # Written as given: the scheme's and host's case are kept, a port is allowed.
        ("[a](HTTP://Example.COM:8080/x)", [("HTTP://Example.COM:8080/x", "a")]),
        ("[a](http://user@host.example/p)", [("http://user@host.example/p", "a")]),
        ("[a](http://a.example:port/)", [("http://a.example:port/", "a")]),
        ("[a](http://[::1]:8080/x)", [("http://[::1]:8080/x", "a")]),
        ("[a](http://[::1/x)", []),
        ("[a](http:///x) [b](http://)", []),
        ("[a](//proto.example/p)", []),
        # A label that reads like a URL is still the label; a URL in the prose is a link.
        (
            "[see http://x.example](http://a.example/) here",
            [("http://a.example/", "see http://x.example")],
        ),
        (
            "Both [a](http://a.example/) and HTTP://B.example/ count.",
            [("http://a.example/", "a"), ("HTTP://B.example/", "HTTP://B.example/")],
        ),
        ("[a](http://a.example/a\\_b)", [("http://a.example/a_b", "a")]),
        # Not a link destination (a space), so only the URL written out is read.
        ("[a](http://a.example/sp ace)", [("http://a.example/sp", "http://a.example/sp")]),
    ],
)
def test_markdown_link_destinations(markdown: str, expected: list[tuple[str, str]]) -> None:
    citations = [c for c in extract_citations(markdown, "markdown") if c.url]
    assert [(c.url, c.text) for c in citations] == expected


def test_markdown_inline_link_destination_is_read_up_to_2000_characters() -> None:
    longest = "http://long.example/" + "p" * 1978  # "(" + 1,998 characters + ")"
    too_long = longest + "q"
    (kept,) = extract_citations(f"See [the report]({longest}).", "markdown")
    assert (kept.url, kept.text) == (longest, "the report")
    (bare,) = extract_citations(f"See [the report]({too_long}).", "markdown")
    assert (bare.url, bare.text) == (too_long, too_long)  # only the URL written out is read


def test_markdown_paragraphs_of_links_keep_lines_and_sentences() -> None:
    text = (
        "# Sources\n"
        "\n"
        "Claim 1 is supported by [source 1](http://a.example/1).\n"
        "\n"
        "Claim 2 rests on [source 2](http://b.example/2) and\n"
        "[source 3](http://c.example/3). Then a new sentence.\n"
    )
    citations = extract_citations(text, "markdown")
    assert [(c.url, c.text, c.line, c.context) for c in citations] == [
        ("http://a.example/1", "source 1", 3, "Claim 1 is supported by source 1."),
        ("http://b.example/2", "source 2", 5, "Claim 2 rests on source 2 and source 3."),
        ("http://c.example/3", "source 3", 6, "Claim 2 rests on source 2 and source 3."),
    ]


def test_extraction_leaves_the_garbage_collector_as_it_found_it() -> None:
    text = "See [a](http://a.example/)."
    assert gc.isenabled()
    assert [c.url for c in extract_citations(text, "markdown")] == ["http://a.example/"]
    assert gc.isenabled()
    gc.disable()
    try:
        extract_citations(text, "markdown")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_markdown_relative_links_resolve_against_the_article_url() -> None:
    citations = extract_citations(
        "See [the notes](notes/1.html).", "markdown", source="https://blog.example/posts/a.md"
    )
    assert [c.url for c in citations] == ["https://blog.example/posts/notes/1.html"]


def test_markdown_blockquote_before_the_attributing_paragraph() -> None:
    text = (
        "> Every bridge in the district needs new bearings within five years.\n"
        "\n"
        "That was the verdict of the [inspection report](https://roads.example/2020).\n"
    )
    (citation,) = extract_citations(text, "markdown")
    assert citation.quote == "Every bridge in the district needs new bearings within five years."
    assert citation.line == 3


# -- HTML -------------------------------------------------------------------------------


def test_html_article_citations_in_order() -> None:
    citations = fixture_citations("harbour-report.html")
    assert brief(citations) == [
        ("https://www.example.net/reports/annex/sediment-tests.html", "sediment test results", 17),
        ("https://engineers.example.org/statement", "told reporters", 20),
        ("https://engineers.example.org/briefing", "will take at least two full seasons", 21),
        ("https://wildlife.example.org/harbour", "response", 26),
        (
            "https://port.example.com/press/2019-06-01",
            "https://port.example.com/press/2019-06-01",
            28,
        ),
        (None, "An older plan", 31),
        ("https://old-plan.example.org/2012", "withdrawn in 2012", 32),
    ]
    assert {c.cited_at for c in citations} == {"2019-06-03"}


def test_html_skips_nav_header_footer_script_mailto_and_fragments() -> None:
    urls = {c.url for c in fixture_citations("harbour-report.html")}
    assert not urls & {
        "https://www.example.net/",
        "https://www.example.net/sections/environment",
        "https://www.example.net/privacy",
        "https://tracker.example.com/pixel",
        "mailto:desk@example.net",
        "https://www.example.net/reports/harbour-dredging#method",
    }


def test_html_q_cite_is_a_citation_quoting_its_text() -> None:
    assert fixture_citations("harbour-report.html")[2] == Citation(
        url="https://engineers.example.org/briefing",
        text="will take at least two full seasons",
        context="Engineers told reporters that the work “will take at least two full seasons”.",
        line=21,
        quote="will take at least two full seasons",
        cited_at="2019-06-03",
    )


def test_html_blockquote_cite_quotes_the_whole_blockquote() -> None:
    citation = fixture_citations("harbour-report.html")[4]
    assert citation.quote == (
        "Dredging will start in September. It will finish before the spring nesting season."
    )
    assert citation.context == "Dredging will start in September."


def test_html_inline_curly_quote_in_the_sentence() -> None:
    citation = fixture_citations("harbour-report.html")[3]
    assert citation.quote == "far too short for the birds that nest here every spring"


def test_html_wikipedia_style_dead_link_marks_the_link() -> None:
    citation = fixture_citations("harbour-report.html")[-1]
    assert citation.marker == "[dead link]"
    assert citation.url == "https://old-plan.example.org/2012"


def test_html_article_metadata() -> None:
    article = read_article(str(ARTICLES / "harbour-report.html"))
    assert (article.fmt, article.url, article.published) == (
        "html",
        "https://www.example.net/reports/harbour-dredging",
        "2019-06-03",
    )


def test_html_relative_links_need_a_base() -> None:
    page = '<p>See <a href="/docs/a">the docs</a> and <a href="https://abs.example/">this</a>.</p>'
    assert [c.url for c in extract_citations(page, "html")] == ["https://abs.example/"]
    assert [c.url for c in extract_citations(page, "html", source="https://site.example/x/")] == [
        "https://site.example/docs/a",
        "https://abs.example/",
    ]


def test_html_following_blockquote_goes_to_the_introducing_link() -> None:
    page = (
        "<p>The <a href='https://board.example/minutes'>board minutes</a> record:</p>\n"
        "<blockquote><p>The budget for the year is approved without changes.</p></blockquote>"
    )
    (citation,) = extract_citations(page, "html")
    assert citation.quote == "The budget for the year is approved without changes."


def test_html_published_time_element_and_json_ld() -> None:
    time_page = '<html><body><time datetime="2017-02-03">3 Feb</time><p><a href="https://a.example/">a</a></p></body></html>'
    json_page = (
        '<html><head><script type="application/ld+json">{"@graph": [{"datePublished": '
        '"2016-05-06T10:00:00Z"}]}</script></head><body><p><a href="https://a.example/">a</a>'
        "</p></body></html>"
    )
    assert extract_citations(time_page, "html")[0].cited_at == "2017-02-03"
    assert extract_citations(json_page, "html")[0].cited_at == "2016-05-06"


# -- Plain text -------------------------------------------------------------------------


def test_plain_text_urls_markers_and_dates() -> None:
    assert fixture_citations("field-notes.txt") == [
        Citation(
            url="https://archive.example.org/logbooks/1890-1910",
            text="https://archive.example.org/logbooks/1890-1910",
            context="The keepers' logbooks were scanned by the county archive (see "
            "https://archive.example.org/logbooks/1890-1910).",
            line=5,
            cited_at="2020-08-30",
        ),
        Citation(
            url=None,
            text="beyond repair without replacing the entire iron frame",
            context='A 1998 survey described the lamp room as "beyond repair without replacing the '
            'entire iron frame" (dead link), but the engineers disagreed.',
            line=8,
            quote="beyond repair without replacing the entire iron frame",
            cited_at="2020-09-14",
            marker="(dead link)",
        ),
        Citation(
            url="http://photos.example.com/lighthouse?set=12&page=2",
            text="http://photos.example.com/lighthouse?set=12&page=2",
            context="Survey photographs: http://photos.example.com/lighthouse?set=12&page=2,",
            line=10,
            cited_at="2020-09-14",
        ),
        Citation(
            url=None,
            text="The county's tender notice",
            context="The county's tender notice [no longer available] listed three bidders.",
            line=11,
            cited_at="2020-09-14",
            marker="[no longer available]",
        ),
    ]


# -- Wikitext ---------------------------------------------------------------------------


def test_wikitext_cite_templates_links_and_dead_link_tags() -> None:
    assert fixture_citations("river-dam.wiki") == [
        Citation(
            url="https://history.example.org/millbrook",
            text="Building the Millbrook Dam",
            context="Construction began in 1931.",
            line=4,
            quote="The first concrete was poured in the spring of 1931.",
            cited_at="2016-03-12",
        ),
        Citation(
            url="http://paper.example.com/1933/reservoir",
            text="Reservoir full",
            context="The reservoir filled within two years.",
            line=4,
            marker="url-status=dead",
            archive_url="https://web.archive.org/web/20150102030405/http://paper.example.com/1933/reservoir",
            archived_at="2015-01-02T03:04:05Z",
        ),
        Citation(
            url="http://fish.example.net/ladder",
            text="Fish ladder report",
            context="A fish ladder was added in 1988.",
            line=6,
            marker="{{dead link|date=May 2019}}",
        ),
        Citation(
            url="http://ladders.example.org/designs",
            text="http://ladders.example.org/designs",
            context="Its design is described at http://ladders.example.org/designs.",
            line=6,
        ),
        Citation(
            url=None,
            text="The dam was inspected again in 2010",
            context="The dam was inspected again in 2010.",
            line=8,
            marker="{{dead link|date=June 2020}}",
        ),
        Citation(
            url="https://millbrook.example.gov/",
            text="Official site",
            context="Official site",
            line=11,
        ),
        Citation(
            url="https://tourism.example.com/dam",
            text="Visiting the dam",
            context="Visiting the dam",
            line=12,
            cited_at="2017-07-04",
            archive_url="https://archive.ph/20170705000000/https://tourism.example.com/dam",
            archived_at="2017-07-05T00:00:00Z",
        ),
    ]


def test_wikitext_archive_url_without_url_gives_the_original() -> None:
    text = (
        "Fact.<ref>{{cite web |title=Gone"
        " |archive-url=https://web.archive.org/web/2012/http://gone.example/}}</ref>"
    )
    (citation,) = extract_citations(text, "wikitext")
    assert (citation.url, citation.archive_url, citation.archived_at) == (
        "http://gone.example/",
        "https://web.archive.org/web/2012/http://gone.example/",
        "2012-01-01T00:00:00Z",
    )


# -- URLs only (what `archiver check` reads) ----------------------------------------


URL_CASES = {
    "markdown": (
        "Said [here](https://a.example/1) [dead link] and [link no longer available]. "
        "Kept at [the archive](https://web.archive.org/web/2015/http://b.example/2), "
        "[short](https://archive.ph/AbCd1). ![img](https://img.example/x.png)\n\n"
        "> A quote long enough to be attached to a citation somewhere.\n\n"
        "Then <https://c.example/3> and [ref][r].\n\n[r]: https://d.example/4\n"
    ),
    "html": (
        "<p>Said <a href='https://a.example/1'>here</a>"
        "<sup><a href='https://help.example/dead'>[dead link]</a></sup>, "
        "<q cite='https://q.example/5'>quoted words here and more</q>.</p>"
        "<nav><a href='https://nav.example/'>home</a></nav>"
        "<blockquote cite='https://b.example/6'><p>Quoted.</p></blockquote>"
    ),
    "wikitext": (
        "Fact.<ref>{{cite web |url=https://a.example/1 |title=A |access-date=2019-01-02}}"
        "</ref> More.<ref>{{cite web |title=Gone"
        " |archive-url=https://web.archive.org/web/2012/http://gone.example/}}</ref>"
        " [https://c.example/3 bare]{{dead link}}"
    ),
    "text": "See https://a.example/1 (retrieved 2020-01-02) and https://b.example/2 [dead link].",
}


@pytest.mark.parametrize("name", sorted(p.name for p in ARTICLES.iterdir()))
def test_extract_urls_are_the_citations_urls_in_the_fixtures(name: str) -> None:
    article = read_article(str(ARTICLES / name))
    urls = [c.url for c in fixture_citations(name) if c.url]
    assert urls  # every fixture cites something
    assert extract_urls(article.text, article.fmt, source=article.source) == urls


@pytest.mark.parametrize("fmt", sorted(URL_CASES))
def test_extract_urls_unpacks_archive_links_and_skips_markers_like_citations(fmt: str) -> None:
    text = URL_CASES[fmt]
    urls = [c.url for c in extract_citations(text, fmt) if c.url]
    assert extract_urls(text, fmt) == urls
    assert "https://a.example/1" in urls
    assert "https://help.example/dead" not in urls  # a link that is a marker cites nothing
    if fmt in ("markdown", "wikitext"):
        assert ("http://b.example/2" if fmt == "markdown" else "http://gone.example/") in urls


def test_extract_urls_refuses_an_unknown_format_like_extract_citations() -> None:
    with pytest.raises(InputError, match="unknown article format"):
        extract_urls("text", "rtf")


# -- The seed article -------------------------------------------------------------------


def test_seed_article_four_removed_links() -> None:
    seed = require_shared("seed", "ipvm-dahua-xinjiang-2018.txt")
    article = read_article(str(seed))
    citations = extract_citations(article.text, article.fmt, source=article.source)
    lines = article.text.split("\n")

    assert article.fmt == "text"
    assert [(c.url, c.marker, c.line, c.cited_at) for c in citations] == [
        (None, LOST, 42, "2018-11-28"),
        (None, LOST, 44, "2018-11-28"),
        (None, LOST, 68, "2018-11-28"),
        (None, LOST, 110, "2018-11-28"),
    ]
    # The expected sentences are cut from the seed by rules independent of the splitter:
    # whole paragraphs, or a paragraph up to its first ". " or first closing quote.
    first, second, third, fourth = (lines[c.line - 1] for c in citations)
    assert citations[0].context == first
    assert citations[1].context == second[: second.index(". ") + 1]
    assert citations[2].context == third[: third.index("” ") + 1]
    assert citations[2].context.endswith(".”")
    assert citations[3].context == fourth
    # The marker's text: the last words of its clause before the marker.
    for citation, clause_words in zip(citations, (6, 6, 5, 5), strict=True):
        line = lines[citation.line - 1]
        before = line[: line.index(LOST)].split(",")[-1].split()
        assert citation.text == " ".join(before[-clause_words:])
    # Only the third sentence quotes a passage of five words or more.
    third_context = citations[2].context
    quoted = third_context[third_context.index("“") + 1 : third_context.rindex("”")]
    assert [c.quote for c in citations] == [None, None, quoted.rstrip("."), None]


# -- Shared rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after_link", "expected"),
    [
        ("Retrieved 2018-01-05.", "2018-01-05"),
        ("Retrieved on 5 January 2018.", "2018-01-05"),
        ("accessed 5 January 2018", "2018-01-05"),
        ("(accessed Jan 5, 2018)", "2018-01-05"),
        ("(Accessed: Sept. 30th, 2019)", "2019-09-30"),
        ("last accessed 2 Feb. 2020", "2020-02-02"),
        ("(accessed 31 February 2018)", None),  # no such day
        ("(accessed 05/01/2018)", None),  # day and month order is anyone's guess
    ],
)
def test_access_date_forms(after_link: str, expected: str | None) -> None:
    (citation,) = extract_citations(f"Source: https://src.example/a {after_link}", "text")
    assert citation.cited_at == expected


@pytest.mark.parametrize(
    "marker",
    [
        "[link no longer available]",
        "[dead link]",
        "[Dead Link]",
        "[broken link]",
        "[link broken]",
        "[link removed]",
        "[no longer available]",
        "(link no longer available)",
        "(dead link)",
        "[permanent dead link]",
    ],
)
def test_marker_forms(marker: str) -> None:
    (citation,) = extract_citations(f"The agency published a report {marker} in May.", "text")
    assert (citation.url, citation.marker, citation.text) == (
        None,
        marker,
        "The agency published a report",
    )


def test_brackets_that_are_not_markers_are_ignored() -> None:
    assert extract_citations("The government has not responded [to this] yet.", "text") == []


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        (
            "Intro. Dr. Lee of Acme Inc. told the U.S. Senate about https://s.example/a on Monday. "
            "Next.",
            "Dr. Lee of Acme Inc. told the U.S. Senate about https://s.example/a on Monday.",
        ),
        (
            "Costs rose to $1.5 billion, see https://s.example/a (p. 4). Then they fell.",
            "Costs rose to $1.5 billion, see https://s.example/a (p. 4).",
        ),
        (
            'He called it "a plan that works." The memo https://s.example/a says why. Done.',
            "The memo https://s.example/a says why.",
        ),
        (
            "She said “it is over. We are done.” Source: https://s.example/a. End.",
            "Source: https://s.example/a.",
        ),
        (
            "Prices fell, i.e. costs dropped, per https://s.example/a! Then what?",
            "Prices fell, i.e. costs dropped, per https://s.example/a!",
        ),
    ],
)
def test_context_sentence_boundaries(text: str, sentence: str) -> None:
    (citation,) = extract_citations(text, "text")
    assert citation.context == sentence


def test_quotes_shorter_than_five_words_or_around_the_link_are_not_quotes() -> None:
    short = extract_citations('They were "already halfway there" per https://q.example/.', "text")
    title = extract_citations(
        'Read "[The Long Road Home Again](https://q.example/)" today.', "markdown"
    )
    assert short[0].quote is None
    assert title[0].quote is None


def test_same_url_twice_is_two_citations() -> None:
    text = "First https://twice.example/ here.\n\nAgain https://twice.example/ there."
    assert [(c.url, c.line) for c in extract_citations(text, "text")] == [
        ("https://twice.example/", 1),
        ("https://twice.example/", 3),
    ]


def test_archive_short_link_is_kept_as_both_url_and_archive_url() -> None:
    (citation,) = extract_citations("Copy: https://archive.ph/AbCd1 .", "text")
    assert (citation.url, citation.archive_url, citation.archived_at) == (
        "https://archive.ph/AbCd1",
        "https://archive.ph/AbCd1",
        None,
    )


def test_unknown_format_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown article format 'docx'"):
        extract_citations("x", "docx")


# -- Formats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        ("anything", "post.md", "markdown"),
        ("anything", "https://site.example/page.html?x=1", "html"),
        ("anything", "notes.TXT", "text"),
        ("anything", "article.wiki", "wikitext"),
        ("<!DOCTYPE html><html><body>x</body></html>", None, "html"),
        ("<!-- saved --><html><p>x</p></html>", "-", "html"),
        ("# Title\n\nSee [a](https://a.example/).", None, "markdown"),
        ("Fact.<ref>{{cite web|url=https://a.example/}}</ref> [[Link]]", None, "wikitext"),
        ("Published Nov 28, 2018\n\nA sentence [link no longer available].", None, "text"),
        ("", None, "text"),
    ],
)
def test_detect_format(text: str, source: str | None, expected: str) -> None:
    assert detect_format(text, source) == expected


# -- Reading articles -------------------------------------------------------------------


def test_read_article_from_stdin() -> None:
    article = read_article(
        "-", stdin=io.BytesIO(b"Published: 2019-01-02\n\nSee https://in.example/.")
    )
    assert article == Article(
        text="Published: 2019-01-02\n\nSee https://in.example/.",
        fmt="text",
        source="-",
        url=None,
        published="2019-01-02",
    )


def test_empty_article_has_no_citations(tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    article = read_article(str(empty))
    assert extract_citations(article.text, article.fmt) == []


def _one_line_error(source: str) -> str:
    with pytest.raises(InputError) as caught:
        read_article(source)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_read_article_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.md"
    assert _one_line_error(str(missing)) == f"cannot read article {missing}: no such file"


def test_read_article_directory(tmp_path: Path) -> None:
    assert _one_line_error(str(tmp_path)) == f"cannot read article {tmp_path}: it is a directory"


def test_read_article_binary_file(tmp_path: Path) -> None:
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert _one_line_error(str(image)) == (
        f"cannot read article {image}: binary data (NUL byte at offset 8)"
    )


def test_read_article_mostly_control_characters(tmp_path: Path) -> None:
    blob = tmp_path / "blob.txt"
    blob.write_bytes(bytes(range(1, 32)) * 10)
    assert _one_line_error(str(blob)) == (
        f"cannot read article {blob}: binary data (mostly control characters)"
    )


def test_read_article_non_utf8_file_names_the_offset(tmp_path: Path) -> None:
    latin = tmp_path / "cafe.txt"
    latin.write_bytes("Un café noir.".encode("latin-1"))
    assert _one_line_error(str(latin)) == (
        f"cannot read article {latin}: not valid UTF-8 (byte 0xe9 at offset 6)"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_read_article_unreadable_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked.md"
    locked.write_text("x")
    locked.chmod(0)
    assert _one_line_error(str(locked)) == f"cannot read article {locked}: permission denied"


def test_html_declared_charset_is_honoured() -> None:
    page = '<html><head><meta charset="iso-8859-1"></head><body><p>Caf\xe9 “x”</p></body></html>'
    article = parse_article_bytes(page.encode("cp1252"), "saved.html")
    assert "Café “x”" in article.text


def test_content_type_charset_and_format_win() -> None:
    body = "<p>Ni\xf1o <a href='/a'>a</a></p>".encode("cp1252")
    article = parse_article_bytes(
        body, "https://news.example/story", "text/html; charset=windows-1252"
    )
    assert (article.fmt, article.url) == ("html", "https://news.example/story")
    citations = extract_citations(article.text, article.fmt, source=article.source)
    assert [c.url for c in citations] == ["https://news.example/a"]


def test_fetched_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(InputError, match=r"not valid UTF-8 \(byte 0xff at offset 3\)"):
        parse_article_bytes(b"<p>\xff</p>", "https://news.example/story", "text/html")


def test_byte_order_marks_are_honoured() -> None:
    assert parse_article_bytes("\ufeffhi".encode("utf-8"), "a.txt").text == "hi"
    assert parse_article_bytes("hi there".encode("utf-16"), "a.txt").text == "hi there"


# -- Robustness -------------------------------------------------------------------------


def test_real_world_html_from_the_iana_crawl_never_crashes_and_urls_agree() -> None:
    from warcio.archiveiterator import ArchiveIterator

    warc = require_shared("corpus", "warcs", "iana.warc.gz")
    pages = links = 0
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            content_type = record.http_headers.get_header("Content-Type") or ""
            if "html" not in content_type:
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI")
            article = parse_article_bytes(record.content_stream().read(), uri, content_type)
            # mwparserfromhell takes seconds over the biggest pages, which are not wikitext.
            formats = ["html", "markdown", "text"]
            if len(article.text) < 200_000:
                formats.append("wikitext")
            for fmt in formats:
                citations = extract_citations(article.text, fmt, source=uri)
                for citation in citations:
                    assert citation.url is None or citation.url.startswith(("http://", "https://"))
                urls = [c.url for c in citations if c.url]
                assert extract_urls(article.text, fmt, source=uri) == urls
                links += len(urls)
            pages += 1
    assert pages > 10
    assert links > 1000


def test_odd_input_never_raises() -> None:
    chars = "[]()<>`*_~!\\\"“”«»„.:/ hHttps{}|='\n#-&;ab0123456789"
    rng = random.Random(7)
    samples = ["", "\n\n\n", "[" * 500, "<" * 500, "{{" * 300, "“" * 300, "http://", "<a href=>"]
    samples += ["".join(rng.choice(chars) for _ in range(rng.randint(1, 200))) for _ in range(300)]
    for sample in samples:
        for fmt in ("markdown", "html", "text", "wikitext"):
            urls = [c.url for c in extract_citations(sample, fmt) if c.url]
            assert extract_urls(sample, fmt) == urls


def test_markdown_links_nested_in_link_labels_thousands_deep() -> None:
    # Each label was rendered by a call within the last: a RecursionError after 8 s.
    text = (
        "[a " * 20_000 + "](https://a.example/)" * 20_000 + "\n\nAfter [b](https://b.example/).\n"
    )
    citations = extract_citations(text, "markdown")
    assert [(c.url, c.line) for c in citations][-1] == ("https://b.example/", 3)
    assert extract_urls(text, "markdown") == [c.url for c in citations]


BENCH_PARAGRAPH = (
    "Long prose about the harbour and the council, with numbers like 3.5 and Dr. Smith, "
    'and "a quoted passage of some length here" too. See [the report](https://r.example/a) '
    "and https://bare.example/b. Opponents objected [dead link]. `code https://c.example/`\n\n"
)


def test_one_megabyte_of_markdown_is_extracted_whole() -> None:
    # Its speed is measured in bench/extract_bench.py, not asserted here.
    text = BENCH_PARAGRAPH * (1_000_000 // len(BENCH_PARAGRAPH) + 1)
    citations = extract_citations(text, "markdown")
    assert len(citations) == 3 * (1_000_000 // len(BENCH_PARAGRAPH) + 1)
    assert {c.url for c in citations} == {"https://r.example/a", "https://bare.example/b", None}
