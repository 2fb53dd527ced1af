"""Removed links recovered from archived copies of the article (archiver.recover.removed).

A real pywb serves a fixture WARC holding archived copies of two invented articles:

- "Millbrook Dam" (ARTICLE_A), shaped like the seed: today a plain-text copy whose four
  sources were replaced by "[link no longer available]"; archived the day after
  publication as HTML with the four links still in their sentences.
- "Turbines at the Weir" (ARTICLE_B), captured several times: before publication (a
  placeholder), on publication day before its links were added, as a captured 404, three
  days later with the links, and a year later with the markers already in place.

pywb is reached as archive.test through the host map, so memento URLs in assertions are
stable; every other name fails like a nonexistent host.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiver.archives.cache import LookupCache
from archiver.archives.specs import parse_archive_spec
from archiver.cli.main import cli
from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page, Site
from archiver.demo.simweb.wayback import FixtureCapture, WaybackServer
from archiver.extract import Article, extract_citations, parse_article_bytes, read_article
from archiver.models import Citation, Memento, Recovery
from archiver.net.http import build_session
from archiver.pipeline import run_pipeline
from archiver.recover.matching import ArchivedArticle
from archiver.recover.removed import (
    apply_recovery,
    capture_order,
    is_removed_link,
    recover_removed_links,
)
from archiver.state import State
from tests.conftest import (
    archive_settings,
    closed_port,
    require_shared,
    running_wayback,
    sandbox_settings,
)

ARCHIVE_SPEC = "wayback:http://archive.test/web/"
REPLAY = "http://archive.test/web/"

ARTICLE_A = "http://millbrook-post.example/2020/06/dam-files"
ARTICLE_B = "http://millbrook-post.example/2020/07/turbines"
NEVER_ARCHIVED = "http://millbrook-post.example/amp/2020/07/turbines"

STATEMENT = "http://millbrook-water.example/reports/annual-2019.pdf"
CONTRACT = "http://procurement.county.example/awards/2019-117"
ROAD = "http://planning.county.example/notices/2018/access-road"
BONDS = "http://bonds.example/filings/millbrook-2020-q1"
GUIDANCE = "http://dams.state.example/guidance/2017"

VOTE = "http://council.millbrook.example/minutes/2020-06-24#item-7"
RULING = "http://courts.example/rulings/2020/weir-hydro"
APPEAL = "http://courts.example/appeals/2020/weir-hydro"
PROJECTIONS = "http://weir-hydro.example/investors/projections.pdf"

MARKER = "[link no longer available]"

# Today's plain-text copy of article A: one paragraph a line, the four links replaced by
# the marker.
ARTICLE_A_TEXT = (
    "\n\n".join(
        [
            "Millbrook Dam: What the Inspection Files Show",
            "Published Jun 1, 2020 09:00 AM",
            "The Millbrook reservoir authority has spent three years telling residents its dam is "
            "sound. Files obtained by the Post tell a more complicated story.",
            f"In its annual statement {MARKER} the authority said the spillway had been “fully "
            "refurbished and tested under load”, although contractors were still on site.",
            "The engineering firm Harrow & Vale won a second maintenance contract "
            f"{MARKER} in 2019 worth $4 million without a public tender.",
            f"In 2018, the county planning office announced {MARKER} that a new access road would "
            "be built across the dam’s crest.",
            f"The authority has, however, told bondholders {MARKER} that repairs could take until "
            "2023, a date it has never given the public.",
            "The state’s dam safety guidance asks for an inspection every two years.",
        ]
    )
    + "\n"
)

# Article A as its site served it the day after publication.
ARTICLE_A_2020 = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Millbrook Dam: What the Inspection Files Show</title>
<link rel="canonical" href="{ARTICLE_A}"></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Millbrook Dam: What the Inspection Files Show</h1>
<p>Published Jun 1, 2020 09:00 AM</p>
<p>The Millbrook reservoir authority has spent three years telling residents its dam is
sound. Files obtained by the Post tell a more complicated story.</p>
<p>In its <a href="{STATEMENT}">annual statement</a> the authority said the spillway had
been &ldquo;fully refurbished and tested under load&rdquo;, although contractors were still
on site.</p>
<p>The engineering firm Harrow &amp; Vale won a second
<a href="{CONTRACT}">maintenance contract</a> in 2019 worth $4 million without a public
tender.</p>
<p>In 2018, the county planning office <a href="{ROAD}">announced</a> that a new access
road would be built across the dam&rsquo;s crest.</p>
<p>The authority has, however, told <a href="{BONDS}">bondholders</a> that repairs could
take until 2023, a date it has never given the public.</p>
<p>The state&rsquo;s <a href="{GUIDANCE}">dam safety guidance</a> asks for an inspection
every two years.</p>
</article><footer><a href="/about">About the Post</a></footer></body></html>
"""


def turbines_page(*paragraphs: str, canonical: str = ARTICLE_B) -> str:
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Turbines at the Weir</title>'
        f'<link rel="canonical" href="{canonical}">'
        '<meta property="article:published_time" content="2020-07-01T08:00:00Z"></head>'
        f"<body><h1>Turbines at the Weir</h1>\n{body}</body></html>"
    )


VOTE_LINKED = (
    "The hydro scheme at Millbrook weir was approved in a "
    f'<a href="{VOTE}">council vote</a> after only ten minutes of debate.'
)
COURTS_LINKED = (
    f'The <a href="{RULING}">ruling</a> and the <a href="{APPEAL}">appeal</a> both turned on '
    "the fish-pass design."
)
PROJECTIONS_LINKED = (
    f'According to <a href="{PROJECTIONS}">the developer&rsquo;s own projections</a>, the '
    "turbines would run for eight months a year."
)
ANGLERS = (
    "Anglers said in a letter that the weir pool had silted up since the works began, and "
    'that the <a href="http://anglers.example/">Millbrook Anglers</a> would go to court.'
)
# Article B today: links replaced by markers, and a later correction (never archived).
ARTICLE_B_NOW = turbines_page(
    f"The hydro scheme at Millbrook weir was approved in a council vote {MARKER} after only "
    "ten minutes of debate.",
    f"The ruling {MARKER} and the appeal {MARKER} both turned on the fish-pass design.",
    f"According to {MARKER}, the turbines would run for eight months a year.",
    f"Anglers said in a letter {MARKER} that the weir pool had silted up since the works "
    "began, and that the Millbrook Anglers would go to court.",
    f"A correction was issued in 2022 {MARKER} after readers spotted a wrong figure for the "
    "weir's output.",
)


def unlinked(paragraph: str) -> str:
    """A paragraph as it read before its links were added."""
    return extract_citations(f"<p>{paragraph}</p>", "html")[0].context


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


CAPTURES = [
    FixtureCapture(ARTICLE_A, at(2020, 6, 2, 8, 15), body=ARTICLE_A_2020.encode()),
    FixtureCapture(ARTICLE_B, at(2020, 6, 28), body=turbines_page("Coming soon.").encode()),
    FixtureCapture(
        ARTICLE_B,
        at(2020, 7, 1, 12),
        body=turbines_page(
            *(unlinked(p) for p in (VOTE_LINKED, COURTS_LINKED, PROJECTIONS_LINKED)), ANGLERS
        ).encode(),
    ),
    FixtureCapture(ARTICLE_B, at(2020, 7, 2), 404, b"<html><title>Not Found</title></html>"),
    FixtureCapture(
        ARTICLE_B,
        at(2020, 7, 5),
        body=turbines_page(VOTE_LINKED, COURTS_LINKED, PROJECTIONS_LINKED, ANGLERS).encode(),
    ),
    FixtureCapture(
        ARTICLE_B,
        at(2021, 3, 1),
        body=turbines_page(
            *(extract_citations(ARTICLE_B_NOW, "html")[i].context for i in (0, 1, 3, 4))
        ).encode(),
    ),
    # The sources of article A, archived before the article was published.
    FixtureCapture(
        STATEMENT,
        at(2020, 5, 20),
        body=b"%PDF-1.4 annual statement",
        content_type="application/pdf",
    ),
    FixtureCapture(CONTRACT, at(2020, 5, 21), body=b"<html><title>Award 2019-117</title></html>"),
    FixtureCapture(ROAD, at(2020, 5, 22), body=b"<html><title>Access road notice</title></html>"),
    FixtureCapture(BONDS, at(2020, 5, 23), body=b"<html><title>Filing Q1 2020</title></html>"),
]


@pytest.fixture(scope="module")
def wayback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WaybackServer]:
    with running_wayback(tmp_path_factory.mktemp("wayback"), CAPTURES) as server:
        yield server


@pytest.fixture(scope="module")
def settings(wayback: WaybackServer) -> Settings:
    return archive_settings({"archive.test": wayback}, archives=(ARCHIVE_SPEC,))


def recover(
    article: Article,
    settings: Settings,
    *,
    article_url: str | None = None,
    max_captures: int = 3,
) -> list[tuple[Citation, Recovery]]:
    citations = extract_citations(article.text, article.fmt, source=article.source)
    archives = [parse_archive_spec(spec) for spec in settings.archives]
    with build_session(settings) as session:
        recoveries = recover_removed_links(
            article,
            citations,
            archives,
            session,
            settings,
            article_url=article_url,
            cache=LookupCache.in_memory(),
            max_captures=max_captures,
        )
    assert [r is not None for r in recoveries] == [is_removed_link(c) for c in citations]
    return [(c, r) for c, r in zip(citations, recoveries, strict=True) if r is not None]


def plain_article(tmp_path: Path, text: str = ARTICLE_A_TEXT) -> Article:
    path = tmp_path / "dam-files.txt"
    path.write_text(text, encoding="utf-8")
    return read_article(str(path))


def memento(timestamp: str, url: str) -> str:
    return f"{REPLAY}{timestamp}/{url}"


# -- the seed's situation: four sources, one archived copy ----------------------------------


def test_four_removed_links_are_recovered_from_the_first_copy(
    settings: Settings, tmp_path: Path
) -> None:
    article = plain_article(tmp_path)
    assert article.fmt == "text" and article.url is None
    found = recover(article, settings, article_url=ARTICLE_A)
    copy = memento("20200602081500", ARTICLE_A)
    assert [(c.text, r.url, r.anchor, r.score) for c, r in found] == [
        ("In its annual statement", STATEMENT, "annual statement", 100.0),
        (
            "Harrow & Vale won a second maintenance contract",
            CONTRACT,
            "maintenance contract",
            100.0,
        ),
        ("the county planning office announced", ROAD, "announced", 100.0),
        ("told bondholders", BONDS, "bondholders", 100.0),
    ]
    assert {(r.article_url, r.article_memento, r.article_captured_at) for _, r in found} == {
        (ARTICLE_A, copy, "2020-06-02T08:15:00Z")
    }
    assert {r.captures_read for _, r in found} == {1}
    assert found[0][1].reason == (
        f"recovered from the article's capture of 2020-06-02 ({copy}): "
        "the same sentence (100% alike) links “annual statement” there"
    )


def test_a_recovered_citation_carries_its_url_and_where_it_came_from(
    settings: Settings, tmp_path: Path
) -> None:
    (citation, recovery), *_ = recover(plain_article(tmp_path), settings, article_url=ARTICLE_A)
    recovered = apply_recovery(citation, recovery)
    assert recovered == Citation(
        url=STATEMENT,
        text="In its annual statement",
        context=citation.context,
        line=7,
        quote="fully refurbished and tested under load",
        cited_at="2020-06-01",
        marker=MARKER,
        recovered_from=memento("20200602081500", ARTICLE_A),
        recovered_at="2020-06-02T08:15:00Z",
    )
    unrecovered = Recovery(url=None, reason="not found")
    assert apply_recovery(citation, unrecovered) is citation


def test_without_the_article_url_nothing_is_looked_up(settings: Settings, tmp_path: Path) -> None:
    found = recover(plain_article(tmp_path), settings)
    assert len(found) == 4
    assert {(r.url, r.reason, r.captures_read) for _, r in found} == {
        (
            None,
            "the article's own URL is unknown, so its archived copies cannot be looked up "
            "(give it with --article-url)",
            0,
        )
    }


# -- several copies, and the reasons when nothing fits --------------------------------------


def test_copies_are_read_from_publication_on_until_the_links_are_found(
    settings: Settings,
) -> None:
    article = parse_article_bytes(ARTICLE_B_NOW.encode(), "turbines.html")
    assert (article.url, article.published) == (ARTICLE_B, "2020-07-01")
    found = recover(article, settings)
    # Two markers in one sentence each find their own link; "According to" lost its
    # anchor words to the marker.
    assert [(r.url, r.anchor) for _, r in found] == [
        (VOTE, "council vote"),
        (RULING, "ruling"),
        (APPEAL, "appeal"),
        (PROJECTIONS, "the developer’s own projections"),
        (None, None),
        (None, None),
    ]
    # 2020-07-01 (no links yet) was read first; the links came from 2020-07-05.
    assert {(r.article_memento, r.captures_read) for r in found_urls(found)} == {
        (memento("20200705000000", ARTICLE_B), 2)
    }
    anglers, correction = found[4][1], found[5][1]
    assert anglers == Recovery(
        url=None,
        reason="the sentence is there (100% alike) but has no link where the marker is, "
        "in 3 archived copies of the article read (closest: the capture of 2020-07-01)",
        article_url=ARTICLE_B,
        article_memento=memento("20200701120000", ARTICLE_B),
        article_captured_at="2020-07-01T12:00:00Z",
        score=100.0,
        captures_read=3,
    )
    assert correction.url is None
    assert correction.reason == (
        "not found in the archived article (best match 47%), in 3 archived copies of the "
        "article read (closest: the capture of 2020-07-01)"
    )


def found_urls(found: list[tuple[Citation, Recovery]]) -> list[Recovery]:
    return [r for _, r in found if r.url is not None]


def test_at_most_max_captures_copies_are_read(settings: Settings) -> None:
    article = parse_article_bytes(ARTICLE_B_NOW.encode(), "turbines.html")
    found = recover(article, settings, max_captures=1)
    assert {r.captures_read for _, r in found} == {1}
    assert found[0][1].reason == (
        "the sentence is there (100% alike) but has no link where the marker is, in the "
        "archived copy of the article read (closest: the capture of 2020-07-01)"
    )


def test_capture_order_prefers_the_first_copies_after_publication() -> None:
    def capture(stamp: str, status: int | None = 200) -> Memento:
        return Memento(
            original=ARTICLE_B,
            datetime=stamp,
            archive="ia",
            url=f"u/{stamp}",
            raw_url=f"r/{stamp}",
            http_status=status,
        )

    listed = [
        capture("2020-06-28T00:00:00Z"),
        capture("2020-06-30T00:00:00Z"),
        capture("2020-07-05T00:00:00Z"),
        capture("2020-07-01T12:00:00Z"),
        capture("2020-07-02T00:00:00Z", 404),
        capture("2020-07-03T00:00:00Z", 302),
        capture("2020-07-04T00:00:00Z", None),  # a revisit: status not recorded
    ]
    published = at(2020, 7, 1)
    assert [m.datetime[:10] for m in capture_order(listed, published)] == [
        "2020-07-01",
        "2020-07-04",
        "2020-07-05",
        "2020-06-30",
        "2020-06-28",
    ]
    assert [m.datetime[:10] for m in capture_order(listed, None)] == [
        "2020-06-28",
        "2020-06-30",
        "2020-07-01",
        "2020-07-04",
        "2020-07-05",
    ]


# -- where the article's URL comes from -----------------------------------------------------


def test_the_article_url_option_wins_over_the_files_canonical_link(settings: Settings) -> None:
    wrong = ARTICLE_B_NOW.replace(f'href="{ARTICLE_B}"', f'href="{NEVER_ARCHIVED}"')
    article = parse_article_bytes(wrong.encode(), "turbines.html")
    assert article.url == NEVER_ARCHIVED
    from_file = recover(article, settings)
    assert {(r.url, r.reason) for _, r in from_file} == {
        (None, f"no archive holds a copy of the article {NEVER_ARCHIVED}")
    }
    given = recover(article, settings, article_url=ARTICLE_B)
    assert [r.url for r in found_urls(given)] == [VOTE, RULING, APPEAL, PROJECTIONS]
    assert {r.article_url for _, r in given} == {ARTICLE_B}


def test_an_archive_that_does_not_answer_is_a_reason_not_an_error(tmp_path: Path) -> None:
    settings = Settings(
        host_map={"archive.test": f"127.0.0.1:{closed_port()}"},
        resolve_only=True,
        timeout=2.0,
        retries=0,
        archives=(ARCHIVE_SPEC,),
    )
    found = recover(plain_article(tmp_path), settings, article_url=ARTICLE_A)
    assert {(r.url, r.reason) for _, r in found} == {
        (
            None,
            "looking up archived copies of the article failed: "
            f"{ARCHIVE_SPEC}: cannot connect to archive.test (connection refused)",
        )
    }


# -- matching in one copy, without an archive -----------------------------------------------


def removed_citations(text: str, fmt: str) -> list[Citation]:
    return [c for c in extract_citations(text, fmt) if is_removed_link(c)]


def test_the_same_sentence_linked_twice_differently_is_not_guessed() -> None:
    copy = ArchivedArticle(
        '<p>The board met <a href="http://a.example/minutes">in private</a> on Monday.</p>'
        '<aside><p>The board met <a href="http://b.example/agenda">in private</a> on Monday.'
        "</p></aside>"
    )
    (removed,) = removed_citations(f"The board met in private {MARKER} on Monday.", "text")
    match = copy.match(removed)
    assert (match.citation, match.reason) == (
        None,
        "ambiguous: links to http://a.example/minutes, http://b.example/agenda fit the marker "
        "equally well",
    )


def test_a_link_elsewhere_in_the_sentence_is_not_taken() -> None:
    copy = ArchivedArticle(
        '<p>The <a href="http://a.example/board">board</a> met in private on Monday to '
        "discuss the budget.</p>"
    )
    (removed,) = removed_citations(
        f"The board met in private on Monday to discuss the budget {MARKER}.", "text"
    )
    match = copy.match(removed)
    assert (match.citation, match.reason) == (
        None,
        "the sentence is there (100% alike) but has no link where the marker is",
    )


def test_typography_and_small_edits_still_match() -> None:
    copy = ArchivedArticle(
        "<p>The mayor called the report &ldquo;a&nbsp;serious&nbsp;failure&rdquo; &mdash; "
        'in <a href="http://a.example/interview">an interview</a> with local radio.</p>'
    )
    (removed,) = removed_citations(
        f'The Mayor called the report "a serious failure" - in an interview {MARKER} with '
        "the local radio.",
        "text",
    )
    match = copy.match(removed)
    assert match.citation is not None and match.citation.url == "http://a.example/interview"
    assert round(match.score) == 98


def test_the_seeds_four_removed_links_match_a_copy_with_the_links_put_back() -> None:
    """The seed's own sentences (read at test time, never stored): each marker's words
    before it become a link in an HTML copy, and each marker finds its own link."""
    seed = require_shared("seed", "ipvm-dahua-xinjiang-2018.txt")
    article = read_article(str(seed))
    removed = [c for c in extract_citations(article.text, article.fmt) if is_removed_link(c)]
    assert len(removed) == 4
    paragraphs = ["<p>An unrelated opening paragraph, for company.</p>"]
    for number, citation in enumerate(removed):
        before, _, after = citation.context.partition(MARKER)
        anchor = " ".join(citation.text.split()[-2:])  # the last words before the marker
        lead = before.rstrip()[: -len(anchor)]
        link = f'<a href="http://source.example/{number}">{anchor}</a>'
        paragraphs.append(f"<p>{escape(lead)}{link}{escape(after)}</p>")
    copy = ArchivedArticle("<html><body>" + "".join(paragraphs) + "</body></html>")
    matches = [copy.match(citation) for citation in removed]
    assert [m.citation.url if m.citation else m.reason for m in matches] == [
        f"http://source.example/{n}" for n in range(4)
    ]
    assert [m.score for m in matches] == [100.0] * 4


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- the pipeline and the command line ------------------------------------------------------


@pytest.fixture
def live_sources(origin: OriginServer) -> OriginServer:
    """Today's web for article A's sources: two alive, two gone."""
    origin.add(CONTRACT, Page(body="<html><title>Award 2019-117</title></html>"))
    origin.add(ROAD, Page(body="<html><title>Access road notice</title></html>"))
    origin.add(STATEMENT, Page(status=404, body="Not Found"))
    origin.add(BONDS, Page(status=410, body="Gone"))
    origin.add(GUIDANCE, Page(status=404, body="Not Found"))
    return origin


def pipeline_settings(origin: OriginServer, wayback: WaybackServer, store: Path) -> Settings:
    base = sandbox_settings(origin, store=store, archives=(ARCHIVE_SPEC,), fresh_for=0.0)
    return base.replace(host_map={**base.host_map, "archive.test": f"127.0.0.1:{wayback.port}"})


def test_the_pipeline_checks_and_archives_the_recovered_urls(
    live_sources: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    settings = pipeline_settings(live_sources, wayback, tmp_path / "warcs")
    article = plain_article(tmp_path)
    citations = extract_citations(article.text, article.fmt, source=article.source)
    report = run_pipeline(article, citations, settings, article_url=ARTICLE_A)
    rows = [
        (
            r.citation.url,
            r.check.verdict.value if r.check else None,
            r.selection.memento.datetime if r.selection and r.selection.memento else None,
            sorted(c.source for c in r.captures),
        )
        for r in report.results
    ]
    assert rows == [
        (STATEMENT, "dead", "2020-05-20T00:00:00Z", ["memento"]),
        (CONTRACT, "alive", "2020-05-21T00:00:00Z", ["live", "memento"]),
        (ROAD, "alive", "2020-05-22T00:00:00Z", ["live", "memento"]),
        (BONDS, "dead", "2020-05-23T00:00:00Z", ["memento"]),
    ]
    copy = memento("20200602081500", ARTICLE_A)
    first = report.results[0]
    assert first.recovery is not None and first.recovery.article_memento == copy
    assert first.citation.recovered_from == copy
    assert first.notes[0] == (
        f"the removed link's URL was recovered from the article's capture of 2020-06-02 "
        f"({copy}): the same sentence (100% alike) links “annual statement” there"
    )
    assert report.summary()["recovered"] == 4
    assert report.summary()["dead"] == 2
    stored = {c.target_uri for r in report.results for c in r.captures}
    assert stored == {STATEMENT, CONTRACT, ROAD, BONDS}


def test_an_unrecovered_link_says_why_in_the_run(
    live_sources: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    settings = pipeline_settings(live_sources, wayback, tmp_path / "warcs")
    article = plain_article(tmp_path)
    citations = extract_citations(article.text, article.fmt, source=article.source)
    report = run_pipeline(article, citations, settings, capture=False)
    assert [(r.citation.url, r.check, r.notes) for r in report.results] == [
        (
            None,
            None,
            (
                "the link was removed from the text and not recovered: the article's own URL "
                "is unknown, so its archived copies cannot be looked up (give it with "
                "--article-url)",
            ),
        )
    ] * 4
    assert report.summary()["recovered"] == 0
    assert report.summary()["verdict_removed"] == 4


def test_run_with_article_url_reports_the_recovered_urls_as_json(
    live_sources: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    path = tmp_path / "dam-files.txt"
    path.write_text(ARTICLE_A_TEXT, encoding="utf-8")
    resolve = [f"--resolve={h}={a}" for h, a in live_sources.host_map().items()]
    resolve += [f"--resolve=archive.test=127.0.0.1:{wayback.port}", "--only-resolved"]
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(path),
            "--article-url",
            ARTICLE_A,
            "--archive",
            ARCHIVE_SPEC,
            "--store",
            str(tmp_path / "warcs"),
            "--format",
            "json",
            *resolve,
        ],
    )
    assert result.exit_code == 3, result.output  # two of the recovered sources are dead
    data = json.loads(result.stdout)
    copy = memento("20200602081500", ARTICLE_A)
    assert [
        (r["citation"]["url"], r["citation"]["recovered_from"], r["recovery"]["article_memento"])
        for r in data["results"]
    ] == [(url, copy, copy) for url in (STATEMENT, CONTRACT, ROAD, BONDS)]
    assert data["results"][1]["citation"]["recovered_at"] == "2020-06-02T08:15:00Z"
    assert data["results"][1]["recovery"]["score"] == 100.0
    assert data["summary"]["recovered"] == 4


def test_a_bad_article_url_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "dam-files.txt"
    path.write_text(ARTICLE_A_TEXT, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["archive", str(path), "--article-url", "ftp://millbrook-post.example/x"]
    )
    assert result.exit_code == 1
    assert (
        result.output == "archiver: error: not an http(s) URL: 'ftp://millbrook-post.example/x'\n"
    )


def test_lookups_of_the_article_are_kept_in_the_state_file(
    settings: Settings, tmp_path: Path
) -> None:
    article = plain_article(tmp_path)
    citations = extract_citations(article.text, article.fmt, source=article.source)
    archives = [parse_archive_spec(ARCHIVE_SPEC)]
    with State(tmp_path / "state.sqlite") as state, build_session(settings) as session:
        cache = LookupCache(state)
        first = recover_removed_links(
            article, citations, archives, session, settings, article_url=ARTICLE_A, cache=cache
        )
        asked: list[str] = []
        session.hooks["response"].append(lambda r, *a, **k: asked.append(r.url))
        again = recover_removed_links(
            article, citations, archives, session, settings, article_url=ARTICLE_A, cache=cache
        )
    assert again == first
    assert [u for u in asked if "/cdx?" in u] == []  # the capture list came from the cache
    assert asked == [f"{REPLAY}20200602081500id_/{ARTICLE_A}"]


def test_a_link_is_recovered_from_a_third_party_warc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pywb's sample crawl of iana.org (2014) as a local collection: a text that lost the
    link of the home page's survey paragraph gets it back from the crawl."""
    warc = require_shared("corpus", "warcs", "iana.warc.gz")
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(tmp_path / "cache"))
    settings = Settings(resolve_only=True, archives=(str(warc),))
    article = parse_article_bytes(
        b"Published 2014-01-20\n\nIANA surveyed its customers in 2013. This report "
        b"[link no longer available] summarizes the survey methodology and the responses "
        b"received.\n",
        "iana-notes.txt",
    )
    ((_, recovery),) = recover(article, settings, article_url="http://www.iana.org/")
    assert recovery.url == "http://www.iana.org/reports/2013/customer-survey-20131210.pdf"
    assert (recovery.anchor, recovery.score) == ("This report", 100.0)
    assert recovery.article_captured_at == "2014-01-26T20:06:24Z"
    assert recovery.article_memento == f"{warc.absolute().as_uri()}#offset=334"


def test_a_capture_the_archive_cannot_replay_is_skipped(tmp_path: Path) -> None:
    """An archive (played by the origin server) lists two captures of article A and fails
    to replay the first: the second is read, and the failure is said when nothing is left."""
    cdx = "\n".join(
        f"com,millbrook-post)/2020/06/dam-files {stamp} {ARTICLE_A} text/html 200 "
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 1000"
        for stamp in ("20200602000000", "20200603000000")
    )
    with OriginServer() as archive:
        archive.sites["archive.test"] = Site(fallback=Page(body=cdx, content_type="text/plain"))
        broken = f"{REPLAY}20200602000000id_/{ARTICLE_A}"
        archive.add(broken, Page(status=500, body="Internal Server Error"))
        good = f"{REPLAY}20200603000000id_/{ARTICLE_A}"
        archive.add(good, Page(body=ARTICLE_A_2020))
        settings = Settings(
            host_map=archive.host_map(),
            resolve_only=True,
            timeout=2.0,
            retries=0,
            archives=(ARCHIVE_SPEC,),
        )
        found = recover(plain_article(tmp_path), settings, article_url=ARTICLE_A)
        assert [r.url for _, r in found] == [STATEMENT, CONTRACT, ROAD, BONDS]
        assert {(r.article_memento, r.captures_read) for _, r in found} == {
            (memento("20200603000000", ARTICLE_A), 1)
        }
        archive.add(good, Page(status=500, body="Internal Server Error"))
        found = recover(plain_article(tmp_path), settings, article_url=ARTICLE_A)
        assert {(r.url, r.reason) for _, r in found} == {
            (
                None,
                "the capture of 2020-06-02 could not be read (the archive answered HTTP 500); "
                "the capture of 2020-06-03 could not be read (the archive answered HTTP 500)",
            )
        }


def test_the_demo_archive_holds_the_bundled_article_with_its_two_links() -> None:
    from archiver.demo import run as demo

    article = read_article(str(demo.example_article()))
    assert article.url == demo.ARTICLE  # from the front matter's url:
    (capture,) = [c for c in demo.archived_copies() if c.url == demo.ARTICLE]
    copy = ArchivedArticle(capture.body.decode(), "html", demo.ARTICLE)
    removed = [c for c in extract_citations(article.text, article.fmt) if is_removed_link(c)]
    assert [(m.citation.url, m.score) for m in map(copy.match, removed) if m.citation] == [
        (demo.SUMMARY, 100.0),
        (demo.LETTER, 100.0),
    ]
    # Every other citation reads the same in the old copy, link for link.
    now = [c.url for c in extract_citations(article.text, article.fmt) if c.url]
    assert [c.url for c in copy.citations if c.url not in (demo.SUMMARY, demo.LETTER)] == now
    sources = {c.url: c.captured_at for c in demo.archived_copies()}
    assert (
        sources[demo.SUMMARY] < capture.captured_at and sources[demo.LETTER] < capture.captured_at
    )
