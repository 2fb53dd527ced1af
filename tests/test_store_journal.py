"""The manifest's journal (``archiver.storage.journal``): a commit appends one line, a
compaction folds the lines into ``manifest.json``, and a store verifies and reruns to the
end whenever a process is killed, its journal cut or a compaction half done.

Kills are real SIGKILLs of a process capturing pages from the origin server
(``tests.test_store_files``); a line cut short is what such a kill leaves, made by
cutting the file.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiver.cli.main import cli
from archiver.errors import StoreError
from archiver.export.contents import read_store
from archiver.storage.fixity import read_log
from archiver.storage.journal import JOURNAL_NAME
from archiver.storage.manifest import MANIFEST_NAME, Manifest, manifest_digest, read_manifest
from archiver.storage.store import Store
from archiver.storage.verify import verify_store
from tests.test_store_files import PAGES, finish, manifest_of, open_files, run_worker

BIN = Path(sys.executable).parent


def journal_lines(root: Path) -> list[dict[str, object]]:
    path = root / JOURNAL_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def listed_in_base(root: Path) -> list[str]:
    """The URLs ``manifest.json`` itself lists, journal aside."""
    return [c["url"] for c in json.loads((root / MANIFEST_NAME).read_text())["captures"]]


def killed_with_a_journal(root: Path, count: int = 3) -> None:
    """A run killed right after committing its ``count``th capture: the first is in
    ``manifest.json``, the others in the journal."""
    job = {"kill": "manifest-written", "committed": count - 1}
    assert finish(run_worker(root, count=count, **job)) == -signal.SIGKILL


def test_each_commit_is_a_journal_line_and_close_folds_them_in(tmp_path: Path) -> None:
    root = tmp_path / "store"
    killed_with_a_journal(root)
    assert listed_in_base(root) == PAGES[:1]
    lines = journal_lines(root)
    assert [line["change"] for line in lines] == ["capture", "capture"]
    base = json.loads((root / MANIFEST_NAME).read_text())
    assert lines[0]["prev"] == base["digest"] and lines[1]["prev"] == lines[0]["digest"]
    assert [line["digest"] == manifest_digest(line) for line in lines] == [True, True]
    assert [c.url for c in manifest_of(root).captures] == PAGES[:3]
    report = verify_store(root)
    assert report.ok, report.problems

    with Store(root) as store:  # settles the killed run's file; closing compacts
        assert [c.url for c in store.captures] == PAGES[:3]
    assert not (root / JOURNAL_NAME).exists()
    assert listed_in_base(root) == PAGES[:3]
    data = json.loads((root / MANIFEST_NAME).read_text())
    assert data["digest"] == manifest_digest(data)
    report = verify_store(root)
    assert (report.ok, report.notes) == (True, ())


def test_a_journal_line_cut_in_half_was_never_committed(tmp_path: Path) -> None:
    root = tmp_path / "store"
    killed_with_a_journal(root)
    path = root / JOURNAL_NAME
    whole = path.read_bytes()
    last = whole[:-1].rfind(b"\n") + 1
    path.write_bytes(whole[: last + (len(whole) - last) // 2])  # what a kill mid-write leaves
    assert [c.url for c in manifest_of(root).captures] == PAGES[:2]
    report = verify_store(root)  # the third capture's bytes are past the committed ones
    assert report.ok, report.problems

    assert finish(run_worker(root, count=4)) == 0  # the rerun cuts it off and goes on
    assert [c.url for c in manifest_of(root).captures] == PAGES[:4]
    assert not path.exists()  # folded in when the rerun closed its store
    report = verify_store(root)
    assert (report.ok, report.notes) == (True, ())
    assert report.records_checked == 3 * 4


def test_a_rerun_appends_after_a_cut_line_not_to_it(tmp_path: Path) -> None:
    root = tmp_path / "store"
    killed_with_a_journal(root)
    path = root / JOURNAL_NAME
    path.write_bytes(path.read_bytes()[:-20])  # the second line cut short
    job = {"kill": "manifest-written", "committed": 1}
    assert finish(run_worker(root, count=4, **job)) == -signal.SIGKILL  # after two commits
    assert [line["change"] for line in journal_lines(root)] == ["capture"] * 3
    assert [c.url for c in manifest_of(root).captures] == PAGES[:4]
    assert verify_store(root).ok


def test_an_edited_journal_line_fails_verify_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "store"
    killed_with_a_journal(root)
    path = root / JOURNAL_NAME
    first, second = path.read_bytes().splitlines(keepends=True)
    edited = json.loads(first)
    edited["capture"]["citations"] = ["forged.md#L1"]  # its digest left as it was
    path.write_bytes(json.dumps(edited).encode() + b"\n" + second)
    report = verify_store(root)
    assert not report.ok
    assert [(p.file, p.check, p.message) for p in report.problems] == [
        (
            JOURNAL_NAME,
            "journal-digest",
            f"{JOURNAL_NAME} line 1 was changed after archiver wrote it",
        )
    ]
    result = CliRunner().invoke(cli, ["verify", str(root)])
    assert result.exit_code == 3
    assert f"journal-digest: {JOURNAL_NAME} line 1 was changed after" in result.stdout
    # Nothing is written to it, or read from it as if it were sound, until a person looks.
    damaged = f"{root / JOURNAL_NAME} is damaged ({JOURNAL_NAME} line 1 was changed after"
    with pytest.raises(StoreError, match=f"^{re.escape(damaged)}"):
        Store(root)
    with pytest.raises(StoreError, match=f"^{re.escape(damaged)}"), read_store(root):
        pass
    exported = CliRunner().invoke(cli, ["export", "--wacz", str(tmp_path / "x.wacz"), str(root)])
    assert exported.exit_code != 0
    assert exported.stderr.startswith(f"archiver: error: {damaged}")
    assert "Traceback" not in exported.output


def test_a_line_changed_and_given_a_new_digest_breaks_the_chain(tmp_path: Path) -> None:
    root = tmp_path / "store"
    killed_with_a_journal(root)
    path = root / JOURNAL_NAME
    first, second = journal_lines(root)
    first["capture"]["citations"] = ["forged"]  # type: ignore[index]
    first["digest"] = manifest_digest(first)
    text = "".join(json.dumps(line) + "\n" for line in (first, second))
    path.write_text(text)
    report = verify_store(root)
    assert [(p.check, p.message) for p in report.problems] == [
        (
            "journal-digest",
            f"{JOURNAL_NAME} line 2 does not follow the line before it: a line before it "
            "was changed, taken out or put in after archiver wrote it",
        )
    ]


@pytest.mark.parametrize("at_close", [False, True])
def test_killed_between_writing_the_compacted_manifest_and_deleting_the_journal(
    tmp_path: Path, at_close: bool
) -> None:
    root = tmp_path / "store"
    # With compact_at 0, the journal is compacted as soon as it is larger than
    # manifest.json; else only when the store is closed, here after two captures.
    job = {"kill": "manifest-compacted", "committed": -1}  # the first compaction
    count, compact_at = (2, 2**20) if at_close else (5, 0)
    assert finish(run_worker(root, count=count, compact_at=compact_at, **job)) == -signal.SIGKILL
    done = len(listed_in_base(root))
    assert 2 <= done < 5 if not at_close else done == 2
    assert listed_in_base(root) == PAGES[:done]  # the new manifest holds every line ...
    assert len(journal_lines(root)) == done - 1  # ... of the journal not deleted yet
    assert [c.url for c in manifest_of(root).captures] == PAGES[:done]  # not twice
    report = verify_store(root)
    assert report.ok, report.problems

    assert finish(run_worker(root, count=5, compact_at=0)) == 0  # the rerun finishes
    assert [c.url for c in manifest_of(root).captures] == PAGES[:5]
    assert not (root / JOURNAL_NAME).exists()
    report = verify_store(root)
    assert (report.ok, report.notes) == (True, ())
    assert open_files(root) == []


def test_a_journal_manifest_json_does_not_hold_is_damaged_not_ignored(tmp_path: Path) -> None:
    root = tmp_path / "store"
    killed_with_a_journal(root)
    older = tmp_path / "older"
    older.mkdir()
    finish(run_worker(older, first=50, count=1))
    shutil.copy(older / MANIFEST_NAME, root / MANIFEST_NAME)  # another store's manifest
    report = verify_store(root)
    assert "journal-digest" in {p.check for p in report.problems}
    assert any("follows another manifest.json" in p.message for p in report.problems)


def test_two_processes_compacting_as_they_go_store_each_capture_once(tmp_path: Path) -> None:
    root = tmp_path / "store"
    Store(root)
    workers = [
        run_worker(root, first=0, count=15, compact_at=0),
        run_worker(root, first=15, count=15, compact_at=0),
    ]
    assert [finish(w) for w in workers] == [0, 0]
    urls = [c.url for c in manifest_of(root).captures]
    assert sorted(urls) == sorted(PAGES[:30])
    report = verify_store(root)
    assert (report.ok, report.records_checked) == (True, 3 * 30)


def test_an_old_store_without_a_journal_reads_verifies_and_takes_captures(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    assert finish(run_worker(root, count=2)) == 0
    data = json.loads((root / MANIFEST_NAME).read_text())
    del data["digest"]  # as archiver wrote manifests before they carried one
    (root / MANIFEST_NAME).write_text(json.dumps(data, indent=2))
    report = verify_store(root)
    assert report.ok
    assert [n.check for n in report.notes] == ["manifest-digest-absent"]
    job = {"kill": "manifest-written", "committed": 1}  # two more, into the journal
    assert finish(run_worker(root, first=2, count=2, **job)) == -signal.SIGKILL
    assert "digest" not in json.loads((root / MANIFEST_NAME).read_text())
    assert [c.url for c in manifest_of(root).captures] == PAGES[:4]
    assert verify_store(root).ok
    with Store(root):
        pass
    report = verify_store(root)
    assert (report.ok, report.notes) == (True, ())  # compacted: it carries a digest now


def test_the_fixity_log_says_which_journal_lines_were_checked(tmp_path: Path) -> None:
    root = tmp_path / "store"
    killed_with_a_journal(root)
    assert CliRunner().invoke(cli, ["verify", str(root)]).exit_code == 0
    [run], damaged = read_log(root)
    assert damaged == []
    assert run.journal_digest == journal_lines(root)[-1]["digest"]


def test_an_export_of_a_store_with_a_journal_carries_the_whole_manifest(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    killed_with_a_journal(root)
    with Store(root) as store:  # the killed run's file settled; a citation added
        store.add_citations(store.captures[0], ["later.md#L3"])
        # ... exported before this store is closed, its journal not folded in
        wacz, bag = tmp_path / "out.wacz", tmp_path / "bag"
        args = ["export", "--wacz", str(wacz), "--bag", str(bag), str(root)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "left out" not in result.stdout
        assert len(journal_lines(root)) == 3
    expected = manifest_of(root)
    with zipfile.ZipFile(wacz) as package:
        carried = json.loads(package.read("archiver/manifest.json"))
    for data in (carried, json.loads((bag / "data" / MANIFEST_NAME).read_text())):
        assert data["digest"] == manifest_digest(data)
        assert [c["url"] for c in data["captures"]] == PAGES[:3]
        assert data["captures"][0]["citations"] == [PAGES[0], "later.md#L3"]
    assert [c.url for c in expected.captures] == PAGES[:3]
    assert not (bag / "data" / JOURNAL_NAME).exists()
    validated = subprocess.run(
        [str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    bagit = subprocess.run(
        [str(BIN / "bagit.py"), "--validate", str(bag)], capture_output=True, text=True
    )
    assert bagit.returncode == 0, bagit.stderr
    report = verify_store(bag)
    assert (report.ok, report.files_checked) == (True, 1), report.problems
    assert read_manifest(bag / "data") == expected


def test_the_index_by_url_follows_captures_added_and_cited(tmp_path: Path) -> None:
    root = tmp_path / "store"
    killed_with_a_journal(root)
    manifest = manifest_of(root)
    assert [c.url for c in manifest.latest_of(PAGES[1])] == [PAGES[1]]  # the index made
    first = manifest.captures[0]
    again = replace(first, record_id="urn:uuid:again", citations=())
    more = manifest.with_capture(manifest.files[0], (), again)
    assert more.latest_of(PAGES[0]) == [again, first]
    changed = more.with_citations(first.warc_file, first.record_id, ["x.md#L1"])
    assert changed is not None
    cited, capture = changed
    assert capture.citations == (PAGES[0], "x.md#L1")
    assert cited.latest_of(PAGES[0]) == [again, capture]
    assert manifest.latest_of(PAGES[0]) == [first]  # the one it was made from: as it was
    fresh = Manifest(cited.files, cited.records, cited.captures)  # its index made anew
    assert fresh.latest_of(PAGES[0]) == cited.latest_of(PAGES[0])
    assert fresh.latest_of("http://kill.example/never") == []


def test_a_store_open_while_another_replaces_a_folded_journal_sees_every_capture(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    job = {"kill": "manifest-compacted", "committed": -1}  # on close: a journal left behind
    assert finish(run_worker(root, count=2, **job)) == -signal.SIGKILL
    store = Store(root)
    assert [c.url for c in store.captures] == PAGES[:2]
    # Another writer deletes the folded journal and starts its own: two captures, killed
    # before it closes (so manifest.json stays as it is).
    job = {"kill": "manifest-written", "committed": 1}
    assert finish(run_worker(root, first=2, count=2, **job)) == -signal.SIGKILL
    assert len(journal_lines(root)) == 2
    assert [c.url for c in store.captures] == PAGES[:4]
    store.add_citations(store.captures[3], ["more.md#L1"])
    store.close()
    assert [c.url for c in manifest_of(root).captures] == PAGES[:4]
    assert manifest_of(root).captures[3].citations == (PAGES[3], "more.md#L1")
    assert verify_store(root).ok
