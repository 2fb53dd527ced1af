"""The date of a copy is the archive's, never the one archiver asked for (issue 11).

A Wayback server asked for ``<ts>id_/<url>`` at a timestamp that is not a capture's
answers in one of two ways: web.archive.org (and a pywb with ``redirect_to_exact``)
redirects to the exact timestamp of the closest capture; a stock pywb (its default
configuration) and OpenWayback serve that capture at the asked URL and say which one it
is in ``Memento-Datetime``, ``Content-Location`` and ``Link``. Both are run here for real,
and archiver must report the same capture, at its own datetime, from either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiver.archives.memento import MementoArchive
from archiver.archives.specs import parse_archive_spec
from archiver.archives.wayback import WaybackArchive
from archiver.cli.main import cli
from archiver.demo.simweb.wayback import WaybackServer, pywb_installed, write_fixture_warc
from archiver.models import Memento
from archiver.net.http import build_session
from archiver.net.polite import Net
from tests.conftest import REPORT, REPORT_HISTORY, archive_settings
from tests.warcfiles import accepted

SPEC = "wayback:http://archive.test/web/"


@pytest.fixture(scope="module", params=["stock", "redirect-to-exact"])
def pywb(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WaybackServer]:
    if not pywb_installed():
        pytest.fail("pywb is not installed: pip install -e '.[test]'")
    workdir = tmp_path_factory.mktemp(request.param)
    write_fixture_warc(workdir / "fixture.warc.gz", REPORT_HISTORY)
    assert len(accepted(workdir / "fixture.warc.gz")) == len(REPORT_HISTORY)
    stock = request.param == "stock"
    with WaybackServer(workdir / "pywb", [workdir / "fixture.warc.gz"], stock=stock) as server:
        yield server


@pytest.fixture
def net(pywb: WaybackServer) -> Iterator[Net]:
    settings = archive_settings({"archive.test": pywb})
    with build_session(settings) as session:
        yield Net(session, settings)


def archive() -> WaybackArchive:
    found = parse_archive_spec(SPEC)
    assert isinstance(found, WaybackArchive)
    return found


def test_the_closest_capture_carries_its_own_datetime(net: Net) -> None:
    # 2018-06-01 is no capture's date: the closest is 2018-06-15 10:30.
    memento = archive().closest(REPORT, datetime(2018, 6, 1, tzinfo=UTC), net)
    assert memento is not None
    assert memento.datetime == "2018-06-15T10:30:00Z"
    assert memento.raw_url == f"http://archive.test/web/20180615103000id_/{REPORT}"
    assert memento.original == REPORT


def test_reading_at_an_inexact_timestamp_reports_the_capture_served(net: Net) -> None:
    wayback = archive()
    asked = wayback.closest(REPORT, datetime(2017, 1, 1, tzinfo=UTC), net)
    assert asked is not None
    inexact = asked.__class__(
        **{**asked.to_dict(), "raw_url": asked.raw_url.replace("20171201080000", "20170101000000")}
    )
    response = wayback.read(inexact, net)
    assert response.status == 200
    assert response.body == b"<p>Q3 draft</p>"
    assert response.datetime == "2017-12-01T08:00:00Z"
    assert response.memento.datetime == "2017-12-01T08:00:00Z"
    assert response.memento.raw_url == f"http://archive.test/web/20171201080000id_/{REPORT}"
    assert response.original == REPORT


def find_json(pywb: WaybackServer, date: str, tmp_path: Path) -> dict[str, object]:
    result = CliRunner().invoke(
        cli,
        [
            "find",
            REPORT,
            "--date",
            date,
            "--archive",
            SPEC,
            "--format",
            "json",
            "--resolve",
            f"archive.test=127.0.0.1:{pywb.port}",
            "--only-resolved",
            "--state",
            str(tmp_path / "state.sqlite"),
        ],
    )
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def test_find_reports_the_latest_capture_before_the_date_not_the_date_asked(
    pywb: WaybackServer, tmp_path: Path
) -> None:
    found = find_json(pywb, "2018-06-01", tmp_path)
    memento = found["memento"]
    assert isinstance(memento, dict)
    assert memento["datetime"] == "2017-12-01T08:00:00Z"
    assert memento["raw_url"] == f"http://archive.test/web/20171201080000id_/{REPORT}"
    assert found["reason"] == "latest capture before 2018-06-01 (2017-12-01)"


def test_find_on_a_day_after_a_capture_names_that_capture_day(
    pywb: WaybackServer, tmp_path: Path
) -> None:
    found = find_json(pywb, "2018-06-20", tmp_path)
    memento = found["memento"]
    assert isinstance(memento, dict)
    assert memento["datetime"] == "2018-06-15T10:30:00Z"
    assert found["reason"] == "latest capture before 2018-06-20 (2018-06-15)"


def test_a_memento_archive_read_reports_the_capture_it_served(net: Net) -> None:
    # The same pywb reached as a Memento archive (its TimeMap): a memento URL at a moment
    # that is no capture's is answered with the closest capture, directly (stock) or after
    # the archive's own redirect; either way the capture is the archive's, not the asked.
    timemap = parse_archive_spec("memento:http://archive.test/web/timemap/link/")
    assert isinstance(timemap, MementoArchive)
    asked = Memento(
        original=REPORT,
        datetime="2018-06-01T00:00:00Z",
        archive=timemap.spec,
        url=f"http://archive.test/web/20180601000000/{REPORT}",
        raw_url=f"http://archive.test/web/20180601000000id_/{REPORT}",
    )
    response = timemap.read(asked, net)
    assert response.status == 200
    assert response.body == b"<p>Q3 report</p>"
    assert response.memento.datetime == "2018-06-15T10:30:00Z"
    assert response.memento.original == REPORT
