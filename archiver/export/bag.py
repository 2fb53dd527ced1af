"""A store as a BagIt 1.0 bag (RFC 8493): what archivists transfer and re-validate.

The bag is written by archiver itself rather than by bagit-python's ``make_bag``, which
bags a folder in place (moving a live store into ``data/``) and changes the process's
working directory: a store stays where it is, and the bag is a new folder ``DIR`` whose
``data/`` holds a copy of the store's files (its WARC files, ``manifest.json``, and
``report.json`` when there is one), each read once, hashed with sha256 and sha512 as it
is copied, and checked against the manifest's sha256. Beside ``data/``: ``bagit.txt``,
``manifest-sha256.txt`` and ``manifest-sha512.txt`` (the payload), ``bag-info.txt`` and
``tagmanifest-sha256.txt`` and ``tagmanifest-sha512.txt`` (the tag files). ``archiver
verify DIR`` checks the bag's payload as a store.

The bag is built in ``.DIR.partial`` beside ``DIR`` and renamed into place when whole,
so a killed export leaves no folder that looks like a bag.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from archiver import __version__
from archiver.dates import utcnow
from archiver.durable import fsync_directory
from archiver.errors import InputError
from archiver.export.contents import (
    Copied,
    Exported,
    StoreContents,
    check_copied,
    copy_hashed,
)
from archiver.storage.warcfile import committed_stream

__all__ = ["BagInfo", "write_bag"]

ALGORITHMS = ("sha256", "sha512")


@dataclass(frozen=True)
class BagInfo:
    """The bag-info.txt fields an archivist gives (RFC 8493 section 2.2.2); archiver adds
    Bagging-Date, Payload-Oxum and Bag-Software-Agent."""

    source_organization: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    external_description: str | None = None
    external_identifier: str | None = None

    def lines(self, moment: datetime, payload_bytes: int, payload_files: int) -> list[str]:
        fields = [
            ("Source-Organization", self.source_organization),
            ("Contact-Name", self.contact_name),
            ("Contact-Email", self.contact_email),
            ("External-Description", self.external_description),
            ("External-Identifier", self.external_identifier),
            ("Bagging-Date", moment.date().isoformat()),
            ("Payload-Oxum", f"{payload_bytes}.{payload_files}"),
            ("Bag-Software-Agent", f"archiver {__version__}"),
        ]
        # one line per field: a value's own line breaks would start a new label
        return [f"{label}: {' '.join(value.split())}" for label, value in fields if value]


def _manifest_path(name: str) -> str:
    """A payload path as a manifest line writes it (RFC 8493 2.1.3: CR, LF and % encoded)."""
    return name.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _copy(source: Path | bytes, target: Path, size: int | None = None) -> Copied:
    """Copy ``source`` (its first ``size`` bytes, or all of it; or the bytes given) to the
    new file ``target``."""
    opened = io.BytesIO(source) if isinstance(source, bytes) else committed_stream(source, size)
    with opened as stream, target.open("xb") as out:
        copied = copy_hashed(stream, out.write)
        out.flush()
        os.fsync(out.fileno())
    return copied


def _copy_payload(store: StoreContents, data: Path) -> dict[str, Copied]:
    """Copy the store's files into ``data``; each payload path's hashes and size."""
    payload: dict[str, Copied] = {}
    for entry in store.warc_files:
        copied = _copy(store.path_of(entry.name), data / entry.name, store.committed_size(entry))
        check_copied(entry, copied.sha256, copied.size)
        payload[f"data/{entry.name}"] = copied
    for name, source in store.carried():
        payload[f"data/{name}"] = _copy(source, data / name)
    fsync_directory(data)
    return payload


def _hash_lines(hashes: dict[str, tuple[str, str]], algorithm: str) -> bytes:
    index = ALGORITHMS.index(algorithm)
    lines = [f"{pair[index]}  {_manifest_path(path)}\n" for path, pair in sorted(hashes.items())]
    return "".join(lines).encode("utf-8")


def _write_tag(folder: Path, name: str, data: bytes, tags: dict[str, tuple[str, str]]) -> None:
    with (folder / name).open("xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tags[name] = (hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest())


def _write_tags(folder: Path, payload: dict[str, Copied], info: BagInfo, moment: datetime) -> None:
    tags: dict[str, tuple[str, str]] = {}
    _write_tag(
        folder, "bagit.txt", b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", tags
    )
    size = sum(c.size for c in payload.values())
    info_text = "".join(f"{line}\n" for line in info.lines(moment, size, len(payload)))
    _write_tag(folder, "bag-info.txt", info_text.encode("utf-8"), tags)
    hashes = {path: (c.sha256, c.sha512) for path, c in payload.items()}
    for algorithm in ALGORITHMS:
        _write_tag(folder, f"manifest-{algorithm}.txt", _hash_lines(hashes, algorithm), tags)
    for algorithm in ALGORITHMS:  # the tag manifests list every tag file but themselves
        (folder / f"tagmanifest-{algorithm}.txt").write_bytes(_hash_lines(tags, algorithm))
    fsync_directory(folder)


def _usable_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{target} already exists: a bag is written into a new or empty folder")


def write_bag(
    store: StoreContents,
    target: Path,
    info: BagInfo,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> Exported:
    """Write ``store`` (as ``contents.read_store`` holds it) as a new BagIt bag in the
    folder ``target``."""
    target = Path(target)
    _usable_target(target)
    if target.resolve().is_relative_to(store.root.resolve()):
        raise InputError(f"{target} is inside the store: write the bag elsewhere")
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)  # a killed export's leftovers
    try:
        (partial / "data").mkdir(parents=True)
        payload = _copy_payload(store, partial / "data")
        _write_tags(partial, payload, info, clock())
        if target.exists():
            target.rmdir()  # empty, checked above
        os.rename(partial, target)
        fsync_directory(target.parent)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return Exported(
        kind="bag",
        path=str(target),
        store=str(store.root),
        files=len(payload),
        bytes=sum(c.size for c in payload.values()),
        left_out=store.left_out(),
    )
