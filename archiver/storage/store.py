"""Storing captures as WARC files: the ``store`` stage.

A *capture* is one HTTP response kept for a citation: either a memento fetched from an
archive in its raw (``id_``) form, with the captured redirects that led to it (each kept
as the response it is, so the cited URL replays), or the live page.
``archiver.storage.sources`` gets the responses and their provenance,
``archiver.storage.warcwriter`` turns them into WARC records; ``Store`` is the directory
that holds them and the manifest (``archiver.storage.manifest``), each capture durable.

Layout of a store directory::

    manifest.json                         the index (see archiver.storage.manifest)
    manifest.journal                      the index's changes since manifest.json was
                                          written, one line each (see
                                          archiver.storage.journal)
    <YYYYmmddHHMMSS>-<id>.warc.gz         captures, one after another, in files of up to
                                          ``warc_size`` bytes (1 GB by default), named by
                                          when the file was started
    <YYYYmmddHHMMSS>-<id>.warc.gz.open    a file a writer is appending to (one per
                                          writer), or one a killed run left
    manifest.json.tmp                     the manifest being replaced
    report.json, ...                      other stages' files, ignored here

Stores of earlier versions hold one file per capture (``<WARC-Date>-<sha1(target)[:8]>-
<id>.warc.gz``); they are read, verified and added to as they are.

**Nothing is written half.** Each ``Store`` appends to a WARC file of its own
(``archiver.storage.warcfile``); a capture is written in this order, and a run killed at
any point and started again ends with a store that verifies:

1. fetch (nothing on disk yet);
2. append the capture's records to the writer's ``<name>.warc.gz.open`` (created
   exclusively under the store lock, and ``flock``-ed for as long as it is written to),
   fsync: on "open-written";
3. under the store lock: read what other writers committed since (the journal lines
   appended after those read before; all of the manifest, when a compaction wrote it
   again), then append to ``manifest.journal`` one line listing the capture, its records
   and the file's new committed size and sha256, fsync (in a store with no manifest yet,
   write ``manifest.json`` instead, as below): on "manifest-written";
4. still under the lock, once the journal is larger than ``manifest.json``, and when the
   ``Store`` is closed: write the whole manifest to ``manifest.json.tmp``, fsync,
   ``os.replace``, fsync the directory ("manifest-compacted"), then delete the journal,
   which the new manifest holds (a journal left by a kill between the two follows an
   earlier manifest: it is ignored, and deleted by the next writer);
5. once the file holds ``warc_size`` bytes or more, or the ``Store`` is closed: cut it to
   its committed size and rename ``.open`` to ``<name>.warc.gz`` under the store lock,
   fsync the directory: on "renamed".

A commit costs the size of what it adds, however many captures the store holds.

Opening a ``Store`` settles, under the store lock, each ``.open`` file no writer holds (no
``flock`` on it): one the manifest lists is cut to its committed bytes (what a killed run
appended after them goes) and renamed into place; one it does not list (killed before its
first capture was committed) is deleted; a leftover ``manifest.json.tmp`` is deleted. A
journal line a kill cut short was never committed: readers ignore it, the next writer cuts
it off. A killed capture that never reached the manifest is captured again by the rerun.

A listed ``.open`` file whose committed bytes are not what the manifest says is left as
it is: ``verify`` reports it, and none of its captures is thrown away.

**Concurrency.** Fetching runs in parallel; the captures of one ``Store`` are appended to
its file one at a time, and manifest updates are serialised by a thread lock and, between
processes, by ``fcntl.flock`` on the store directory itself: a lock file would sit among
the files an archivist preserves (older versions made ``.lock``; it is left alone). Every
update reads what was committed since under the lock, so several threads and processes
can capture into one store; "is it stored already?" is asked again there, of the capture
and of each of its requisites, so that of two processes that fetched one at once only the
first to list it keeps it (the other cuts its appended copy off, and writes its page again
sharing the requisites the first stored). (Without ``fcntl``, on Windows, only the thread lock
applies: use one process per store there. On a network file system, a directory's lock
may hold between the processes of one machine only.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from archiver.config import Settings
from archiver.dates import parse_iso, parse_wayback_timestamp, to_wayback_timestamp, utcnow
from archiver.durable import file_error, fsync_directory
from archiver.errors import StoreError
from archiver.models import Memento
from archiver.storage.digests import payload_sha1_base32
from archiver.storage.journal import (
    COMPACT_AT,
    JOURNAL_NAME,
    InDoubt,
    capture_change,
    citations_change,
)
from archiver.storage.manifest import (
    MANIFEST_NAME,
    MANIFEST_TEMP_NAME,
    Capture,
    Manifest,
    ManifestFile,
    RecordEntry,
)

if TYPE_CHECKING:
    from archiver.archives.base import Archive
    from archiver.net.polite import Net
from archiver.storage.listing import manifest_entries
from archiver.storage.sources import Obtained, obtain_memento
from archiver.storage.warcfile import (
    DEFAULT_WARC_SIZE,
    OPEN_SUFFIX,
    WARC_SUFFIX,
    Appender,
    OpenWarc,
    is_in_use,
    listed_path,
    settle_left_file,
)
from archiver.storage.warcwriter import (
    WrittenRecord,
    default_warcinfo,
    stored_response_headers,
    write_capture,
    write_responses,
)
from archiver.storage.wholepage import (
    obtain_whole_live,
    share_stored_since,
    with_memento_requisites,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the thread lock only
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# Capture lives in manifest, the rest in warcwriter and digests; importable from here too.
__all__ = [
    "Capture",
    "Store",
    "WrittenRecord",
    "default_warcinfo",
    "payload_sha1_base32",
    "stored_response_headers",
    "write_capture",
]


def _instant(text: str | None) -> datetime | None:
    """An ISO 8601 date or a 14-digit Wayback timestamp as a datetime; None if neither."""
    if not text:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        pass
    try:
        return parse_wayback_timestamp(text)
    except ValueError:
        return None


def _new_uuid() -> str:
    return str(uuid.uuid4())


class Store:
    """A directory of WARC files indexed by ``manifest.json``; this object appends the
    captures it stores to a file of its own, rolled at ``warc_size`` bytes.

    ``close`` it (or use it as a context manager) when done, so that its file gets its
    final name; a file left open is settled by the next ``Store`` opened in the folder.
    ``clock`` and ``new_id`` are the seams for reproducible output. ``on_step`` is called
    with "open-written", "manifest-written" and "renamed" as each capture passes those
    durable points (see the module docstring), and with "bytes-written" after each write
    to a WARC file (the kill-safety tests stop a process there); and with
    "manifest-compacted" when the manifest's journal was folded into it: past
    ``compact_at`` bytes (and the size of ``manifest.json``), and on ``close``.
    """

    def __init__(
        self,
        root: Path,
        *,
        clock: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = _new_uuid,
        on_step: Callable[[str], None] | None = None,
        warc_size: int = DEFAULT_WARC_SIZE,
        compact_at: int = COMPACT_AT,
    ) -> None:
        self.root = Path(root)
        self._clock = clock
        self._new_id = new_id
        self._on_step = on_step
        self._lock = threading.RLock()
        self._writing = threading.Lock()  # one capture at a time appended to its file
        self._files = Appender(self.root, warc_size, self._locked, on_step)
        self._manifest = ManifestFile(self.root, on_step, compact_at)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise file_error(e, self.root, doing="create the store") from e
        with self._locked():
            manifest = self._manifest.current()
            if manifest is None and any(p.name.endswith(WARC_SUFFIX) for p in self._entries()):
                raise StoreError(
                    f"{self.root} holds WARC files but no {MANIFEST_NAME}: it is not an "
                    "archiver store (verify its files with `archiver verify FILE`)"
                )
            try:
                self._reconcile(manifest or Manifest())
            except OSError as e:
                where = Path(e.filename) if e.filename else self.root
                raise file_error(e, where, doing="tidy up") from e

    # -- reading --

    @property
    def manifest(self) -> Manifest:
        """The manifest as it is on disk now (what other writers committed since it was
        last read included)."""
        return self._manifest.current() or Manifest()

    @property
    def captures(self) -> tuple[Capture, ...]:
        return self.manifest.captures

    def path_of(self, capture: Capture) -> Path:
        """The file that holds ``capture`` (named ``.open`` while it is appended to)."""
        return listed_path(self.root, capture.warc_file)

    def close(self) -> None:
        """Give the file this store appends to its final name, and fold the manifest's
        journal into it; a later capture starts a new file."""
        with self._writing:
            self._files.close()
            try:
                with self._locked():
                    self._manifest.current()
                    self._compact(always=True)
            except StoreError as e:
                log.warning("%s was not folded into %s: %s", JOURNAL_NAME, MANIFEST_NAME, e)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def find(
        self, target_uri: str, warc_date: str | None = None, *, source: str | None = None
    ) -> Capture | None:
        """The latest capture of ``target_uri`` (as asked for, or as stored).

        With ``warc_date``, only a capture of that moment: its WARC-Date, the datetime the
        archive stated for it, or the datetime its memento was listed under. With
        ``source`` ("memento"/"live"), only that kind.
        """
        return self._latest(target_uri, None, warc_date, source)

    def _latest(
        self,
        url: str,
        wanted: Callable[[Capture], bool] | None,
        warc_date: str | None,
        source: str | None,
        manifest: Manifest | None = None,
    ) -> Capture | None:
        """The latest capture of ``url`` (as asked for, or as stored) that is ``wanted``
        too, of ``warc_date`` and ``source`` when given (see ``find``)."""
        moment = _instant(warc_date) if warc_date else None
        if warc_date and moment is None:
            return None
        for capture in (manifest or self.manifest).latest_of(url):  # indexed: not them all
            if wanted is not None and not wanted(capture):
                continue
            if source is not None and capture.source != source:
                continue
            if moment is not None and moment not in (
                _instant(capture.warc_date),
                _instant(capture.memento_datetime),
                _instant(capture.listed_datetime),
            ):
                continue
            return capture
        return None

    # -- capturing --

    def capture_memento(
        self,
        memento: Memento,
        archive: Archive,
        net: Net,
        citations: Sequence[str] = (),
        *,
        reuse: bool = True,
        cited: str | None = None,
    ) -> Capture:
        """Read ``memento`` from ``archive`` (the one it was found in) and store it with
        honest provenance, after the captured redirects that lead to it.

        ``cited`` is the URL the citations cite, when ``memento`` is the capture its
        captured redirects led to (as ``select`` hands it over): the cited URL's own
        redirect is looked up and stored too (``archiver.storage.sources``). With
        ``reuse`` (the default) a memento already in the store is not fetched again; the
        stored capture is returned, with ``citations`` added to it.
        """

        def stored(manifest: Manifest | None = None) -> Capture | None:
            return self._stored_memento(memento, cited, manifest)

        if reuse:
            existing = stored()
            if existing is not None:
                return self.add_citations(existing, citations)
        obtained = obtain_memento(memento, archive, net, self._clock, cited=cited)
        obtained = with_memento_requisites(obtained, archive, net, self.manifest, self._clock)
        return self._store(obtained, citations, stored if reuse else None)

    def _stored_memento(
        self, memento: Memento, cited: str | None, manifest: Manifest | None = None
    ) -> Capture | None:
        original = memento.original

        if cited is None or cited == original:
            return self._latest(original, None, memento.datetime, "memento", manifest)

        def wanted(capture: Capture) -> bool:
            return (capture.url, capture.target_uri) == (cited, original)

        return self._latest(cited, wanted, memento.datetime, "memento", manifest)

    def capture_live(
        self,
        url: str,
        session: requests.Session,
        settings: Settings,
        citations: Sequence[str] = (),
        *,
        reuse: bool = True,
    ) -> Capture:
        """Fetch ``url`` from the live web and store the final response under its own URL.

        With ``reuse`` (the default) a URL already captured live is not fetched again.
        """

        def stored(manifest: Manifest | None = None) -> Capture | None:
            return self._latest(url, None, None, "live", manifest)

        if reuse:
            existing = stored()
            if existing is not None:
                return self.add_citations(existing, citations)
        obtained = obtain_whole_live(url, session, settings, self.manifest, self._clock)
        return self._store(obtained, citations, stored if reuse else None)

    def add_citations(self, capture: Capture, citations: Sequence[str]) -> Capture:
        """Record that ``capture`` (and each of its records) also serves ``citations``."""
        if all(c in capture.citations for c in citations):
            return capture
        with self._locked():
            manifest = self._manifest.current() or Manifest()
            changed = manifest.with_citations(capture.warc_file, capture.record_id, citations)
            if changed is None:
                raise StoreError(f"{capture.warc_file} is not in the manifest of {self.root}")
            self._commit(citations_change(capture, citations), changed[0])
            return changed[1]

    # -- internals --

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if fcntl is None:  # pragma: no cover
                yield
                return
            try:
                directory = os.open(self.root, os.O_RDONLY)  # the lock: no file in the store
            except OSError as e:
                raise StoreError(f"cannot lock the store {self.root}: {e.strerror or e}") from e
            try:
                fcntl.flock(directory, fcntl.LOCK_EX)
                yield
            finally:
                os.close(directory)  # releases the flock

    def _commit(self, change: dict[str, object], changed: Manifest) -> None:
        """``ManifestFile.commit``, a failure named as the manifest's (one line, what to
        do). Not known to have failed whole (``InDoubt``), the file appended to is left
        for the next Store to settle against what the manifest says."""
        try:
            self._manifest.commit(change, changed)
        except OSError as e:
            if isinstance(e, InDoubt):
                self._files.abandon()
            raise file_error(e, Path(e.filename or self.root / MANIFEST_NAME)) from e

    def _compact(self, *, always: bool = False) -> None:
        """Fold the manifest's journal into it when due (``ManifestFile.compact``; the
        caller holds the lock). A failure loses nothing (the journal holds what it would
        have folded): said, and left for a later compaction."""
        try:
            self._manifest.compact(always=always)
        except OSError as e:
            log.warning("%s was not folded into %s: %s", JOURNAL_NAME, MANIFEST_NAME, e)

    def _entries(self) -> list[Path]:
        try:
            return sorted(self.root.iterdir())
        except OSError as e:
            raise StoreError(f"cannot list the store {self.root}: {e.strerror or e}") from e

    def _reconcile(self, manifest: Manifest) -> None:
        """Finish or discard what a killed run left (see the module docstring)."""
        listed = {entry.name: entry for entry in manifest.files}
        changed = False
        for path in self._entries():
            name = path.name
            if (name == MANIFEST_TEMP_NAME or name.endswith(OPEN_SUFFIX)) and path.is_dir():
                raise StoreError(
                    f"{path} is a folder, where archiver leaves a file it was writing: "
                    "move it out of the store, then run the command again"
                )
            if name == MANIFEST_TEMP_NAME:
                path.unlink(missing_ok=True)
                changed = True
            elif name.endswith(OPEN_SUFFIX) and not is_in_use(path):
                changed |= settle_left_file(path, listed.get(name[: -len(OPEN_SUFFIX)]))
        if changed:
            fsync_directory(self.root)

    def _step(self, name: str) -> None:
        if self._on_step is not None:
            self._on_step(name)

    def _names(self) -> Iterator[str]:
        """Names for a new WARC file: when it is made, and an id."""
        stamp = to_wayback_timestamp(self._clock())
        listed = self.manifest.file_names()
        for _ in range(20):
            name = f"{stamp}-{self._new_id().replace('-', '')[-12:]}{WARC_SUFFIX}"
            if name not in listed:
                yield name

    def _store(
        self,
        obtained: Obtained,
        citations: Sequence[str],
        stored: Callable[[Manifest], Capture | None] | None = None,
    ) -> Capture:
        """Append ``obtained`` to this store's file and list it (see the module docstring).

        ``stored`` finds, in the manifest, a capture that makes this one superfluous: it is
        asked again under the lock (``_list``), as another process may have stored it, or
        some of its requisites, while this one fetched them."""
        with self._writing:
            while True:
                try:
                    warc = self._files.file(self._names)
                except OSError as e:
                    raise file_error(e, self.root) from e
                written = self._append(warc, obtained)
                self._step("open-written")
                capture, rows = manifest_entries(warc.name, obtained, written, tuple(citations))
                outcome = self._list(warc, rows, capture, obtained, stored)
                if outcome is None:
                    self._files.roll()
                    return capture
                self._files.drop_uncommitted()
                if isinstance(outcome, Capture):
                    return self.add_citations(outcome, citations)
                obtained = outcome  # sharing what was stored meanwhile: fewer each turn

    def _list(
        self,
        warc: OpenWarc,
        rows: tuple[RecordEntry, ...],
        capture: Capture,
        obtained: Obtained,
        stored: Callable[[Manifest], Capture | None] | None,
    ) -> Capture | Obtained | None:
        """Commit the capture just appended to ``warc``: the manifest lists it. Unless it is
        stored already (``stored``): that capture is returned; or some of its requisites
        are: ``obtained`` sharing them is returned, to be written again."""
        listed = False
        try:
            with self._locked():
                manifest = self._manifest.current() or Manifest()
                already = stored(manifest) if stored is not None else None
                if already is not None:
                    return already
                sharing = share_stored_since(obtained, manifest)
                if sharing is not None:
                    return sharing
                entry = warc.entry()
                changed = manifest.with_capture(entry, rows, capture)
                self._commit(capture_change(entry, rows, capture), changed)
                warc.commit()
                listed = True
                self._step("manifest-written")
                self._compact()
                return None
        except BaseException as e:
            if listed:
                raise
            # A journal line is written whole or cut off again (unless InDoubt, when the
            # file was abandoned), and replace_file fails only before its rename: a
            # StoreError leaves the manifest without the capture. Stopped anywhere else,
            # the file is left for the next Store to settle.
            if isinstance(e, StoreError):
                self._files.drop_uncommitted()
            else:
                self._files.abandon()
            raise

    def _append(self, warc: OpenWarc, obtained: Obtained) -> list[WrittenRecord]:
        """Write the records of ``obtained`` after the committed bytes of ``warc``."""
        try:
            return warc.append(
                lambda stream, start: write_responses(
                    stream,
                    obtained.to_write(),
                    creation_date=obtained.creation_date,
                    new_id=self._new_id,
                    warcinfo=obtained.warcinfo,
                    warc_filename=warc.name,
                    start=start,
                )
            )
        except BaseException as e:
            self._files.drop_uncommitted()
            if isinstance(e, OSError):
                raise file_error(e, warc.path) from e
            raise
