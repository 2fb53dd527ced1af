"""The Archive protocol (archiver.archives.base): three kinds, one way to ask them.

The same fixture WARC is served by a real pywb on loopback, reached both as a Wayback
server (CDX and ``id_`` replay) and as a Memento archive (its TimeMap), and opened as a
local collection. Whatever the kind, the same captures are found, and reading one gives
the same status, bytes, stated datetime and original URL, and for a captured redirect
the same target.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.archives.base import Archive, ArchivedResponse
from archiver.archives.local import LocalCollection
from archiver.archives.specs import parse_archive_spec
from archiver.archives.wayback import WaybackArchive, replay_memento
from archiver.demo.simweb.wayback import FixtureCapture, WaybackServer, write_fixture_warc
from archiver.errors import InputError
from archiver.models import Memento
from archiver.net.http import build_session
from archiver.net.polite import Net
from tests.conftest import REPORT, REPORT_HISTORY, archive_settings, running_wayback
from tests.warcfiles import accepted

CITED = datetime(2018, 11, 28, 23, 59, 59, tzinfo=UTC)
MOVED = "http://news.example/2018/moved.html"
FINAL = "http://news.example/2018/final.html"
CAPTURES = [
    *REPORT_HISTORY,
    FixtureCapture(MOVED, datetime(2018, 5, 1, tzinfo=UTC), 301, headers=[("Location", FINAL)]),
    FixtureCapture(FINAL, datetime(2018, 5, 1, 0, 0, 3, tzinfo=UTC), body=b"<p>final</p>"),
]
KINDS = ["wayback", "memento", "local"]
WAYBACK = "wayback:http://archive.test/web/"
TIMEMAP = "memento:http://archive.test/web/timemap/link/"


@pytest.fixture(scope="module")
def warc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("warc") / "fixture.warc.gz"
    write_fixture_warc(path, CAPTURES)
    return path


def test_the_fixture_is_a_warc_warcio_and_pywb_accept(warc: Path) -> None:
    assert accepted(warc) == [
        (c.url, c.captured_at.strftime("%Y%m%d%H%M%S"), str(c.status)) for c in CAPTURES
    ]


@pytest.fixture(scope="module")
def wayback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WaybackServer]:
    with running_wayback(tmp_path_factory.mktemp("wayback"), CAPTURES) as server:
        yield server


@pytest.fixture(params=KINDS)
def archive(request: pytest.FixtureRequest, warc: Path, tmp_path: Path) -> Archive:
    if request.param == "local":
        return LocalCollection(warc, spec="fixture", cache_dir=tmp_path / "cache")
    request.getfixturevalue("wayback")  # pywb, for the two kinds that reach it over HTTP
    return parse_archive_spec(WAYBACK if request.param == "wayback" else TIMEMAP)


@pytest.fixture
def net_for(archive: Archive, request: pytest.FixtureRequest) -> Iterator[Net]:
    servers = {} if isinstance(archive, LocalCollection) else {"archive.test": _pywb(request)}
    settings = archive_settings(servers)
    with build_session(settings) as session:
        yield Net(session, settings)


def _pywb(request: pytest.FixtureRequest) -> WaybackServer:
    server: WaybackServer = request.getfixturevalue("wayback")
    return server


def found(archive: Archive, net: Net, url: str, when: datetime = CITED) -> dict[str, Memento]:
    return {m.datetime: m for m in archive.find(url, when, 25, net)}


def test_every_kind_finds_the_same_captures(archive: Archive, net_for: Net) -> None:
    listed = archive.find(REPORT, CITED, 25, net_for)
    assert [(m.datetime, m.original, m.archive) for m in listed] == [
        (moment, REPORT, archive.spec)
        for moment in (
            "2017-12-01T08:00:00Z",
            "2018-06-15T10:30:00Z",
            "2018-10-02T14:00:00Z",
            "2018-11-20T09:00:00Z",
            "2019-01-05T00:00:00Z",
        )
    ]


def test_every_kind_finds_the_closest_capture(archive: Archive, net_for: Net) -> None:
    closest = archive.closest(REPORT, datetime(2018, 6, 20, tzinfo=UTC), net_for)
    assert closest is not None
    assert (closest.datetime, closest.original) == ("2018-06-15T10:30:00Z", REPORT)
    assert archive.closest("http://news.example/never-archived", CITED, net_for) is None


def read_fields(response: ArchivedResponse) -> tuple[object, ...]:
    return (
        response.status,
        response.body,
        response.captured,
        response.datetime,
        response.original,
        response.redirect,
    )


def test_every_kind_reads_a_capture_the_same_way(archive: Archive, net_for: Net) -> None:
    memento = found(archive, net_for, REPORT)["2018-06-15T10:30:00Z"]
    response = archive.read(memento, net_for)
    assert read_fields(response) == (
        200,
        b"<p>Q3 report</p>",
        True,
        "2018-06-15T10:30:00Z",
        REPORT,
        None,
    )
    assert response.requested == memento.raw_url
    assert response.history == ()
    assert (response.memento.raw_url, response.memento.http_status) == (memento.raw_url, 200)
    assert response.as_fetched().raw_body == b"<p>Q3 report</p>"


def test_every_kind_answers_a_captured_redirect_with_its_target(
    archive: Archive, net_for: Net
) -> None:
    memento = found(archive, net_for, MOVED)["2018-05-01T00:00:00Z"]
    response = archive.read(memento, net_for)
    assert (response.status, response.captured, response.header("Location")) == (
        301,
        True,
        FINAL,
    )
    assert response.redirect is not None
    assert (response.redirect.url, response.redirect.timestamp) == (FINAL, None)
    capture = response.redirect.capture
    assert capture is not None
    assert capture.original == FINAL
    following = archive.read(capture, net_for)
    assert (following.status, following.body, following.datetime) == (
        200,
        b"<p>final</p>",
        "2018-05-01T00:00:03Z",
    )


def test_a_read_carries_the_digest_the_archive_listed(archive: Archive, net_for: Net) -> None:
    memento = found(archive, net_for, REPORT)["2018-06-15T10:30:00Z"]
    response = archive.read(memento, net_for)
    assert response.digest == memento.digest  # what the store compares the payload with


def test_wayback_follows_its_own_redirect_to_the_exact_capture(wayback: WaybackServer) -> None:
    settings = archive_settings({"archive.test": wayback})
    archive = parse_archive_spec(WAYBACK)
    assert isinstance(archive, WaybackArchive)
    asked = replay_memento(archive, "20180601000000", REPORT)  # not a capture's timestamp
    with build_session(settings) as session:
        response = archive.read(asked, Net(session, settings))
    exact = f"http://archive.test/web/20180615103000id_/{REPORT}"
    assert response.history == ((asked.raw_url, 307),)
    assert (response.requested, response.url) == (asked.raw_url, exact)
    assert response.memento == replay_memento(archive, "20180615103000", REPORT, 200, "text/html")
    assert response.datetime == "2018-06-15T10:30:00Z"
    fetched = response.as_fetched()
    assert (fetched.url, fetched.final_url, fetched.history) == (
        asked.raw_url,
        exact,
        ((asked.raw_url, 307),),
    )


def test_an_archive_without_the_capture_answers_rather_than_raises(
    archive: Archive, net_for: Net
) -> None:
    memento = found(archive, net_for, REPORT)["2018-06-15T10:30:00Z"]
    missing = Memento(
        **{**memento.to_dict(), "raw_url": memento.raw_url.replace("q3-report", "q4-report")}
    )
    if isinstance(archive, LocalCollection):
        # A collection reads only records it indexed: a locator it never listed is refused.
        missing = Memento(**{**memento.to_dict(), "raw_url": memento.raw_url + "9"})
        with pytest.raises(InputError, match="has no capture at"):
            archive.read(missing, net_for)
        return
    response = archive.read(missing, net_for)
    assert (response.status, response.captured) == (404, False)
