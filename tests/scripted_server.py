"""Scripted servers on loopback: bare TCP listeners whose handlers write exact bytes.

Both HTTP clients are tested against them (``test_aioclient``, ``test_http``): every edge
of HTTP/1.1 (keep-alive, chunking, cut-off answers, hung servers, TLS) is produced
precisely rather than by whatever a server library happens to send.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import trustme


@dataclass(frozen=True)
class Request:
    """One request head as the server read it."""

    line: str
    headers: dict[str, str]  # lower-case names
    connection: int  # which accepted connection it came on, counting from 1


class Peer:
    """The server's end of one accepted connection."""

    def __init__(self, sock: socket.socket, number: int, server: ScriptedServer) -> None:
        self.sock = sock
        self.number = number
        self.server = server
        self.buffer = b""

    def read_request(self) -> Request | None:
        """The next request head, or None once the client has closed the connection."""
        while b"\r\n\r\n" not in self.buffer:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return None
            if not data:
                return None
            self.buffer += data
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        line, *fields = head.decode("latin-1").split("\r\n")
        headers = {}
        for field in fields:
            name, _, value = field.partition(":")
            headers[name.strip().lower()] = value.strip()
        request = Request(line, headers, self.number)
        self.server.requests.append(request)
        return request

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait_closed(self) -> None:
        """Read and drop everything until the client closes (or the server stops)."""
        with contextlib.suppress(OSError):
            while self.sock.recv(65536):
                pass


Handler = Callable[[Peer], None]


class ScriptedServer:
    """A loopback listener running ``handler`` on its own thread for each connection."""

    def __init__(
        self, handler: Handler, *, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.handler = handler
        self.tls = tls
        self.host = host
        self.listener = socket.create_server(
            (host, 0), family=socket.AF_INET6 if ":" in host else socket.AF_INET
        )
        self.port: int = self.listener.getsockname()[1]
        self.accepts = 0
        self.requests: list[Request] = []
        self.handshake_failures = 0
        self._errors: list[BaseException] = []
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> str:
        """``ip:port``, for ``Settings.host_map``."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}{path}"

    def lines(self) -> list[str]:
        return [request.line for request in self.requests]

    def __enter__(self) -> Self:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes handlers blocked in recv()
        for thread in list(self._threads):
            thread.join(timeout=5)
        if self._errors and exc_type is None:
            raise AssertionError(f"a server handler failed: {self._errors[0]!r}")

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.accepts += 1
            self._sockets.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock, self.accepts), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        try:
            if self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    self.handshake_failures += 1
                    return
                self._sockets.append(sock)
            self.handler(Peer(sock, number, self))
        except OSError:
            pass  # the client went away: what happens then is each test's business
        except BaseException as e:
            self._errors.append(e)
        finally:
            sock.close()


def answers(*responses: bytes) -> Handler:
    """Answers each request, on whichever connection it comes, with the next of
    ``responses``, and keeps the connection open until they run out."""
    pending = list(responses)
    lock = threading.Lock()

    def handle(peer: Peer) -> None:
        while peer.read_request() is not None:
            with lock:
                if not pending:
                    return
                response = pending.pop(0)
            peer.send(response)

    return handle


def per_connection(*handlers: Handler) -> Handler:
    """The first connection gets the first handler, the second the second, and so on."""

    def handle(peer: Peer) -> None:
        handlers[peer.number - 1](peer)

    return handle


def ok(body: bytes = b"ok", *headers: str, status: str = "200 OK") -> bytes:
    """An HTTP/1.1 answer with an exact Content-Length."""
    head = "".join(f"{header}\r\n" for header in headers)
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


def redirect(status: int, location: str) -> bytes:
    return ok(b"", f"Location: {location}", status=f"{status} Moved")


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    """A server-side TLS context with a certificate from ``ca`` for ``names``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


# -- odd and hostile answers -------------------------------------------------------------

# Heads of a 404 answer that break the letter of HTTP/1.1 but that browsers read; each is
# followed by a body of "not found" (``odd_404``).
ODD_404S = {
    "lf-line-ends": b"HTTP/1.1 404 Not Found\nContent-Type: text/html\nContent-Length: 9\n\n",
    "folded-header": (
        b"HTTP/1.1 404 Not Found\r\nX-Folded: first\r\n \t second\r\nContent-Length: 9\r\n\r\n"
    ),
    "control-byte-in-a-header": (
        b"HTTP/1.1 404 Not Found\r\nX-Odd: a\x01b\x7fc\r\nContent-Length: 9\r\n\r\n"
    ),
    "transfer-encoding-and-content-length": (
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n9\r\n"
    ),
    "content-length-twice": (
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nContent-Length: 9\r\n\r\n"
    ),
    "content-length-listed-twice": b"HTTP/1.1 404 Not Found\r\nContent-Length: 9, 9\r\n\r\n",
    "no-reason-phrase": b"HTTP/1.1 404\r\nContent-Length: 9\r\n\r\n",
    "no-reason-phrase-lf": b"HTTP/1.1 404\nContent-Length: 9\n\n",
    "reason-phrase-empty": b"HTTP/1.1 404 \r\nContent-Length: 9\r\n\r\n",
    "chunked-lf-line-ends": b"HTTP/1.1 404 Not Found\nTransfer-Encoding: chunked\n\n9\n",
    "blank-line-before-status": b"\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n",
}


def odd_404(name: str) -> bytes:
    """The odd head of ``name`` with its body, "not found"."""
    head = ODD_404S[name]
    if head.endswith(b"9\r\n"):  # chunked, CRLF
        return head + b"not found\r\n0\r\n\r\n"
    if head.endswith(b"9\n"):  # chunked, LF only
        return head + b"not found\n0\n\n"
    return head + b"not found"


STORY = b"<html><title>The story</title><p>What happened, told at length.</p></html>"


def cookie_wall(peer: Peer) -> None:
    """A news site that bounces a first visit through a consent page setting cookies, and
    sends readers without them back to it."""
    while (request := peer.read_request()) is not None:
        cookies = request.headers.get("cookie", "")
        path = request.line.split()[1]
        if path == "/story" and "consent=yes" not in cookies:
            answer = ok(b"", "Location: /consent", "Set-Cookie: visit=1; Path=/; HttpOnly",
                        status="302 Found")  # fmt: skip
        elif path == "/consent":
            answer = ok(b"", "Location: /story", "Set-Cookie: consent=yes; Path=/; Max-Age=3600",
                        "Set-Cookie: tracker=x; Path=/ads", status="302 Found")  # fmt: skip
        elif path == "/story":
            answer = ok(STORY, "Content-Type: text/html")
        else:
            answer = ok(b"no such page", status="404 Not Found")
        peer.send(answer)
