"""Wikitext citations that live inside templates, footnotes, captions and reference lists,
and wikitext nested deeper than the parser's own limit."""

from __future__ import annotations

import pytest

from archiver.errors import InputError
from archiver.extract import extract_citations, extract_urls
from archiver.models import Citation
from tests.test_extract import fixture_citations


def test_wikitext_infobox_fields_reference_lists_captions_and_footnotes() -> None:
    assert fixture_citations("millbrook-reservoir.wiki") == [
        Citation(
            url="https://water.example.org/millbrook/history",
            text="Millbrook Reservoir: a history",
            context="1934",
            line=8,
            cited_at="2019-05-04",
        ),
        Citation(
            url="http://news.example.com/2012/annual-report",
            text="Annual report",
            context="Millbrook Water Company",
            line=9,
            marker="url-status=dead",
            archive_url="https://web.archive.org/web/20130115000000/http://news.example.com/2012/annual-report",
            archived_at="2013-01-15T00:00:00Z",
        ),
        Citation(
            url="http://survey.example.gov/reservoirs/42",
            text="Reservoir survey",
            context="4,200 megalitres",
            line=10,
            marker="{{dead link|date=July 2020}}",
        ),
        Citation(
            url="https://www.millbrook-water.example.co.uk/",
            text="www.millbrook-water.example.co.uk",
            context="www.millbrook-water.example.co.uk",
            line=11,
        ),
        # Defined in {{reflist|refs=}} (line 25), cited where <ref name="supply" /> stands.
        Citation(
            url="https://water.example.org/supply",
            text="Who we supply",
            context="It supplies drinking water to about 40,000 people.",
            line=25,
            cited_at="2021-03-01",
        ),
        Citation(
            url="https://floods.example.org/2007/millbrook",
            text="Floods of 2007",
            context="The spillway after the floods of 2007.",
            line=15,
            cited_at="2007-08-02",
        ),
        Citation(
            url="https://books.example.com/lost-villages",
            text="Lost villages",
            context="The valley was flooded in 1933.",
            line=18,
            cited_at="2018-06-01",
        ),
        # Used through {{r|spillway}}.
        Citation(
            url="https://news.example.com/2009/spillway",
            text="New spillway opens",
            context="A new spillway opened in 2009.",
            line=26,
            cited_at="2009-10-12",
        ),
        # Defined but never used: still in the source, so still a citation, with no prose.
        Citation(
            url="https://water.example.org/unused",
            text="Never cited",
            context="",
            line=27,
        ),
    ]


def test_wikitext_cite_web_written_straight_into_an_infobox_field() -> None:
    text = (
        "{{Infobox person\n"
        "| name = Ada Example\n"
        "| source = {{cite web |url=https://a.example/bio |title=Biography"
        " |access-date=2020-01-02}}\n"
        "}}\n"
        "Ada Example was an engineer.\n"
    )
    assert extract_citations(text, "wikitext") == [
        Citation(
            url="https://a.example/bio",
            text="Biography",
            context="Biography",
            line=3,
            cited_at="2020-01-02",
        )
    ]


def test_wikitext_refs_in_templates_nested_in_an_infobox_field() -> None:
    text = (
        "{{Infobox company\n"
        "| key_people = {{plainlist|\n"
        "* Ann Lee (chair)<ref>[https://a.example/chair Board page]</ref>\n"
        "* Bo Chan (CEO){{efn|Since 2019.<ref>{{cite news |url=https://b.example/ceo"
        " |title=New CEO}}</ref>}}\n"
        "}}\n"
        "}}\n"
    )
    assert [(c.url, c.text, c.context, c.line) for c in extract_citations(text, "wikitext")] == [
        ("https://a.example/chair", "Board page", "Ann Lee (chair)", 3),
        ("https://b.example/ceo", "New CEO", "Bo Chan (CEO)", 4),
    ]


def test_wikitext_ref_inside_an_inline_template_keeps_the_sentence() -> None:
    text = (
        "The dam is {{nowrap|30 m<ref>{{cite web |url=https://a.example/height"
        " |title=Height}}</ref>}} high. It was built in 1931.\n"
    )
    (citation,) = extract_citations(text, "wikitext")
    assert (citation.url, citation.text, citation.context, citation.line) == (
        "https://a.example/height",
        "Height",
        "The dam is high.",
        1,
    )


def test_wikitext_quote_template_with_its_source_in_a_ref() -> None:
    text = (
        "The engineer said:\n\n"
        "{{quote|The first concrete was poured in the spring of 1931."
        "<ref>{{cite web |url=https://a.example/memoir |title=Memoir}}</ref>}}\n"
    )
    (citation,) = extract_citations(text, "wikitext")
    assert (citation.url, citation.text, citation.context, citation.quote, citation.line) == (
        "https://a.example/memoir",
        "Memoir",
        "The first concrete was poured in the spring of 1931.",
        "The first concrete was poured in the spring of 1931.",
        3,
    )


def test_wikitext_ref_inside_a_wikilink_label() -> None:
    text = "It flows into [[Lake Mill|the lake<ref>[https://a.example/lake Lake]</ref>]] today.\n"
    (citation,) = extract_citations(text, "wikitext")
    assert (citation.url, citation.text, citation.context) == (
        "https://a.example/lake",
        "Lake",
        "It flows into the lake today.",
    )


def test_wikitext_url_and_official_website_templates() -> None:
    text = (
        "== External links ==\n"
        "* {{Official website|https://dam.example.org/}}\n"
        "* {{URL|example.com/dam|The dam's page}}\n"
    )
    assert [(c.url, c.text, c.line) for c in extract_citations(text, "wikitext")] == [
        ("https://dam.example.org/", "Official website", 2),
        ("http://example.com/dam", "The dam's page", 3),
    ]


def test_wikitext_list_defined_refs_in_a_references_tag() -> None:
    text = (
        "Water was first supplied in 1935.<ref name=first />\n\n"
        "== References ==\n"
        "<references>\n"
        '<ref name="first">{{cite web |url=https://a.example/1935 |title=1935}}</ref>\n'
        "</references>\n"
    )
    (citation,) = extract_citations(text, "wikitext")
    assert (citation.url, citation.context, citation.line) == (
        "https://a.example/1935",
        "Water was first supplied in 1935.",
        5,
    )


def test_wikitext_list_defined_ref_used_only_after_the_list_is_one_citation() -> None:
    text = (
        "{{reflist|refs=\n"
        '<ref name="a">{{cite web |url=https://a.example/ |title=A}}</ref>\n'
        "}}\n\n"
        "Mentioned late.<ref name=a />\n"
    )
    assert [(c.url, c.context, c.line) for c in extract_citations(text, "wikitext")] == [
        ("https://a.example/", "", 2)
    ]


def test_wikitext_templates_without_citations_render_as_before() -> None:
    text = "The dam is {{convert|30|m}} high.<ref>[https://a.example/ A]</ref>\n"
    (citation,) = extract_citations(text, "wikitext")
    assert citation.context == "The dam is high."


# -- Deep nesting -----------------------------------------------------------------------


def _nested_templates(levels: int) -> str:
    return (
        "Before.<ref>[https://before.example/ B]</ref>\n"
        + "{{x|" * levels
        + "Deep.<ref>[https://deep.example/ D]</ref>"
        + "}}" * levels
        + "\nAfter [https://after.example/ after].\n"
    )


def _nested_tags(levels: int) -> str:
    return (
        "Before [https://before.example/ B].\n"
        + "<div>" * levels
        + "Deep [https://deep.example/ D]."
        + "</div>" * levels
        + "\nAfter [https://after.example/ after].\n"
    )


@pytest.mark.parametrize("levels", [40, 300, 1000, 10_000])
def test_wikitext_templates_nested_beyond_the_parsers_limit_are_read(levels: int) -> None:
    # mwparserfromhell leaves what lies deeper than ~33 templates unparsed, as text.
    citations = extract_citations(_nested_templates(levels), "wikitext")
    assert [(c.url, c.line) for c in citations] == [
        ("https://before.example/", 1),
        ("https://deep.example/", 2),
        ("https://after.example/", 3),
    ]


@pytest.mark.parametrize("levels", [100, 300, 1000])
def test_wikitext_tags_nested_beyond_the_parsers_limit_are_read(levels: int) -> None:
    citations = extract_citations(_nested_tags(levels), "wikitext")
    assert [(c.url, c.text, c.line) for c in citations] == [
        ("https://before.example/", "B", 1),
        ("https://deep.example/", "D", 2),
        ("https://after.example/", "after", 3),
    ]


def test_wikitext_nested_too_deep_to_read_is_refused_in_one_line() -> None:
    with pytest.raises(InputError, match=r"^line 2: wikitext nested deeper than .* levels"):
        extract_citations(_nested_tags(100_000), "wikitext")
    with pytest.raises(InputError, match=r"^line 2: wikitext nested deeper than"):
        extract_urls(_nested_tags(100_000), "wikitext")


@pytest.mark.parametrize(
    ("text", "line", "unclosed"),
    [
        ("Intro.\n" + "{{x|" * 100_000 + "[https://deep.example/ D]", 2, "100,000"),
        ("Intro.\n" + "a <div> b\n" * 20_000, 2, "20,000"),
    ],
)
def test_wikitext_the_parser_would_take_hours_over_is_refused_at_once(
    text: str, line: int, unclosed: str
) -> None:
    # mwparserfromhell scans to the end of the text for every opener nothing closes:
    # these took hours and 30 s before they were refused.
    with pytest.raises(InputError) as refused:
        extract_citations(text, "wikitext")
    assert str(refused.value) == (
        f"line {line}: wikitext too tangled to read: {unclosed} templates, links, tags or"
        " tables are never closed (the first on this line)"
    )


def test_wikitext_external_links_their_line_never_closes_are_refused_at_once() -> None:
    # Each unclosed "[http://" is read to the end of its line: 100,000 took hours.
    text = "Intro.\n" + "[https://a.example/ " * 100_000 + "\n"
    with pytest.raises(InputError) as refused:
        extract_urls(text, "wikitext")
    assert str(refused.value) == (
        "line 2: wikitext too tangled to read: 100,000 templates, links, tags or tables are"
        " never closed (the first on this line)"
    )
    closed = "Intro.\n" + "[https://a.example/ a] " * 1_000 + "\n"
    assert len(extract_urls(closed, "wikitext")) == 1_000


@pytest.mark.parametrize("levels", [250, 30_000])
def test_wikitext_arguments_nested_past_the_recursion_limit_are_refused_in_one_line(
    levels: int,
) -> None:
    # mwparserfromhell leaves {{{arguments}}} out of its nesting limit and builds them
    # by recursion: a RecursionError from 300 levels on.
    text = "Intro.\n" + "{{{" * levels + "a" + "}}}" * levels + " [https://a.example/ a]\n"
    message = (
        "line 2: wikitext nested deeper than archiver reads (more than 100 levels of"
        " templates and arguments)"
    )
    for extract in (extract_citations, extract_urls):
        with pytest.raises(InputError) as refused:
            extract(text, "wikitext")
        assert str(refused.value) == message
    shallow = "{{{" * 100 + "a" + "}}}" * 100 + " [https://a.example/ a]\n"
    assert extract_urls(shallow, "wikitext") == ["https://a.example/"]
