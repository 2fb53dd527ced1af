"""The one place that builds HTTP sessions, reads bodies and names what went wrong.

Every request archiver makes goes through a session from ``build_session`` so that the
User-Agent, timeouts, connection-pool sizes and the host map are the same everywhere, and
through ``fetch`` so that no body is ever read past ``Settings.max_bytes``.

``fetch`` raises only the ``NetworkError`` subclasses of ``archiver.errors``: the
exceptions of ``requests``, and those urllib3 raises directly while a body is streamed,
are mapped to them here and nowhere else, by their types (and the exceptions they wrap),
never by their wording. Each message is one line that names the host, worded one way
("no answer from HOST within 10s", "cannot connect to HOST (connection refused)", "no such
host: HOST"); callers add where they were ("ia: ...").

The host map (``archiver.net.hostmap``) replaces DNS for the names it lists. The link
checker has its own client (``archiver.net.aioclient``) with the same identity and host
map, and raises the same error types.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import os
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from archiver.config import Settings
from archiver.errors import (
    BadAnswer,
    BadUrl,
    ConnectFailed,
    ConnectionClosed,
    DnsUnavailable,
    NetworkError,
    NoSuchHost,
    TimedOut,
    TlsFailed,
    TooManyRedirects,
)
from archiver.net.bodies import decode_body
from archiver.net.hostmap import HostMap

__all__ = ["Fetched", "HostMap", "build_session", "decode_body", "fetch"]


def _connect(conn: Any, host_map: HostMap) -> socket.socket:
    # Mirrors urllib3's HTTPConnection._new_conn, with the host map in place of DNS, so
    # that failures surface as the same urllib3 (and so requests) exceptions.
    try:
        address = host_map.resolve(conn._dns_host, conn.port)
        return urllib3_connection.create_connection(
            address,
            conn.timeout,
            source_address=conn.source_address,
            socket_options=conn.socket_options,
        )
    except socket.gaierror as e:
        raise NameResolutionError(conn.host, conn, e) from e
    except TimeoutError as e:
        raise ConnectTimeoutError(
            conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
        ) from e
    except OSError as e:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {e}") from e


class _MappedAdapter(HTTPAdapter):
    def __init__(self, host_map: HostMap, **kwargs: Any) -> None:
        self._host_map = host_map
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        host_map = self._host_map

        class MappedHTTPConnection(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                return _connect(self, host_map)

        class MappedHTTPSConnection(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                return _connect(self, host_map)

        class MappedHTTPPool(HTTPConnectionPool):
            ConnectionCls = MappedHTTPConnection

        class MappedHTTPSPool(HTTPSConnectionPool):
            ConnectionCls = MappedHTTPSConnection

        self.poolmanager.pool_classes_by_scheme = {"http": MappedHTTPPool, "https": MappedHTTPSPool}


def build_session(settings: Settings, pool_hosts: int = 64) -> requests.Session:
    """A session with archiver's User-Agent, pool sizes and host map.

    ``pool_hosts`` is how many hosts keep open connections at once; each keeps up to
    ``settings.per_host`` of them, matching the per-host concurrency limit.
    """
    session = requests.Session()
    session.headers["User-Agent"] = settings.user_agent
    session.headers["Accept-Encoding"] = "gzip, deflate"
    session.max_redirects = settings.max_redirects
    # No cookie outlives its request: an archive's raw replay passes the archived page's
    # Set-Cookie through, and a jar would send that site's cookie to the archive on every
    # later read. (Within one redirect chain requests still carries them along.)
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = _MappedAdapter(
        HostMap(settings.host_map, settings.resolve_only),
        pool_connections=pool_hosts,
        pool_maxsize=max(settings.per_host, 1),
        max_retries=0,
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if settings.host_map or settings.resolve_only:
        # A sandboxed session must not be redirected through a proxy from the environment.
        session.trust_env = False
    if settings.ca_bundle is not None:
        session.verify = str(settings.ca_bundle)
    return session


def header_value(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of header ``name`` (any case) in ``headers``, or None."""
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return None


@dataclass(frozen=True)
class Fetched:
    """A response read with a size cap.

    ``raw_body`` is the payload as sent (content-encoding intact, transfer-encoding
    removed), which is what a WARC record stores; ``body`` is it decoded.
    """

    url: str
    final_url: str
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    raw_body: bytes
    truncated: bool
    # Not in the repr: a request may carry credentials (Save Page Now's Authorization).
    request_headers: list[tuple[str, str]] = field(default_factory=list, repr=False)
    history: tuple[tuple[str, int], ...] = ()  # redirects followed: (url, status)

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    @property
    def body(self) -> bytes:
        return decode_body(self.raw_body, self.header("Content-Encoding"))

    def text(self) -> str:
        content_type = self.header("Content-Type") or ""
        charset = "utf-8"
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"'")
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def fetch(
    session: requests.Session,
    url: str,
    settings: Settings,
    *,
    method: str = "GET",
    allow_redirects: bool = True,
    headers: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
) -> Fetched:
    """Make one request (with ``data`` as a form body, if given) and read at most
    ``max_bytes`` of its body.

    Raises the ``NetworkError`` subclasses when no usable answer came; callers decide
    what they mean (for a link check a verdict, for an archive lookup an error).
    """
    limit = settings.max_bytes if max_bytes is None else max_bytes
    _check_url(url)
    try:
        response = session.request(
            method,
            url,
            headers=dict(headers or {}),
            data=dict(data) if data is not None else None,
            timeout=settings.timeout,
            allow_redirects=allow_redirects,
            stream=True,
        )
    except _TRANSPORT_FAILURES as e:
        raise _typed(e, url, settings.timeout, session.max_redirects, answering=False) from e
    try:
        raw, truncated = _read_capped(response, limit) if method != "HEAD" else (b"", False)
    except _TRANSPORT_FAILURES as e:
        raise _typed(
            e, response.url, settings.timeout, session.max_redirects, answering=True
        ) from e
    finally:
        response.close()
    version = {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}.get(
        getattr(response.raw, "version", 11), "HTTP/1.1"
    )
    return Fetched(
        url=url,
        final_url=response.url,
        status=response.status_code,
        reason=response.reason or "",
        http_version=version,
        headers=list(response.raw.headers.items()),
        raw_body=raw,
        truncated=truncated,
        request_headers=list(response.request.headers.items()),
        history=tuple((r.url, r.status_code) for r in response.history),
    )


def _read_capped(response: requests.Response, limit: int) -> tuple[bytes, bool]:
    """The body as sent (content-encoding intact), at most ``limit`` bytes of it, and
    whether there was more."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.raw.stream(64 * 1024, decode_content=False):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _check_url(url: str) -> None:
    """BadUrl unless ``url`` is one requests can ask for (worded as the checker's client
    words it). Checked before sending, so that a URL refused later can only be a
    redirect's."""
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise BadUrl(f"not an http(s) URL: {url}")
        parts.port  # noqa: B018 - raises ValueError on a malformed port
        parts.hostname.encode("idna")  # as urllib3 does before it connects
        requests.PreparedRequest().prepare_url(url, None)
    except (ValueError, requests.RequestException, urllib3.exceptions.HTTPError) as e:
        raise BadUrl(f"not a valid URL: {url} ({e})") from e


# -- what went wrong --------------------------------------------------------------------

# What a request can raise before it is answered (requests' exceptions, urllib3's and
# http.client's when they escape it, OSError for the socket) and what streaming a body
# can raise (urllib3's, directly: requests does not wrap ``response.raw``).
_TRANSPORT_FAILURES = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)
_TIMEOUTS = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
_NOT_A_WEB_ADDRESS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    urllib3.exceptions.LocationValueError,
)
_CLOSED = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


def _typed(
    error: BaseException, url: str, timeout: float, max_redirects: int, *, answering: bool
) -> NetworkError:
    """The ``NetworkError`` subclass for ``error``, raised while asking for ``url`` (or,
    with ``answering``, while reading its answer's body), told by the types of the
    exceptions it wraps. It is the one table of transport failures, read top to bottom:
    the first match wins, and the order matters (urllib3's connection errors are
    timeouts by inheritance, ``RemoteDisconnected`` is a reset)."""
    causes = _causes(error)

    def first(*types: type[BaseException]) -> BaseException | None:
        return next((cause for cause in causes if isinstance(cause, types)), None)

    request = getattr(error, "request", None)  # requests names the hop that failed
    parts = urlsplit(getattr(request, "url", None) or url)
    where = parts.netloc.rpartition("@")[2]  # never the credentials
    if answering:
        if first(*_TIMEOUTS) is not None:
            return TimedOut(f"no answer from {where} within {timeout:g}s")
        return BadAnswer(f"the answer from {where} was cut off")
    if first(requests.TooManyRedirects) is not None:
        return TooManyRedirects(f"more than {max_redirects} redirects from {where}")
    if first(requests.exceptions.ProxyError, urllib3.exceptions.ProxyError) is not None:
        return ConnectFailed(f"cannot connect to {where} through the proxy ({_reason(causes)})")
    if first(NameResolutionError, socket.gaierror) is not None:
        lookup = first(socket.gaierror)
        host = parts.hostname or where
        if isinstance(lookup, socket.gaierror) and lookup.errno == socket.EAI_AGAIN:
            return DnsUnavailable(f"DNS lookup failed for {host} (temporary failure)")
        return NoSuchHost(f"no such host: {host}")
    if first(NewConnectionError) is not None:
        return ConnectFailed(f"cannot connect to {where} ({_reason(causes)})")
    if first(*_TIMEOUTS) is not None:
        return TimedOut(f"no answer from {where} within {timeout:g}s")
    if first(ssl.SSLError, requests.exceptions.SSLError, urllib3.exceptions.SSLError):
        return TlsFailed(f"TLS with {where} failed ({_tls_reason(first(ssl.SSLError))})")
    if first(*_NOT_A_WEB_ADDRESS) is not None:  # not the URL asked for (see _check_url)
        return BadAnswer(f"{where} redirected to an address that is not an http(s) URL")
    if first(http.client.RemoteDisconnected, *_CLOSED) is not None:
        return ConnectionClosed(f"{where} closed the connection without answering")
    if first(http.client.HTTPException, urllib3.exceptions.HeaderParsingError) is not None:
        return BadAnswer(f"not a valid HTTP answer from {where}")
    if _errno_of(causes) is not None:
        return ConnectFailed(f"cannot connect to {where} ({_reason(causes)})")
    return BadAnswer(f"no usable answer from {where} ({type(causes[-1]).__name__})")


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and every exception it wraps: urllib3's ``MaxRetryError.reason``, the
    exceptions requests and urllib3 pass as arguments, and the cause/context chain."""
    found: list[BaseException] = []
    pending = [error]
    while pending:
        current = pending.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        if isinstance(current, urllib3.exceptions.MaxRetryError) and current.reason is not None:
            pending.append(current.reason)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.extend(c for c in (current.__cause__, current.__context__) if c is not None)
    return found


def _errno_of(causes: list[BaseException]) -> int | None:
    for cause in causes:
        errno = getattr(cause, "errno", None) if isinstance(cause, OSError) else None
        if isinstance(errno, int) and errno > 0:
            return errno
    return None


def _reason(causes: list[BaseException]) -> str:
    """What the system said ("connection refused"), else the innermost exception's type."""
    errno = _errno_of(causes)
    if errno is None:
        return type(causes[-1]).__name__
    said = os.strerror(errno)
    return said[:1].lower() + said[1:]


def _tls_reason(error: BaseException | None) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {error.verify_message}"
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason).lower().replace("_", " ")
    return "handshake failed"
