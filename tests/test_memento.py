"""memento: TimeMaps and TimeGates (RFC 7089), read from real pywb servers on loopback.

Two pywb servers start once for the module: ``archive.test`` holds several captures of a
report (200s, a 404, a 302; and pywb's iana.org sample crawl where ../shared is present),
``mirror.test`` one capture of it that is closer to the citation. Behaviours pywb does not
show (archive.today's URL shapes, capped and paged TimeMaps, 429s) are served by the
origin server standing in for such an archive.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from archiver.archives.linkformat import (
    Link,
    TimeMapMemento,
    TimeMapPage,
    iter_links,
    parse_timemap,
)
from archiver.archives.memento import MementoArchive, find_in_memento_archive
from archiver.archives.specs import (
    find_mementos,
    parse_archive_spec,
    parse_archive_specs,
    parse_memento_spec,
)
from archiver.archives.wayback import INTERNET_ARCHIVE
from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import (
    FixtureCapture,
    WaybackServer,
    pywb_installed,
    write_fixture_warc,
)
from archiver.errors import InputError, NetworkError
from archiver.models import Memento
from archiver.net.http import build_session, fetch
from archiver.net.polite import CdxRateLimiter
from archiver.select.rank import select_memento
from tests.conftest import (
    REPORT,
    REPORT_HISTORY,
    archive_settings,
    closed_port,
    sandbox_settings,
    shared_dir,
)

CITED = datetime(2018, 11, 28, 23, 59, 59, tzinfo=UTC)

CAPTURES = REPORT_HISTORY
MIRROR_CAPTURES = [
    FixtureCapture(REPORT, datetime(2018, 11, 27, 12, 0, tzinfo=UTC), body=b"<p>Q3 (mirror)</p>"),
]
IANA_WARC = shared_dir() / "corpus" / "warcs" / "iana.warc.gz"

TIMEMAP = "memento:http://archive.test/web/timemap/link/"
TIMEGATE = "memento:http://archive.test/web/"


def replay(timestamp: str, host: str = "archive.test", collection: str = "web") -> str:
    return f"http://{host}/{collection}/{timestamp}/{REPORT}"


def raw(timestamp: str, host: str = "archive.test", collection: str = "web") -> str:
    return f"http://{host}/{collection}/{timestamp}id_/{REPORT}"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, WaybackServer]]:
    if not pywb_installed():
        pytest.skip("pywb is not installed (pip install 'archiver[test]'): no Memento archive")
    workdir = tmp_path_factory.mktemp("memento")
    fixture, mirror = workdir / "fixture.warc.gz", workdir / "mirror.warc.gz"
    write_fixture_warc(fixture, CAPTURES)
    write_fixture_warc(mirror, MIRROR_CAPTURES)
    warcs = [fixture, IANA_WARC] if IANA_WARC.exists() else [fixture]
    with (
        WaybackServer(workdir / "main", warcs) as main,
        WaybackServer(workdir / "mirror", [mirror], collection="mirror") as second,
    ):
        pids = [main.pid, second.pid]
        yield {"archive.test": main, "mirror.test": second}
    for pid in pids:
        assert pid is not None
        with pytest.raises(ProcessLookupError):  # stopped and reaped
            os.kill(pid, 0)


@pytest.fixture(scope="module")
def settings(servers: dict[str, WaybackServer]) -> Settings:
    """archive.test and mirror.test resolve to pywb, down.test to a closed port; no other name."""
    pywb = archive_settings(servers)
    return pywb.replace(host_map={**pywb.host_map, "down.test": f"127.0.0.1:{closed_port()}"})


def find(
    specs: list[str], when: datetime | None, settings: Settings, limit: int = 25
) -> list[Memento]:
    archives = parse_archive_specs(specs)
    with build_session(settings) as session:
        return find_mementos(REPORT, when, archives, session, settings, limit)


# -- link-format and TimeMap parsing --------------------------------------------------------

# An Internet Archive TimeMap, with the irregularities link-format allows and archives send.
IA_TIMEMAP = """<http://www.r-project.org:80/>; rel="original",
<https://web.archive.org/web/timemap/link/http://www.r-project.org/>; rel="self"; \
type="application/link-format"; from="Tue, 20 Jun 2000 19:56:31 GMT",
<https://web.archive.org/web>; rel="timegate",
<https://web.archive.org/web/20000620195631/http://www.r-project.org:80/>; \
rel="first memento"; datetime="Tue, 20 Jun 2000 19:56:31 GMT",
<https://web.archive.org/web/20011201000000/http://www.r-project.org/a,b;c>
   ; rel="memento"
   ; datetime="Sat, 01 Dec 2001 00:00:00 GMT" ; title="a, b; c" ; note="say \\"hi\\"" ,
this line is not a link,
<https://web.archive.org/web/20020101000000/http://www.r-project.org/>; rel="memento",
</web/20030101000000/http://www.r-project.org/>;REL="Last Memento";\
DATETIME="Wed, 01 Jan 2003 00:00:00 GMT"
"""


def test_timemap_entries_are_read_exactly() -> None:
    timemap = parse_timemap(IA_TIMEMAP, "https://web.archive.org/web/timemap/link/x")
    assert timemap.original == "http://www.r-project.org:80/"
    assert timemap.timegate == "https://web.archive.org/web"
    assert timemap.mementos == (
        TimeMapMemento(
            "https://web.archive.org/web/20000620195631/http://www.r-project.org:80/",
            datetime(2000, 6, 20, 19, 56, 31, tzinfo=UTC),
        ),
        TimeMapMemento(
            "https://web.archive.org/web/20011201000000/http://www.r-project.org/a,b;c",
            datetime(2001, 12, 1, tzinfo=UTC),
        ),
        TimeMapMemento(
            "https://web.archive.org/web/20030101000000/http://www.r-project.org/",
            datetime(2003, 1, 1, tzinfo=UTC),
        ),
    )
    assert timemap.skipped == 1  # the 2002 entry has no datetime
    assert timemap.pages == ()  # "self" is not another page


def test_link_parameters_keep_quoted_separators_and_escapes() -> None:
    links = list(iter_links(IA_TIMEMAP))
    assert [sorted(link.rels) for link in links] == [
        ["original"],
        ["self"],
        ["timegate"],
        ["first", "memento"],
        ["memento"],
        ["memento"],
        ["last", "memento"],
    ]
    second_memento = links[4]
    assert second_memento.params["title"] == "a, b; c"
    assert second_memento.params["note"] == 'say "hi"'


def test_entries_without_commas_between_lines_are_still_read() -> None:
    text = (
        '<http://a.example/1>; rel="memento"; datetime="Mon, 01 Jan 2018 00:00:00 GMT"\n'
        '<http://a.example/2>; rel="original"'
    )
    assert [link.target for link in iter_links(text)] == [
        "http://a.example/1",
        "http://a.example/2",
    ]


def test_a_cut_timemap_loses_only_its_unfinished_last_entry() -> None:
    whole = (
        '<http://a.example/web/20180101000000/http://x.example/>; rel="memento"; '
        'datetime="Mon, 01 Jan 2018 00:00:00 GMT",\n'
        '<http://a.example/web/20180201000000/http://x.example/>; rel="memento"; '
        'datetime="Thu, 01 Feb 2018 00:00:00 GMT"'
    )
    # Cut after the second entry's rel: the entry looks whole but may have lost its date.
    cut = whole[: whole.rindex("; datetime")]
    assert [link.target for link in iter_links(cut, complete=False)] == [
        "http://a.example/web/20180101000000/http://x.example/"
    ]
    assert len(list(iter_links(whole, complete=False))) == 1  # no comma: not known whole
    assert len(list(iter_links(whole + ",", complete=False))) == 2
    cut_in_date = whole[: whole.rindex("Feb")]
    assert len(parse_timemap(cut_in_date, complete=False).mementos) == 1


def test_further_timemap_pages_are_listed_with_their_ranges() -> None:
    text = (
        '<http://a.example/tm/1/http://x.example/>; rel="timemap"; '
        'type="application/link-format"; from="Mon, 01 Jan 2018 00:00:00 GMT"; '
        'until="Tue, 01 Jan 2019 00:00:00 GMT",\n'
        '<http://a.example/tm/json/http://x.example/>; rel="timemap"; type="application/json",\n'
        '<http://a.example/tm/2/http://x.example/>; rel="next"'
    )
    assert parse_timemap(text).pages == (
        TimeMapPage(
            "http://a.example/tm/1/http://x.example/",
            datetime(2018, 1, 1, tzinfo=UTC),
            datetime(2019, 1, 1, tzinfo=UTC),
        ),
        TimeMapPage("http://a.example/tm/2/http://x.example/"),
    )


def test_link_header_of_a_memento() -> None:
    header = (
        '<http://news.example/a>; rel="original", '
        '<http://archive.test/web/timemap/link/http://news.example/a>; rel="timemap"; '
        'type="application/link-format"'
    )
    assert [(link.target, dict(link.params)) for link in iter_links(header)] == [
        ("http://news.example/a", {"rel": "original"}),
        (
            "http://archive.test/web/timemap/link/http://news.example/a",
            {"rel": "timemap", "type": "application/link-format"},
        ),
    ]
    assert Link("http://news.example/a", {"rel": "original timegate"}).rels == {
        "original",
        "timegate",
    }


# -- raw URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "memento_url", "raw_url"),
    [
        (
            "memento:ia",
            "http://web.archive.org/web/20000620195631/http://www.r-project.org:80/",
            "http://web.archive.org/web/20000620195631id_/http://www.r-project.org:80/",
        ),
        (
            "arquivo.pt",
            "https://arquivo.pt/wayback/20180101000000if_/http://x.pt/",
            "https://arquivo.pt/wayback/20180101000000id_/http://x.pt/",
        ),
        (
            "archive.today",  # Wayback-shaped, but id_ means nothing there
            "http://archive.md/20150531154001/https://twitter.com/SputnikNewsUS",
            "http://archive.md/20150531154001/https://twitter.com/SputnikNewsUS",
        ),
        ("perma.cc", "https://perma.cc/7YXW-UFQ3", "https://perma.cc/7YXW-UFQ3"),
        (TIMEMAP, "http://archive.test/page?id=7", "http://archive.test/page?id=7"),
    ],
)
def test_raw_url_is_the_id_form_only_where_the_archive_has_one(
    spec: str, memento_url: str, raw_url: str
) -> None:
    archive = parse_archive_spec(spec)
    assert isinstance(archive, MementoArchive)
    assert archive.raw_url(memento_url) == raw_url


# -- specs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "timemap", "timegate", "raw_replay", "interval"),
    [
        (
            "memento:ia",
            "https://web.archive.org/web/timemap/link/",
            "https://web.archive.org/web/",
            "id_",
            2.5,
        ),
        (
            "archive.today",
            "https://archive.ph/timemap/",
            "https://archive.ph/timegate/",
            "none",
            1.0,
        ),
        (
            "memento:archive.today",
            "https://archive.ph/timemap/",
            "https://archive.ph/timegate/",
            "none",
            1.0,
        ),
        (
            "arquivo.pt",
            "https://arquivo.pt/wayback/timemap/link/",
            "https://arquivo.pt/wayback/",
            "id_",
            1.0,
        ),
        (
            "loc",
            "https://webarchive.loc.gov/all/timemap/link/",
            "https://webarchive.loc.gov/all/",
            "id_",
            1.0,
        ),
        (
            "UKWA",
            "https://www.webarchive.org.uk/wayback/archive/timemap/link/",
            "https://www.webarchive.org.uk/wayback/archive/",
            "id_",
            1.0,
        ),
        ("perma.cc", "https://perma.cc/timemap/link/", "https://perma.cc/timegate/", "none", 1.0),
        (
            "archive.today,interval=10",
            "https://archive.ph/timemap/",
            "https://archive.ph/timegate/",
            "none",
            10.0,
        ),
    ],
)
def test_named_archives(
    spec: str, timemap: str, timegate: str, raw_replay: str, interval: float
) -> None:
    assert parse_archive_spec(spec) == MementoArchive(
        spec=spec, timemap=timemap, timegate=timegate, raw_replay=raw_replay, min_interval=interval
    )


def test_plain_ia_stays_the_cdx_api() -> None:
    assert parse_archive_spec("ia") == INTERNET_ARCHIVE


def test_memento_url_specs_and_their_options() -> None:
    assert parse_archive_spec(TIMEMAP) == MementoArchive(
        spec=TIMEMAP, timemap="http://archive.test/web/timemap/link/"
    )
    template = parse_memento_spec(
        "memento:https://tm.example/list?u={url}&f=link,timegate=https://tg.example/{url},"
        "raw=none,interval=0.5"
    )
    assert template.timemap_url("http://x.example/") == (
        "https://tm.example/list?u=http://x.example/&f=link"
    )
    assert template.timegate_url("http://x.example/") == "https://tg.example/http://x.example/"
    assert (template.raw_replay, template.min_interval) == ("none", 0.5)
    only_gate = parse_memento_spec("memento:timegate=http://archive.test/web/")
    assert (only_gate.timemap, only_gate.timegate) == (None, "http://archive.test/web/")
    on_ia = parse_memento_spec("memento:https://web.archive.org/web/timemap/link/")
    assert on_ia.min_interval == 2.5  # the Internet Archive's limits, whatever the spelling


def test_specs_of_several_kinds_keep_their_order() -> None:
    archives = parse_archive_specs(["archive.today", "ia", TIMEGATE, "wayback:http://w.test/web/"])
    assert [(type(a).__name__, a.spec) for a in archives] == [
        ("MementoArchive", "archive.today"),
        ("WaybackArchive", "ia"),
        ("MementoArchive", TIMEGATE),
        ("WaybackArchive", "wayback:http://w.test/web/"),
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "memento:",
            "archive 'memento:': '' is neither an http(s) URL nor a Memento archive name "
            "(archive.today, arquivo.pt, loc, ukwa, perma.cc, ia)",
        ),
        ("memento:archive.org", "'archive.org' is neither an http(s) URL nor a Memento archive"),
        ("memento:ftp://x.example/tm/", "'ftp://x.example/tm/' is neither an http(s) URL"),
        ("memento:http://x.example/tm/,interval=-1", "interval='-1' is not a number of seconds"),
        ("memento:http://x.example/tm/,raw=if_", "raw='if_' must be 'id_' or 'none'"),
        ("memento:http://x.example/tm/,timegate=tg", "timegate='tg' is not an http(s) URL"),
        ("loc,interval=1,interval=2", "interval= given twice"),
        (
            "archive.is",
            "unknown archive 'archive.is': use 'ia' or 'wayback:BASE_URL' (for example "
            "wayback:http://127.0.0.1:8080/web/); or 'memento:TIMEMAP_URL' or one of "
            "archive.today, arquivo.pt, loc, ukwa, perma.cc",
        ),
    ],
)
def test_bad_specs_are_one_line_input_errors(spec: str, message: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_archive_spec(spec)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


# -- against pywb: TimeMaps -----------------------------------------------------------------


def test_timemap_lists_every_capture_with_exact_urls(settings: Settings) -> None:
    found = find([TIMEMAP], CITED, settings)
    assert found == [
        Memento(
            original=REPORT,
            datetime=iso,
            archive=TIMEMAP,
            url=replay(ts),
            raw_url=raw(ts),
        )
        for ts, iso in [
            ("20171201080000", "2017-12-01T08:00:00Z"),
            ("20180615103000", "2018-06-15T10:30:00Z"),
            ("20181002140000", "2018-10-02T14:00:00Z"),
            ("20181120090000", "2018-11-20T09:00:00Z"),
            ("20190105000000", "2019-01-05T00:00:00Z"),
        ]
    ]


def test_raw_url_from_a_timemap_gives_the_original_bytes(settings: Settings) -> None:
    found = find([TIMEMAP], CITED, settings)
    with build_session(settings) as session:
        page = fetch(session, found[1].raw_url, settings, allow_redirects=False)
    assert (page.status, page.body) == (200, b"<p>Q3 report</p>")
    assert page.header("Memento-Datetime") == "Fri, 15 Jun 2018 10:30:00 GMT"


def test_timemap_limit_keeps_the_captures_closest_to_the_date(settings: Settings) -> None:
    found = find([TIMEMAP], CITED, settings, limit=2)
    assert [m.datetime for m in found] == ["2018-11-20T09:00:00Z", "2019-01-05T00:00:00Z"]
    newest = find([TIMEMAP], None, settings, limit=1)
    assert [m.datetime for m in newest] == ["2019-01-05T00:00:00Z"]


def test_timemap_statuses_are_unknown_until_replayed(settings: Settings) -> None:
    selection = select_memento(find([TIMEMAP], CITED, settings), CITED)
    assert selection.memento is not None
    # The TimeMap cannot say the 2018-11-20 capture is a redirect: its replay will.
    assert selection.memento.datetime == "2018-11-20T09:00:00Z"
    assert selection.memento.http_status is None


def test_url_without_captures_has_no_mementos(settings: Settings) -> None:
    with build_session(settings) as session:
        for spec in (TIMEMAP, TIMEGATE):
            archive = parse_memento_spec(spec)
            assert (
                find_in_memento_archive(
                    "http://news.example/never-archived", CITED, archive, session, settings
                )
                == []
            )


# -- against pywb: TimeGates ----------------------------------------------------------------


def test_timegate_negotiates_the_capture_pywb_judges_closest(settings: Settings) -> None:
    found = find([TIMEGATE], datetime(2018, 6, 20, tzinfo=UTC), settings)
    assert found == [
        Memento(
            original=REPORT,
            datetime="2018-06-15T10:30:00Z",
            archive=TIMEGATE,
            url=replay("20180615103000"),
            raw_url=raw("20180615103000"),
            http_status=200,
            mimetype="text/html",
        )
    ]


def test_timegate_stops_at_a_captured_redirect(settings: Settings) -> None:
    # pywb's closest to 2018-11-28 is the 2018-11-20 redirect, on either side.
    [memento] = find([TIMEGATE], CITED, settings)
    assert (memento.datetime, memento.http_status, memento.url) == (
        "2018-11-20T09:00:00Z",
        302,
        replay("20181120090000"),
    )
    selection = select_memento([memento], CITED)
    assert selection.reason == "the only capture was a redirect (captured redirect 302)"


def test_timegate_without_a_date_gives_the_newest(settings: Settings) -> None:
    [memento] = find([TIMEGATE], None, settings)
    assert (memento.datetime, memento.http_status) == ("2019-01-05T00:00:00Z", 200)


def test_explicit_timegate_spec_gives_the_same_memento(settings: Settings) -> None:
    explicit = "memento:timegate=http://archive.test/web/"
    [memento] = find([explicit], datetime(2018, 6, 20, tzinfo=UTC), settings)
    assert (memento.archive, memento.url, memento.http_status) == (
        explicit,
        replay("20180615103000"),
        200,
    )


# -- several archives -----------------------------------------------------------------------

MIRROR_TIMEGATE = "memento:http://mirror.test/mirror/"
MIRROR_TIMEMAP = "memento:http://mirror.test/mirror/timemap/link/"


def test_best_capture_across_two_archives(settings: Settings) -> None:
    found = find([TIMEMAP, MIRROR_TIMEGATE], CITED, settings)
    assert [(m.archive, m.datetime, m.http_status) for m in found][-1] == (
        MIRROR_TIMEGATE,
        "2018-11-27T12:00:00Z",
        200,
    )
    selection = select_memento(found, CITED)
    assert selection.memento is not None
    assert (selection.memento.archive, selection.memento.url) == (
        MIRROR_TIMEGATE,
        replay("20181127120000", "mirror.test", "mirror"),
    )
    assert selection.reason == "latest capture before 2018-11-28 (2018-11-27)"


def test_two_timemaps_closest_before_the_date_wins(settings: Settings) -> None:
    selection = select_memento(find([TIMEMAP, MIRROR_TIMEMAP], CITED, settings), CITED)
    assert selection.memento is not None
    assert (selection.memento.archive, selection.memento.datetime) == (
        MIRROR_TIMEMAP,
        "2018-11-27T12:00:00Z",
    )


def test_same_capture_in_two_archives_goes_to_the_first_listed(settings: Settings) -> None:
    cdx = "wayback:http://archive.test/web/"
    when = datetime(2018, 6, 20, tzinfo=UTC)
    for order in ([TIMEGATE, cdx], [cdx, TIMEGATE]):
        chosen = select_memento(find(order, when, settings), when).memento
        assert chosen is not None
        assert (chosen.archive, chosen.datetime) == (order[0], "2018-06-15T10:30:00Z")


def test_an_archive_that_is_down_is_reported_but_does_not_hide_the_others(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    down = "memento:http://down.test/web/timemap/link/"
    with caplog.at_level(logging.WARNING, logger="archiver.archives.wayback"):
        found = find([down, MIRROR_TIMEGATE], CITED, settings)
    assert [(m.archive, m.datetime) for m in found] == [(MIRROR_TIMEGATE, "2018-11-27T12:00:00Z")]
    assert caplog.messages == [f"{down}: cannot connect to down.test (connection refused)"]


def test_when_every_archive_fails_the_first_failure_is_raised(settings: Settings) -> None:
    nowhere = "memento:http://unmapped.test/web/timemap/link/"
    down = "memento:http://down.test/web/"
    with pytest.raises(NetworkError) as raised:
        find([nowhere, down], CITED, settings)
    assert str(raised.value) == f"{nowhere}: no such host: unmapped.test"


# -- pywb's own sample crawl (../shared) ----------------------------------------------------


def test_iana_sample_crawl_timemap_lists_revisits_too(settings: Settings) -> None:
    if not IANA_WARC.exists():
        pytest.skip(f"{IANA_WARC} is absent: the shared corpus is not laid beside the checkout")
    font = "http://www.iana.org/_css/2013.1/fonts/Inconsolata.otf"
    archive = parse_memento_spec(TIMEMAP)
    with build_session(settings) as session:
        found = find_in_memento_archive(
            font, datetime(2014, 1, 26, 20, 13, tzinfo=UTC), archive, session, settings
        )
    assert [m.datetime for m in found] == [
        "2014-01-26T20:08:26Z",
        "2014-01-26T20:09:12Z",
        "2014-01-26T20:09:30Z",
        "2014-01-26T20:10:55Z",
        "2014-01-26T20:12:49Z",
    ]
    with build_session(settings) as session:
        first = fetch(session, found[0].raw_url, settings)
    assert (first.status, first.header("Content-Type")) == (200, "application/octet-stream")


# -- archives shaped like archive.today, served by the origin stand-in ----------------------

TODAY_URL = "http://news.example/report"
TODAY_SPEC = "memento:http://archive.ph/timemap/,timegate=http://archive.ph/timegate/,raw=none"


@pytest.fixture(scope="module")
def stand_in_server() -> Iterator[OriginServer]:
    with OriginServer() as server:
        yield server


@pytest.fixture
def stand_in(stand_in_server: OriginServer) -> OriginServer:
    """The module's origin server, emptied: an archive stand-in for one test (one server
    for all of them, because each one takes half a second to stop)."""
    stand_in_server.sites.clear()
    stand_in_server.hits.clear()
    return stand_in_server


def today_timemap(days: list[str]) -> str:
    lines = [
        f'<{TODAY_URL}>; rel="original",',
        f'<http://archive.md/timegate/{TODAY_URL}>; rel="timegate",',
    ]
    for number, day in enumerate(days):
        rel = "first last memento" if len(days) == 1 else "memento"
        stamp = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
        http_date = stamp.strftime("%a, %d %b %Y %H:%M:%S GMT")
        lines.append(
            f'<http://archive.md/{stamp:%Y%m%d}0000{number:02d}/{TODAY_URL}>; rel="{rel}"; '
            f'datetime="{http_date}",'
        )
    lines.append(
        f'<http://archive.md/timemap/{TODAY_URL}>; rel="self"; type="application/link-format"'
    )
    return "\n".join(lines) + "\n"


def today_settings(stand_in: OriginServer, **changes: object) -> Settings:
    return sandbox_settings(
        stand_in,
        host_map={
            **stand_in.host_map(),
            "archive.ph": stand_in.address,
            "archive.md": stand_in.address,
        },
        **changes,
    )


def find_today(
    stand_in: OriginServer, when: datetime | None, spec: str = TODAY_SPEC, **changes: object
) -> list[Memento]:
    settings = today_settings(stand_in, **changes)
    archive = parse_memento_spec(spec)
    with build_session(settings) as session:
        return find_in_memento_archive(
            TODAY_URL, when, archive, session, settings, limiter=CdxRateLimiter()
        )


def link_format(text: str) -> Page:
    return Page(body=text, content_type="application/link-format; charset=utf-8")


def test_archive_today_shaped_timemap_without_raw_form(stand_in: OriginServer) -> None:
    stand_in.add(
        f"http://archive.ph/timemap/{TODAY_URL}", link_format(today_timemap(["2018-11-02"]))
    )
    found = find_today(stand_in, CITED)
    memento_url = f"http://archive.md/20181102000000/{TODAY_URL}"
    assert found == [
        Memento(
            original=TODAY_URL,
            datetime="2018-11-02T00:00:00Z",
            archive=TODAY_SPEC,
            url=memento_url,
            raw_url=memento_url,
        )
    ]
    [hit] = stand_in.hits_for("archive.ph")
    headers = {name.lower(): value for name, value in hit.headers}
    # pywb shrinks a TimeMap asked with Accept-Datetime to one memento: never send it there.
    assert "accept-datetime" not in headers
    assert headers["accept"] == "application/link-format, */*;q=0.5"


CAPPED_DAYS = ["2016-01-01", "2017-01-01", "2018-01-01", "2019-01-01"]


def serve_capped_timemap_and_timegate(stand_in: OriginServer, memento_url: str, moment: str) -> int:
    """A TimeMap of CAPPED_DAYS and a TimeGate leading to ``memento_url``; returns a cap
    that cuts the TimeMap inside its third memento's entry."""
    text = today_timemap(CAPPED_DAYS)
    stand_in.add(f"http://archive.ph/timemap/{TODAY_URL}", link_format(text))
    stand_in.add(
        f"http://archive.ph/timegate/{TODAY_URL}",
        Page(status=302, location=memento_url, headers=(("Vary", "accept-datetime"),)),
    )
    stand_in.add(
        memento_url,
        Page(
            body="<p>report</p>",
            headers=(("Memento-Datetime", moment), ("Link", f'<{TODAY_URL}>; rel="original"')),
        ),
    )
    return text.index("2018") + 20


def test_capped_timemap_is_read_in_part_and_the_timegate_fills_in(
    stand_in: OriginServer, caplog: pytest.LogCaptureFixture
) -> None:
    memento_url = f"http://archive.md/20181120000000/{TODAY_URL}"
    cap = serve_capped_timemap_and_timegate(stand_in, memento_url, "Tue, 20 Nov 2018 00:00:00 GMT")
    with caplog.at_level(logging.WARNING, logger="archiver.archives.memento"):
        found = find_today(stand_in, CITED, max_bytes=cap)
    assert [(m.datetime, m.url, m.http_status) for m in found] == [
        ("2016-01-01T00:00:00Z", f"http://archive.md/20160101000000/{TODAY_URL}", None),
        ("2017-01-01T00:00:00Z", f"http://archive.md/20170101000001/{TODAY_URL}", None),
        ("2018-11-20T00:00:00Z", memento_url, 200),
    ]
    assert caplog.messages == [
        f"{TODAY_SPEC}: the TimeMap of {TODAY_URL} is larger than {cap} bytes; "
        "read its first 2 mementos"
    ]
    gate = [hit for hit in stand_in.hits_for("archive.ph") if hit.path.startswith("/timegate/")]
    assert [dict((k.lower(), v) for k, v in hit.headers)["accept-datetime"] for hit in gate] == [
        "Wed, 28 Nov 2018 23:59:59 GMT"
    ]


def test_a_memento_both_listed_and_negotiated_keeps_its_known_status(
    stand_in: OriginServer,
) -> None:
    listed = f"http://archive.md/20170101000001/{TODAY_URL}"
    cap = serve_capped_timemap_and_timegate(stand_in, listed, "Sun, 01 Jan 2017 00:00:00 GMT")
    found = find_today(stand_in, CITED, max_bytes=cap)
    assert [(m.datetime, m.http_status) for m in found] == [
        ("2016-01-01T00:00:00Z", None),
        ("2017-01-01T00:00:00Z", 200),
    ]


def test_a_moved_timemap_is_followed(stand_in: OriginServer) -> None:
    moved = f"http://archive.md/timemap/{TODAY_URL}"
    stand_in.add(f"http://archive.ph/timemap/{TODAY_URL}", Page(status=301, location=moved))
    stand_in.add(moved, link_format(today_timemap(["2018-03-03"])))
    assert [m.datetime for m in find_today(stand_in, CITED)] == ["2018-03-03T00:00:00Z"]


def test_an_empty_plain_text_answer_is_an_empty_timemap(stand_in: OriginServer) -> None:
    stand_in.add(f"http://archive.ph/timemap/{TODAY_URL}", Page(body="", content_type="text/plain"))
    assert find_today(stand_in, CITED) == []


def test_paged_timemap_reads_only_the_page_covering_the_date(stand_in: OriginServer) -> None:
    first = (
        f'<{TODAY_URL}>; rel="original",\n'
        f'<http://archive.ph/timemap/1/{TODAY_URL}>; rel="timemap"; '
        'from="Sat, 01 Jan 2000 00:00:00 GMT"; until="Thu, 31 Dec 2009 00:00:00 GMT",\n'
        f'<http://archive.ph/timemap/2/{TODAY_URL}>; rel="timemap"; '
        'from="Fri, 01 Jan 2010 00:00:00 GMT"; until="Wed, 31 Dec 2025 00:00:00 GMT"\n'
    )
    stand_in.add(f"http://archive.ph/timemap/{TODAY_URL}", link_format(first))
    stand_in.add(
        f"http://archive.ph/timemap/2/{TODAY_URL}", link_format(today_timemap(["2018-05-05"]))
    )
    found = find_today(stand_in, CITED)
    assert [m.url for m in found] == [f"http://archive.md/20180505000000/{TODAY_URL}"]
    assert [hit.path for hit in stand_in.hits_for("archive.ph")] == [
        f"/timemap/{TODAY_URL}",
        f"/timemap/2/{TODAY_URL}",
    ]


def test_rate_limited_archive_is_asked_once_more_then_reported(stand_in: OriginServer) -> None:
    stand_in.add(
        f"http://archive.ph/timemap/{TODAY_URL}",
        Page(status=429, body="slow down", headers=(("Retry-After", "0"),)),
    )
    with pytest.raises(NetworkError) as raised:
        find_today(stand_in, CITED)
    assert str(raised.value) == (
        f"{TODAY_SPEC}: archive rate limited (HTTP 429), asked to wait 0s; try again later"
    )
    assert len(stand_in.hits_for("archive.ph")) == 2


def test_an_html_page_is_neither_a_timemap_nor_a_memento(stand_in: OriginServer) -> None:
    stand_in.add(f"http://archive.ph/timemap/{TODAY_URL}", Page(body="<html>Welcome</html>"))
    with pytest.raises(NetworkError) as raised:
        find_today(stand_in, CITED)
    assert str(raised.value) == (
        f"{TODAY_SPEC}: answered with text/html, neither a TimeMap nor a memento "
        f"(no Memento-Datetime) at http://archive.ph/timemap/{TODAY_URL}"
    )


def test_preset_urls_are_what_the_lookup_asks(stand_in: OriginServer) -> None:
    # The named archive with its https URLs swapped for the stand-in's http ones.
    archive = dataclasses.replace(
        parse_memento_spec("archive.today"),
        timemap="http://archive.ph/timemap/",
        timegate="http://archive.ph/timegate/",
    )
    assert archive.timemap_url(TODAY_URL) == f"http://archive.ph/timemap/{TODAY_URL}"
    stand_in.add(
        f"http://archive.ph/timemap/{TODAY_URL}", link_format(today_timemap(["2018-01-02"]))
    )
    settings = today_settings(stand_in)
    with build_session(settings) as session:
        [memento] = find_in_memento_archive(
            TODAY_URL, CITED, archive, session, settings, limiter=CdxRateLimiter()
        )
    assert (memento.archive, memento.raw_url) == ("archive.today", memento.url)
