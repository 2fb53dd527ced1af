"""verify refuses a manifest whose entries are not what archiver writes, naming the first
wrong field: a value of the wrong type must not pass for one of the right type (true is
no offset), however the entries are checked."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archiver.errors import StoreError
from archiver.storage.manifest import MANIFEST_NAME, Manifest, RecordEntry, read_manifest
from archiver.storage.verify import verify_store

RECORD = {
    "file": "a.warc.gz",
    "offset": 0,
    "length": 10,
    "type": "response",
    "record_id": "<urn:uuid:1>",
    "target_uri": "http://news.example/",
    "warc_date": "2026-01-01T00:00:00Z",
    "payload_sha256": "0" * 64,
    "payload_length": 3,
    "citations": ["http://news.example/"],
}
CAPTURE = {
    "url": "http://news.example/",
    "target_uri": "http://news.example/",
    "warc_date": "2026-01-01T00:00:00Z",
    "source": "live",
    "source_uri": "http://news.example/",
    "creation_date": "2026-01-01T00:00:00Z",
    "warc_file": "a.warc.gz",
    "record_id": "<urn:uuid:1>",
    "offset": 0,
    "http_status": 200,
    "payload_sha256": "0" * 64,
    "payload_length": 3,
    "redirects": [["http://news.example/old", 301]],
    "captured_redirects": [
        {
            "url": "http://news.example/old",
            "warc_date": "2026-01-01T00:00:00Z",
            "http_status": 301,
            "location": "http://news.example/",
            "record_id": "<urn:uuid:2>",
            "offset": 0,
            "source_uri": "http://news.example/old",
        }
    ],
}


def manifest(**changes: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    record, capture = json.loads(json.dumps(RECORD)), json.loads(json.dumps(CAPTURE))
    changes.get("record", lambda _: None)(record)
    changes.get("capture", lambda _: None)(capture)
    return {
        "format": "archiver-store-manifest",
        "version": 3,
        "files": [{"name": "a.warc.gz", "sha256": "0" * 64, "size": 10}],
        "records": [record],
        "captures": [capture],
    }


def test_a_well_formed_manifest_reads_with_its_types() -> None:
    read = Manifest.from_dict(manifest())
    assert read.records[0] == RecordEntry(**{**RECORD, "citations": ("http://news.example/",)})
    capture = read.captures[0]
    assert capture.redirects == (("http://news.example/old", 301),)
    assert capture.captured_redirects[0].http_status == 301
    assert capture.truncated is False and capture.archive is None  # defaults


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"record": lambda r: r.update(offset=True)}, "RecordEntry #0: 'offset' is not int"),
        ({"record": lambda r: r.update(offset=1.5)}, "RecordEntry #0: 'offset' is not int"),
        ({"record": lambda r: r.update(type=None)}, "RecordEntry #0: 'type' is not str"),
        (
            {"record": lambda r: r.update(archive_digest_match=1)},
            "RecordEntry #0: 'archive_digest_match' is not bool | None",
        ),
        (
            {"record": lambda r: r.update(citations=["x", 1])},
            "RecordEntry #0: 'citations' is not tuple[str, ...]",
        ),
        (
            {"record": lambda r: r.update(citations="http://news.example/")},
            "RecordEntry #0: 'citations' is not tuple[str, ...]",
        ),
        ({"record": lambda r: r.pop("record_id")}, "RecordEntry #0 has no 'record_id'"),
        (
            {"capture": lambda c: c.update(redirects=[["http://x.example/", "301"]])},
            "Capture #0: 'redirects' is not tuple[tuple[str, int], ...]",
        ),
        (
            {"capture": lambda c: c["captured_redirects"][0].update(http_status="301")},
            "StoredRedirect #0: 'http_status' is not int",
        ),
        (
            {"capture": lambda c: c.update(captured_redirects=["not an object"])},
            "Capture #0: 'captured_redirects' is not tuple[StoredRedirect, ...]",
        ),
    ],
)
def test_verify_names_the_first_wrong_field(
    tmp_path: Path, change: dict[str, Callable[[dict[str, Any]], None]], message: str
) -> None:
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest(**change)))
    with pytest.raises(StoreError, match="is corrupt: " + re.escape(message)):
        read_manifest(tmp_path)
    for deep in (False, True):
        with pytest.raises(StoreError, match="is corrupt: "):
            verify_store(tmp_path, deep=deep)
