"""The one place that builds HTTP sessions and reads bodies.

Every request archiver makes goes through a session from ``build_session`` so that the
User-Agent, timeouts, connection-pool sizes and the host map are the same everywhere, and
through ``fetch`` so that no body is ever read past ``Settings.max_bytes``.

The host map replaces DNS for the names it lists (``host -> "ip:port"``). With
``resolve_only`` set, any other name fails exactly as a name that does not exist would
(``socket.gaierror``), so a sandboxed run cannot send a packet anywhere unexpected.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from archiver.config import Settings


class HostMap:
    """Pins host names to ``ip:port`` addresses, optionally refusing every other name."""

    def __init__(self, mapping: Mapping[str, str], resolve_only: bool = False) -> None:
        self._mapping = {host.lower(): address for host, address in mapping.items()}
        self.resolve_only = resolve_only

    def resolve(self, host: str, port: int) -> tuple[str, int]:
        address = self._mapping.get(host.lower().rstrip("."))
        if address is None:
            if self.resolve_only and not _is_ip_address(host):  # an address needs no DNS
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return host, port
        ip, sep, mapped_port = address.rpartition(":")
        if not sep or not mapped_port.isdigit():
            return address, port
        return ip.strip("[]"), int(mapped_port)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


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


def decode_body(raw: bytes, content_encoding: str | None) -> bytes:
    """Undo gzip/deflate content-encoding; a damaged or truncated stream yields what decodes."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
        decoder = zlib.decompressobj(wbits)
        try:
            return decoder.decompress(raw)
        except zlib.error:
            if encoding == "deflate":
                try:
                    return zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw)
                except zlib.error:
                    return raw
            return raw
    return raw


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


class HostMapResolver:
    """aiohttp's resolver interface over a ``HostMap``: mapped names never reach DNS."""

    def __init__(self, host_map: HostMap) -> None:
        from aiohttp.resolver import DefaultResolver

        self._host_map = host_map
        self._fallback = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[Any]:
        ip, mapped_port = self._host_map.resolve(host, port)  # raises gaierror when refused
        if (ip, mapped_port) == (host, port) and not _is_ip_address(host):
            return list(await self._fallback.resolve(host, port, family))  # type: ignore[arg-type]
        address_family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [
            {
                "hostname": host,
                "host": ip,
                "port": mapped_port,
                "family": address_family,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        await self._fallback.close()


def build_async_session(settings: Settings) -> Any:
    """An aiohttp session for the link checker, with the same identity and limits.

    Must be called inside a running event loop. Connection limits mirror
    ``Settings.workers`` and ``Settings.per_host``; timeouts apply to the connection and
    to each read, like the ``requests`` sessions.
    """
    import aiohttp

    tls: ssl.SSLContext | bool = True
    if settings.ca_bundle is not None:
        tls = ssl.create_default_context(cafile=str(settings.ca_bundle))
    connector = aiohttp.TCPConnector(
        ssl=tls,
        limit=max(settings.workers, 1),
        limit_per_host=max(settings.per_host, 1),
        resolver=HostMapResolver(HostMap(settings.host_map, settings.resolve_only)),  # type: ignore[arg-type]
        ttl_dns_cache=300,
    )
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=settings.timeout, sock_read=settings.timeout
    )
    # trust_env stays off: aiohttp would then consult netrc and the proxy variables in a
    # worker thread on every request, which costs more than the request itself. Proxies
    # from the environment are applied per host by ``proxy_for`` instead.
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),  # a checker has no session to keep
        headers={"User-Agent": settings.user_agent},
        trust_env=False,
    )


class ProxyChooser:
    """The proxy (from the environment, as requests would use it) for each URL, cached
    per scheme and host; none at all in a sandboxed run."""

    def __init__(self, settings: Settings) -> None:
        sandboxed = bool(settings.host_map or settings.resolve_only)
        self._proxies = {} if sandboxed else urllib.request.getproxies()
        self._cache: dict[tuple[str, str], str | None] = {}

    def proxy_for(self, url: str) -> str | None:
        if not self._proxies:
            return None
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._cache:
            proxy = self._proxies.get(parts.scheme) or self._proxies.get("all")
            bypass = urllib.request.proxy_bypass(parts.hostname or "")
            self._cache[key] = None if bypass else proxy
        return self._cache[key]
