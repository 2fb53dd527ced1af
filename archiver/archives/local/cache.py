"""The on-disk cache of a collection's index: one CDXJ file per WARC or WACZ file.

The index of each file is cached in ``<cache>/cdxj/<sha1 of the absolute path>.cdxj``,
where ``<cache>`` is ``$ARCHIVER_CACHE_DIR``, else ``$XDG_CACHE_HOME/archiver``, else
``~/.cache/archiver``: never inside the collection, which is often read-only and belongs to
someone else. The cache records the file's size and mtime and is rebuilt when either
changes (a folder is listed again on every lookup, so files added or removed are noticed
too), and when the URL canonicaliser (``surt`` and its version) or ``INDEX_VERSION``
changes: version 2 is the first with surt always (version 1 indexes may hold the urlkeys
of a hand-written fallback) and with bounded reading of damaged files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from archiver.archives.local.index import FileIndex, IndexEntry
from archiver.archives.local.keys import canonicaliser_name
from archiver.durable import file_error, replace_file
from archiver.jsontext import parse_json

log = logging.getLogger(__name__)

CACHE_ENV = "ARCHIVER_CACHE_DIR"
INDEX_FORMAT = "archiver-cdxj"
INDEX_VERSION = 2


def default_cache_dir() -> Path:
    """Where index caches live: ``$ARCHIVER_CACHE_DIR``, ``$XDG_CACHE_HOME/archiver`` or
    ``~/.cache/archiver`` (the CDXJ files are in its ``cdxj`` folder)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "archiver"


class IndexCache:
    """One CDXJ file per indexed WARC/WACZ, named by the sha1 of its absolute path."""

    def __init__(self, root: Path) -> None:
        self.directory = root / "cdxj"
        self._unwritable = False  # warned that the cache cannot be written

    def path_for(self, file: Path) -> Path:
        return self.directory / f"{hashlib.sha1(str(file).encode()).hexdigest()[:24]}.cdxj"

    def _header(self, file: Path, index: FileIndex) -> dict[str, Any]:
        return {
            "format": INDEX_FORMAT,
            "version": INDEX_VERSION,
            "file": str(file),
            "size": index.stamp[0],
            "mtime_ns": index.stamp[1],
            "urlkeys": canonicaliser_name(),
            "decompressed": index.decompressed,
            "warning": index.warning,
        }

    def load(self, file: Path, stamp: tuple[int, int]) -> FileIndex | None:
        try:
            with self.path_for(file).open(encoding="utf-8") as stream:
                first = stream.readline()
                if not first.startswith(f"!{INDEX_FORMAT} "):
                    return None
                header = parse_json(first.split(" ", 1)[1])
                expected = self._header(file, FileIndex(stamp))
                checked = ("format", "version", "file", "size", "mtime_ns", "urlkeys")
                if any(header.get(key) != expected[key] for key in checked):
                    return None
                entries = tuple(
                    IndexEntry.from_cdxj_line(line.rstrip("\n"), str(file))
                    for line in stream
                    if line.strip()
                )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.debug("ignoring the unusable index cache of %s: %s", file, e)
            return None
        return FileIndex(stamp, entries, bool(header.get("decompressed")), header.get("warning"))

    def save(self, file: Path, index: FileIndex) -> None:
        target = self.path_for(file)
        temporary = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        lines = sorted(entry.cdxj_line() for entry in index.entries)
        text = f"!{INDEX_FORMAT} {json.dumps(self._header(file, index))}\n"
        text += "".join(f"{line}\n" for line in lines)
        try:
            replace_file(target, text.encode("utf-8"), temp=temporary, sync=False)
        except OSError as e:  # an unwritable cache only costs a re-index next time: a warning
            if not self._unwritable:
                log.warning(
                    "%s (indexes are not cached until then)",
                    file_error(e, Path(e.filename or target)),
                )
            self._unwritable = True
