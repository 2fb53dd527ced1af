"""The checker's verdicts when servers misbehave: scripted servers on loopback that send
exact bytes (``tests/scripted_server.py``), and the simulated web for the rest.

Whatever a server sends, each link gets a verdict of its own with a reason that says what
happened, and the run goes on.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from archiver.check.links import check_urls
from archiver.cli.main import cli
from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page, Site
from archiver.models import LinkCheck, Verdict
from tests.conftest import closed_port, sandbox_settings
from tests.scripted_server import (
    ODD_404S,
    Peer,
    ScriptedServer,
    cookie_wall,
    odd_404,
    ok,
    redirect,
)

FIXED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PDF = b"%PDF-1.4 " + b"x" * 1000


def with_hosts(settings: Settings, **hosts: str) -> Settings:
    """``settings`` with more names in the host map (host=address)."""
    names = {name.replace("_", "."): address for name, address in hosts.items()}
    return settings.replace(host_map={**settings.host_map, **names})


def check(urls: list[str], settings: Settings) -> list[LinkCheck]:
    return check_urls(urls, settings, clock=lambda: FIXED)


def outcome(result: LinkCheck) -> tuple[Verdict, int | None, str | None, str]:
    return result.verdict, result.http_status, result.final_url, result.reason


def honest(origin: OriginServer, *hosts: str) -> None:
    for host in hosts:
        origin.sites[host] = Site()


# -- odd answers -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ODD_404S))
def test_a_404_sent_the_way_browsers_still_read_is_dead(origin: OriginServer, name: str) -> None:
    with ScriptedServer(lambda peer: serve_each(peer, odd_404(name))) as server:
        settings = with_hosts(sandbox_settings(origin), odd_example=server.address)
        [result] = check(["http://odd.example/gone"], settings)
    assert outcome(result) == (
        Verdict.DEAD,
        404,
        "http://odd.example/gone",
        "HTTP 404: not found",
    )


def serve_each(peer: Peer, answer: bytes) -> None:
    while peer.read_request() is not None:
        peer.send(answer)


def test_status_999_is_blocked(origin: OriginServer) -> None:
    origin.add("http://social.example/in/someone", Page(status=999))
    [result] = check(["http://social.example/in/someone"], sandbox_settings(origin))
    assert outcome(result) == (
        Verdict.BLOCKED,
        999,
        "http://social.example/in/someone",
        "HTTP 999: access refused to this client, not proof of death",
    )


def test_headers_sent_forever_are_that_links_verdict_at_once(origin: OriginServer) -> None:
    def endless(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\n")
        for _ in range(1000):  # 64 MB at most
            peer.send(b"X-Filler: abcdefghijklmnopqrstuvwxyz\r\n" * 1700)
        peer.wait_closed()

    with ScriptedServer(endless) as server:
        settings = with_hosts(sandbox_settings(origin, timeout=5.0), odd_example=server.address)
        started = time.monotonic()
        [result] = check(["http://odd.example/"], settings)
        elapsed = time.monotonic() - started
    assert outcome(result) == (
        Verdict.UNREACHABLE,
        None,
        None,
        "the answer's headers are over 256 KiB",
    )
    assert elapsed < 2.0


# -- redirects ---------------------------------------------------------------------------


def odd_redirects(peer: Peer) -> None:
    while (request := peer.read_request()) is not None:
        path = request.line.split()[1]
        if path == "/v6":
            peer.send(redirect(301, "http://[::1/x"))
        elif path == "/zz":
            peer.send(redirect(302, "http://[zz]/"))
        elif path == "/twice":
            peer.send(ok(b"", "Location: /gone", "Location: /story", status="302 Found"))
        else:
            peer.send(ok(b"no such page", status="404 Not Found"))


def test_malformed_location_is_that_links_verdict_and_the_run_goes_on(
    origin: OriginServer,
) -> None:
    urls = ["http://odd.example/v6", "http://odd.example/zz", "http://odd.example/twice"]
    with ScriptedServer(odd_redirects) as server:
        settings = with_hosts(sandbox_settings(origin), odd_example=server.address)
        results = check(urls, settings)
    assert [outcome(result) for result in results] == [
        (
            Verdict.UNREACHABLE,
            None,
            "http://odd.example/v6",
            "redirected to an invalid address: http://[::1/x",
        ),
        (
            Verdict.UNREACHABLE,
            None,
            "http://odd.example/zz",
            "redirected to an invalid address: http://[zz]/",
        ),
        (Verdict.DEAD, 404, "http://odd.example/gone", "HTTP 404: not found"),  # the first
    ]


def test_redirect_to_a_host_that_is_down_says_so_and_keeps_the_target(
    origin: OriginServer,
) -> None:
    origin.add("http://news.example/moved", Page(status=301, location="http://down.example/new"))
    origin.add("http://news.example/lost", Page(status=302, location="http://gone.example/new"))
    settings = with_hosts(sandbox_settings(origin), down_example=f"127.0.0.1:{closed_port()}")
    results = check(["http://news.example/moved", "http://news.example/lost"], settings)
    assert [outcome(result) for result in results] == [
        (
            Verdict.UNREACHABLE,
            None,
            "http://down.example/new",
            "redirected to http://down.example/new: connection failed: Connection refused",
        ),
        (
            Verdict.DEAD,
            None,
            "http://gone.example/new",
            "redirected to http://gone.example/new: no such host: gone.example",
        ),
    ]


def test_per_host_holds_for_redirect_targets(origin: OriginServer) -> None:
    # Twelve cited sites all redirect to one hub: at most --per-host requests reach it at
    # once, however many sites send their readers there.
    honest(origin, "hub.example", *(f"site{i}.example" for i in range(12)))
    for i in range(12):
        target = f"http://hub.example/landing/{i}"
        origin.add(f"http://site{i}.example/story", Page(status=301, location=target))
        origin.add(target, Page(body=f"<title>Landing {i}</title><p>Page {i}.</p>", delay=0.2))
    urls = [f"http://site{i}.example/story" for i in range(12)]
    results = check(urls, sandbox_settings(origin, per_host=2))
    assert [outcome(result) for result in results] == [
        (Verdict.ALIVE, 200, f"http://hub.example/landing/{i}", "HTTP 200 after 1 redirect(s)")
        for i in range(12)
    ]
    assert origin.peak_in_flight["hub.example"] == 2


def test_a_cookie_bounce_is_followed_to_the_page(origin: OriginServer) -> None:
    with ScriptedServer(cookie_wall) as server:
        settings = with_hosts(sandbox_settings(origin), news_example=server.address)
        [result] = check(["http://news.example/story"], settings)
    assert outcome(result) == (
        Verdict.ALIVE,
        200,
        "http://news.example/story",
        "HTTP 200 after 2 redirect(s)",
    )


# -- files -------------------------------------------------------------------------------


def head_hangs(peer: Peer) -> None:
    """A server that never answers HEAD (some drop it), and answers GET."""
    while (request := peer.read_request()) is not None:
        if request.line.startswith("HEAD "):
            peer.wait_closed()
            return
        peer.send(ok(PDF, "Content-Type: application/pdf"))


def test_file_url_whose_head_hangs_is_tried_with_get(origin: OriginServer) -> None:
    with ScriptedServer(head_hangs) as server:
        settings = with_hosts(sandbox_settings(origin, timeout=0.5), files_example=server.address)
        [result] = check(["http://files.example/report.pdf"], settings)
        lines = server.lines()
    assert outcome(result) == (
        Verdict.ALIVE,
        200,
        "http://files.example/report.pdf",
        "HTTP 200",
    )
    assert result.method == "GET"
    assert lines == ["HEAD /report.pdf HTTP/1.1", "GET /report.pdf HTTP/1.1"]


# -- one deadline for a link's whole check -----------------------------------------------


def slow_chain(origin: OriginServer, hops: int, delay: float) -> str:
    for i in range(hops):
        origin.add(
            f"http://slow.example/r{i}", Page(status=301, location=f"/r{i + 1}", delay=delay)
        )
    origin.add(f"http://slow.example/r{hops}", Page(body="<title>At last</title><p>Here.</p>"))
    return "http://slow.example/r0"


def test_a_links_whole_check_redirects_included_is_bounded_by_its_deadline(
    origin: OriginServer,
) -> None:
    # Each hop answers well within the timeout; the chain as a whole does not.
    url = slow_chain(origin, hops=8, delay=0.5)
    settings = sandbox_settings(origin, timeout=1.0, link_deadline=1.2)
    started = time.monotonic()
    [result] = check([url], settings)
    elapsed = time.monotonic() - started
    assert outcome(result) == (
        Verdict.TIMEOUT,
        None,
        "http://slow.example/r2",
        "no verdict within the link's deadline of 1.2 s (2 redirects followed)",
    )
    assert elapsed < 2.0


def test_retries_stop_at_the_deadline(origin: OriginServer) -> None:
    origin.add("http://slow.example/hang", Page(hang=True))
    settings = sandbox_settings(origin, timeout=0.4, retries=10, link_deadline=1.0)
    started = time.monotonic()
    [result] = check(["http://slow.example/hang"], settings)
    elapsed = time.monotonic() - started
    assert outcome(result) == (
        Verdict.TIMEOUT,
        None,
        None,
        "no verdict within the link's deadline of 1 s",
    )
    assert 1.0 <= elapsed < 1.8


def test_the_deadline_is_three_timeouts_unless_set(origin: OriginServer) -> None:
    origin.add("http://slow.example/hang", Page(hang=True))
    settings = sandbox_settings(origin, timeout=0.3, retries=10)
    started = time.monotonic()
    [result] = check(["http://slow.example/hang"], settings)
    elapsed = time.monotonic() - started
    assert outcome(result) == (
        Verdict.TIMEOUT,
        None,
        None,
        "no verdict within the link's deadline of 0.9 s",
    )
    assert 0.9 <= elapsed < 1.6


def test_a_retry_after_longer_than_the_time_left_is_not_waited_for(origin: OriginServer) -> None:
    origin.add("http://api.example/x", Page(status=429, headers=(("Retry-After", "2"),)))
    settings = sandbox_settings(origin, link_deadline=1.0)
    started = time.monotonic()
    [result] = check(["http://api.example/x"], settings)
    elapsed = time.monotonic() - started
    assert (result.verdict, result.http_status) == (Verdict.BLOCKED, 429)
    assert len(origin.hits_for("api.example")) == 1
    assert elapsed < 1.0


def test_link_deadline_option(origin: OriginServer, tmp_path: object) -> None:
    origin.add("http://slow.example/hang", Page(hang=True))
    resolve = [f"--resolve={host}={address}" for host, address in origin.host_map().items()]
    started = time.monotonic()
    result = CliRunner().invoke(
        cli,
        [
            "check", "http://slow.example/hang", "--format", "jsonl", "--timeout", "5",
            "--retries", "3", "--link-deadline", "0.5", "--only-resolved", *resolve,
            "--resolve", f"canary.example={origin.address}", "--canary", "http://canary.example/",
            "--state", f"{tmp_path}/state.sqlite",
        ],
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert '"reason": "no verdict within the link\'s deadline of 0.5 s"' in result.output
    assert elapsed < 3.0
