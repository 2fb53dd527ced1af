"""Rendering (archiver.report): JSON lines exactly as json.dumps writes them, one per row;
each format renders every kind of result."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace

from archiver.models import History, LinkCheck, Memento, Selection, Verdict
from archiver.report.formats import formatter
from archiver.report.json_format import JsonFormat, to_json
from archiver.report.jsonl_format import JsonLinesFormat, StreamedChecks, check_line, to_jsonl
from archiver.report.table import TableFormat


def test_json_lines_are_compact_and_keep_non_ascii_text() -> None:
    rows = [{"url": "http://a.example/ü", "n": 1, "x": None}, {"reason": 'say "hi"\n', "f": 1.5}]
    assert to_jsonl(rows) == (
        '{"url": "http://a.example/ü", "n": 1, "x": null}\n{"reason": "say \\"hi\\"\\n", "f": 1.5}'
    )
    assert to_jsonl([]) == ""
    assert [json.loads(line) for line in to_jsonl(rows).split("\n")] == rows


def test_a_check_with_its_history_as_json() -> None:
    check = LinkCheck(
        "http://a.example/",
        Verdict.SOFT_404,
        200,
        "http://a.example/home",
        "looks like a not-found page",
        "2024-01-05T00:00:00Z",
        "GET",
        confirmed=True,
        history=History(4, 3, "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z"),
    )
    assert to_jsonl([check.to_dict()]) == (
        '{"url": "http://a.example/", "verdict": "soft-404", "http_status": 200, '
        '"final_url": "http://a.example/home", "reason": "looks like a not-found page", '
        '"checked_at": "2024-01-05T00:00:00Z", "method": "GET", "from_cache": false, '
        '"confirmed": true, "history": {"checks": 4, "failures": 3, '
        '"first_failure": "2024-01-01T00:00:00Z", "last_failure": "2024-01-05T00:00:00Z"}}'
    )
    assert json.loads(to_json([check.to_dict()]))[0]["history"]["failures"] == 3


# -- the formatters: one per format, one method per result -------------------------------

MEMENTO = Memento(
    "http://a.example/r",
    "2018-06-15T10:30:00Z",
    "ia",
    "https://web.archive.org/web/20180615103000/http://a.example/r",
    "https://web.archive.org/web/20180615103000id_/http://a.example/r",
    200,
)
DEAD = LinkCheck(
    "http://a.example/gone", Verdict.DEAD, 404, None, "HTTP 404: not found", "T", "GET"
)


def test_each_format_is_named_as_the_option_names_it() -> None:
    assert isinstance(formatter("table"), TableFormat)
    assert isinstance(formatter("json"), JsonFormat)
    assert isinstance(formatter("jsonl"), JsonLinesFormat)


def test_a_table_of_checks_is_cut_to_the_width() -> None:
    confirmed = replace(DEAD, url="http://a.example/" + "x" * 60, confirmed=True)
    assert TableFormat(width=40).checks([confirmed]) == (
        "verdict           status  url                   reason\n"
        "----------------  ------  --------------------  -------------------\n"
        "dead (confirmed)  404     http://a.example/xx…  HTTP 404: not found"
    )


def test_a_selection_without_a_copy_has_no_table() -> None:
    none = Selection(None, "no archive holds a copy")
    assert TableFormat(width=80).selection("http://a.example/r", None, none) == ""
    assert TableFormat(width=80).selection(
        "http://a.example/r", None, Selection(MEMENTO, "ok")
    ) == (
        "datetime              status  archive  memento\n"
        f"--------------------  ------  -------  {'-' * 61}\n"
        "2018-06-15T10:30:00Z  200     ia       "
        "https://web.archive.org/web/20180615103000/http://a.example/r"
    )


def test_json_lines_are_a_line_per_item_or_one_per_document() -> None:
    lines = JsonLinesFormat()
    assert lines.checks([DEAD, DEAD]).count("\n") == 1
    assert lines.checks([]) == ""
    found = Selection(MEMENTO, "the closest capture")
    one = lines.selection("http://a.example/r", "2018-07-01", found)
    assert "\n" not in one
    assert json.loads(one) == json.loads(
        JsonFormat().selection("http://a.example/r", "2018-07-01", found)
    )
    assert json.loads(one)["date"] == "2018-07-01"


def test_streamed_lines_are_held_until_a_link_answers_and_replaced_when_offline() -> None:
    written: list[str] = []
    streamed = StreamedChecks(written.append)
    unanswered = replace(DEAD, http_status=None, verdict=Verdict.TIMEOUT, reason="timed out")
    streamed.arrived(unanswered)
    assert written == []  # this machine may be offline: not yet
    offline = replace(unanswered, verdict=Verdict.OFFLINE, reason="offline")
    streamed.finish([offline])
    assert "".join(written) == to_jsonl([offline.to_dict()]) + "\n"

    written.clear()
    streamed = StreamedChecks(written.append)
    streamed.arrived(unanswered)
    streamed.arrived(DEAD)  # an answer: what was held goes out, and all that follows
    assert "".join(written) == to_jsonl([unanswered.to_dict(), DEAD.to_dict()]) + "\n"
    streamed.arrived(DEAD)
    assert len(written) == 2 and streamed.count == 3 and streamed.failures == 2
    streamed.finish([])


def test_a_check_line_is_what_json_makes_of_its_dict_for_every_field() -> None:
    # check_line writes the fields itself (for speed): a field added to LinkCheck, or a
    # value JSON escapes, must come out as json.dumps(check.to_dict()) has it.
    odd = 'a "quoted" \\ back\tslash\n, “curly” é 日本 \x00 \u2028 😀'
    history = History(checks=3, failures=2, first_failure="2026-01-01T00:00:00Z", last_failure=odd)
    unsure = History(checks=1, failures=0, first_failure=None, last_failure=None)
    checks = [
        LinkCheck("https://example.org/", Verdict.ALIVE, 200, None, "200 OK", "2026-12-05T13:00Z"),
        LinkCheck(
            f"https://example.org/{odd}",
            Verdict.SOFT_404,
            200,
            f"https://example.org/final/{odd}",
            odd,
            odd,
            method=odd,
            from_cache=True,
            confirmed=True,
            history=history,
        ),
        LinkCheck("http://[::1]:9/", Verdict.TIMEOUT, None, None, "", "", "GET", history=unsure),
    ]
    checks += [replace(checks[0], verdict=verdict) for verdict in Verdict]
    names = [field.name for field in dataclasses.fields(LinkCheck)]
    for check in checks:
        line = check_line(check)
        assert line == json.dumps(check.to_dict(), ensure_ascii=False)
        assert list(json.loads(line)) == names
    assert JsonLinesFormat().checks(checks) == to_jsonl(c.to_dict() for c in checks)
