"""A small HTTP/1.1 client on asyncio, made for checking thousands of links at once.

Why not aiohttp (which the checker used first): on the link-checking benchmark, opening
a connection and sending a request cost aiohttp about 0.4 ms of CPU and this client about
0.1 ms (httptools' C parser reads the answers). When 1,600 requests must leave at once,
that decides whether the last leaves after 0.6 s or after 0.15 s, and a hung server's
timeout only starts when its request leaves. Importing aiohttp also cost 0.2 s at
start-up, more than this whole module with its parser.

What it does: GET and HEAD over HTTP/1.1 (HTTP/1.0 answers too), TLS with certificate
checks, keep-alive connections reused per host, redirects followed, gzip and deflate
bodies, at most ``max_body`` bytes of any body read, HTTP proxies (CONNECT for https),
one deadline per request (connecting, sending and the answer), host names pinned by the
host map. What it leaves out on purpose: request bodies, cookies, HTTP/2, pipelining.

Failures are the ``NetworkError`` subclasses of ``archiver.errors`` that ``archiver.net.http``
raises too (``TimedOut``, ``NoSuchHost``, ...); their ``kind`` is what the checker turns into
a verdict, and their messages are the reasons its reports show.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import re
import socket
import ssl
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import httptools

from archiver.config import Settings
from archiver.errors import (
    BadAnswer,
    BadUrl,
    ConnectFailed,
    ConnectionClosed,
    DnsUnavailable,
    NoSuchHost,
    TimedOut,
    TlsFailed,
    TooManyRedirects,
)
from archiver.net.bodies import decode_body
from archiver.net.hostmap import HostMap, ProxyChooser, is_ip_address

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# Characters left as they are in a request target; everything else (spaces, non-ASCII
# text) is percent-encoded the way browsers do, and existing escapes are kept.
_SAFE = "!#$%&'()*+,/:;=?@[]~"
_ALREADY_SAFE = re.compile(r"[A-Za-z0-9_.\-!#$%&'()*+,/:;=?@\[\]~]*")


def _quoted(text: str) -> str:
    """``text`` percent-encoded for a request target (most URLs need nothing done)."""
    return text if _ALREADY_SAFE.fullmatch(text) else quote(text, safe=_SAFE)


@functools.lru_cache(maxsize=4096)
def _idna(hostname: str) -> str:
    """A host name as sent: IDNA-encoded (and checked), once per host, not per URL."""
    return hostname.encode("idna").decode("ascii")


@dataclass(frozen=True, slots=True)
class Response:
    """One answer, after any redirects. ``headers`` has lower-case names (repeated
    headers joined with ", "); ``body`` is decoded and at most ``max_body`` bytes."""

    method: str
    status: int
    final_url: str
    headers: dict[str, str]
    body: bytes
    redirects: int

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str  # as sent (IDNA-encoded), without brackets
    port: int
    host_header: str
    path: str  # the request target: path and query, percent-encoded

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise BadUrl(f"not an http(s) URL: {url}")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
            host = _idna(parts.hostname)
        except (ValueError, UnicodeError) as e:
            raise BadUrl(f"not a valid URL: {url} ({e})") from e
        shown = f"[{host}]" if ":" in host else host
        default = port == (443 if scheme == "https" else 80)
        path = _quoted(parts.path or "/")
        if parts.query:
            path += "?" + _quoted(parts.query)
        return cls(scheme, host, port, shown if default else f"{shown}:{port}", path)


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection, reading one answer at a time with httptools."""

    def __init__(self, max_body: int) -> None:
        self.transport: asyncio.Transport | None = None
        self.max_body = max_body
        self.closed = False
        self.reusable = False
        self._waiter: asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes]] | None = None
        self._parser: Any = None
        self._head_only = False
        self._informational = False
        self._got_bytes = False
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._chunks: list[bytes] = []
        self._size = 0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._status:  # an answer whose body ends with the connection (HTTP/1.0 style)
            self._finish(reusable=False)
        elif self._got_bytes:
            waiter.set_exception(BadAnswer("the answer was cut off"))
        else:
            waiter.set_exception(_Closed())

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():  # bytes nobody asked for: not safe to reuse
            self.reusable = False
            return
        self._got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # a 101 or a CONNECT answer: the head is enough
            self._finish(reusable=False)
        except httptools.HttpParserError as e:
            if not waiter.done():
                waiter.set_exception(BadAnswer(f"not a valid HTTP answer ({e})"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self._done():  # a second answer to one request: not safe to reuse
            self.reusable = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._done():
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._done():
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._informational = True  # "100 Continue" and the like come before the answer
            return
        self._status = status
        if self._head_only:
            self._finish(reusable=False)

    def on_body(self, body: bytes) -> None:
        if self._informational or self._done():
            return
        self._chunks.append(body)
        self._size += len(body)
        if self._size >= self.max_body:
            self._finish(reusable=False)  # the rest is not read; the connection is dropped

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            self._headers = []
            return
        if not self._done():
            self._finish(reusable=bool(self._parser.should_keep_alive()))

    # used by Client
    async def exchange(
        self, request: bytes, head_only: bool
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send ``request``; the status, headers and (capped) body of its answer."""
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._parser = httptools.HttpResponseParser(self)
        self._head_only = head_only
        self._informational = self._got_bytes = self.reusable = False
        self._status, self._headers, self._chunks, self._size = 0, [], [], 0
        self.transport.write(request)
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _done(self) -> bool:
        return self._waiter is None or self._waiter.done()

    def _finish(self, reusable: bool) -> None:
        if self._waiter is not None and not self._waiter.done():
            self.reusable = reusable
            body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
            self._waiter.set_result((self._status, self._headers, body[: self.max_body]))


class _Closed(Exception):
    """The connection closed before any byte of an answer: a kept-alive connection the
    server had already given up on, worth one more try on a new connection."""


class Client:
    """Makes requests with archiver's identity, host map and proxies; reuses connections.

    Use inside one event loop, and ``close()`` it at the end.
    """

    def __init__(self, settings: Settings, max_body: int) -> None:
        self.timeout = settings.timeout
        self.max_redirects = settings.max_redirects
        self.max_body = max_body
        self._host_map = HostMap(settings.host_map, settings.resolve_only)
        self._proxies = ProxyChooser(settings)
        self._ca_bundle = settings.ca_bundle
        self._tls: ssl.SSLContext | None = None
        self._addresses: dict[tuple[str, int], asyncio.Future[list[tuple[str, int]]]] = {}
        self._idle: defaultdict[tuple[str, str, int, str | None], list[_Connection]] = defaultdict(
            list
        )
        self._idle_limit = max(settings.per_host, 1)
        self._user_agent = settings.user_agent
        self._fixed_headers = (
            f"User-Agent: {settings.user_agent}\r\nAccept: {ACCEPT}\r\n"
            "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n"
        )

    async def request(self, method: str, url: str) -> Response:
        """``method`` (GET or HEAD) on ``url``, following redirects."""
        redirects = 0
        while True:
            status, raw_headers, body = await self._exchange(method, url)
            headers: dict[str, str] = {}
            for raw_name, raw_value in raw_headers:
                name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            location = _utf8_if_valid(headers.get("location", "")).strip()
            if status not in REDIRECT_STATUSES or not location:
                body = decode_body(body, headers.get("content-encoding"), self.max_body)
                return Response(method, status, url, headers, body, redirects)
            if redirects >= self.max_redirects:
                raise TooManyRedirects(f"more than {self.max_redirects} redirects")
            following = urljoin(url, location).partition("#")[0]
            if urlsplit(following).scheme.lower() not in ("http", "https"):
                raise BadAnswer(f"redirected to a non-web address: {location}")
            if status == 303 and method != "HEAD":
                method = "GET"
            url = following
            redirects += 1

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.abort()
        self._idle.clear()

    async def _exchange(
        self, method: str, url: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        target = _Target.parse(url)
        proxy = self._proxies.proxy_for(url)
        if proxy is not None and "://" not in proxy:
            proxy = f"http://{proxy}"  # "host:port", as curl and requests take it
        key = (target.scheme, target.host, target.port, proxy)
        through_proxy = proxy is not None and target.scheme == "http"
        path = f"http://{target.host_header}{target.path}" if through_proxy else target.path
        head = f"{method} {path} HTTP/1.1\r\nHost: {target.host_header}\r\n"
        if through_proxy and proxy is not None:
            head += _proxy_authorization(proxy)
        request = (head + self._fixed_headers + "\r\n").encode("latin-1")
        while True:
            connection = self._take_idle(key)
            reused = connection is not None
            try:
                async with asyncio.timeout(self.timeout):
                    if connection is None:
                        connection = await self._open(target, proxy)
                    answer = await connection.exchange(request, head_only=method == "HEAD")
            except _Closed:
                if connection is not None:
                    connection.abort()
                if reused:
                    continue  # the server had closed the idle connection: try a new one
                raise ConnectionClosed(
                    "connection failed: the server closed it without answering"
                ) from None
            except TimeoutError:
                if connection is not None:
                    connection.abort()
                raise TimedOut(f"no answer within {self.timeout:g} s") from None
            except BaseException:
                if connection is not None:
                    connection.abort()
                raise
            if connection.reusable and not connection.closed:
                self._give_back(key, connection)
            else:
                connection.abort()
            return answer

    def _take_idle(self, key: tuple[str, str, int, str | None]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if not connection.closed and connection.reusable:
                return connection
            connection.abort()
        return None

    def _give_back(self, key: tuple[str, str, int, str | None], connection: _Connection) -> None:
        idle = self._idle[key]
        if len(idle) < self._idle_limit:
            idle.append(connection)
        else:
            connection.abort()

    async def _open(self, target: _Target, proxy: str | None) -> _Connection:
        loop = asyncio.get_running_loop()
        if proxy is None:
            return await self._connect(target.host, target.port, target.scheme == "https")
        proxy_parts = urlsplit(proxy)
        if proxy_parts.scheme.lower() != "http" or not proxy_parts.hostname:
            raise ConnectFailed(f"connection failed: unsupported proxy {proxy}")
        connection = await self._connect(proxy_parts.hostname, proxy_parts.port or 80, False)
        if target.scheme == "http":
            return connection
        shown = f"[{target.host}]" if ":" in target.host else target.host  # IPv6 in brackets
        authority = f"{shown}:{target.port}"
        tunnel = (
            f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{_proxy_authorization(proxy)}"
            f"User-Agent: {self._user_agent}\r\n\r\n"
        ).encode("latin-1")
        status, _, _ = await connection.exchange(tunnel, head_only=True)
        if status != 200:
            connection.abort()
            raise ConnectFailed(f"connection failed: the proxy answered {status}")
        assert connection.transport is not None
        try:
            transport = await loop.start_tls(
                connection.transport, connection, self._tls_context(), server_hostname=target.host
            )
        except ssl.SSLError as e:
            connection.abort()
            raise TlsFailed(f"TLS failed: {e}") from e
        except OSError as e:
            connection.abort()
            raise _connect_failure(e) from e
        connection.transport = transport
        connection.closed = False
        return connection

    async def _connect(self, host: str, port: int, tls: bool) -> _Connection:
        loop = asyncio.get_running_loop()
        addresses = await self._resolve(host, port)
        failure: BaseException | None = None
        for ip, ip_port in addresses:  # in the resolver's order, as browsers do without v6 racing
            try:
                _, connection = await loop.create_connection(
                    lambda: _Connection(self.max_body),
                    ip,
                    ip_port,
                    ssl=self._tls_context() if tls else None,
                    server_hostname=host if tls else None,
                )
                return connection
            except ssl.SSLError as e:
                raise TlsFailed(f"TLS failed: {e}") from e
            except OSError as e:
                failure = e
        assert isinstance(failure, OSError)
        raise _connect_failure(failure) from failure

    async def _resolve(self, host: str, port: int) -> list[tuple[str, int]]:
        """The addresses to try for ``host``: pinned by the host map, literal, or from the
        system resolver (asked once per host and run)."""
        try:
            ip, mapped_port = self._host_map.resolve(host, port)
        except socket.gaierror as e:
            raise _dns_failure(host, e) from e
        if (ip, mapped_port) != (host, port) or is_ip_address(host):
            return [(ip, mapped_port)]
        pending = self._addresses.get((host, port))
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(host, port))
            self._addresses[(host, port)] = pending
        try:
            return await asyncio.shield(pending)
        except socket.gaierror as e:
            raise _dns_failure(host, e) from e

    async def _lookup(self, host: str, port: int) -> list[tuple[str, int]]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys((str(info[4][0]), int(info[4][1])) for info in infos))

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:  # made on first use: loading the trust store takes a while
            cafile = str(self._ca_bundle) if self._ca_bundle is not None else None
            self._tls = ssl.create_default_context(cafile=cafile)
            self._tls.set_alpn_protocols(["http/1.1"])
        return self._tls


def _utf8_if_valid(header: str) -> str:
    """A header value read as latin-1, re-read as UTF-8 where that is what its bytes are
    (servers send non-ASCII Locations unescaped, and browsers follow them as UTF-8)."""
    try:
        return header.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header


def _proxy_authorization(proxy: str) -> str:
    parts = urlsplit(proxy)
    if parts.username is None:
        return ""
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return f"Proxy-Authorization: Basic {base64.b64encode(pair).decode('ascii')}\r\n"


def _dns_failure(host: str, error: socket.gaierror) -> NoSuchHost | DnsUnavailable:
    if error.errno == socket.EAI_AGAIN:
        return DnsUnavailable(f"DNS lookup failed for {host} (temporary failure)")
    return NoSuchHost(f"no such host: {host}")


def _connect_failure(error: OSError) -> ConnectFailed:
    detail = os.strerror(error.errno) if error.errno else str(error) or type(error).__name__
    return ConnectFailed(f"connection failed: {detail}")
