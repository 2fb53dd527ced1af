"""The one exception tree of archiver.

    ArchiverError            anything the user should see as a one-line message (exit 1)
    ├── InputError           an article or argument we cannot read or understand
    ├── NetworkError         a service we depend on (an archive, the article's host) failed
    ├── StoreError           the WARC store cannot be written or read as expected
    └── SetupError           something the command needs is missing (for example pywb for the demo)

A per-link outcome (dead, timeout, blocked, ...) is never an exception: it is a value in
a ``LinkCheck``. ``cli.main`` is the only place that turns these into messages and exit codes.
"""

from __future__ import annotations


class ArchiverError(Exception):
    """Base class; ``str(error)`` is the one-line message shown to the user."""

    exit_code = 1


class InputError(ArchiverError):
    """The input (article, URL, option value) cannot be used."""


class NetworkError(ArchiverError):
    """A service the command depends on did not answer usefully."""


class StoreError(ArchiverError):
    """The archive store is unusable (unwritable, corrupt manifest, ...)."""


class SetupError(ArchiverError):
    """Something the command needs is not installed or not configured."""
