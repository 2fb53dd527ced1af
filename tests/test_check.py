"""The check stage against a real origin server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.check import check_urls, validate_url
from archiver.config import Settings
from archiver.errors import InputError
from archiver.models import Verdict
from archiver.simweb.origin import OriginServer, Page
from archiver.state import State
from tests.conftest import closed_port

FIXED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def settings_for(origin: OriginServer, **changes: object) -> Settings:
    base = Settings(host_map=origin.host_map(), resolve_only=True, timeout=1.0, retries=0)
    return base.replace(**changes)


def check_one(origin: OriginServer, url: str, **changes: object):  # type: ignore[no-untyped-def]
    [result] = check_urls([url], settings_for(origin, **changes), clock=lambda: FIXED)
    return result


def test_alive_page_is_decided_by_head(origin: OriginServer) -> None:
    origin.add("http://news.example/story", Page(body="<p>story</p>"))
    result = check_one(origin, "http://news.example/story")
    assert (result.verdict, result.http_status, result.method) == (Verdict.ALIVE, 200, "HEAD")
    assert result.final_url == "http://news.example/story"
    assert result.checked_at == "2026-01-02T03:04:05Z"
    assert [hit.method for hit in origin.hits_for("news.example")] == ["HEAD"]


def test_404_is_confirmed_with_get_before_calling_it_dead(origin: OriginServer) -> None:
    origin.add("http://news.example/", Page(body="home"))
    result = check_one(origin, "http://news.example/missing")
    assert (result.verdict, result.http_status, result.method) == (Verdict.DEAD, 404, "GET")
    assert result.reason == "HTTP 404: not found"
    assert [hit.method for hit in origin.hits_for("news.example")] == ["HEAD", "GET"]


def test_410_is_dead(origin: OriginServer) -> None:
    origin.add("http://news.example/old", Page(status=410))
    result = check_one(origin, "http://news.example/old")
    assert (result.verdict, result.http_status, result.reason) == (
        Verdict.DEAD,
        410,
        "HTTP 410: gone",
    )


def test_head_refused_falls_back_to_get(origin: OriginServer) -> None:
    origin.add("http://news.example/nohead", Page(body="fine", head_status=405))
    result = check_one(origin, "http://news.example/nohead")
    assert (result.verdict, result.http_status, result.method) == (Verdict.ALIVE, 200, "GET")


def test_server_error(origin: OriginServer) -> None:
    origin.add("http://news.example/broken", Page(status=503))
    result = check_one(origin, "http://news.example/broken")
    assert (result.verdict, result.http_status) == (Verdict.SERVER_ERROR, 503)


def test_forbidden_is_blocked_not_dead(origin: OriginServer) -> None:
    origin.add("http://news.example/wall", Page(status=403))
    assert check_one(origin, "http://news.example/wall").verdict is Verdict.BLOCKED


def test_hung_server_times_out(origin: OriginServer) -> None:
    origin.add("http://slow.example/hang", Page(hang=True))
    result = check_one(origin, "http://slow.example/hang", timeout=0.5)
    assert (result.verdict, result.http_status) == (Verdict.TIMEOUT, None)
    assert result.reason == "no answer within 0.5 s"


def test_timeout_is_retried(origin: OriginServer) -> None:
    origin.add("http://slow.example/hang", Page(hang=True))
    result = check_one(origin, "http://slow.example/hang", timeout=0.3, retries=2)
    assert result.verdict is Verdict.TIMEOUT
    assert len(origin.hits_for("slow.example")) == 3


def test_redirects_are_followed_to_the_final_url(origin: OriginServer) -> None:
    origin.add("http://news.example/old-path", Page(status=301, location="/new-path"))
    origin.add("http://news.example/new-path", Page(body="moved here"))
    result = check_one(origin, "http://news.example/old-path")
    assert (result.verdict, result.final_url) == (Verdict.ALIVE, "http://news.example/new-path")
    assert result.reason == "HTTP 200 after 1 redirect(s)"


def test_redirect_loop_is_unreachable(origin: OriginServer) -> None:
    origin.add("http://news.example/loop", Page(status=302, location="/loop"))
    result = check_one(origin, "http://news.example/loop", max_redirects=3)
    assert (result.verdict, result.reason) == (Verdict.UNREACHABLE, "more than 3 redirects")


def test_host_that_does_not_exist_is_dead(origin: OriginServer) -> None:
    result = check_one(origin, "http://no-such-host.example/page")
    assert (result.verdict, result.reason) == (Verdict.DEAD, "no such host: no-such-host.example")


def test_refused_connection_is_unreachable(origin: OriginServer) -> None:
    hosts = {**origin.host_map(), "down.example": f"127.0.0.1:{closed_port()}"}
    settings = settings_for(origin, host_map=hosts)
    [result] = check_urls(["http://down.example/"], settings)
    assert result.verdict is Verdict.UNREACHABLE
    assert "Connection refused" in result.reason


def test_dropped_connection_is_unreachable(origin: OriginServer) -> None:
    origin.add("http://flaky.example/", Page(drop=True))
    result = check_one(origin, "http://flaky.example/")
    assert result.verdict is Verdict.UNREACHABLE
    assert result.reason == "connection failed: Remote end closed connection without response"


def test_huge_body_is_not_read_past_the_cap(origin: OriginServer) -> None:
    # 64 MiB offered; HEAD is refused so GET must read, and stop early.
    origin.add("http://big.example/", Page(body=b"x" * 65536, repeat=1024, head_status=405))
    result = check_one(origin, "http://big.example/")
    assert (result.verdict, result.http_status, result.method) == (Verdict.ALIVE, 200, "GET")


def test_each_url_checked_once_and_results_keep_input_order(origin: OriginServer) -> None:
    origin.add("http://a.example/1", Page(body="1"))
    origin.add("http://b.example/2", Page(status=404))
    urls = ["http://b.example/2", "http://a.example/1", "http://b.example/2"]
    results = check_urls(urls, settings_for(origin))
    assert [(r.url, r.verdict) for r in results] == [
        ("http://b.example/2", Verdict.DEAD),
        ("http://a.example/1", Verdict.ALIVE),
    ]
    assert len(origin.hits_for("b.example")) == 2  # HEAD + GET, once


def test_per_host_limit_is_respected(origin: OriginServer) -> None:
    for i in range(12):
        origin.add(f"http://busy.example/{i}", Page(body="ok", delay=0.2))
        origin.add(f"http://other.example/{i}", Page(body="ok", delay=0.2))
    urls = [f"http://{host}.example/{i}" for i in range(12) for host in ("busy", "other")]
    results = check_urls(urls, settings_for(origin, per_host=3, workers=16))
    assert [r.verdict for r in results] == [Verdict.ALIVE] * 24
    assert origin.peak_in_flight == {"busy.example": 3, "other.example": 3}


def test_fresh_results_are_reused_from_the_state_file(origin: OriginServer, tmp_path: Path) -> None:
    origin.add("http://news.example/story", Page(body="story"))
    settings = settings_for(origin, fresh_for=3600.0)
    with State(tmp_path / "state.sqlite") as state:
        [first] = check_urls(
            ["http://news.example/story"], settings, state=state, clock=lambda: FIXED
        )
        later = FIXED + timedelta(minutes=30)
        [second] = check_urls(
            ["http://news.example/story"], settings, state=state, clock=lambda: later
        )
        much_later = FIXED + timedelta(hours=2)
        [third] = check_urls(
            ["http://news.example/story"], settings, state=state, clock=lambda: much_later
        )
        history = state.history("http://news.example/story")
    assert (first.from_cache, second.from_cache, third.from_cache) == (False, True, False)
    assert second.checked_at == "2026-01-02T03:04:05Z"
    assert len(origin.hits_for("news.example")) == 2  # the cached run made no request
    assert [h.checked_at for h in history] == ["2026-01-02T03:04:05Z", "2026-01-02T05:04:05Z"]


@pytest.mark.parametrize(
    "bad", ["ftp://x.example/", "not a url", "http://", "http://x.example:99999/"]
)
def test_invalid_urls_are_input_errors(bad: str) -> None:
    with pytest.raises(InputError):
        validate_url(bad)
