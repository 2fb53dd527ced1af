"""``polite_get`` against scripted servers on loopback: which transport failures it asks
again for, which it does not, and that a pause an archive asked for is waited out.

(The rate limiter and the 429 rules on the CDX path are tested in ``test_find``.)
"""

from __future__ import annotations

import pytest

from archiver.config import Settings
from archiver.errors import BadAnswer, ConnectionClosed, NetworkError, Throttled
from archiver.net.http import Fetched, build_session
from archiver.net.polite import CdxRateLimiter, polite_get
from tests.fake_clock import FakeClock
from tests.scripted_server import Peer, ScriptedServer, answers, ok

SPEC = "wayback:http://archive.test/web/"


def get(
    server: ScriptedServer,
    retries: int,
    limiter: CdxRateLimiter | None = None,
    min_interval: float | None = 1.0,
) -> Fetched:
    settings = Settings(
        host_map={"archive.test": server.address}, resolve_only=True, timeout=2.0, retries=retries
    )
    clock = FakeClock()
    with build_session(settings) as session:
        return polite_get(
            session,
            "http://archive.test/web/cdx?url=x",
            settings,
            spec=SPEC,
            server="CDX server",
            limiter=limiter or CdxRateLimiter(clock=clock, sleep=clock.sleep),
            endpoint="http://archive.test/web/cdx",
            min_interval=min_interval,
        )


def hang_up(peer: Peer) -> None:
    peer.read_request()


def test_a_transient_failure_is_asked_again_retries_times_then_raised_typed() -> None:
    with ScriptedServer(hang_up) as server, pytest.raises(NetworkError) as raised:
        get(server, retries=2)
    assert (type(raised.value), str(raised.value)) == (
        ConnectionClosed,
        f"{SPEC}: archive.test closed the connection without answering",
    )
    assert server.accepts == 3


def test_a_transient_failure_then_an_answer_is_the_answer() -> None:
    calls = []

    def once_silent_then_ok(peer: Peer) -> None:
        calls.append(peer.number)
        if peer.number == 1:
            peer.read_request()
            return
        answers(ok(b"20180615103000"))(peer)

    with ScriptedServer(once_silent_then_ok) as server:
        answer = get(server, retries=1)
    assert (answer.status, answer.body) == (200, b"20180615103000")
    assert calls == [1, 2]


def test_an_answer_that_is_not_http_is_not_asked_again() -> None:
    with (
        ScriptedServer(answers(b"<html>no status line</html>\r\n\r\n")) as server,
        pytest.raises(NetworkError) as raised,
    ):
        get(server, retries=3)
    assert (type(raised.value), str(raised.value)) == (
        BadAnswer,
        f"{SPEC}: not a valid HTTP answer from archive.test",
    )
    assert server.accepts == 1


def test_a_call_that_takes_no_turn_still_waits_out_the_pause_it_was_asked_for() -> None:
    clock = FakeClock()
    limiter = CdxRateLimiter(clock=clock, sleep=clock.sleep)
    busy = ok(b"slow down", "Retry-After: 7", status="429 Too Many Requests")
    with ScriptedServer(answers(busy, ok(b"here"))) as server:
        answer = get(server, retries=0, limiter=limiter, min_interval=None)
    assert (answer.status, answer.body) == (200, b"here")
    assert clock.slept == [7.0]


def test_a_second_refusal_is_throttled() -> None:
    busy = ok(b"", "Retry-After: 2", status="503 Service Unavailable")
    with (
        ScriptedServer(answers(busy, busy, busy)) as server,
        pytest.raises(Throttled) as raised,
    ):
        get(server, retries=0)
    assert (raised.value.kind, str(raised.value)) == (
        "throttled",
        f"{SPEC}: CDX server unavailable (HTTP 503), asked to wait 2s; try again later",
    )
    assert len(server.requests) == 2
