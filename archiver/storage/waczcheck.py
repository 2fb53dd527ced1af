"""Checking a WACZ package: its ``datapackage.json`` against its files, and its WARCs.

A WACZ (Webrecorder's zipped web archive) lists the files it holds in ``datapackage.json``
with a hash and a size: ``stats.hash`` with ``hashing`` in the 1.0 form, ``hash:
"sha256:..."`` with ``bytes`` in 1.1. ``check_wacz`` recomputes each, names a file listed
but absent or present but not listed, and checks every WARC under ``archive/`` against its
own digests (``archiver.storage.warccheck``).
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from functools import partial
from pathlib import Path
from typing import Any

from archiver.jsontext import parse_json
from archiver.storage.problems import VerifyProblem
from archiver.storage.warccheck import check_warc, unreadable
from archiver.storage.warcreader import one_line, wacz_warc_members

__all__ = ["check_wacz"]

_READ_SIZE = 1024 * 1024
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError)
# (path, algorithm, hex digest, size) of one file datapackage.json lists
Resource = tuple[str, str, str | None, int | None]


def _wacz_resources(data: Any) -> list[Resource]:
    """(path, algorithm, hex digest, size) of each datapackage resource (1.0 and 1.1 forms)."""
    resources = data.get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, list):
        raise ValueError('no "resources" list')
    result = []
    for item in resources:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise ValueError("a resource without a path")
        stats: dict[str, Any] = item["stats"] if isinstance(item.get("stats"), dict) else item
        value = stats.get("hash")
        algorithm = str(item.get("hashing") or "sha256")
        if isinstance(value, str) and ":" in value:
            algorithm, _, value = value.partition(":")
        size = stats.get("bytes")
        result.append(
            (
                item["path"],
                algorithm.lower().replace("-", ""),
                value if isinstance(value, str) else None,
                size if isinstance(size, int) else None,
            )
        )
    return result


def _hash_member(archive: zipfile.ZipFile, name: str, algorithm: str) -> tuple[str, int]:
    hasher = hashlib.new(algorithm)
    size = 0
    with archive.open(name) as stream:
        while chunk := stream.read(_READ_SIZE):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


class _Package:
    """One open WACZ and the problems found in it so far, in the order found."""

    def __init__(self, archive: zipfile.ZipFile, label: str) -> None:
        self.archive = archive
        self.label = label
        self.members = [info.filename for info in archive.infolist() if not info.is_dir()]
        self.problems: list[VerifyProblem] = []

    def problem(self, name: str, check: str, expected: Any, actual: Any, text: str) -> None:
        self.problems.append(
            VerifyProblem(
                f"{self.label}/{name}",
                None,
                check,
                None if expected is None else str(expected),
                None if actual is None else str(actual),
                f"{self.label}/{name}: {text}",
            )
        )

    def resources(self) -> list[Resource]:
        """What datapackage.json lists; none when it is missing or unusable (a problem)."""
        try:
            package = parse_json(self.archive.read("datapackage.json").decode("utf-8"))
            return _wacz_resources(package)
        except KeyError:
            self.problem("datapackage.json", "wacz-datapackage", None, None, "missing")
        except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, zlib.error, OSError) as e:
            unusable = f"unusable: {one_line(str(e))}"
            self.problem("datapackage.json", "wacz-datapackage", None, None, unusable)
        return []

    def check_resource(
        self, name: str, algorithm: str, expected: str | None, size: int | None
    ) -> None:
        """Hash one listed file and compare it with its listing."""
        if name not in self.members:
            self.problem(name, "missing-file", expected, None, "listed but absent")
            return
        try:
            actual, actual_size = _hash_member(self.archive, name, algorithm)
        except ValueError:
            self.problem(name, "digest-algorithm", algorithm, None, f"unknown hash {algorithm!r}")
            return
        except _MEMBER_ERRORS as e:
            self.problems.append(unreadable(f"{self.label}/{name}", 0, e))
            return
        if size is not None and size != actual_size:
            self.problem(
                name, "file-size", size, actual_size, f"{actual_size} bytes, listed {size}"
            )
        if expected is not None and expected.lower() != actual:
            text = f"{algorithm} is {actual}, listed {expected}"
            self.problem(name, f"file-{algorithm}", expected, actual, text)

    def check_warcs(self) -> int:
        """Check each WARC under archive/ against its own digests; returns the records read."""
        warcs = wacz_warc_members(self.archive)
        if not warcs:
            self.problem("archive", "wacz-layout", None, None, "no WARC file under archive/")
        records = 0
        for name in warcs:
            try:
                check = check_warc(partial(self.archive.open, name), f"{self.label}/{name}")
            except _MEMBER_ERRORS as e:
                self.problems.append(unreadable(f"{self.label}/{name}", 0, e))
                continue
            records += len(check.records)
            self.problems.extend(check.problems)
        return records


def check_wacz(path: Path, label: str) -> tuple[int, list[VerifyProblem]]:
    """(records checked, problems) of one WACZ file, named ``label`` in the problems."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        return 0, [unreadable(label, 0, e)]
    with archive:
        package = _Package(archive, label)
        listed: set[str] = {"datapackage.json", "datapackage-digest.json"}
        for name, algorithm, expected, size in package.resources():
            listed.add(name)
            package.check_resource(name, algorithm, expected, size)
        for name in package.members:
            if name not in listed:
                package.problem(name, "unknown-file", None, None, "not listed in datapackage.json")
        records = package.check_warcs()
    return records, package.problems
