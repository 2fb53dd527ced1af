"""Captured redirects are followed and kept, in every kind of archive (issue 11).

A cited URL whose capture is a redirect (a page moved, a chain of two, a trailing slash
added, http to https) leads to the page it redirected to, and the store keeps both: the
redirect as the ``response`` it is, under the cited URL, with its own status, ``Location``
and date, and the page under its own URL and date, so that the cited URL replays. The same
fixture WARC is read as a Wayback server and as a Memento archive (a real pywb, stock and
with ``redirect_to_exact``, as web.archive.org answers) and as a local collection; pywb's
sample crawl of iana.org is read as a local collection through the ``archive`` command.
Every WARC written is checked with ``warcio check`` and indexed with pywb, and stored
redirects are replayed by a fresh stock pywb.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from archiver.archives.base import Archive
from archiver.archives.cache import LookupCache
from archiver.archives.local import LocalCollection
from archiver.archives.specs import parse_archive_spec
from archiver.cli.main import cli
from archiver.config import Settings
from archiver.dates import to_iso, to_wayback_timestamp
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import (
    FixtureCapture,
    WaybackServer,
    pywb_installed,
    write_fixture_warc,
)
from archiver.net.http import build_session
from archiver.net.polite import Net
from archiver.select.choose import find_best_memento
from archiver.storage.digests import payload_sha1_base32
from archiver.storage.manifest import Capture, read_manifest
from archiver.storage.store import Store
from archiver.storage.verify import verify_store
from tests.conftest import archive_settings, require_shared
from tests.warcfiles import accepted

T = datetime(2018, 5, 1, tzinfo=UTC)
CITED = datetime(2018, 6, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 1, tzinfo=UTC)
SITE = "http://news.example/2018/"
PAGE, MOVED = f"{SITE}page.html", f"{SITE}moved.html"
DIR = f"{SITE}dir"
PLAIN, SECURE = f"{SITE}plain.html", "https://news.example/2018/plain.html"
HOP_A, HOP_B, HOP_C = f"{SITE}a.html", f"{SITE}b.html", f"{SITE}c.html"
HOMEWARD, HOME = f"{SITE}homeward.html", "http://news.example/"


def at(seconds: int) -> datetime:
    return T + timedelta(seconds=seconds)


def iso(seconds: int) -> str:
    return to_iso(at(seconds))


CAPTURES = [
    FixtureCapture(MOVED, at(0), 301, headers=[("Location", "/2018/page.html")]),
    FixtureCapture(PAGE, at(1), body=b"<p>the page</p>"),
    FixtureCapture(DIR, at(10), 301, headers=[("Location", DIR + "/")]),
    FixtureCapture(DIR + "/", at(11), body=b"<p>the folder</p>"),
    FixtureCapture(PLAIN, at(20), 301, headers=[("Location", SECURE)]),
    FixtureCapture(SECURE, at(21), body=b"<p>secure</p>"),
    FixtureCapture(HOP_A, at(30), 302, headers=[("Location", HOP_B)]),
    FixtureCapture(HOP_B, at(31), 302, headers=[("Location", HOP_C)]),
    FixtureCapture(HOP_C, at(32), body=b"<p>c</p>"),
    FixtureCapture(HOMEWARD, at(40), 302, headers=[("Location", HOME)]),
    FixtureCapture(HOME, at(41), body=b"<p>home</p>"),
]
KINDS = ["wayback-stock", "wayback-exact", "memento-stock", "memento-exact", "local"]


@pytest.fixture(scope="module")
def warc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fixture") / "news.warc.gz"
    write_fixture_warc(path, CAPTURES)
    return path


@pytest.fixture(scope="module")
def pywbs(
    warc: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, WaybackServer]]:
    """A stock pywb and one that redirects to the exact timestamp, over the fixture."""
    if not pywb_installed():
        pytest.fail("pywb is not installed: pip install -e '.[test]'")
    root = tmp_path_factory.mktemp("pywbs")
    with (
        WaybackServer(root / "stock", [warc], stock=True) as stock,
        WaybackServer(root / "exact", [warc]) as exact,
    ):
        yield {"stock": stock, "exact": exact}


def open_archive(kind: str, warc: Path, request: pytest.FixtureRequest) -> tuple[Archive, Settings]:
    if kind == "local":
        return LocalCollection(warc, spec="news", cache_dir=warc.parent / "cache"), Settings()
    protocol, config = kind.split("-")
    server = request.getfixturevalue("pywbs")[config]
    spec = {
        "wayback": "wayback:http://archive.test/web/",
        "memento": "memento:http://archive.test/web/timemap/link/",
    }[protocol]
    return parse_archive_spec(spec), archive_settings({"archive.test": server})


def store_citation(store: Store, url: str, archive: Archive, settings: Settings) -> Capture:
    """What ``run`` and ``archive`` do for one citation: select, then store."""
    with build_session(settings) as session:
        selection = find_best_memento(
            url, CITED, [archive], session, settings, cache=LookupCache.in_memory()
        )
        assert selection.memento is not None, selection.reason
        net = Net(session, settings)
        return store.capture_memento(selection.memento, archive, net, ["a.md#L1"], cited=url)


def responses(path: Path, offset: int = 0) -> list[tuple[str, str, str, str | None]]:
    """(target, date, status, Location) of each response record of a WARC file, from
    ``offset`` on."""
    found = []
    with path.open("rb") as stream:
        stream.seek(offset)
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                http = record.http_headers
                found.append(
                    (
                        record.rec_headers.get_header("WARC-Target-URI"),
                        record.rec_headers.get_header("WARC-Date"),
                        http.get_statuscode(),
                        http.get_header("Location"),
                    )
                )
    return found


def stamp(seconds: int) -> str:
    return to_wayback_timestamp(at(seconds))


# -- a redirect to another page is stored, whatever the archive ------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_moved_page_is_stored_as_its_redirect_then_the_page(
    kind: str, warc: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    archive, settings = open_archive(kind, warc, request)
    store = Store(tmp_path / "store", clock=lambda: NOW)
    capture = store_citation(store, MOVED, archive, settings)

    assert (capture.url, capture.target_uri, capture.http_status) == (MOVED, PAGE, 200)
    assert (capture.warc_date, capture.memento_datetime) == (iso(1), iso(1))
    assert [
        (h.url, h.warc_date, h.http_status, h.location) for h in capture.captured_redirects
    ] == [(MOVED, iso(0), 301, PAGE)]
    assert capture.redirects[0] == (MOVED, 301)
    path = store.path_of(capture)
    assert responses(path) == [
        (MOVED, iso(0), "301", "/2018/page.html"),  # as captured: its own status and Location
        (PAGE, iso(1), "200", None),
    ]
    assert accepted(path) == [(MOVED, stamp(0), "301"), (PAGE, stamp(1), "200")]
    manifest = read_manifest(store.root)
    assert manifest is not None
    rows = [(r.type, r.target_uri, r.record_id) for r in manifest.records if r.type == "response"]
    assert rows == [
        ("response", MOVED, capture.captured_redirects[0].record_id),
        ("response", PAGE, capture.record_id),
    ]
    assert verify_store(store.root).ok


@pytest.mark.parametrize("kind", KINDS)
def test_every_hop_of_a_redirect_chain_is_stored(
    kind: str, warc: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    archive, settings = open_archive(kind, warc, request)
    store = Store(tmp_path / "store", clock=lambda: NOW)
    capture = store_citation(store, HOP_A, archive, settings)

    assert (capture.url, capture.target_uri, capture.warc_date) == (HOP_A, HOP_C, iso(32))
    assert [(h.url, h.warc_date, h.location) for h in capture.captured_redirects] == [
        (HOP_A, iso(30), HOP_B),
        (HOP_B, iso(31), HOP_C),
    ]
    assert [hop for hop in capture.redirects if not hop[0].startswith("http://archive.test")] == [
        (HOP_A, 302),
        (HOP_B, 302),
    ]
    assert accepted(store.path_of(capture)) == [
        (HOP_A, stamp(30), "302"),
        (HOP_B, stamp(31), "302"),
        (HOP_C, stamp(32), "200"),
    ]


# -- a redirect to the same page under another address --------------------------------------

SAME_PAGE = [(DIR, DIR + "/", 10), (PLAIN, SECURE, 20)]


@pytest.mark.parametrize(("cited", "target", "redirected_at"), SAME_PAGE, ids=["slash", "https"])
def test_a_local_collection_keeps_a_redirect_to_the_same_page(
    cited: str, target: str, redirected_at: int, warc: Path, tmp_path: Path
) -> None:
    archive = LocalCollection(warc, spec="news", cache_dir=tmp_path / "cache")
    store = Store(tmp_path / "store", clock=lambda: NOW)
    capture = store_citation(store, cited, archive, Settings())
    assert (capture.url, capture.target_uri) == (cited, target)
    assert [(h.url, h.http_status, h.location) for h in capture.captured_redirects] == [
        (cited, 301, target)
    ]
    assert accepted(store.path_of(capture)) == [
        (cited, stamp(redirected_at), "301"),
        (target, stamp(redirected_at + 1), "200"),
    ]


@pytest.mark.parametrize("kind", KINDS[:4])
@pytest.mark.parametrize(("cited", "target", "redirected_at"), SAME_PAGE, ids=["slash", "https"])
def test_pywb_never_serves_a_redirect_to_the_same_page_so_none_is_written(
    kind: str,
    cited: str,
    target: str,
    redirected_at: int,
    warc: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    # pywb skips a capture that redirects to its own URL give or take a slash or the
    # scheme (and serves the target) even at its exact timestamp: there are no bytes of
    # that redirect to keep, and archiver writes no redirect it was not served.
    archive, settings = open_archive(kind, warc, request)
    store = Store(tmp_path / "store", clock=lambda: NOW)
    capture = store_citation(store, cited, archive, settings)
    assert (capture.url, capture.target_uri, capture.warc_date) == (
        cited,
        target,
        iso(redirected_at + 1),
    )
    assert capture.captured_redirects == ()
    assert accepted(store.path_of(capture)) == [(target, stamp(redirected_at + 1), "200")]


@pytest.mark.parametrize("kind", KINDS)
def test_a_redirect_to_the_home_page_is_still_rejected(
    kind: str, warc: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    archive, settings = open_archive(kind, warc, request)
    with build_session(settings) as session:
        selection = find_best_memento(
            HOMEWARD, CITED, [archive], session, settings, cache=LookupCache.in_memory()
        )
    assert selection.memento is None
    assert selection.reason == (
        "the only capture was rejected (captured redirect to the home page (http://news.example/))"
    )


# -- the stored copy replays the cited URL ----------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_stored_copy_replays_the_cited_url_in_a_stock_pywb(
    kind: str, warc: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    archive, settings = open_archive(kind, warc, request)
    store = Store(tmp_path / "store", clock=lambda: NOW)
    cited = (MOVED, HOP_A, DIR, PLAIN)
    captures = {url: store_citation(store, url, archive, settings) for url in cited}
    store.close()  # its file gets its final name
    files = sorted(store.root.glob("*.warc.gz"))
    with WaybackServer(tmp_path / "replay", files, stock=True) as replay:
        session = requests.Session()
        session.trust_env = False

        def raw(seconds: int, url: str) -> requests.Response:
            return session.get(f"{replay.base_url}{stamp(seconds)}id_/{url}", allow_redirects=False)

        moved = raw(0, MOVED)
        assert (moved.status_code, moved.headers["Location"]) == (301, "/2018/page.html")
        assert moved.headers["Memento-Datetime"] == "Tue, 01 May 2018 00:00:00 GMT"
        page = raw(1, PAGE)
        assert (page.status_code, page.content) == (200, b"<p>the page</p>")
        assert [
            (r.status_code, r.headers["Location"]) for r in (raw(30, HOP_A), raw(31, HOP_B))
        ] == [
            (302, HOP_B),
            (302, HOP_C),
        ]
        assert raw(32, HOP_C).content == b"<p>c</p>"
        # the trailing-slash redirect: pywb itself skips it to the folder, stored or not
        folder = session.get(f"{replay.base_url}{stamp(10)}id_/{DIR}")
        assert (folder.status_code, folder.content) == (200, b"<p>the folder</p>")
        secure = session.get(f"{replay.base_url}{stamp(20)}id_/{PLAIN}")
        assert (secure.status_code, secure.content) == (200, b"<p>secure</p>")
    kept = [len(captures[url].captured_redirects) for url in cited]
    assert kept == ([1, 2, 1, 1] if kind == "local" else [1, 2, 0, 0])


# -- the archive command ----------------------------------------------------------------------


def archive_command(
    article: Path, collection: Path, origin: OriginServer, hosts: list[str], store: Path
) -> list[dict[str, Any]]:
    arguments = ["archive", str(article), "--archive", str(collection), "--store", str(store)]
    for host in hosts:
        arguments += ["--resolve", f"{host}={origin.address}"]
    arguments += ["--only-resolved", "--retries", "0", "--format", "json"]
    arguments += ["--no-requisites"]  # the records of the pages alone (test_requisites: theirs)
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    captures: list[dict[str, Any]] = json.loads(result.stdout)
    return [c for c in captures if c["source"] == "memento"]


def test_archive_keeps_the_cited_redirects_of_a_local_collection(
    warc: Path, origin: OriginServer, tmp_path: Path
) -> None:
    cited = [MOVED, HOP_A, DIR, PLAIN]
    for url in cited:  # alive, so that the run is not taken for an offline one
        origin.add(url, Page(body="<p>still here</p>"))
    article = tmp_path / "article.md"
    article.write_text(
        "# Sources\n\n" + "".join(f"See [this]({url}) (accessed 2018-06-01).\n" for url in cited)
    )
    stored = archive_command(article, warc, origin, ["news.example"], tmp_path / "warcs")
    assert [(c["url"], c["target_uri"]) for c in stored] == [
        (MOVED, PAGE),
        (HOP_A, HOP_C),
        (DIR, DIR + "/"),
        (PLAIN, SECURE),
    ]
    hops = [[(h["url"], h["http_status"]) for h in c["captured_redirects"]] for c in stored]
    assert hops == [[(MOVED, 301)], [(HOP_A, 302), (HOP_B, 302)], [(DIR, 301)], [(PLAIN, 301)]]
    (path,) = {tmp_path / "warcs" / str(c["warc_file"]) for c in stored}  # all in one file
    assert accepted(path)  # warcio check passes it
    for capture in stored:  # each capture's records begin with the cited URL's redirect
        first = capture["captured_redirects"][0]["offset"]
        assert responses(path, first)[0][0] == capture["url"]
    files = sorted((tmp_path / "warcs").glob("*.warc.gz"))
    again = archive_command(article, warc, origin, ["news.example"], tmp_path / "warcs")
    assert again == stored  # a rerun finds every chain in the store and fetches nothing
    assert sorted((tmp_path / "warcs").glob("*.warc.gz")) == files


IANA = "http://www.iana.org/"


def test_archive_keeps_the_redirects_of_the_iana_crawl(
    origin: OriginServer, tmp_path: Path
) -> None:
    crawl = require_shared("corpus", "warcs", "iana.warc.gz")
    cited = [
        f"{IANA}about/performance/ietf-statistics",
        f"{IANA}domains/root/db/",
        f"{IANA}dnssec",
    ]
    for url in cited:
        origin.add(url, Page(body="<p>iana</p>"))
    article = tmp_path / "article.md"
    article.write_text(
        "# IANA\n\n" + "".join(f"See [this]({url}) (accessed 2014-02-01).\n" for url in cited)
    )
    stored = archive_command(article, crawl, origin, ["www.iana.org"], tmp_path / "warcs")
    (path,) = {tmp_path / "warcs" / str(c["warc_file"]) for c in stored}  # all in one file
    assert [line for line in accepted(path) if line[1].startswith("2014")] == [
        (f"{IANA}about/performance/ietf-statistics", "20140126200804", "302"),
        (f"{IANA}performance/ietf-statistics", "20140126200804", "200"),
        (f"{IANA}domains/root/db/", "20140126200927", "302"),
        (f"{IANA}domains/root/db", "20140126200928", "200"),
        (f"{IANA}dnssec", "20140126201306", "302"),
        ("https://www.iana.org/dnssec", "20140126201307", "200"),
    ]
    firsts = [c["captured_redirects"][0]["offset"] for c in stored]
    assert [responses(path, offset)[0][3] for offset in firsts] == [
        "/performance/ietf-statistics",
        "http://www.iana.org/domains/root/db",
        "https://www.iana.org/dnssec",
    ]
    assert [c["url"] for c in stored] == cited
    assert verify_store(tmp_path / "warcs").ok


def test_the_iana_redirect_replays_from_the_store(origin: OriginServer, tmp_path: Path) -> None:
    crawl = require_shared("corpus", "warcs", "iana.warc.gz")
    collection = LocalCollection(crawl, cache_dir=tmp_path / "cache")
    store = Store(tmp_path / "store", clock=lambda: NOW)
    (moved,) = [m for m in collection.find(f"{IANA}about/performance/ietf-statistics", None)]
    with build_session(Settings()) as session:
        capture = store.capture_memento(moved, collection, Net(session, Settings()))
    store.close()  # its file gets its final name
    with WaybackServer(tmp_path / "replay", [store.path_of(capture)], stock=True) as replay:
        session = requests.Session()
        session.trust_env = False
        answer = session.get(
            f"{replay.base_url}20140126200804id_/{IANA}about/performance/ietf-statistics",
            allow_redirects=False,
        )
        assert (answer.status_code, answer.headers["Location"]) == (
            302,
            "/performance/ietf-statistics",
        )
        page = session.get(f"{replay.base_url}20140126200804id_/{IANA}performance/ietf-statistics")
        assert page.status_code == 200
        assert payload_sha1_base32(page.content) == "XOFML5WNBQMTSULLIIPLSP6U5MX33HN6"
