"""The store's manifest: what is in each WARC file, and which citation it serves.

``manifest.json`` is the index of a store directory. It is what ``verify_store`` checks the
WARC files against, what ``Store.find`` answers from, and what other tools (and people)
read to learn which bytes back which citation, so its field names are stable and listed
here. A reader must ignore fields it does not know; ``version`` changes only when a field
changes meaning or is removed.

    {
      "format": "archiver-store-manifest",
      "version": 3,
      "files": [                      one entry per WARC file, in the order first written
        {"name": "20260301120000-0123456789ab.warc.gz",
         "sha256": "<hex of its first `size` bytes>", "size": 1234}
      ],
      "records": [                    one entry per WARC record, in file order
        {"file": "<name in files>", "offset": 0, "length": 345,   the gzip member's place
         "type": "warcinfo|response|request|metadata",
         "record_id": "<urn:uuid:...>", "target_uri": "...", "warc_date": "...Z",
         "payload_sha256": "<hex>", "payload_length": 1234,
         "capture_record_id": "<urn:uuid:...>",   the capture it was written with
         "citations": ["..."],        the citations the capture serves
         "archive_digest": "<sha1 base32>" | null,          response records of mementos
         "archive_digest_match": true | false | null}
      ],
      "captures": [ Capture.to_dict(), ... ],  one per capture (see ``Capture``)
      "digest": "sha256:<hex>"        the manifest's own digest (below)
    }

**A file holds many captures** (``archiver.storage.warcfile``): captures are appended to
it until it reaches the store's size limit. A file's ``size`` and ``sha256`` are those of
its *committed* bytes, its first ``size`` bytes, which hold every record listed in it; a
file still named ``<name>.open`` (being appended to, or left by a killed run) may hold
more bytes after them, which are not part of the store. A record's ``capture_record_id``
is the ``record_id`` of the capture it was written with (``Capture.record_id``, its
response record), so that each capture's records can be told apart in a shared file.

A record's *payload* is the HTTP entity body for ``response`` and ``request`` records
(content-encoding intact, exactly the bytes the WARC-Payload-Digest covers) and the whole
record block for other types. ``archive_digest`` is the archive's own CDX digest of the
memento (sha1, base32); ``archive_digest_match`` says whether the stored payload has that
digest. It is recorded honestly either way: a capture whose bytes differ from what the
archive indexed is kept, flagged ``false``, and reported by ``verify_store`` as a note.

**Version 3** (this one): files hold many captures, and ``size`` and ``sha256`` are of a
file's committed bytes (in version 2 a file held one capture, and they were of the whole
file, which a closed file still is). Version 1 and 2 manifests are read as they are:
their records have no ``capture_record_id``, and each belongs to the one capture of its
file. Archiver versions that know only version 2 refuse a version 3 store rather than
take a file with an uncommitted tail for a damaged one.

**Version 2**: a capture's ``memento_datetime`` is the datetime the archive
stated for the capture it served (``Memento-Datetime``, a collection record's WARC-Date),
None when it stated none; in version 1 it was the datetime the memento was listed under,
which is now ``listed_datetime``. A version 1 manifest is read as version 2 says: its
``memento_datetime`` becomes ``listed_datetime`` and ``memento_datetime`` is None (whether
the archive stated it was not recorded). A capture reached through captured redirects
lists them in ``captured_redirects``, each its own ``response`` record in the capture's file.
A capture's page requisites (``archiver.storage.wholepage``) are listed in ``requisites``
(``StoredRequisite``: each its own ``response`` record, in the capture's file or, when
``shared``, in the file of the capture that stored it first) and ``requisites_left_out``
(``LeftOutRequisite``, with the reason); manifests without them read as none.

**Its own digest.** ``digest`` (``sha256:<hex>``) is the sha256 of the manifest's
canonical JSON without its ``digest`` field (keys sorted, no spaces: Python's
``json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, UTF-8),
so ``verify`` catches a manifest edited by hand or by another tool (whitespace aside).
Manifests written before it carry none; they are read as before, and ``verify`` says so.

``manifest.json`` is only ever replaced whole (write a temporary file in the same
directory, fsync, ``os.replace``, fsync the directory), so a reader sees the old or the new
version, never a mix. Between two such writes, commits are lines appended to its journal,
``manifest.journal`` (``archiver.storage.journal``): the store's manifest is
``manifest.json`` with them applied, which is what ``read_manifest`` returns and
``ManifestFile`` follows for a writer. The entries themselves are defined in
``archiver.storage.entries`` (and importable from here).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from archiver.durable import fsync_directory, replace_file
from archiver.errors import StoreError
from archiver.jsontext import parse_json
from archiver.storage.entries import (
    DIGEST_FIELD,
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    Capture,
    FileEntry,
    LeftOutRequisite,
    Manifest,
    RecordEntry,
    StoredRedirect,
    StoredRequisite,
    manifest_digest,
    parse_entries,
)
from archiver.storage.journal import (
    COMPACT_AT,
    JOURNAL_NAME,
    Journal,
    append_line,
    follow,
    open_journal,
)

__all__ = [
    "DIGEST_FIELD",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "MANIFEST_TEMP_NAME",
    "MANIFEST_VERSION",
    "Capture",
    "FileEntry",
    "LeftOutRequisite",
    "Manifest",
    "ManifestFile",
    "ManifestSnapshot",
    "RecordEntry",
    "StoredRedirect",
    "StoredRequisite",
    "manifest_digest",
    "read_manifest",
    "read_manifest_snapshot",
    "refuse_damaged",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_TEMP_NAME = "manifest.json.tmp"


@dataclass(frozen=True)
class ManifestSnapshot:
    """One reading of a store's manifest: what it lists (``manifest.json`` with its
    journal applied), the sha256 of the ``manifest.json`` bytes read, the digest they
    state of themselves (None in a manifest written before there was one) beside the one
    their content has, and the journal as read (``journal.lines`` lines after them)."""

    manifest: Manifest
    sha256: str
    stated_digest: str | None
    digest: str
    journal: Journal


def read_manifest_snapshot(
    root: Path, *, on_files: Callable[[tuple[FileEntry, ...]], None] | None = None
) -> ManifestSnapshot | None:
    """The manifest of the store at ``root``, read in one go; None when there is none.

    ``on_files`` is given the files ``manifest.json`` lists as soon as they are read,
    before the rest is (so that checking them can start: ``verify``), when there is no
    journal to change them.

    A manifest that cannot be parsed raises ``StoreError`` with a one-line message: a
    store whose index is damaged must not be written to or trusted until a person looks.
    A damaged journal is said in ``journal.damaged`` (``read_manifest`` refuses it).
    """
    path = root / MANIFEST_NAME
    try:
        stream = open_journal(root)  # first: see archiver.storage.journal
    except OSError as e:
        raise StoreError(f"cannot read {root / JOURNAL_NAME}: {e.strerror or e}") from e
    with stream if stream is not None else contextlib.nullcontext():
        try:
            raw = path.read_bytes()  # replaced whole, never written in place: one version
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StoreError(f"cannot read {path}: {e.strerror or e}") from e
        data, manifest = _parsed(path, raw, on_files if stream is None else None)
        digest = manifest_digest(data)
        try:
            manifest, journal = follow(stream, manifest, Journal.following(data, digest))
        except OSError as e:
            raise StoreError(f"cannot read {root / JOURNAL_NAME}: {e.strerror or e}") from e
    stated = data.get(DIGEST_FIELD)
    return ManifestSnapshot(
        manifest,
        hashlib.sha256(raw).hexdigest(),
        stated if isinstance(stated, str) or stated is None else repr(stated),
        digest,
        journal,
    )


def _parsed(
    path: Path, raw: bytes, on_files: Callable[[tuple[FileEntry, ...]], None] | None
) -> tuple[dict[str, Any], Manifest]:
    """The JSON of ``manifest.json`` (``raw``, read from ``path``), and what it lists."""
    try:
        data = parse_json(raw.decode("utf-8"))
        if on_files is not None and isinstance(data, dict):
            on_files(parse_entries(FileEntry, data.get("files")))
        return data, Manifest.from_dict(data)
    except (ValueError, TypeError, KeyError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise StoreError(f"{path} is corrupt: {message}") from e


def read_manifest(root: Path) -> Manifest | None:
    """The manifest of the store at ``root``; None when there is none (see
    ``read_manifest_snapshot``). A damaged journal is a ``StoreError``."""
    snapshot = read_manifest_snapshot(root)
    if snapshot is None:
        return None
    refuse_damaged(root, snapshot.journal)
    return snapshot.manifest


def refuse_damaged(root: Path, journal: Journal) -> None:
    """``StoreError`` when the journal of the store at ``root`` is damaged."""
    if journal.damaged:
        raise StoreError(
            f"{root / JOURNAL_NAME} is damaged ({journal.damaged[0]}): nothing in the store "
            "is trusted or written until a person has looked (`archiver verify` names it)"
        )


def write_manifest(root: Path, manifest: Manifest) -> str:
    """Replace ``root/manifest.json`` atomically and durably; the digest it carries."""
    data = manifest.to_dict()
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"  # as Manifest.to_json
    replace_file(root / MANIFEST_NAME, text.encode("utf-8"), temp=root / MANIFEST_TEMP_NAME)
    return str(data[DIGEST_FIELD])


class ManifestFile:
    """The manifest of the store at ``root`` as one writer (a ``Store``) follows it: read
    whole once, then only the journal lines other writers appended since, so that a
    commit costs its own size (``archiver.storage.journal``).

    ``current`` is the manifest now; under the store lock, it is the one a change is made
    to, and ``commit`` then makes that change durable. ``compact`` folds the journal into
    ``manifest.json`` (under the store lock). ``on_step`` is told "manifest-compacted"
    between writing the manifest and deleting the journal it holds; ``compact_at`` is the
    fewest journal bytes compacted before it is closed. Failures to read are
    ``StoreError``; failures to write, ``OSError``.
    """

    def __init__(
        self,
        root: Path,
        on_step: Callable[[str], None] | None = None,
        compact_at: int = COMPACT_AT,
    ) -> None:
        self.root = root
        self._on_step = on_step
        self._compact_at = compact_at
        self._lock = threading.Lock()  # threads of one writer share what was read
        self._key: tuple[int, int, int] | None = None  # manifest.json's, as last read
        self._read: tuple[Manifest, Journal] | None = None  # with the journal applied

    def current(self) -> Manifest | None:
        """The manifest now (None when there is none yet); ``StoreError`` when it cannot
        be read, or its journal is damaged."""
        with self._lock:
            try:
                stream = open_journal(self.root)  # first: see archiver.storage.journal
                with stream if stream is not None else contextlib.nullcontext():
                    read = self._refreshed(stream)
            except OSError as e:
                where = Path(e.filename) if e.filename else self.root / JOURNAL_NAME
                raise StoreError(f"cannot read {where}: {e.strerror or e}") from e
        if read is None:
            return None
        refuse_damaged(self.root, read[1])
        return read[0]

    def _refreshed(self, stream: BinaryIO | None) -> tuple[Manifest, Journal] | None:
        path = self.root / MANIFEST_NAME
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._key = self._read = None
            return None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        inode = os.fstat(stream.fileno()).st_ino if stream is not None else None
        # Read whole again: manifest.json written whole since, or a journal gone, made
        # anew (or one folded in already, which the next writer deletes and makes anew).
        read = self._read
        if read is None or key != self._key or read[1].stale or read[1].inode not in (None, inode):
            data, manifest = _parsed(path, path.read_bytes(), None)
            self._key, read = key, (manifest, Journal.following(data, manifest_digest(data)))
        self._read = follow(stream, *read)
        return self._read

    def commit(self, change: dict[str, Any], changed: Manifest) -> None:
        """Make ``change`` durable, ``changed`` being ``current()`` with it made (the
        caller holds the store lock): a line appended to the journal; the manifest
        written, when there is none yet."""
        with self._lock:
            if self._read is None:
                write_manifest(self.root, changed)
                self._key = None  # read again: small, and once
                return
            _line, journal = append_line(self.root, self._read[1], change)
            self._read = (changed, journal)

    def compact(self, *, always: bool = False) -> bool:
        """Fold the journal into ``manifest.json`` (the caller holds the store lock, and
        called ``current``): once it is larger than the manifest, or ``always``. True
        when it did."""
        with self._lock:
            if self._read is None or self._key is None:
                return False
            manifest, journal = self._read
            if journal.inode is None:  # no journal read, none written: nothing to fold
                return False
            if not always and journal.end < max(self._compact_at, self._key[2]):
                return False
            digest = write_manifest(self.root, manifest)
            stat = (self.root / MANIFEST_NAME).stat()
            self._key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            self._read = (manifest, Journal(digest, digest))
            if self._on_step is not None:
                self._on_step("manifest-compacted")
            (self.root / JOURNAL_NAME).unlink(missing_ok=True)
            fsync_directory(self.root)
            return True
