"""URL keys and record locators: how a local collection names what it holds.

**URL matching** is by SURT urlkey, as CDX servers do (``http://www.Example.com/a?b=1&a=2``
and ``https://example.com/a?a=2&b=1`` are the same key): the ``surt`` package (installed
with pywb) when it is importable, otherwise ``fallback_url_key``, which lowercases, drops
the scheme, a default port and a leading ``www``, reverses the host and sorts the query.
The canonicaliser in use is part of the index cache's validity, so switching rebuilds it.

**Locators.** A memento found in a collection has a locator of its record as ``url`` and
``raw_url``: ``file:///abs/crawl.warc.gz#offset=1234`` or, in a WACZ,
``file:///abs/pkg.wacz#member=archive/data.warc.gz&offset=1234``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from urllib.request import url2pathname

from archiver.errors import InputError

COLLECTION_SUFFIXES = (".warc", ".warc.gz", ".wacz")


def _load_surt() -> Any:
    try:
        return importlib.import_module("surt")
    except ImportError:
        return None


_SURT = _load_surt()
_WWW = re.compile(r"^www\d*\.")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonicaliser_name() -> str:
    if _SURT is None:
        return "archiver-fallback/1"
    try:
        return f"surt/{importlib.metadata.version('surt')}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "surt"


def fallback_url_key(url: str) -> str:
    """A SURT-like urlkey without the ``surt`` package: ``com,example)/a?a=2&b=1``.

    Lowercased; scheme, userinfo, fragment, a default port and a leading ``www``/``wwwN``
    dropped; host labels reversed and joined by commas; query parameters sorted.
    """
    text = url.strip()
    parts = urlsplit(text if "://" in text else "http://" + text)
    host = _WWW.sub("", (parts.hostname or "").lower().rstrip("."))
    try:
        port = parts.port
    except ValueError:
        port = None
    authority = ",".join(reversed(host.split(".")))
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        authority += f":{port}"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return f"{authority}){parts.path or '/'}{'?' + query if query else ''}".lower()


def url_key(url: str) -> str:
    """The urlkey under which ``url`` is indexed and looked up (see the module docstring)."""
    text = url.strip().split("#", 1)[0]
    if _SURT is not None:
        try:
            return str(_SURT.surt(text))
        except Exception:  # surt raises assorted errors on odd URLs; fall back rather than fail
            pass
    return fallback_url_key(text)


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
