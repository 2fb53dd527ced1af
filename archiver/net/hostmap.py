"""Where requests go: host names pinned to addresses, and proxies from the environment.

Both HTTP stacks use these (``requests`` for archive work in ``archiver.net.http``, the link
checker's own client in ``archiver.net.aioclient``), so a sandboxed run is sandboxed the same
way everywhere. This module imports nothing heavy: the checker loads it at start-up.

Host names are written in ASCII the way browsers write them (``ascii_host``): UTS #46
processing, non-transitional, as the WHATWG URL Standard asks, so ``faß.example`` is
``xn--fa-hia.example``, the name its owner registered, where Python's own ``idna`` codec
(IDNA 2003) would ask for ``fass.example``, someone else's. requests (through the ``idna``
package) names hosts the same way, so the host map matches either client's names.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import socket
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

from archiver.config import Settings

# The URL Standard's forbidden domain code points (ASCII ones: the rest are Punycode now).
_FORBIDDEN_IN_DOMAINS = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")


class HostMap:
    """Pins host names to ``ip:port`` addresses, optionally refusing every other name."""

    def __init__(self, mapping: Mapping[str, str], resolve_only: bool = False) -> None:
        # Keyed by the ASCII (xn--) form both clients name hosts by; the map may spell a
        # name either way.
        self._mapping = {_map_key(host): address for host, address in mapping.items()}
        self.resolve_only = resolve_only

    def resolve(self, host: str, port: int) -> tuple[str, int]:
        address = self._mapping.get(_map_key(host))
        if address is None:
            if self.resolve_only and not is_ip_address(host):  # an address needs no DNS
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return host, port
        ip, sep, mapped_port = address.rpartition(":")
        if not sep or not mapped_port.isdigit():
            return address, port
        return ip.strip("[]"), int(mapped_port)


@functools.lru_cache(maxsize=4096)
def ascii_host(hostname: str) -> str:
    """``hostname`` as sent on the wire and to DNS: UTS #46 (non-transitional) for a name
    with non-ASCII letters, each such label Punycode-encoded after ``xn--``; a name in
    ASCII already is checked as before (empty or over-long labels are refused). An IP
    address is itself. Raises UnicodeError (``idna.IDNAError`` is one) for a name no
    browser would ask for: one with a character the URL Standard forbids in a domain
    (controls, spaces, ``%``, ``/``, ...), which the resolver would choke on."""
    if ":" in hostname and is_ip_address(hostname):
        return hostname
    if hostname.isascii():
        written = hostname.encode("idna").decode("ascii")
    else:
        import idna  # only for international names: most runs never need its tables

        mapped = idna.uts46_remap(hostname, std3_rules=False, transitional=False)
        labels = [
            label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
            for label in mapped.split(".")
        ]
        if any(len(label) > 63 for label in labels):  # as the ASCII names' codec refuses
            raise UnicodeError(f"a label too long for DNS: {hostname!r}")
        written = ".".join(labels)
    if _FORBIDDEN_IN_DOMAINS.search(written):
        raise UnicodeError(f"a character no host name may hold: {hostname!r}")
    return written


def _map_key(host: str) -> str:
    host = host.lower().rstrip(".")
    try:
        return ascii_host(host)
    except UnicodeError:
        return host


@functools.lru_cache(maxsize=4096)  # asked for every new connection
def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class ProxyChooser:
    """The proxy (from the environment, as requests would use it) for each URL, cached
    per scheme and host; none at all in a sandboxed run."""

    def __init__(self, settings: Settings) -> None:
        sandboxed = bool(settings.host_map or settings.resolve_only)
        self._proxies = {} if sandboxed or not _may_have_proxies() else _system_proxies()
        self._cache: dict[tuple[str, str], str | None] = {}

    def proxy_for(self, url: str) -> str | None:
        if not self._proxies:
            return None
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._cache:
            proxy = self._proxies.get(parts.scheme) or self._proxies.get("all")
            import urllib.request

            bypass = urllib.request.proxy_bypass(parts.hostname or "")
            self._cache[key] = None if bypass else proxy
        return self._cache[key]


def _may_have_proxies() -> bool:
    """Whether proxies may be configured. On Linux only ``*_proxy`` variables can set
    them: looking first spares the checker's start-up the import of urllib.request."""
    if sys.platform in ("darwin", "win32"):  # system settings too
        return True
    return any(name.lower().endswith("_proxy") for name in os.environ)


def _system_proxies() -> dict[str, str]:
    import urllib.request

    return urllib.request.getproxies()
