"""A stand-in for the live web: one HTTP server on loopback serving many named hosts.

Pages are looked up by the request's ``Host`` header, so a client whose host map points
``news.example`` and ``gov.example`` at this server's address sees two different sites.
Each page can misbehave the ways real sites do (404/410, 5xx, redirects, slow or hung
answers, bodies far larger than anyone should read, HEAD refused, connections dropped),
which is what the link checker, the demo and the tests need to meet.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from archiver.demo.simweb.serving import ThreadedService


@dataclass(frozen=True)
class Page:
    """How one URL answers."""

    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    location: str | None = None  # for 3xx answers
    delay: float = 0.0  # seconds to wait before answering
    hang: bool = False  # never answer (until the server stops)
    drop: bool = False  # close the connection without answering
    head_status: int | None = None  # answer HEAD with this status instead (405: HEAD refused)
    repeat: int = 1  # send the body this many times (a huge body without holding it)

    @property
    def body_bytes(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


NOT_FOUND = Page(status=404, body="<html><title>Not Found</title><h1>Not Found</h1></html>")


@dataclass
class Site:
    """The pages of one host; ``fallback`` answers every path not listed."""

    pages: dict[str, Page] = field(default_factory=dict)
    fallback: Page = NOT_FOUND


@dataclass(frozen=True)
class Hit:
    method: str
    host: str
    path: str
    headers: tuple[tuple[str, str], ...]


class OriginServer(ThreadedService):
    """Serve ``sites`` (host → Site) on 127.0.0.1; use as a context manager."""

    def __init__(
        self,
        sites: Mapping[str, Site] | None = None,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.sites: dict[str, Site] = {host.lower(): site for host, site in (sites or {}).items()}
        self.hits: list[Hit] = []
        self.in_flight: dict[str, int] = {}
        self.peak_in_flight: dict[str, int] = {}  # most requests one host had open at once
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), _Handler)
        if ssl_context is not None:  # an HTTPS origin: every connection is TLS
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._server.origin = self

    def host_map(self, extra_hosts: Iterable[str] = ()) -> dict[str, str]:
        """host → address for every site, ready for ``Settings.host_map``."""
        return {host: self.address for host in [*self.sites, *extra_hosts]}

    def add(self, url: str, page: Page) -> None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        self.sites.setdefault(host, Site()).pages[path] = page

    def hits_for(self, host: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.host == host.lower()]

    def stop(self) -> None:
        self._stopping.set()  # releases handlers that are hanging on purpose
        super().stop()

    def _page_for(self, host: str, path: str) -> Page:
        site = self.sites.get(host)
        if site is None:
            return Page(status=421, body="misdirected request: unknown host")
        return site.pages.get(path) or site.pages.get(urlsplit(path).path) or site.fallback


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    origin: OriginServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return  # keep test output quiet

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        origin = self.server.origin
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        if self.path.startswith(("http://", "https://")):  # absolute form, as through a proxy
            host = (urlsplit(self.path).hostname or host).lower()
            path = urlsplit(self.path).path or "/"
        else:
            path = self.path
        with origin._lock:
            origin.hits.append(Hit(self.command, host, path, tuple(self.headers.items())))
            origin.in_flight[host] = origin.in_flight.get(host, 0) + 1
            origin.peak_in_flight[host] = max(
                origin.peak_in_flight.get(host, 0), origin.in_flight[host]
            )
        try:
            self._send_page(origin, origin._page_for(host, path), send_body)
        finally:
            with origin._lock:
                origin.in_flight[host] -= 1

    def _send_page(self, origin: OriginServer, page: Page, send_body: bool) -> None:
        if page.hang:
            origin._stopping.wait(timeout=600)
            self.close_connection = True
            return
        if page.delay:
            origin._stopping.wait(timeout=page.delay)
        if page.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status = page.status
        if not send_body and page.head_status is not None:
            status = page.head_status
        body = page.body_bytes
        self.send_response(status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(body) * page.repeat))
        if page.location is not None:
            self.send_header("Location", page.location)
        for name, value in page.headers:
            self.send_header(name, value)
        self.end_headers()
        if not send_body:
            return
        try:
            for _ in range(page.repeat):
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading: expected for huge bodies
