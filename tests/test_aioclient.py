"""The link checker's HTTP client against scripted servers on loopback.

Each server is a bare TCP listener whose handler writes exact bytes, so every edge of
HTTP/1.1 (keep-alive, chunking, HTTP/1.0 endings, cut-off answers, proxies, tunnels) is
produced precisely rather than by whatever a server library happens to send.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import os
import select
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trustme

from archiver.config import Settings
from archiver.errors import (
    BadAnswer,
    BadUrl,
    ConnectFailed,
    ConnectionClosed,
    InputError,
    NetworkError,
    NoSuchHost,
    TimedOut,
    TooManyRedirects,
)
from archiver.net.aioclient import Client, Response
from tests.conftest import closed_port
from tests.scripted_server import (
    ODD_404S,
    STORY,
    Handler,
    Peer,
    ScriptedServer,
    answers,
    cookie_wall,
    odd_404,
    ok,
    per_connection,
    redirect,
    server_context,
)

T = TypeVar("T")

# Sandboxed (no proxies from the environment), so only IP literals and mapped names work.
LOOPBACK = Settings(timeout=2.0, resolve_only=True)


# -- running the client ----------------------------------------------------------------

# Every test runs on both event loops the checker may use: asyncio's own, and uvloop
# (which ``archiver.check.links.run_loop`` prefers where it is installed).
LOOPS: dict[str, Callable[[Coroutine[Any, Any, Any]], Any]] = {"asyncio": asyncio.run}
try:
    import uvloop

    LOOPS["uvloop"] = uvloop.run
except ImportError:  # not on this platform: asyncio's loop alone
    pass
run_on_loop = LOOPS["asyncio"]


@pytest.fixture(autouse=True, params=sorted(LOOPS))
def event_loop_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    global run_on_loop
    run_on_loop = LOOPS[request.param]
    yield request.param
    run_on_loop = LOOPS["asyncio"]


def with_client(
    use: Callable[[Client], Awaitable[T]], settings: Settings = LOOPBACK, max_body: int = 1 << 20
) -> T:
    async def main() -> T:
        client = Client(settings, max_body=max_body)
        try:
            return await use(client)
        finally:
            await client.close()

    return run_on_loop(main())


def fetch(
    url: str, settings: Settings = LOOPBACK, method: str = "GET", max_body: int = 1 << 20
) -> Response:
    return with_client(lambda client: client.request(method, url), settings, max_body)


def fetch_twice(url: str, settings: Settings = LOOPBACK) -> tuple[Response, Response]:
    async def twice(client: Client) -> tuple[Response, Response]:
        return await client.request("GET", url), await client.request("GET", url)

    return with_client(twice, settings)


def failure(url: str, settings: Settings = LOOPBACK, method: str = "GET") -> NetworkError:
    with pytest.raises(NetworkError) as caught:
        fetch(url, settings, method)
    return caught.value


# -- connections: reuse, closing, retrying ---------------------------------------------


def test_two_requests_to_one_host_share_one_connection() -> None:
    with ScriptedServer(answers(ok(b"first"), ok(b"second"))) as server:
        first, second = fetch_twice(server.url("/page"))
    assert (first.body, second.body) == (b"first", b"second")
    assert server.accepts == 1
    assert [r.connection for r in server.requests] == [1, 1]


@pytest.mark.parametrize(
    "answer",
    [
        ok(b"first", "Connection: close"),
        b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
    ],
    ids=["connection-close", "http-1.0"],
)
def test_connection_the_server_will_not_keep_is_not_reused(answer: bytes) -> None:
    # The server leaves the connection open: only the client's own judgment avoids reuse.
    with ScriptedServer(answers(answer, ok(b"second"))) as server:
        first, second = fetch_twice(server.url())
    assert (first.body, second.body) == (b"first", b"second")
    assert server.accepts == 2


def test_http10_answer_asking_for_keep_alive_is_reused() -> None:
    answer = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nfirst"
    with ScriptedServer(answers(answer, ok(b"second"))) as server:
        first, second = fetch_twice(server.url())
    assert (first.body, second.body) == (b"first", b"second")
    assert server.accepts == 1


def test_idle_connection_the_server_closed_is_replaced() -> None:
    closed = threading.Event()

    def answer_once_and_close(peer: Peer) -> None:
        peer.read_request()
        peer.send(ok(b"first"))  # keep-alive by default, yet the server hangs up
        peer.sock.shutdown(socket.SHUT_RDWR)
        closed.set()

    async def twice(client: Client) -> tuple[Response, Response]:
        first = await client.request("GET", server.url())
        await asyncio.to_thread(closed.wait, 2)
        await asyncio.sleep(0.02)  # let the loop see the end of the stream
        return first, await client.request("GET", server.url())

    with ScriptedServer(per_connection(answer_once_and_close, answers(ok(b"second")))) as server:
        first, second = with_client(twice)
    assert (first.body, second.body) == (b"first", b"second")
    assert server.accepts == 2


def test_kept_connection_closed_instead_of_answering_is_retried_on_a_new_one() -> None:
    def answer_then_hang_up(peer: Peer) -> None:
        peer.read_request()
        peer.send(ok(b"first"))
        peer.read_request()  # the second request arrives, and is dropped unanswered

    with ScriptedServer(per_connection(answer_then_hang_up, answers(ok(b"second")))) as server:
        first, second = fetch_twice(server.url("/x"))
    assert (first.body, second.body) == (b"first", b"second")
    assert [(r.line, r.connection) for r in server.requests] == [
        ("GET /x HTTP/1.1", 1),
        ("GET /x HTTP/1.1", 1),
        ("GET /x HTTP/1.1", 2),
    ]


def test_new_connection_closed_without_an_answer_fails_as_closed_and_is_not_retried() -> None:
    def hang_up(peer: Peer) -> None:
        peer.read_request()

    with ScriptedServer(hang_up) as server:
        error = failure(server.url())
    assert (type(error), error.kind, str(error)) == (
        ConnectionClosed,
        "closed",
        "connection failed: the server closed it without answering",
    )
    assert server.accepts == 1


def test_only_per_host_idle_connections_are_kept() -> None:
    hung_up: list[int] = []

    def serve(peer: Peer) -> None:
        while peer.read_request() is not None:
            peer.send(ok(f"conn {peer.number}".encode()))
        hung_up.append(peer.number)

    async def pair_then_one(client: Client) -> tuple[bytes, list[int]]:
        await asyncio.gather(
            client.request("GET", server.url("/a")), client.request("GET", server.url("/b"))
        )
        for _ in range(200):  # until the server sees one connection closed
            if hung_up:
                break
            await asyncio.sleep(0.01)
        third = await client.request("GET", server.url("/c"))
        await asyncio.sleep(0.02)
        return third.body, list(hung_up)

    with ScriptedServer(serve) as server:
        body, closed_before_the_end = with_client(pair_then_one, LOOPBACK.replace(per_host=1))
    # The pair needed two connections; the client kept one, closed the other, and the
    # third request went on the one it kept.
    assert server.accepts == 2
    [dropped] = closed_before_the_end
    [kept] = {1, 2} - {dropped}
    assert body == f"conn {kept}".encode()


def test_closing_the_client_closes_its_idle_connections() -> None:
    hung_up = threading.Event()

    def serve(peer: Peer) -> None:
        while peer.read_request() is not None:
            peer.send(ok())
        hung_up.set()

    async def request_then_close(client: Client) -> bool:
        await client.request("GET", server.url())
        await asyncio.sleep(0.05)
        seen_before = hung_up.is_set()
        await client.close()
        return seen_before

    with ScriptedServer(serve) as server:
        hung_up_before_close = with_client(request_then_close)
        assert not hung_up_before_close
        assert hung_up.wait(2)


# -- bodies ----------------------------------------------------------------------------


def test_chunked_body_is_joined_and_the_connection_kept() -> None:
    def serve(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
        time.sleep(0.01)  # the rest arrives separately
        peer.send(b"lo\r\n1;ext=yes\r\n \r\nA\r\nchunked!!!\r\n0\r\nX-Trailer: t\r\n\r\n")
        answers(ok(b"second"))(peer)

    with ScriptedServer(serve) as server:
        first, second = fetch_twice(server.url())
    assert (first.body, second.body) == (b"hello chunked!!!", b"second")
    assert server.accepts == 1


PAGE = "<html><title>Zürich</title><body>" + "text " * 500 + "</body></html>"


def deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", deflate_raw),  # raw deflate, as some servers send it
        ("GZip ", gzip.compress),
    ],
    ids=["gzip", "x-gzip", "deflate", "raw-deflate", "gzip-spelled-oddly"],
)
def test_compressed_bodies_are_decoded(encoding: str, encode: Callable[[bytes], bytes]) -> None:
    raw = PAGE.encode()
    with ScriptedServer(answers(ok(encode(raw), f"Content-Encoding: {encoding}"))) as server:
        response = fetch(server.url())
    assert response.body == raw
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_gzip_bomb_expands_only_to_max_body() -> None:
    bomb = gzip.compress(bytes(20 << 20), 9)  # 20 MiB of zeros in about 20 KiB
    assert len(bomb) < 64 << 10
    with ScriptedServer(answers(ok(bomb, "Content-Encoding: gzip"))) as server:
        response = fetch(server.url(), max_body=64 << 10)
    assert response.body == bytes(64 << 10)


def test_body_past_max_body_is_cut_and_the_rest_not_read() -> None:
    size = 48 << 20  # more than loopback socket buffers hold
    send_failed = threading.Event()

    def huge(peer: Peer) -> None:
        peer.read_request()
        try:
            peer.send(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
            peer.send(b"x" * size)
        except OSError:
            send_failed.set()  # the client dropped the connection instead of reading on

    with ScriptedServer(per_connection(huge, answers(ok(b"second")))) as server:

        async def twice(client: Client) -> tuple[Response, Response]:
            first = await client.request("GET", server.url())
            return first, await client.request("GET", server.url())

        first, second = with_client(twice, max_body=10_000)
        assert send_failed.wait(2)
    assert (first.status, first.body, second.body) == (200, b"x" * 10_000, b"second")
    assert server.accepts == 2


@pytest.mark.parametrize("version", ["HTTP/1.0", "HTTP/1.1"])
def test_body_without_length_runs_until_the_connection_closes(version: str) -> None:
    def serve(peer: Peer) -> None:
        peer.read_request()
        peer.send(f"{version} 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ".encode())
        time.sleep(0.01)
        peer.send(b"part two")

    with ScriptedServer(per_connection(serve, answers(ok(b"second")))) as server:
        first, second = fetch_twice(server.url())
    assert (first.status, first.body, second.body) == (200, b"part one, part two", b"second")
    assert server.accepts == 2


def test_100_continue_comes_before_the_answer() -> None:
    interim = b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
    with ScriptedServer(answers(interim + ok(b"real", "X-Final: yes"), ok(b"next"))) as server:
        first, second = fetch_twice(server.url())
    assert (first.status, first.body, second.body) == (200, b"real", b"next")
    assert "x-interim" not in first.headers
    assert first.headers["x-final"] == "yes"
    assert server.accepts == 1


def test_head_answer_announcing_a_length_does_not_wait_for_a_body() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nContent-Type: application/pdf\r\n\r\n"
    with ScriptedServer(answers(head, ok(b"after"))) as server:

        async def head_then_get(client: Client) -> tuple[Response, Response]:
            first = await client.request("HEAD", server.url("/file.pdf"))
            return first, await client.request("GET", server.url("/file.pdf"))

        started = time.monotonic()
        first, second = with_client(head_then_get)
        elapsed = time.monotonic() - started
    assert (first.method, first.status, first.body) == ("HEAD", 200, b"")
    assert first.content_type == "application/pdf"
    assert (second.method, second.body) == ("GET", b"after")
    assert elapsed < 1.0
    assert server.lines() == ["HEAD /file.pdf HTTP/1.1", "GET /file.pdf HTTP/1.1"]


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_answers_that_never_have_a_body_keep_the_connection(status: str) -> None:
    empty = f"HTTP/1.1 {status}\r\nETag: x\r\n\r\n".encode()
    with ScriptedServer(answers(empty, ok(b"second"))) as server:
        first, second = fetch_twice(server.url())
    assert (first.body, second.body) == (b"", b"second")
    assert server.accepts == 1


def test_bytes_after_the_answer_are_not_taken_for_it() -> None:
    # A broken server sends two answers to one request, in one packet.
    double = ok(b"ok", "X-First: 1") + ok(b"bad", "X-Second: 2")
    with ScriptedServer(answers(double, ok(b"second"))) as server:
        first, second = fetch_twice(server.url())
    assert (first.body, second.body) == (b"ok", b"second")
    assert "x-second" not in first.headers
    assert server.accepts == 2


# -- failures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 OK\r\n\r\n",
        b"<html>no status line at all</html>\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA header without a colon\r\n\r\n",
    ],
    ids=["no-status-code", "no-status-line", "broken-header"],
)
def test_malformed_answer_is_invalid(answer: bytes) -> None:
    with ScriptedServer(answers(answer)) as server:
        error = failure(server.url())
    assert error.kind == "invalid"
    assert str(error).startswith("not a valid HTTP answer (")


def test_answer_cut_off_in_the_headers_is_invalid() -> None:
    def serve(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Ty")

    with ScriptedServer(serve) as server:
        error = failure(server.url())
    assert (type(error), error.kind, str(error)) == (BadAnswer, "invalid", "the answer was cut off")


@pytest.mark.parametrize(
    "partial", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"], ids=["silent", "stalled"]
)
def test_server_that_stops_answering_times_out(partial: bytes) -> None:
    def serve(peer: Peer) -> None:
        peer.read_request()
        peer.send(partial)
        peer.wait_closed()

    with ScriptedServer(serve) as server:
        started = time.monotonic()
        error = failure(server.url(), LOOPBACK.replace(timeout=0.3))
        elapsed = time.monotonic() - started
    assert (type(error), error.kind, str(error)) == (TimedOut, "timeout", "no answer within 0.3 s")
    assert 0.3 <= elapsed < 1.0


def test_a_kept_connection_is_timed_out_only_by_its_own_requests_deadline() -> None:
    # Deadlines are kept per connection and exchange (``_Deadlines``): the first
    # request's deadline passing while the same connection waits for the second answer
    # must not fail the second, which has time left.
    def serve(peer: Peer) -> None:
        peer.read_request()
        peer.send(ok(b"first"))
        peer.read_request()
        time.sleep(0.5)  # past the first request's deadline, within the second's
        peer.send(ok(b"second"))
        peer.wait_closed()

    async def twice(client: Client) -> tuple[bytes, bytes]:
        first = await client.request("GET", server.url("/a"))
        await asyncio.sleep(0.3)
        second = await client.request("GET", server.url("/b"))
        return first.body, second.body

    with ScriptedServer(serve) as server:
        bodies = with_client(twice, LOOPBACK.replace(timeout=0.7))
    assert bodies == (b"first", b"second")
    assert server.accepts == 1


def test_refused_connection_fails_to_connect() -> None:
    error = failure(f"http://127.0.0.1:{closed_port()}/")
    assert (type(error), error.kind, str(error)) == (
        ConnectFailed,
        "connect",
        "connection failed: Connection refused",
    )


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/file", "http:///no-host", "http://127.0.0.1:99999/"]
)
def test_url_the_client_cannot_ask_for_is_invalid(url: str) -> None:
    assert failure(url).kind == "invalid"


def test_unmapped_name_in_a_sandbox_is_no_such_host() -> None:
    error = failure("http://not-mapped.example/")
    assert (type(error), error.kind, str(error)) == (
        NoSuchHost,
        "no-such-host",
        "no such host: not-mapped.example",
    )


# -- redirects -------------------------------------------------------------------------


def test_relative_redirect_is_followed_and_reported() -> None:
    with ScriptedServer(answers(redirect(301, "../c?x=1#part"), ok(b"landed"))) as server:
        response = fetch(server.url("/a/b"))
    assert (response.status, response.body, response.redirects) == (200, b"landed", 1)
    assert response.final_url == server.url("/c?x=1")
    assert server.lines() == ["GET /a/b HTTP/1.1", "GET /c?x=1 HTTP/1.1"]
    assert server.accepts == 1


@pytest.mark.parametrize(
    ("method", "status"),
    [("HEAD", 303), ("GET", 303), ("HEAD", 301), ("HEAD", 302), ("HEAD", 307), ("HEAD", 308)],
)
def test_redirect_keeps_the_method(method: str, status: int) -> None:
    # GET and HEAD are the only methods the client sends; a 303 leaves either as it is.
    with ScriptedServer(answers(redirect(status, "/next"), ok(b""))) as server:
        response = fetch(server.url("/first"), method=method)
    assert response.method == method
    assert server.lines() == [f"{method} /first HTTP/1.1", f"{method} /next HTTP/1.1"]


def test_redirect_across_hosts_sends_the_new_host() -> None:
    with (
        ScriptedServer(answers(redirect(302, "http://new.example/moved"))) as old,
        ScriptedServer(answers(ok(b"new home"))) as new,
    ):
        settings = LOOPBACK.replace(
            host_map={"old.example": old.address, "new.example": new.address}
        )
        response = fetch("http://old.example/page", settings)
    assert (response.body, response.final_url, response.redirects) == (
        b"new home",
        "http://new.example/moved",
        1,
    )
    assert [r.headers["host"] for r in old.requests + new.requests] == [
        "old.example",
        "new.example",
    ]


def test_too_many_redirects() -> None:
    loop = [redirect(302, "/again")] * 10
    with ScriptedServer(answers(*loop)) as server:
        error = failure(server.url("/again"), LOOPBACK.replace(max_redirects=3))
    assert (type(error), error.kind, str(error)) == (
        TooManyRedirects,
        "redirects",
        "more than 3 redirects",
    )
    assert len(server.requests) == 4


@pytest.mark.parametrize(
    "location", ["ftp://files.example/report.pdf", "mailto:editor@news.example", "javascript:x()"]
)
def test_redirect_to_a_non_web_address_is_invalid(location: str) -> None:
    with ScriptedServer(answers(redirect(302, location))) as server:
        error = failure(server.url())
    assert (error.kind, str(error)) == ("invalid", f"redirected to a non-web address: {location}")


def test_redirect_without_a_location_is_the_answer() -> None:
    with ScriptedServer(answers(ok(b"moved, somewhere", status="302 Found"))) as server:
        response = fetch(server.url())
    assert (response.status, response.body, response.redirects) == (302, b"moved, somewhere", 0)


def test_location_in_raw_utf8_is_followed_as_utf8() -> None:
    # Servers often send non-ASCII Locations unescaped, as UTF-8 (browsers follow them so).
    moved = b"HTTP/1.1 301 Moved\r\nLocation: /caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n"
    with ScriptedServer(answers(moved, ok())) as server:
        response = fetch(server.url("/old"))
    assert server.lines()[1] == "GET /caf%C3%A9 HTTP/1.1"
    assert response.final_url == server.url("/café")


# -- what is sent ----------------------------------------------------------------------


def test_request_target_is_percent_encoded_like_a_browser() -> None:
    with ScriptedServer(answers(ok())) as server:
        fetch(server.url("/café menu/a%2Fb?q=日本 x&r=%41#fragment"))
    assert server.lines() == ["GET /caf%C3%A9%20menu/a%2Fb?q=%E6%97%A5%E6%9C%AC%20x&r=%41 HTTP/1.1"]


def test_request_head_names_the_host_and_the_client() -> None:
    settings = LOOPBACK.replace(user_agent="archiver-test/1.0")
    with ScriptedServer(answers(ok())) as server:
        fetch(server.url("/"), settings)
    [request] = server.requests
    assert request.headers == {
        "host": f"127.0.0.1:{server.port}",
        "user-agent": "archiver-test/1.0",
        "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "accept-encoding": "gzip, deflate",
        "connection": "keep-alive",
    }


def test_default_port_is_left_out_of_the_host_header() -> None:
    with ScriptedServer(answers(ok())) as server:
        fetch("http://news.example/", LOOPBACK.replace(host_map={"news.example": server.address}))
    assert server.requests[0].headers["host"] == "news.example"


@pytest.mark.parametrize("mapped_as", ["bücher.example", "xn--bcher-kva.example"])
def test_international_host_name_is_sent_in_idna(mapped_as: str) -> None:
    with ScriptedServer(answers(ok(b"books"))) as server:
        settings = LOOPBACK.replace(host_map={mapped_as: server.address})
        response = fetch("http://Bücher.example/", settings)
    assert response.body == b"books"
    assert server.requests[0].headers["host"] == "xn--bcher-kva.example"


def test_repeated_headers_are_joined_and_names_lower_cased() -> None:
    answer = ok(b"", "Vary: Accept", "X-Mixed-Case: 1", "Vary: Cookie", "Set-Cookie: a=1")
    with ScriptedServer(answers(answer)) as server:
        response = fetch(server.url())
    assert response.headers == {
        "content-length": "0",
        "vary": "Accept, Cookie",
        "x-mixed-case": "1",
        "set-cookie": "a=1",
    }


@pytest.fixture(scope="module")
def ipv6_loopback() -> str:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        pytest.skip("this machine has no IPv6 loopback (::1)")
    return "::1"


def test_ipv6_literal(ipv6_loopback: str) -> None:
    with ScriptedServer(answers(ok(b"over v6")), host=ipv6_loopback) as server:
        response = fetch(f"http://[::1]:{server.port}/six")
    assert response.body == b"over v6"
    assert server.requests[0].headers["host"] == f"[::1]:{server.port}"


# -- TLS -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def test_https_with_a_trusted_certificate(ca: trustme.CA, ca_bundle: Path) -> None:
    tls = server_context(ca, "secure.example")
    with ScriptedServer(answers(ok(b"secret"), ok(b"again")), tls=tls) as server:
        settings = LOOPBACK.replace(
            ca_bundle=ca_bundle, host_map={"secure.example": server.address}
        )
        first, second = fetch_twice("https://secure.example/page", settings)
    assert (first.body, second.body) == (b"secret", b"again")
    assert server.requests[0].headers["host"] == "secure.example"
    assert server.accepts == 1


def test_https_to_an_ip_address(ca: trustme.CA, ca_bundle: Path) -> None:
    with ScriptedServer(answers(ok(b"by address")), tls=server_context(ca, "127.0.0.1")) as server:
        response = fetch(server.url(), LOOPBACK.replace(ca_bundle=ca_bundle))
    assert response.body == b"by address"


def test_untrusted_certificate_fails_as_tls(ca: trustme.CA) -> None:
    tls = server_context(ca, "secure.example")
    with ScriptedServer(answers(ok()), tls=tls) as server:
        error = failure(
            "https://secure.example/", LOOPBACK.replace(host_map={"secure.example": server.address})
        )
    assert error.kind == "tls"
    assert str(error).startswith("TLS failed: ")
    assert "CERTIFICATE_VERIFY_FAILED" in str(error)
    assert server.requests == []


def test_certificate_for_another_name_fails_as_tls(ca: trustme.CA, ca_bundle: Path) -> None:
    with ScriptedServer(answers(ok()), tls=server_context(ca, "other.example")) as server:
        settings = LOOPBACK.replace(
            ca_bundle=ca_bundle, host_map={"secure.example": server.address}
        )
        error = failure("https://secure.example/", settings)
    assert error.kind == "tls"
    assert "secure.example" in str(error)


# -- proxies ---------------------------------------------------------------------------


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment without any proxy settings, for the test to add its own."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    return monkeypatch


# Not sandboxed: proxies apply only then. Every connection still goes to an IP literal.
OPEN = Settings(timeout=2.0)


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def test_http_request_goes_to_the_proxy_in_absolute_form(proxy_env: pytest.MonkeyPatch) -> None:
    with ScriptedServer(answers(ok(b"via proxy"), ok(b"again"))) as proxy:
        proxy_env.setenv("HTTP_PROXY", f"http://user:p%40ss@{proxy.address}")
        first, second = fetch_twice("http://news.example/a b?q=1#top", OPEN)
    assert (first.body, second.body) == (b"via proxy", b"again")
    assert proxy.lines() == ["GET http://news.example/a%20b?q=1 HTTP/1.1"] * 2
    assert proxy.requests[0].headers["host"] == "news.example"
    assert proxy.requests[0].headers["proxy-authorization"] == basic("user:p@ss")
    assert proxy.accepts == 1


def test_international_url_goes_to_the_proxy_encoded(proxy_env: pytest.MonkeyPatch) -> None:
    with ScriptedServer(answers(ok())) as proxy:
        proxy_env.setenv("http_proxy", f"http://{proxy.address}")
        fetch("http://bücher.example:8080/日本?q=é", OPEN)
    [request] = proxy.requests
    assert request.line == (
        "GET http://xn--bcher-kva.example:8080/%E6%97%A5%E6%9C%AC?q=%C3%A9 HTTP/1.1"
    )
    assert request.headers["host"] == "xn--bcher-kva.example:8080"
    assert "proxy-authorization" not in request.headers


def test_proxy_without_a_scheme_is_taken_as_http(proxy_env: pytest.MonkeyPatch) -> None:
    with ScriptedServer(answers(ok(b"via proxy"))) as proxy:
        proxy_env.setenv("HTTP_PROXY", proxy.address)  # as curl and requests accept it
        response = fetch("http://news.example/", OPEN)
    assert response.body == b"via proxy"
    assert proxy.lines() == ["GET http://news.example/ HTTP/1.1"]


def test_no_proxy_goes_direct(proxy_env: pytest.MonkeyPatch) -> None:
    with ScriptedServer(answers(ok(b"proxy"))) as proxy, ScriptedServer(answers(ok())) as origin:
        proxy_env.setenv("HTTP_PROXY", f"http://{proxy.address}")
        proxy_env.setenv("NO_PROXY", "localhost,127.0.0.1")
        response = fetch(origin.url("/direct"), OPEN)
    assert (response.body, proxy.accepts) == (b"ok", 0)
    assert origin.lines() == ["GET /direct HTTP/1.1"]


def tunnel_to(port: int) -> Handler:
    """A proxy answering CONNECT by relaying bytes to ``127.0.0.1:port``."""

    def handle(peer: Peer) -> None:
        if peer.read_request() is None:
            return
        with socket.create_connection(("127.0.0.1", port)) as upstream:
            peer.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if peer.buffer:
                upstream.sendall(peer.buffer)
            ends = {peer.sock: upstream, upstream: peer.sock}
            while True:
                readable, _, _ = select.select(list(ends), [], [], 5)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    ends[sock].sendall(data)

    return handle


def test_https_is_tunnelled_through_connect(
    proxy_env: pytest.MonkeyPatch, ca: trustme.CA, ca_bundle: Path
) -> None:
    tls = server_context(ca, "secure.example")
    with (
        ScriptedServer(answers(ok(b"tunnelled"), ok(b"again")), tls=tls) as origin,
        ScriptedServer(tunnel_to(origin.port)) as proxy,
    ):
        proxy_env.setenv("HTTPS_PROXY", f"http://user:pass@{proxy.address}")
        first, second = fetch_twice(
            "https://secure.example/page", OPEN.replace(ca_bundle=ca_bundle)
        )
    assert (first.body, second.body) == (b"tunnelled", b"again")
    [connect] = proxy.requests
    assert connect.line == "CONNECT secure.example:443 HTTP/1.1"
    assert connect.headers["host"] == "secure.example:443"
    assert connect.headers["proxy-authorization"] == basic("user:pass")
    # Inside the tunnel the request is the origin's own: no absolute form, no credentials.
    assert origin.lines() == ["GET /page HTTP/1.1"] * 2
    assert origin.requests[0].headers["host"] == "secure.example"
    assert "proxy-authorization" not in origin.requests[0].headers
    assert (proxy.accepts, origin.accepts) == (1, 1)


def test_tunnel_to_an_untrusted_server_fails_as_tls(
    proxy_env: pytest.MonkeyPatch, ca: trustme.CA
) -> None:
    with (
        ScriptedServer(answers(ok()), tls=server_context(ca, "secure.example")) as origin,
        ScriptedServer(tunnel_to(origin.port)) as proxy,
    ):
        proxy_env.setenv("HTTPS_PROXY", f"http://{proxy.address}")
        error = failure("https://secure.example/page", OPEN)
    assert error.kind == "tls"
    assert "CERTIFICATE_VERIFY_FAILED" in str(error)


def test_proxy_refusing_connect_fails_to_connect(proxy_env: pytest.MonkeyPatch) -> None:
    refusal = ok(b"log in first", 'Proxy-Authenticate: Basic realm="proxy"', status="407 Auth")
    with ScriptedServer(answers(refusal)) as proxy:
        proxy_env.setenv("HTTPS_PROXY", f"http://{proxy.address}")
        error = failure("https://secure.example/", OPEN)
    assert (error.kind, str(error)) == ("connect", "connection failed: the proxy answered 407")
    assert proxy.lines() == ["CONNECT secure.example:443 HTTP/1.1"]


@pytest.mark.parametrize(
    ("url", "authority"),
    [("https://[::1]/", "[::1]:443"), ("https://[::1]:8443/", "[::1]:8443")],
)
def test_connect_names_an_ipv6_literal_in_brackets(
    proxy_env: pytest.MonkeyPatch, url: str, authority: str
) -> None:
    with ScriptedServer(answers(ok(status="407 Auth"))) as proxy:
        proxy_env.setenv("HTTPS_PROXY", f"http://{proxy.address}")
        failure(url, OPEN)
    assert proxy.lines() == [f"CONNECT {authority} HTTP/1.1"]


# -- hostile servers: every head is bounded ----------------------------------------------


def sending_forever(
    start: bytes, repeated: bytes, limit: int = 16 << 20, end: bytes = b""
) -> Handler:
    """Answers with ``start``, then ``repeated`` over and over until the client hangs up,
    or until ``limit`` bytes (then ``end``): a client that reads it all must not take the
    machine's memory."""
    block = repeated * max(1, (64 << 10) // len(repeated))

    def serve(peer: Peer) -> None:
        peer.read_request()
        peer.send(start)
        sent = 0
        while sent < limit:  # an OSError once the client hangs up ends this
            peer.send(block)
            sent += len(block)
        peer.send(end)
        peer.wait_closed()

    return serve


def refused_quickly(handler: Handler) -> tuple[NetworkError, float, int]:
    """The failure, the seconds it took, and the peak memory it took in a second run
    (traced, which slows it) (the client has a 5 s timeout)."""
    settings = LOOPBACK.replace(timeout=5.0)
    with ScriptedServer(handler) as server:
        started = time.monotonic()
        error = failure(server.url(), settings)
        elapsed = time.monotonic() - started
        tracemalloc.start()
        try:
            assert str(failure(server.url(), settings)) == str(error)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return error, elapsed, peak


@pytest.mark.parametrize(
    "handler",
    [
        sending_forever(b"HTTP/1.1 200 OK\r\n", b"X-Filler: abcdefghijklmnopqrstuvwxyz\r\n"),
        sending_forever(b"HTTP/1.1 200 OK\r\nX-Endless: ", b"abcdefghijklmnop"),
        sending_forever(b"", b"HTTP/1.1 100 Continue\r\n\r\n"),
        sending_forever(
            b"HTTP/1.1 200 OK\r\n", b"Vary: a\r\n", 540_000, b"Content-Length: 0\r\n\r\n"
        ),
    ],
    ids=["endless-lines", "endless-value", "endless-interim-answers", "one-name-60000-times"],
)
def test_headers_past_256_kib_are_refused_at_once_in_bounded_memory(handler: Handler) -> None:
    error, elapsed, peak = refused_quickly(handler)
    assert (type(error), error.kind, str(error)) == (
        BadAnswer,
        "invalid",
        "the answer's headers are over 256 KiB",
    )
    assert elapsed < 1.0
    assert peak < 4 << 20


@pytest.mark.parametrize(
    ("after_the_head", "repeated"),
    [(b"5\r\nhello\r\n0\r\n", b"X-Trailer: abcdefgh\r\n"), (b"5;", b"extension")],
    ids=["endless-trailer", "endless-chunk-extension"],
)
def test_trailer_sent_forever_is_refused_at_once_in_bounded_memory(
    after_the_head: bytes, repeated: bytes
) -> None:
    start = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + after_the_head
    error, elapsed, peak = refused_quickly(sending_forever(start, repeated))
    assert (type(error), error.kind, str(error)) == (
        BadAnswer,
        "invalid",
        "the answer's headers and trailer are over 256 KiB",
    )
    assert elapsed < 1.0
    assert peak < 4 << 20


def test_more_than_1000_header_fields_are_refused() -> None:
    fields = [f"X-Field-{i}: {i}" for i in range(999)]  # with Content-Length: 1000
    with ScriptedServer(
        answers(ok(b"many", *fields), ok(b"", *fields, "X-One-Too-Many: 1"))
    ) as server:
        response = fetch(server.url())
        error = failure(server.url())
    assert (response.status, response.body, len(response.headers)) == (200, b"many", 1000)
    assert (type(error), str(error)) == (BadAnswer, "the answer has more than 1000 header fields")


def test_one_header_repeated_up_to_the_cap_is_joined_in_order() -> None:
    values = [f"<https://cdn.example/{i:04}.css>; rel=preload" + " " * 200 for i in range(999)]
    answer = ok(b"", *(f"Link: {value}" for value in values))
    with ScriptedServer(answers(answer)) as server:
        started = time.monotonic()
        response = fetch(server.url())
        elapsed = time.monotonic() - started
    assert response.headers["link"] == ", ".join(value.strip() for value in values)
    assert elapsed < 1.0


# -- odd answers a browser reads ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ODD_404S))
def test_odd_answers_browsers_read_are_read(name: str) -> None:
    with ScriptedServer(answers(odd_404(name))) as server:
        response = fetch(server.url())
    assert (response.status, response.body) == (404, b"not found")


def test_folded_header_is_one_value_and_control_bytes_are_kept() -> None:
    with ScriptedServer(
        answers(odd_404("folded-header"), odd_404("control-byte-in-a-header"))
    ) as server:
        folded, odd = fetch_twice(server.url())
    assert folded.headers["x-folded"] == "first second"
    assert odd.headers["x-odd"] == "a\x01b\x7fc"


def test_answer_with_both_transfer_encoding_and_content_length_is_not_reused() -> None:
    # The chunks are the body (RFC 9112, 6.3); the connection is not trusted again.
    answer = odd_404("transfer-encoding-and-content-length")
    with ScriptedServer(answers(answer, ok(b"second"))) as server:
        first, second = fetch_twice(server.url())
    assert (first.body, second.body) == (b"not found", b"second")
    assert server.accepts == 2


def test_conflicting_content_lengths_are_invalid() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nContent-Length: 12\r\n\r\nnot found"
    with ScriptedServer(answers(answer)) as server:
        error = failure(server.url())
    assert (type(error), str(error)) == (
        BadAnswer,
        "not a valid HTTP answer (conflicting Content-Length headers)",
    )


# -- redirects from odd servers ----------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "http://[::1/x",
        "http://[zz]/",
        "http://a.example:99999/",
        "http://a\x01b.example/",
        "http://a b.example/",
        "http://a..b.example/",
    ],
)
def test_malformed_location_is_an_invalid_answer(location: str) -> None:
    with ScriptedServer(answers(redirect(301, location))) as server:
        error = failure(server.url())
    assert (type(error), error.kind, str(error)) == (
        BadAnswer,
        "invalid",
        f"redirected to an invalid address: {location}",
    )


def test_two_locations_the_first_is_followed() -> None:
    moved = ok(b"", "Location: /first", "Location: /second", status="302 Found")
    with ScriptedServer(answers(moved, ok(b"landed"))) as server:
        response = fetch(server.url("/old"))
    assert server.lines() == ["GET /old HTTP/1.1", "GET /first HTTP/1.1"]
    assert (response.body, response.final_url) == (b"landed", server.url("/first"))


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("faß.example", "xn--fa-hia.example"),  # UTS 46 non-transitional: ß is kept
        ("βόλος.example", "xn--nxasmm1c.example"),  # and the final sigma
        ("☕.example", "xn--53h.example"),
        ("ＮＥＷＳ．example", "news.example"),  # full-width letters and dot, mapped
    ],
)
def test_host_names_are_encoded_as_browsers_do(written: str, sent: str) -> None:
    with ScriptedServer(answers(ok(b"one"), ok(b"two"))) as server:
        by_written = LOOPBACK.replace(host_map={written: server.address})
        by_sent = LOOPBACK.replace(host_map={sent: server.address})
        first = fetch(f"http://{written}/", by_written)
        second = fetch(f"http://{written}/", by_sent)
    assert (first.body, second.body) == (b"one", b"two")
    assert [r.headers["host"] for r in server.requests] == [sent, sent]


# -- keep-alive, cookies -----------------------------------------------------------------


def test_408_on_a_kept_connection_is_retried_on_a_new_one() -> None:
    def answer_then_time_out(peer: Peer) -> None:
        peer.read_request()
        peer.send(ok(b"first"))
        peer.read_request()  # the server had given up on the idle connection meanwhile
        peer.send(ok(b"", "Connection: close", status="408 Request Timeout"))

    with ScriptedServer(per_connection(answer_then_time_out, answers(ok(b"second")))) as server:
        first, second = fetch_twice(server.url("/x"))
    assert (first.body, second.status, second.body) == (b"first", 200, b"second")
    assert [r.connection for r in server.requests] == [1, 1, 2]


def test_408_on_a_new_connection_is_the_answer() -> None:
    refusal = ok(b"", "Connection: close", status="408 Request Timeout")
    with ScriptedServer(answers(refusal, ok())) as server:
        response = fetch(server.url())
    assert response.status == 408
    assert server.accepts == 1


def test_cookies_set_along_a_redirect_chain_are_sent_along_it() -> None:
    with ScriptedServer(cookie_wall) as server:
        response = fetch(server.url("/story"))
        again = fetch(server.url("/story"))  # a new chain starts without cookies
    assert (response.status, response.body, response.redirects) == (200, STORY, 2)
    assert [r.headers.get("cookie") for r in server.requests] == [
        None,
        "visit=1",
        "visit=1; consent=yes",
        None,
        "visit=1",
        "visit=1; consent=yes",
    ]
    assert again.body == STORY


def test_cookies_go_only_to_the_hosts_they_were_set_for() -> None:
    def hub(peer: Peer) -> None:
        while (request := peer.read_request()) is not None:
            host, path = request.headers["host"], request.line.split()[1]
            if (host, path) == ("www.news.example", "/a"):
                answer = ok(
                    b"",
                    "Location: http://login.news.example/b",
                    "Set-Cookie: own=1",
                    "Set-Cookie: shared=2; Domain=news.example",
                    "Set-Cookie: foreign=3; Domain=other.example",
                    "Set-Cookie: everyone=4; Domain=example",
                    status="302 Found",
                )
            elif host == "login.news.example":
                answer = redirect(302, "http://other.example/c")
            else:
                answer = ok(b"done")
            peer.send(answer)

    with ScriptedServer(hub) as server:
        names = ("www.news.example", "login.news.example", "other.example")
        settings = LOOPBACK.replace(host_map={name: server.address for name in names})
        response = fetch("http://www.news.example/a", settings)
    assert response.body == b"done"
    assert [r.headers.get("cookie") for r in server.requests] == [None, "shared=2", None]


# -- answers in small pieces -------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        b"X-Folded: a\r\n b\r\n\r\n5;x=y\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n",
        b"HTTP/1.1 200\nContent-Length: 5\nX-Folded: a\n\tb\n\nhello",
        b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nX-Folded: a b\n\n5\nhello\n0\n\n",
    ],
    ids=["crlf-chunked", "lf-length", "lf-chunked"],
)
def test_an_answer_sent_a_byte_at_a_time_reads_the_same(answer: bytes) -> None:
    def trickle(peer: Peer) -> None:
        peer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while peer.read_request() is not None:
            for i in range(len(answer)):
                peer.send(answer[i : i + 1])
                time.sleep(0.0005)

    with ScriptedServer(trickle) as server:
        first, second = fetch_twice(server.url())
    assert (first.status, first.body, first.headers["x-folded"]) == (200, b"hello", "a b")
    assert "x-trailer" not in first.headers
    assert second.body == b"hello"
    assert server.accepts == 1


def test_a_head_arriving_a_few_bytes_at_a_time_is_read_in_linear_time() -> None:
    # httptools copied a header line's pieces together: 256 KiB in 16-byte reads took 0.3 s.
    from archiver.net.aioclient import _Connection

    value = b"v" * 250_000
    answer = b"HTTP/1.1 200 OK\r\nX-Long: " + value + b"\r\nContent-Length: 2\r\n\r\nok"

    class Wire(asyncio.Transport):
        def write(self, data: bytes | bytearray | memoryview) -> None:
            pass

        def abort(self) -> None:
            pass

    async def read_in_pieces() -> tuple[float, Any]:
        connection = _Connection(max_body=1000)
        connection.connection_made(Wire())
        answered = connection.send(b"GET / HTTP/1.1\r\n\r\n", False)
        await asyncio.sleep(0)
        started = time.monotonic()
        for i in range(0, len(answer), 4):
            connection.data_received(answer[i : i + 4])
        return time.monotonic() - started, await answered

    elapsed, (head, body) = run_on_loop(read_in_pieces())
    assert (head.status, head.headers["x-long"], body) == (200, value.decode(), b"ok")
    assert elapsed < 1.0


@pytest.mark.parametrize("user_agent", ["archiver 日本", "archiver\r\nX-Injected: 1"])
def test_a_user_agent_no_header_can_carry_is_refused_at_once(user_agent: str) -> None:
    # Before, every request raised UnicodeEncodeError: "internal error" for the whole run.
    with pytest.raises(InputError) as caught:
        Client(LOOPBACK.replace(user_agent=user_agent), max_body=100)
    assert str(caught.value) == (
        "the User-Agent must be text an HTTP header can carry (Latin-1, no line breaks or"
        f" control characters): {user_agent!r}"
    )


SHAPES_OF_URLS = [
    "http://127.0.0.5:18390/p/12345",
    "https://Example.COM/a/b?c=d&e=f#frag",
    "http://example.com",
    "http://example.com?q=1",
    "http://example.com#top",
    "http://example.com:80/x",
    "https://example.com:443/x",
    "http://example.com:0/x",
    "http://example.com:08080/x",
    "http://example.com:99999/x",
    "http://example.com:/x",
    "http://example.com:8a/x",
    "http://example.com./x",
    "http://a..b/x",
    "http://ex ample.com/x",
    "http://example.com/a b/ü?q=ä ö",
    "http://example.com/%41%zz?x=%20",
    "http://user:pw@example.com/x",
    "http://[::1]:8080/x",
    "http://[nonsense]/x",
    "http://example.com\\evil.com/x",
    "http://exa\tmple.com/x\n",
    " http://example.com/x",
    "HTTP://example.com/x",
    "ftp://example.com/x",
    "http:///x",
    "http://-/x",
    "http://bücher.example/x",
    "http://example.com/?",
    "http://example.com/x??y",
]


@pytest.mark.parametrize("url", SHAPES_OF_URLS)
def test_the_quick_read_of_a_url_gives_what_urlsplit_gives(url: str) -> None:
    # A request's target is read without urlsplit where the URL has the common shape;
    # every URL, of that shape or not, must give the same target (or the same refusal).
    from archiver.net.targets import Target

    def read(parse: Callable[[str], Any]) -> Any:
        try:
            return parse(url)
        except BadUrl as e:
            return ("refused", str(e))

    assert read(Target.parse) == read(Target.parse_any)
