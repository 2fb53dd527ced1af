"""The state file: every check kept, read back per URL in the order it was made."""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.config import Settings, default_state_dir, default_state_file
from archiver.errors import StoreError
from archiver.models import LinkCheck, Verdict
from archiver.state import State, _copy_old_state, open_state


def check(url: str, verdict: Verdict, checked_at: str, reason: str = "") -> LinkCheck:
    status = 200 if verdict is Verdict.ALIVE else 404
    return LinkCheck(url, verdict, status, None, reason or f"HTTP {status}", checked_at, "GET")


def test_a_new_state_file_has_every_table_and_keeps_checks_when_reopened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deeper" / "state.sqlite"
    with State(path) as state:
        tables = {row[0] for row in state.execute("SELECT name FROM sqlite_master")}
        state.record_check(check("http://a.example/", Verdict.ALIVE, "2024-01-01T00:00:00Z"))
    assert {"checks", "checks_by_url", "archive_lookups", "memento_verdicts"} <= tables
    assert "memento_passages" in tables
    with State(path) as state:
        assert [c.verdict for c in state.history("http://a.example/")] == [Verdict.ALIVE]


def test_a_file_that_is_not_a_state_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"not a database at all, " * 100)
    with pytest.raises(StoreError) as raised:
        State(path)
    assert str(raised.value) == (
        f"the state file {path} is not an SQLite database; move it aside (a new history "
        "starts) or give another file with --state"
    )


def test_histories_per_url_oldest_first_and_same_second_in_insertion_order(
    tmp_path: Path,
) -> None:
    with State(tmp_path / "state.sqlite") as state:
        state.record_checks(
            [
                check("http://b.example/", Verdict.DEAD, "2024-03-02T00:00:00Z"),
                check("http://a.example/", Verdict.ALIVE, "2024-03-05T00:00:00Z", "later"),
                check("http://a.example/", Verdict.DEAD, "2024-03-01T00:00:00Z", "first"),
                check("http://a.example/", Verdict.DEAD, "2024-03-01T00:00:00Z", "second"),
                check("http://elsewhere.example/", Verdict.ALIVE, "2024-03-01T00:00:00Z"),
            ]
        )
        found = state.histories(
            ["http://a.example/", "http://never.example/", "http://b.example/", "http://a.example/"]
        )
        assert list(found) == ["http://a.example/", "http://never.example/", "http://b.example/"]
        assert [c.reason for c in found["http://a.example/"]] == ["first", "second", "later"]
        assert found["http://a.example/"] == state.history("http://a.example/")
        assert found["http://never.example/"] == []
        assert found["http://b.example/"] == [
            LinkCheck(
                "http://b.example/",
                Verdict.DEAD,
                404,
                None,
                "HTTP 404",
                "2024-03-02T00:00:00Z",
                "GET",
            )
        ]


def test_histories_of_more_urls_than_one_query_binds(tmp_path: Path) -> None:
    urls = [f"http://h{i % 7}.example/p/{i}" for i in range(1_234)]
    with State(tmp_path / "state.sqlite") as state:
        state.record_checks(check(url, Verdict.ALIVE, "2024-01-01T00:00:00Z") for url in urls[::3])
        state.record_checks(check(url, Verdict.DEAD, "2024-01-02T00:00:00Z") for url in urls[::3])
        found = state.histories(reversed(urls))
    assert list(found) == urls[::-1]
    for index, url in enumerate(urls):
        expected = [Verdict.ALIVE, Verdict.DEAD] if index % 3 == 0 else []
        assert [c.verdict for c in found[url]] == expected, url


def test_recorded_histories_leave_out_the_urls_never_checked(tmp_path: Path) -> None:
    with State(tmp_path / "state.sqlite") as state:
        state.record_checks(
            [
                check("http://b.example/", Verdict.DEAD, "2024-03-02T00:00:00Z", "b"),
                check("http://a.example/", Verdict.DEAD, "2024-03-01T00:00:00Z", "a"),
            ]
        )
        found = state.recorded_histories(
            ["http://never.example/", "http://a.example/", "http://b.example/"]
        )
        assert {url: [c.reason for c in checks] for url, checks in found.items()} == {
            "http://a.example/": ["a"],
            "http://b.example/": ["b"],
        }
        assert state.recorded_histories(["http://never.example/"]) == {}


def test_histories_of_no_urls(tmp_path: Path) -> None:
    with State(tmp_path / "state.sqlite") as state:
        assert state.histories([]) == {}


def test_histories_leave_the_garbage_collector_as_they_found_it(tmp_path: Path) -> None:
    with State(tmp_path / "state.sqlite") as state:
        state.record_check(check("http://a.example/", Verdict.ALIVE, "2024-01-01T00:00:00Z"))
        assert len(state.histories(["http://a.example/"])["http://a.example/"]) == 1
        assert gc.isenabled()
        gc.disable()
        try:
            state.histories(["http://a.example/"])
            assert not gc.isenabled()
        finally:
            gc.enable()


# -- where the state file lives: outside the store, whose files are preserved ------------


def test_by_default_each_store_has_its_own_state_file_outside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVER_STATE_DIR", str(tmp_path / "state"))
    store = tmp_path / "work" / "warcs"
    path = Settings(store=store).state_file
    assert path.parent == tmp_path / "state"
    assert path.name.startswith("warcs-") and path.suffix == ".sqlite"
    assert len(path.name) == len("warcs-") + 16 + len(".sqlite")
    assert Settings(store=tmp_path / "other" / "warcs").state_file != path
    # the same store however it is named: relative, with "..", through a symlink
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert default_state_file(Path("warcs")) == path
    assert default_state_file(tmp_path / "other" / ".." / "work" / "warcs") == path
    store.mkdir()
    (tmp_path / "link").symlink_to(store)
    assert default_state_file(tmp_path / "link") == path
    # --state still chooses the file
    assert Settings(store=store, state_path=tmp_path / "mine.sqlite").state_file == (
        tmp_path / "mine.sqlite"
    )


def test_the_state_directory_is_the_xdg_one_unless_overridden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCHIVER_STATE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "xdg" / "archiver"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # the spec says: ignore it
    assert default_state_dir() == tmp_path / "home" / ".local" / "state" / "archiver"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_state_dir() == tmp_path / "home" / ".local" / "state" / "archiver"
    monkeypatch.setenv("ARCHIVER_STATE_DIR", str(tmp_path / "ci"))
    assert default_state_dir() == tmp_path / "ci"


def test_the_state_directory_is_made_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The history lists every URL the user checked: not for other users of the machine.
    monkeypatch.setenv("ARCHIVER_STATE_DIR", str(tmp_path / "state"))
    with open_state(Settings(store=tmp_path / "warcs")) as state:
        assert state.path.parent == tmp_path / "state"
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    assert not (tmp_path / "warcs").exists()  # checking links makes no store


def old_state_file(store: Path) -> tuple[Path, bytes]:
    """A store of an older version, with its history inside: the file and its bytes."""
    store.mkdir(parents=True)
    with State(store / "state.sqlite") as state:
        state.record_check(check("http://a.example/", Verdict.DEAD, "2024-01-01T00:00:00Z"))
    return store / "state.sqlite", (store / "state.sqlite").read_bytes()


def test_the_history_of_an_older_store_is_copied_out_once_and_left_as_it_was(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old, before = old_state_file(tmp_path / "warcs")
    settings = Settings(store=tmp_path / "warcs")
    with caplog.at_level(logging.WARNING), open_state(settings) as state:
        assert state.path == settings.state_file
        assert [c.checked_at for c in state.history("http://a.example/")] == [
            "2024-01-01T00:00:00Z"
        ]
        state.record_check(check("http://a.example/", Verdict.DEAD, "2024-01-05T00:00:00Z"))
    assert [r.getMessage() for r in caplog.records] == [
        f"the check history is now kept outside the store, in {settings.state_file}: copied"
        f" from {old}, which is no longer used or changed (delete it, or keep it if the"
        " store was bagged or hashed with it)"
    ]
    assert old.read_bytes() == before  # a bag or checksum list that holds it stays true
    caplog.clear()
    with caplog.at_level(logging.WARNING), open_state(settings) as state:
        assert len(state.history("http://a.example/")) == 2
    assert caplog.records == []  # once
    assert old.read_bytes() == before
    assert sorted(p.name for p in settings.state_file.parent.iterdir()) == [
        settings.state_file.name
    ]


def test_an_older_history_is_not_copied_over_a_newer_one_nor_when_state_is_chosen(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old, _ = old_state_file(tmp_path / "warcs")
    settings = Settings(store=tmp_path / "warcs")
    with State(settings.state_file) as state:
        state.record_check(check("http://b.example/", Verdict.ALIVE, "2024-02-01T00:00:00Z"))
    chosen = settings.replace(state_path=tmp_path / "chosen.sqlite")
    with caplog.at_level(logging.WARNING):
        with open_state(settings) as state:
            assert state.history("http://a.example/") == []
            assert len(state.history("http://b.example/")) == 1
        with open_state(chosen) as state:
            assert state.history("http://a.example/") == []
        with open_state(settings.replace(state_path=old)) as state:  # --state STORE/state.sqlite
            assert len(state.history("http://a.example/")) == 1
    assert caplog.records == []


def test_an_older_history_that_cannot_be_read_is_one_clear_error_and_is_kept(
    tmp_path: Path,
) -> None:
    (tmp_path / "warcs").mkdir()
    old = tmp_path / "warcs" / "state.sqlite"
    old.write_bytes(b"not a database at all, " * 100)
    settings = Settings(store=tmp_path / "warcs")
    message = (
        f"cannot copy the check history from {old} to {settings.state_file}: .*;"
        f" to use it where it is, pass --state {old}"
    )
    with pytest.raises(StoreError, match=message):
        open_state(settings)
    assert old.read_bytes() == b"not a database at all, " * 100
    assert not settings.state_file.exists()
    assert [p.name for p in settings.state_file.parent.iterdir()] == []  # no copy left half


def test_a_copy_made_meanwhile_by_another_process_is_kept(tmp_path: Path) -> None:
    # Two processes found no copy and both copied the old history: the second one's copy
    # must not replace the first's, which may have been written to since.
    old, _ = old_state_file(tmp_path / "warcs")
    new = tmp_path / "state" / "warcs.sqlite"
    new.parent.mkdir()
    with State(new) as first:
        first.record_check(check("http://b.example/", Verdict.ALIVE, "2024-02-01T00:00:00Z"))
    inode = new.stat().st_ino
    assert not _copy_old_state(old, new)
    assert new.stat().st_ino == inode
    with sqlite3.connect(new) as db:
        rows = db.execute("SELECT url FROM checks UNION ALL SELECT url FROM checks_new")
        assert rows.fetchall() == [("http://b.example/",)]
    assert [p.name for p in new.parent.iterdir()] == ["warcs.sqlite"]  # no copy left over


# -- checks recorded into a table of their own, moved into the history's later ----------


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute(f"SELECT url, reason FROM {table} ORDER BY id").fetchall()


def test_recorded_checks_are_moved_into_the_history_sorted_when_it_is_read(
    tmp_path: Path,
) -> None:
    # A long run records its checks (in no order of URL) unindexed, then moves them all
    # at once, sorted as the index is; reading the history moves what was not yet.
    path = tmp_path / "state.sqlite"
    with State(path) as state:
        state.record_checks(
            [
                check("http://c.example/", Verdict.DEAD, "2024-03-01T00:00:00Z", "c"),
                check("http://a.example/", Verdict.DEAD, "2024-03-02T00:00:00Z", "a2"),
                check("http://a.example/", Verdict.DEAD, "2024-03-01T00:00:00Z", "a1"),
            ]
        )
        assert rows(path, "checks") == []
        assert len(rows(path, "checks_new")) == 3
        assert [c.reason for c in state.history("http://a.example/")] == ["a1", "a2"]
        assert rows(path, "checks_new") == []
        assert [reason for _, reason in rows(path, "checks")] == ["a1", "a2", "c"]
        state.record_checks([check("http://b.example/", Verdict.ALIVE, "2024-03-03T00:00:00Z")])
        state.move_new_checks()
        assert rows(path, "checks_new") == []
        assert [url for url, _ in rows(path, "checks")][-1] == "http://b.example/"


def test_the_order_of_a_history_holds_across_moved_and_unmoved_checks(tmp_path: Path) -> None:
    # Checks of one URL and one second keep the order they were recorded in, whether
    # they were moved in the same move or in two.
    path = tmp_path / "state.sqlite"
    url = "http://a.example/"
    with State(path) as writer, State(path) as reader:
        writer.record_checks([check(url, Verdict.DEAD, "2024-03-01T00:00:00Z", "1")])
        writer.move_new_checks()
        writer.record_checks([check(url, Verdict.DEAD, "2024-03-01T00:00:00Z", "2")])
        writer.record_checks([check(url, Verdict.DEAD, "2024-02-01T00:00:00Z", "0")])
        writer.record_checks([check(url, Verdict.DEAD, "2024-03-01T00:00:00Z", "3")])
        assert len(rows(path, "checks_new")) == 3
        assert [c.reason for c in reader.histories([url])[url]] == ["0", "1", "2", "3"]
        assert [c.reason for c in writer.history(url)] == ["0", "1", "2", "3"]


def test_an_older_state_file_without_the_table_of_new_checks_is_used_as_it_is(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE checks (id INTEGER PRIMARY KEY, url TEXT NOT NULL, verdict TEXT"
            " NOT NULL, http_status INTEGER, final_url TEXT, reason TEXT NOT NULL,"
            " checked_at TEXT NOT NULL, method TEXT)"
        )
        db.execute("CREATE INDEX checks_by_url ON checks (url, checked_at)")
        db.execute(
            "INSERT INTO checks (url, verdict, http_status, reason, checked_at, method)"
            " VALUES ('http://a.example/', 'dead', 404, 'old', '2024-01-01T00:00:00Z', 'GET')"
        )
    with State(path) as state:
        state.record_check(check("http://a.example/", Verdict.ALIVE, "2024-01-01T00:00:00Z"))
        assert [c.reason for c in state.history("http://a.example/")] == ["old", "HTTP 200"]


RECORD_THEN_HANG = """
import sys, time
from pathlib import Path
from archiver.models import LinkCheck, Verdict
from archiver.state import State
state = State(Path(sys.argv[1]))
for n in range(int(sys.argv[3])):
    state.record_checks(
        LinkCheck(f"http://h{i % 7}.example/{i}", Verdict.DEAD, 404, None, sys.argv[2] + str(n),
                  "2024-03-01T00:00:00Z", "GET")
        for i in range(50)
    )
    if n % 3 == 2:
        state.move_new_checks()
print("recorded", flush=True)
time.sleep(60)
"""


def record_in_another_process(path: Path, name: str, batches: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", RECORD_THEN_HANG, str(path), name, str(batches)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_checks_of_a_killed_run_are_in_the_next_ones_history(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with State(path) as state:
        state.record_check(check("http://h0.example/0", Verdict.ALIVE, "2024-01-01T00:00:00Z"))
    run = record_in_another_process(path, "killed", 2)  # recorded, never moved
    try:
        assert run.stdout is not None and run.stdout.readline() == "recorded\n"
        assert len(rows(path, "checks_new")) == 100
    finally:
        run.send_signal(signal.SIGKILL)
        run.communicate()
    with State(path) as state:  # a new run moves them as it opens the file
        assert len(rows(path, "checks_new")) == 0
        assert [c.reason for c in state.history("http://h0.example/0")] == [
            "HTTP 200",
            "killed0",
            "killed1",
        ]
        assert (
            sum(
                map(
                    len, state.histories(f"http://h{i % 7}.example/{i}" for i in range(50)).values()
                )
            )
            == 101
        )


def test_two_processes_recording_and_moving_at_once_keep_every_check_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite"
    State(path).close()
    runs = [record_in_another_process(path, name, 30) for name in ("x", "y")]
    try:
        for run in runs:
            assert run.stdout is not None and run.stdout.readline() == "recorded\n"
    finally:
        for run in runs:
            run.send_signal(signal.SIGKILL)
            run.communicate()
    with State(path) as state:
        found = state.histories(f"http://h{i % 7}.example/{i}" for i in range(50))
    for url, history in found.items():
        for name in ("x", "y"):  # each one's checks once, in the order it recorded them
            assert [c.reason for c in history if c.reason[0] == name] == [
                f"{name}{n}" for n in range(30)
            ], url
