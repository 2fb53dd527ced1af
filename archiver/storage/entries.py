"""The manifest's entries, and the manifest as data: what ``manifest.json`` holds.

The format itself (field names, versions, the digest) is described in
``archiver.storage.manifest``, which reads and writes it and re-exports what is here; a
store's journal (``archiver.storage.journal``) holds changes made of the same entries.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields, replace
from typing import Any, TypeVar

from archiver.dates import parse_iso, to_iso
from archiver.models import _Serialisable

MANIFEST_FORMAT = "archiver-store-manifest"
MANIFEST_VERSION = 3
DIGEST_FIELD = "digest"  # the manifest's digest of itself


@dataclass(frozen=True)
class FileEntry(_Serialisable):
    """One WARC file of the store."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class RecordEntry(_Serialisable):
    """One WARC record: where it is, what it is, and the hash of its payload."""

    file: str
    offset: int
    length: int
    type: str
    record_id: str
    target_uri: str | None
    warc_date: str | None
    payload_sha256: str
    payload_length: int
    citations: tuple[str, ...] = ()
    archive_digest: str | None = None
    archive_digest_match: bool | None = None
    capture_record_id: str | None = None  # None in version 1 and 2: its file's one capture

    def written_with(self, capture: Capture) -> bool:
        """True when this record was written as part of ``capture``."""
        if self.capture_record_id is None:
            return self.file == capture.warc_file
        return (self.file, self.capture_record_id) == (capture.warc_file, capture.record_id)


@dataclass(frozen=True)
class StoredRedirect(_Serialisable):
    """A captured redirect stored ahead of a capture, as its own ``response`` record.

    ``url`` is its WARC-Target-URI (the URL that redirected), ``warc_date`` its WARC-Date
    (when the redirect was captured), ``location`` the absolute target it named;
    ``record_id`` and ``offset`` place its record in the capture's ``warc_file``;
    ``source_uri`` is where its bytes were read (the archive URL fetched, or a record's
    locator in a local collection).
    """

    url: str
    warc_date: str
    http_status: int
    location: str
    record_id: str
    offset: int
    source_uri: str


@dataclass(frozen=True)
class StoredRequisite(_Serialisable):
    """A requisite of a captured page (``archiver.storage.requisites``), stored as its own
    ``response`` record (after its captured redirects, as ``StoredRedirect``s).

    ``url`` is the URL the page (or ``found_in``, a stylesheet) names, ``kind`` what it is
    (stylesheet, image, font, script, icon); ``target_uri`` and ``warc_date`` are the
    stored response's (for a memento, the original and datetime the archive stated, never
    the page's); ``warc_file``, ``record_id`` and ``offset`` place its record.
    ``seconds_from_page`` is its ``warc_date`` minus the page's (None for a live capture);
    ``note`` says when that is over a year. ``shared``: it was already in the store (with
    an earlier page) and is not stored again.
    """

    url: str
    kind: str
    found_in: str
    target_uri: str
    warc_date: str
    http_status: int
    warc_file: str
    record_id: str
    offset: int
    source_uri: str
    payload_sha256: str
    payload_length: int
    seconds_from_page: int | None = None
    note: str | None = None
    shared: bool = False
    redirects: tuple[StoredRedirect, ...] = ()


@dataclass(frozen=True)
class LeftOutRequisite(_Serialisable):
    """A requisite of a captured page that was not stored, and why (``reason``)."""

    url: str
    kind: str
    found_in: str
    reason: str


@dataclass(frozen=True)
class Capture(_Serialisable):
    """One stored copy of a web page: a memento re-archived, or the live page.

    ``url`` is the URL the capture was asked for (the cited URL, or the memento's
    original); ``target_uri`` is the WARC-Target-URI of the stored response (for a live
    page that was redirected, the final URL; for a memento, the original the archive
    stated for the capture it served). ``source_uri`` is the URL whose response is
    stored: for a memento the archive URL fetched, after any redirects the archive made.
    ``warc_date`` is when the page was captured (the archive's Memento-Datetime, or the
    fetch time for a live page); ``creation_date`` is when archiver fetched it.
    ``memento_datetime`` is the datetime the archive stated for the capture it served
    (None when it stated none); ``listed_datetime`` the datetime of the memento archiver
    was asked to store, as its archive listed it (they differ when the archive served a
    neighbouring capture). ``archive_original`` is the original URL the archive said it
    served, when that is not ``url``. ``archive_digest`` is the archive's own sha1 of the
    payload, when it gave one. ``redirects`` lists the (url, status) answers that were
    followed on the way to the stored page (the archive's own redirects by their archive
    URL, captured ones by their original URL); ``captured_redirects`` are the captured
    redirects among them that are stored too, each as its own ``response`` record, first
    first (the cited URL's, when the citation's capture was a redirect). ``requisites``
    are the page's requisites stored with it (or shared with an earlier page), and
    ``requisites_left_out`` those that were not, each with the reason.
    """

    url: str
    target_uri: str
    warc_date: str
    source: str  # "memento" | "live"
    source_uri: str
    creation_date: str
    warc_file: str  # file name inside the store directory
    record_id: str  # WARC-Record-ID of the response record
    offset: int  # of the response record in warc_file
    http_status: int
    payload_sha256: str
    payload_length: int
    truncated: bool = False
    redirects: tuple[tuple[str, int], ...] = ()
    archive: str | None = None
    memento_datetime: str | None = None
    archive_original: str | None = None
    archive_digest: str | None = None
    archive_digest_match: bool | None = None
    citations: tuple[str, ...] = ()
    listed_datetime: str | None = None
    captured_redirects: tuple[StoredRedirect, ...] = ()
    requisites: tuple[StoredRequisite, ...] = ()
    requisites_left_out: tuple[LeftOutRequisite, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """What a manifest lists. A manifest made from another (``with_capture``,
    ``with_citations``) keeps its index of captures by URL, when it was made (``latest_of``),
    so that a store's "stored already?" costs the same however many captures it holds."""

    files: tuple[FileEntry, ...] = ()
    records: tuple[RecordEntry, ...] = ()
    captures: tuple[Capture, ...] = ()

    @functools.cached_property
    def _by_url(self) -> dict[str, tuple[int, ...]]:
        """The place in ``captures`` of each capture, by its ``url`` and its ``target_uri``."""
        index: dict[str, tuple[int, ...]] = {}
        for place, capture in enumerate(self.captures):
            _index(index, place, capture)
        return index

    def latest_of(self, url: str) -> list[Capture]:
        """The captures of ``url`` (as asked for, or as stored), the latest first."""
        return [self.captures[place] for place in reversed(self._by_url.get(url, ()))]

    @functools.cached_property
    def _requisites(self) -> dict[str, dict[tuple[str, str], StoredRequisite]]:
        index: dict[str, dict[tuple[str, str], StoredRequisite]] = {}
        for capture in self.captures:
            _index_requisites(index, capture)
        return index

    def stored_requisites(self, source: str) -> Mapping[tuple[str, str], StoredRequisite]:
        """The requisites stored with pages of ``source`` ("memento", "live"), each marked
        ``shared``, by the key a page's requisite is looked up with: a memento's stated
        original and datetime (``instant_key``), its own or a captured redirect's before
        it; a live one's URL as the page named it, and "". Not to be changed."""
        return self._requisites.get(source, {})

    @functools.cached_property
    def _places(self) -> dict[tuple[str, str | None], tuple[int, ...]]:
        """The places in ``records`` of the records of each capture, by its (``warc_file``,
        ``record_id``) (a record listed without its capture's: by its file and None)."""
        index: dict[tuple[str, str | None], tuple[int, ...]] = {}
        _index_records(index, 0, self.records)
        return index

    def _keeping_index(
        self, made: Manifest, added: Capture | None = None, rows: tuple[RecordEntry, ...] = ()
    ) -> Manifest:
        """``made`` (from this manifest, its captures and records kept in place, ``added``
        and its ``rows`` after them), given this one's indexes (of captures by URL, of
        records by capture, of requisites), when they were made: copies, never changed."""
        known: dict[str, tuple[int, ...]] | None = self.__dict__.get("_by_url")
        if known is not None:
            if added is not None:
                known = dict(known)
                _index(known, len(self.captures), added)
            made.__dict__["_by_url"] = known
        places = self.__dict__.get("_places")
        if places is not None:
            if rows:
                places = dict(places)
                _index_records(places, len(self.records), rows)
            made.__dict__["_places"] = places
        requisites = self.__dict__.get("_requisites")
        if requisites is not None:
            if added is not None and added.requisites:
                requisites = dict(requisites)
                requisites[added.source] = dict(requisites.get(added.source, {}))
                _index_requisites(requisites, added)
            made.__dict__["_requisites"] = requisites
        return made

    def to_dict(self) -> dict[str, Any]:
        data = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "files": [f.to_dict() for f in self.files],
            "records": [r.to_dict() for r in self.records],
            "captures": [c.to_dict() for c in self.captures],
        }
        return {**data, DIGEST_FIELD: manifest_digest(data)}

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        """Parse the JSON form; raises ``ValueError`` naming the first thing wrong."""
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f'not an archiver manifest ("format" is not {MANIFEST_FORMAT!r})')
        version = data.get("version")
        if not isinstance(version, int) or version > MANIFEST_VERSION:
            raise ValueError(f"unsupported manifest version {version!r}")
        captures = data.get("captures")
        if version < 2 and isinstance(captures, list):
            captures = [_as_version_2(item) for item in captures]
        return cls(
            files=parse_entries(FileEntry, data.get("files")),
            records=parse_entries(RecordEntry, data.get("records")),
            captures=parse_entries(Capture, captures),
        )

    def file_names(self) -> set[str]:
        return {entry.name for entry in self.files}

    def with_capture(
        self, file: FileEntry, records: tuple[RecordEntry, ...], capture: Capture
    ) -> Manifest:
        """This manifest with ``capture`` and its ``records`` added, appended to ``file``:
        its entry replaced by ``file`` (the new committed size and sha256), or added."""
        if file.name in self.file_names():
            files = tuple(file if entry.name == file.name else entry for entry in self.files)
        else:
            files = (*self.files, file)
        made = Manifest(files, (*self.records, *records), (*self.captures, capture))
        return self._keeping_index(made, capture, records)

    def with_citations(
        self, warc_file: str, record_id: str, citations: Sequence[str]
    ) -> tuple[Manifest, Capture] | None:
        """This manifest with ``citations`` added to the capture (``warc_file``,
        ``record_id``) and to each of its records, and that capture as it now is; None
        when it lists no such capture."""
        captures = list(self.captures)
        for index in range(len(captures) - 1, -1, -1):  # the one asked for is often recent
            existing = captures[index]
            if (existing.warc_file, existing.record_id) == (warc_file, record_id):
                updated = captures[index] = replace(
                    existing, citations=_merged(existing.citations, citations)
                )
                break
        else:
            return None
        records = list(self.records)
        places = self._places  # its records: those written with it (``written_with``)
        for place in (*places.get((warc_file, record_id), ()), *places.get((warc_file, None), ())):
            record = records[place]
            records[place] = replace(record, citations=_merged(record.citations, citations))
        made = Manifest(self.files, tuple(records), tuple(captures))
        return self._keeping_index(made), updated


def _index(index: dict[str, tuple[int, ...]], place: int, capture: Capture) -> None:
    for url in dict.fromkeys((capture.url, capture.target_uri)):
        index[url] = (*index.get(url, ()), place)


def _index_records(
    index: dict[tuple[str, str | None], tuple[int, ...]],
    start: int,
    records: Sequence[RecordEntry],
) -> None:
    for place, record in enumerate(records, start):
        key = (record.file, record.capture_record_id)
        index[key] = (*index.get(key, ()), place)


def _index_requisites(
    index: dict[str, dict[tuple[str, str], StoredRequisite]], capture: Capture
) -> None:
    """Add ``capture``'s requisites to ``index`` (see ``Manifest.stored_requisites``); its
    dictionary for ``capture.source`` is changed in place."""
    stored = index.setdefault(capture.source, {})
    for entry in capture.requisites:
        if capture.source == "memento":  # the capture asked for may be a redirect it stored
            keys = [(hop.url, instant_key(hop.warc_date)) for hop in entry.redirects]
            keys.append((entry.target_uri, instant_key(entry.warc_date)))
        else:
            keys = [(entry.url, "")]
        for key in keys:
            if key not in stored:
                stored[key] = replace(entry, shared=True)


def instant_key(text: str) -> str:
    """A datetime as one string whatever its ISO spelling (an odd value as it is)."""
    try:
        return to_iso(parse_iso(text))
    except ValueError:
        return text


def _merged(existing: tuple[str, ...], more: Sequence[str]) -> tuple[str, ...]:
    return (*existing, *(c for c in dict.fromkeys(more) if c not in existing))


def _as_version_2(item: Any) -> Any:
    """A version 1 capture as version 2 reads it (see the module docstring)."""
    if not isinstance(item, dict) or "listed_datetime" in item:
        return item
    return {**item, "listed_datetime": item.get("memento_datetime"), "memento_datetime": None}


_Entry = TypeVar(
    "_Entry", FileEntry, RecordEntry, Capture, StoredRedirect, StoredRequisite, LeftOutRequisite
)
# Fields that are lists of entries, and the type of each entry.
_NESTED: dict[str, type[Any]] = {
    "captured_redirects": StoredRedirect,
    "redirects": StoredRedirect,  # of a StoredRequisite; a Capture's are pairs
    "requisites": StoredRequisite,
    "requisites_left_out": LeftOutRequisite,
}


def parse_entries(cls: type[_Entry], items: Any) -> tuple[_Entry, ...]:
    if not isinstance(items, list):
        raise ValueError(f"{cls.__name__} list is missing or not a list")
    return tuple(parse_entry(cls, item, index) for index, item in enumerate(items))


def parse_entry(cls: type[_Entry], item: Any, index: int) -> _Entry:
    if not isinstance(item, dict):
        raise ValueError(f"{cls.__name__} #{index} is not an object")
    values: dict[str, Any] = {}
    for name, annotation, scalars, required in _fields_of(cls):
        if name not in item:
            if required:
                raise ValueError(f"{cls.__name__} #{index} has no {name!r}")
            continue
        value = item[name]
        if type(value) not in scalars:  # most values are a scalar the field takes
            if not _has_type(value, annotation):
                raise ValueError(f"{cls.__name__} #{index}: {name!r} is not {annotation}")
            if name == "citations":
                value = tuple(value)
            elif name == "redirects" and cls is Capture:
                value = tuple((str(url), int(status)) for url, status in value)
            elif name in _NESTED:
                value = tuple(parse_entry(_NESTED[name], part, n) for n, part in enumerate(value))
        values[name] = value
    return cls(**values)


_Field = tuple[str, str, frozenset[type], bool]
_FIELDS: dict[type, tuple[_Field, ...]] = {}


def _fields_of(cls: type) -> tuple[_Field, ...]:
    """(name, annotation, the scalar types it takes, required) of each field of ``cls``,
    worked out once per class rather than once per entry."""
    known = _FIELDS.get(cls)
    if known is None:
        known = _FIELDS[cls] = tuple(
            (
                f.name,
                str(f.type),
                frozenset(_SCALAR_TYPES[o] for o in _options(str(f.type)) if o in _SCALAR_TYPES),
                f.default is MISSING and f.default_factory is MISSING,
            )
            for f in fields(cls)
        )
    return known


_SCALARS: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "bool": bool}
_NESTED_TYPES = {f"tuple[{kind.__name__}, ...]" for kind in _NESTED.values()}


_SCALAR_NAMES = {str: "str", int: "int", bool: "bool", type(None): "None"}
_SCALAR_TYPES = {name: kind for kind, name in _SCALAR_NAMES.items()}


@functools.cache
def _options(annotation: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in annotation.split("|"))


def _has_type(value: Any, annotation: str) -> bool:
    scalar = _SCALAR_NAMES.get(type(value))
    if scalar is not None:  # most values: no need to go through the options one by one
        return scalar in _options(annotation)
    for option in _options(annotation):
        if option == "None" and value is None:
            return True
        if option in _SCALARS:
            wanted = _SCALARS[option]
            if isinstance(value, wanted) and not (option == "int" and isinstance(value, bool)):
                return True
        if option == "tuple[str, ...]" and isinstance(value, list):
            return all(isinstance(v, str) for v in value)
        if option in _NESTED_TYPES and isinstance(value, list):
            return all(isinstance(v, dict) for v in value)
        if option == "tuple[tuple[str, int], ...]" and isinstance(value, list):
            return all(
                isinstance(v, list)
                and len(v) == 2
                and isinstance(v[0], str)
                and isinstance(v[1], int)
                for v in value
            )
    return False


def manifest_digest(data: dict[str, Any]) -> str:
    """``sha256:<hex>`` of a manifest's canonical JSON without its own digest."""
    body = {key: value for key, value in data.items() if key != DIGEST_FIELD}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
