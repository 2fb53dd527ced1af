"""wikiscan reads plain wikitext exactly as mwparserfromhell does (issue 12).

The scanner is only a faster road to the same citations: every article it reads must
give what mwparserfromhell's tree gives, and every article it cannot read must go to
mwparserfromhell. Articles are generated from fragments (the common shapes, and the
markup the scanner must leave alone, next to one another in every order), and the
fixtures and the benchmark's shapes are read both ways.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from archiver.extract.citations import build_citations
from archiver.extract.wikiscan import NotPlain
from archiver.extract.wikitext import parse_wikitext, parse_with_mwparserfromhell, read_plain
from archiver.models import Citation
from bench.extract_bench import (
    WIKI_PROSE,
    links_wikitext,
    links_wikitext_one_paragraph,
    prose_wikitext,
    refs_wikitext,
)
from tests.test_extract_sizes import assert_linear, citations_of

FIXTURES = Path(__file__).parent / "fixtures" / "articles"

# What the scanner reads itself.
PLAIN = [
    "Plain words here. ",
    "The council's plan, ",
    "Note: this ",
    "a < b and c > d ",
    "& so ",
    "\n",
    "\n\n",
    "\n \n",
    "\n\n\n",
    " ",
    "\t",
    "[1]",
    "[dead link]",
    "]",
    "|",
    "x:y",
    "Word:",
    "[http://a.example/x title]",
    "[https://b.example/y]",
    "[https://c.example/z  two  spaces ]",
    "[http://a.example/ it's]",
    "http://d.example/p",
    "https://e.example/q.",
    "https://t.example/a:b",
    "https://t.example/...",
    "http://z.example/\tq",
    "xhttp://k.example/",
    "_https://n.example/",
    "é https://l.example/",
    "<ref>{{cite web |url=https://o.example/a |title=Title A |access-date=2018-01-05}}</ref>",
    "<ref>{{cite news|url=http://p.example/b|title=B's story|url-status=dead|archive-url="
    "https://web.archive.org/web/2019/http://p.example/b|archive-date=2019-02-03}}</ref>",
    "{{cite web\n |url=https://q.example/c\n |title=Multi line\n"
    " |quote=a quoted passage of some length\n}}",
    "<ref>[http://r.example/d Ref link]</ref>",
    "<ref></ref>",
    "<ref> </ref>",
    "<ref>Just words</ref>",
    "<ref>https://s.example/e</ref>",
    "{{dead link|date=May 2019}}",
    "{{Dead link}}",
    "{{dead_link}}",
    "{{cite web|url=|title=No url}}",
    "{{cite web|title=t|url=//t.example/x}}",
    "{{cite web|url=https://u.example/|url=https://u2.example/}}",
    "{{cite web|url=https://u.example/|deadurl=no|dead-url=yes}}",
    "{{Cite Web | url = https://v.example/ | title = Spaced }}",
    "{{citation|url=http://w.example/|work=W|positional}}",
    "[[Page]]",
    "[[Page|label]]",
    "[[Page| label ]]",
    "[[Page|]]",
    "[[O'Brien]]",
    "''italic''",
    "'''bold'''",
    "''a: b''",
    "it's",
    "Retrieved 5 May 2019. ",
    '"a quoted passage of some length here" ',
    "Dr. Smith said. ",
    WIKI_PROSE,
]
# What only mwparserfromhell may read.
MARKUP = [
    "AT&T ",
    "https://f.example/r),",
    "(https://g.example/s)",
    "https://h.example/t'x",
    "http://i.example/u?a=b&c=d",
    "https://j.example/v|w",
    "éhttps://m.example/",
    "éxhttp://a.example/",
    "—http://dash.example/ ",
    "HTTP://up.example/ ",
    "\u00a0https://nb.example/",
    "[[File:x.jpg|thumb|cap]]",
    "''x'",
    "'''''both'''''",
    "''unclosed",
    "{{other}}",
    "{{nowrap|x}}",
    "<!-- c -->",
    "&amp;",
    "&#160;",
    "<br>",
    "<div>x</div>",
    "== H ==\n",
    "\n* item",
    "\n----\n",
    "[Note: x]",
    "[[",
    "{",
    "}",
    "= x",
    "mailto:a@b",
    "tel:123",
    "ftp://x.example/",
    "{{cite web|url=https://x.example/{{!}}}}",
    "<ref name=a>{{cite web|url=https://y.example/}}</ref>",
    "<ref name=a />",
    "</ref>",
    "<ref>",
    "[http://a.example/''b'']",
    "[http://a.example/ ''t'']",
    "[http://a.example/ t: http://b]",
    "{{cite web|url=https://x.example/|title=''T''}}",
    "{{cite\nweb|url=https://x.example/}}",
    "{{cite web|ur\nl=https://x.example/}}",
    "{{reflist|refs=<ref name=b>{{cite web|url=https://b.example/}}</ref>}}",
]


def both_ways(text: str) -> tuple[list[Citation] | None, list[Citation]]:
    """(the scanner's citations, or None if it leaves the article alone; the tree's)."""
    try:
        scanned: list[Citation] | None = build_citations(read_plain(text))
    except NotPlain:
        scanned = None
    return scanned, build_citations(parse_with_mwparserfromhell(text))


def generated(seed: int) -> str:
    chooser = random.Random(seed)
    pool = PLAIN * 3 + chooser.sample(MARKUP, 3)
    return "".join(chooser.choice(pool) for _ in range(chooser.randint(1, 14)))


def test_generated_articles_read_alike_both_ways() -> None:
    scanned_count = 0
    for seed in range(600):
        text = generated(seed)
        scanned, parsed = both_ways(text)
        if scanned is not None:
            scanned_count += 1
            assert scanned == parsed, text
        assert build_citations(parse_wikitext(text)) == parsed, text
    assert scanned_count > 100  # the comparison above is not empty


@pytest.mark.parametrize("fragment", PLAIN)
def test_each_plain_fragment_is_read_by_the_scanner_alike(fragment: str) -> None:
    text = f"Before [http://x.example/ x]. {fragment} after.\n\n{fragment}"
    scanned, parsed = both_ways(text)
    assert scanned is not None
    assert scanned == parsed


@pytest.mark.parametrize("fragment", MARKUP)
def test_markup_is_left_to_mwparserfromhell(fragment: str) -> None:
    scanned, _ = both_ways(f"Before [http://x.example/ x].\n{fragment} after.")
    assert scanned is None


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.wiki")), ids=lambda path: path.name)
def test_fixtures_read_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    scanned, parsed = both_ways(text)
    assert scanned is None or scanned == parsed
    assert build_citations(parse_wikitext(text)) == parsed


@pytest.mark.parametrize(
    "make",
    [links_wikitext, refs_wikitext, links_wikitext_one_paragraph, prose_wikitext],
    ids=lambda make: make.__name__,
)
def test_the_benchmark_shapes_are_scanned_and_read_alike(make: object) -> None:
    assert callable(make)
    text = make(20_000 if make is prose_wikitext else 200)
    scanned, parsed = both_ways(text)
    assert scanned is not None
    assert len(scanned) == len(parsed) > 10
    assert scanned == parsed


@pytest.mark.parametrize("make", [refs_wikitext, links_wikitext], ids=lambda make: make.__name__)
def test_the_scanned_shapes_grow_linearly(make: object) -> None:
    assert callable(make)
    assert_linear(citations_of(make, "wikitext"), 2_000)
