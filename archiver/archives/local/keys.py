"""URL keys and record locators: how a local collection names what it holds.

**URL matching** is by SURT urlkey, as CDX servers do (``http://www.Example.com/a?b=1&a=2``
and ``https://example.com/a?a=2&b=1`` are the same key), made by the ``surt`` package: the
canonicaliser of pywb's and the Internet Archive's indexes, so a collection finds what pywb
finds over the same files. It is a dependency, never optional: the same lookup must give
the same answer whatever else is installed (``http://www.iana.org/domains/root/db/`` and
``.../db`` are one key to surt; a hand-written canonicaliser that kept the slash once found
only the 302 of the first). A URL surt cannot read (a port out of range) is its own key, as
written. The canonicaliser's name and version are part of the index cache's validity, so
an index built by another one is rebuilt.

**Locators.** A memento found in a collection has a locator of its record as ``url`` and
``raw_url``: ``file:///abs/crawl.warc.gz#offset=1234`` or, in a WACZ,
``file:///abs/pkg.wacz#member=archive/data.warc.gz&offset=1234``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit
from urllib.request import url2pathname

import surt

from archiver.errors import InputError

COLLECTION_SUFFIXES = (".warc", ".warc.gz", ".wacz")


@functools.cache
def canonicaliser_name() -> str:
    """``surt/<version>``: what made the urlkeys of an index (kept in its cache)."""
    return f"surt/{importlib.metadata.version('surt')}"


def url_key(url: str) -> str:
    """The urlkey under which ``url`` is indexed and looked up (see the module docstring)."""
    text = url.strip().split("#", 1)[0]
    try:
        return str(surt.surt(text))
    except Exception:  # surt raises assorted errors on URLs it cannot read
        return text


# -- locators ------------------------------------------------------------------------------


def make_locator(path: Path, offset: int, member: str | None = None) -> str:
    """``file:///abs/x.warc.gz#offset=N`` or ``file:///abs/x.wacz#member=M&offset=N``."""
    where = f"member={quote(member, safe='/')}&" if member is not None else ""
    return f"{Path(path).absolute().as_uri()}#{where}offset={offset}"


def is_collection_locator(url: str) -> bool:
    """True for a memento ``raw_url`` that names a record in a local file, not a URL to fetch."""
    return url.lower().startswith("file:")


def parse_locator(locator: str) -> tuple[Path, str | None, int]:
    """(file, WACZ member or None, offset) of a locator made by ``make_locator``."""
    parts = urlsplit(locator)
    fields = parse_qs(parts.fragment)
    offsets = fields.get("offset", [])
    if parts.scheme.lower() != "file" or len(offsets) != 1 or not offsets[0].isdigit():
        raise InputError(f"not a record locator in a local collection: {locator}")
    members = fields.get("member")
    # url2pathname undoes the percent-encoding of Path.as_uri (it unquotes on POSIX)
    return Path(url2pathname(parts.path)), members[0] if members else None, int(offsets[0])


def is_collection_path(spec: str) -> bool:
    """True when ``spec`` names an existing file or folder (an ``--archive`` collection)."""
    return Path(spec).expanduser().exists()


def looks_like_collection_path(spec: str) -> bool:
    """True when ``spec`` reads as a path (so a missing one deserves "no such file")."""
    text = spec.strip()
    return "://" not in text and (
        "/" in text or os.sep in text or text.lower().endswith(COLLECTION_SUFFIXES)
    )
