"""The one exception tree of archiver.

    ArchiverError                anything the user should see as a one-line message (exit 1)
    ├── InputError               an article or argument we cannot read or understand
    ├── NetworkError             a service we depend on (an archive, the article's host) failed
    │   │                        kind             what went wrong on the wire
    │   ├── TimedOut             timeout          no answer in time (connecting or answering)
    │   ├── NoSuchHost           no-such-host     the name does not resolve
    │   ├── DnsUnavailable       dns-temporary    the resolver could not say, this time
    │   ├── ConnectFailed        connect          no connection (refused, unreachable, proxy)
    │   ├── ConnectionClosed     closed           connected, then closed before any answer
    │   ├── TlsFailed            tls              TLS handshake or certificate refused
    │   ├── TooManyRedirects     redirects        more redirects than we follow
    │   ├── BadAnswer            invalid          not HTTP, cut off, or redirected off the web
    │   ├── BadUrl               invalid          a URL no request can be made for
    │   └── Throttled            throttled        the service asked us to slow down (429/503)
    ├── StoreError               the WARC store cannot be written or read as expected
    │   ├── DiskFull             no room left where a file is written (or over the size limit)
    │   └── StateError           the state file (SQLite) is damaged, locked or unwritable
    └── SetupError               something the command needs is missing (e.g. pywb for the demo)

Both HTTP clients raise the ``NetworkError`` subclasses: ``archiver.net.http.fetch`` maps
the exceptions of ``requests`` and urllib3 to them in one place, and the link checker's
own client (``archiver.net.aioclient``) raises them directly. ``kind`` is stable: the
checker turns it into a verdict. ``transient`` says whether asking again may help.

A file that cannot be written or read is one line naming it and what to do
(``archiver.durable.file_error`` words an ``OSError`` so, ``archiver.state`` an SQLite
error): a full disk or a read-only store is the user's to fix, never an "internal error".

A per-link outcome (dead, timeout, blocked, ...) is never an exception: it is a value in
a ``LinkCheck``. ``cli.main`` is the only place that turns these into messages and exit codes.

This module imports nothing: the link checker's worker processes load it at start-up.
"""

from __future__ import annotations


class ArchiverError(Exception):
    """Base class; ``str(error)`` is the one-line message shown to the user."""

    exit_code = 1


class InputError(ArchiverError):
    """The input (article, URL, option value) cannot be used."""


class NetworkError(ArchiverError):
    """A service the command depends on did not answer usefully."""

    kind = "network"
    transient = False  # whether the same request, made again soon, may well succeed

    def with_context(self, context: str) -> NetworkError:
        """The same failure, its message prefixed with where it happened
        ("ia: no such host: web.archive.org"); raise it ``from`` this one."""
        return type(self)(f"{context}: {self}")


class TimedOut(NetworkError):
    """No answer (or no connection) within the timeout."""

    kind = "timeout"
    transient = True


class NoSuchHost(NetworkError):
    """The host name does not resolve (or the host map refuses it)."""

    kind = "no-such-host"


class DnsUnavailable(NetworkError):
    """The resolver failed for now (EAI_AGAIN): the name may well exist."""

    kind = "dns-temporary"
    transient = True


class ConnectFailed(NetworkError):
    """No connection could be made: refused, unreachable, or a proxy said no."""

    kind = "connect"
    transient = True


class ConnectionClosed(NetworkError):
    """The server accepted the connection and closed it before sending a byte."""

    kind = "closed"
    transient = True


class TlsFailed(NetworkError):
    """The TLS handshake failed, usually on a certificate we do not trust."""

    kind = "tls"


class TooManyRedirects(NetworkError):
    """More redirects than ``Settings.max_redirects``."""

    kind = "redirects"


class BadAnswer(NetworkError):
    """An answer that is not usable HTTP: malformed, cut off, or a redirect to an address
    that is not a web URL."""

    kind = "invalid"


class BadUrl(NetworkError):
    """A URL no HTTP request can be made for (not http(s), no host, a bad port)."""

    kind = "invalid"


class Throttled(NetworkError):
    """The service refused us for now (429/503) and we do not wait as long as it asks."""

    kind = "throttled"


class StoreError(ArchiverError):
    """The archive store is unusable (unwritable, corrupt manifest, ...)."""


class DiskFull(StoreError):
    """No space left on the device (or the file size limit reached) while writing: what
    was written before stays consistent, and a rerun after space is freed finishes."""


class StateError(StoreError):
    """The state file (the SQLite database of checks and lookups) cannot be used."""


class SetupError(ArchiverError):
    """Something the command needs is not installed or not configured."""
