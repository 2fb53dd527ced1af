"""A store as a WACZ 1.1.1 package: what pywb and ReplayWeb.page open as it is.

The layout follows the WACZ 1.1.1 specification: ``archive/`` holds the store's WARC
files, *stored* in the zip (not deflated again: they are gzip already, and a client reads
a record by its offset with an HTTP Range request); ``indexes/index.cdx`` is their sorted
CDXJ index (``cdxj``); ``pages/pages.jsonl`` lists each cited source (``pages``);
``archiver/manifest.json`` carries which bytes back which citation (and
``archiver/run.json`` is the store's ``report.json``, when it has one);
``datapackage.json`` lists every other file with its ``sha256:`` hash and size;
``datapackage-digest.json`` holds the hash of ``datapackage.json`` itself. ``wacz
validate`` (py-wacz) accepts only ``wacz_version`` 1.1.1.

The package is written to ``OUT.partial`` beside ``OUT``, synced, then renamed: a killed
export leaves no file that looks whole.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from archiver import __version__
from archiver.dates import utcnow
from archiver.durable import fsync_directory
from archiver.export.cdxj import cdxj_lines
from archiver.export.contents import (
    FIXITY_NAME,
    REPORT_NAME,
    REPORT_PAGE_NAME,
    Exported,
    StoreContents,
    check_copied,
    copy_hashed,
)
from archiver.export.pages import cited_pages, pages_jsonl
from archiver.storage.manifest import MANIFEST_NAME
from archiver.storage.warcfile import committed_stream

__all__ = ["WACZ_VERSION", "write_wacz"]

WACZ_VERSION = "1.1.1"
# Where the store's own files go. Not ``.../report.json``: frictionless (which ``wacz
# validate`` runs) takes a resource whose name ends so for a validation report of its own.
_IN_WACZ = {
    MANIFEST_NAME: "archiver/manifest.json",
    REPORT_NAME: "archiver/run.json",
    REPORT_PAGE_NAME: "archiver/run.html",
    FIXITY_NAME: "archiver/fixity.jsonl",
}


class _Package:
    """A zip being written, keeping the datapackage resource of each file put in."""

    def __init__(self, archive: zipfile.ZipFile, moment: datetime) -> None:
        self.archive = archive
        self.stamp = moment.timetuple()[:6]
        self.resources: list[dict[str, object]] = []

    def _info(self, path: str, compress: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=self.stamp)
        info.compress_type = compress
        info.external_attr = 0o644 << 16
        return info

    def _listed(self, path: str, sha256: str, size: int) -> None:
        name = path.rsplit("/", 1)[-1].lower()
        self.resources.append(
            {"name": name, "path": path, "hash": f"sha256:{sha256}", "bytes": size}
        )

    def add_file(self, path: str, source: Path, size: int | None = None) -> tuple[str, int]:
        """Store ``source`` (its first ``size`` bytes, or all of it) as ``path``, not
        deflated; (sha256, size) of its bytes."""
        info = self._info(path, zipfile.ZIP_STORED)
        # The size said up front: a local header without a zip64 field (unless the file
        # needs one) and no data descriptor, which replay clients that read a member by
        # its local header's offset expect.
        info.file_size = source.stat().st_size if size is None else size
        large = info.file_size >= zipfile.ZIP64_LIMIT
        with (
            committed_stream(source, size) as stream,
            self.archive.open(info, "w", force_zip64=large) as out,
        ):
            copied = copy_hashed(stream, out.write)
        self._listed(path, copied.sha256, copied.size)
        return copied.sha256, copied.size

    def add_bytes(self, path: str, data: bytes, *, listed: bool = True) -> None:
        self.archive.writestr(self._info(path, zipfile.ZIP_DEFLATED), data)
        if listed:
            self._listed(path, hashlib.sha256(data).hexdigest(), len(data))


def _datapackage(resources: list[dict[str, object]], moment: datetime, title: str) -> bytes:
    package = {
        "profile": "data-package",
        "resources": resources,
        "title": title,
        "created": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wacz_version": WACZ_VERSION,
        "software": f"archiver {__version__}",
    }
    return json.dumps(package, indent=2).encode("utf-8")


def _fill(
    package: _Package, store: StoreContents, moment: datetime, title: str
) -> tuple[int, int, int]:
    """Put the store's files, index, pages and datapackage into ``package``; how many of
    the store's files it carries, their bytes, and how many pages it lists."""
    carried, files = 0, len(store.warc_files)
    for entry in store.warc_files:
        path, committed = store.path_of(entry.name), store.committed_size(entry)
        sha256, size = package.add_file(f"archive/{entry.name}", path, committed)
        check_copied(entry, sha256, size)
        carried += size
    lines = itertools.chain.from_iterable(
        cdxj_lines(store.path_of(e.name), e.name, size=store.committed_size(e))
        for e in store.warc_files
    )
    package.add_bytes("indexes/index.cdx", "".join(sorted(lines)).encode("utf-8"))
    pages = cited_pages(store.captures, store.path_of)
    package.add_bytes("pages/pages.jsonl", pages_jsonl(pages))
    for name, source in store.carried():
        if isinstance(source, bytes):
            package.add_bytes(_IN_WACZ[name], source)
            carried += len(source)
        else:
            carried += package.add_file(_IN_WACZ[name], source)[1]
        files += 1
    datapackage = _datapackage(package.resources, moment, title)
    package.add_bytes("datapackage.json", datapackage, listed=False)
    digest = {
        "path": "datapackage.json",
        "hash": "sha256:" + hashlib.sha256(datapackage).hexdigest(),
    }
    package.add_bytes(
        "datapackage-digest.json", json.dumps(digest, indent=2).encode(), listed=False
    )
    return files, carried, len(pages)


def write_wacz(
    store: StoreContents,
    out: Path,
    *,
    title: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Exported:
    """Write ``store`` (as ``contents.read_store`` holds it) as the WACZ package ``out``."""
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    moment = clock()
    try:
        with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
            package = _Package(archive, moment)
            files, carried, pages = _fill(
                package, store, moment, title or f"archiver store {store.root.name}"
            )
        with partial.open("rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, out)
        fsync_directory(out.parent)
    finally:
        partial.unlink(missing_ok=True)
    return Exported(
        kind="wacz",
        path=str(out),
        store=str(store.root),
        files=files,
        bytes=carried,
        pages=pages,
        left_out=store.left_out(),
    )
