"""find: mementos from a real pywb on loopback (and from scripted CDX answers for errors).

One pywb serves a fixture WARC (several captures of one report: 200s, a 404, a 302) and,
where ../shared is laid beside the checkout, pywb's own iana.org sample crawl. It starts
once for the module and is stopped at its end.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from waybackpy import WaybackMachineCDXServerAPI
from waybackpy.cdx_snapshot import CDXSnapshot

from archiver.archives.cdx import ArchiveCdxQuery, find_in_archive
from archiver.archives.specs import find_mementos, parse_archive_spec, parse_archive_specs
from archiver.archives.wayback import IA_CDX_URL, INTERNET_ARCHIVE, WaybackArchive
from archiver.config import Settings
from archiver.demo.simweb import wayback as wayback_module
from archiver.demo.simweb.wayback import (
    FixtureCapture,
    WaybackServer,
    payload_digest,
    pywb_installed,
    write_fixture_warc,
)
from archiver.errors import InputError, NetworkError, SetupError
from archiver.models import Memento
from archiver.net.http import build_session, fetch
from archiver.net.polite import CdxRateLimiter
from archiver.select.rank import select_memento
from tests.conftest import (
    REPORT,
    REPORT_HISTORY,
    archive_settings,
    closed_port,
    running_wayback,
    shared_dir,
)
from tests.fake_clock import FakeClock

OTHER = "http://news.example/about"
CITED = datetime(2018, 11, 28, 23, 59, 59, tzinfo=UTC)

CAPTURES = [
    *REPORT_HISTORY,
    FixtureCapture(OTHER, datetime(2018, 7, 1, tzinfo=UTC), body=b"<p>about us</p>"),
]
IANA_WARC = shared_dir() / "corpus" / "warcs" / "iana.warc.gz"


@pytest.fixture(scope="module")
def wayback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WaybackServer]:
    extra = [IANA_WARC] if IANA_WARC.exists() else []
    with running_wayback(tmp_path_factory.mktemp("wayback"), CAPTURES, extra) as server:
        pid = server.pid
        yield server
    assert pid is not None
    with pytest.raises(ProcessLookupError):  # stopped and reaped: nothing left running
        os.kill(pid, 0)


@pytest.fixture(scope="module")
def settings(wayback: WaybackServer) -> Settings:
    return archive_settings({"archive.test": wayback})


ARCHIVE = parse_archive_spec("wayback:http://archive.test/web/")


def find(url: str, when: datetime | None, settings: Settings, limit: int = 25) -> list[Memento]:
    with build_session(settings) as session:
        return find_mementos(url, when, [ARCHIVE], session, settings, limit)


# -- against pywb -------------------------------------------------------------------------


def test_find_returns_every_capture_with_exact_fields(settings: Settings) -> None:
    found = find(REPORT, CITED, settings)
    assert [(m.datetime, m.http_status) for m in found] == [
        ("2017-12-01T08:00:00Z", 200),
        ("2018-06-15T10:30:00Z", 200),
        ("2018-10-02T14:00:00Z", 404),
        ("2018-11-20T09:00:00Z", 302),
        ("2019-01-05T00:00:00Z", 200),
    ]
    assert [m.digest for m in found] == [payload_digest(c.body) for c in CAPTURES[:5]]
    second = found[1]
    assert second.original == REPORT
    assert second.archive == "wayback:http://archive.test/web/"
    assert second.mimetype == "text/html"
    assert second.url == f"http://archive.test/web/20180615103000/{REPORT}"
    assert second.raw_url == f"http://archive.test/web/20180615103000id_/{REPORT}"


def test_select_picks_the_closest_good_capture_before_the_citation(settings: Settings) -> None:
    selection = select_memento(find(REPORT, CITED, settings), CITED)
    assert selection.memento is not None
    assert selection.memento.datetime == "2018-06-15T10:30:00Z"
    assert selection.reason == "latest capture before 2018-11-28 (2018-06-15)"
    assert [(r.memento.datetime, r.reason) for r in selection.rejected] == [
        ("2018-10-02T14:00:00Z", "captured status 404"),
        ("2018-11-20T09:00:00Z", "captured redirect 302"),
    ]


def test_limit_keeps_the_captures_closest_to_the_date_on_both_sides(settings: Settings) -> None:
    found = find(REPORT, CITED, settings, limit=2)
    assert [m.datetime for m in found] == ["2018-11-20T09:00:00Z", "2019-01-05T00:00:00Z"]


def test_no_date_finds_the_newest(settings: Settings) -> None:
    found = find(REPORT, None, settings, limit=1)
    assert [m.datetime for m in found] == ["2019-01-05T00:00:00Z"]


def test_url_without_captures_gives_an_empty_list(settings: Settings) -> None:
    assert find("http://news.example/never-archived", CITED, settings) == []


def test_raw_url_returns_the_original_bytes_and_headers(settings: Settings) -> None:
    [memento] = find(OTHER, CITED, settings)
    with build_session(settings) as session:
        answer = fetch(session, memento.raw_url, settings, allow_redirects=False)
    assert (answer.status, answer.body) == (200, b"<p>about us</p>")
    assert answer.header("Content-Type") == "text/html; charset=utf-8"
    assert answer.header("Memento-Datetime") == "Sun, 01 Jul 2018 00:00:00 GMT"
    # pywb keeps the captured Date under a prefix, as the Internet Archive does.
    assert answer.header("X-Archive-Orig-Date") == "Sun, 01 Jul 2018 00:00:00 GMT"


def test_raw_replay_of_a_captured_redirect_is_the_redirect(settings: Settings) -> None:
    found = find(REPORT, CITED, settings)
    redirect = next(m for m in found if m.http_status == 302)
    with build_session(settings) as session:
        answer = fetch(session, redirect.raw_url, settings, allow_redirects=False)
    assert (answer.status, answer.header("Location")) == (302, "http://news.example/")


def test_inexact_timestamp_redirects_to_the_closest_capture(settings: Settings) -> None:
    # Configured like web.archive.org: /web/<ts>/<url> is a cheap closest-capture lookup.
    with build_session(settings) as session:
        answer = fetch(
            session, f"http://archive.test/web/20180601/{REPORT}", settings, allow_redirects=False
        )
    assert answer.status == 307
    assert answer.header("Location") == f"http://archive.test/web/20180615103000/{REPORT}"


def test_timemap_lists_every_capture(wayback: WaybackServer, settings: Settings) -> None:
    with build_session(settings) as session:
        answer = fetch(session, f"http://archive.test/web/timemap/link/{REPORT}", settings)
    assert answer.header("Content-Type") == "application/link-format"
    assert answer.text().count('rel="memento"') == 5
    assert (
        f'<http://archive.test/web/20180615103000/{REPORT}>; rel="memento"; '
        'datetime="Fri, 15 Jun 2018 10:30:00 GMT"' in answer.text()
    )


def test_query_is_waybackpys_cdx_client_pointed_at_the_archive(settings: Settings) -> None:
    with build_session(settings) as session:
        query = ArchiveCdxQuery(
            REPORT, ARCHIVE, "20181128235959", 3, session, settings, CdxRateLimiter()
        )
        snapshots = list(query.snapshots())
    assert isinstance(query, WaybackMachineCDXServerAPI)
    assert all(isinstance(s, CDXSnapshot) for s in snapshots)
    assert [s.timestamp for s in snapshots] == [
        "20181120090000",
        "20190105000000",
        "20181002140000",
    ]
    assert query.last_api_request_url == (
        "http://archive.test/web/cdx?gzip=false&closest=20181128235959&sort=closest"
        "&url=http%3A%2F%2Fnews.example%2F2018%2Fq3-report.html&output=text"
        "&fl=urlkey%2Ctimestamp%2Curl%2Cmime%2Cstatus%2Cdigest%2Clength&limit=3"
    )


def test_archive_that_is_down_is_a_network_error(settings: Settings) -> None:
    down = parse_archive_spec("wayback:http://down.test/web/")
    sandbox = settings.replace(
        host_map={**settings.host_map, "down.test": f"127.0.0.1:{closed_port()}"}
    )
    with build_session(sandbox) as session, pytest.raises(NetworkError) as raised:
        find_mementos(REPORT, CITED, [down], session, sandbox)
    assert str(raised.value) == (
        "wayback:http://down.test/web/: cannot connect to down.test (connection refused)"
    )


def test_a_down_archive_does_not_hide_captures_found_elsewhere(settings: Settings) -> None:
    down = parse_archive_spec("wayback:http://down.test/web/")
    sandbox = settings.replace(
        host_map={**settings.host_map, "down.test": f"127.0.0.1:{closed_port()}"}
    )
    with build_session(sandbox) as session:
        found = find_mementos(OTHER, CITED, [down, ARCHIVE], session, sandbox)
    assert [(m.archive, m.datetime) for m in found] == [
        ("wayback:http://archive.test/web/", "2018-07-01T00:00:00Z")
    ]


def test_unknown_host_is_a_network_error_not_a_dns_query(settings: Settings) -> None:
    nowhere = parse_archive_spec("wayback:http://unmapped.test/web/")
    with build_session(settings) as session, pytest.raises(NetworkError, match="no such host"):
        find_mementos(REPORT, CITED, [nowhere], session, settings)


# -- pywb's own sample crawl (../shared) ---------------------------------------------------


def require_iana() -> None:
    if not IANA_WARC.exists():
        pytest.skip(f"{IANA_WARC} is absent: the shared corpus is not laid beside the checkout")


def test_iana_sample_crawl_home_page(settings: Settings) -> None:
    require_iana()
    found = find("http://www.iana.org/", datetime(2014, 2, 1, tzinfo=UTC), settings)
    assert [(m.datetime, m.http_status, m.mimetype, m.digest) for m in found] == [
        ("2014-01-26T20:06:24Z", 200, "text/html", "OSSAPWJ23L56IYVRW3GFEAR4MCJMGPTB")
    ]
    with build_session(settings) as session:
        page = fetch(session, found[0].raw_url, settings)
    assert page.status == 200
    assert b"Internet Assigned Numbers Authority" in page.body


def test_iana_revisits_have_no_status_and_lose_to_the_real_capture(settings: Settings) -> None:
    require_iana()
    font = "http://www.iana.org/_css/2013.1/fonts/Inconsolata.otf"
    found = find(font, datetime(2014, 1, 26, 20, 13, tzinfo=UTC), settings)
    assert [(m.datetime, m.http_status, m.mimetype) for m in found] == [
        ("2014-01-26T20:08:26Z", 200, "application/octet-stream"),
        ("2014-01-26T20:09:12Z", None, "warc/revisit"),
        ("2014-01-26T20:09:30Z", None, "warc/revisit"),
        ("2014-01-26T20:10:55Z", None, "warc/revisit"),
        ("2014-01-26T20:12:49Z", None, "warc/revisit"),
    ]
    assert len({m.digest for m in found}) == 1  # revisits carry the original's digest
    chosen = select_memento(found, datetime(2014, 1, 26, 20, 13, tzinfo=UTC)).memento
    assert chosen is not None and chosen.datetime == "2014-01-26T20:08:26Z"


def test_iana_captured_redirect_is_rejected(settings: Settings) -> None:
    require_iana()
    url = "http://www.iana.org/about/performance/ietf-draft-status"
    selection = select_memento(find(url, None, settings), None)
    assert selection.memento is None
    assert selection.reason == "the only capture was a redirect (captured redirect 302)"


# -- the Wayback stand-in itself -----------------------------------------------------------


def test_missing_pywb_is_a_setup_error_saying_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wayback_module, "pywb_installed", lambda: False)
    with pytest.raises(SetupError) as raised:
        WaybackServer(tmp_path, []).start()
    assert str(raised.value) == "pywb is not installed: pip install 'archiver[demo]'"


def test_missing_warc_is_a_setup_error(tmp_path: Path) -> None:
    if not pywb_installed():
        pytest.skip("pywb is not installed (pip install 'archiver[test]')")
    with pytest.raises(SetupError, match=r"WARC file not found: .*absent\.warc\.gz"):
        WaybackServer(tmp_path / "pywb", [tmp_path / "absent.warc.gz"]).start()


def test_pywb_that_cannot_start_says_why_in_one_line(tmp_path: Path) -> None:
    if not pywb_installed():
        pytest.skip("pywb is not installed (pip install 'archiver[test]')")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = WaybackServer(tmp_path / "pywb", [], port=taken.getsockname()[1])
        with pytest.raises(SetupError) as raised:
            server.start()
    message = str(raised.value)
    assert message.startswith("pywb exited with status 1 while starting: OSError: ")
    assert "Address already in use" in message
    assert "\n" not in message
    assert raised.value.__notes__[0].startswith("pywb's log ends:\n")
    assert server.pid is None


def test_fixture_redirect_needs_a_location(tmp_path: Path) -> None:
    moved = FixtureCapture(REPORT, datetime(2018, 1, 1, tzinfo=UTC), status=301)
    with pytest.raises(ValueError, match=r"a 301 capture of .* needs a Location"):
        write_fixture_warc(tmp_path / "bad.warc.gz", [moved])


# -- archive specs --------------------------------------------------------------------------


def test_ia_spec() -> None:
    assert parse_archive_spec("ia") == INTERNET_ARCHIVE
    assert INTERNET_ARCHIVE.cdx_url == IA_CDX_URL == "https://web.archive.org/cdx/search/cdx"
    assert INTERNET_ARCHIVE.replay_base == "https://web.archive.org/web/"
    assert (INTERNET_ARCHIVE.dialect, INTERNET_ARCHIVE.min_interval) == ("ia", 2.5)


def test_wayback_spec_defaults_to_pywb_cdx_endpoint() -> None:
    assert parse_archive_spec("wayback:http://127.0.0.1:8080/web") == WaybackArchive(
        spec="wayback:http://127.0.0.1:8080/web",
        replay_base="http://127.0.0.1:8080/web/",
        cdx_url="http://127.0.0.1:8080/web/cdx",
        dialect="pywb",
        min_interval=0.0,
    )


def test_wayback_spec_options() -> None:
    archive = parse_archive_spec(
        "wayback:https://arquivo.example/wayback/,cdx=https://arquivo.example/cdx/search/cdx,interval=1.5"
    )
    assert (archive.replay_base, archive.cdx_url, archive.dialect, archive.min_interval) == (
        "https://arquivo.example/wayback/",
        "https://arquivo.example/cdx/search/cdx",
        "ia",
        1.5,
    )


def test_specs_from_settings_keep_their_order() -> None:
    specs = Settings(archives=("wayback:http://127.0.0.1:8080/web/", "ia")).archives
    assert [a.spec for a in parse_archive_specs(specs)] == [
        "wayback:http://127.0.0.1:8080/web/",
        "ia",
    ]


def test_wayback_spec_on_web_archive_org_is_the_internet_archive() -> None:
    archive = parse_archive_spec("wayback:https://web.archive.org/web/")
    assert (archive.cdx_url, archive.dialect, archive.min_interval) == (IA_CDX_URL, "ia", 2.5)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("archive.org", "unknown archive 'archive.org': use 'ia' or 'wayback:BASE_URL'"),
        ("wayback:", "archive 'wayback:': '' is not an http(s) URL"),
        ("wayback:ftp://x.example/web/", "is not an http(s) URL"),
        ("wayback:http://x.example/web/,interval=soon", "interval='soon' is not a number"),
        ("wayback:http://x.example/web/,cdx=nope", "cdx='nope' is not an http(s) URL"),
    ],
)
def test_bad_specs_are_input_errors_naming_the_spec(spec: str, message: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_archive_spec(spec)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


# -- rate limiting, with an injected clock -------------------------------------------------


def test_rate_limiter_spaces_calls_to_one_endpoint() -> None:
    clock = FakeClock()
    limiter = CdxRateLimiter(clock=clock, sleep=clock.sleep)
    assert limiter.wait(IA_CDX_URL, 2.5) == 0
    assert limiter.wait(IA_CDX_URL, 2.5) == 2.5
    clock.now += 1.0  # time spent on the request itself counts
    assert limiter.wait(IA_CDX_URL, 2.5) == 1.5
    clock.now += 10.0
    assert limiter.wait(IA_CDX_URL, 2.5) == 0
    assert clock.slept == [2.5, 1.5]


def test_rate_limiter_keeps_endpoints_apart_and_zero_interval_never_waits() -> None:
    clock = FakeClock()
    limiter = CdxRateLimiter(clock=clock, sleep=clock.sleep)
    limiter.wait(IA_CDX_URL, 2.5)
    assert limiter.wait("http://127.0.0.1:8080/web/cdx", 0.0) == 0
    assert limiter.wait("http://127.0.0.1:8080/web/cdx", 0.0) == 0
    assert clock.slept == []


def test_rate_limiter_hold_delays_the_next_call() -> None:
    clock = FakeClock()
    limiter = CdxRateLimiter(clock=clock, sleep=clock.sleep)
    limiter.hold(IA_CDX_URL, 30.0)
    assert limiter.wait(IA_CDX_URL, 2.5) == 30.0


# -- scripted CDX answers: throttling and garbage -------------------------------------------

CDX_LINE = (
    "com,example)/ 20180615103000 http://example.com/ text/html 200 "
    "VL2MMHO4YXUKFWV63YHTWSBM3GXKSQ2N 350\n"
)


Script = list[tuple[int, dict[str, str], bytes]]  # (status, headers, body) per request


class ScriptedCdx:
    """A loopback server answering each request with the next scripted response."""

    def __init__(self, script: Script) -> None:
        self.script = list(script)
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                status, headers, body = owner.script.pop(0) if owner.script else (500, {}, b"")
                self.send_response(status)
                headers = {"Content-Type": "text/plain", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self) -> ScriptedCdx:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def settings(self) -> Settings:
        port = self.server.server_address[1]
        return Settings(host_map={"cdx.test": f"127.0.0.1:{port}"}, resolve_only=True, retries=0)


SCRIPTED = parse_archive_spec("wayback:http://cdx.test/web/,interval=2")


def find_scripted(server: ScriptedCdx, clock: FakeClock) -> list[Memento]:
    settings = server.settings()
    limiter = CdxRateLimiter(clock=clock, sleep=clock.sleep)
    with build_session(settings) as session:
        return find_in_archive(
            "http://example.com/", CITED, SCRIPTED, session, settings, limiter=limiter
        )


def test_429_with_retry_after_is_waited_out_once() -> None:
    clock = FakeClock()
    script = [(429, {"Retry-After": "7"}, b"slow down"), (200, {}, CDX_LINE.encode())]
    with ScriptedCdx(script) as server:
        found = find_scripted(server, clock)
    assert [m.datetime for m in found] == ["2018-06-15T10:30:00Z"]
    assert clock.slept == [7.0]
    assert len(server.requests) == 2


def test_second_429_is_an_error_not_a_loop() -> None:
    clock = FakeClock()
    script = [(429, {"Retry-After": "7"}, b"")] * 5
    with ScriptedCdx(script) as server, pytest.raises(NetworkError) as raised:
        find_scripted(server, clock)
    assert str(raised.value) == (
        "wayback:http://cdx.test/web/,interval=2: CDX server rate limited (HTTP 429), "
        "asked to wait 7s; try again later"
    )
    assert len(server.requests) == 2


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "3600"}], ids=["none", "too-long"])
def test_429_without_a_bounded_retry_after_fails_at_once(headers: dict[str, str]) -> None:
    clock = FakeClock()
    script = [(429, headers, b""), (200, {}, CDX_LINE.encode())]
    with (
        ScriptedCdx(script) as server,
        pytest.raises(NetworkError, match=r"rate limited \(HTTP 429\)"),
    ):
        find_scripted(server, clock)
    assert len(server.requests) == 1
    assert clock.slept == []


def test_long_retry_after_is_honoured_by_not_asking_again() -> None:
    clock = FakeClock()
    limiter = CdxRateLimiter(clock=clock, sleep=clock.sleep)
    script: Script = [(429, {"Retry-After": "3600"}, b""), (200, {}, CDX_LINE.encode())]
    with ScriptedCdx(script) as server, build_session(server.settings()) as session:
        for _ in range(2):
            with pytest.raises(NetworkError) as raised:
                find_in_archive(
                    "http://example.com/",
                    CITED,
                    SCRIPTED,
                    session,
                    server.settings(),
                    limiter=limiter,
                )
        clock.now += 3600
        found = find_in_archive(
            "http://example.com/", CITED, SCRIPTED, session, server.settings(), limiter=limiter
        )
    assert str(raised.value) == (
        "wayback:http://cdx.test/web/,interval=2: CDX server asked for a pause; "
        "not asking it again for another 3600s"
    )
    assert len(server.requests) == 2
    assert [m.datetime for m in found] == ["2018-06-15T10:30:00Z"]
    assert clock.slept == []


@pytest.mark.parametrize(
    ("status", "content_type", "body", "message"),
    [
        (502, "text/plain", b"bad gateway", "CDX server answered HTTP 502"),
        (200, "text/html", b"<html><body>Maintenance</body></html>", "answered with text/html"),
        (
            200,
            "text/plain",
            b"this line is long enough to be read as a snapshot but is not one at all\n",
            "unexpected CDX answer",
        ),
        (
            200,
            "text/plain",
            b"com,example)/ notatimestamp http://example.com/ text/html 200 DIGESTDIGEST 1\n",
            "unexpected CDX answer",
        ),
    ],
    ids=["5xx", "html", "wrong-field-count", "bad-timestamp"],
)
def test_garbage_from_the_archive_is_a_network_error(
    status: int, content_type: str, body: bytes, message: str
) -> None:
    script = [(status, {"Content-Type": content_type}, body)]
    with ScriptedCdx(script) as server, pytest.raises(NetworkError, match=message) as raised:
        find_scripted(server, FakeClock())
    assert "\n" not in str(raised.value)


def test_every_cdx_call_waits_for_the_endpoint_interval() -> None:
    clock = FakeClock()
    limiter = CdxRateLimiter(clock=clock, sleep=clock.sleep)
    script: Script = [(200, {}, CDX_LINE.encode())] * 3
    with ScriptedCdx(script) as server:
        settings = server.settings()
        with build_session(settings) as session:
            for _ in range(3):
                find_in_archive(
                    "http://example.com/", CITED, SCRIPTED, session, settings, limiter=limiter
                )
    assert clock.slept == [2.0, 2.0]
