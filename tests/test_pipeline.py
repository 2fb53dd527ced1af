"""The whole job (archiver.pipeline) on one clock, against the origin and a real pywb on
loopback: every date the run writes down is the clock's, not the machine's."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.config import Settings
from archiver.dates import RunClock, to_iso
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import FixtureCapture, write_fixture_warc
from archiver.extract import extract_citations, read_article
from archiver.pipeline import OFFLINE_NOTE, finish_run, run_pipeline
from archiver.report.table import TableFormat
from archiver.state import State
from tests.conftest import running_wayback, sandbox_settings
from tests.scripted_server import Peer, ScriptedServer

ALIVE = "http://news.example/2019/harbour"
GONE = "http://news.example/2019/tender"
# Far from any real "now", so that no date below can be the machine's by chance.
MOMENT = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
ARTICLE = f"""---
date: 2019-03-14
---

The council [announced the masts]({ALIVE}) after a [tender]({GONE}) that is gone now.
"""


def test_every_date_a_run_writes_is_its_clock(origin: OriginServer, tmp_path: Path) -> None:
    page = "<html><title>Harbour</title><p>" + "The masts went up on the promenade. " * 20
    origin.add(ALIVE, Page(body=page + "</p></html>"))
    origin.add("http://news.example/", Page(body="<html><title>News</title></html>"))
    captures = [
        FixtureCapture(ALIVE, datetime(2019, 3, 1, 9, 0, tzinfo=UTC), body=page.encode()),
        FixtureCapture(GONE, datetime(2018, 11, 2, 9, 0, tzinfo=UTC), body=b"<p>Tender</p>"),
    ]
    path = tmp_path / "article.md"
    path.write_text(ARTICLE, encoding="utf-8")
    article = read_article(str(path))
    citations = extract_citations(article.text, article.fmt, source=article.source)
    with running_wayback(tmp_path / "wayback", captures) as wayback:
        base = sandbox_settings(origin, store=tmp_path / "warcs", fresh_for=0.0)
        settings = base.replace(
            host_map={**base.host_map, "archive.test": f"127.0.0.1:{wayback.port}"},
            archives=("wayback:http://archive.test/web/",),
        )
        report = run_pipeline(article, citations, settings, clock=RunClock.simulated(MOMENT))
    finished = finish_run(report, settings)

    now = to_iso(MOMENT)
    assert (report.started_at, report.finished_at) == (now, now)
    checks = {r.citation.url: r.check for r in report.results if r.check}
    assert {url: (c.verdict.value, c.checked_at) for url, c in checks.items()} == {
        ALIVE: ("alive", now),
        GONE: ("dead", now),
    }
    stored = [c for r in report.results for c in r.captures]
    assert sorted((c.url, c.source) for c in stored) == [
        (ALIVE, "live"),
        (ALIVE, "memento"),
        (GONE, "memento"),
    ]
    assert {c.creation_date for c in stored} == {now}
    dates = {(c.url, c.source): c.warc_date for c in stored}
    assert dates[(ALIVE, "live")] == now  # a live page is dated when it was fetched
    assert dates[(GONE, "memento")] == "2018-11-02T09:00:00Z"  # a memento, by the archive
    with State(settings.state_file) as state:
        assert [c.checked_at for c in state.history(GONE)] == [now]
        looked_up = state.execute("SELECT DISTINCT looked_up_at FROM archive_lookups")
        assert looked_up == [(now,)]
    written = json.loads(finished.path.read_text())
    assert (written["started_at"], written["finished_at"]) == (now, now)
    assert [r["check"]["checked_at"] for r in written["results"]] == [now, now]
    assert finished.verification is not None and finished.verification.ok
    assert written["verification"]["ok"] is True


# -- offline: no live link answers, but archives that can be reached are still asked ------

OFFLINE_CANARY = "http://canary.example/"


def test_an_offline_run_still_stores_the_copies_of_the_archives_it_can_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # No live host resolves, nor the canary: the machine is offline. A local WARC
    # collection (the tender) and a pywb on loopback (the harbour page, as on an
    # intranet) still answer, and their copies are stored. The Internet Archive cannot
    # be reached: it is asked once, not for every citation.
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(tmp_path / "cache"))
    collection = tmp_path / "collection.warc.gz"
    tender = FixtureCapture(GONE, datetime(2018, 11, 2, 9, 0, tzinfo=UTC), body=b"<p>Tender</p>")
    write_fixture_warc(collection, [tender])
    harbour = FixtureCapture(ALIVE, datetime(2019, 3, 1, 9, 0, tzinfo=UTC), body=b"<p>Masts</p>")
    path = tmp_path / "article.md"
    path.write_text(ARTICLE, encoding="utf-8")
    article = read_article(str(path))
    citations = extract_citations(article.text, article.fmt, source=article.source)
    with running_wayback(tmp_path / "wayback", [harbour]) as wayback:
        settings = Settings(
            host_map={"archive.test": f"127.0.0.1:{wayback.port}"},
            resolve_only=True,
            timeout=2.0,
            retries=0,
            canary_url=OFFLINE_CANARY,
            store=tmp_path / "warcs",
            archives=("ia", "wayback:http://archive.test/web/", str(collection)),
        )
        report = run_pipeline(article, citations, settings, clock=RunClock.simulated(MOMENT))
    finished = finish_run(report, settings)

    assert report.offline
    assert {r.citation.url: r.check.verdict.value for r in report.results if r.check} == {
        ALIVE: "offline",
        GONE: "offline",
    }
    stored = sorted((c.url, c.source, c.warc_date) for r in report.results for c in r.captures)
    assert stored == [
        (ALIVE, "memento", "2019-03-01T09:00:00Z"),
        (GONE, "memento", "2018-11-02T09:00:00Z"),
    ]
    unreached = "not asked again in this run, as it could not be reached: ia: no such host: "
    assert report.notes == (
        OFFLINE_NOTE.format(canary=OFFLINE_CANARY),
        unreached + "web.archive.org",
    )
    asked_ia = [r for r in caplog.records if "web.archive.org" in r.getMessage()]
    assert len(asked_ia) == 1
    assert OFFLINE_NOTE.format(canary=OFFLINE_CANARY) == (
        "live links were not checked: this machine seems to be offline (no link answered, "
        "nor http://canary.example/); copies come from the archives that could be reached"
    )
    assert finished.verification is not None and finished.verification.ok
    written = json.loads(finished.path.read_text())
    assert written["offline"] is True
    assert written["notes"] == list(report.notes)
    assert written["summary"]["captures"] == 2
    assert TableFormat(width=120).run(finished).splitlines()[-3:] == [
        "citations=2, dead=0, recovered=0, with_memento=2, captures=2, not_stored=0,"
        " verdict_offline=2",
        *report.notes,
    ]


def test_a_run_that_was_online_says_so_in_its_report(
    origin: OriginServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(tmp_path / "cache"))
    origin.add(ALIVE, Page(body="<html><title>Harbour</title><p>masts</p></html>"))
    collection = tmp_path / "collection.warc.gz"
    write_fixture_warc(collection, [FixtureCapture(GONE, datetime(2018, 11, 2, tzinfo=UTC))])
    path = tmp_path / "article.md"
    path.write_text(ARTICLE, encoding="utf-8")
    article = read_article(str(path))
    citations = extract_citations(article.text, article.fmt, source=article.source)
    settings = sandbox_settings(origin, store=tmp_path / "warcs", archives=(str(collection),))
    report = run_pipeline(article, citations, settings, capture=False)
    assert not report.offline
    assert report.to_dict()["offline"] is False
    assert report.to_dict()["notes"] == []


def test_offline_an_archive_that_answers_badly_is_still_asked_for_each_citation(
    tmp_path: Path,
) -> None:
    # It was reached (it answers, if not in HTTP): only an archive that cannot be reached
    # is left out of an offline run, and it is not said to be unreachable.
    def not_http(peer: Peer) -> None:
        if peer.read_request() is not None:
            peer.send(b"SSH-2.0-OpenSSH_9.6\r\n")

    path = tmp_path / "article.md"
    path.write_text(ARTICLE, encoding="utf-8")
    article = read_article(str(path))
    citations = extract_citations(article.text, article.fmt, source=article.source)
    with ScriptedServer(not_http) as archive:
        settings = Settings(
            host_map={"archive.test": archive.address},
            resolve_only=True,
            timeout=2.0,
            retries=0,
            canary_url=OFFLINE_CANARY,
            store=tmp_path / "warcs",
            archives=("wayback:http://archive.test/web/",),
        )
        report = run_pipeline(article, citations, settings)
    assert report.notes == (OFFLINE_NOTE.format(canary=OFFLINE_CANARY),)
    assert [r.notes[0].split(":")[0] for r in report.results] == ["archive lookup failed"] * 2
    asked = {line.split()[1].rsplit("/", 3)[-1] for line in archive.lines()}
    assert asked == {"harbour", "tender"}
