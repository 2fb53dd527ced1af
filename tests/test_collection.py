"""collection: a local WARC/WACZ collection as an archive (index, cache, revisits, redirects).

Fixture WARCs are written here with warcio (and ``write_fixture_warc``); expected offsets
come from reading them back with warcio's own iterator, so the tests do not depend on the
zlib version. The shared corpus (pywb's sample archive) is used where it is laid out.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver.archives.local import (
    CollectionResponse,
    LocalCollection,
    RedirectStep,
    make_locator,
    open_collection,
    parse_locator,
    url_key,
)
from archiver.archives.specs import find_mementos, parse_archive_spec
from archiver.cli.main import cli
from archiver.config import Settings
from archiver.dates import to_iso, to_wayback_timestamp
from archiver.demo.simweb.wayback import FixtureCapture, payload_digest, write_fixture_warc
from archiver.errors import InputError
from archiver.models import Memento
from archiver.net.http import build_session
from archiver.net.polite import Net
from archiver.select.rank import select_memento
from archiver.storage.manifest import read_manifest
from archiver.storage.store import Store
from archiver.storage.verify import verify_store
from tests.conftest import require_shared
from tests.warcfiles import accepted, all_accepted

REPORT = "http://news.example/2018/report.html"
MIRROR = "http://mirror.example/report.html"
BARE = "http://news.example/bare"
LOST = "http://news.example/lost"
OLD = "http://news.example/old"
NEW = "http://news.example/new"
OFFSITE = "http://news.example/offsite"
LOOP_A, LOOP_B = "http://news.example/loop-a", "http://news.example/loop-b"
HOPS = [f"http://news.example/hop{i}" for i in range(4)]
CHUNKED = "http://news.example/chunked"
HEXLIKE = "http://news.example/hexlike"

T1 = datetime(2018, 1, 15, 9, 30, tzinfo=UTC)
T2 = datetime(2018, 3, 1, 12, 0, tzinfo=UTC)
T3 = datetime(2019, 6, 1, 8, 0, tzinfo=UTC)
BODY_1 = b"<html><body><p>Revenue rose 40% in Q3.</p></body></html>"
BODY_2 = b"<html><body><p>This report has been withdrawn.</p></body></html>"
NEW_BODY = b"<html><body>the new place</body></html>"
LATER_NEW_BODY = b"<html><body>the new place, redesigned</body></html>"
ORIGINAL_ID = "<urn:uuid:00000000-0000-4000-8000-000000000001>"
CORPUS = ("corpus", "warcs")


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own index cache (never ~/.cache)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(path))
    return path


# -- writing fixture WARCs -----------------------------------------------------------------


def response(
    writer: WARCWriter,
    url: str,
    when: datetime,
    body: bytes,
    status: str = "200 OK",
    headers: list[tuple[str, str]] | None = None,
    record_id: str | None = None,
) -> None:
    http = StatusAndHeaders(
        status, [("Content-Type", "text/html"), *(headers or [])], protocol="HTTP/1.1"
    )
    warc_headers = {"WARC-Date": to_iso(when)}
    if record_id:
        warc_headers["WARC-Record-ID"] = record_id
    writer.write_record(
        writer.create_warc_record(
            url,
            "response",
            payload=BytesIO(body),
            http_headers=http,
            warc_headers_dict=warc_headers,
        )
    )


def redirect(writer: WARCWriter, url: str, when: datetime, location: str) -> None:
    response(writer, url, when, b"", "302 Found", [("Location", location)])


def revisit(
    writer: WARCWriter,
    url: str,
    when: datetime,
    original_body: bytes,
    *,
    headers: list[tuple[str, str]] | None = None,
    refers: dict[str, str] | None = None,
) -> None:
    """A revisit of a payload ``original_body``; ``headers`` None writes no HTTP headers."""
    warc_headers = {
        "WARC-Date": to_iso(when),
        "WARC-Payload-Digest": f"sha1:{payload_digest(original_body)}",
        "WARC-Profile": "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest",
        **(refers or {}),
    }
    if headers is None:
        record = writer.create_warc_record(
            url, "revisit", payload=BytesIO(b""), length=0, warc_headers_dict=warc_headers
        )
    else:
        http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
        record = writer.create_warc_record(
            url, "revisit", http_headers=http, warc_headers_dict=warc_headers
        )
    writer.write_record(record)


def write_site(path: Path) -> None:
    """Responses, revisits of every kind, captured redirects, chunked bodies."""
    with path.open("wb") as stream:
        w = WARCWriter(stream, gzip=True)
        response(w, REPORT, T1, BODY_1, headers=[("X-Version", "1")], record_id=ORIGINAL_ID)
        w.write_record(
            w.create_warc_record(
                REPORT,
                "request",
                http_headers=StatusAndHeaders(
                    "GET /2018/report.html HTTP/1.1", [("Host", "news.example")]
                ),
                warc_headers_dict={"WARC-Date": to_iso(T1)},
            )
        )
        revisit(
            w,
            REPORT,
            T2,
            BODY_1,
            headers=[("Content-Type", "text/html"), ("X-Version", "2")],
            refers={"WARC-Refers-To-Target-URI": REPORT, "WARC-Refers-To-Date": to_iso(T1)},
        )
        response(w, REPORT, T3, BODY_2)
        revisit(w, MIRROR, T2, BODY_1, headers=[("X-Mirror", "yes")])  # by digest alone
        revisit(w, BARE, T2, BODY_1, refers={"WARC-Refers-To": ORIGINAL_ID})  # no HTTP headers
        revisit(
            w,
            LOST,
            T2,
            b"a payload nobody kept",
            headers=[("X-Lost", "1")],
            refers={"WARC-Refers-To-Target-URI": LOST, "WARC-Refers-To-Date": to_iso(T1)},
        )
        response(w, OLD, T1, b"", "301 Moved Permanently", [("Location", "/new")])
        response(w, NEW, T1 + timedelta(seconds=2), NEW_BODY)
        response(w, NEW, T1 + timedelta(days=30), LATER_NEW_BODY)
        redirect(w, OFFSITE, T1, "http://elsewhere.example/")
        redirect(w, LOOP_A, T1, LOOP_B)
        redirect(w, LOOP_B, T1, LOOP_A)
        for here, there in itertools.pairwise(HOPS):
            redirect(w, here, T1, there)
        response(w, HOPS[-1], T1, b"arrived")
        response(
            w,
            CHUNKED,
            T1,
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            headers=[("Transfer-Encoding", "chunked")],
        )
        response(w, HEXLIKE, T1, b"abc\r\nxyz", headers=[("Transfer-Encoding", "chunked")])


def record_offsets(path: Path) -> dict[tuple[str, str, str], int]:
    """(WARC-Type, target, WARC-Date) -> offset, read independently with warcio."""
    offsets = {}
    with path.open("rb") as stream:
        iterator = ArchiveIterator(stream)
        for record in iterator:
            headers = record.rec_headers
            key = (
                headers.get_header("WARC-Type"),
                headers.get_header("WARC-Target-URI"),
                headers.get_header("WARC-Date"),
            )
            offsets[key] = iterator.get_record_offset()
    return offsets


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "crawl" / "site.warc.gz"
    path.parent.mkdir()
    write_site(path)
    return path


def test_the_fixture_crawl_is_a_warc_warcio_and_pywb_accept(site: Path) -> None:
    # pywb indexes every response and revisit (a revisit's status as "-"), no request
    stamp = to_wayback_timestamp
    assert accepted(site) == [
        (REPORT, stamp(T1), "200"),
        (REPORT, stamp(T2), "-"),
        (REPORT, stamp(T3), "200"),
        (MIRROR, stamp(T2), "-"),
        (BARE, stamp(T2), "-"),
        (LOST, stamp(T2), "-"),
        (OLD, stamp(T1), "301"),
        (NEW, stamp(T1 + timedelta(seconds=2)), "200"),
        (NEW, stamp(T1 + timedelta(days=30)), "200"),
        (OFFSITE, stamp(T1), "302"),
        (LOOP_A, stamp(T1), "302"),
        (LOOP_B, stamp(T1), "302"),
        *((hop, stamp(T1), "302") for hop in HOPS[:-1]),
        (HOPS[-1], stamp(T1), "200"),
        (CHUNKED, stamp(T1), "200"),
        (HEXLIKE, stamp(T1), "200"),
    ]


def locator_of(path: Path, kind: str, url: str, when: datetime) -> str:
    return make_locator(path, record_offsets(path)[(kind, url, to_iso(when))])


def sha1_base32(data: bytes) -> str:
    return payload_digest(data)


# -- urlkeys and locators ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://www.Example.com/", "com,example)/"),
        ("https://example.com:443/A/b?z=1&a=2#part", "com,example)/a/b?a=2&z=1"),
        ("http://example.com:8080/x", "com,example:8080)/x"),
        ("http://www2.news.example.org/report", "org,example,news)/report"),
        ("http://iana.org", "org,iana)/"),
    ],
)
def test_urlkeys_are_surts(url: str, key: str) -> None:
    assert url_key(url) == key  # more, compared with pywb's indexer, in test_collection_keys


def test_locators_round_trip_odd_paths(tmp_path: Path) -> None:
    odd = tmp_path / "my crawls" / "50%" / "x#1.wacz"
    locator = make_locator(odd, 1234, "archive/data 1.warc.gz")
    assert locator.startswith("file:///") and " " not in locator
    assert locator.endswith("#member=archive/data%201.warc.gz&offset=1234")
    assert parse_locator(locator) == (odd, "archive/data 1.warc.gz", 1234)
    assert parse_locator(make_locator(odd, 7)) == (odd, None, 7)
    with pytest.raises(InputError, match="not a record locator"):
        parse_locator("file:///x.warc.gz#member=a")


# -- finding -------------------------------------------------------------------------------


def test_find_returns_the_captures_nearest_the_date_oldest_first(tmp_path: Path) -> None:
    path = tmp_path / "fixture.warc.gz"
    captures = [
        FixtureCapture(REPORT, datetime(2017, 6, 1), body=b"one"),
        FixtureCapture(REPORT, datetime(2018, 1, 15, 9, 30), body=b"two"),
        FixtureCapture(
            "https://www.news.example/2018/report.html", datetime(2018, 2, 1), body=b"3"
        ),
        FixtureCapture(REPORT, datetime(2019, 3, 1), status=404, body=b"gone"),
        FixtureCapture("http://news.example/other", datetime(2018, 1, 20), body=b"other"),
    ]
    write_fixture_warc(path, captures)
    offsets = record_offsets(path)
    collection = LocalCollection(path, spec="fixture.warc.gz")

    found = collection.find(REPORT, datetime(2018, 1, 20, tzinfo=UTC), limit=3)

    def expected(url: str, when: str, body: bytes, status: int) -> Memento:
        locator = make_locator(path, offsets[("response", url, when)])
        return Memento(
            original=url,
            datetime=when,
            archive="fixture.warc.gz",
            url=locator,
            raw_url=locator,
            http_status=status,
            mimetype="text/html",
            digest=sha1_base32(body),
        )

    assert found == [
        expected(REPORT, "2017-06-01T00:00:00Z", b"one", 200),
        expected(REPORT, "2018-01-15T09:30:00Z", b"two", 200),
        # same urlkey as REPORT: scheme and www do not matter, as in CDX
        expected("https://www.news.example/2018/report.html", "2018-02-01T00:00:00Z", b"3", 200),
    ]
    newest = collection.find(REPORT, None, limit=1)
    assert [(m.datetime, m.http_status) for m in newest] == [("2019-03-01T00:00:00Z", 404)]
    assert collection.find("http://news.example/never", None) == []


def test_find_mementos_dispatches_to_a_collection_given_by_path(site: Path) -> None:
    archive = parse_archive_spec(str(site))
    assert isinstance(archive, LocalCollection)
    assert parse_archive_spec(str(site)) is archive  # one index per path in a process
    settings = Settings(resolve_only=True)
    with build_session(settings) as session:
        found = find_mementos(REPORT, T2 + timedelta(days=1), [archive], session, settings)
    assert [(m.datetime, m.archive) for m in found] == [
        (to_iso(T1), str(site)),
        (to_iso(T2), str(site)),
        (to_iso(T3), str(site)),
    ]
    chosen = select_memento(found, T2 + timedelta(days=1))
    assert chosen.memento == found[1]  # the revisit, with its own recorded status 200


def test_specs_that_look_like_missing_paths_say_so(tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing-here.warc.gz")
    with pytest.raises(InputError) as raised:
        parse_archive_spec(missing)
    assert str(raised.value) == f"archive {missing!r}: no such WARC/WACZ file or folder"
    with pytest.raises(InputError, match=r"unknown archive 'archive.org': use 'ia' or"):
        parse_archive_spec("archive.org")


# -- the index cache -----------------------------------------------------------------------


def test_the_index_is_built_once_and_cached_outside_the_collection(
    site: Path, cache_dir: Path
) -> None:
    before = sorted(os.listdir(site.parent))
    first = LocalCollection(site)
    found = first.find(REPORT, T2)
    first.find(NEW, T1)
    assert (first.index_builds, first.index_loads) == (1, 0)  # one read of the WARC

    cached = sorted((cache_dir / "cdxj").iterdir())
    assert [p.name for p in cached] == [hashlib.sha1(str(site).encode()).hexdigest()[:24] + ".cdxj"]
    lines = cached[0].read_text().splitlines()
    header = json.loads(lines[0].split(" ", 1)[1])
    assert lines[0].startswith("!archiver-cdxj ")
    assert (header["file"], header["size"]) == (str(site), site.stat().st_size)
    assert header["mtime_ns"] == site.stat().st_mtime_ns
    assert len(lines) == 1 + 14 + 4  # the responses and revisits; not the request
    key, stamp, fields = lines[1:][0].split(" ", 2)
    assert (key, stamp) == ("example,mirror)/report.html", "20180301120000")
    assert json.loads(fields)["type"] == "revisit"
    assert sorted(os.listdir(site.parent)) == before  # nothing written into the collection

    again = LocalCollection(site)  # a new process, in effect
    assert again.find(REPORT, T2) == found
    assert (again.index_builds, again.index_loads) == (0, 1)


def test_a_changed_file_is_indexed_again(tmp_path: Path) -> None:
    path = tmp_path / "grows.warc.gz"
    write_fixture_warc(path, [FixtureCapture(REPORT, datetime(2018, 1, 1), body=b"a")])
    collection = LocalCollection(path)
    assert len(collection.find(REPORT, None)) == 1
    assert collection.find(REPORT, None) and collection.index_builds == 1

    write_fixture_warc(
        path,
        [
            FixtureCapture(REPORT, datetime(2018, 1, 1), body=b"a"),
            FixtureCapture(REPORT, datetime(2018, 6, 1), body=b"b"),
        ],
    )
    assert [m.datetime for m in collection.find(REPORT, None)] == [
        "2018-01-01T00:00:00Z",
        "2018-06-01T00:00:00Z",
    ]
    assert collection.index_builds == 2

    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert len(collection.find(REPORT, None)) == 2
    assert collection.index_builds == 3  # mtime alone is enough to re-read

    fresh = LocalCollection(path)  # the cache was refreshed too
    assert len(fresh.find(REPORT, None)) == 2
    assert (fresh.index_builds, fresh.index_loads) == (0, 1)


def test_a_folder_notices_files_added_and_removed(tmp_path: Path) -> None:
    folder = tmp_path / "crawls"
    write_fixture_warc(folder / "a.warc.gz", [FixtureCapture(REPORT, datetime(2018, 1, 1))])
    write_fixture_warc(
        folder / ".hidden" / "x.warc.gz", [FixtureCapture(REPORT, datetime(2011, 1, 1))]
    )
    (folder / "notes.txt").write_text("not a WARC")
    collection = LocalCollection(folder)
    assert [m.datetime for m in collection.find(REPORT, None)] == ["2018-01-01T00:00:00Z"]

    write_fixture_warc(folder / "sub" / "b.warc", [FixtureCapture(REPORT, datetime(2019, 1, 1))])
    assert [m.datetime for m in collection.find(REPORT, None)] == [
        "2018-01-01T00:00:00Z",
        "2019-01-01T00:00:00Z",
    ]
    (folder / "a.warc.gz").unlink()
    assert [m.datetime for m in collection.find(REPORT, None)] == ["2019-01-01T00:00:00Z"]
    assert collection.index_builds == 2


# -- revisits ------------------------------------------------------------------------------


def test_a_revisit_keeps_its_own_status_and_headers_with_the_original_payload(site: Path) -> None:
    collection = LocalCollection(site)
    memento = next(m for m in collection.find(REPORT, T2) if m.datetime == to_iso(T2))
    assert (memento.http_status, memento.digest) == (200, sha1_base32(BODY_1))

    served = collection.read_locator(memento.raw_url)

    assert served == CollectionResponse(
        url=REPORT,
        datetime=to_iso(T2),
        locator=locator_of(site, "revisit", REPORT, T2),
        status=200,
        reason="OK",
        http_version="HTTP/1.1",
        headers=(("Content-Type", "text/html"), ("X-Version", "2")),
        payload=BODY_1,
        truncated=False,
        digest=sha1_base32(BODY_1),
        payload_locator=locator_of(site, "response", REPORT, T1),
    )


def test_a_revisit_found_by_digest_alone(site: Path) -> None:
    collection = LocalCollection(site)
    (memento,) = collection.find(MIRROR, T2)
    served = collection.read_locator(memento.raw_url)
    assert (served.payload, served.headers) == (BODY_1, (("X-Mirror", "yes"),))
    assert served.payload_locator == locator_of(site, "response", REPORT, T1)


def test_a_revisit_without_http_headers_takes_the_originals(site: Path) -> None:
    collection = LocalCollection(site)
    (memento,) = collection.find(BARE, T2)
    assert (memento.http_status, memento.mimetype) == (200, "text/html")  # from the original
    served = collection.read_locator(memento.raw_url)
    assert served.status == 200
    assert served.headers == (("Content-Type", "text/html"), ("X-Version", "1"))
    assert (served.payload, served.datetime) == (BODY_1, to_iso(T2))


def test_a_revisit_whose_original_is_missing_is_a_clear_error(site: Path) -> None:
    collection = LocalCollection(site, spec="crawl")
    (memento,) = collection.find(LOST, T2)
    with pytest.raises(InputError) as raised:
        collection.read_locator(memento.raw_url)
    assert str(raised.value) == (
        f"archive 'crawl': {LOST} at 2018-03-01T12:00:00Z is a revisit of {LOST}, "
        "whose payload is not in the collection"
    )


# -- captured redirects --------------------------------------------------------------------


def test_a_captured_redirect_is_followed_to_the_closest_capture_of_its_target(
    site: Path,
) -> None:
    collection = LocalCollection(site)
    (memento,) = collection.find(OLD, T1)
    assert memento.http_status == 301  # find reports the capture as it is, like CDX

    served = collection.read_locator(memento.raw_url)

    assert (served.url, served.status, served.payload) == (NEW, 200, NEW_BODY)
    assert served.datetime == to_iso(T1 + timedelta(seconds=2))  # not the capture 30 days on
    assert served.redirects == (
        RedirectStep(OLD, to_iso(T1), 301, NEW, locator_of(site, "response", OLD, T1)),
    )
    assert served.stopped is None
    unfollowed = collection.read_locator(memento.raw_url, follow_redirects=False)
    assert (unfollowed.status, unfollowed.redirects) == (301, ())


@pytest.mark.parametrize(
    ("start", "max_redirects", "status", "hops", "stopped"),
    [
        (
            OFFSITE,
            10,
            302,
            0,
            "the redirect target http://elsewhere.example/ is not in the collection",
        ),
        (LOOP_A, 10, 302, 1, f"redirect loop at {LOOP_A}"),
        (HOPS[0], 2, 302, 2, "stopped after 2 redirects"),
        (HOPS[0], 3, 200, 3, None),
    ],
)
def test_redirect_following_stops_where_it_must(
    site: Path, start: str, max_redirects: int, status: int, hops: int, stopped: str | None
) -> None:
    collection = LocalCollection(site)
    (memento,) = collection.find(start, T1)
    served = collection.read_locator(memento.raw_url, max_redirects=max_redirects)
    assert (served.status, len(served.redirects), served.stopped) == (status, hops, stopped)


def test_chunked_framing_is_removed_only_when_it_is_exactly_that(site: Path) -> None:
    collection = LocalCollection(site)
    chunked = collection.read_locator(collection.find(CHUNKED, T1)[0].raw_url)
    assert chunked.payload == b"hello world"
    hexlike = collection.read_locator(collection.find(HEXLIKE, T1)[0].raw_url)
    assert hexlike.payload == b"abc\r\nxyz"  # "abc" parses as hex; warcio would eat it


def test_the_payload_is_cut_at_max_bytes(site: Path) -> None:
    collection = LocalCollection(site)
    served = collection.read_locator(collection.find(REPORT, T1)[0].raw_url, max_bytes=10)
    assert (served.payload, served.truncated) == (BODY_1[:10], True)


# -- storing and verifying -----------------------------------------------------------------


def stored_records(path: Path) -> list[tuple[str, dict[str, str], bytes]]:
    with path.open("rb") as stream:
        return [
            (r.rec_type, dict(r.rec_headers.headers), r.raw_stream.read())
            for r in ArchiveIterator(stream)
        ]


def test_storing_a_revisit_and_a_redirect_from_a_collection_verifies(
    site: Path, tmp_path: Path
) -> None:
    archive = parse_archive_spec(str(site))
    assert isinstance(archive, LocalCollection)
    settings = Settings(resolve_only=True, store=tmp_path / "store")
    store = Store(settings.store, clock=lambda: datetime(2026, 3, 1, tzinfo=UTC))
    revisited = next(m for m in archive.find(REPORT, T2) if m.datetime == to_iso(T2))
    (moved,) = archive.find(OLD, T1)

    with build_session(settings) as session:
        first = store.capture_memento(revisited, archive, Net(session, settings), ["a.md#L3"])
        second = store.capture_memento(moved, archive, Net(session, settings), ["a.md#L9"])

    assert (first.url, first.target_uri, first.warc_date) == (REPORT, REPORT, to_iso(T2))
    assert (first.source, first.source_uri) == ("memento", revisited.raw_url)
    assert (first.http_status, first.payload_length, first.redirects) == (200, len(BODY_1), ())
    assert (first.archive, first.archive_digest, first.archive_digest_match) == (
        str(site),
        sha1_base32(BODY_1),
        True,
    )
    assert (second.url, second.target_uri, second.http_status) == (OLD, NEW, 200)
    assert second.warc_date == to_iso(T1 + timedelta(seconds=2))
    # the datetime the collection states for the record stored; the one listed is OLD's
    assert second.memento_datetime == to_iso(T1 + timedelta(seconds=2))
    assert second.listed_datetime == to_iso(T1)
    assert second.redirects == ((OLD, 301),)
    assert second.archive_original == NEW

    assert store.path_of(first) == store.path_of(second)  # appended to one file
    records = stored_records(store.path_of(first))
    kinds = [kind for kind, _, _ in records]
    # the first: no request (nothing was sent); the second: the captured redirect kept as
    # the response it is, before the page it led to
    assert kinds == ["warcinfo", "response", "warcinfo", "response", "response"]
    records = records[2:]  # the second capture's
    assert [(r[1]["WARC-Target-URI"], r[1]["WARC-Date"]) for r in records[1:]] == [
        (OLD, to_iso(T1)),
        (NEW, to_iso(T1 + timedelta(seconds=2))),
    ]
    assert records[1][1]["WARC-Source-URI"] == locator_of(site, "response", OLD, T1)
    assert records[2][1]["WARC-Source-URI"] == locator_of(
        site, "response", NEW, T1 + timedelta(seconds=2)
    )
    assert records[2][2] == NEW_BODY
    assert [(hop.url, hop.http_status, hop.location) for hop in second.captured_redirects] == [
        (OLD, 301, NEW)
    ]
    store.close()  # its file gets its final name
    report = verify_store(store.root)
    assert (report.ok, report.problems, report.notes) == (True, (), ())
    assert all_accepted([store.path_of(first)]) == [
        [
            (REPORT, "20180301120000", "200"),
            (OLD, "20180115093000", "301"),
            (NEW, "20180115093002", "200"),
        ]
    ]

    site.unlink()  # a rerun takes the stored copy and does not read the collection
    with build_session(settings) as session:
        again = store.capture_memento(revisited, archive, Net(session, settings), ["b.md#L1"])
    assert again.citations == ("a.md#L3", "b.md#L1")
    manifest = read_manifest(store.root)
    assert manifest is not None and len(manifest.captures) == 2


# -- damaged files -------------------------------------------------------------------------


def test_damaged_files_are_errors_alone_and_skipped_in_a_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "mixed"
    write_fixture_warc(folder / "good.warc.gz", [FixtureCapture(REPORT, datetime(2018, 1, 1))])
    garbage = folder / "garbage.warc"
    garbage.write_bytes(b"this is not a WARC file\r\n" * 10)
    broken = folder / "broken.warc.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 60)

    with pytest.raises(InputError) as raised:
        LocalCollection(garbage, spec="garbage.warc").find(REPORT, None)
    assert str(raised.value) == "archive 'garbage.warc': no WARC record in it (is it a WARC file?)"
    with pytest.raises(InputError) as raised:
        LocalCollection(broken, spec="broken.warc.gz").find(REPORT, None)
    assert str(raised.value) == (
        "archive 'broken.warc.gz': cannot read it: not a WARC file, or damaged where it starts"
    )

    with caplog.at_level(logging.WARNING, logger="archiver.archives.local"):
        collection = LocalCollection(folder)
        assert [m.datetime for m in collection.find(REPORT, None)] == ["2018-01-01T00:00:00Z"]
    assert collection.problems == (
        f"{broken}: cannot read it: not a WARC file, or damaged where it starts",
        f"{garbage}: no WARC record in it (is it a WARC file?)",
    )
    assert [r.getMessage() for r in caplog.records] == [
        f"{broken}: skipped: cannot read it: not a WARC file, or damaged where it starts",
        f"{garbage}: skipped: no WARC record in it (is it a WARC file?)",
    ]

    broken.unlink()
    garbage.unlink()
    (folder / "good.warc.gz").unlink()
    with pytest.raises(InputError, match=r"no readable WARC or WACZ file in the folder$"):
        collection.find(REPORT, None)


@pytest.mark.parametrize("cut", ["early", "late"])
def test_a_truncated_file_keeps_the_records_before_the_cut(tmp_path: Path, cut: str) -> None:
    whole = tmp_path / "whole.warc.gz"
    write_fixture_warc(
        whole,
        [
            FixtureCapture(
                f"http://news.example/{n}", datetime(2018, 1, n + 1), body=os.urandom(4000)
            )
            for n in range(3)
        ],
    )
    data = whole.read_bytes()
    last = sorted(record_offsets(whole).values())[2]
    kept = last + 300 if cut == "early" else len(data) - 100
    truncated = tmp_path / "cut.warc.gz"
    truncated.write_bytes(data[:kept])
    collection = LocalCollection(truncated)
    assert [m.original for m in collection.find("http://news.example/1", None)] == [
        "http://news.example/1"
    ]
    assert collection.find("http://news.example/2", None) == []
    (problem,) = collection.problems
    if cut == "early":  # warcio sees no record at all in a member cut this early
        assert problem == (
            f"{truncated}: indexed 2 captures, then stopped: the 300 bytes after offset {last} "
            "are not a complete record (the file is cut short or damaged there)"
        )
    else:  # warcio reads the member as if it simply ended
        assert problem.startswith(
            f"{truncated}: indexed 2 captures, then stopped: the record at offset {last} ends "
            "after "
        )
        assert problem.endswith(" of its 4118 bytes")


def test_an_uncompressed_warc_is_indexed_without_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "plain.warc"
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=False)
        response(writer, REPORT, T1, BODY_1)
        response(writer, MIRROR, T2, BODY_2)
    collection = LocalCollection(path)
    assert [m.original for m in collection.find(REPORT, None)] == [REPORT]
    # the blank lines after its last record are no "bytes after the last record"
    assert collection.problems == ()


def test_a_file_cut_inside_a_records_warc_headers_keeps_the_records_before_it(
    tmp_path: Path,
) -> None:
    whole = tmp_path / "whole.warc"
    with whole.open("wb") as stream:
        writer = WARCWriter(stream, gzip=False)
        response(writer, REPORT, T1, BODY_1)
        response(writer, MIRROR, T2, BODY_2)
    second = record_offsets(whole)[("response", MIRROR, to_iso(T2))]
    cut = tmp_path / "cut.warc"
    cut.write_bytes(whole.read_bytes()[: second + 40])  # no target URI, no Content-Length
    collection = LocalCollection(cut)
    assert [m.original for m in collection.find(REPORT, None)] == [REPORT]
    assert collection.problems == (
        f"{cut}: indexed 1 captures, then stopped: the 44 bytes after offset {second - 4} "
        "are not a complete record (the file is cut short or damaged there)",
    )


def test_an_http_head_holding_utf8_is_measured_in_bytes(tmp_path: Path) -> None:
    # warcio counts the head in characters: "é" once, though it is two bytes
    block = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Title: café\r\n\r\n".encode()
    block += BODY_1
    head = (
        f"WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: {ORIGINAL_ID}\r\n"
        f"WARC-Target-URI: {REPORT}\r\nWARC-Date: {to_iso(T1)}\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(block)}\r\n\r\n"
    )
    path = tmp_path / "utf8.warc"
    path.write_bytes(head.encode() + block + b"\r\n\r\n")
    collection = LocalCollection(path)
    (memento,) = collection.find(REPORT, None)
    assert (memento.http_status, memento.digest) == (200, sha1_base32(BODY_1))
    assert collection.read_locator(memento.raw_url).payload == BODY_1
    assert collection.problems == ()


# -- the shared corpus: pywb's sample archive ----------------------------------------------


def corpus(name: str) -> Path:
    return require_shared(*CORPUS, name)


def test_iana_crawl_home_page(cache_dir: Path) -> None:
    path = corpus("iana.warc.gz")
    collection = LocalCollection(path)
    (memento,) = collection.find("http://www.iana.org/", None)
    assert memento == Memento(
        original="http://www.iana.org/",
        datetime="2014-01-26T20:06:24Z",
        archive=str(path),
        url=f"{path.as_uri()}#offset=334",
        raw_url=f"{path.as_uri()}#offset=334",
        http_status=200,
        mimetype="text/html",
        digest="OSSAPWJ23L56IYVRW3GFEAR4MCJMGPTB",
    )
    served = collection.read_locator(memento.raw_url)
    assert sha1_base32(served.payload) == "OSSAPWJ23L56IYVRW3GFEAR4MCJMGPTB"
    assert served.payload.startswith(b"<!doctype html>")
    (index,) = (cache_dir / "cdxj").iterdir()
    assert len(index.read_text().splitlines()) == 1 + 48 + 123  # responses + revisits


def test_iana_resource_that_exists_only_as_revisits() -> None:
    # https://.../print.css was never captured as a response; its revisits refer to an
    # https URL that is not in the file, so the payload is found by its digest.
    path = corpus("iana.warc.gz")
    collection = LocalCollection(path)
    url = "https://www.iana.org/_css/2013.1/print.css"
    found = [m for m in collection.find(url, None, limit=50) if m.original == url]
    assert [(m.datetime, m.http_status) for m in found] == [("2014-01-26T20:13:07Z", 200)]
    served = collection.read_locator(found[0].raw_url)
    assert sha1_base32(served.payload) == found[0].digest == "VNBXHMUNWJQC5OWWGZ3X7GM5C7X6ZAB4"
    assert served.payload_locator == f"{path.as_uri()}#offset=50482"
    assert ("Date", "Sun, 26 Jan 2014 20:13:07 GMT") in served.headers  # the revisit's own


def test_iana_captured_302_is_followed_to_its_https_target(tmp_path: Path) -> None:
    path = corpus("iana.warc.gz")
    collection = LocalCollection(path)
    moved = next(
        m for m in collection.find("http://www.iana.org/dnssec", None) if m.http_status == 302
    )
    served = collection.read_locator(moved.raw_url)
    assert (served.url, served.status, served.datetime) == (
        "https://www.iana.org/dnssec",
        200,
        "2014-01-26T20:13:07Z",
    )
    assert served.redirects == (
        RedirectStep(
            "http://www.iana.org/dnssec",
            "2014-01-26T20:13:06Z",
            302,
            "https://www.iana.org/dnssec",
            f"{path.as_uri()}#offset=772827",
        ),
    )
    assert sha1_base32(served.payload) == served.digest == "PHLRSX73EV3WSZRFXMWDO6BRKTVUSASI"

    settings = Settings(resolve_only=True)
    store = Store(tmp_path / "store")
    with build_session(settings) as session:
        capture = store.capture_memento(moved, collection, Net(session, settings))
    assert (capture.target_uri, capture.redirects, capture.archive_digest_match) == (
        "https://www.iana.org/dnssec",
        (("http://www.iana.org/dnssec", 302),),
        True,
    )
    assert verify_store(store.root).ok


def test_corpus_folder_resolves_revisits_across_files(caplog: pytest.LogCaptureFixture) -> None:
    folder = corpus("iana.warc.gz").parent
    with caplog.at_level(logging.WARNING, logger="archiver.archives.local"):
        collection = LocalCollection(folder)
        moved = next(m for m in collection.find("http://iana.org", None) if m.http_status == 302)
    # dupes.warc.gz: iana.org 302 -> www.iana.org/, a revisit of a response in iana.warc.gz
    served = collection.read_locator(moved.raw_url)
    assert (served.url, served.status) == ("http://www.iana.org/", 200)
    assert served.locator == f"{(folder / 'dupes.warc.gz').as_uri()}#offset=2678"
    assert served.payload_locator == f"{(folder / 'iana.warc.gz').as_uri()}#offset=334"
    assert sha1_base32(served.payload) == "OSSAPWJ23L56IYVRW3GFEAR4MCJMGPTB"
    # the broken WACZ is skipped with a warning; the .bad file is not a WARC by its name
    assert collection.problems == (
        f"{folder / 'invalid_example_1.wacz'}: not a usable WACZ: no WARC file under archive/",
    )
    assert [r.getMessage() for r in caplog.records] == [
        f"{folder / 'invalid_example_1.wacz'}: skipped: not a usable WACZ: no WARC file under "
        "archive/"
    ]


@pytest.mark.parametrize(
    ("name", "url", "digest"),
    [
        ("example-wget-1-14.warc.gz", "http://example.com/", "B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A"),
        ("example-wpull.warc.gz", "http://example.com/", "B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A"),
        ("valid_example_1.wacz", "http://www.example.com/", "WJM2KPM4GF3QK2BISVUH2ASX64NOUY7L"),
        ("example.warc.gz", "http://example.com?example=1", "B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A"),
    ],
)
def test_files_written_by_other_tools(name: str, url: str, digest: str) -> None:
    collection = LocalCollection(corpus(name))
    found = collection.find(url, None)
    assert found and all(m.http_status == 200 and m.digest == digest for m in found)
    for memento in found:  # example.warc.gz: a response and a revisit of it
        assert sha1_base32(collection.read_locator(memento.raw_url).payload) == digest
    assert collection.problems == ()


def test_wacz_locators_name_the_member() -> None:
    path = corpus("valid_example_1.wacz")
    (memento,) = LocalCollection(path).find("http://www.example.com/", None)
    assert memento.raw_url == f"{path.as_uri()}#member=archive/example-collection.warc&offset=845"
    assert memento.datetime == "2020-10-07T21:22:36Z"


def test_one_gzip_stream_file_is_read_with_a_warning() -> None:
    path = corpus("example-bad.warc.gz.bad")
    collection = LocalCollection(path)
    (moved,) = collection.find("http://www.iana.org/domains/example", None)
    served = collection.read_locator(moved.raw_url)
    assert (served.status, served.stopped) == (
        302,
        "the redirect target http://www.iana.org/domains/reserved is not in the collection",
    )
    assert collection.problems == (
        f"{path}: the whole file is one gzip stream, not one member per record, so each record "
        "is read by decompressing from the start (`warcio recompress` fixes it)",
    )


def test_broken_wacz_alone_is_a_one_line_error() -> None:
    path = corpus("invalid_example_1.wacz")
    archive = parse_archive_spec(str(path))
    settings = Settings(resolve_only=True)
    with build_session(settings) as session, pytest.raises(InputError) as raised:
        find_mementos("http://example.com/", None, [archive], session, settings)
    assert str(raised.value) == (
        f"archive {str(path)!r}: not a usable WACZ: no WARC file under archive/"
    )


def test_cli_find_in_a_local_collection() -> None:
    path = corpus("iana.warc.gz")
    result = CliRunner().invoke(
        cli,
        [
            "find",
            "http://www.iana.org/dnssec",
            "--archive",
            str(path),
            "--date",
            "2014-02-01",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["memento"]["url"] == f"{path.as_uri()}#offset=773766"
    assert answer["memento"]["original"] == "https://www.iana.org/dnssec"
    # find reads the pages: the captured 302 is followed inside the collection to its
    # target's capture, which becomes the memento, rather than being rejected
    assert answer["rejected"] == []
    assert answer["reason"] == "latest capture before 2014-02-01 (2014-01-26)"


def test_open_collection_is_shared_per_path_and_cache(tmp_path: Path, site: Path) -> None:
    one = open_collection(str(site))
    assert open_collection(site) is one
    assert open_collection(site, cache_dir=tmp_path / "other") is not one
