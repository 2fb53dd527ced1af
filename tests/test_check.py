"""The check stage against a real origin server on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiver.check.links import check_urls
from archiver.check.processes import EARLY_START_BYTES, check_processes_for
from archiver.cli.main import cli
from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page, Site
from archiver.errors import InputError
from archiver.models import LinkCheck, Verdict
from archiver.net.urls import validate_url
from archiver.state import State
from tests.conftest import closed_port, sandbox_settings

FIXED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
NOT_FOUND_PAGE = "<html><head><title>Page not found</title></head><body>Sorry.</body></html>"


def check_one(origin: OriginServer, url: str, **changes: object) -> LinkCheck:
    settings = sandbox_settings(origin, **{"timeout": 1.0, **changes})
    [result] = check_urls([url], settings, clock=lambda: FIXED)
    return result


def article(title: str, words: str) -> str:
    head = f"<html><head><title>{title}</title></head>"
    return f"{head}<body><h1>{title}</h1><p>{words}</p></body></html>"


def honest_site(origin: OriginServer, host: str) -> None:
    """A site whose unknown URLs answer a real 404 (so its 200s can be believed)."""
    origin.sites[host] = Site()


def test_alive_page(origin: OriginServer) -> None:
    honest_site(origin, "news.example")
    origin.add("http://news.example/story", Page(body=article("Budget vote", "The council voted.")))
    result = check_one(origin, "http://news.example/story")
    assert (result.verdict, result.http_status, result.method) == (Verdict.ALIVE, 200, "GET")
    assert (result.final_url, result.reason) == ("http://news.example/story", "HTTP 200")
    assert result.checked_at == "2026-01-02T03:04:05Z"


def test_404_and_410_are_dead_after_one_get(origin: OriginServer) -> None:
    origin.add("http://news.example/old", Page(status=410))
    missing = check_one(origin, "http://news.example/missing")
    gone = check_one(origin, "http://news.example/old")
    assert (missing.verdict, missing.http_status, missing.reason) == (
        Verdict.DEAD,
        404,
        "HTTP 404: not found",
    )
    assert (gone.verdict, gone.http_status, gone.reason) == (Verdict.DEAD, 410, "HTTP 410: gone")
    assert [hit.method for hit in origin.hits_for("news.example")] == ["GET", "GET"]


def test_files_are_checked_with_head(origin: OriginServer) -> None:
    honest_site(origin, "files.example")
    origin.add(
        "http://files.example/report.pdf",
        Page(body=b"%PDF-1.4 " + b"x" * 4096, content_type="application/pdf"),
    )
    result = check_one(origin, "http://files.example/report.pdf")
    assert (result.verdict, result.method) == (Verdict.ALIVE, "HEAD")
    assert [hit.method for hit in origin.hits_for("files.example")] == ["HEAD"]


def test_file_url_answering_html_is_read_with_get(origin: OriginServer) -> None:
    origin.sites["files.example"] = Site(fallback=Page(body=NOT_FOUND_PAGE))
    result = check_one(origin, "http://files.example/report.pdf")
    assert (result.verdict, result.method) == (Verdict.SOFT_404, "GET")


def test_server_error(origin: OriginServer) -> None:
    origin.add("http://news.example/broken", Page(status=500))
    result = check_one(origin, "http://news.example/broken")
    assert (result.verdict, result.http_status) == (Verdict.SERVER_ERROR, 500)


@pytest.mark.parametrize("status", [401, 402, 403, 407, 451])
def test_refusals_are_blocked_not_dead(origin: OriginServer, status: int) -> None:
    origin.add("http://news.example/wall", Page(status=status))
    result = check_one(origin, "http://news.example/wall")
    assert (result.verdict, result.http_status) == (Verdict.BLOCKED, status)


def test_cloudflare_challenge_is_a_bot_wall(origin: OriginServer) -> None:
    origin.add(
        "http://shop.example/item",
        Page(
            status=403,
            body="<title>Just a moment...</title>",
            headers=(("cf-mitigated", "challenge"),),
        ),
    )
    result = check_one(origin, "http://shop.example/item")
    assert (result.verdict, result.reason) == (
        Verdict.BLOCKED,
        "HTTP 403: a bot wall (cf-mitigated: challenge)",
    )


def test_challenge_page_behind_503_is_blocked_not_server_error(origin: OriginServer) -> None:
    origin.add(
        "http://shop.example/item",
        Page(status=503, body="<title>Attention Required! | Cloudflare</title>"),
    )
    assert check_one(origin, "http://shop.example/item").verdict is Verdict.BLOCKED


def test_429_is_retried_once_retry_after_allows(origin: OriginServer) -> None:
    origin.add("http://api.example/x", Page(status=429, headers=(("Retry-After", "0"),)))
    result = check_one(origin, "http://api.example/x")
    assert (result.verdict, result.http_status) == (Verdict.BLOCKED, 429)
    assert len(origin.hits_for("api.example")) == 2


def test_429_asking_for_too_long_a_wait_is_not_retried(origin: OriginServer) -> None:
    origin.add("http://api.example/x", Page(status=429, headers=(("Retry-After", "3600"),)))
    result = check_one(origin, "http://api.example/x")
    assert result.verdict is Verdict.BLOCKED
    assert len(origin.hits_for("api.example")) == 1


def test_hung_server_times_out(origin: OriginServer) -> None:
    origin.add("http://slow.example/hang", Page(hang=True))
    result = check_one(origin, "http://slow.example/hang", timeout=0.5)
    assert (result.verdict, result.http_status) == (Verdict.TIMEOUT, None)
    assert result.reason == "no answer within 0.5 s"


def test_timeout_is_retried(origin: OriginServer) -> None:
    origin.add("http://slow.example/hang", Page(hang=True))
    result = check_one(origin, "http://slow.example/hang", timeout=0.3, retries=2)
    assert result.verdict is Verdict.TIMEOUT
    assert len(origin.hits_for("slow.example")) == 3


def test_redirects_are_followed_to_the_final_url(origin: OriginServer) -> None:
    honest_site(origin, "news.example")
    origin.add("http://news.example/old-path", Page(status=301, location="/new-path"))
    origin.add("http://news.example/new-path", Page(body=article("Moved", "Moved here.")))
    result = check_one(origin, "http://news.example/old-path")
    assert (result.verdict, result.final_url) == (Verdict.ALIVE, "http://news.example/new-path")
    assert result.reason == "HTTP 200 after 1 redirect(s)"


def test_redirect_loop_is_unreachable(origin: OriginServer) -> None:
    origin.add("http://news.example/loop", Page(status=302, location="/loop"))
    result = check_one(origin, "http://news.example/loop", max_redirects=3)
    assert (result.verdict, result.reason) == (Verdict.UNREACHABLE, "more than 3 redirects")


def test_host_that_does_not_exist_is_dead(origin: OriginServer) -> None:
    result = check_one(origin, "http://no-such-host.example/page")
    assert (result.verdict, result.reason) == (Verdict.DEAD, "no such host: no-such-host.example")


def test_refused_connection_is_unreachable(origin: OriginServer) -> None:
    settings = sandbox_settings(origin)
    settings = settings.replace(
        host_map={**settings.host_map, "down.example": f"127.0.0.1:{closed_port()}"}
    )
    [result] = check_urls(["http://down.example/"], settings)
    assert (result.verdict, result.reason) == (
        Verdict.UNREACHABLE,
        "connection failed: Connection refused",
    )


def test_dropped_connection_is_unreachable(origin: OriginServer) -> None:
    origin.add("http://flaky.example/", Page(drop=True))
    result = check_one(origin, "http://flaky.example/")
    assert (result.verdict, result.reason) == (
        Verdict.UNREACHABLE,
        "connection failed: the server closed it without answering",
    )


def test_huge_body_is_not_read_past_the_cap(origin: OriginServer) -> None:
    honest_site(origin, "big.example")
    origin.add("http://big.example/", Page(body=b"<p>" + b"x" * 65536, repeat=1024))  # 64 MiB
    result = check_one(origin, "http://big.example/")
    assert (result.verdict, result.http_status) == (Verdict.ALIVE, 200)


# -- soft-404s -------------------------------------------------------------------------


def test_200_not_found_page_is_soft_404_by_its_title(origin: OriginServer) -> None:
    origin.add("http://blog.example/posts/gone", Page(body=NOT_FOUND_PAGE))
    result = check_one(origin, "http://blog.example/posts/gone")
    assert (result.verdict, result.http_status) == (Verdict.SOFT_404, 200)
    assert result.reason == "HTTP 200 but its title says 'Page not found'"


@pytest.mark.parametrize(
    "title",
    ["Seite nicht gefunden", "Página no encontrada", "Page introuvable", "ページが見つかりません"],
)
def test_not_found_titles_in_other_languages(origin: OriginServer, title: str) -> None:
    origin.add("http://blog.example/posts/x", Page(body=f"<title>{title}</title><p>…</p>"))
    assert check_one(origin, "http://blog.example/posts/x").verdict is Verdict.SOFT_404


# One text each phrase of soft404.NOT_FOUND_PHRASES matches, in the phrases' order.
PHRASE_EXAMPLES = [
    "404 - gone",
    "Error 404",
    "Page was not found",
    "File not found",
    "The page you requested cannot be found",
    "This offer is no longer available",
    "This page doesn't exist",
    "Datei nicht gefunden",
    "No se encontró el artículo",
    "Page non trouvée",
    "Pagina non trovata",
    "Pagina niet gevonden",
    "Página não encontrada",
    "Страница не найдена",
    "Nie znaleziono strony",
    "Sayfa bulunamadı",
    "页面不存在",
    "ページが見つかりません",
    "페이지를 찾을 수 없습니다",
]


def test_not_found_wording_finds_every_phrase_in_any_case() -> None:
    # not_found_wording looks for a few plain words before it searches for the phrases;
    # that look must never rule out a page the search would find, whatever the case, and
    # with the letters the search's ignore-case matches though lower() keeps them apart.
    import random

    from archiver.check.soft404 import _NOT_FOUND, NOT_FOUND_PHRASES, PageSummary, not_found_wording

    assert len(PHRASE_EXAMPLES) == len(NOT_FOUND_PHRASES)
    odd = {"i": "ıİ", "s": "ſ", "k": "\u212a", "д": "\u1c81", "о": "\u1c82", "т": "\u1c84"}
    rng = random.Random(4)
    for example, phrase in zip(PHRASE_EXAMPLES, NOT_FOUND_PHRASES, strict=True):
        assert re.search(phrase, example, re.IGNORECASE), (phrase, example)
        variants = [example, example.upper(), example.lower(), example.title()]
        for _ in range(30):
            variants.append(
                "".join(
                    rng.choice(odd.get(c.lower(), c.swapcase()) + c) if rng.random() < 0.5 else c
                    for c in example
                )
            )
        for text in variants:
            page = PageSummary("http://a.example/x", "http://a.example/x", 200, text, "")
            said = not_found_wording(page)
            assert (said is not None) == bool(_NOT_FOUND.search(text)), text
    nothing = PageSummary("http://a.example/x", "http://a.example/x", 200, "Page 12", "A page.")
    assert not_found_wording(nothing) is None


def test_lengths_rule_out_only_pages_the_comparison_would_call_different() -> None:
    # probe_evidence skips rapidfuzz when the lengths alone rule a match out; that must
    # never skip a pair it would have called the same, the lengths at the line included.
    import random

    from rapidfuzz import fuzz

    from archiver.check.soft404 import SIMILAR_ENOUGH, could_be_similar

    rng = random.Random(9)
    ruled_out = 0
    for _ in range(20_000):
        a = "".join(rng.choice("ab #") for _ in range(rng.randint(0, 40)))
        b = a[: rng.randint(0, len(a))] + "".join(
            rng.choice("ab") for _ in range(rng.randint(0, 8))
        )
        if not could_be_similar(len(a), len(b)):
            ruled_out += 1
            assert fuzz.ratio(a, b) < SIMILAR_ENOUGH, (a, b)
    assert ruled_out > 1000
    assert could_be_similar(90, 110) and not could_be_similar(89, 110)  # 180/200 = 90 %
    assert could_be_similar(0, 0)  # two empty pages are the same page


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.5:18390/p/12345",
        "http://example.com",
        "http://example.com/",
        "http://example.com/report.pdf",
        "http://example.com/report.PDF",
        "http://example.com/a.b/report",
        "http://example.com/report.pdf/",
        "http://example.com/report.pdf?x=a/b",
        "http://example.com/report?x=a.pdf",
        "http://example.com/report.pdf#a/b",
        "http://example.com/report#a.pdf",
        "http://u.pdf@example.com/a",
        "http://example.com/a/b.html",
        "http://example.com/a/archive.tar.gz",
        "http://example.com/a/.pdf",
        "http://example.com/a/b.pdf\t",
        "http://example.com/a/b.p\tdf",
        "mailto:someone@example.com",
        "foo:/a.pdf/b",
        "foo:/a/b.pdf",
        "//example.com/a.pdf",
        "no slash.pdf",
    ],
)
def test_a_url_with_no_dot_after_its_last_slash_is_no_file_as_the_long_way_says(url: str) -> None:
    # looks_like_file decides most URLs by where their last dot and slash are, without
    # reading the path out; it must say what reading it out says.
    from archiver.check.verdicts import _names_a_file, looks_like_file

    assert looks_like_file(url) == _names_a_file(url)


def test_pages_that_waited_for_their_probe_all_get_their_verdict_and_a_failure_is_raised(
    origin: OriginServer,
) -> None:
    # Four pages on a host with eight slots all start before the host's soft-404 probe,
    # which takes its turn after them, so each waits for it; one callback on the probe
    # judges them all. What fails there (here, the caller's own callback) is raised by
    # the run: before, it was only logged, and the run ended as if all was well.
    import asyncio

    from archiver.check.checker import check_all

    nothing = article("Shop", "Nothing to see here today.")  # what its unknown URLs show
    origin.sites["shop.example"] = Site(fallback=Page(body=nothing))
    urls = [f"http://shop.example/item/{n}" for n in range(4)]
    for n, url in enumerate(urls[:3]):
        origin.add(url, Page(body=article(f"Item {n}", "A long description " * 20)))
    origin.add(urls[3], Page(body=nothing))
    settings = sandbox_settings(origin, per_host=8)
    results: list[LinkCheck] = []
    asyncio.run(check_all(urls, settings, lambda: FIXED, results.append))
    verdicts = {result.url: result.verdict for result in results}
    assert verdicts == {**dict.fromkeys(urls[:3], Verdict.ALIVE), urls[3]: Verdict.SOFT_404}
    assert len(results) == 4
    paths = [hit.path for hit in origin.hits_for("shop.example")]
    assert sum(path.startswith("/item/archiver-probe-") for path in paths) == 1

    def refuses(result: LinkCheck) -> None:
        raise RuntimeError(f"the caller's bug, at {result.url}")

    with pytest.raises(RuntimeError, match="the caller's bug"):
        asyncio.run(check_all(urls, settings, lambda: FIXED, refuses))


def test_a_page_too_short_for_its_probe_is_judged_as_the_full_comparison_judges_it() -> None:
    # probe_evidence rules out a page by an upper bound of its comparable text's length,
    # before working that text out; it must judge every page as comparing the texts does.
    import random

    from rapidfuzz import fuzz

    from archiver.check.soft404 import (
        SIMILAR_ENOUGH,
        PageSummary,
        could_be_similar,
        probe_evidence,
    )

    rng = random.Random(15)
    words = ["Page", "not", "found", "a", "12", "345", "x/y", "İstanbul", "ǅ", "\t", "  ", "p", "7"]
    base = "Sorry, the page you requested could not be found."
    url, probe_url = "http://a.example/p/345/x", "http://a.example/p/345/archiver-probe-1"
    shortcut = similar = 0
    for _ in range(3_000):
        title = " ".join(rng.choice(words) for _ in range(rng.randint(0, 4)))
        cut = rng.randint(0, len(base))
        if rng.random() < 0.4:  # the site's "not found" page, or nearly
            title, cut = "Page not found", len(base) - rng.randint(0, 12)
        text = " ".join([base[:cut], *(rng.choice(words) for _ in range(rng.randint(0, 3)))])
        page = PageSummary(url, url, 200, title, text)
        probe = PageSummary(probe_url, probe_url, 200, "Page not found", rng.choice(words) + base)
        assert page.comparable_at_most() >= len(page.comparable), (title, text)
        score = fuzz.ratio(page.comparable, probe.comparable)
        slow = f"same page the site serves for a made-up URL (similarity {score:.0f}%)"
        fresh = PageSummary(url, url, 200, title, text)  # its comparable not yet worked out
        similar += score >= SIMILAR_ENOUGH
        assert probe_evidence(fresh, probe) == (slow if score >= SIMILAR_ENOUGH else None)
        at_most, probe_length = fresh.comparable_at_most(), len(probe.comparable)
        if at_most <= probe_length and not could_be_similar(at_most, probe_length):
            shortcut += 1
            if (title + text).isascii():  # ruled out without working its text out
                assert "comparable" not in fresh.__dict__
    assert 500 < shortcut < 2_500 and 300 < similar < 1_500


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.5:18390/p/12345",
        "HTTPS://Example.com:8443/a/b/c.html?x=/y#/z",
        "http://example.com",
        "http://example.com?q=/a/b",
        "http://example.com#/a",
        "http://user@example.com/a/b",
        "http://[::1]:80/a/b",
        "http://exa mple.com/a b/c",
        "http://example.com/a\tb/c",
        "http://example.com/a/b\n",
        " http://example.com/a/b",
        "http://bücher.example/a/b",
        "mailto:someone@example.com",
        "//example.com/a/b",
        "http:/example.com/a",
    ],
)
def test_the_quick_read_of_a_pages_url_gives_what_urlsplit_gives(url: str) -> None:
    # The soft-404 code reads scheme, authority and path without urlsplit where it can.
    from urllib.parse import urlsplit

    from archiver.check.soft404 import _parts

    parts = urlsplit(url)
    assert _parts(url) == (parts.scheme, parts.netloc, parts.path)


def test_redirect_to_the_home_page_is_soft_404(origin: OriginServer) -> None:
    honest_site(origin, "shop.example")
    origin.add("http://shop.example/products/discontinued", Page(status=302, location="/"))
    origin.add("http://shop.example/", Page(body=article("Shop", "Welcome to our shop.")))
    result = check_one(origin, "http://shop.example/products/discontinued")
    assert result.verdict is Verdict.SOFT_404
    assert result.reason == "HTTP 200 but redirected to the home page (http://shop.example/)"


def test_redirect_to_an_error_page_is_soft_404(origin: OriginServer) -> None:
    honest_site(origin, "shop.example")
    origin.add("http://shop.example/a/b", Page(status=302, location="/errors/404.html"))
    origin.add("http://shop.example/errors/404.html", Page(body=article("Oops", "Nothing here.")))
    result = check_one(origin, "http://shop.example/a/b")
    assert result.verdict is Verdict.SOFT_404
    assert "redirected to an error page" in result.reason


def test_host_answering_200_to_everything_is_caught_by_the_probe(origin: OriginServer) -> None:
    catch_all = Page(body=article("Acme Corp", "Welcome! Browse our catalogue of fine widgets."))
    origin.sites["acme.example"] = Site(fallback=catch_all)
    origin.add(
        "http://acme.example/about/team",
        Page(body=article("Our team", "Ada, Grace and Linus run Acme.")),
    )
    gone = check_one(origin, "http://acme.example/about/history")
    real = check_one(origin, "http://acme.example/about/team")
    assert gone.verdict is Verdict.SOFT_404
    assert (
        gone.reason == "HTTP 200 but same page the site serves for a made-up URL (similarity 100%)"
    )
    assert real.verdict is Verdict.ALIVE
    probes = [h.path for h in origin.hits_for("acme.example") if "archiver-probe-" in h.path]
    assert len(probes) == 2 and all(p.startswith("/about/archiver-probe-") for p in probes)


def test_one_probe_per_host_and_directory(origin: OriginServer) -> None:
    origin.sites["acme.example"] = Site(fallback=Page(body=article("Acme", "Welcome to Acme.")))
    for i in range(6):
        origin.add(
            f"http://acme.example/docs/{i}",
            Page(body=article(f"Doc {i}", f"Text of document {i} " * 20)),
        )
    settings = sandbox_settings(origin)
    results = check_urls([f"http://acme.example/docs/{i}" for i in range(6)], settings)
    assert [r.verdict for r in results] == [Verdict.ALIVE] * 6
    probes = [h for h in origin.hits_for("acme.example") if "archiver-probe-" in h.path]
    assert len(probes) == 1


def test_cited_links_that_could_start_go_before_the_hosts_probe(origin: OriginServer) -> None:
    # Two slots, four links: the first answer asks for the probe, but the two links still
    # waiting take the next two slots (a link that hangs costs the whole timeout from
    # when it starts); the probe comes fifth, not third or fourth.
    origin.sites["acme.example"] = Site(fallback=Page(body=article("Acme", "Welcome to Acme.")))
    for i in range(4):
        origin.add(
            f"http://acme.example/docs/{i}",
            Page(body=article(f"Doc {i}", f"Text of document {i} " * 20), delay=0.2 * (i >= 2)),
        )
    settings = sandbox_settings(origin, per_host=2)
    results = check_urls([f"http://acme.example/docs/{i}" for i in range(4)], settings)
    assert [r.verdict for r in results] == [Verdict.ALIVE] * 4
    paths = [h.path for h in origin.hits_for("acme.example")]
    assert len(paths) == 5 and "archiver-probe-" in paths[4], paths


def test_article_mentioning_404_in_its_title_is_alive(origin: OriginServer) -> None:
    honest_site(origin, "news.example")
    title = "Route 404 reopens after a year of meetings"
    origin.add("http://news.example/route", Page(body=article(title, "A long story. " * 100)))
    assert check_one(origin, "http://news.example/route").verdict is Verdict.ALIVE


# -- many URLs, politeness -------------------------------------------------------------


def test_each_url_checked_once_and_results_keep_input_order(origin: OriginServer) -> None:
    honest_site(origin, "a.example")
    honest_site(origin, "b.example")
    origin.add("http://a.example/1", Page(body=article("One", "First page.")))
    urls = ["http://b.example/2", "http://a.example/1", "http://b.example/2"]
    results = check_urls(urls, sandbox_settings(origin))
    assert [(r.url, r.verdict) for r in results] == [
        ("http://b.example/2", Verdict.DEAD),
        ("http://a.example/1", Verdict.ALIVE),
    ]
    assert len(origin.hits_for("b.example")) == 1


def test_per_host_limit_is_respected(origin: OriginServer) -> None:
    for host in ("busy.example", "other.example"):
        honest_site(origin, host)
        for i in range(12):
            origin.add(f"http://{host}/{i}", Page(body=article("ok", "fine"), delay=0.2))
    urls = [f"http://{host}.example/{i}" for i in range(12) for host in ("busy", "other")]
    results = check_urls(urls, sandbox_settings(origin, per_host=3, workers=16))
    assert [r.verdict for r in results] == [Verdict.ALIVE] * 24
    assert origin.peak_in_flight == {"busy.example": 3, "other.example": 3}


def test_a_host_with_few_urls_still_gets_all_its_slots(origin: OriginServer) -> None:
    # Five slow pages and four slots: four go out at once (the fifth waits), however the
    # workers' start is spread over hosts.
    honest_site(origin, "small.example")
    for i in range(5):
        origin.add(f"http://small.example/{i}", Page(body=article("ok", "fine"), delay=0.3))
    urls = [f"http://small.example/{i}" for i in range(5)]
    results = check_urls(urls, sandbox_settings(origin, per_host=4))
    assert [r.verdict for r in results] == [Verdict.ALIVE] * 5
    assert origin.peak_in_flight == {"small.example": 4}


def test_user_agent_is_sent(origin: OriginServer) -> None:
    honest_site(origin, "news.example")
    origin.add("http://news.example/ua", Page(body=article("UA", "x")))
    check_one(origin, "http://news.example/ua", user_agent="archiver-test/1.0")
    hits = origin.hits_for("news.example")
    assert [dict(hit.headers)["User-Agent"] for hit in hits] == ["archiver-test/1.0"] * 2


# -- offline ---------------------------------------------------------------------------


def test_offline_machine_gives_offline_verdicts_and_records_nothing(
    origin: OriginServer, tmp_path: Path
) -> None:
    settings = sandbox_settings(origin, host_map={}, canary_url="http://canary.example/")
    with State(tmp_path / "state.sqlite") as state:
        results = check_urls(["http://a.example/", "http://b.example/x"], settings, state=state)
        assert state.history("http://a.example/") == []
    assert [r.verdict for r in results] == [Verdict.OFFLINE, Verdict.OFFLINE]
    assert results[0].reason == (
        "this machine seems to be offline (the canary http://canary.example/ failed too); "
        "no such host: a.example"
    )


def test_missing_host_is_dead_when_the_canary_answers(origin: OriginServer) -> None:
    [result] = check_urls(["http://gone.example/"], sandbox_settings(origin))
    assert result.verdict is Verdict.DEAD
    assert [h.host for h in origin.hits] == ["canary.example"]


# -- history ---------------------------------------------------------------------------


def test_fresh_results_are_reused_from_the_state_file(origin: OriginServer, tmp_path: Path) -> None:
    honest_site(origin, "news.example")
    origin.add("http://news.example/story", Page(body=article("Story", "Text.")))
    settings = sandbox_settings(origin, fresh_for=3600.0)
    url = "http://news.example/story"
    with State(tmp_path / "state.sqlite") as state:
        [first] = check_urls([url], settings, state=state, clock=lambda: FIXED)
        [second] = check_urls(
            [url], settings, state=state, clock=lambda: FIXED + timedelta(minutes=30)
        )
        [third] = check_urls([url], settings, state=state, clock=lambda: FIXED + timedelta(hours=2))
        history = state.history(url)
    assert (first.from_cache, second.from_cache, third.from_cache) == (False, True, False)
    assert second.checked_at == "2026-01-02T03:04:05Z"
    assert len([h for h in origin.hits_for("news.example") if h.path == "/story"]) == 2
    assert [h.checked_at for h in history] == ["2026-01-02T03:04:05Z", "2026-01-02T05:04:05Z"]


def test_dead_is_confirmed_after_three_failures_over_three_days(
    origin: OriginServer, tmp_path: Path
) -> None:
    url = "http://news.example/removed"
    settings = sandbox_settings(origin, fresh_for=0.0)
    days = [
        FIXED,
        FIXED + timedelta(days=1),
        FIXED + timedelta(days=2, hours=23),
        FIXED + timedelta(days=3),
    ]
    with State(tmp_path / "state.sqlite") as state:
        seen = [check_urls([url], settings, state=state, clock=lambda d=day: d)[0] for day in days]
    assert [r.verdict for r in seen] == [Verdict.DEAD] * 4
    assert [r.confirmed for r in seen] == [False, False, False, True]
    assert seen[3].history is not None
    assert seen[3].history.to_dict() == {
        "checks": 4,
        "failures": 4,
        "first_failure": "2026-01-02T03:04:05Z",
        "last_failure": "2026-01-05T03:04:05Z",
    }


def test_a_check_with_its_history_keeps_every_other_field() -> None:
    # with_history makes the new LinkCheck field by field (dataclasses.replace took ~5 us
    # a result); a field it forgot would be lost from every report.
    import dataclasses

    from archiver.check.history import with_history

    check = LinkCheck(
        url="http://news.example/a",
        verdict=Verdict.SOFT_404,
        http_status=200,
        final_url="http://news.example/b",
        reason="HTTP 200 but its title says 'Not found'",
        checked_at="2026-01-02T03:04:05Z",
        method="HEAD",
        from_cache=True,
    )
    settings = Settings(confirm_failures=1, confirm_days=0.0)
    shown = with_history(check, [check], settings)
    assert shown.history is not None and shown.confirmed
    assert shown == dataclasses.replace(check, history=shown.history, confirmed=True)
    unchanged = {f.name for f in dataclasses.fields(LinkCheck)} - {"history", "confirmed"}
    defaults = LinkCheck("u", Verdict.ALIVE, None, None, "r", "t")
    assert all(getattr(check, name) != getattr(defaults, name) for name in unchanged)


def test_an_alive_answer_resets_the_failures(origin: OriginServer, tmp_path: Path) -> None:
    url = "http://news.example/flaky"
    honest_site(origin, "news.example")
    settings = sandbox_settings(origin, fresh_for=0.0, confirm_failures=2, confirm_days=1.0)
    with State(tmp_path / "state.sqlite") as state:
        check_urls([url], settings, state=state, clock=lambda: FIXED)
        origin.add(url, Page(body=article("Back", "It is back.")))
        check_urls([url], settings, state=state, clock=lambda: FIXED + timedelta(days=1))
        origin.sites["news.example"].pages.clear()
        [after] = check_urls([url], settings, state=state, clock=lambda: FIXED + timedelta(days=2))
        [later] = check_urls([url], settings, state=state, clock=lambda: FIXED + timedelta(days=3))
    assert (after.verdict, after.confirmed) == (Verdict.DEAD, False)
    assert after.history is not None and after.history.failures == 1
    assert (later.confirmed, later.history and later.history.failures) == (True, 2)


@pytest.mark.parametrize(
    "bad", ["ftp://x.example/", "not a url", "http://", "http://x.example:99999/"]
)
def test_invalid_urls_are_input_errors(bad: str) -> None:
    with pytest.raises(InputError):
        validate_url(bad)


# -- TLS -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_ca():  # type: ignore[no-untyped-def]
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


def https_origin(ca, host: str) -> OriginServer:  # type: ignore[no-untyped-def]
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(context)
    server = OriginServer({host: Site()}, ssl_context=context)
    server.add(f"https://{host}/page", Page(body=article("Secure", "Served over TLS.")))
    return server


def test_https_page_with_a_trusted_certificate_is_alive(tls_ca, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bundle = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(bundle))
    with https_origin(tls_ca, "secure.example") as origin:
        settings = sandbox_settings(origin, ca_bundle=bundle)
        [result] = check_urls(["https://secure.example/page"], settings)
    assert (result.verdict, result.http_status) == (Verdict.ALIVE, 200)


def test_untrusted_certificate_is_unreachable_not_dead(tls_ca, origin: OriginServer) -> None:  # type: ignore[no-untyped-def]
    with https_origin(tls_ca, "secure.example") as secure:
        settings = sandbox_settings(origin)  # the canary answers, over plain HTTP
        settings = settings.replace(host_map={**settings.host_map, **secure.host_map()})
        [result] = check_urls(["https://secure.example/page"], settings)
    assert result.verdict is Verdict.UNREACHABLE
    assert result.reason.startswith("TLS failed: ")
    assert "CERTIFICATE_VERIFY_FAILED" in result.reason


def test_a_long_list_is_recorded_once_each_across_batches(
    origin: OriginServer, tmp_path: Path
) -> None:
    # More URLs than one write to the state file takes (and than one process checks):
    # every check is in the history exactly once, and each verdict carries it.
    for n in range(10):
        honest_site(origin, f"site{n}.example")
    urls = [f"http://site{n % 10}.example/gone/{n}" for n in range(2500)]
    settings = sandbox_settings(origin, per_host=16)
    with State(tmp_path / "state.sqlite") as state:
        results = check_urls(urls, settings, state=state, clock=lambda: FIXED)
        rows = state.execute("SELECT url, COUNT(*) FROM checks GROUP BY url")
    assert [r.url for r in results] == urls
    assert {r.verdict for r in results} == {Verdict.DEAD}
    assert all(r.history is not None and r.history.failures == 1 for r in results)
    assert sorted(rows) == sorted((url, 1) for url in urls)


class PidLoggingClock:
    """A fixed clock that notes, in a file, each process that read it."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def __call__(self) -> datetime:
        with self.log.open("a") as f:
            f.write(f"{os.getpid()}\n")
        return FIXED


def test_checking_split_over_two_processes(origin: OriginServer, tmp_path: Path) -> None:
    # Long lists are split by host over worker processes; the verdicts, their order,
    # the live results and the history must be as from one process.
    honest_site(origin, "alive.example")
    honest_site(origin, "gone.example")
    origin.sites["catchall.example"] = Site(fallback=Page(body=NOT_FOUND_PAGE))
    urls = []
    for i in range(6):
        origin.add(f"http://alive.example/{i}", Page(body=article(f"Story {i}", f"Words {i}.")))
        urls += [f"http://alive.example/{i}", f"http://gone.example/{i}"]
        urls.append(f"http://catchall.example/{i}")
    clock = PidLoggingClock(tmp_path / "pids")
    seen: list[LinkCheck] = []
    with State(tmp_path / "state.sqlite") as state:
        results = check_urls(
            urls,
            sandbox_settings(origin, processes=2),
            state=state,
            on_result=seen.append,
            clock=clock,
        )
        recorded = state.histories(urls)
    assert [r.url for r in results] == urls
    expected = {"alive": Verdict.ALIVE, "gone": Verdict.DEAD, "catchall": Verdict.SOFT_404}
    assert [r.verdict for r in results] == [expected[u.split("/")[2].split(".")[0]] for u in urls]
    assert sorted(r.url for r in seen) == sorted(urls)
    assert all(
        len(recorded[url]) == 1 and r.history is not None
        for url, r in zip(urls, results, strict=True)
    )
    children = set((tmp_path / "pids").read_text().split()) - {str(os.getpid())}
    assert len(children) == 2  # the verdicts were dated in two other processes


def two_sites(origin: OriginServer) -> list[str]:
    honest_site(origin, "a.example")
    honest_site(origin, "b.example")
    for i in range(3):
        origin.add(f"http://a.example/{i}", Page(body=article(f"A {i}", f"Words {i}.")))
    return [f"http://{host}.example/{i}" for host in "ab" for i in range(3)]


def test_a_failing_checking_process_is_an_error_not_a_hang(origin: OriginServer) -> None:
    urls = two_sites(origin)
    parent = os.getpid()

    def broken_in_children() -> datetime:
        if os.getpid() != parent:
            raise OSError("clock unavailable")
        return FIXED

    with pytest.raises(RuntimeError, match="link checking failed: OSError: clock unavailable"):
        check_urls(urls, sandbox_settings(origin, processes=2), clock=broken_in_children)


def test_results_are_written_down_while_a_slow_link_is_awaited(
    origin: OriginServer, tmp_path: Path
) -> None:
    honest_site(origin, "a.example")
    honest_site(origin, "b.example")
    origin.add("http://b.example/slow", Page(body=article("Slow", "At last."), delay=1.0))
    urls = [f"http://a.example/{i}" for i in range(4)] + ["http://b.example/slow"]
    rows_when_slow_arrived: list[int] = []

    def arrived(result: LinkCheck) -> None:
        if result.url.endswith("/slow"):
            with sqlite3.connect(tmp_path / "state.sqlite") as db:
                rows = "SELECT (SELECT count(*) FROM checks) + (SELECT count(*) FROM checks_new)"
                rows_when_slow_arrived.append(db.execute(rows).fetchone()[0])

    with State(tmp_path / "state.sqlite") as state:
        check_urls(urls, sandbox_settings(origin, processes=2), state=state, on_result=arrived)
        assert len(state.histories(urls)) == 5
    # the four quick ones were written while the slow one was awaited, not at the end
    assert rows_when_slow_arrived == [4]


def test_checks_are_moved_into_the_history_while_the_last_answers_are_awaited(
    origin: OriginServer, tmp_path: Path
) -> None:
    # Worker processes say when their last URL's check has started; the checks recorded
    # by then are moved into the history's indexed table while the slow link is awaited
    # (the CPU has time then), the few after it at the end.
    honest_site(origin, "a.example")
    honest_site(origin, "b.example")
    origin.add("http://b.example/slow", Page(body=article("Slow", "At last."), delay=1.5))
    urls = ["http://b.example/slow"] + [f"http://a.example/{i}" for i in range(20)]
    path = tmp_path / "state.sqlite"
    moved_when_slow_arrived: list[int] = []

    def arrived(result: LinkCheck) -> None:
        if result.url.endswith("/slow"):
            with contextlib.closing(sqlite3.connect(path)) as db:
                moved = db.execute("SELECT count(*) FROM checks").fetchone()[0]
                moved_when_slow_arrived.append(moved)

    settings = sandbox_settings(origin, processes=2, per_host=2)
    with State(path) as state:
        check_urls(urls, settings, state=state, on_result=arrived)
        assert state.execute("SELECT count(*) FROM checks_new") == [(0,)]
        assert state.execute("SELECT count(*) FROM checks") == [(21,)]
    [moved] = moved_when_slow_arrived
    assert 0 < moved < 21


def test_a_checking_process_that_dies_is_an_error_not_a_hang(origin: OriginServer) -> None:
    urls = two_sites(origin)
    parent = os.getpid()

    def dies_in_children() -> datetime:
        if os.getpid() != parent:
            os._exit(7)  # as if killed: no word to the parent
        return FIXED

    with pytest.raises(RuntimeError, match="a link-checking process died"):
        check_urls(urls, sandbox_settings(origin, processes=2), clock=dies_in_children)


def long_article(path: Path, urls: list[str]) -> Path:
    """An article file long enough for the checking processes to start before it is read."""
    prose = "A sentence of the article that cites nothing at all. " * 1400
    path.write_text(prose + "\n\n" + "\n\n".join(f"See [a source]({url})." for url in urls))
    assert path.stat().st_size >= EARLY_START_BYTES
    return path


def exit_status(pid: int) -> int | None:
    """The exit status of a worker process once it ends; None if archiver collected it
    already (a process still running after 10 s fails the test)."""
    for _ in range(1000):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    raise AssertionError(f"worker process {pid} still running")


def dated_in(log: Path) -> set[int]:
    return {int(pid) for pid in log.read_text().split()} - {os.getpid()}


def test_processes_started_before_reading_are_the_ones_that_check(
    origin: OriginServer, tmp_path: Path
) -> None:
    urls = two_sites(origin)
    settings = sandbox_settings(origin, processes=2)
    clock = PidLoggingClock(tmp_path / "pids")
    with check_processes_for([str(long_article(tmp_path / "a.md", urls))], settings, clock) as p:
        assert p is not None
        started = set(p.pids)
        results = check_urls(urls, settings, clock=clock, processes=p)
    assert [r.verdict for r in results] == [Verdict.ALIVE] * 3 + [Verdict.DEAD] * 3
    assert dated_in(tmp_path / "pids") == started and len(started) == 2


def test_processes_started_for_other_settings_are_let_go(
    origin: OriginServer, tmp_path: Path
) -> None:
    urls = two_sites(origin)
    clock = PidLoggingClock(tmp_path / "pids")
    early = sandbox_settings(origin, processes=2)
    with check_processes_for([str(long_article(tmp_path / "a.md", urls))], early, clock) as p:
        assert p is not None
        results = check_urls(urls, early.replace(timeout=1.5), clock=clock, processes=p)
    assert [r.verdict for r in results] == [Verdict.ALIVE] * 3 + [Verdict.DEAD] * 3
    assert len(dated_in(tmp_path / "pids")) == 2 and not dated_in(tmp_path / "pids") & set(p.pids)
    for pid in p.pids:  # told no work is coming, they end, and well (or were collected)
        assert exit_status(pid) in (0, None)


def test_no_early_processes_for_short_articles_urls_or_one_core(tmp_path: Path) -> None:
    short = tmp_path / "short.md"
    short.write_text("See [a](http://a.example/1).")
    long = long_article(tmp_path / "long.md", ["http://a.example/1"])
    settings = Settings(processes=2)
    for targets in ([str(short)], ["http://a.example/1"], ["-"], [str(tmp_path / "missing.md")]):
        with check_processes_for(targets, settings) as processes:
            assert processes is None, targets
    with check_processes_for([str(long)], Settings(processes=1)) as processes:
        assert processes is None


def test_early_processes_are_stopped_when_reading_the_article_fails(tmp_path: Path) -> None:
    long = long_article(tmp_path / "long.md", ["http://a.example/1"])
    with (
        pytest.raises(InputError, match="unreadable"),
        check_processes_for([str(long)], Settings(processes=2)) as processes,
    ):
        assert processes is not None
        raise InputError("unreadable article")
    for pid in processes.pids:  # killed and collected
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


# -- a killed run keeps what it learned --------------------------------------------------

KILLABLE_ARCHIVER = "from archiver.cli.main import main; main()"


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("waited in vain")
        time.sleep(0.02)


@pytest.mark.parametrize("fast", [3, 1200])  # one event loop; worker processes
def test_a_killed_check_keeps_what_had_arrived_and_a_rerun_reuses_it(
    fast: int, origin: OriginServer, tmp_path: Path
) -> None:
    # The fast links answer at once; then answers trickle in (one every 0.1 s) while the
    # last links hang. The run is killed (SIGKILL, worker processes too) a second after
    # the fast links were answered: their checks must be in the history already.
    fast_urls = [f"http://site{n % 12}.example/page/{n}" for n in range(fast)]
    for url in fast_urls:
        origin.add(url, Page(body=article("A page", "Words.")))
    slow_urls = [f"http://slow{n}.example/page" for n in range(100)]
    for n, url in enumerate(slow_urls):
        origin.add(url, Page(body=article("Slow", "Words."), delay=0.5 + 0.1 * n))
    hanging = [f"http://hang.example/{n}" for n in range(2)]
    for url in hanging:
        origin.add(url, Page(hang=True))
    origin.add("http://canary.example/", Page(body="up"))
    path = tmp_path / "article.md"
    urls = fast_urls + slow_urls + hanging
    path.write_text("\n\n".join(f"See [a source]({url})." for url in urls))
    resolve = [f"--resolve={host}={address}" for host, address in origin.host_map().items()]
    store = tmp_path / "store"
    args = ["check", str(path), "--store", str(store), "--only-resolved", *resolve]
    args += ["--per-host", "8", "--retries", "0", "--canary", "http://canary.example/"]

    def asked(wanted: list[str]) -> bool:
        seen = {f"http://{hit.host}{hit.path}" for hit in list(origin.hits)}
        return seen.issuperset(wanted)

    run = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_ARCHIVER, *args, "--timeout", "60"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the workers are killed with it
    )
    try:
        wait_for(lambda: asked(fast_urls + hanging) or run.poll() is not None)
        time.sleep(1.0)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        _, err = run.communicate(timeout=30)
    assert run.returncode == -signal.SIGKILL, err

    with State(Settings(store=store).state_file) as state:  # the default, as the run had it
        recorded = state.histories(fast_urls)
    assert [url for url in fast_urls if len(recorded[url]) != 1] == []
    hits = len(origin.hits)
    again_args = [*args, "--timeout", "1", "--fresh-for", "1", "--format", "json"]
    rerun = CliRunner().invoke(cli, again_args)
    results = {r["url"]: r for r in json.loads(rerun.stdout)}
    assert [url for url in fast_urls if not results[url]["from_cache"]] == []
    assert [results[url]["verdict"] for url in hanging] == ["timeout", "timeout"]
    again = {f"http://{hit.host}{hit.path}" for hit in origin.hits[hits:]}
    assert again.isdisjoint(fast_urls)
