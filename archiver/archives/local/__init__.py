"""A local collection of WARC and WACZ files as an archive (``--archive PATH``).

Archivists keep their own crawls (wget ``--warc-file``, wpull, Browsertrix and other WACZ
packages, a pywb collection, a store written by archiver itself); a cited page may be in
one of them when no public archive has it. PATH is a WARC, WARC.gz or WACZ file (given
directly, any file name is tried) or a folder, searched recursively for ``*.warc``,
``*.warc.gz`` and ``*.wacz`` (hidden folders skipped).

The modules, in the order a lookup uses them: ``keys`` (URL keys and record locators),
``index`` (a file read into ``IndexEntry`` lines), ``cache`` (those lines kept on disk),
``records`` (a record read back), ``collection`` (``LocalCollection``: find, resolve
revisits, follow captured redirects, read).

The public names are importable from here too; they are loaded on first use, so that
importing this package costs nothing (``archiver.archives.specs`` imports it at start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archiver.archives.local.cache import default_cache_dir
    from archiver.archives.local.collection import (
        LocalCollection,
        open_collection,
    )
    from archiver.archives.local.index import IndexEntry
    from archiver.archives.local.keys import (
        is_collection_locator,
        is_collection_path,
        looks_like_collection_path,
        make_locator,
        parse_locator,
        url_key,
    )
    from archiver.archives.local.records import CollectionResponse, RedirectStep

# Each public name and the module it lives in.
_HOMES = {
    "CollectionResponse": "records",
    "IndexEntry": "index",
    "LocalCollection": "collection",
    "RedirectStep": "records",
    "default_cache_dir": "cache",
    "is_collection_locator": "keys",
    "is_collection_path": "keys",
    "looks_like_collection_path": "keys",
    "make_locator": "keys",
    "open_collection": "collection",
    "parse_locator": "keys",
    "url_key": "keys",
}

__all__ = [
    "CollectionResponse",
    "IndexEntry",
    "LocalCollection",
    "RedirectStep",
    "default_cache_dir",
    "is_collection_locator",
    "is_collection_path",
    "looks_like_collection_path",
    "make_locator",
    "open_collection",
    "parse_locator",
    "url_key",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
