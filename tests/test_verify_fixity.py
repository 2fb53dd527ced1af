"""verify over time: the fixity log and ``verify --history``, the manifest's own digest,
plain and deep checks, and files a run is still writing.

The store is written by ``Store`` from the origin server on loopback, then checked
through the command line as a user would (``archiver verify``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archiver.cli.main import cli
from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.net.http import build_session
from archiver.storage.fixity import LOG_NAME
from archiver.storage.manifest import MANIFEST_NAME, manifest_digest, read_manifest
from archiver.storage.store import Store
from archiver.storage.verify import verify_store

PAGES = {
    "http://news.example/a": "<html><p>First story.</p></html>",
    "http://news.example/b": "<html><p>Second story, a little longer.</p></html>" * 20,
}


@pytest.fixture
def store(origin: OriginServer, tmp_path: Path) -> Store:
    for url, body in PAGES.items():
        origin.add(url, Page(body=body))
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    session = build_session(settings)
    store = Store(tmp_path / "store", warc_size=1)  # a file per capture, each closed
    for url in PAGES:
        store.capture_live(url, session, settings, [url])
    return store


def verify(*args: str) -> Result:
    return CliRunner().invoke(cli, ["verify", *args])


def history(root: Path) -> list[dict[str, object]]:
    result = verify("--history", "--format", "json", str(root))
    assert result.exit_code == 0, result.output
    runs: list[dict[str, object]] = json.loads(result.stdout)
    return runs


def first_file(store: Store) -> Path:
    return store.path_of(store.captures[0])


# -- the fixity log ------------------------------------------------------------------------


def test_each_verification_is_appended_to_the_fixity_log(store: Store) -> None:
    root = store.root
    assert history(root) == []
    assert verify("--history", str(root)).stdout == "no verification recorded yet\n"

    assert verify(str(root)).exit_code == 0
    assert verify("--deep", str(root)).exit_code == 0
    victim = first_file(store)
    data = bytearray(victim.read_bytes())
    data[-5] ^= 1
    victim.write_bytes(bytes(data))
    assert verify(str(root)).exit_code == 3

    runs = history(root)
    manifest_sha256 = hashlib.sha256((root / MANIFEST_NAME).read_bytes()).hexdigest()
    stored = sum(p.stat().st_size for p in root.glob("*.warc.gz"))
    assert [
        (r["mode"], r["ok"], r["files_checked"], r["records_checked"], r["bytes_checked"])
        for r in runs
    ] == [
        ("plain", True, 2, 0, stored),
        ("deep", True, 2, 6, stored),
        ("plain", False, 2, 0, stored),
    ]
    assert {r["manifest_sha256"] for r in runs} == {manifest_sha256}
    assert [(p["file"], p["check"]) for p in runs[2]["problems"]] == [  # type: ignore[attr-defined]
        (victim.name, "file-sha256")
    ]
    assert runs[2]["problem_count"] == 1
    assert all(str(r["started"]) <= str(r["finished"]) for r in runs)
    assert runs[0]["software"].startswith("archiver ")  # type: ignore[attr-defined]

    table = verify("--history", str(root)).stdout.splitlines()
    assert table[0].split() == [
        "started", "mode", "result", "files", "records", "bytes", "manifest", "problems"
    ]  # fmt: skip
    assert [line.split()[1:3] for line in table[2:]] == [
        ["plain", "OK"],
        ["deep", "OK"],
        ["plain", "FAILED"],
    ]
    assert f"  file-sha256 {victim.name[:20]}" in table[4]  # the name shortened to fit


def test_a_line_cut_short_by_a_kill_never_makes_the_log_unreadable(store: Store) -> None:
    root = store.root
    assert verify(str(root)).exit_code == 0
    log = root / LOG_NAME
    whole = log.read_bytes()
    log.write_bytes(whole + whole[: len(whole) // 2])  # a run killed in the middle of its line
    assert verify("--deep", str(root)).exit_code == 0
    with log.open("ab") as stream:  # lines of the right shape with a wrong value in them
        stream.write(whole.replace(b'"files_checked": 2', b'"files_checked": "two"'))
        stream.write(whole.replace(b'"ok": true', b'"ok": 1'))

    result = verify("--history", "--format", "json", str(root))
    assert result.exit_code == 0
    assert [r["mode"] for r in json.loads(result.stdout)] == ["plain", "deep"]
    assert result.stderr == (
        f"archiver: warning: {log}: line(s) 2, 4, 5 could not be read and were skipped (a "
        "run killed while writing its line, or damage)\n"
    )
    assert log.read_bytes().startswith(whole + whole[: len(whole) // 2] + b"\n{")
    assert verify("--history", str(root)).exit_code == 0  # the table too


def test_no_log_and_an_unwritable_log(store: Store) -> None:
    root = store.root
    assert verify("--no-log", str(root)).exit_code == 0
    assert not (root / LOG_NAME).exists()

    (root / LOG_NAME).mkdir()  # a log that cannot be appended to: the check still stands
    result = verify(str(root))
    assert result.exit_code == 0
    assert result.stdout.startswith("OK: 2 file(s)")
    assert result.stderr.startswith(
        "archiver: warning: this verification was not recorded: cannot append to "
        f"{root / LOG_NAME}: "
    )


def test_a_bag_is_verified_but_not_written_to(store: Store, tmp_path: Path) -> None:
    bag = tmp_path / "bag"
    (bag / "data").mkdir(parents=True)
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    for path in store.root.iterdir():
        (bag / "data" / path.name).write_bytes(path.read_bytes())
    before = sorted(p.relative_to(bag) for p in bag.rglob("*"))
    assert verify(str(bag)).exit_code == 0
    assert sorted(p.relative_to(bag) for p in bag.rglob("*")) == before


# -- the manifest's own digest ---------------------------------------------------------------


def test_a_manifest_edited_to_match_changed_bytes_is_caught(store: Store) -> None:
    root = store.root
    victim = first_file(store)
    victim.write_bytes(victim.read_bytes() + b"\r\n")  # changed, and the manifest "fixed":
    data = json.loads((root / MANIFEST_NAME).read_text())
    entry = next(f for f in data["files"] if f["name"] == victim.name)
    entry["sha256"] = hashlib.sha256(victim.read_bytes()).hexdigest()
    entry["size"] = victim.stat().st_size
    (root / MANIFEST_NAME).write_text(json.dumps(data, indent=2))

    result = verify("--format", "json", str(root))
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert [(p["file"], p["check"]) for p in report["problems"]] == [
        (MANIFEST_NAME, "manifest-digest")
    ]
    assert report["problems"][0]["expected"] == data["digest"]
    assert report["problems"][0]["actual"] == manifest_digest(data)


def test_the_digest_is_of_the_content_not_its_layout(store: Store) -> None:
    data = json.loads((store.root / MANIFEST_NAME).read_text())
    (store.root / MANIFEST_NAME).write_text(json.dumps(data, sort_keys=True))  # re-indented
    assert verify(str(store.root)).exit_code == 0


def test_a_manifest_of_an_earlier_version_verifies_with_a_note(store: Store) -> None:
    data = json.loads((store.root / MANIFEST_NAME).read_text())
    del data["digest"]
    (store.root / MANIFEST_NAME).write_text(json.dumps(data, indent=2))
    report = verify_store(store.root, deep=False)
    assert report.ok
    assert [(n.file, n.check) for n in report.notes] == [(MANIFEST_NAME, "manifest-digest-absent")]
    assert read_manifest(store.root) is not None


# -- plain and deep ------------------------------------------------------------------------


def test_plain_hashes_files_and_deep_reads_their_records(store: Store) -> None:
    plain = verify(str(store.root)).stdout.splitlines()
    stored = sum(p.stat().st_size for p in store.root.glob("*.warc.gz"))
    assert plain == [
        f"OK: 2 file(s), {stored:,} bytes checked against the manifest's sha256 (--deep also "
        "reads every record)"
    ]
    assert verify("--deep", str(store.root)).stdout.splitlines() == [
        "OK: 2 file(s), 6 record(s) checked"
    ]


# -- files a run is writing ------------------------------------------------------------------


@pytest.fixture
def held(store: Store) -> Iterator[Path]:
    """The first WARC file, held (``flock``) as a run writing to it holds it."""
    path = first_file(store)
    with path.open("ab") as stream:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX)
        yield path


def test_bytes_appended_past_the_listed_length_while_held_are_not_checked(
    store: Store, held: Path
) -> None:
    listed = held.stat().st_size
    with held.open("ab") as stream:
        stream.write(b"\x1f\x8b\x08\x00half a member being written")
    for deep in (False, True):
        report = verify_store(store.root, deep=deep)
        assert report.ok, report.problems
        assert [(n.file, n.check) for n in report.notes] == [(held.name, "growing-file")]
        assert f"checked up to the {listed} bytes" in report.notes[0].message


def test_bytes_appended_to_a_file_no_run_holds_are_a_problem(store: Store) -> None:
    victim = first_file(store)
    listed = victim.stat().st_size
    victim.write_bytes(victim.read_bytes() + b"appended later")
    report = verify_store(store.root, deep=False)
    assert [(p.file, p.check, p.expected, p.actual) for p in report.problems] == [
        (victim.name, "file-size", str(listed), str(listed + 14))
    ]


def test_an_unlisted_warc_a_run_holds_is_being_written_not_unknown(
    store: Store, tmp_path: Path
) -> None:
    busy = store.root / "20260301120000-00000000-000000000099.warc.gz"
    with busy.open("wb") as stream:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX)
        stream.write(b"\x1f\x8b")
        report = verify_store(store.root)
    assert report.ok
    assert [(n.file, n.check) for n in report.notes] == [(busy.name, "being-written")]
    assert [p.check for p in verify_store(store.root).problems] == ["unknown-file"]
