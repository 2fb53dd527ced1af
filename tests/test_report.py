"""Rendering for programs: JSON lines exactly as json.dumps writes them, one per row."""

from __future__ import annotations

import json

from archiver.models import History, LinkCheck, Verdict
from archiver.report.json_format import to_json
from archiver.report.jsonl_format import to_jsonl


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
