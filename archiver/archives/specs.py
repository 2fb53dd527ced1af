"""Which archives a run asks: ``--archive`` values parsed into archives, and one lookup
over all of them.

A spec names one of three kinds, each an ``archiver.archives.base.Archive``:

- ``ia`` or ``wayback:BASE_URL[,cdx=...][,interval=...]``: a Wayback server
  (``archiver.archives.wayback``);
- ``memento:URL``, ``memento:NAME`` or a Memento archive's name (``archive.today``, ...): an
  archive reached through TimeMaps and TimeGates (``archiver.archives.memento``); the named
  ones are ``PRESETS``;
- the path of a WARC, WARC.gz or WACZ file, or of a folder of them: a local collection
  (``archiver.archives.local``).

``find_mementos`` asks each archive in the order given and keeps going past one that fails.
Archives are parsed once per run; a stage that meets a ``Memento`` finds its archive again
by ``Memento.archive`` (the spec) among the archives it was given (``base.by_spec``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from urllib.parse import urlsplit

import requests

from archiver.archives.base import Archive, split_spec_options
from archiver.archives.local import is_collection_path, looks_like_collection_path, open_collection
from archiver.archives.memento import URL_PLACEHOLDER, MementoArchive, RawReplay
from archiver.archives.wayback import (
    IA_CDX_URL,
    IA_HOST,
    IA_MIN_INTERVAL,
    IA_SPEC,
    INTERNET_ARCHIVE,
    CdxDialect,
    WaybackArchive,
)
from archiver.config import Settings
from archiver.errors import InputError, NetworkError
from archiver.models import Memento
from archiver.net.polite import DEFAULT_RATE_LIMITER, CdxRateLimiter, Net, parse_interval_option
from archiver.net.urls import is_http_url

log = logging.getLogger(__name__)

MEMENTO_PREFIX = "memento:"
PUBLIC_MIN_INTERVAL = 1.0  # seconds between lookups in a named archive other than the IA
_WAYBACK_OPTION = re.compile(r",(cdx|interval)=")
_MEMENTO_OPTION = re.compile(r",(timegate|raw|interval)=")


def parse_archive_spec(spec: str) -> Archive:
    """Parse an ``--archive`` value.

    - ``ia``: the Internet Archive's Wayback Machine.
    - ``wayback:BASE_URL[,cdx=CDX_URL][,interval=SECONDS]``: any Wayback-compatible
      server (``parse_wayback_spec``).
    - ``memento:URL``, ``memento:NAME`` or a Memento archive's name (``archive.today``,
      ...): an archive reached through TimeMaps and TimeGates (``parse_memento_spec``).
    - the path of an existing WARC, WARC.gz or WACZ file, or of a folder of them: a local
      collection (``archiver.archives.local``), one per path in a process.
    """
    text = spec.strip()
    if text.lower() == IA_SPEC:
        return INTERNET_ARCHIVE
    if is_collection_path(text):
        return open_collection(text)
    if is_memento_spec(text):
        return parse_memento_spec(text)
    if text.startswith("wayback:"):
        return parse_wayback_spec(text)
    if looks_like_collection_path(text):
        raise InputError(f"archive {spec!r}: no such WARC/WACZ file or folder")
    raise InputError(
        f"unknown archive {spec!r}: {_WAYBACK_USAGE}; or 'memento:TIMEMAP_URL' or one of "
        + ", ".join(NAMED_ARCHIVES)
    )


def parse_archive_specs(specs: Iterable[str]) -> list[Archive]:
    """``parse_archive_spec`` for each of ``specs`` (``Settings.archives``), in order."""
    return [parse_archive_spec(spec) for spec in specs]


# -- Wayback servers ------------------------------------------------------------------------

_WAYBACK_USAGE = "use 'ia' or 'wayback:BASE_URL' (for example wayback:http://127.0.0.1:8080/web/)"


def parse_wayback_spec(spec: str) -> WaybackArchive:
    """Parse ``wayback:BASE_URL[,cdx=CDX_URL][,interval=SECONDS]``.

    ``BASE_URL`` is the server's replay base (``http://127.0.0.1:8080/web/``). The CDX
    endpoint defaults to ``BASE_URL + "cdx"``, pywb's; a ``cdx=`` URL ending in
    ``/cdx/search/cdx`` (the IA / OpenWayback CDX server) is queried with the IA's field
    names. A base on web.archive.org is the Internet Archive, limits included.
    """
    text = spec.strip()
    base, options = split_spec_options(spec, text[len("wayback:") :], _WAYBACK_OPTION)
    if not is_http_url(base):
        raise InputError(f"archive {spec!r}: {base!r} is not an http(s) URL; {_WAYBACK_USAGE}")
    if not base.endswith("/"):
        base += "/"
    cdx_url = options.get("cdx")
    if cdx_url is not None and not is_http_url(cdx_url):
        raise InputError(f"archive {spec!r}: cdx={cdx_url!r} is not an http(s) URL")
    if (urlsplit(base).hostname or "").lower() == IA_HOST:
        dialect: CdxDialect = "ia"
        cdx_url = cdx_url or IA_CDX_URL
        interval = IA_MIN_INTERVAL
    else:
        cdx_url = cdx_url or base + "cdx"
        dialect = "ia" if urlsplit(cdx_url).path.rstrip("/").endswith("/cdx/search/cdx") else "pywb"
        interval = IA_MIN_INTERVAL if (urlsplit(cdx_url).hostname or "") == IA_HOST else 0.0
    if "interval" in options:
        interval = parse_interval_option(spec, options["interval"])
    return WaybackArchive(
        spec=text, replay_base=base, cdx_url=cdx_url, dialect=dialect, min_interval=interval
    )


# -- Memento archives -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Preset:
    timemap: str
    timegate: str | None
    raw_replay: RawReplay
    min_interval: float


# TimeMap and TimeGate prefixes of well-known archives, as MemGator (oduwsdl/MemGator,
# archives.json) lists them and their own Link headers name them. "ia" is reachable this
# way only as "memento:ia": plain "ia" stays the CDX API (archiver.archives.wayback).
PRESETS: Mapping[str, _Preset] = MappingProxyType(
    {
        "ia": _Preset(
            "https://web.archive.org/web/timemap/link/",
            "https://web.archive.org/web/",
            "id_",
            IA_MIN_INTERVAL,
        ),
        "archive.today": _Preset(
            "https://archive.ph/timemap/",
            "https://archive.ph/timegate/",
            "none",
            PUBLIC_MIN_INTERVAL,
        ),
        "arquivo.pt": _Preset(
            "https://arquivo.pt/wayback/timemap/link/",
            "https://arquivo.pt/wayback/",
            "id_",
            PUBLIC_MIN_INTERVAL,
        ),
        "loc": _Preset(
            "https://webarchive.loc.gov/all/timemap/link/",
            "https://webarchive.loc.gov/all/",
            "id_",
            PUBLIC_MIN_INTERVAL,
        ),
        "ukwa": _Preset(
            "https://www.webarchive.org.uk/wayback/archive/timemap/link/",
            "https://www.webarchive.org.uk/wayback/archive/",
            "id_",
            PUBLIC_MIN_INTERVAL,
        ),
        "perma.cc": _Preset(
            "https://perma.cc/timemap/link/",
            "https://perma.cc/timegate/",
            "none",
            PUBLIC_MIN_INTERVAL,
        ),
    }
)
# Names that mean a Memento archive without the "memento:" prefix ("ia" means the CDX API).
NAMED_ARCHIVES = tuple(name for name in PRESETS if name != "ia")


def is_memento_spec(spec: str) -> bool:
    """True for ``memento:...`` and for the names of Memento archives (``archive.today``...)."""
    text = spec.strip()
    if text[: len(MEMENTO_PREFIX)].lower() == MEMENTO_PREFIX:
        return True
    first = _MEMENTO_OPTION.search(text)
    name = text[: first.start()] if first else text
    return name.lower() in NAMED_ARCHIVES


def parse_memento_spec(spec: str) -> MementoArchive:
    """Parse a Memento ``--archive`` value.

    - ``NAME`` or ``memento:NAME``: a named archive (``archive.today``, ``arquivo.pt``,
      ``loc``, ``ukwa``, ``perma.cc``; ``memento:ia`` is the Internet Archive's TimeMap).
    - ``memento:URL``: any Memento archive, ``URL`` being the prefix (or ``{url}``
      template) of its TimeMap or of its TimeGate.

    Options, after a comma: ``timegate=URL`` (the TimeGate, for TimeMaps too large to
    read whole), ``raw=id_|none`` (whether memento URLs have a Wayback ``id_`` raw form;
    ``id_`` by default) and ``interval=SECONDS`` (the least time between two lookups).
    """
    text = spec.strip()
    named = text[: len(MEMENTO_PREFIX)].lower() != MEMENTO_PREFIX
    rest = text if named else text[len(MEMENTO_PREFIX) :]
    only_timegate = not named and rest.startswith("timegate=")
    target, options = split_spec_options(
        spec, "," + rest if only_timegate else rest, _MEMENTO_OPTION
    )
    names = ", ".join(NAMED_ARCHIVES)
    preset = PRESETS.get(target.lower())
    if preset is None and not only_timegate and (named or not _is_template_url(target)):
        raise InputError(
            f"archive {spec!r}: {target!r} is neither an http(s) URL nor a Memento archive "
            f"name ({names}, ia)"
        )

    timegate, raw, interval = _memento_options(spec, options)

    if preset is not None:
        return MementoArchive(
            spec=text,
            timemap=preset.timemap,
            timegate=timegate or preset.timegate,
            raw_replay=raw or preset.raw_replay,
            min_interval=preset.min_interval if interval is None else interval,
        )
    if interval is None:
        on_ia = (urlsplit(target or timegate or "").hostname or "").lower() == IA_HOST
        interval = IA_MIN_INTERVAL if on_ia else 0.0
    return MementoArchive(
        spec=text,
        timemap=None if only_timegate else target,
        timegate=timegate,
        raw_replay=raw or "id_",
        min_interval=interval,
    )


def _memento_options(
    spec: str, options: dict[str, str]
) -> tuple[str | None, RawReplay | None, float | None]:
    """The ``timegate=``, ``raw=`` and ``interval=`` options, checked (None: not given)."""
    timegate = options.get("timegate")
    if timegate is not None and not _is_template_url(timegate):
        raise InputError(f"archive {spec!r}: timegate={timegate!r} is not an http(s) URL")
    raw: RawReplay | None = None
    if "raw" in options:
        if options["raw"] == "id_":
            raw = "id_"
        elif options["raw"] == "none":
            raw = "none"
        else:
            raise InputError(f"archive {spec!r}: raw={options['raw']!r} must be 'id_' or 'none'")
    interval: float | None = None
    if "interval" in options:
        interval = parse_interval_option(spec, options["interval"])
    return timegate, raw, interval


def _is_template_url(text: str) -> bool:
    try:
        parts = urlsplit(text.replace(URL_PLACEHOLDER, ""))
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# -- one lookup over every archive -----------------------------------------------------------


def find_mementos(
    url: str,
    when: datetime | None,
    archives: Sequence[Archive],
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
    net = Net(session, settings, cdx_limiter=limiter or DEFAULT_RATE_LIMITER)
    return from_every_archive(archives, lambda archive: archive.find(url, when, limit, net))


def from_every_archive(
    archives: Sequence[Archive], ask: Callable[[Archive], list[Memento]]
) -> list[Memento]:
    """What ``ask`` returns for each of ``archives``, in archive order, going on past an
    archive that fails: the failure is logged when another archive answered, and the
    first one raised (``NetworkError``) when none did, since "no copy" would be wrong."""
    found: list[Memento] = []
    failures: list[NetworkError] = []
    for archive in archives:
        try:
            found.extend(ask(archive))
        except NetworkError as e:
            failures.append(e)
            log.warning("%s", e)
    if failures and not found:
        raise failures[0]
    return found
