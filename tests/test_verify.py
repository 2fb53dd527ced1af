"""verify: every kind of damage to a store is found and named, and foreign files are read.

The store under test is written by ``Store`` from the origin server (a live page, a
redirected page, and a memento from a stand-in archive that serves ``id_`` answers with a
``Memento-Datetime``), then damaged on disk the ways files really get damaged.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import zipfile
import zlib
from itertools import count
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archiver.archives.wayback import WaybackArchive
from archiver.cli.main import cli
from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.errors import InputError, StoreError
from archiver.models import Memento
from archiver.net.http import build_session
from archiver.net.polite import Net
from archiver.storage.digests import payload_sha1_base32
from archiver.storage.manifest import MANIFEST_NAME, RecordEntry, read_manifest
from archiver.storage.store import Store
from archiver.storage.verify import VerifyProblem, VerifyReport, verify_store, verify_warc
from tests.conftest import require_shared

STORY = "http://news.example/story"
OLD = "http://news.example/old"
ORIGINAL = "http://gov.example/notice"
RAW = "http://archive.example/web/20180115093000id_/http://gov.example/notice"
# An origin host answering like a Wayback server's raw replay: the archive the memento is in.
STAND_IN = WaybackArchive(
    spec="wayback:http://archive.example/web/",
    replay_base="http://archive.example/web/",
    cdx_url="http://archive.example/web/cdx",
)
MEMENTO_BODY = b"<html><p>The announcement, as archived in 2018.</p></html>"


@pytest.fixture
def store(origin: OriginServer, tmp_path: Path) -> Store:
    origin.add(STORY, Page(body="<html><p>Still here.</p></html>"))
    origin.add(OLD, Page(status=301, location=STORY))
    origin.add(
        RAW,
        Page(
            body=MEMENTO_BODY,
            headers=(
                ("Memento-Datetime", "Mon, 15 Jan 2018 09:30:00 GMT"),
                ("X-Archive-Orig-Server", "nginx"),
            ),
        ),
    )
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    session = build_session(settings)
    numbers = count(1)
    store = Store(
        tmp_path / "store",
        new_id=lambda: f"00000000-0000-4000-8000-{next(numbers):012d}",
        warc_size=1,  # one capture a file (each closed once full), to damage each alone
    )
    store.capture_live(STORY, session, settings, ["a:1"])
    store.capture_live(OLD, session, settings, ["a:2"])
    memento = Memento(
        original=ORIGINAL,
        datetime="2018-01-15T09:30:00Z",
        archive=STAND_IN.spec,
        url=RAW.replace("id_", ""),
        raw_url=RAW,
        digest=payload_sha1_base32(MEMENTO_BODY),
    )
    capture = store.capture_memento(memento, STAND_IN, Net(session, settings), ["a:3"])
    assert capture.archive_digest_match is True
    return store


def rows(store: Store, file: str) -> list[RecordEntry]:
    manifest = read_manifest(store.root)
    assert manifest is not None
    return [r for r in manifest.records if r.file == file]


def memento_file(store: Store) -> str:
    return next(c.warc_file for c in store.captures if c.source == "memento")


def checks(report: VerifyReport) -> list[tuple[str, str | None, str]]:
    return [(p.file, p.record, p.check) for p in report.problems]


def test_a_clean_store_verifies(store: Store) -> None:
    report = verify_store(store.root)
    stored = sum(p.stat().st_size for p in store.root.glob("*.warc.gz"))
    assert report == VerifyReport(
        root=str(store.root),
        files_checked=3,
        records_checked=10,
        problems=(),
        notes=(),
        mode="deep",
        bytes_checked=stored,
    )
    assert report.ok
    assert list(report.to_dict()) == [
        "ok",
        "root",
        "files_checked",
        "records_checked",
        "problems",
        "notes",
        "mode",
        "bytes_checked",
    ]
    plain = verify_store(store.root, deep=False)
    assert (plain.ok, plain.mode, plain.files_checked, plain.records_checked) == (
        True,
        "plain",
        3,
        0,
    )
    assert plain.bytes_checked == stored


def recompress_with_change(path: Path, row: RecordEntry, old: bytes, new: bytes) -> int:
    """Change bytes inside one record and gzip it again, as a careless tool would; returns
    how much longer the member became."""
    data = path.read_bytes()
    record = gzip.decompress(data[row.offset : row.offset + row.length])
    assert record.count(old) == 1
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = compressor.compress(record.replace(old, new)) + compressor.flush()
    path.write_bytes(data[: row.offset] + member + data[row.offset + row.length :])
    return len(member) - row.length


def test_a_changed_payload_is_named_by_every_hash_that_covers_it(store: Store) -> None:
    name = memento_file(store)
    _, response, request = rows(store, name)
    grown = recompress_with_change(store.root / name, response, b"as archived", b"as ARCHIVED")

    report = verify_store(store.root)

    expected = [
        *([(name, None, "file-size")] if grown else []),
        (name, None, "file-sha256"),
        (name, response.record_id, "block-digest"),
        (name, response.record_id, "payload-digest"),
        *([(name, response.record_id, "record-length")] if grown else []),
        (name, response.record_id, "payload-sha256"),
        (name, response.record_id, "archive-digest"),
        *([(name, request.record_id, "record-offset")] if grown else []),
    ]
    assert checks(report) == expected
    changed = hashlib.sha256(MEMENTO_BODY.replace(b"as archived", b"as ARCHIVED")).hexdigest()
    problem = next(p for p in report.problems if p.check == "payload-sha256")
    assert problem == VerifyProblem(
        file=name,
        record=response.record_id,
        check="payload-sha256",
        expected=response.payload_sha256,
        actual=changed,
        message=(
            f"{name}: {response.record_id}: payload sha256 is {changed}, "
            f"the manifest says {response.payload_sha256}"
        ),
    )
    archive = next(p for p in report.problems if p.check == "archive-digest")
    assert (archive.expected, archive.actual) == (
        payload_sha1_base32(MEMENTO_BODY),
        payload_sha1_base32(MEMENTO_BODY.replace(b"as archived", b"as ARCHIVED")),
    )
    assert not report.ok


def test_a_flipped_bit_in_the_compressed_bytes(store: Store) -> None:
    name = memento_file(store)
    _, response, request = rows(store, name)
    path = store.root / name
    data = bytearray(path.read_bytes())
    data[response.offset + response.length // 2] ^= 0x01
    path.write_bytes(bytes(data))

    report = verify_store(store.root)

    assert checks(report) == [
        (name, None, "file-sha256"),
        (name, f"offset {response.offset}", "unreadable"),
        (name, response.record_id, "record-missing"),
        (name, request.record_id, "record-missing"),
    ]
    assert "is corrupt" in report.problems[1].message


def test_a_truncated_file(store: Store) -> None:
    name = memento_file(store)
    _, _, request = rows(store, name)
    path = store.root / name
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[: request.offset + 40])

    report = verify_store(store.root)

    assert checks(report) == [
        (name, None, "file-size"),
        (name, None, "file-sha256"),
        (name, f"offset {request.offset}", "truncated"),
        (name, request.record_id, "record-missing"),
    ]
    assert (report.problems[0].expected, report.problems[0].actual) == (
        str(size),
        str(request.offset + 40),
    )


def test_a_missing_file(store: Store) -> None:
    name = memento_file(store)
    (store.root / name).unlink()
    report = verify_store(store.root)
    assert checks(report) == [(name, None, "missing-file")]
    assert report.files_checked == 2


@pytest.mark.parametrize("deep", [False, True])
def test_a_folder_in_place_of_a_warc_is_named_not_an_internal_error(
    store: Store, deep: bool
) -> None:
    name = memento_file(store)
    (store.root / name).unlink()
    (store.root / name).mkdir()
    report = verify_store(store.root, deep=deep)
    assert checks(report) == [(name, None, "unreadable")]
    assert "cannot be read (is a directory)" in report.problems[0].message


def test_an_unknown_warc_file_is_named_and_other_files_ignored(store: Store) -> None:
    shutil.copy(store.root / memento_file(store), store.root / "stray.warc.gz")
    (store.root / "state.sqlite").write_bytes(b"SQLite format 3\x00")
    (store.root / "report.json").write_text("{}")
    report = verify_store(store.root)
    assert checks(report) == [("stray.warc.gz", None, "unknown-file")]


def test_a_record_the_manifest_does_not_list(store: Store) -> None:
    name = memento_file(store)
    path = store.root / name
    extra = path.read_bytes()[: rows(store, name)[1].offset]  # its warcinfo record again
    path.write_bytes(path.read_bytes() + extra)
    report = verify_store(store.root)
    assert checks(report)[-1] == (name, rows(store, name)[0].record_id, "unlisted-record")


def test_pending_and_incomplete_files_are_notes_not_problems(store: Store) -> None:
    name = memento_file(store)
    (store.root / name).rename(store.root / f"{name}.open")  # killed just before the rename
    (store.root / "20990101000000-00000000-000000000000.warc.gz.open").write_bytes(b"WARC/1.1")
    report = verify_store(store.root)
    assert report.ok
    assert [(n.file, n.check) for n in report.notes] == [
        (name, "pending-rename"),
        ("20990101000000-00000000-000000000000.warc.gz.open", "incomplete-file"),
    ]
    assert report.files_checked == 3


def test_a_corrupt_manifest_raises_a_one_line_store_error(store: Store) -> None:
    (store.root / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(StoreError, match=r"manifest\.json is corrupt: ") as caught:
        verify_store(store.root)
    assert "\n" not in str(caught.value)


def test_a_directory_without_manifest_is_checked_file_by_file(store: Store) -> None:
    (store.root / MANIFEST_NAME).unlink()
    report = verify_store(store.root)
    # each file is fine, but nothing proves that they are the whole store
    assert (report.ok, report.files_checked, report.records_checked) == (False, 3, 10)
    assert [p.check for p in report.problems] == ["no-manifest"]
    assert report.notes == ()


def test_no_such_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such store"):
        verify_store(tmp_path / "absent")


def test_verify_warc_checks_a_files_own_digests(store: Store, tmp_path: Path) -> None:
    name = memento_file(store)
    assert verify_warc(store.root / name).ok
    response = rows(store, name)[1]
    copy = tmp_path / "copy.warc.gz"
    shutil.copy(store.root / name, copy)
    recompress_with_change(copy, response, b"as archived", b"as ARCHIVED")
    assert [(p.record, p.check) for p in verify_warc(copy).problems] == [
        (response.record_id, "block-digest"),
        (response.record_id, "payload-digest"),
    ]


def test_verify_warc_of_nothing_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        verify_warc(tmp_path / "absent.warc.gz")
    with pytest.raises(InputError, match="is a directory"):
        verify_warc(tmp_path)


def test_an_http_head_holding_utf8_does_not_shift_the_payload(tmp_path: Path) -> None:
    # warcio counts the head in characters: "é" once, though it is two bytes
    body = b"<p>notice</p>"
    block = "HTTP/1.1 200 OK\r\nX-Title: café\r\n\r\n".encode() + body
    head = (
        "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:1>\r\n"
        f"WARC-Target-URI: {ORIGINAL}\r\nWARC-Date: 2018-01-15T09:30:00Z\r\n"
        f"WARC-Block-Digest: sha1:{payload_sha1_base32(block)}\r\n"
        f"WARC-Payload-Digest: sha1:{payload_sha1_base32(body)}\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    )
    path = tmp_path / "utf8.warc"
    path.write_bytes(head.encode() + block + b"\r\n\r\n")
    report = verify_warc(path)
    assert (report.ok, report.records_checked) == (True, 1)


def make_wacz(path: Path, warc: bytes, *, hash_form: str, tamper: bool = False) -> None:
    digest = hashlib.sha256(warc).hexdigest()
    if tamper:
        digest = "0" * 64
    resource: dict[str, object] = {"name": "a.warc.gz", "path": "archive/a.warc.gz"}
    if hash_form == "1.1.1":
        resource.update(hash=f"sha256:{digest}", bytes=len(warc))
    else:
        resource.update(stats={"hash": digest, "bytes": len(warc)}, hashing="sha256")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/a.warc.gz", warc)
        archive.writestr("datapackage.json", json.dumps({"resources": [resource]}))
    path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize("hash_form", ["1.0.0", "1.1.1"])
def test_a_wacz_is_checked_against_its_datapackage(
    store: Store, tmp_path: Path, hash_form: str
) -> None:
    warc = (store.root / memento_file(store)).read_bytes()
    good = tmp_path / "good.wacz"
    make_wacz(good, warc, hash_form=hash_form)
    report = verify_warc(good)
    assert (report.ok, report.records_checked) == (True, 3)

    bad = tmp_path / "bad.wacz"
    make_wacz(bad, warc, hash_form=hash_form, tamper=True)
    assert [(p.file, p.check, p.expected) for p in verify_warc(bad).problems] == [
        ("bad.wacz/archive/a.warc.gz", "file-sha256", "0" * 64)
    ]


# -- files written by other tools --------------------------------------------------------

CORPUS = {
    # name: (records checked, problems as (file, check))
    "dupes.warc.gz": (25, []),
    "example.warc.gz": (6, []),
    "example-wget-1-14.warc.gz": (6, []),
    "example-wpull.warc.gz": (4, []),
    "iana.warc.gz": (343, []),
    "valid_example_1.wacz": (4, []),
    "example-bad.warc.gz.bad": (6, [("example-bad.warc.gz.bad", "gzip-members")]),
    "invalid_example_1.wacz": (
        0,
        [
            ("invalid_example_1.wacz/data/indexes/index.cdx.gz", "missing-file"),
            ("invalid_example_1.wacz/data/archive/test.txt", "unknown-file"),
            ("invalid_example_1.wacz/archive", "wacz-layout"),
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_files_are_read_and_the_bad_ones_reported(name: str) -> None:
    path = require_shared("corpus", "warcs", name)
    report = verify_warc(path)
    records, problems = CORPUS[name]
    assert (report.records_checked, [(p.file, p.check) for p in report.problems]) == (
        records,
        problems,
    )


def test_every_corpus_file_is_known_here() -> None:
    directory = require_shared("corpus", "warcs")
    assert sorted(p.name for p in directory.iterdir()) == sorted(CORPUS)


# -- verify never says OK about nothing (through the command line) -------------------------


def verify_cli(target: Path, fmt: str) -> Result:
    return CliRunner().invoke(cli, ["verify", str(target), "--format", fmt])


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("content", ["nothing", "no archive file"])
def test_a_folder_with_nothing_to_verify_is_an_error(
    tmp_path: Path, fmt: str, content: str
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    if content == "no archive file":
        (folder / "notes.txt").write_text("not a WARC")
        (folder / ".hidden").mkdir()
        (folder / ".hidden" / "x.warc").write_bytes(b"")
    result = verify_cli(folder, fmt)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"archiver: error: nothing to verify in {folder}: no WARC or WACZ file, "
        f"and no {MANIFEST_NAME}\n"
    )


def test_a_store_that_holds_nothing_yet_says_so(tmp_path: Path) -> None:
    # a Store was opened (its lock file is there) and a run was killed mid-write
    root = Store(tmp_path / "store").root
    (root / "20260301120000-00000000-000000000000.warc.gz.open").write_bytes(b"\x1f\x8b")
    result = verify_cli(root, "table")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"note: empty-store: {root} is a store that holds nothing yet: no capture was stored "
        "in it (no manifest.json, no WARC file)",
        "note: incomplete-file: 20260301120000-00000000-000000000000.warc.gz.open: an "
        "interrupted write, not part of the store (deleted when the store is next opened)",
        "OK: 0 file(s), 0 record(s) checked",
    ]
    report = json.loads(verify_cli(root, "json").stdout)
    assert (report["ok"], [n["check"] for n in report["notes"]]) == (
        True,
        ["empty-store", "incomplete-file"],
    )


def third_party_folder(tmp_path: Path) -> Path:
    """The corpus's WARC.gz files, two of them in a subfolder, and no manifest."""
    folder = tmp_path / "third-party"
    (folder / "more").mkdir(parents=True)
    for path in sorted(require_shared("corpus", "warcs").glob("*.warc.gz")):
        inside = folder / "more" if path.name.startswith("example-w") else folder
        shutil.copy(path, inside / path.name)
    return folder


NO_MANIFEST = (
    "{folder} has no manifest.json: each of its {files} WARC/WACZ files was checked "
    "against its own digests, but nothing proves the set complete (a file lost or added "
    "would not show)"
)


def test_a_folder_of_warcs_without_manifest_says_nothing_proves_it_complete(
    tmp_path: Path,
) -> None:
    folder = third_party_folder(tmp_path)
    result = verify_cli(folder, "table")
    assert result.exit_code == 3, result.output
    assert result.stdout.splitlines() == [
        "no-manifest: " + NO_MANIFEST.format(folder=folder, files=5),
        "FAILED (1 problem(s)): 5 file(s), 384 record(s) checked",
    ]

    result = verify_cli(folder, "json")
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout) == {
        "ok": False,
        "root": str(folder),
        "files_checked": 5,
        "records_checked": 384,
        "problems": [
            {
                "file": MANIFEST_NAME,
                "record": None,
                "check": "no-manifest",
                "expected": MANIFEST_NAME,
                "actual": None,
                "message": NO_MANIFEST.format(folder=folder, files=5),
            }
        ],
        "notes": [],
        "mode": "deep",
        "bytes_checked": sum(p.stat().st_size for p in folder.rglob("*.warc.gz")),
    }


def test_each_file_of_a_folder_without_manifest_is_still_checked(tmp_path: Path) -> None:
    folder = third_party_folder(tmp_path)
    data = (folder / "more" / "example-wpull.warc.gz").read_bytes()
    (folder / "more" / "example-wpull.warc.gz").write_bytes(data[:-100])
    (folder / "empty.warc").write_bytes(b"")
    result = verify_cli(folder, "table")
    assert result.exit_code == 3, result.output
    assert result.stdout.splitlines() == [
        "no-manifest: " + NO_MANIFEST.format(folder=folder, files=6),
        "no-records: empty.warc: no WARC record in it",
        "truncated: more/example-wpull.warc.gz: the gzip member at offset 3181 is cut short "
        "after 457 bytes (the file is truncated)",  # its last record, 557 bytes long
        "truncated: more/example-wpull.warc.gz: <urn:uuid:932a7747-d661-409d-8174-560e41769e52>:"
        " the block ends after 434 of its 720 bytes",
        "FAILED (4 problem(s)): 6 file(s), 384 record(s) checked",
    ]


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_warc_without_records_is_no_ok(tmp_path: Path, fmt: str) -> None:
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    result = verify_cli(empty, fmt)
    assert result.exit_code == 3, result.output
    if fmt == "table":
        assert result.stdout.splitlines() == [
            "no-records: empty.warc.gz: no WARC record in it",
            "FAILED (1 problem(s)): 1 file(s), 0 record(s) checked",
        ]
    else:
        assert json.loads(result.stdout)["problems"] == [
            {
                "file": "empty.warc.gz",
                "record": None,
                "check": "no-records",
                "expected": None,
                "actual": "0",
                "message": "empty.warc.gz: no WARC record in it",
            }
        ]
