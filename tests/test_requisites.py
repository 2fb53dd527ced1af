"""A captured page is stored with its requisites (issue 13, "Whole pages").

What a page names is found in its HTML and CSS (``archiver.storage.requisites``); a memento's
requisites are read from a real pywb at the captures closest to the page's own time, each
stored under the datetime the archive stated for it, with its distance from the page; a
live page's from the loopback origin; the bounds per page, a requisite the archive lacks,
one captured years away, and requisites shared between pages are stored once.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from archiver.archives.local import LocalCollection
from archiver.archives.specs import parse_archive_spec
from archiver.archives.wayback import WaybackArchive
from archiver.cli.main import cli
from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import FixtureCapture, WaybackServer
from archiver.net.http import Fetched, build_session
from archiver.net.polite import CdxRateLimiter, Net
from archiver.storage.manifest import Capture, Manifest
from archiver.storage.requisites import find_in_css, find_in_html, parse_srcset
from archiver.storage.sources import Obtained, obtain_live
from archiver.storage.store import Store
from archiver.storage.verify import verify_store
from archiver.storage.wholepage import with_live_requisites, with_memento_requisites
from tests.conftest import (
    CANARY,
    archive_settings,
    require_shared,
    running_wayback,
    sandbox_settings,
)
from tests.warcfiles import accepted

# -- finding them -------------------------------------------------------------------------


def test_an_html_page_names_its_stylesheets_images_scripts_and_icons() -> None:
    page = b"""<!doctype html><html><head>
    <link rel="stylesheet" href="/static/site.css">
    <link rel="alternate stylesheet" href="/static/contrast.css">
    <link rel="shortcut icon" href="favicon.ico">
    <link rel="preload" as="font" href="/f/serif.woff2">
    <link rel="next" href="page2.html">
    <script src="app.js#v1"></script><script>var inline = 1;</script>
    <style>@import "print.css"; h1 { background: url('h1.png') }</style>
    </head><body background="paper.gif">
    <img src="chart.png" srcset="chart-2x.png 2x, chart.png 1x">
    <picture><source srcset="/img/hero.webp 1x, /img/hero,wide.webp 2x">
    <img src="/img/hero.jpg"></picture>
    <video><source src="film.mp4"></video>
    <div style="background-image: url(&quot;tile.png&quot;)"></div>
    <img src="data:image/png;base64,AAAA"><img src=""><iframe src="frame.html"></iframe>
    <input type="image" src="go.png">
    </body></html>"""
    base = "http://news.example/2018/report.html"
    found = [
        (r.url.removeprefix("http://news.example"), r.kind, r.alternative)
        for r in find_in_html(page, base)
    ]
    assert found == [
        ("/static/site.css", "stylesheet", False),
        ("/2018/favicon.ico", "icon", False),
        ("/f/serif.woff2", "font", False),
        ("/2018/app.js", "script", False),
        ("/2018/print.css", "stylesheet", False),
        ("/2018/h1.png", "image", False),
        ("/2018/paper.gif", "image", False),
        ("/2018/chart.png", "image", False),
        ("/2018/chart-2x.png", "image", True),
        ("/img/hero.webp", "image", True),
        ("/img/hero,wide.webp", "image", True),
        ("/img/hero.jpg", "image", False),
        ("/2018/tile.png", "image", False),
        ("/2018/go.png", "image", False),
    ]
    assert {r.found_in for r in find_in_html(page, base)} == {base}


def test_a_base_element_resolves_what_the_page_names() -> None:
    page = b'<html><head><base href="https://cdn.example/v2/"></head><img src="a.png"></html>'
    assert [r.url for r in find_in_html(page, "http://news.example/x")] == [
        "https://cdn.example/v2/a.png"
    ]


def test_a_stylesheet_names_its_imports_fonts_and_images() -> None:
    css = """/* @import "old.css"; url(commented.png) */
    @import url("base.css") screen;
    @import 'theme.css';
    @font-face { font-family: Serif; src: url(fonts/serif.woff2) format("woff2"),
                 url( 'fonts/serif.woff' ) format("woff"); }
    body { background: #fff url( "../img/bg.png" ) repeat-x; }
    .logo { background: url(data:image/gif;base64,R0lGOD) }
    """
    found = find_in_css(css, "http://news.example/static/site.css")
    assert [(r.url, r.kind) for r in found] == [
        ("http://news.example/static/base.css", "stylesheet"),
        ("http://news.example/static/theme.css", "stylesheet"),
        ("http://news.example/static/fonts/serif.woff2", "font"),
        ("http://news.example/static/fonts/serif.woff", "font"),
        ("http://news.example/img/bg.png", "image"),
    ]


@pytest.mark.parametrize(
    ("srcset", "urls"),
    [
        ("a.png 1x, b.png 2x", ["a.png", "b.png"]),
        ("a.png,b.png", ["a.png,b.png"]),  # a comma inside a URL is the URL's
        ("a.png, b.png", ["a.png", "b.png"]),
        ("  a.png 640w,\n  b.png 1280w  ", ["a.png", "b.png"]),
        ("a.png,, b.png 2x", ["a.png", "b.png"]),
        ("", []),
    ],
)
def test_srcset_candidates(srcset: str, urls: list[str]) -> None:
    assert parse_srcset(srcset) == urls


# -- from an archive: a real pywb -----------------------------------------------------------

SITE = "http://news.example"
PAGE = f"{SITE}/2018/report.html"
OTHER = f"{SITE}/2018/other.html"
SPEC = "wayback:http://archive.test/web/"
AT = datetime(2018, 6, 15, 10, 30, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAGE_HTML = b"""<!doctype html><html><head><title>Q3 report</title>
<link rel="stylesheet" href="/static/site.css">
<link rel="icon" href="/favicon.png">
<script src="app.js"></script>
</head><body><h1 class="headline">Q3 report</h1>
<img src="chart.png" srcset="chart-2x.png 2x, chart.png 1x">
<img src="missing.png"><img src="/img/old.png">
</body></html>"""
SITE_CSS = b'@import url("base.css");\nbody { background: url(../img/bg.png) }\n'
BASE_CSS = (
    b'@font-face { font-family: Serif; src: url("fonts/serif.woff2") format("woff2"); }\n'
    b".headline { color: rgb(12, 34, 56); }\n"
)
OTHER_HTML = (
    b'<html><head><link rel="stylesheet" href="/static/site.css"></head>'
    b'<body><img src="/img/bg.png"><p>Other</p></body></html>'
)


MOVED_HTML = b'<html><body><img src="/img/moved.png"></body></html>'


def _at(url: str, when: datetime, body: bytes, content_type: str) -> FixtureCapture:
    return FixtureCapture(url, when, body=body, content_type=content_type)


ARCHIVED = [
    _at(PAGE, AT, PAGE_HTML, "text/html; charset=utf-8"),
    _at(OTHER, datetime(2018, 6, 20, tzinfo=UTC), OTHER_HTML, "text/html"),
    _at(f"{SITE}/static/site.css", datetime(2018, 6, 15, 10, 31, tzinfo=UTC), SITE_CSS, "text/css"),
    # a later version of the stylesheet: the one closest to the page is the one stored
    _at(f"{SITE}/static/site.css", datetime(2021, 1, 1, tzinfo=UTC), b"body{}", "text/css"),
    _at(f"{SITE}/static/base.css", datetime(2018, 6, 15, 10, 32, tzinfo=UTC), BASE_CSS, "text/css"),
    _at(
        f"{SITE}/static/fonts/serif.woff2",
        datetime(2018, 6, 15, 10, 33, tzinfo=UTC),
        b"wOF2" * 50,
        "font/woff2",
    ),
    _at(f"{SITE}/img/bg.png", datetime(2018, 6, 14, tzinfo=UTC), b"\x89PNG bg", "image/png"),
    _at(f"{SITE}/favicon.png", datetime(2018, 6, 16, tzinfo=UTC), b"\x89PNG icon", "image/png"),
    _at(
        f"{SITE}/2018/app.js",
        datetime(2018, 6, 15, 10, 30, 5, tzinfo=UTC),
        b"var q3 = 1;",
        "application/javascript",
    ),
    _at(
        f"{SITE}/2018/chart.png",
        datetime(2018, 6, 15, 10, 30, 1, tzinfo=UTC),
        b"\x89PNG chart",
        "image/png",
    ),
    _at(
        f"{SITE}/2018/chart-2x.png",
        datetime(2018, 6, 15, 10, 30, 2, tzinfo=UTC),
        b"\x89PNG chart2",
        "image/png",
    ),
    _at(f"{SITE}/img/old.png", datetime(2012, 3, 1, tzinfo=UTC), b"\x89PNG old", "image/png"),
    # two pages naming an image that redirected when it was captured
    *(
        _at(f"{SITE}/2019/{name}.html", datetime(2019, 1, day, tzinfo=UTC), MOVED_HTML, "text/html")
        for name, day in (("first", 2), ("second", 3))
    ),
    FixtureCapture(
        f"{SITE}/img/moved.png",
        datetime(2019, 1, 1, tzinfo=UTC),
        301,
        headers=[("Location", f"{SITE}/img/new.png")],
    ),
    _at(
        f"{SITE}/img/new.png",
        datetime(2019, 1, 1, 0, 0, 1, tzinfo=UTC),
        b"\x89PNG new",
        "image/png",
    ),
]


@pytest.fixture(scope="module")
def pywb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WaybackServer]:
    with running_wayback(tmp_path_factory.mktemp("wayback"), ARCHIVED) as server:
        yield server


def wayback() -> WaybackArchive:
    found = parse_archive_spec(SPEC)
    assert isinstance(found, WaybackArchive)
    return found


def new_store(root: Path) -> Store:
    numbers = itertools.count(1)
    return Store(
        root,
        clock=lambda: NOW,
        new_id=lambda: f"00000000-0000-4000-8000-{next(numbers):012d}",
        warc_size=1,  # one capture a file (closed once it holds one), to read each alone
    )


def capture_from_pywb(store: Store, settings: Settings, url: str, when: datetime) -> Capture:
    with build_session(settings) as session:
        net = Net(session, settings)
        memento = wayback().closest(url, when, net)
        assert memento is not None
        return store.capture_memento(memento, wayback(), net, ["article.md#L1"])


def warc_dates(path: Path) -> dict[str, str]:
    """WARC-Target-URI → WARC-Date of each response record of ``path``."""
    with path.open("rb") as stream:
        return {
            r.rec_headers.get_header("WARC-Target-URI"): r.rec_headers.get_header("WARC-Date")
            for r in ArchiveIterator(stream)
            if r.rec_type == "response"
        }


def test_a_memento_is_stored_with_its_requisites_from_the_same_archive_near_its_time(
    pywb: WaybackServer, tmp_path: Path
) -> None:
    settings = archive_settings({"archive.test": pywb})
    store = new_store(tmp_path / "store")
    capture = capture_from_pywb(store, settings, PAGE, AT)
    stored = [
        (r.url.removeprefix(SITE), r.kind, r.warc_date, r.seconds_from_page)
        for r in capture.requisites
    ]
    assert stored == [
        ("/static/site.css", "stylesheet", "2018-06-15T10:31:00Z", 60),
        ("/static/base.css", "stylesheet", "2018-06-15T10:32:00Z", 120),
        ("/static/fonts/serif.woff2", "font", "2018-06-15T10:33:00Z", 180),
        ("/2018/chart.png", "image", "2018-06-15T10:30:01Z", 1),
        ("/img/old.png", "image", "2012-03-01T00:00:00Z", -198498600),
        ("/img/bg.png", "image", "2018-06-14T00:00:00Z", -124200),
        ("/favicon.png", "icon", "2018-06-16T00:00:00Z", 48600),
        ("/2018/app.js", "script", "2018-06-15T10:30:05Z", 5),
        ("/2018/chart-2x.png", "image", "2018-06-15T10:30:02Z", 2),
    ]
    by_url = {r.url.removeprefix(SITE): r for r in capture.requisites}
    assert by_url["/img/old.png"].note == "captured 6.3 years before the page"
    assert [r.note for r in capture.requisites if r.url != f"{SITE}/img/old.png"] == [None] * 8
    assert by_url["/static/base.css"].found_in == f"{SITE}/static/site.css"
    assert by_url["/static/fonts/serif.woff2"].found_in == f"{SITE}/static/base.css"
    assert not any(r.shared for r in capture.requisites)
    assert [(r.url, r.kind, r.found_in, r.reason) for r in capture.requisites_left_out] == [
        (f"{SITE}/2018/missing.png", "image", PAGE, f"not in {SPEC}")
    ]
    # Each record carries the requisite's own datetime, as the archive stated it.
    path = store.path_of(capture)
    dates = warc_dates(path)
    assert dates[PAGE] == "2018-06-15T10:30:00Z"
    assert {url: dates[url] for url in (r.target_uri for r in capture.requisites)} == {
        r.target_uri: r.warc_date for r in capture.requisites
    }
    # warcio accepts the file, and pywb replays each requisite at its own time.
    indexed = {(url, ts) for url, ts, status in accepted(path)}
    assert (f"{SITE}/static/site.css", "20180615103100") in indexed
    assert (f"{SITE}/img/old.png", "20120301000000") in indexed
    assert len(indexed) == 10
    assert verify_store(store.root).ok


def test_requisites_shared_between_pages_are_stored_once(
    pywb: WaybackServer, tmp_path: Path
) -> None:
    settings = archive_settings({"archive.test": pywb})
    store = new_store(tmp_path / "store")
    first = capture_from_pywb(store, settings, PAGE, AT)
    second = capture_from_pywb(store, settings, OTHER, datetime(2018, 6, 20, tzinfo=UTC))
    shared = {r.url.removeprefix(SITE): r for r in second.requisites}
    assert sorted(shared) == [
        "/img/bg.png",
        "/static/base.css",
        "/static/fonts/serif.woff2",
        "/static/site.css",
    ]
    assert all(r.shared for r in shared.values())
    stored_first = {r.target_uri: (r.warc_file, r.record_id) for r in first.requisites}
    assert {r.target_uri: (r.warc_file, r.record_id) for r in shared.values()} == {
        url: stored_first[url] for url in (r.target_uri for r in shared.values())
    }
    # measured from this page: site.css was captured 4 days, 13 h and 29 min before it
    assert shared["/static/site.css"].seconds_from_page == -394140
    assert [url for url, _, _ in accepted(store.path_of(second))] == [OTHER]
    assert second.requisites_left_out == ()
    assert verify_store(store.root).ok


def test_requisites_another_process_stored_meanwhile_are_shared_for_mementos_too(
    pywb: WaybackServer, tmp_path: Path
) -> None:
    """As for live pages (below): the memento's requisites are matched by the capture the
    archive gave (original and datetime), under the store's lock."""
    settings = archive_settings({"archive.test": pywb})
    root = tmp_path / "store"
    meanwhile: list[Capture] = []

    def other_writer_stores(step: str) -> None:
        if step == "open-written" and not meanwhile:
            with Store(root) as other:
                meanwhile.append(capture_from_pywb(other, settings, PAGE, AT))

    with Store(root, on_step=other_writer_stores) as store:
        second = capture_from_pywb(store, settings, OTHER, datetime(2018, 6, 20, tzinfo=UTC))
    first = {r.target_uri: r for r in meanwhile[0].requisites}
    assert not any(r.shared for r in first.values())
    assert sorted(r.url.removeprefix(SITE) for r in second.requisites) == [
        "/img/bg.png",
        "/static/base.css",
        "/static/fonts/serif.woff2",
        "/static/site.css",
    ]
    for requisite in second.requisites:
        assert requisite.shared
        assert requisite.record_id == first[requisite.target_uri].record_id
    assert second.requisites_left_out == ()
    assert [url for url, _, _ in accepted(store.path_of(second))] == [OTHER]
    assert verify_store(root).ok


def test_the_stored_requisites_a_store_carries_from_commit_to_commit_are_the_manifests(
    pywb: WaybackServer, tmp_path: Path
) -> None:
    """The index of stored requisites is made once and carried to each new manifest (a
    commit costs the same however many pages are stored): what it says after four pages
    is what the manifest's own requisites say, made anew."""
    settings = archive_settings({"archive.test": pywb})
    store = new_store(tmp_path / "store")
    capture_from_pywb(store, settings, PAGE, AT)
    before = dict(store.manifest.stored_requisites("memento"))
    capture_from_pywb(store, settings, OTHER, datetime(2018, 6, 20, tzinfo=UTC))
    capture_from_pywb(store, settings, f"{SITE}/2019/first.html", datetime(2019, 1, 2))
    capture_from_pywb(store, settings, f"{SITE}/2019/second.html", datetime(2019, 1, 3))
    carried = store.manifest
    fresh = Manifest(carried.files, carried.records, carried.captures)
    assert carried.stored_requisites("memento") == fresh.stored_requisites("memento")
    keys = set(fresh.stored_requisites("memento"))
    assert set(before) < keys
    assert (f"{SITE}/img/moved.png", "2019-01-01T00:00:00Z") in keys  # a redirect's own key
    assert all(entry.shared for entry in fresh.stored_requisites("memento").values())
    assert fresh.stored_requisites("live") == {}


def test_a_requisite_that_redirected_is_shared_too(pywb: WaybackServer, tmp_path: Path) -> None:
    settings = archive_settings({"archive.test": pywb})
    store = new_store(tmp_path / "store")
    first = capture_from_pywb(store, settings, f"{SITE}/2019/first.html", datetime(2019, 1, 2))
    second = capture_from_pywb(store, settings, f"{SITE}/2019/second.html", datetime(2019, 1, 3))
    [stored] = first.requisites
    assert (stored.url, stored.target_uri, [h.url for h in stored.redirects]) == (
        f"{SITE}/img/moved.png",
        f"{SITE}/img/new.png",
        [f"{SITE}/img/moved.png"],
    )
    [shared] = second.requisites
    assert (shared.shared, shared.record_id) == (True, stored.record_id)
    assert [url for url, _, _ in accepted(store.path_of(second))] == [f"{SITE}/2019/second.html"]


def test_the_bounds_of_a_page_leave_out_what_is_past_them(
    pywb: WaybackServer, tmp_path: Path
) -> None:
    settings = archive_settings({"archive.test": pywb}, requisite_count=3)
    capture = capture_from_pywb(new_store(tmp_path / "count"), settings, PAGE, AT)
    assert [r.url.removeprefix(SITE) for r in capture.requisites] == [
        "/static/site.css",
        "/static/base.css",
        "/static/fonts/serif.woff2",
    ]
    left_out = [(r.url.removeprefix(SITE), r.reason) for r in capture.requisites_left_out]
    assert left_out[0] == ("/2018/chart.png", "over the page's bound of 3 requisites")
    assert len(left_out) == 7
    assert {reason for _, reason in left_out} == {"over the page's bound of 3 requisites"}

    # 100 bytes: site.css (65) fits; base.css (120) is read up to the 35 bytes left and
    # left out, the small images fit in what is left, the script (11) no longer does
    settings = archive_settings({"archive.test": pywb}, requisite_bytes=100)
    capture = capture_from_pywb(new_store(tmp_path / "bytes"), settings, PAGE, AT)
    assert [(r.url.removeprefix(SITE), r.payload_length) for r in capture.requisites] == [
        ("/static/site.css", 65),
        ("/2018/chart.png", 10),
        ("/img/old.png", 8),
        ("/img/bg.png", 7),
        ("/favicon.png", 9),
    ]
    reasons = [(r.url.removeprefix(SITE), r.reason) for r in capture.requisites_left_out]
    assert reasons == [
        ("/static/base.css", "larger than the 35 bytes left of the page's bound of 100"),
        ("/2018/missing.png", f"not in {SPEC}"),
        ("/2018/app.js", "larger than the 1 bytes left of the page's bound of 100"),
        ("/2018/chart-2x.png", "larger than the 1 bytes left of the page's bound of 100"),
    ]

    settings = archive_settings({"archive.test": pywb}, requisites=False)
    capture = capture_from_pywb(new_store(tmp_path / "off"), settings, PAGE, AT)
    assert (capture.requisites, capture.requisites_left_out) == ((), ())


def test_a_local_collection_gives_the_requisites_of_its_pages(tmp_path: Path) -> None:
    crawl = require_shared("corpus", "warcs", "iana.warc.gz")
    collection = LocalCollection(crawl)
    settings = Settings()
    store = new_store(tmp_path / "store")
    with build_session(settings) as session:
        net = Net(session, settings)
        memento = collection.closest(
            "http://www.iana.org/domains", datetime(2014, 2, 1, tzinfo=UTC), net
        )
        assert memento is not None
        capture = store.capture_memento(memento, collection, net)
    kinds = {r.url: r.kind for r in capture.requisites}
    assert kinds["http://www.iana.org/_css/2013.1/screen.css"] == "stylesheet"
    assert kinds["http://www.iana.org/_css/2013.1/fonts/OpenSans-Regular.ttf"] == "font"
    assert kinds["http://www.iana.org/_js/2013.1/iana.js"] == "script"
    assert kinds["http://www.iana.org/_img/2013.1/iana-logo-homepage.png"] == "image"
    assert all(r.source_uri.startswith("file://") for r in capture.requisites)
    dates = warc_dates(store.path_of(capture))
    assert all(dates[r.target_uri] == r.warc_date for r in capture.requisites)
    # the crawl fetched the page and what it needs within two minutes
    assert all(abs(r.seconds_from_page or 0) <= 120 for r in capture.requisites)
    assert {r.url: r.reason for r in capture.requisites_left_out}[
        "http://www.iana.org/_css/2013.1/fonts/OpenSans-Light.ttf"
    ] == f"not in {crawl}"
    accepted(store.path_of(capture))
    assert verify_store(store.root).ok


# -- from the live web: the loopback origin -----------------------------------------------

LIVE = "http://live.example/story"


@pytest.fixture
def live_site(origin: OriginServer) -> OriginServer:
    origin.add(
        LIVE,
        Page(
            body='<link rel="stylesheet" href="/s.css"><img src="/moved.png">'
            '<img src="/gone.png"><p>Story</p>'
        ),
    )
    origin.add(
        "http://live.example/s.css",
        Page(body="p { background: url(/bg.png) }", content_type="text/css"),
    )
    origin.add("http://live.example/bg.png", Page(body=b"\x89PNG bg", content_type="image/png"))
    origin.add("http://live.example/moved.png", Page(status=301, location="/images/moved.png"))
    origin.add(
        "http://live.example/images/moved.png",
        Page(body=b"\x89PNG moved", content_type="image/png"),
    )
    origin.add("http://live.example/gone.png", Page(status=404, body="no"))
    origin.add(
        "http://live.example/again", Page(body='<link rel="stylesheet" href="/s.css"><p>Again</p>')
    )
    return origin


def test_a_live_page_is_stored_with_its_requisites_from_the_live_site(
    live_site: OriginServer, tmp_path: Path
) -> None:
    settings = sandbox_settings(live_site)
    store = new_store(tmp_path / "store")
    with build_session(settings) as session:
        capture = store.capture_live(LIVE, session, settings, ["a.md#L1"])
        again = store.capture_live("http://live.example/again", session, settings, ["a.md#L2"])
    stored = [
        (r.url, r.kind, r.target_uri, r.http_status, r.seconds_from_page)
        for r in capture.requisites
    ]
    assert stored == [
        ("http://live.example/s.css", "stylesheet", "http://live.example/s.css", 200, None),
        (
            "http://live.example/moved.png",
            "image",
            "http://live.example/images/moved.png",
            200,
            None,
        ),
        ("http://live.example/bg.png", "image", "http://live.example/bg.png", 200, None),
    ]
    moved = capture.requisites[1]
    assert [(h.url, h.http_status, h.location) for h in moved.redirects] == [
        ("http://live.example/moved.png", 301, "http://live.example/images/moved.png")
    ]
    assert [(r.url, r.reason) for r in capture.requisites_left_out] == [
        ("http://live.example/gone.png", "answered HTTP 404")
    ]
    with store.path_of(capture).open("rb") as stream:
        kinds = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
            for r in ArchiveIterator(stream)
        ]
    assert kinds[1:] == [
        ("response", LIVE),
        ("request", LIVE),
        ("response", "http://live.example/s.css"),
        ("request", "http://live.example/s.css"),
        ("response", "http://live.example/moved.png"),
        ("request", "http://live.example/moved.png"),
        ("response", "http://live.example/images/moved.png"),
        ("request", "http://live.example/images/moved.png"),
        ("response", "http://live.example/bg.png"),
        ("request", "http://live.example/bg.png"),
    ]
    # The second page shares the stylesheet and its image: the site is not asked again.
    assert [(r.url, r.shared) for r in again.requisites] == [
        ("http://live.example/s.css", True),
        ("http://live.example/bg.png", True),
    ]
    assert [hit.path for hit in live_site.hits_for("live.example")].count("/s.css") == 1
    accepted(store.path_of(capture))
    assert verify_store(store.root).ok


def test_a_requisite_another_process_stored_meanwhile_is_stored_once(
    live_site: OriginServer, tmp_path: Path
) -> None:
    """Two writers of one store: while the first has appended its page and requisites but
    not yet listed them, the second stores a page sharing the stylesheet (and the image it
    names). The first, under the lock, finds them stored and writes its page again sharing
    them (issue 12: each capture stored once)."""
    settings = sandbox_settings(live_site)
    root = tmp_path / "store"
    meanwhile: list[Capture] = []

    def other_writer_stores(step: str) -> None:
        if step == "open-written" and not meanwhile:
            with Store(root) as other:
                meanwhile.append(
                    other.capture_live("http://live.example/again", session, settings, ["b#1"])
                )

    with build_session(settings) as session, Store(root, on_step=other_writer_stores) as store:
        capture = store.capture_live(LIVE, session, settings, ["a.md#L1"])
    assert [(r.url, r.shared) for r in meanwhile[0].requisites] == [
        ("http://live.example/s.css", False),
        ("http://live.example/bg.png", False),
    ]
    assert sorted((r.url, r.shared) for r in capture.requisites) == [
        ("http://live.example/bg.png", True),
        ("http://live.example/moved.png", False),
        ("http://live.example/s.css", True),
    ]
    by_url = {r.url: r for r in meanwhile[0].requisites}
    for requisite in capture.requisites:
        if requisite.shared:
            assert requisite.record_id == by_url[requisite.url].record_id
    responses = []
    for path in sorted(root.glob("*.warc.gz")):
        with path.open("rb") as stream:
            responses += [
                r.rec_headers.get_header("WARC-Target-URI")
                for r in ArchiveIterator(stream)
                if r.rec_type == "response"
            ]
    assert sorted(responses) == sorted(
        [
            "http://live.example/again",
            "http://live.example/s.css",
            "http://live.example/bg.png",
            LIVE,
            "http://live.example/moved.png",
            "http://live.example/images/moved.png",
        ]
    )
    assert verify_store(root).ok


def test_the_time_bound_stops_asking_once_spent(live_site: OriginServer) -> None:
    settings = sandbox_settings(live_site, requisite_seconds=15.0)
    ticks = itertools.count(0, 10)  # each look at the clock is 10 s later
    with build_session(settings) as session:
        page = obtain_live(LIVE, session, settings, lambda: NOW)
        whole = with_live_requisites(
            page, session, settings, Manifest(), lambda: NOW, monotonic=lambda: float(next(ticks))
        )
    assert [r.requisite.url for r in whole.requisites] == ["http://live.example/s.css"]
    assert [(r.url, r.reason) for r in whole.requisites_left_out] == [
        ("http://live.example/moved.png", "over the page's bound of 15 s"),
        ("http://live.example/gone.png", "over the page's bound of 15 s"),
        ("http://live.example/bg.png", "over the page's bound of 15 s"),
    ]


# -- the command line ---------------------------------------------------------------------


def archive_page(pywb: WaybackServer, origin: OriginServer, store: Path, *options: str) -> Any:
    article = store.parent / "article.md"
    article.write_text(f"The [report]({PAGE}) (read on 2018-06-15).\n", encoding="utf-8")
    origin.add(CANARY, Page(body="<p>up</p>"))
    origin.add(PAGE, Page(status=404, body="gone"))  # only the memento is stored
    hosts = {"canary.example": origin.address, "news.example": origin.address}
    hosts["archive.test"] = f"127.0.0.1:{pywb.port}"
    resolve = [f"--resolve={host}={address}" for host, address in hosts.items()]
    arguments = ["archive", str(article), "--store", str(store), "--archive", SPEC]
    arguments += ["--canary", CANARY, "--only-resolved", "--retries", "0", *resolve, *options]
    return CliRunner().invoke(cli, arguments)


def test_archive_says_what_of_each_page_was_stored_and_left_out(
    pywb: WaybackServer, origin: OriginServer, tmp_path: Path
) -> None:
    shown = archive_page(pywb, origin, tmp_path / "warcs", "--format", "table")
    assert shown.exit_code == 3, shown.output  # the cited page is dead
    assert "9 stored, 1 left out, 1 a year or more from its page" in shown.stdout
    manifest = json.loads((tmp_path / "warcs" / "manifest.json").read_text())
    [capture] = manifest["captures"]
    assert len(capture["requisites"]) == 9
    assert capture["requisites_left_out"] == [
        {
            "url": f"{SITE}/2018/missing.png",
            "kind": "image",
            "found_in": PAGE,
            "reason": f"not in {SPEC}",
        }
    ]
    old = next(r for r in capture["requisites"] if r["url"] == f"{SITE}/img/old.png")
    assert (old["warc_date"], old["seconds_from_page"], old["note"]) == (
        "2012-03-01T00:00:00Z",
        -198498600,
        "captured 6.3 years before the page",
    )

    bare = archive_page(pywb, origin, tmp_path / "bare", "--format", "json", "--no-requisites")
    assert bare.exit_code == 3, bare.output
    [capture] = json.loads(bare.stdout)
    assert (capture["requisites"], capture["requisites_left_out"]) == ([], [])

    bounded = archive_page(
        pywb, origin, tmp_path / "one", "--format", "json", "--requisite-count", "1"
    )
    [capture] = json.loads(bounded.stdout)
    assert [r["url"] for r in capture["requisites"]] == [f"{SITE}/static/site.css"]
    assert len(capture["requisites_left_out"]) == 8  # what base.css names is not known


def test_an_archive_that_asks_for_a_pause_is_not_asked_for_the_other_requisites(
    origin: OriginServer,
) -> None:
    origin.add("http://busy.archive/", Page(body="up"))
    origin.sites["busy.archive"].fallback = Page(
        status=429, body="slow down", headers=(("Retry-After", "3600"),)
    )
    settings = sandbox_settings(origin)
    busy = parse_archive_spec("wayback:http://busy.archive/web/")
    html = b'<link rel="stylesheet" href="/a.css"><img src="/b.png"><img src="/c.png">'
    fetched = Fetched(
        PAGE, PAGE, 200, "OK", "HTTP/1.1", [("Content-Type", "text/html")], html, False
    )
    page = Obtained(fetched, PAGE, PAGE, "2018-06-15T10:30:00Z", "", "memento", warcinfo={})
    with build_session(settings) as session:
        net = Net(session, settings, CdxRateLimiter(), CdxRateLimiter())  # not the run's pace
        whole = with_memento_requisites(page, busy, net, Manifest(), lambda: NOW)
    asked = "wayback:http://busy.archive/web/: replay server rate limited (HTTP 429)"
    asked += ", asked to wait 3600s"
    assert [(r.url, r.reason) for r in whole.requisites_left_out] == [
        (f"{SITE}/a.css", f"could not be read: {asked}; try again later"),
        (f"{SITE}/b.png", f"not asked: the archive asked for a pause ({asked}; try again later)"),
        (f"{SITE}/c.png", f"not asked: the archive asked for a pause ({asked}; try again later)"),
    ]
    assert len(origin.hits_for("busy.archive")) == 1


# -- through a browser ----------------------------------------------------------------------

SCRIPTED = (
    '<html><head><link rel="stylesheet" href="/s.css"></head><body><p>Story</p>'
    '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
    "<script>var late = new Image(); late.src = '/late.png';"
    " document.body.appendChild(late);</script></body></html>"
)


def test_a_browser_capture_records_what_the_page_loaded_scripts_included(
    live_site: OriginServer, tmp_path: Path
) -> None:
    from tests.chromium import chromium_path  # the same browser the replay test uses

    live_site.add("http://live.example/scripted", Page(body=SCRIPTED))
    live_site.add("http://live.example/late.png", Page(status=302, location="/img/late.png"))
    live_site.add(
        "http://live.example/img/late.png", Page(body=b"\x89PNG late", content_type="image/png")
    )
    url = "http://live.example/scripted"
    settings = sandbox_settings(live_site, browser=chromium_path())
    store = new_store(tmp_path / "store")
    with build_session(settings) as session:
        capture = store.capture_live(url, session, settings, ["a.md#L1"])
        plain = new_store(tmp_path / "plain").capture_live(
            url, session, settings.replace(browser=None)
        )
    assert (capture.target_uri, capture.http_status) == (url, 200)
    found = {(r.url, r.kind, r.target_uri, r.http_status) for r in capture.requisites}
    assert found == {
        ("http://live.example/s.css", "stylesheet", "http://live.example/s.css", 200),
        ("http://live.example/bg.png", "image", "http://live.example/bg.png", 200),
        ("http://live.example/late.png", "image", "http://live.example/img/late.png", 200),
    }
    late = next(r for r in capture.requisites if r.url.endswith("/late.png"))
    assert [(h.url, h.http_status) for h in late.redirects] == [
        ("http://live.example/late.png", 302)
    ]
    # the plain fetch reads HTML and CSS: what the script loaded is out of its sight
    assert {r.url for r in plain.requisites} == {
        "http://live.example/s.css",
        "http://live.example/bg.png",
    }
    with store.path_of(capture).open("rb") as stream:
        info = next(iter(ArchiveIterator(stream))).content_stream().read().decode()
    assert "in a headless browser" in info
    accepted(store.path_of(capture))
    assert verify_store(store.root).ok


def test_a_browser_that_is_not_there_is_a_usage_error(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text("See [x](http://news.example/) (read 2020-01-01).\n")
    result = CliRunner().invoke(
        cli, ["archive", str(article), "--store", str(tmp_path / "w"), "--browser", "/no/chromium"]
    )
    assert result.exit_code == 2
    assert "no browser at '/no/chromium': give the path of a Chromium" in result.output
    assert not (tmp_path / "w").exists()
