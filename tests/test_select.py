"""select_memento: which capture stands for what the author cited, and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from archiver.archives.cache import PassageMatch
from archiver.models import Memento, Rejection
from archiver.select.passages import (
    find_passage,
    holds_quote_wording,
    normalise_passage,
    quote_parts,
)
from archiver.select.rank import rank_mementos, select_memento

IA = "ia"
LOCAL = "wayback:http://127.0.0.1:8080/web/"
CITED = datetime(2018, 11, 28, 23, 59, 59, tzinfo=UTC)


def capture(
    day: str, status: int | None = 200, archive: str = IA, mimetype: str = "text/html"
) -> Memento:
    ts = day.replace("-", "") + "120000"
    base = "https://web.archive.org/web/" if archive == IA else "http://127.0.0.1:8080/web/"
    return Memento(
        original="http://example.com/report",
        datetime=f"{day}T12:00:00Z",
        archive=archive,
        url=f"{base}{ts}/http://example.com/report",
        raw_url=f"{base}{ts}id_/http://example.com/report",
        http_status=status,
        mimetype=mimetype,
    )


def test_latest_good_capture_before_the_date_wins() -> None:
    older, chosen, after = capture("2018-03-01"), capture("2018-10-02"), capture("2018-12-01")
    selection = select_memento([after, older, chosen], CITED)
    assert selection.memento == chosen
    assert selection.reason == "latest capture before 2018-11-28 (2018-10-02)"
    assert selection.rejected == ()


def test_error_and_redirect_captures_are_rejected_with_reasons() -> None:
    good = capture("2018-10-02")
    not_found = capture("2018-11-20", 404)
    moved = capture("2018-11-25", 302)
    broken = capture("2018-11-26", 503)
    selection = select_memento([good, not_found, moved, broken], CITED)
    assert selection.memento == good
    assert selection.reason == "latest capture before 2018-11-28 (2018-10-02)"
    assert selection.rejected == (
        Rejection(not_found, "captured status 404"),
        Rejection(moved, "captured redirect 302"),
        Rejection(broken, "captured status 503"),
    )


def test_no_good_capture_before_takes_the_earliest_after() -> None:
    before_but_404 = capture("2018-06-01", 404)
    first_after, later = capture("2019-01-05"), capture("2019-06-01")
    selection = select_memento([later, first_after, before_but_404], CITED)
    assert selection.memento == first_after
    assert selection.reason == "no capture before 2018-11-28; earliest after it (2019-01-05)"
    assert selection.rejected == (Rejection(before_but_404, "captured status 404"),)


def test_capture_on_the_cited_day_counts_as_before() -> None:
    same_day = capture("2018-11-28")
    selection = select_memento([capture("2018-01-01"), same_day], CITED)
    assert selection.memento == same_day
    assert selection.reason == "capture from the date itself (2018-11-28)"


def test_no_mementos_means_no_archive_holds_a_copy() -> None:
    selection = select_memento([], CITED)
    assert (selection.memento, selection.reason, selection.rejected) == (
        None,
        "no archive holds a copy",
        (),
    )


def test_all_captures_errors() -> None:
    errors = [capture("2018-01-01", 404), capture("2018-05-01", 500), capture("2019-01-01", 410)]
    selection = select_memento(errors, CITED)
    assert selection.memento is None
    assert selection.reason == "all 3 captures were errors"
    assert [r.reason for r in selection.rejected] == [
        "captured status 404",
        "captured status 500",
        "captured status 410",
    ]


def test_all_captures_errors_or_redirects_and_the_only_capture() -> None:
    mixed = select_memento([capture("2018-01-01", 404), capture("2018-02-01", 301)], CITED)
    assert mixed.reason == "all 2 captures were errors or redirects"
    only = select_memento([capture("2018-02-01", 301)], CITED)
    assert only.reason == "the only capture was a redirect (captured redirect 301)"


def test_revisit_with_unknown_status_is_a_last_resort() -> None:
    revisit = capture("2018-09-01", None, mimetype="warc/revisit")
    good_after = capture("2019-03-01")
    assert select_memento([revisit, good_after], CITED).memento == good_after

    selection = select_memento([revisit, capture("2018-10-01", 404)], CITED)
    assert selection.memento == revisit
    assert selection.reason == (
        "latest capture before 2018-11-28 (2018-09-01); its status was not recorded "
        "(a revisit of an earlier capture), used because no capture with a known good "
        "status exists"
    )


def test_when_none_takes_the_newest_good_capture() -> None:
    newest_good = capture("2020-05-01")
    selection = select_memento(
        [capture("2019-01-01"), newest_good, capture("2021-01-01", 404)], None
    )
    assert selection.memento == newest_good
    assert selection.reason == "newest capture (2020-05-01)"


def test_across_archives_the_best_wins_and_ties_go_to_the_first_listed() -> None:
    ia_older = capture("2018-08-01", archive=IA)
    local_closer = capture("2018-11-01", archive=LOCAL)
    assert select_memento([ia_older, local_closer], CITED).memento == local_closer

    ia_same = capture("2018-11-01", archive=IA)
    assert select_memento([ia_same, local_closer], CITED).memento == ia_same
    assert select_memento([local_closer, ia_same], CITED).memento == local_closer


def test_naive_when_is_taken_as_utc() -> None:
    chosen = capture("2018-10-02")
    assert select_memento([chosen], datetime(2018, 11, 28)).memento == chosen


# -- rank_mementos: the order choose_memento reads captures in ------------------------------


def test_rank_reads_back_from_the_date_then_forward_and_rejects_errors_unread() -> None:
    old, recent, same_day = capture("2018-03-01"), capture("2018-10-02"), capture("2018-11-28")
    after, later = capture("2018-12-01"), capture("2019-05-01")
    moved, revisit = (
        capture("2018-11-20", 302),
        capture("2018-11-25", None, mimetype="warc/revisit"),
    )
    missing, broken = capture("2018-11-27", 404), capture("2018-12-02", 503)
    ranked, rejected = rank_mementos(
        [later, old, missing, recent, moved, after, broken, same_day, revisit], CITED
    )
    # A captured redirect may lead to the page, and a revisit's replay shows its status:
    # both are read in date order like any capture.
    assert ranked == [same_day, revisit, moved, recent, old, after, later]
    assert rejected == [
        Rejection(missing, "captured status 404"),
        Rejection(broken, "captured status 503"),
    ]


def test_rank_without_a_date_is_newest_first_and_ties_keep_archive_order() -> None:
    ia_copy, local_copy = capture("2020-01-01", archive=IA), capture("2020-01-01", archive=LOCAL)
    older = capture("2019-01-01")
    assert rank_mementos([older, ia_copy, local_copy], None) == ([ia_copy, local_copy, older], [])
    assert rank_mementos([local_copy, ia_copy], None)[0] == [local_copy, ia_copy]


# -- quoted passages --------------------------------------------------------------------------


def test_normalising_ignores_case_spacing_and_typography() -> None:
    assert normalise_passage(
        "  It\u2019s \u201cA  Network\u201d\n of\u00a0flood\u2013sensors "
    ) == ("it's a network of flood-sensors")


# The verdicts of the quotes stage (archiver.quotes.match) on the reader's text: a changed
# word, number or negation is "altered" and never holds the quote; the fuzzy matcher this
# replaced called "anther" for "another" a find (96.9%).
@pytest.mark.parametrize(
    ("quote", "text", "expected"),
    [
        (
            "tracking by another name",
            "This is tracking by another name.",
            PassageMatch("verbatim", 100.0),
        ),
        (
            '"Tracking by another name."',
            "call this tracking by another name",
            PassageMatch("equivalent", 100.0, ("case",)),
        ),
        (
            "an address seen [...] is a person",
            "an address seen on monday is a person",
            PassageMatch("verbatim", 100.0),
        ),
        (
            "is a person ... an address seen",
            "an address seen on monday is a person",
            PassageMatch("altered", 100.0),
        ),
        (
            "tracking by anther name entirely",
            "this is tracking by another name entirely.",
            PassageMatch("altered", 80.0, ("anther → another",)),
        ),
        (
            "The price rose 12% in 1998.",
            "The price rose 12% in 1999.",
            PassageMatch("altered", 83.3, ("1998 → 1999",)),
        ),
        (
            "it was not approved",
            "It was approved",
            PassageMatch("altered", 85.7, ("not → (nothing)",)),
        ),
        ("tracking", "track in g", PassageMatch("not-found", 0.0)),
        ("short misquote", "short misquotes", PassageMatch("not-found", 50.0)),
        ("short misquote", "short misquotes, a short misquote.", PassageMatch("verbatim", 100.0)),
        (
            "nothing like the source at all here",
            "tracking by another name",
            PassageMatch("not-found", 0.0),
        ),
        ("tracking", None, PassageMatch("unreadable", 0.0)),
    ],
    ids=[
        "plain",
        "quote-marks-and-case",
        "elision",
        "elision-out-of-order",
        "typo",
        "year",
        "negation",
        "absent",
        "cut-word",
        "whole-words",
        "unrelated",
        "no-text",
    ],
)
def test_find_passage(quote: str, text: str | None, expected: PassageMatch) -> None:
    parts = quote_parts(quote)
    assert parts is not None
    found = find_passage(parts, text)
    assert found == expected
    assert found.holds_quote is (expected.found in ("verbatim", "equivalent"))


@pytest.mark.parametrize(
    ("match", "wording"),
    [
        (PassageMatch("verbatim", 100.0), "contains the quoted passage (verbatim)"),
        (
            PassageMatch("equivalent", 100.0, ("case", "punctuation")),
            "contains the quoted passage (equivalent, differs in case, punctuation)",
        ),
        (
            PassageMatch("altered", 83.3, ("1998 → 1999",)),
            "holds an altered version of the quoted passage (1998 → 1999)",
        ),
        (
            PassageMatch("altered", 70.0, ("a → b", "c → d", "e → f", "g → h", "i → j")),
            "holds an altered version of the quoted passage "
            "(a → b; c → d; e → f; 2 more change(s))",
        ),
        (
            PassageMatch("altered", 100.0),
            "holds an altered version of the quoted passage (score 100)",
        ),
        (PassageMatch("not-found", 12.0), "does not contain the quoted passage (not-found)"),
        (
            PassageMatch("unreadable", 0.0),
            "has no text to search for the quoted passage (not-checked)",
        ),
    ],
)
def test_the_wording_names_the_quotes_verdict(match: PassageMatch, wording: str) -> None:
    assert holds_quote_wording(match) == wording


def test_a_quote_without_words_is_no_quote() -> None:
    assert quote_parts("") is None
    assert quote_parts(" ... ") is None
    assert quote_parts(None) is None
