"""store: WARC records from fetched responses, and the crash-safe store directory.

Golden files: ``tests/fixtures/golden/*.warc`` hold the *decompressed* records that
``write_capture`` writes for fixed inputs, ids and dates (the gzip framing is checked
separately, member by member, so a different zlib cannot break the comparison). After a
deliberate change to the output, regenerate them with

    ARCHIVER_REGEN_GOLDEN=1 .venv/bin/pytest tests/test_store.py -k golden

and review the diff. Mementos come from a real pywb on loopback (``WaybackServer``), live
pages from the origin server. The store's files (appending, rolling, kills) are tested in
``test_store_files``.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
import requests
from warcio.archiveiterator import ArchiveIterator

from archiver.archives.specs import parse_archive_spec
from archiver.config import Settings
from archiver.dates import parse_http_date, to_iso
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import (
    FixtureCapture,
    WaybackServer,
    payload_digest,
    pywb_installed,
    write_fixture_warc,
)
from archiver.errors import NetworkError, StoreError
from archiver.models import Memento
from archiver.net.http import Fetched, build_session
from archiver.net.polite import Net
from archiver.storage.digests import payload_sha1_base32
from archiver.storage.manifest import MANIFEST_NAME, read_manifest
from archiver.storage.store import Capture, Store
from archiver.storage.verify import verify_store
from archiver.storage.warcwriter import WrittenRecord, stored_response_headers, write_capture
from tests.warcfiles import accepted, all_accepted, warcio_check

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
REGEN = os.environ.get("ARCHIVER_REGEN_GOLDEN") == "1"
ROOT = Path(__file__).resolve().parents[1]

FIXED_NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
WARCINFO = {"software": "archiver-test/1", "format": "WARC File Format 1.1"}


def counter_ids(prefix: int = 0) -> Callable[[], str]:
    """Deterministic UUID strings: 00000000-0000-4000-8000-<prefix><n>."""
    numbers = itertools.count(1)
    return lambda: f"00000000-0000-4000-8000-{prefix:04d}{next(numbers):08d}"


def fixed_clock() -> datetime:
    return FIXED_NOW


def gzip_members(data: bytes) -> list[bytes]:
    """Decompress each gzip member separately (a WARC.gz must have one per record)."""
    members = []
    while data:
        decompressor = zlib.decompressobj(31)
        members.append(decompressor.decompress(data))
        assert decompressor.eof, "a gzip member is cut short"
        data = decompressor.unused_data
    return members


def read_records(path: Path | bytes) -> list[tuple[dict[str, str], bytes, bytes]]:
    """(WARC headers, HTTP head, payload as stored) of each record."""
    data = path if isinstance(path, bytes) else path.read_bytes()
    result = []
    for record in ArchiveIterator(BytesIO(data)):
        headers = dict(record.rec_headers.headers)
        http = record.http_headers.to_str() if record.http_headers else ""
        result.append((headers, http.encode(), record.raw_stream.read()))
    return result


def check_golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if not path.exists():
        pytest.fail(f"{path} is missing: run with ARCHIVER_REGEN_GOLDEN=1 to create it")
    assert data == path.read_bytes(), f"differs from {path} (regenerate if intended)"


# -- write_capture: pure, golden ---------------------------------------------------------

LIVE_BODY = b"<html><title>Story</title><p>The quoted passage.</p></html>\n"
LIVE = Fetched(
    url="http://news.example/old-story",
    final_url="http://news.example/story",
    status=200,
    reason="OK",
    http_version="HTTP/1.1",
    headers=[
        ("Server", "origin/1.0"),
        ("Date", "Sun, 01 Mar 2026 12:00:00 GMT"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Transfer-Encoding", "chunked"),
    ],
    raw_body=LIVE_BODY,
    truncated=False,
    request_headers=[
        ("User-Agent", "archiver-test/1"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Accept", "*/*"),
        ("Connection", "keep-alive"),
    ],
    history=(("http://news.example/old-story", 301),),
)

ARCHIVE_RAW = "https://archive.example/web/20180115093000id_/http://news.example/story"
MEMENTO_BODY = b"<html><title>Story</title><p>As it was in 2018.</p></html>\n"
MEMENTO_LINK = (
    '<http://news.example/story>; rel="original", '
    '<https://archive.example/web/http://news.example/story>; rel="timegate", '
    '<https://archive.example/web/timemap/link/http://news.example/story>; rel="timemap"; '
    'type="application/link-format", '
    "<https://archive.example/web/20180115093000mp_/http://news.example/story>; "
    'rel="memento"; datetime="Mon, 15 Jan 2018 09:30:00 GMT"'
)
MEMENTO = Fetched(
    url=ARCHIVE_RAW,
    final_url=ARCHIVE_RAW,
    status=200,
    reason="OK",
    http_version="HTTP/1.1",
    headers=[
        ("X-Archive-Orig-Server", "Apache"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("X-Archive-Orig-Transfer-Encoding", "chunked"),
        ("X-Archive-Orig-Date", "Mon, 15 Jan 2018 09:30:00 GMT"),
        ("X-Archive-Orig-Content-Length", "-1"),
        ("Link", '<http://news.example/story>; rel="canonical"'),
        ("Memento-Datetime", "Mon, 15 Jan 2018 09:30:00 GMT"),
        ("Link", MEMENTO_LINK),
        ("Content-Location", ARCHIVE_RAW),
        ("Date", "Sun, 01 Mar 2026 12:00:00 GMT"),
        ("Transfer-Encoding", "chunked"),
    ],
    raw_body=MEMENTO_BODY,
    truncated=False,
    request_headers=[("User-Agent", "archiver-test/1"), ("Accept", "*/*")],
)


MEMENTO_PROVENANCE = (
    ("archive", "wayback:https://archive.example/web/"),
    ("memento", ARCHIVE_RAW),
    ("memento-datetime", "2018-01-15T09:30:00Z"),
    ("original", "http://news.example/story"),
    ("archive-digest", ""),  # the archive gave none: no line
)


def write(fetched: Fetched, **overrides: object) -> tuple[bytes, list[WrittenRecord]]:
    arguments: dict[str, object] = {
        "target_uri": fetched.final_url,
        "warc_date": "2026-03-01T12:00:00Z",
        "creation_date": "2026-03-01T12:00:00Z",
        "new_id": counter_ids(),
        "warcinfo": WARCINFO,
        "warc_filename": "capture.warc.gz",
    }
    arguments.update(overrides)
    out = BytesIO()
    written = write_capture(out, fetched, **arguments)  # type: ignore[arg-type]
    return out.getvalue(), written


def test_live_capture_records_match_golden_file() -> None:
    data, written = write(LIVE)
    members = gzip_members(data)
    assert [w.type for w in written] == ["warcinfo", "response", "request", "metadata"]
    assert len(members) == 4  # one gzip member per record
    check_golden("live_capture.warc", b"".join(members))


def test_memento_capture_records_match_golden_file() -> None:
    data, written = write(
        MEMENTO,
        target_uri="http://news.example/story",
        warc_date="2018-01-15T09:30:00Z",
        source_uri=ARCHIVE_RAW,
        provenance=MEMENTO_PROVENANCE,
    )
    members = gzip_members(data)
    # no request record: the only request sent went to the archive (see warcwriter)
    assert [w.type for w in written] == ["warcinfo", "response", "metadata"]
    check_golden("memento_capture.warc", b"".join(members))


def test_write_capture_is_byte_for_byte_reproducible() -> None:
    assert write(LIVE)[0] == write(LIVE)[0]


def test_written_offsets_and_lengths_are_the_gzip_members() -> None:
    data, written = write(LIVE)
    iterator = ArchiveIterator(BytesIO(data))
    places = []
    for record in iterator:
        record.content_stream().read()
        places.append((iterator.get_record_offset(), iterator.get_record_length()))
    assert places == [(w.offset, w.length) for w in written]
    assert written[-1].offset + written[-1].length == len(data)
    response = written[1]
    assert response.payload_sha256 == hashlib.sha256(LIVE_BODY).hexdigest()
    assert response.payload_length == len(LIVE_BODY)
    assert written[0].record_id == "<urn:uuid:00000000-0000-4000-8000-000000000001>"


def test_live_records_say_what_was_fetched() -> None:
    data, _ = write(LIVE)
    (info, _, _), (response, head, body), (request, req_head, _), (meta, _, note) = read_records(
        data
    )
    assert info["WARC-Filename"] == "capture.warc.gz"
    assert response["WARC-Target-URI"] == "http://news.example/story"
    assert response["WARC-Date"] == "2026-03-01T12:00:00Z"
    assert "WARC-Source-URI" not in response
    assert body == LIVE_BODY
    assert b"Transfer-Encoding" not in head
    assert f"Content-Length: {len(LIVE_BODY)}".encode() in head
    assert request["WARC-Concurrent-To"] == response["WARC-Record-ID"]
    assert req_head.splitlines()[:2] == [b"GET /story HTTP/1.1", b"Host: news.example"]
    assert meta["WARC-Concurrent-To"] == response["WARC-Record-ID"]
    assert note == (
        b"requested: http://news.example/old-story\r\n"
        b"redirect: 301 http://news.example/old-story\r\n"
        b"fetched: http://news.example/story\r\n"
    )


def test_memento_headers_are_the_originals_without_the_archives() -> None:
    # Renamed originals come back under their names, in place; the archive's own Date,
    # Memento-Datetime, memento Link and Content-Location stay out; the original's chunked
    # framing and invalid length are not true of the stored bytes, which get their length.
    assert stored_response_headers(MEMENTO, from_archive=True) == [
        ("Server", "Apache"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Date", "Mon, 15 Jan 2018 09:30:00 GMT"),
        ("Content-Length", str(len(MEMENTO_BODY))),
        ("Link", '<http://news.example/story>; rel="canonical"'),
    ]


def test_only_the_memento_relations_are_taken_out_of_a_link_header() -> None:
    mixed = replace(
        MEMENTO,
        headers=[
            ("Link", '<http://news.example/a,b>; rel="next", <http://news.example/>; rel=original'),
            ("Link", '<https://archive.example/web/2018/x>; rel="prev memento"; datetime="x, y"'),
            ("X-Archive-Src", "crawl-2018/part-0001.warc.gz"),
            ("X-Archive-Guessed-Charset", "utf-8"),
            ("Content-Location", "/2018/story-en.html"),  # the page's own, not the archive's
        ],
    )
    assert stored_response_headers(mixed, from_archive=True) == [
        ("Link", '<http://news.example/a,b>; rel="next"'),
        ("Content-Location", "/2018/story-en.html"),
        ("Content-Length", str(len(MEMENTO_BODY))),
    ]


def test_live_headers_keep_everything_but_transfer_encoding() -> None:
    fetched = replace(LIVE, headers=[*LIVE.headers, ("Content-Length", "999"), ("Link", "<x>")])
    assert stored_response_headers(fetched, from_archive=False) == [
        ("Server", "origin/1.0"),
        ("Date", "Sun, 01 Mar 2026 12:00:00 GMT"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(LIVE_BODY))),
        ("Link", "<x>"),
    ]


def test_content_encoding_is_kept_and_the_payload_stored_as_received() -> None:
    encoded = gzip.compress(LIVE_BODY, mtime=0)
    fetched = replace(
        LIVE, headers=[*LIVE.headers, ("Content-Encoding", "gzip")], raw_body=encoded, history=()
    )
    data, written = write(fetched)
    (_, (_, head, body), _) = read_records(data)[:3]
    assert body == encoded
    assert b"Content-Encoding: gzip" in head
    assert f"Content-Length: {len(encoded)}".encode() in head
    assert written[1].payload_sha256 == hashlib.sha256(encoded).hexdigest()


def test_truncated_body_is_marked() -> None:
    data, _ = write(replace(LIVE, truncated=True, history=()))
    response = read_records(data)[1][0]
    assert response["WARC-Truncated"] == "length"


def test_payload_sha1_base32_is_the_cdx_digest() -> None:
    assert payload_sha1_base32(b"") == "3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"
    assert payload_sha1_base32(MEMENTO_BODY) == payload_digest(MEMENTO_BODY)


def test_written_file_passes_warcio_check(tmp_path: Path) -> None:
    path = tmp_path / "capture.warc.gz"
    path.write_bytes(write(LIVE)[0])
    result = warcio_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("digest pass") == 4
    memento = tmp_path / "memento.warc.gz"
    memento.write_bytes(
        write(
            MEMENTO,
            target_uri="http://news.example/story",
            warc_date="2018-01-15T09:30:00Z",
            source_uri=ARCHIVE_RAW,
            provenance=MEMENTO_PROVENANCE,
        )[0]
    )
    # pywb indexes the responses alone (not the request, nor the metadata records)
    assert all_accepted([path, memento]) == [
        [("http://news.example/story", "20260301120000", "200")],
        [("http://news.example/story", "20180115093000", "200")],
    ]


# -- live captures from the origin server ------------------------------------------------

STORY = "http://news.example/story"
OLD = "http://news.example/old-story"
STORY_BODY = "<html><title>Story</title><p>Still here.</p></html>"


@pytest.fixture
def web(origin: OriginServer) -> OriginServer:
    origin.add(STORY, Page(body=STORY_BODY, headers=(("X-Origin", "yes"),)))
    origin.add(OLD, Page(status=301, location=STORY))
    return origin


def test_live_capture_stores_the_page_and_the_request_sent(
    web: OriginServer, sandbox: Settings, tmp_path: Path
) -> None:
    store = Store(tmp_path / "store", clock=fixed_clock, new_id=counter_ids())
    capture = store.capture_live(STORY, build_session(sandbox), sandbox, ["article.md:3"])
    assert capture == Capture(
        url=STORY,
        target_uri=STORY,
        warc_date="2026-03-01T12:00:00Z",
        source="live",
        source_uri=STORY,
        creation_date="2026-03-01T12:00:00Z",
        warc_file="20260301120000-000000000001.warc.gz",  # when the file was started
        record_id="<urn:uuid:00000000-0000-4000-8000-000000000003>",
        offset=capture.offset,
        http_status=200,
        payload_sha256=hashlib.sha256(STORY_BODY.encode()).hexdigest(),
        payload_length=len(STORY_BODY),
        citations=("article.md:3",),
    )
    records = read_records(store.path_of(capture))
    response, head, body = records[1]
    assert response["WARC-Target-URI"] == STORY
    assert response["WARC-Date"] == "2026-03-01T12:00:00Z"
    assert body == STORY_BODY.encode()
    assert b"X-Origin: yes" in head
    request_head = records[2][1]
    sent = web.hits_for("news.example")[-1]
    assert dict(sent.headers)["User-Agent"] == sandbox.user_agent
    assert f"User-Agent: {sandbox.user_agent}".encode() in request_head
    assert request_head.startswith(b"GET /story HTTP/1.1\r\nHost: news.example\r\n")
    assert accepted(store.path_of(capture)) == [(STORY, "20260301120000", "200")]
    assert verify_store(store.root).ok


def test_live_redirect_stores_the_final_page_under_its_own_url(
    web: OriginServer, sandbox: Settings, tmp_path: Path
) -> None:
    store = Store(tmp_path / "store", clock=fixed_clock)
    capture = store.capture_live(OLD, build_session(sandbox), sandbox, ["c1"])
    assert (capture.url, capture.target_uri, capture.http_status) == (OLD, STORY, 200)
    assert capture.redirects == ((OLD, 301),)
    types = [headers["WARC-Type"] for headers, _, _ in read_records(store.path_of(capture))]
    assert types == ["warcinfo", "response", "request", "metadata"]
    assert accepted(store.path_of(capture)) == [(STORY, "20260301120000", "200")]
    assert store.find(OLD) == capture  # found by the URL asked for ...
    assert store.find(STORY) == capture  # ... and by the URL stored


def test_live_capture_of_an_unreachable_host_is_a_network_error(
    sandbox: Settings, tmp_path: Path
) -> None:
    store = Store(tmp_path / "store")
    with pytest.raises(NetworkError, match=r"could not fetch http://elsewhere\.example/"):
        store.capture_live("http://elsewhere.example/", build_session(sandbox), sandbox)
    assert list(store.root.glob("*.warc.gz*")) == []


def test_a_rerun_reuses_the_stored_capture_and_adds_citations(
    web: OriginServer, sandbox: Settings, tmp_path: Path
) -> None:
    store = Store(tmp_path / "store", clock=fixed_clock)
    session = build_session(sandbox)
    first = store.capture_live(STORY, session, sandbox, ["a"])
    hits = len(web.hits_for("news.example"))
    again = Store(tmp_path / "store").capture_live(STORY, session, sandbox, ["b", "a"])
    assert len(web.hits_for("news.example")) == hits  # not fetched again
    assert again == replace(first, citations=("a", "b"))
    manifest = read_manifest(store.root)
    assert manifest is not None
    assert {r.citations for r in manifest.records} == {("a", "b")}
    assert manifest.captures == (again,)
    assert verify_store(store.root).ok


def test_find_by_url_date_and_source(web: OriginServer, sandbox: Settings, tmp_path: Path) -> None:
    store = Store(tmp_path / "store", clock=fixed_clock)
    capture = store.capture_live(STORY, build_session(sandbox), sandbox)
    assert store.find(STORY, "2026-03-01T12:00:00Z") == capture
    assert store.find(STORY, "20260301120000") == capture
    assert store.find(STORY, "2026-03-01T12:00:01Z") is None
    assert store.find(STORY, source="memento") is None
    assert store.find("http://news.example/other") is None


def test_concurrent_threads_capture_into_one_store(origin: OriginServer, tmp_path: Path) -> None:
    urls = [f"http://many.example/page/{n}" for n in range(24)]
    for n, url in enumerate(urls):
        origin.add(url, Page(body=f"<p>page {n}</p>"))
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    store = Store(tmp_path / "store")
    errors: list[BaseException] = []

    def work(chunk: list[str]) -> None:
        session = build_session(settings)
        try:
            for url in chunk:
                store.capture_live(url, session, settings, [url])
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(urls[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(c.url for c in store.captures) == sorted(urls)
    report = verify_store(store.root)
    assert report.ok, report.problems
    assert (report.files_checked, report.records_checked) == (1, 72)  # one file, appended to
    (indexed,) = all_accepted(sorted({store.path_of(c) for c in store.captures}))
    assert sorted(url for url, _, _ in indexed) == sorted(urls)


# -- mementos from a real pywb -----------------------------------------------------------

REPORT = "http://news.example/2018/q3-report.html"
MOVED = "http://news.example/2018/moved.html"
ENCODED = "http://news.example/2018/encoded.html"
REPORT_BODY = b"<html><title>Q3</title><p>Revenue grew in Xinjiang projects.</p></html>"
ENCODED_BODY = gzip.compress(b"<p>compressed when archived</p>", mtime=0)
CAPTURED = datetime(2018, 1, 15, 9, 30, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WaybackServer]:
    if not pywb_installed():
        pytest.skip("pywb is not installed (pip install 'archiver[test]')")
    workdir = tmp_path_factory.mktemp("pywb")
    warc = workdir / "fixtures.warc.gz"
    write_fixture_warc(
        warc,
        [
            FixtureCapture(
                REPORT,
                CAPTURED,
                body=REPORT_BODY,
                headers=(
                    ("Server", "Apache/2.4"),
                    ("Link", f'<{REPORT}>; rel="canonical"'),
                ),
            ),
            FixtureCapture(MOVED, CAPTURED, 302, headers=(("Location", "/2018/new.html"),)),
            FixtureCapture(
                ENCODED, CAPTURED, body=ENCODED_BODY, headers=(("Content-Encoding", "gzip"),)
            ),
        ],
    )
    assert [url for url, _, _ in accepted(warc)] == [REPORT, MOVED, ENCODED]
    with WaybackServer(workdir / "server", [warc]) as server:
        yield server


@pytest.fixture
def archive_settings(archive: WaybackServer) -> Settings:
    # pywb answers on 127.0.0.1; every other name (and address) is refused.
    return Settings(
        host_map={"127.0.0.1": f"127.0.0.1:{archive.port}"},
        resolve_only=True,
        timeout=10,
        retries=0,
    )


@pytest.fixture
def archive_session(archive_settings: Settings) -> requests.Session:
    return build_session(archive_settings)


def cdx_row(archive: WaybackServer, session: requests.Session, url: str) -> dict[str, str]:
    response = session.get(f"{archive.base_url}cdx", params={"url": url, "output": "json"})
    rows = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    assert len(rows) == 1, rows
    row: dict[str, str] = rows[0]
    return row


def memento_for(
    archive: WaybackServer, url: str, timestamp: str, digest: str | None = None
) -> Memento:
    return Memento(
        original=url,
        datetime=to_iso(datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)),
        archive=archive.spec,
        url=f"{archive.base_url}{timestamp}/{url}",
        raw_url=f"{archive.base_url}{timestamp}id_/{url}",
        digest=digest,
    )


def test_memento_provenance_from_pywb(
    archive: WaybackServer,
    archive_settings: Settings,
    archive_session: requests.Session,
    tmp_path: Path,
) -> None:
    settings, session = archive_settings, archive_session
    row = cdx_row(archive, session, REPORT)
    memento = memento_for(archive, REPORT, row["timestamp"], row["digest"])
    direct = session.get(memento.raw_url)
    assert direct.headers["Memento-Datetime"] == "Mon, 15 Jan 2018 09:30:00 GMT"
    store = Store(tmp_path / "store", clock=fixed_clock, new_id=counter_ids())

    capture = store.capture_memento(
        memento, parse_archive_spec(archive.spec), Net(session, settings), ["article.md:7"]
    )

    assert capture.target_uri == REPORT
    assert capture.warc_date == to_iso(parse_http_date(direct.headers["Memento-Datetime"]))
    assert capture.source_uri == memento.raw_url
    assert capture.creation_date == "2026-03-01T12:00:00Z"
    assert (capture.archive_digest, capture.archive_digest_match) == (row["digest"], True)
    records = read_records(store.path_of(capture))
    response, head, body = records[1]
    assert response["WARC-Target-URI"] == REPORT
    assert response["WARC-Date"] == "2018-01-15T09:30:00Z"
    assert response["WARC-Source-URI"] == memento.raw_url
    assert response["WARC-Creation-Date"] == "2026-03-01T12:00:00Z"
    assert response["WARC-Payload-Digest"] == f"sha1:{row['digest']}"
    assert body == REPORT_BODY
    lines = head.decode().split("\r\n")
    assert not [line for line in lines if line.lower().startswith("memento-datetime")]
    assert not [line for line in lines if 'rel="timegate"' in line]
    assert not [line for line in lines if line.lower().startswith("content-location")]
    assert f'Link: <{REPORT}>; rel="canonical"' in lines  # the page's own Link stays
    assert "Server: Apache/2.4" in lines  # the original's, restored from pywb's renaming
    assert not [line for line in lines if line.lower().startswith("x-archive-")]
    assert f"Content-Length: {len(REPORT_BODY)}" in lines
    assert [r[0]["WARC-Type"] for r in records] == ["warcinfo", "response", "metadata"]
    metadata = records[2][0]  # the exchange with the archive, in place of a request record
    assert metadata["WARC-Refers-To"] == response["WARC-Record-ID"]
    assert metadata["WARC-Target-URI"] == memento.raw_url
    assert metadata["WARC-Date"] == "2026-03-01T12:00:00Z"
    assert f"archive-digest: sha1:{row['digest']}" in records[2][2].decode().splitlines()
    assert accepted(store.path_of(capture)) == [(REPORT, "20180115093000", "200")]
    assert verify_store(store.root).ok


def test_memento_redirected_to_a_neighbouring_capture(
    archive: WaybackServer,
    archive_settings: Settings,
    archive_session: requests.Session,
    tmp_path: Path,
) -> None:
    memento = memento_for(archive, REPORT, "20180101000000")  # listed, but not a capture
    store = Store(tmp_path / "store", clock=fixed_clock)
    capture = store.capture_memento(
        memento, parse_archive_spec(archive.spec), Net(archive_session, archive_settings)
    )
    exact = f"{archive.base_url}20180115093000id_/{REPORT}"
    assert capture.warc_date == "2018-01-15T09:30:00Z"  # the capture actually served
    # the archive's stated datetime, never the one asked; the asked one is listed_datetime
    assert capture.memento_datetime == "2018-01-15T09:30:00Z"
    assert capture.listed_datetime == "2018-01-01T00:00:00Z"
    assert capture.source_uri == exact
    assert capture.redirects == ((memento.raw_url, 307),)
    response = read_records(store.path_of(capture))[1][0]
    assert response["WARC-Source-URI"] == exact
    assert accepted(store.path_of(capture)) == [(REPORT, "20180115093000", "200")]
    assert store.find(REPORT, "2018-01-01T00:00:00Z") == capture
    assert store.find(REPORT, "2018-01-15T09:30:00Z") == capture


def test_a_redirect_memento_is_stored_not_followed(
    archive: WaybackServer,
    archive_settings: Settings,
    archive_session: requests.Session,
    tmp_path: Path,
) -> None:
    memento = memento_for(archive, MOVED, "20180115093000")
    store = Store(tmp_path / "store")
    capture = store.capture_memento(
        memento, parse_archive_spec(archive.spec), Net(archive_session, archive_settings)
    )
    assert (capture.http_status, capture.redirects, capture.payload_length) == (302, (), 0)
    head = read_records(store.path_of(capture))[1][1]
    assert b"Location: /2018/new.html" in head
    # its target is not archived: the redirect is kept alone, as the capture it is
    assert accepted(store.path_of(capture)) == [(MOVED, "20180115093000", "302")]


def test_content_encoded_memento_matches_the_cdx_digest(
    archive: WaybackServer,
    archive_settings: Settings,
    archive_session: requests.Session,
    tmp_path: Path,
) -> None:
    row = cdx_row(archive, archive_session, ENCODED)
    memento = memento_for(archive, ENCODED, row["timestamp"], row["digest"])
    store = Store(tmp_path / "store")
    capture = store.capture_memento(
        memento, parse_archive_spec(archive.spec), Net(archive_session, archive_settings)
    )
    assert capture.archive_digest_match is True
    head = read_records(store.path_of(capture))[1][1]
    assert b"Content-Encoding: gzip" in head
    with store.path_of(capture).open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                assert record.raw_stream.read() == ENCODED_BODY
    assert accepted(store.path_of(capture)) == [(ENCODED, "20180115093000", "200")]


def test_digest_mismatch_is_stored_and_flagged(
    archive: WaybackServer,
    archive_settings: Settings,
    archive_session: requests.Session,
    tmp_path: Path,
) -> None:
    wrong = payload_digest(b"something else")
    memento = memento_for(archive, REPORT, "20180115093000", digest=f"sha1:{wrong}")
    store = Store(tmp_path / "store")
    capture = store.capture_memento(
        memento, parse_archive_spec(archive.spec), Net(archive_session, archive_settings)
    )
    assert (capture.archive_digest, capture.archive_digest_match) == (wrong, False)
    manifest = read_manifest(store.root)
    assert manifest is not None
    response = next(r for r in manifest.records if r.type == "response")
    assert (response.archive_digest, response.archive_digest_match) == (wrong, False)
    store.close()  # its file gets its final name
    report = verify_store(store.root)
    assert report.ok
    assert [n.check for n in report.notes] == ["archive-digest-flagged"]
    assert accepted(store.path_of(capture)) == [(REPORT, "20180115093000", "200")]


def test_the_archives_digest_is_read_in_any_spelling_of_a_sha1(
    archive: WaybackServer,
    archive_settings: Settings,
    archive_session: requests.Session,
    tmp_path: Path,
) -> None:
    # base16 is the same sha1 as base32: not a mismatch; a sha256 is no sha1 to compare with
    hexadecimal = f"sha1:{hashlib.sha1(REPORT_BODY).hexdigest()}"
    sha256 = f"sha256:{hashlib.sha256(REPORT_BODY).hexdigest()}"
    store = Store(tmp_path / "store")
    found = []
    for digest in (hexadecimal, sha256):
        memento = memento_for(archive, REPORT, "20180115093000", digest=digest)
        capture = store.capture_memento(
            memento,
            parse_archive_spec(archive.spec),
            Net(archive_session, archive_settings),
            reuse=False,
        )
        found.append((capture.archive_digest, capture.archive_digest_match))
    assert found == [(payload_digest(REPORT_BODY), True), (None, None)]
    assert verify_store(store.root).ok
    first, second = store.captures
    assert store.path_of(first) == store.path_of(second)  # both appended to one file
    assert accepted(store.path_of(first)) == [(REPORT, "20180115093000", "200")] * 2


def test_a_memento_the_archive_does_not_have_is_a_network_error(
    archive: WaybackServer,
    archive_settings: Settings,
    archive_session: requests.Session,
    tmp_path: Path,
) -> None:
    memento = memento_for(archive, "http://news.example/never-archived", "20180115093000")
    store = Store(tmp_path / "store")
    with pytest.raises(NetworkError, match=r"has no memento at .* \(HTTP 404\)"):
        store.capture_memento(
            memento, parse_archive_spec(archive.spec), Net(archive_session, archive_settings)
        )
    assert store.captures == ()


def test_memento_rerun_is_not_fetched_again(
    archive: WaybackServer,
    archive_settings: Settings,
    archive_session: requests.Session,
    tmp_path: Path,
) -> None:
    memento = memento_for(archive, REPORT, "20180115093000")
    first = Store(tmp_path / "store").capture_memento(
        memento, parse_archive_spec(archive.spec), Net(archive_session, archive_settings), ["a"]
    )
    closed = replace(memento, raw_url="http://127.0.0.1:9/unreachable")  # would fail if fetched
    again = Store(tmp_path / "store").capture_memento(
        closed, parse_archive_spec(archive.spec), Net(archive_session, archive_settings), ["b"]
    )
    assert again == replace(first, citations=("a", "b"))


# -- the store directory: manifest, reconcile, kills -------------------------------------


def test_store_layout_and_manifest(web: OriginServer, sandbox: Settings, tmp_path: Path) -> None:
    with Store(tmp_path / "store", clock=fixed_clock, new_id=counter_ids()) as store:
        capture = store.capture_live(STORY, build_session(sandbox), sandbox, ["c1"])
        names = sorted(p.name for p in store.root.iterdir())
        assert names == sorted([MANIFEST_NAME, f"{capture.warc_file}.open"])  # being written
    names = sorted(p.name for p in store.root.iterdir())
    assert names == sorted([MANIFEST_NAME, capture.warc_file])  # no lock file among them
    data = json.loads((store.root / MANIFEST_NAME).read_text())
    assert list(data) == ["format", "version", "files", "records", "captures", "digest"]
    assert (data["format"], data["version"]) == ("archiver-store-manifest", 3)
    content = (store.root / capture.warc_file).read_bytes()
    assert data["files"] == [
        {
            "name": capture.warc_file,
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": len(content),
        }
    ]
    assert [r["type"] for r in data["records"]] == ["warcinfo", "response", "request"]
    assert list(data["records"][1]) == [
        "file",
        "offset",
        "length",
        "type",
        "record_id",
        "target_uri",
        "warc_date",
        "payload_sha256",
        "payload_length",
        "citations",
        "archive_digest",
        "archive_digest_match",
        "capture_record_id",
    ]
    assert {r["capture_record_id"] for r in data["records"]} == {capture.record_id}
    assert data["captures"] == [capture.to_dict()]


def test_a_corrupt_manifest_is_a_one_line_store_error(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text('{"format": "archiver-store-manifest", "vers')
    with pytest.raises(StoreError) as caught:
        Store(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / MANIFEST_NAME} is corrupt: ")
    assert "\n" not in str(caught.value)
    (tmp_path / MANIFEST_NAME).write_text('{"format": "something-else"}')
    with pytest.raises(StoreError, match="not an archiver manifest"):
        Store(tmp_path)


def test_a_version_1_manifest_reads_with_its_listed_datetime_moved(tmp_path: Path) -> None:
    # version 1 called the datetime a memento was listed under memento_datetime
    capture = {
        "url": REPORT,
        "target_uri": REPORT,
        "warc_date": "2018-01-15T09:30:00Z",
        "source": "memento",
        "source_uri": f"https://archive.example/web/20180101000000id_/{REPORT}",
        "creation_date": "2026-03-01T12:00:00Z",
        "warc_file": "a.warc.gz",
        "record_id": "<urn:uuid:00000000-0000-4000-8000-000000000002>",
        "offset": 400,
        "http_status": 200,
        "payload_sha256": "0" * 64,
        "payload_length": 10,
        "memento_datetime": "2018-01-01T00:00:00Z",
    }
    manifest = {
        "format": "archiver-store-manifest",
        "version": 1,
        "files": [],
        "records": [],
        "captures": [capture],
    }
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest))
    read = read_manifest(tmp_path)
    assert read is not None
    (only,) = read.captures
    assert (only.listed_datetime, only.memento_datetime) == ("2018-01-01T00:00:00Z", None)
    assert (only.captured_redirects, only.warc_date) == ((), "2018-01-15T09:30:00Z")


def test_warc_files_without_a_manifest_are_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "other.warc.gz").write_bytes(write(LIVE)[0])
    with pytest.raises(StoreError, match=r"holds WARC files but no manifest\.json"):
        Store(tmp_path)
