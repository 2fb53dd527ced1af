"""The state file: every check kept, read back per URL in the order it was made."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from archiver.errors import StoreError
from archiver.models import LinkCheck, Verdict
from archiver.state import State


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
    with pytest.raises(StoreError, match=f"cannot open state file {path}: "):
        State(path)


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
