"""The one place that builds HTTP sessions and reads bodies.

Every request archiver makes goes through a session from ``build_session`` so that the
User-Agent, timeouts, connection-pool sizes and the host map are the same everywhere, and
through ``fetch`` so that no body is ever read past ``Settings.max_bytes``.

The host map (``archiver.net.hostmap``) replaces DNS for the names it lists. The link
checker has its own client (``archiver.net.aioclient``) with the same identity and host map.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from archiver.config import Settings
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
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    history: tuple[tuple[str, int], ...] = ()  # redirects followed: (url, status)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

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
    max_bytes: int | None = None,
) -> Fetched:
    """Make one request and read at most ``max_bytes`` of its body.

    Raises the ``requests`` exceptions for transport failures; callers decide what they
    mean (for a link check they are verdicts, for an archive lookup an error).
    """
    limit = settings.max_bytes if max_bytes is None else max_bytes
    response = session.request(
        method,
        url,
        headers=dict(headers or {}),
        timeout=settings.timeout,
        allow_redirects=allow_redirects,
        stream=True,
    )
    try:
        chunks: list[bytes] = []
        size = 0
        truncated = False
        if method != "HEAD":
            for chunk in response.raw.stream(64 * 1024, decode_content=False):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    truncated = True
                    break
        raw = b"".join(chunks)[:limit] if truncated else b"".join(chunks)
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
    finally:
        response.close()
