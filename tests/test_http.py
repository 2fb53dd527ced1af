"""``archiver.net.http.fetch`` against real servers on loopback: what went wrong on the wire
comes out as one typed error from ``archiver.errors``, with one exact one-line message.

Every failure is produced for real (a refused port, a server that never answers, a name
the host map refuses, a certificate nobody trusts, a redirect loop, a body cut short), not
by mocking requests: the point is which exceptions requests and urllib3 really raise.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from archiver.config import Settings
from archiver.errors import (
    BadAnswer,
    BadUrl,
    ConnectFailed,
    ConnectionClosed,
    NetworkError,
    NoSuchHost,
    TimedOut,
    TlsFailed,
    TooManyRedirects,
)
from archiver.net.http import Fetched, build_session, fetch
from tests.conftest import closed_port
from tests.scripted_server import Peer, ScriptedServer, answers, ok, redirect, server_context

# Sandboxed: only IP literals and mapped names resolve, and no proxy from the environment.
LOOPBACK = Settings(timeout=2.0, retries=0, resolve_only=True)


def failure(url: str, settings: Settings = LOOPBACK) -> NetworkError:
    with build_session(settings) as session, pytest.raises(NetworkError) as caught:
        fetch(session, url, settings)
    return caught.value


def described(error: NetworkError) -> tuple[type[NetworkError], str, str]:
    return type(error), error.kind, str(error)


# -- before any answer -----------------------------------------------------------------


def test_a_refused_port_is_connect_failed() -> None:
    port = closed_port()
    assert described(failure(f"http://127.0.0.1:{port}/page")) == (
        ConnectFailed,
        "connect",
        f"cannot connect to 127.0.0.1:{port} (connection refused)",
    )


def test_a_server_that_accepts_and_never_answers_times_out() -> None:
    def silent(peer: Peer) -> None:
        peer.read_request()
        peer.wait_closed()

    with ScriptedServer(silent) as server:
        started = time.monotonic()
        error = failure(server.url(), LOOPBACK.replace(timeout=0.3))
        elapsed = time.monotonic() - started
    assert described(error) == (
        TimedOut,
        "timeout",
        f"no answer from {server.address} within 0.3s",
    )
    assert 0.3 <= elapsed < 1.5


def test_a_name_the_host_map_does_not_know_is_no_such_host() -> None:
    settings = LOOPBACK.replace(host_map={"known.example": f"127.0.0.1:{closed_port()}"})
    assert described(failure("http://unknown.example/page", settings)) == (
        NoSuchHost,
        "no-such-host",
        "no such host: unknown.example",
    )


def test_a_certificate_the_client_does_not_trust_is_tls_failed() -> None:
    tls = server_context(trustme.CA(), "secure.example")
    with ScriptedServer(answers(ok()), tls=tls) as server:
        settings = LOOPBACK.replace(host_map={"secure.example": server.address})
        error = failure("https://secure.example/", settings)
    assert described(error) == (
        TlsFailed,
        "tls",
        "TLS with secure.example failed "
        "(certificate verify failed: unable to get local issuer certificate)",
    )
    assert server.requests == []


def test_a_certificate_for_another_name_is_tls_failed(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with ScriptedServer(answers(ok()), tls=server_context(ca, "other.example")) as server:
        settings = LOOPBACK.replace(ca_bundle=bundle, host_map={"secure.example": server.address})
        error = failure("https://secure.example/", settings)
    assert described(error) == (
        TlsFailed,
        "tls",
        "TLS with secure.example failed (certificate verify failed: "
        "Hostname mismatch, certificate is not valid for 'secure.example'.)",
    )


def test_a_redirect_loop_is_too_many_redirects() -> None:
    with ScriptedServer(answers(*[redirect(302, "/again")] * 10)) as server:
        error = failure(server.url("/start"), LOOPBACK.replace(max_redirects=3))
    assert described(error) == (
        TooManyRedirects,
        "redirects",
        f"more than 3 redirects from {server.address}",
    )
    assert len(server.requests) == 4  # the first request and three redirects followed


def test_a_connection_closed_without_an_answer_is_connection_closed() -> None:
    def hang_up(peer: Peer) -> None:
        peer.read_request()

    with ScriptedServer(hang_up) as server:
        error = failure(server.url())
    assert described(error) == (
        ConnectionClosed,
        "closed",
        f"{server.address} closed the connection without answering",
    )


def test_an_answer_that_is_not_http_is_a_bad_answer() -> None:
    with ScriptedServer(answers(b"<html>no status line at all</html>\r\n\r\n")) as server:
        error = failure(server.url())
    assert described(error) == (
        BadAnswer,
        "invalid",
        f"not a valid HTTP answer from {server.address}",
    )


def test_a_redirect_off_the_web_is_a_bad_answer() -> None:
    with ScriptedServer(answers(redirect(302, "ftp://files.example/report.pdf"))) as server:
        error = failure(server.url())
    assert described(error) == (
        BadAnswer,
        "invalid",
        f"{server.address} redirected to an address that is not an http(s) URL",
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/file", "not an http(s) URL: ftp://127.0.0.1/file"),
        ("http:///no-host", "not an http(s) URL: http:///no-host"),
        (
            "http://127.0.0.1:99999/",
            "not a valid URL: http://127.0.0.1:99999/ (Port out of range 0-65535)",
        ),
    ],
)
def test_a_url_no_request_can_be_made_for_is_a_bad_url(url: str, message: str) -> None:
    assert described(failure(url)) == (BadUrl, "invalid", message)


# -- while the body is read ------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n",
    ],
    ids=["content-length", "chunked"],
)
def test_a_body_cut_off_is_a_bad_answer_not_a_urllib3_error(head: bytes) -> None:
    def cut_off(peer: Peer) -> None:
        peer.read_request()
        peer.send(head + b"the first words and then nothing")
        peer.sock.shutdown(socket.SHUT_RDWR)

    with ScriptedServer(cut_off) as server:
        error = failure(server.url())
    assert described(error) == (
        BadAnswer,
        "invalid",
        f"the answer from {server.address} was cut off",
    )


def test_a_body_that_stalls_times_out() -> None:
    def stall(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nthe first words")
        peer.wait_closed()

    with ScriptedServer(stall) as server:
        error = failure(server.url(), LOOPBACK.replace(timeout=0.3))
    assert described(error) == (
        TimedOut,
        "timeout",
        f"no answer from {server.address} within 0.3s",
    )


# -- what it sends and reads -----------------------------------------------------------


def test_a_form_body_is_sent_with_the_request() -> None:
    received: list[bytes] = []

    def read_form(peer: Peer) -> None:
        request = peer.read_request()
        assert request is not None
        length = int(request.headers["content-length"])
        while len(peer.buffer) < length:
            peer.buffer += peer.sock.recv(65536)
        received.append(peer.buffer[:length])
        peer.send(ok(b'{"job_id": "j1"}', "Content-Type: application/json"))

    with ScriptedServer(read_form) as server, build_session(LOOPBACK) as session:
        answer = fetch(
            session,
            server.url("/save"),
            LOOPBACK,
            method="POST",
            data={"url": "http://news.example/a b", "if_not_archived_within": "30d"},
        )
    assert (answer.status, answer.body) == (200, b'{"job_id": "j1"}')
    assert server.lines() == ["POST /save HTTP/1.1"]
    assert server.requests[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert received == [b"url=http%3A%2F%2Fnews.example%2Fa+b&if_not_archived_within=30d"]


def test_a_body_past_the_cap_is_truncated_not_an_error() -> None:
    with ScriptedServer(answers(ok(b"x" * 1000))) as server, build_session(LOOPBACK) as session:
        answer = fetch(session, server.url(), LOOPBACK, max_bytes=100)
    assert (answer.status, len(answer.raw_body), answer.truncated) == (200, 100, True)


def test_a_fetched_answer_never_shows_the_credentials_it_was_asked_with() -> None:
    answer = Fetched(
        url="http://spn.test/save",
        final_url="http://spn.test/save",
        status=200,
        reason="OK",
        http_version="HTTP/1.1",
        headers=[],
        raw_body=b"",
        truncated=False,
        request_headers=[("Authorization", "LOW access:secret")],
    )
    assert "secret" not in repr(answer)
    assert answer.request_headers == [("Authorization", "LOW access:secret")]


class _CookieSetter(BaseHTTPRequestHandler):
    """Sets a cookie on every answer and says which cookie it was sent, if any."""

    def do_GET(self) -> None:
        if self.path == "/bounce":  # a redirect that sets the cookie on the way
            self.send_response(302)
            self.send_header("Set-Cookie", "passage=1; Path=/")
            self.send_header("Location", "/page")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = (self.headers.get("Cookie") or "no cookie").encode()
        self.send_response(200)
        self.send_header("Set-Cookie", "session=abc; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_session_keeps_no_cookie_from_one_request_to_the_next() -> None:
    # An archive's raw replay passes the archived page's Set-Cookie through; a session that
    # kept it would send the archived site's cookie to the archive with every later read.
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CookieSetter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/page"
        with build_session(LOOPBACK) as session:
            first = fetch(session, url, LOOPBACK)
            second = fetch(session, url, LOOPBACK)
            bounced = fetch(session, url.replace("/page", "/bounce"), LOOPBACK)
    finally:
        server.shutdown()
        server.server_close()
    assert first.header("Set-Cookie") == "session=abc; Path=/"
    assert (first.body, second.body) == (b"no cookie", b"no cookie")
    assert bounced.body == b"passage=1"  # within one redirect chain, a cookie goes along
