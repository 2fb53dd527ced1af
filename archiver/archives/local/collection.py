"""A local collection of WARC and WACZ files as an archive: find, resolve and read captures.

``LocalCollection`` answers like a CDX server from its index (``archiver.archives.local.index``,
cached by ``.cache``) and reads records back (``.records``).

**Mementos.** ``url`` and ``raw_url`` are a locator of the record (``.keys``);
``http_status`` is the status recorded; ``digest`` the record's ``WARC-Payload-Digest`` as
sha1 base32 (computed when the record has none). ``LocalCollection.read`` (the
``Archive`` protocol's) reads the record a locator names; nothing is fetched.

**Revisits** (``warc/revisit``) hold no payload. The one they refer to is looked up in the
whole collection (so a folder resolves revisits across files): by ``WARC-Refers-To``
(record id), then ``WARC-Refers-To-Target-URI`` + ``WARC-Refers-To-Date``, then by payload
digest (same URL first, then the latest before the revisit, then any); a candidate is used
only if its payload's sha1 is the revisit's digest. Per the WARC spec the revisit's own
HTTP status line and headers describe it, so they are kept; a revisit without HTTP headers,
or with a 304 (the server-not-modified profile), takes the original's.

**Captured redirects** (3xx with ``Location``): ``read`` returns the 3xx as captured, with
its target and the target's capture closest in time (same URL first, then same urlkey),
never the live web; ``read_locator`` follows them inside the collection, at most
``max_redirects`` times and never to a record already on the chain, and lists the chain.
``find`` reports a 3xx capture as the 3xx it is, like a CDX server.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import replace as dataclass_replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urljoin, urlsplit

from warcio.archiveiterator import ArchiveIterator

from archiver.archives.base import ArchivedResponse, CapturedRedirect

# Imported under the names LocalCollection's body has used since it was one module.
from archiver.archives.local.cache import IndexCache as _IndexCache
from archiver.archives.local.cache import default_cache_dir
from archiver.archives.local.index import FileIndex as _FileIndex
from archiver.archives.local.index import IndexEntry
from archiver.archives.local.index import build_index as _build_index
from archiver.archives.local.index import file_stamp as _stamp
from archiver.archives.local.keys import (
    COLLECTION_SUFFIXES,
    parse_locator,
    url_key,
)
from archiver.archives.local.records import CollectionResponse, RedirectStep
from archiver.archives.local.records import Record as _Record
from archiver.archives.local.records import dechunked as _dechunked
from archiver.archives.local.records import open_at as _open_at
from archiver.dates import as_utc, to_iso, utcnow
from archiver.errors import InputError
from archiver.models import Memento
from archiver.storage.digests import base32_of as _sha1_base32
from archiver.storage.warcreader import READ_SIZE as _READ_SIZE
from archiver.storage.warcreader import WARC_READ_ERRORS as _READ_ERRORS
from archiver.storage.warcreader import describe_error as _describe

if TYPE_CHECKING:
    from archiver.net.polite import Net

log = logging.getLogger(__name__)

MAX_REDIRECTS = 10


class LocalCollection:
    """A WARC/WACZ file or a folder of them, indexed once and searched like a CDX server.

    ``index_builds`` counts the files read to build their index, ``index_loads`` the
    indexes taken from the cache; ``problems`` lists files (or parts) that could not be
    indexed, one line each. Thread-safe.
    """

    listing_kind: ClassVar[str] = "list"
    closest_first: ClassVar[bool] = False  # the index answers both at no cost
    verdicts_last: ClassVar[bool] = False  # local files change

    def __init__(self, path: Path | str, *, spec: str | None = None, cache_dir: Path | None = None):
        self.spec = spec if spec is not None else str(path)
        self.root = Path(path).expanduser().absolute()
        self._cache = _IndexCache(cache_dir if cache_dir is not None else default_cache_dir())
        self.index_builds = 0
        self.index_loads = 0
        self._lock = threading.RLock()
        self._files: dict[Path, _FileIndex] = {}
        self._by_key: dict[str, list[IndexEntry]] = {}
        self._by_place: dict[tuple[str, str | None, int], IndexEntry] = {}
        self._by_id: dict[str, IndexEntry] = {}
        self._by_digest: dict[str, list[IndexEntry]] = {}

    @property
    def cache_dir(self) -> Path:
        return self._cache.directory

    @property
    def problems(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(
                f"{path}: {index.error or index.warning}"
                for path, index in self._files.items()
                if index.error or index.warning
            )

    # -- the index --

    def _list_files(self) -> list[Path]:
        if self.root.is_file():
            return [self.root]
        if not self.root.is_dir():
            raise InputError(f"archive {self.spec!r}: no such WARC/WACZ file or folder")
        found = []
        for path in self.root.rglob("*"):
            relative = path.relative_to(self.root).parts
            if any(part.startswith(".") for part in relative):
                continue
            if path.name.lower().endswith(COLLECTION_SUFFIXES) and path.is_file():
                found.append(path)
        return sorted(found)

    def refresh(self) -> None:
        """Index new and changed files, forget removed ones (each lookup does this)."""
        with self._lock:
            paths = self._list_files()
            changed = set(paths) != set(self._files)
            for path in paths:
                try:
                    stamp = _stamp(path)
                except OSError as e:
                    self._files[path] = _FileIndex(
                        (-1, -1), error=f"cannot read it: {_describe(e)}"
                    )
                    continue
                known = self._files.get(path)
                if known is not None and known.stamp == stamp:
                    continue
                self._files[path] = self._index_of(path, stamp)
                changed = True
            for gone in set(self._files) - set(paths):
                del self._files[gone]
            if changed:
                self._rebuild_maps()
            usable = [index for index in self._files.values() if index.error is None]
            if self.root.is_file() and not usable:
                reason = self._files[self.root].error
                raise InputError(f"archive {self.spec!r}: {reason}")
            if not usable:
                skipped = f" ({len(self._files)} unreadable)" if self._files else ""
                raise InputError(
                    f"archive {self.spec!r}: no readable WARC or WACZ file in the folder{skipped}"
                )

    def _index_of(self, path: Path, stamp: tuple[int, int]) -> _FileIndex:
        index = self._cache.load(path, stamp)
        if index is not None:
            self.index_loads += 1
        else:
            self.index_builds += 1
            index = _build_index(path, stamp)
            if index.error is None:
                self._cache.save(path, index)
        if index.error is not None and path != self.root:
            log.warning("%s: skipped: %s", path, index.error)
        elif index.warning is not None:
            log.warning("%s: %s", path, index.warning)
        return index

    def _rebuild_maps(self) -> None:
        self._by_key, self._by_place, self._by_id, self._by_digest = {}, {}, {}, {}
        for index in self._files.values():
            for entry in index.entries:
                self._by_key.setdefault(entry.urlkey, []).append(entry)
                self._by_place.setdefault((entry.file, entry.member, entry.offset), entry)
                if entry.record_type == "response":
                    if entry.record_id:
                        self._by_id.setdefault(entry.record_id, entry)
                    if entry.digest:
                        self._by_digest.setdefault(entry.digest, []).append(entry)

    def entries(self, url: str) -> list[IndexEntry]:
        """Every indexed capture under ``url``'s urlkey, oldest first."""
        with self._lock:
            self.refresh()
            found = list(self._by_key.get(url_key(url), ()))
        return sorted(found, key=lambda e: e.timestamp)

    # -- finding --

    def find(
        self, url: str, when: datetime | None = None, limit: int = 25, net: Net | None = None
    ) -> list[Memento]:
        """The (up to ``limit``) captures of ``url`` closest to ``when`` (None: now), oldest
        first; one per (moment, URL), a response preferred to a revisit. ``net`` is not
        needed: the files are local."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        moment = utcnow() if when is None else as_utc(when)
        unique: dict[tuple[str, str], IndexEntry] = {}
        for entry in self.entries(url):
            key = (entry.timestamp, entry.url)
            kept = unique.get(key)
            if kept is None or (kept.record_type == "revisit" and entry.record_type != "revisit"):
                unique[key] = entry
        nearest = sorted(unique.values(), key=lambda e: abs((e.moment - moment).total_seconds()))[
            :limit
        ]
        with self._lock:
            return [self._memento(e) for e in sorted(nearest, key=lambda e: (e.timestamp, e.url))]

    def closest(self, url: str, when: datetime | None, net: Net | None = None) -> Memento | None:
        """The capture of ``url`` closest to ``when`` (None: now), from the index."""
        found = self.find(url, when, 1)
        return found[0] if found else None

    def _memento(self, entry: IndexEntry) -> Memento:
        status, mime = entry.status, entry.mime
        if entry.record_type == "revisit" and (not entry.has_http or status == 304):
            originals = self._revisit_originals(entry)
            status = originals[0].status if originals else None
            mime = originals[0].mime if originals else mime
        return Memento(
            original=entry.url,
            datetime=to_iso(entry.moment),
            archive=self.spec,
            url=entry.locator,
            raw_url=entry.locator,
            http_status=status,
            mimetype=mime,
            digest=entry.digest,
        )

    def _revisit_originals(self, revisit: IndexEntry) -> list[IndexEntry]:
        """Response records a revisit may repeat, best first (see the module docstring)."""
        candidates: list[IndexEntry] = []
        if revisit.refers_to and revisit.refers_to in self._by_id:
            candidates.append(self._by_id[revisit.refers_to])
        if revisit.refers_to_uri and revisit.refers_to_date:
            same = [
                e
                for e in self._by_key.get(url_key(revisit.refers_to_uri), ())
                if e.record_type == "response" and e.timestamp == revisit.refers_to_date
            ]
            same.sort(key=lambda e: e.url != revisit.refers_to_uri)
            candidates.extend(same)
        if revisit.digest:

            def preference(e: IndexEntry) -> tuple[bool, bool, float]:
                gap = (revisit.moment - e.moment).total_seconds()
                return (e.urlkey != revisit.urlkey, gap < 0, abs(gap))

            candidates.extend(sorted(self._by_digest.get(revisit.digest, ()), key=preference))
        unique = list(dict.fromkeys(candidates))
        if revisit.digest:
            unique = [e for e in unique if e.digest in (None, revisit.digest)]
        return unique

    # -- reading --

    def read(
        self, memento: Memento, net: Net | None = None, *, max_bytes: int | None = None
    ) -> ArchivedResponse:
        """The record ``memento.raw_url`` locates, revisit resolved, payload cut at
        ``max_bytes`` (None: ``net``'s cap). A captured redirect is not followed: it comes
        back with its target and the target's capture closest in time, if the collection
        holds one."""
        if max_bytes is None and net is not None:
            max_bytes = net.settings.max_bytes
        served = self.read_locator(memento.raw_url, follow_redirects=False, max_bytes=max_bytes)
        redirect = None
        with self._lock:
            entry = self._entry_at(served.locator)
            target = self._captured_target(entry, served)
            if target is not None and urlsplit(target).scheme in ("http", "https"):
                following = self._closest_capture(target, entry, {entry.locator})
                capture = self._memento(following) if following is not None else None
                redirect = CapturedRedirect(target, None, capture)
        return ArchivedResponse(
            memento=dataclass_replace(memento, http_status=served.status),
            requested=memento.raw_url,
            url=served.locator,
            status=served.status,
            reason=served.reason,
            http_version=served.http_version,
            headers=served.headers,
            payload=served.payload,
            truncated=served.truncated,
            captured=True,
            datetime=served.datetime,
            original=served.url,
            digest=served.digest,
            redirect=redirect,
        )

    def read_locator(
        self,
        locator: str,
        *,
        follow_redirects: bool = True,
        max_redirects: int = MAX_REDIRECTS,
        max_bytes: int | None = None,
    ) -> CollectionResponse:
        """The capture at ``locator``: revisit resolved, captured redirects followed inside
        the collection (at most ``max_redirects``), payload cut at ``max_bytes``."""
        with self._lock:
            self.refresh()
            entry = self._entry_at(locator)
            chain: list[RedirectStep] = []
            visited = {entry.locator}
            stopped = None
            while True:
                served = self._serve(entry, max_bytes)
                target = self._captured_target(entry, served) if follow_redirects else None
                if target is None:
                    break
                if len(chain) >= max_redirects:
                    stopped = f"stopped after {max_redirects} redirects"
                    break
                following = self._closest_capture(target, entry, visited)
                if following is None:
                    captured = any(
                        e.locator in visited for e in self._by_key.get(url_key(target), ())
                    )
                    stopped = (
                        f"redirect loop at {target}"
                        if captured
                        else f"the redirect target {target} is not in the collection"
                    )
                    break
                chain.append(
                    RedirectStep(
                        entry.url, to_iso(entry.moment), served.status, target, entry.locator
                    )
                )
                visited.add(following.locator)
                entry = following
            return dataclass_replace(served, redirects=tuple(chain), stopped=stopped)

    def _entry_at(self, locator: str) -> IndexEntry:
        file, member, offset = parse_locator(locator)
        entry = self._by_place.get((str(file), member, offset))
        if entry is None:
            raise InputError(f"archive {self.spec!r} has no capture at {locator}")
        return entry

    @staticmethod
    def _captured_target(entry: IndexEntry, served: CollectionResponse) -> str | None:
        """The absolute target of a captured redirect, or None when ``served`` is not one."""
        if not 300 <= served.status < 400:
            return None
        location = dict((k.lower(), v) for k, v in served.headers).get("location")
        return urljoin(entry.url, location.strip()) if location else None

    def _closest_capture(
        self, target: str, after: IndexEntry, visited: set[str]
    ) -> IndexEntry | None:
        candidates = [e for e in self._by_key.get(url_key(target), ()) if e.locator not in visited]
        exact = [e for e in candidates if e.url == target] or candidates
        if not exact:
            return None

        def distance(e: IndexEntry) -> tuple[float, bool]:
            gap = (e.moment - after.moment).total_seconds()
            return abs(gap), gap < 0  # a crawler fetches the target after the redirect

        return min(exact, key=distance)

    def _serve(self, entry: IndexEntry, max_bytes: int | None) -> CollectionResponse:
        """One record as a response: a revisit gets its original's payload."""
        record = self._read_record(entry, max_bytes)
        head, body, payload_entry = record, record, entry
        if entry.record_type == "revisit":
            for original in self._revisit_originals(entry):
                try:
                    candidate = self._read_record(original, max_bytes)
                except InputError as e:
                    log.warning("%s", e)
                    continue
                if entry.digest and candidate.payload_sha1 != entry.digest:
                    continue
                body, payload_entry = candidate, original
                if record.status is None or record.status == 304:
                    head = candidate
                break
            else:
                refers = entry.refers_to_uri or entry.refers_to or f"digest {entry.digest}"
                raise InputError(
                    f"archive {self.spec!r}: {entry.url} at {to_iso(entry.moment)} is a revisit "
                    f"of {refers}, whose payload is not in the collection"
                )
        if head.status is None:
            raise InputError(f"archive {self.spec!r}: {entry.locator} has no HTTP status line")
        payload = body.payload
        chunked = any(
            k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in head.headers
        )
        if chunked and not body.truncated:
            payload = _dechunked(payload) or payload
        return CollectionResponse(
            url=entry.url,
            datetime=to_iso(entry.moment),
            locator=entry.locator,
            status=head.status,
            reason=head.reason,
            http_version=head.http_version,
            headers=head.headers,
            payload=payload,
            truncated=body.truncated,
            digest=entry.digest or payload_entry.digest or body.payload_sha1,
            payload_locator=payload_entry.locator,
        )

    def _read_record(self, entry: IndexEntry, max_bytes: int | None) -> _Record:
        path = Path(entry.file)
        index = self._files.get(path)
        decompressed = index.decompressed if index is not None else False
        limit = max_bytes if max_bytes is not None else -1
        try:
            with _open_at(path, entry.member, entry.offset, decompressed) as stream:
                record = next(iter(ArchiveIterator(stream)), None)
                if record is None:
                    raise EOFError("no record there")
                http = record.http_headers
                sha1 = hashlib.sha1()
                kept = bytearray()
                truncated = False
                while chunk := record.raw_stream.read(_READ_SIZE):
                    sha1.update(chunk)
                    room = len(chunk) if limit < 0 else max(0, limit - len(kept))
                    kept += chunk[:room]
                    truncated = truncated or room < len(chunk)
        except _READ_ERRORS as e:
            raise InputError(
                f"archive {self.spec!r}: cannot read the record at {entry.locator}: {_describe(e)}"
            ) from e
        status = None
        if http is not None and (http.get_statuscode() or "").isdigit():
            status = int(http.get_statuscode())
        truncated = truncated or bool(record.rec_headers.get_header("WARC-Truncated"))
        return _Record(
            status=status,
            reason=http.statusline.partition(" ")[2].strip() if http is not None else "",
            http_version=(http.protocol or "HTTP/1.1") if http is not None else "HTTP/1.1",
            headers=tuple(http.headers) if http is not None else (),
            payload=bytes(kept),
            payload_sha1=_sha1_base32(sha1),
            truncated=truncated,
        )


# -- one collection per path, shared by find and store -----------------------------------

_OPEN: dict[tuple[Path, Path], LocalCollection] = {}
_OPEN_LOCK = threading.Lock()


def open_collection(spec: str | Path, cache_dir: Path | None = None) -> LocalCollection:
    """The ``LocalCollection`` for ``spec`` (a path), shared within the process so that its
    index is read once; ``cache_dir`` defaults to ``default_cache_dir()``.

    ``parse_archive_spec`` opens collections here; stages hand the archives of a run along
    rather than reopening them from a memento's spec.
    """
    root = Path(spec).expanduser().absolute()
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    with _OPEN_LOCK:
        key = (root, cache.absolute())
        collection = _OPEN.get(key)
        if collection is None:
            collection = LocalCollection(root, spec=str(spec), cache_dir=cache)
            _OPEN[key] = collection
        return collection
