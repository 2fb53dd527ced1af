"""Which archives a run asks: ``--archive`` specs parsed into archives, and one lookup
over all of them.

A spec names one of three kinds (``archiver.archives.wayback``, ``.memento``, ``.local``);
``find_mementos`` asks each in the order given and keeps going past one that fails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import urlsplit

import requests

from archiver.archives.local import (
    LocalCollection,
    is_collection_path,
    looks_like_collection_path,
    open_collection,
)
from archiver.archives.memento import (
    NAMED_ARCHIVES,
    MementoArchive,
    find_in_memento_archive,
    is_memento_spec,
    parse_memento_spec,
)
from archiver.archives.wayback import (
    IA_CDX_URL,
    IA_HOST,
    IA_MIN_INTERVAL,
    IA_SPEC,
    INTERNET_ARCHIVE,
    Archive,
    CdxDialect,
    find_in_archive,
)
from archiver.config import Settings
from archiver.errors import InputError, NetworkError
from archiver.models import Memento
from archiver.net.polite import CdxRateLimiter, parse_interval_option
from archiver.net.urls import is_http_url

log = logging.getLogger(__name__)

AnyArchive = Archive | MementoArchive | LocalCollection


_SPEC_OPTION = re.compile(r",(cdx|interval)=")


def parse_archive_spec(spec: str) -> Archive | MementoArchive | LocalCollection:
    """Parse an ``--archive`` value.

    - ``ia``: the Internet Archive's Wayback Machine.
    - ``wayback:BASE_URL[,cdx=CDX_URL][,interval=SECONDS]``: any Wayback-compatible
      server, ``BASE_URL`` being its replay base (``http://127.0.0.1:8080/web/``). The CDX
      endpoint defaults to ``BASE_URL + "cdx"``, pywb's; a ``cdx=`` URL ending in
      ``/cdx/search/cdx`` (the IA / OpenWayback CDX server) is queried with the IA's field
      names. A base on web.archive.org is the Internet Archive, limits included.
    - ``memento:URL``, ``memento:NAME`` or a Memento archive's name (``archive.today``,
      ...): an archive reached through TimeMaps and TimeGates (``archiver.archives.memento``).
    - the path of an existing WARC, WARC.gz or WACZ file, or of a folder of them: a local
      collection (``archiver.archives.local``).
    """
    text = spec.strip()
    if text.lower() == IA_SPEC:
        return INTERNET_ARCHIVE
    if is_collection_path(text):
        return open_collection(text)
    if is_memento_spec(text):
        return parse_memento_spec(text)
    usage = "use 'ia' or 'wayback:BASE_URL' (for example wayback:http://127.0.0.1:8080/web/)"
    if not text.startswith("wayback:"):
        if looks_like_collection_path(text):
            raise InputError(f"archive {spec!r}: no such WARC/WACZ file or folder")
        raise InputError(
            f"unknown archive {spec!r}: {usage}; or 'memento:TIMEMAP_URL' or one of "
            + ", ".join(NAMED_ARCHIVES)
        )

    rest = text[len("wayback:") :]
    first = _SPEC_OPTION.search(rest)
    base = rest[: first.start()] if first else rest
    options: dict[str, str] = {}
    if first:
        parts = _SPEC_OPTION.split(rest[first.start() :])
        # split gives ["", key1, value1, key2, value2, ...]
        for key, value in zip(parts[1::2], parts[2::2], strict=True):
            if key in options:
                raise InputError(f"archive {spec!r}: {key}= given twice")
            options[key] = value

    if not is_http_url(base):
        raise InputError(f"archive {spec!r}: {base!r} is not an http(s) URL; {usage}")
    if not base.endswith("/"):
        base += "/"

    host = (urlsplit(base).hostname or "").lower()
    cdx_url = options.get("cdx")
    if cdx_url is not None and not is_http_url(cdx_url):
        raise InputError(f"archive {spec!r}: cdx={cdx_url!r} is not an http(s) URL")
    if host == IA_HOST:
        dialect: CdxDialect = "ia"
        cdx_url = cdx_url or IA_CDX_URL
        interval = IA_MIN_INTERVAL
    else:
        cdx_url = cdx_url or base + "cdx"
        dialect = "ia" if urlsplit(cdx_url).path.rstrip("/").endswith("/cdx/search/cdx") else "pywb"
        interval = IA_MIN_INTERVAL if (urlsplit(cdx_url).hostname or "") == IA_HOST else 0.0

    if "interval" in options:
        interval = parse_interval_option(spec, options["interval"])
    return Archive(
        spec=text, replay_base=base, cdx_url=cdx_url, dialect=dialect, min_interval=interval
    )


def parse_archive_specs(
    specs: Iterable[str],
) -> list[Archive | MementoArchive | LocalCollection]:
    """``parse_archive_spec`` for each of ``specs`` (``Settings.archives``), in order."""
    return [parse_archive_spec(spec) for spec in specs]


def find_mementos(
    url: str,
    when: datetime | None,
    archives: Sequence[Archive | MementoArchive | LocalCollection],
    session: requests.Session,
    settings: Settings,
    limit: int = 25,
    *,
    limiter: CdxRateLimiter | None = None,
) -> list[Memento]:
    """Candidates near ``when`` (newest when None) from every archive, in archive order.

    An archive that fails is an error only when it matters: if another archive returned
    captures, they are returned and the failure is logged; if none did, "no copy" would
    be a wrong answer, so the first failure is raised as ``NetworkError``.
    """
    found: list[Memento] = []
    failures: list[NetworkError] = []
    for archive in archives:
        try:
            if isinstance(archive, LocalCollection):
                mementos = archive.find(url, when, limit)  # local files: no session needed
            elif isinstance(archive, MementoArchive):
                mementos = find_in_memento_archive(
                    url, when, archive, session, settings, limit, limiter=limiter
                )
            else:
                mementos = find_in_archive(
                    url, when, archive, session, settings, limit, limiter=limiter
                )
            found.extend(mementos)
        except NetworkError as e:
            failures.append(e)
            log.warning("%s", e)
    if failures and not found:
        raise failures[0]
    return found
