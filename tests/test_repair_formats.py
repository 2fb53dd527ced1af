"""Repairing Markdown, HTML and plain text (archiver.repair.markdown, .html, .plaintext),
and the bytes around the edits: on the fixtures, ``citations/``, the seed and real pages
of ``../shared/corpus`` (pywb's iana.org crawl), every byte outside the edited spans is
the byte read (``repaired`` checks it on every call)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.extract import extract_citations, parse_article_bytes
from archiver.models import Selection, Verdict
from archiver.pipeline import CitationResult
from archiver.repair.article import repair_article
from archiver.repair.plan import RepairOptions
from tests.conftest import require_shared
from tests.repair_helpers import (
    IA,
    NOW,
    assert_only_edits_differ,
    ia_memento,
    repaired,
    results_for,
)

ARTICLES = Path(__file__).parent / "fixtures" / "articles"
CITATIONS = Path(__file__).parents[1] / "citations"
DEAD = Verdict.DEAD


def copy(url: str) -> str:
    return f"{IA}20150304050607/{url}"


def every_url_dead(data: bytes, name: str) -> dict[str, Verdict]:
    article = parse_article_bytes(data, name)
    return {c.url: DEAD for c in extract_citations(article.text, article.fmt) if c.url}


# -- Markdown ---------------------------------------------------------------------------------


def test_markdown_dead_links_point_at_their_copy_and_keep_the_original_visible() -> None:
    data = (ARTICLES / "bike-lanes.md").read_bytes()
    _, repair = repaired(data, "bike-lanes.md", every_url_dead(data, "bike-lanes.md"))
    count = "https://council.example.gov/counts/2020.pdf"
    radio = "https://radio.example.com/harbour-lane"
    dept = "https://transport.example.gov/reports/harbour"
    method = "https://council.example.gov/counts/method"
    mirror = "https://mirror.example.org/harbour_(2021)"
    data_url = "https://data.example.gov/harbour-street"
    text = repair.text
    assert (
        f'[first traffic count]({copy(count)} "Traffic count 2020") ([original]({count}))' in text
    )
    assert f"[Radio Harbour]({copy(radio)}) ([original]({radio})) called" in text
    # a reference link becomes inline; its definition stays for other uses
    assert f"the [transport department]({copy(dept)}) ([original]({dept})), weekday" in text
    assert f"[methodology]({copy(method)}) ([original](<{method}>)) (accessed" in text
    assert f'\n[dept]: {dept} "Harbour report"\n' in text
    # an autolink and a URL written out: the URL still shows, pointing at the copy
    assert f"on [{data_url}]({copy(data_url)}) and" in text
    assert f"[{mirror}](<{copy(mirror)}>). The code" in text
    # code is not a citation; a link already to an archive is kept
    assert "curl https://api.example.com/not-a-citation\n" in text
    assert "Use `https://example.com/also-not-cited` to" in text
    assert "[2019 corridor study](https://web.archive.org/web/20190704101500/" in text
    assert [(c.action, c.reason) for c in repair.changes if c.action != "archived"] == [
        ("already-archived", "already links an archived copy (--replace-archived replaces it)"),
        ("kept", "the link was removed from the text and not recovered"),
    ]


def test_the_markdown_form_is_configurable() -> None:
    url = "https://radio.example.com/harbour-lane"
    data = f"Heard on [Radio Harbour]({url}) today.\n".encode()
    form = "[{text}]({url}) ([archived {date}]({memento}))"
    _, repair = repaired(data, "a.md", {url: DEAD}, markdown_form=form)
    assert repair.text == (
        f"Heard on [Radio Harbour]({url}) ([archived 2015-03-04]({copy(url)})) today.\n"
    )


def test_a_live_markdown_link_archived_on_request_keeps_its_target() -> None:
    url = "https://radio.example.com/harbour-lane"
    data = f"Heard on [Radio Harbour]({url}) today.\n".encode()
    _, repair = repaired(data, "a.md", {}, every_citation=True)
    assert repair.text == (
        f"Heard on [Radio Harbour]({url}) ([archived copy]({copy(url)})) today.\n"
    )


def test_raw_html_in_markdown_gets_robust_links() -> None:
    url = "https://radio.example.com/harbour-lane"
    data = f'Heard on <a href="{url}">Radio Harbour</a> today.\n'.encode()
    _, repair = repaired(data, "a.md", {url: DEAD})
    assert repair.text == (
        f'Heard on <a href="{url}" data-versionurl="{copy(url)}" '
        'data-versiondate="2015-03-04">Radio Harbour</a> today.\n'
    )


# -- HTML -------------------------------------------------------------------------------------


def test_html_links_get_robust_links_attributes_in_place() -> None:
    data = (ARTICLES / "harbour-report.html").read_bytes()
    verdicts = every_url_dead(data, "harbour-report.html")
    _, repair = repaired(data, "harbour-report.html", verdicts)
    statement = "https://engineers.example.org/statement"
    annex = "https://www.example.net/reports/annex/sediment-tests.html"
    assert (
        f'<a href="{statement}" data-versionurl="{copy(statement)}" '
        'data-versiondate="2015-03-04">told reporters</a>'
    ) in repair.text
    # href stays as written (relative, resolved against <base href>)
    assert (
        f'<a href="annex/sediment-tests.html" data-versionurl="{copy(annex)}" '
        'data-versiondate="2015-03-04">sediment test results</a>'
    ) in repair.text
    assert '<script>var tracker = "https://tracker.example.com/pixel";</script>' in repair.text


def test_html_dead_links_swapped_when_asked() -> None:
    url = "https://engineers.example.org/statement?a=1&b=2"
    data = f"<p>Engineers <a class=x href='{url.replace('&', '&amp;')}'>said</a>.</p>\n".encode()
    _, repair = repaired(data, "a.html", {url: DEAD}, html_swap_dead=True)
    assert repair.text == (
        f"<p>Engineers <a class=x href='{copy(url).replace('&', '&amp;')}' "
        f'data-originalurl="{url.replace("&", "&amp;")}" '
        'data-versiondate="2015-03-04">said</a>.</p>\n'
    )


def test_html_an_existing_version_url_is_replaced_only_when_asked() -> None:
    url = "https://engineers.example.org/statement"
    old = f"{IA}20100101000000/{url}"
    data = (
        f'<p><a href="{url}" data-versionurl="{old}" data-versiondate="2010-01-01">x</a></p>'
    ).encode()
    _, kept = repaired(data, "a.html", {url: DEAD})
    assert kept.text == data.decode()
    _, replaced = repaired(data, "a.html", {url: DEAD}, replace_archived=True)
    assert replaced.text == (
        f'<p><a href="{url}" data-versionurl="{copy(url)}" data-versiondate="2015-03-04">x</a></p>'
    )


def test_html_in_its_declared_charset_is_written_back_in_it() -> None:
    url = "http://example.com/caf%C3%A9"
    data = (
        '<html><head><meta charset="windows-1252"></head><body>\r\n'
        f'<p>Caf\xe9 \x93menu\x94: <a href="{url}">la carte</a></p>\r\n</body></html>'
    ).encode("latin-1")
    _, repair = repaired(data, "a.html", {url: DEAD})
    expected = data.replace(
        f'href="{url}"'.encode(),
        f'href="{url}" data-versionurl="{copy(url)}" data-versiondate="2015-03-04"'.encode(),
    )
    assert repair.data == expected


def test_a_byte_order_mark_is_kept() -> None:
    url = "https://radio.example.com/a"
    data = b"\xef\xbb\xbf" + f"Heard on [radio]({url}).\r\n".encode()
    _, repair = repaired(data, "a.md", {url: DEAD})
    assert repair.data == b"\xef\xbb\xbf" + (
        f"Heard on [radio]({copy(url)}) ([original]({url})).\r\n".encode()
    )


# -- plain text and markers -------------------------------------------------------------------


def test_plain_text_urls_get_their_copy_after_them() -> None:
    data = (ARTICLES / "field-notes.txt").read_bytes()
    verdicts = every_url_dead(data, "field-notes.txt")
    _, repair = repaired(data, "field-notes.txt", verdicts)
    logbooks = "https://archive.example.org/logbooks/1890-1910"
    assert f"(see {logbooks} (archived copy: {copy(logbooks)})).\n" in repair.text


def test_a_recovered_marker_becomes_the_link_and_its_copy_in_each_format() -> None:
    marker = "[link no longer available]"
    url = "http://source.example/q3-report"
    for name, text, expected in [
        ("a.txt", f"The report {marker} said so.\n", f"{url} (archived copy: {copy(url)})"),
        ("a.md", f"The report {marker} said so.\n", f"<{url}> ([archived copy]({copy(url)}))"),
        (
            "a.html",
            f"<p>The report {marker} said so.</p>\n",
            f'<a href="{url}" data-versionurl="{copy(url)}" '
            f'data-versiondate="2015-03-04">{url}</a>',
        ),
    ]:
        article = parse_article_bytes(text.encode(), name)
        (removed,) = extract_citations(article.text, article.fmt)
        assert removed.marker == marker
        recovered = dataclasses.replace(
            removed, url=url, recovered_from=f"{IA}20190101000000/x", recovered_at="2019-01-01"
        )
        results = [CitationResult(recovered, None, Selection(ia_memento(url), "closest"))]
        repair = repair_article(text.encode(), article, results, RepairOptions(now=NOW))
        assert repair.text == text.replace(marker, expected), name
        assert [c.action for c in repair.changes] == ["restored"]


# -- real articles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        *sorted(ARTICLES.iterdir()),
        *sorted(p for p in CITATIONS.iterdir() if p.name != "README.md"),
    ],
    ids=lambda p: p.name,
)
def test_every_fixture_and_example_keeps_its_other_bytes(path: Path) -> None:
    data = path.read_bytes()
    _, repair = repaired(data, path.name, every_url_dead(data, path.name))
    assert repair.changed


def test_the_seed_keeps_its_other_bytes() -> None:
    seed = require_shared("seed", "ipvm-dahua-xinjiang-2018.txt")
    data = seed.read_bytes()
    _, repair = repaired(data, seed.name, every_url_dead(data, seed.name))
    assert repair.summary()["kept"] == sum(1 for c in repair.changes if c.url is None)


_ROBUST = re.compile(rb' data-versionurl="[^"]*" data-versiondate="\d{4}-\d{2}-\d{2}"')


def test_real_pages_of_the_corpus_change_only_in_their_links() -> None:
    """pywb's iana.org crawl: every link of every page dead. With the attributes added
    taken out again, each page is byte for byte what it was."""
    warc = require_shared("corpus", "warcs", "iana.warc.gz")
    pages = 0
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            kind = record.http_headers.get_header("Content-Type") if record.http_headers else ""
            if record.rec_type != "response" or "html" not in (kind or ""):
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI")
            body = record.content_stream().read()
            if not body:
                continue
            article = parse_article_bytes(body, uri, kind)
            cited = extract_citations(article.text, article.fmt, source=uri)
            results = results_for(article, {c.url: DEAD for c in cited if c.url})
            repair = repair_article(body, article, results, RepairOptions(now=NOW))
            assert_only_edits_differ(body, article.text, repair.data, repair.changes)
            assert _ROBUST.sub(b"", repair.data) == body, uri
            edited = sum(1 for c in repair.changes if c.action == "archived")
            assert edited == len(_ROBUST.findall(repair.data)) > 0, uri
            pages += 1
    assert pages >= 15


# -- repairing again --------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(ARTICLES.iterdir()), ids=lambda p: p.name)
def test_repairing_the_repaired_article_changes_nothing(path: Path) -> None:
    data = path.read_bytes()
    _, first = repaired(data, path.name, every_url_dead(data, path.name))
    assert first.changed
    _, second = repaired(first.data, path.name, every_url_dead(first.data, path.name))
    assert second.changed == []
    assert second.data == first.data


def test_replace_archived_swaps_an_archive_link_for_the_new_copy_where_it_stands() -> None:
    url = "http://planning.example.net/corridor-study"
    old = f"{IA}20100101000000/{url}"
    newer = ia_memento(url, "20190704101500")
    cases = [
        ("a.md", f"See [the study]({old}) and <{old}>.\n"),
        ("a.txt", f"See {old} for the study.\n"),
        ("a.wiki", f"See [{old} the study] and {old} again.\n"),
        ("a.html", f'<p>See <a href="{old}">the study</a>.</p>\n'),
    ]
    for name, text in cases:
        _, repair = repaired(text.encode(), name, {url: DEAD}, {url: newer}, replace_archived=True)
        assert repair.text == text.replace(old, newer.url), name
        _, kept = repaired(text.encode(), name, {url: DEAD}, {url: newer})
        assert kept.text == text, name
