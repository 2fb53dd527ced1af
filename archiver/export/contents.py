"""What a store holds for export, read without changing it, and copied with its hashes.

An export must not see a half-updated store: ``read_store`` holds a *shared* ``flock`` on
the store directory (the lock writers take exclusively to update the manifest) while the
export runs, so the manifest cannot change under it, and the store itself is never
opened for writing (opening a ``Store`` would finish a killed run's files: an export leaves
that to ``archive`` and ``run``). Every WARC file is checked against the manifest's sha256
as it is copied, so a package never carries bytes the store does not vouch for. Of a file
still named ``.open`` (being appended to, or left by a killed run), only its committed
bytes are the store's (``archiver.storage.warcfile``): an export carries those, under the
file's final name. A store's manifest is ``manifest.json`` with the lines of its journal
applied (``archiver.storage.journal``): while the journal holds any, an export carries the
manifest as compacting would write it (journal folded in, its own digest new), and no
journal.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from archiver.errors import InputError, StoreError
from archiver.storage.journal import JOURNAL_NAME
from archiver.storage.manifest import (
    MANIFEST_NAME,
    Capture,
    FileEntry,
    Manifest,
    read_manifest_snapshot,
    refuse_damaged,
)
from archiver.storage.warcfile import OPEN_SUFFIX, listed_path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock between processes
    fcntl = None  # type: ignore[assignment]

_READ_SIZE = 1024 * 1024
# Files of a store that are part of what it vouches for, beside its WARCs.
REPORT_NAME = "report.json"
REPORT_PAGE_NAME = "report.html"  # the same run, as the page people read
FIXITY_NAME = "fixity.jsonl"  # every verification of the store (archiver.storage.fixity)
# What an export carries beside the WARC files, when the store has it.
CARRIED_NAMES = (MANIFEST_NAME, REPORT_NAME, REPORT_PAGE_NAME, FIXITY_NAME)


@dataclass(frozen=True)
class StoreContents:
    """A store as an export sees it: its folder, its manifest, the WARC files it lists;
    ``journaled``: the manifest has lines of a journal applied (see the module docstring)."""

    root: Path
    manifest: Manifest
    journaled: bool = False

    @property
    def warc_files(self) -> tuple[FileEntry, ...]:
        return self.manifest.files

    @property
    def captures(self) -> tuple[Capture, ...]:
        return self.manifest.captures

    def path_of(self, name: str) -> Path:
        """Where a listed file's bytes are: its name, or its ``.open`` name while a run
        appends to it or after a run was killed before closing it. A file that is in
        neither place is a ``StoreError``."""
        path = listed_path(self.root, name)
        if not path.exists():
            raise StoreError(
                f"{name} is listed in the manifest but is not in {self.root} "
                "(`archiver verify` names what is missing)"
            )
        return path

    def committed_size(self, entry: FileEntry) -> int | None:
        """How much of ``entry``'s file an export reads: its committed bytes when it is
        still named ``.open``; None (all of it, checked against the manifest) otherwise."""
        return entry.size if self.path_of(entry.name).name.endswith(OPEN_SUFFIX) else None

    def carried(self) -> Iterator[tuple[str, Path | bytes]]:
        """The files an export carries beside the WARC files (``CARRIED_NAMES``) that the
        store has: each name, and where its bytes are (the manifest's, when journaled:
        the bytes themselves)."""
        for name in CARRIED_NAMES:
            if name == MANIFEST_NAME and self.journaled:
                yield name, self.manifest.to_json()
            elif (self.root / name).is_file():
                yield name, self.root / name

    def left_out(self) -> tuple[str, ...]:
        """Names in the store folder an export does not carry (an interrupted write, the
        state file and lock of older versions, anything not the store's); the manifest's
        journal is carried, in the manifest."""
        carried = {e.name for e in self.warc_files} | {*CARRIED_NAMES, JOURNAL_NAME}
        carried |= {f"{e.name}.open" for e in self.warc_files}
        return tuple(sorted(p.name for p in self.root.iterdir() if p.name not in carried))


@contextlib.contextmanager
def read_store(root: Path) -> Iterator[StoreContents]:
    """The store at ``root``, held still (a shared lock on its folder) while in use."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"no such store: {root}")
    directory = os.open(root, os.O_RDONLY) if fcntl is not None else None
    try:
        if directory is not None:
            fcntl.flock(directory, fcntl.LOCK_SH)
        snapshot = read_manifest_snapshot(root)
        if snapshot is None:
            raise StoreError(f"{root} has no {MANIFEST_NAME}: not a store archiver wrote")
        refuse_damaged(root, snapshot.journal)
        if not snapshot.manifest.files:
            raise StoreError(f"{root} holds no capture yet: nothing to export")
        yield StoreContents(root, snapshot.manifest, journaled=snapshot.journal.lines > 0)
    finally:
        if directory is not None:
            os.close(directory)  # releases the flock


@dataclass(frozen=True)
class Copied:
    """The hashes and size of bytes copied, taken as they went by (one read)."""

    sha256: str
    sha512: str
    size: int


def copy_hashed(source: BinaryIO, write: Callable[[bytes], object]) -> Copied:
    """Copy ``source`` to ``write``, hashing it with sha256 and sha512 on the way."""
    sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
    while chunk := source.read(_READ_SIZE):
        sha256.update(chunk)
        sha512.update(chunk)
        write(chunk)
        size += len(chunk)
    return Copied(sha256.hexdigest(), sha512.hexdigest(), size)


def check_copied(entry: FileEntry, sha256: str, size: int) -> None:
    """Refuse to export a WARC file whose bytes differ from the manifest."""
    if sha256 != entry.sha256 or size != entry.size:
        raise StoreError(
            f"{entry.name} no longer has the sha256 and size the manifest lists: "
            "nothing was exported (`archiver verify` names what changed)"
        )


@dataclass(frozen=True)
class Exported:
    """What an export wrote: a package (``wacz`` or ``bag``) at ``path``, the store's
    files it carries and their bytes, the pages it lists (a WACZ), and the names in the
    store folder it left out (see ``StoreContents.left_out``)."""

    kind: str
    path: str
    store: str
    files: int
    bytes: int
    pages: int = 0
    left_out: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "path": self.path,
            "store": self.store,
            "files": self.files,
            "bytes": self.bytes,
            "pages": self.pages,
            "left_out": list(self.left_out),
        }


def cited_articles(store: StoreContents) -> tuple[str, ...]:
    """The articles whose citations the store's captures serve (a citation is labelled
    ``<article>#L<line>``), in the order first met."""
    found: dict[str, None] = {}
    for capture in store.captures:
        for label in capture.citations:
            article, marker, _line = label.rpartition("#L")
            found[article if marker else label] = None
    return tuple(found)


def default_description(store: StoreContents) -> str:
    """What a package says it holds when the user gave no description."""
    articles = cited_articles(store)
    if not articles:
        return f"Web archive captures kept by archiver in {store.root.name}"
    return "Archived copies of the sources cited by " + ", ".join(articles)
