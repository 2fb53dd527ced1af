"""A stored memento says what happened, and only that (issue 11, WARC honesty).

- Its HTTP headers are the original server's: what the archive added about itself (its own
  ``Date``, ``Memento-Datetime``, ``Link``, ``Content-Location``) is not mixed in, and the
  original headers the archive renamed ``X-Archive-Orig-*`` are restored.
- No ``request`` record claims a request that was not sent: the only request sent went
  to the archive, now; a ``metadata`` record states that exchange and the archive's answer.
- The manifest's ``memento_datetime`` is the archive's stated datetime, never the one
  asked; ``archive_digest`` is filled when the archive gave one, and None when it did not.

Run against a real stock pywb and one with ``redirect_to_exact`` (as web.archive.org
answers); the first test pins what pywb adds to a raw replay, the evidence for the rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from warcio.archiveiterator import ArchiveIterator

from archiver.archives.specs import parse_archive_spec
from archiver.archives.wayback import WaybackArchive
from archiver.config import Settings
from archiver.demo.simweb.wayback import (
    FixtureCapture,
    WaybackServer,
    payload_digest,
    pywb_installed,
    write_fixture_warc,
)
from archiver.models import Memento
from archiver.net.http import build_session
from archiver.net.polite import Net
from archiver.storage.manifest import Capture
from archiver.storage.store import Store
from tests.conftest import archive_settings
from tests.warcfiles import accepted

URL = "http://news.example/2018/report.html"
BODY = b"<html><title>Report</title><p>Revenue grew.</p></html>"
# The original response's headers, in the order the server sent them.
ORIGINAL = [
    ("Date", "Tue, 01 May 2018 00:00:00 GMT"),
    ("Server", "Apache/2.4.29 (Ubuntu)"),
    ("Last-Modified", "Mon, 30 Apr 2018 12:00:00 GMT"),
    ("ETag", '"5ae7-56ab"'),
    ("Cache-Control", "max-age=600"),
    ("Expires", "Tue, 01 May 2018 00:10:00 GMT"),
    ("Vary", "Accept-Encoding"),
    ("Link", '<https://news.example/2018/report.html>; rel="canonical"'),
    ("Set-Cookie", "session=abc; Path=/"),
    ("X-Powered-By", "PHP/7.2"),
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Length", str(len(BODY))),
]
CAPTURED = datetime(2018, 5, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SPEC = "wayback:http://archive.test/web/"
RAW = f"http://archive.test/web/20180501000000id_/{URL}"
ASKED = f"http://archive.test/web/20180601000000id_/{URL}"  # no capture's timestamp


@pytest.fixture(scope="module", params=["stock", "redirect-to-exact"])
def pywb(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WaybackServer]:
    if not pywb_installed():
        pytest.fail("pywb is not installed: pip install -e '.[test]'")
    workdir = tmp_path_factory.mktemp(request.param)
    write_fixture_warc(
        workdir / "fixture.warc.gz", [FixtureCapture(URL, CAPTURED, body=BODY, headers=ORIGINAL)]
    )
    stock = request.param == "stock"
    with WaybackServer(workdir / "pywb", [workdir / "fixture.warc.gz"], stock=stock) as server:
        yield server


@pytest.fixture
def settings(pywb: WaybackServer) -> Settings:
    return archive_settings({"archive.test": pywb})


def archive() -> WaybackArchive:
    found = parse_archive_spec(SPEC)
    assert isinstance(found, WaybackArchive)
    return found


def memento(raw_url: str = RAW, digest: str | None = None) -> Memento:
    stamp = raw_url.split("/web/")[1][:14]
    return Memento(
        original=URL,
        datetime=f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T00:00:00Z",
        archive=SPEC,
        url=raw_url.replace("id_/", "/"),
        raw_url=raw_url,
        digest=digest,
    )


def store_memento(settings: Settings, tmp_path: Path, wanted: Memento) -> tuple[Store, Capture]:
    numbers = itertools.count(1)
    store = Store(
        tmp_path / "store",
        clock=lambda: NOW,
        new_id=lambda: f"00000000-0000-4000-8000-{next(numbers):012d}",
    )
    with build_session(settings) as session:
        return store, store.capture_memento(wanted, archive(), Net(session, settings))


def records(path: Path) -> list[tuple[dict[str, str], list[tuple[str, str]], bytes]]:
    """(WARC headers, HTTP headers, block or payload) of each record."""
    found = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            http = list(record.http_headers.headers) if record.http_headers else []
            found.append((dict(record.rec_headers.headers), http, record.content_stream().read()))
    return found


def test_what_pywb_adds_to_a_raw_replay(pywb: WaybackServer) -> None:
    session = requests.Session()
    session.trust_env = False
    answer = session.get(f"{pywb.base_url}20180501000000id_/{URL}")
    headers = list(answer.raw.headers.items())
    renamed = [(f"X-Archive-Orig-{name}", value) for name, value in ORIGINAL[:7]]
    assert headers[:7] == renamed  # Date, Server, caching headers: renamed, in place
    assert (
        headers[7:13]
        == [
            ORIGINAL[7],  # the page's own Link, as it was
            ("Link", headers[8][1]),  # pywb's: original, timegate, timemap, memento
            *ORIGINAL[8:],  # Set-Cookie, unknown headers, Content-Type, a valid length
        ]
    )
    assert headers[8][1].startswith(f'<{URL}>; rel="original", ')
    added = [name for name, _ in headers[13:]]
    if pywb.stock:
        assert added == ["Memento-Datetime", "Content-Location", "Date"]
        assert headers[14][1] == f"{pywb.base_url}20180501000000id_/{URL}"
    else:
        assert added == ["Memento-Datetime", "Date"]
    assert headers[13][1] == "Tue, 01 May 2018 00:00:00 GMT"
    assert headers[-1][1] != ORIGINAL[0][1]  # the archive's own Date: now, not 2018


def test_the_stored_headers_are_exactly_the_originals(
    pywb: WaybackServer, settings: Settings, tmp_path: Path
) -> None:
    store, capture = store_memento(settings, tmp_path, memento())
    warc, http, payload = records(store.path_of(capture))[1]
    assert warc["WARC-Type"] == "response"
    assert http == ORIGINAL  # every original header, in order, and nothing of pywb's
    assert payload == BODY
    assert accepted(store.path_of(capture)) == [(URL, "20180501000000", "200")]


def test_no_request_record_but_the_exchange_with_the_archive_as_metadata(
    pywb: WaybackServer, settings: Settings, tmp_path: Path
) -> None:
    store, capture = store_memento(settings, tmp_path, memento(ASKED))
    (info, _, _), (response, _, _), (metadata, _, block) = records(store.path_of(capture))
    assert [info["WARC-Type"], response["WARC-Type"], metadata["WARC-Type"]] == [
        "warcinfo",
        "response",
        "metadata",
    ]
    fetched = ASKED if pywb.stock else RAW  # redirect_to_exact sends archiver to the capture
    assert {k: v for k, v in response.items() if not k.endswith("Digest")} == {
        "WARC-Type": "response",
        "WARC-Record-ID": "<urn:uuid:00000000-0000-4000-8000-000000000003>",
        "WARC-Target-URI": URL,  # the original, at the date the archive stated
        "WARC-Date": "2018-05-01T00:00:00Z",
        "WARC-Source-URI": fetched,
        "WARC-Creation-Date": "2026-03-01T12:00:00Z",
        "WARC-Warcinfo-ID": info["WARC-Record-ID"],
        "Content-Type": "application/http; msgtype=response",
        "Content-Length": response["Content-Length"],
    }
    assert {k: v for k, v in metadata.items() if not k.endswith("Digest")} == {
        "WARC-Type": "metadata",
        "WARC-Record-ID": "<urn:uuid:00000000-0000-4000-8000-000000000004>",
        "WARC-Target-URI": fetched,  # the request really sent: to the archive, now
        "WARC-Date": "2026-03-01T12:00:00Z",
        "WARC-Refers-To": response["WARC-Record-ID"],
        "WARC-Warcinfo-ID": info["WARC-Record-ID"],
        "Content-Type": "application/warc-fields",
        "Content-Length": metadata["Content-Length"],
    }
    lines = block.decode().split("\r\n")
    sent = [line for line in lines if line.startswith("request-header: ")]
    answer = [line for line in lines if line.startswith("response-header: ")]
    told = [line for line in lines if line not in sent and line not in answer]
    own = [] if pywb.stock else [f"redirect: 307 {ASKED}"]
    assert told == [
        f"requested: {ASKED}",
        *own,
        f"fetched: {fetched}",
        f"archive: {SPEC}",
        f"memento: {RAW}",  # the exact memento URI (pywb's Content-Location when stock)
        "memento-datetime: 2018-05-01T00:00:00Z",
        f"original: {URL}",
        f"request-line: GET {fetched.removeprefix('http://archive.test')} HTTP/1.1",
        "status-line: HTTP/1.1 200 OK",
        "",
    ]
    assert sent[:2] == [
        "request-header: Host: archive.test",
        f"request-header: User-Agent: {settings.user_agent}",
    ]
    names = [line.split(": ")[1] for line in answer]
    assert names == [
        *(f"X-Archive-Orig-{name}" for name, _ in ORIGINAL[:7]),
        "Link",
        "Link",
        *(name for name, _ in ORIGINAL[8:]),
        "Memento-Datetime",
        *(["Content-Location"] if pywb.stock else []),
        "Date",
    ]
    assert accepted(store.path_of(capture)) == [(URL, "20180501000000", "200")]


def test_the_manifest_states_the_archives_datetime_never_the_one_asked(
    pywb: WaybackServer, settings: Settings, tmp_path: Path
) -> None:
    _, capture = store_memento(settings, tmp_path, memento(ASKED))
    assert (capture.warc_date, capture.memento_datetime) == (
        "2018-05-01T00:00:00Z",
        "2018-05-01T00:00:00Z",
    )
    assert capture.listed_datetime == "2018-06-01T00:00:00Z"
    # pywb's raw replay carries no digest, and the memento asked for had none listed
    assert (capture.archive_digest, capture.archive_digest_match) == (None, None)


def test_the_archives_digest_is_kept_when_it_gave_one(
    pywb: WaybackServer, settings: Settings, tmp_path: Path
) -> None:
    with build_session(settings) as session:
        (listed,) = archive().find(URL, CAPTURED, 5, Net(session, settings))
    assert listed.digest == payload_digest(BODY)  # the CDX listing's
    store, capture = store_memento(settings, tmp_path, listed)
    assert (capture.archive_digest, capture.archive_digest_match) == (payload_digest(BODY), True)
    assert capture.memento_datetime == "2018-05-01T00:00:00Z"
    block = records(store.path_of(capture))[2][2].decode()
    assert f"archive-digest: sha1:{payload_digest(BODY)}\r\n" in block


def test_an_asked_memento_the_archive_moved_keeps_no_listed_digest(
    pywb: WaybackServer, settings: Settings, tmp_path: Path
) -> None:
    # a digest listed for the asked capture is not the served one's: the archive served
    # its neighbour, so no digest is claimed for the stored bytes
    asked = replace(memento(ASKED), digest=payload_digest(b"another capture"))
    _, capture = store_memento(settings, tmp_path, asked)
    assert (capture.archive_digest, capture.archive_digest_match) == (None, None)
