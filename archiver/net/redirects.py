"""Following one request's redirects: where each hop goes, with which method and cookies.

A ``RedirectChain`` is one request on its way: the URL and method of its next hop, the
redirects followed so far, and the cookies the chain's own answers set. It reads each
answer's head (``follow``) as a browser would: the first ``Location`` (a second one is
ignored, as browsers do), relative to the hop that sent it and re-read as UTF-8 where its
bytes are, and any Location that is no web address, or no address at all, is that
request's failure (``BadAnswer``), never an exception that ends a whole run.

Cookies: many news sites bounce a first visit through a page that sets a cookie and sends
the reader back, and send readers without the cookie round again; a chain keeps the
cookies its answers set (RFC 6265: host-only or domain cookies, path, Secure, Max-Age and
Expires that delete) and sends them on its later hops. Nothing is kept between chains:
each link is checked as by a new visitor, and no site learns which other links were
checked. Bounded like browsers: at most ``MAX_COOKIES`` cookies of at most 4 KiB each.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from archiver.errors import BadAnswer, TooManyRedirects
from archiver.net.answers import ResponseHead
from archiver.net.hostmap import ascii_host, is_ip_address

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_COOKIES = 50
MAX_COOKIE_BYTES = 4096
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a cookie holding one is ignored


class RedirectChain:
    """One request and the redirects it follows; ``url`` and ``method`` are its next
    hop's."""

    def __init__(self, method: str, url: str, max_redirects: int) -> None:
        self.method = method
        self.url = url
        self.redirects = 0
        self.max_redirects = max_redirects
        self._cookies: list[_Cookie] = []

    def cookie_header(self) -> str | None:
        """The Cookie header for the next hop, if the chain holds cookies for it."""
        if not self._cookies:
            return None
        parts = urlsplit(self.url)
        host = _host(parts.hostname)
        path = parts.path or "/"
        https = parts.scheme.lower() == "https"
        chosen = [c for c in self._cookies if c.matches(host, path, https)]
        chosen.sort(key=lambda c: -len(c.path))  # longer paths first; stable otherwise
        return "; ".join(c.pair for c in chosen) or None

    def follow(self, head: ResponseHead) -> bool:
        """Take in the answer to the current hop: True when it redirects (``url`` and
        ``method`` are then the next hop's), False when it is the final answer. Raises
        BadAnswer or TooManyRedirects when the redirect cannot be followed."""
        if "set-cookie" in head.headers:
            self._keep_cookies(head.every("set-cookie"))
        if head.status not in REDIRECT_STATUSES:
            return False
        location = _utf8_if_valid(head.first("location") or "").strip()
        if not location:
            return False
        if self.redirects >= self.max_redirects:
            raise TooManyRedirects(f"more than {self.max_redirects} redirects")
        try:
            following = urljoin(self.url, location).partition("#")[0]
            parts = urlsplit(following)
            parts.port  # noqa: B018 - raises ValueError on a port out of range
        except ValueError:
            raise BadAnswer(f"redirected to an invalid address: {location}") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise BadAnswer(f"redirected to a non-web address: {location}")
        try:
            ascii_host(parts.hostname or "")
        except UnicodeError:  # no host, or one no browser would look up
            raise BadAnswer(f"redirected to an invalid address: {location}") from None
        if head.status == 303 and self.method != "HEAD":
            self.method = "GET"
        self.url = following
        self.redirects += 1
        return True

    def _keep_cookies(self, set_cookies: list[str]) -> None:
        parts = urlsplit(self.url)
        host = _host(parts.hostname)
        for text in set_cookies:
            cookie = _Cookie.parse(text, host, parts.path or "/")
            if cookie is None:
                continue
            self._cookies = [c for c in self._cookies if not c.same_slot(cookie)]
            if not cookie.expired:
                self._cookies.append(cookie)
        del self._cookies[:-MAX_COOKIES]  # the oldest go first


@dataclass(frozen=True, slots=True)
class _Cookie:
    name: str
    value: str
    domain: str
    host_only: bool
    path: str
    secure: bool
    expired: bool

    @property
    def pair(self) -> str:
        return f"{self.name}={self.value}" if self.name else self.value

    def same_slot(self, other: _Cookie) -> bool:
        return (self.name, self.domain, self.path) == (other.name, other.domain, other.path)

    def matches(self, host: str, path: str, https: bool) -> bool:
        if self.secure and not https:
            return False
        if self.host_only and host != self.domain:
            return False
        if not self.host_only and host != self.domain and not host.endswith("." + self.domain):
            return False
        return path == self.path or (
            path.startswith(self.path) and (self.path.endswith("/") or path[len(self.path)] == "/")
        )

    @classmethod
    def parse(cls, text: str, host: str, request_path: str) -> _Cookie | None:
        """A Set-Cookie field as RFC 6265 (section 5.2) reads it, from ``host``; None for
        one a browser would ignore."""
        if len(text) > MAX_COOKIE_BYTES or _CONTROL.search(text):
            return None
        pair, *attributes = text.split(";")
        name, equals, value = pair.partition("=")
        name, value = (name.strip(), value.strip()) if equals else ("", name.strip())
        if not (name or value):
            return None
        domain, path, secure = "", _default_path(request_path), False
        max_age: str | None = None
        expires: str | None = None
        for attribute in attributes:
            key, _, setting = attribute.partition("=")
            key, setting = key.strip().lower(), setting.strip()
            if key == "domain" and setting:
                domain = setting.lstrip(".").lower()
            elif key == "path" and setting.startswith("/"):
                path = setting
            elif key == "secure":
                secure = True
            elif key == "max-age" and setting.lstrip("-").isdigit():
                max_age = setting
            elif key == "expires":
                expires = setting
        if (
            domain
            and domain != host
            and ("." not in domain or is_ip_address(host) or not host.endswith("." + domain))
        ):
            return None  # for another site, or for a whole top-level domain
        if max_age is not None:  # it wins over Expires
            expired = int(max_age) <= 0
        else:
            expired = expires is not None and _in_the_past(expires)
        return cls(name, value, domain or host, not domain, path, secure, expired)


def _default_path(request_path: str) -> str:
    if not request_path.startswith("/") or request_path.count("/") == 1:
        return "/"
    return request_path[: request_path.rindex("/")]


def _in_the_past(text: str) -> bool:
    from archiver.dates import parse_http_date

    try:
        return parse_http_date(text).timestamp() <= time.time()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # a date no one can read: the cookie stays, as in browsers


def _host(hostname: str | None) -> str:
    try:
        return ascii_host(hostname or "")
    except UnicodeError:
        return hostname or ""


def _utf8_if_valid(header: str) -> str:
    """A header value read as latin-1, re-read as UTF-8 where that is what its bytes are
    (servers send non-ASCII Locations unescaped, and browsers follow them as UTF-8)."""
    try:
        return header.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header
