"""The address a reader can follow to a memento: what a repaired citation links to.

A Wayback or Memento archive's ``Memento.url`` is already its public replay URL. A copy in a
local collection is named by a ``file://`` locator, which no reader can open; its public
address is, in this order:

1. ``<served_at><14-digit timestamp>/<original>`` when the user says where the collection
   is served (a pywb collection, an OpenWayback), the replay form every Wayback server
   answers;
2. the archive URL the record was fetched from (``WARC-Source-URI``, which archiver writes
   for every memento it stores, and pywb's recorder too), in its replay form: the raw
   ``<ts>id_/`` form a tool fetches becomes the ``<ts>/`` form a reader opens, with the
   record's own timestamp (an archive that does not redirect serves the closest capture
   at the URL asked, whose timestamp may be another);
3. none: the citation is left as it is, and the summary says to give ``--served-at``.
"""

from __future__ import annotations

import re
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archiver.archives.local.keys import is_collection_locator, parse_locator
from archiver.archives.local.records import open_at
from archiver.dates import parse_iso, to_wayback_timestamp
from archiver.errors import InputError
from archiver.models import Memento
from archiver.storage.warcreader import WARC_READ_ERRORS

_RAW_FLAG = re.compile(r"/(\d{1,14})id_/")
NO_ADDRESS = (
    "its archived copy is in a local collection with no public address "
    "(give --served-at, the URL the collection is served at)"
)


class ReplayAddress:
    """Public replay URLs of mementos, with the local collections' address if given."""

    def __init__(self, served_at: str | None = None) -> None:
        if served_at is not None and not served_at.endswith("/"):
            served_at += "/"
        self.served_at = served_at
        self._sources: dict[str, str | None] = {}

    def public_url(self, memento: Memento) -> tuple[str | None, str]:
        """The URL a reader opens for ``memento``, or None and the reason there is none."""
        if not is_collection_locator(memento.url):
            return memento.url, "the archive's replay URL"
        if self.served_at is not None:
            stamp = to_wayback_timestamp(parse_iso(memento.datetime))
            return f"{self.served_at}{stamp}/{memento.original}", "served at --served-at"
        source = self._source_of(memento.raw_url)
        if source is None or not _RAW_FLAG.search(source):
            return source, NO_ADDRESS if source is None else "the archive it was fetched from"
        # The archive may have served a capture other than the one asked for: the
        # memento's own timestamp names the capture exactly.
        stamp = to_wayback_timestamp(parse_iso(memento.datetime))
        exact = _RAW_FLAG.sub(f"/{stamp}/", source, count=1)
        return exact, "the archive the copy was fetched from"

    def _source_of(self, locator: str) -> str | None:
        if locator not in self._sources:
            self._sources[locator] = source_uri(locator)
        return self._sources[locator]


def source_uri(locator: str) -> str | None:
    """The http(s) ``WARC-Source-URI`` of the record at ``locator``, if it has one."""
    try:
        path, member, offset = parse_locator(locator)
        with open_at(Path(path), member, offset, decompressed=False) as stream:
            record = next(iter(ArchiveIterator(stream)), None)
            value = record.rec_headers.get_header("WARC-Source-URI") if record else None
    except (InputError, *WARC_READ_ERRORS):
        return None
    if value and re.match(r"https?://", value, re.IGNORECASE):
        return str(value)
    return None
