"""A small HTTP/1.1 client on asyncio, made for checking thousands of links at once.

Why not aiohttp (which the checker used first): on the link-checking benchmark, opening
a connection and sending a request cost aiohttp about 0.4 ms of CPU and this client about
0.1 ms. When 1,600 requests must leave at once, that decides whether the last leaves
after 0.6 s or after 0.15 s, and a hung server's timeout only starts when its request
leaves. Importing aiohttp also cost 0.2 s at start-up, more than this whole module.
Answers are read by ``archiver.net.answers`` (httptools' llhttp read them until issue 12:
why it no longer does is said there).

What it does: GET and HEAD over HTTP/1.1 (HTTP/1.0 answers too), TLS with certificate
checks, keep-alive connections reused per host (a kept connection the server gave up on,
closed or answered 408, is replaced), redirects followed with the cookies their answers
set (``archiver.net.redirects``), gzip and deflate bodies, at most ``max_body`` bytes of
any body read, HTTP proxies (CONNECT for https), one timeout per hop (connecting, sending
and the answer), host names pinned by the host map and written as browsers write them.
What it leaves out on purpose: request bodies, cookies kept beyond one request, HTTP/2,
pipelining.

Against hostile servers: an answer's head is read as browsers read it, odd but readable
heads included, and refused past 256 KiB or 1,000 fields (``archiver.net.answers``), at
once, in bounded memory; so is a trailer that runs on.

Failures are the ``NetworkError`` subclasses of ``archiver.errors`` that ``archiver.net.http``
raises too (``TimedOut``, ``NoSuchHost``, ...); their ``kind`` is what the checker turns into
a verdict, and their messages are the reasons its reports show.
"""

from __future__ import annotations

import asyncio
import base64
import math
import os
import re
import socket
import ssl
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from archiver.config import Settings
from archiver.errors import (
    BadAnswer,
    BadUrl,
    ConnectFailed,
    ConnectionClosed,
    DnsUnavailable,
    InputError,
    NoSuchHost,
    TimedOut,
    TlsFailed,
)
from archiver.net.answers import (
    HEAD_TOO_LARGE,
    MAX_HEAD_BYTES,
    BodyReader,
    ResponseHead,
    end_of_head,
    looks_like_http,
    parse_head,
)
from archiver.net.bodies import decode_body
from archiver.net.hostmap import HostMap, ProxyChooser, is_ip_address
from archiver.net.redirects import RedirectChain
from archiver.net.targets import Target

_SENDABLE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")  # what a header value may hold
_BLANK_LINES = re.compile(rb"[\r\n]*")  # skipped before a status line, as browsers do
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


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


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection, reading one answer at a time, bounded and as browsers
    read it (``archiver.net.answers``)."""

    def __init__(self, max_body: int, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self._loop = loop
        self.max_body = max_body
        self.closed = False
        self.reusable = False
        self._waiter: asyncio.Future[tuple[ResponseHead, bytes]] | None = None
        self._head_only = False
        self._got_bytes = False
        self._pending = bytearray()  # an incomplete head
        self._scanned = 0  # how far the pending head was searched for its end
        self._head_bytes = 0  # read as heads for this request (interim answers included)
        self._head: ResponseHead | None = None
        self._body: BodyReader | None = None  # once the head is in
        self._chunks: list[bytes] = []
        self._size = 0
        self._serial = 0  # exchanges made: which one a deadline is for

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._head is not None:  # an answer whose body ends with the connection
            self._finish(reusable=False)
        elif self._got_bytes:
            waiter.set_exception(BadAnswer("the answer was cut off"))
        else:
            waiter.set_exception(_Closed())
        self._waiter = None

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():  # bytes nobody asked for: not safe to reuse
            self.reusable = False
            return
        self._got_bytes = True
        if self._head is None:
            self._read_head(data)
        else:
            self._read_body(data)

    def _read_head(self, data: bytes | bytearray) -> None:
        """Gather the head until its blank line (refused at once past the bounds), skip
        interim 1xx answers, and hand what follows to the body."""
        self._head_bytes += len(data)
        start = 0  # where the head being read starts in ``data``
        if self._pending:
            self._pending += data
            data = self._pending
        while True:
            if data is self._pending:  # searched before up to ``_scanned``
                end = end_of_head(data, self._scanned)
            else:
                if data.startswith((b"\r", b"\n"), start):  # skipped, as browsers do
                    start = _BLANK_LINES.match(data, start).end()  # type: ignore[union-attr]
                end = end_of_head(data, start)
            if end < 0:
                if self._head_bytes > MAX_HEAD_BYTES:
                    self._fail(BadAnswer(HEAD_TOO_LARGE))
                elif not looks_like_http(data[start : start + 5]):
                    self._fail(BadAnswer("not a valid HTTP answer (no status line)"))
                elif data is not self._pending:
                    self._pending = bytearray(data[start:])
                self._scanned = max(0, len(self._pending) - 3)
                return
            self._pending, self._scanned = bytearray(), 0
            try:
                if self._head_bytes - (len(data) - end) > MAX_HEAD_BYTES:
                    raise BadAnswer(HEAD_TOO_LARGE)
                head = parse_head(bytes(data[start:end]))
                if not 100 <= head.status < 200 or head.status == 101:
                    break
            except BadAnswer as e:
                self._fail(e)
                return
            start = end  # "100 Continue" and the like come before the answer
        rest = bytes(data[end:])
        self._head_bytes -= len(rest)
        self._head = head
        if self._head_only or head.status == 101:
            self._finish(reusable=False)
            return
        try:
            self._body = BodyReader(head, MAX_HEAD_BYTES - self._head_bytes)
        except BadAnswer as e:
            self._fail(e)
            return
        if self._body.done or rest:
            self._read_body(rest)

    def _read_body(self, data: bytes) -> None:
        body = self._body
        assert body is not None
        try:
            piece = body.feed(data)
        except BadAnswer as e:
            self._fail(e)
            return
        if piece:
            self._chunks.append(piece)
            self._size += len(piece)
            if self._size >= self.max_body:
                self._finish(reusable=False)  # the rest is not read; the connection is dropped
                return
        if body.done:
            self._finish(reusable=body.keep_alive and not body.extra)

    # used by Client
    def send(
        self, request: bytes, head_only: bool, deadlines: _Deadlines | None = None, until: float = 0
    ) -> asyncio.Future[tuple[ResponseHead, bytes]]:
        """Send ``request``; a future of the head and (capped) body of its answer (a
        future, not a coroutine: one less to resume on every answer). With ``deadlines``,
        it raises TimeoutError when the answer is not in by ``until`` (the loop's time),
        as ``asyncio.timeout_at`` would, but without a timeout context (its object, its
        coroutines and its look-ups of the current task) or a timer of its own. Once it
        is done, the connection no longer holds it (nor the body in it)."""
        assert self.transport is not None
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        self._head_only = head_only
        self._got_bytes = self.reusable = False
        self._head_bytes = self._size = 0
        self._head, self._body, self._chunks = None, None, []
        self._serial += 1
        if deadlines is not None:
            deadlines.add(until, self, self._serial)
        self.transport.write(request)
        return waiter

    def time_out(self, serial: int) -> None:
        """Fail the exchange numbered ``serial`` (``_Deadlines``) if it is still waiting."""
        if serial == self._serial and self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(TimeoutError())
            self._waiter = None

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _finish(self, reusable: bool) -> None:
        if self._waiter is not None and not self._waiter.done():
            assert self._head is not None
            self.reusable = reusable
            body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
            self._chunks = []  # not held here: ``_Deadlines`` keeps the connection a while
            self._waiter.set_result((self._head, body[: self.max_body]))
            self._waiter = None

    def _fail(self, error: BadAnswer) -> None:
        """Refuse the answer now: stop reading, and let go of what was gathered."""
        self._pending, self._chunks = bytearray(), []
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)
        self._waiter = None
        self.reusable = False
        self.abort()


DEADLINE_TICK = 0.001  # seconds: how late, at most, a timeout is noticed (libuv counts in ms)


class _Deadlines:
    """When each request in flight must have its answer by. Requests whose deadlines fall
    in the same ``DEADLINE_TICK`` share one timer on the loop: uvloop makes a libuv timer
    for each, and a timer a request (made and cancelled) was ~10 % of a checking
    process's CPU in bench/'s scenario C."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: dict[int, list[tuple[_Connection, int]]] = {}

    def add(self, until: float, connection: _Connection, serial: int) -> None:
        """Time out ``connection``'s exchange ``serial`` if it is not done by ``until``."""
        tick = math.ceil(until / DEADLINE_TICK)
        due = self._due.get(tick)
        if due is None:
            self._due[tick] = due = []
            self._loop.call_at(tick * DEADLINE_TICK, self._expire, tick)
        due.append((connection, serial))

    def _expire(self, tick: int) -> None:
        for connection, serial in self._due.pop(tick, ()):
            connection.time_out(serial)


_PoolKey = tuple[str, str, int, str | None]  # scheme, host, port, proxy: connections kept


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
        self._idle: defaultdict[_PoolKey, list[_Connection]] = defaultdict(list)
        self._idle_limit = max(settings.per_host, 1)
        self._loop: asyncio.AbstractEventLoop | None = None  # the one it is used in
        self._deadlines: _Deadlines | None = None
        self._user_agent = settings.user_agent
        if not _SENDABLE.fullmatch(settings.user_agent):  # else every request would fail
            raise InputError(
                "the User-Agent must be text an HTTP header can carry (Latin-1, no line"
                f" breaks or control characters): {settings.user_agent!r}"
            )
        self._fixed_headers = (
            f"User-Agent: {settings.user_agent}\r\nAccept: {ACCEPT}\r\n"
            "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n"
        )

    async def request(self, method: str, url: str) -> Response:
        """``method`` (GET or HEAD) on ``url``, following redirects."""
        chain = RedirectChain(method, url, self.max_redirects)
        while True:
            head, body = await self.exchange(chain)
            response = self.final_answer(chain, head, body)
            if response is not None:
                return response

    def final_answer(
        self, chain: RedirectChain, head: ResponseHead, body: bytes
    ) -> Response | None:
        """The answer to ``chain``'s current hop as its final Response, or None when it
        redirects (``chain`` then names the next hop). Raises BadAnswer or
        TooManyRedirects when the redirect cannot be followed."""
        if chain.follow(head):
            return None
        body = decode_body(body, head.headers.get("content-encoding"), self.max_body)
        return Response(chain.method, head.status, chain.url, head.headers, body, chain.redirects)

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.abort()
        self._idle.clear()

    def let_go(self, url: str) -> None:
        """Close the idle connections kept for ``url``'s origin: its host has nothing
        more to be asked (a long list would otherwise keep some for every host it named,
        to the end)."""
        try:
            key, _ = self._pool_key(Target.parse(url), url)
        except BadUrl:  # nothing was ever asked of it
            return
        for connection in self._idle.pop(key, ()):
            connection.abort()

    def _pool_key(self, target: Target, url: str) -> tuple[_PoolKey, str | None]:
        """Where ``url`` is asked: the key of its kept connections, and its proxy."""
        proxy = self._proxies.proxy_for(url)
        if proxy is not None and "://" not in proxy:
            proxy = f"http://{proxy}"  # "host:port", as curl and requests take it
        return (target.scheme, target.host, target.port, proxy), proxy

    async def exchange(
        self, chain: RedirectChain, timeout: float | None = None
    ) -> tuple[ResponseHead, bytes]:
        """One hop of ``chain`` (with the cookies it holds for it), within ``timeout``
        seconds (the settings' by default): the answer's head and raw body. The link
        checker makes each hop itself, to hold a slot on each hop's host."""
        method, url = chain.method, chain.url
        timeout = self.timeout if timeout is None else timeout
        target = Target.parse(url)
        key, proxy = self._pool_key(target, url)
        through_proxy = proxy is not None and target.scheme == "http"
        path = f"http://{target.host_header}{target.path}" if through_proxy else target.path
        head = f"{method} {path} HTTP/1.1\r\nHost: {target.host_header}\r\n"
        if through_proxy and proxy is not None:
            head += _proxy_authorization(proxy)
        cookies = chain.cookie_header()
        if cookies is not None:
            head += f"Cookie: {cookies}\r\n"
        request = (head + self._fixed_headers + "\r\n").encode("latin-1")
        loop, deadlines = self._loop, self._deadlines
        if loop is None or deadlines is None:
            loop = self._loop = asyncio.get_running_loop()
            deadlines = self._deadlines = _Deadlines(loop)
        while True:
            until = loop.time() + timeout  # for connecting, sending and the answer
            connection = self._take_idle(key)
            reused = connection is not None
            try:
                if connection is None:
                    async with asyncio.timeout_at(until):
                        connection = await self._open(target, proxy)
                answer = await connection.send(request, method == "HEAD", deadlines, until)
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
                raise TimedOut(f"no answer within {timeout:g} s") from None
            except BaseException:
                if connection is not None:
                    connection.abort()
                raise
            if reused and answer[0].status == 408:
                connection.abort()  # it gave up on the idle connection: ask on a new one
                continue
            if connection.reusable and not connection.closed:
                self._give_back(key, connection)
            else:
                connection.abort()
            return answer

    def _take_idle(self, key: _PoolKey) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if not connection.closed and connection.reusable:
                return connection
            connection.abort()
        return None

    def _give_back(self, key: _PoolKey, connection: _Connection) -> None:
        idle = self._idle[key]
        if len(idle) < self._idle_limit:
            idle.append(connection)
        else:
            connection.abort()

    async def _open(self, target: Target, proxy: str | None) -> _Connection:
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
        answer, _ = await connection.send(tunnel, head_only=True)
        if answer.status != 200:
            connection.abort()
            raise ConnectFailed(f"connection failed: the proxy answered {answer.status}")
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
                    lambda: _Connection(self.max_body, loop),
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
        except UnicodeError as e:  # a label too long for DNS, as the resolver's codec says
            raise NoSuchHost(f"no such host: {host}") from e

    async def _lookup(self, host: str, port: int) -> list[tuple[str, int]]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys((str(info[4][0]), int(info[4][1])) for info in infos))

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:  # made on first use: loading the trust store takes a while
            cafile = str(self._ca_bundle) if self._ca_bundle is not None else None
            self._tls = ssl.create_default_context(cafile=cafile)
            self._tls.set_alpn_protocols(["http/1.1"])
        return self._tls


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
