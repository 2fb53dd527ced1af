"""The plain data records: what a stage hands on must behave as the dataclass it says it is."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from archiver.models import Citation, History, LinkCheck, Verdict


@pytest.mark.parametrize("record", [Citation, LinkCheck])
def test_init_takes_exactly_the_fields_with_their_defaults(record: type) -> None:
    # These write their own __init__ (for speed): it must stay the one dataclass would make.
    parameters = list(inspect.signature(record).parameters.values())
    fields = dataclasses.fields(record)
    assert [p.name for p in parameters] == [f.name for f in fields]
    assert [p.default for p in parameters] == [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in fields
    ]


def test_citation_is_a_frozen_value() -> None:
    citation = Citation("http://a.example/", "a", "See a.", 3, quote="q")
    assert citation == Citation(
        url="http://a.example/", text="a", context="See a.", line=3, quote="q"
    )
    assert hash(citation) == hash(Citation("http://a.example/", "a", "See a.", 3, quote="q"))
    assert citation != dataclasses.replace(citation, quote=None)
    assert dataclasses.replace(citation, marker="[dead link]").marker == "[dead link]"
    with pytest.raises(dataclasses.FrozenInstanceError):
        citation.url = "http://b.example/"  # type: ignore[misc]
    assert citation.to_dict() == {
        "url": "http://a.example/",
        "text": "a",
        "context": "See a.",
        "line": 3,
        "quote": "q",
        "cited_at": None,
        "marker": None,
        "archive_url": None,
        "archived_at": None,
        "recovered_from": None,
        "recovered_at": None,
    }


def test_link_check_is_a_frozen_value() -> None:
    check = LinkCheck("http://a.example/", Verdict.DEAD, 404, None, "HTTP 404", "2024-01-01")
    assert (check.method, check.from_cache, check.confirmed, check.history) == (
        None,
        False,
        False,
        None,
    )
    history = History(checks=3, failures=3, first_failure="2024-01-01", last_failure="2024-01-05")
    confirmed = dataclasses.replace(check, confirmed=True, history=history)
    assert confirmed != check and confirmed.history == history
    assert hash(check) == hash(
        LinkCheck("http://a.example/", Verdict.DEAD, 404, None, "HTTP 404", "2024-01-01")
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        check.verdict = Verdict.ALIVE  # type: ignore[misc]
    assert confirmed.to_dict()["history"] == {
        "checks": 3,
        "failures": 3,
        "first_failure": "2024-01-01",
        "last_failure": "2024-01-05",
    }
    assert confirmed.to_dict()["verdict"] == "dead"


@pytest.mark.parametrize(
    "check",
    [
        LinkCheck("http://a.example/", Verdict.DEAD, 404, None, "HTTP 404", "2024-01-01T00:00:00Z"),
        LinkCheck(
            "http://a.example/",
            Verdict.SOFT_404,
            200,
            "http://a.example/gone",
            "soft-404",
            "2024-01-01T00:00:00Z",
            "GET",
            from_cache=True,
            confirmed=True,
            history=History(3, 3, "2023-12-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        ),
        LinkCheck(
            "u", Verdict.ALIVE, 200, "u", "HTTP 200", "t", "HEAD", history=History(1, 0, None, None)
        ),
    ],
)
def test_a_check_comes_back_from_a_pickle_whole(check: LinkCheck) -> None:
    # The worker processes send their checks pickled, as a tuple of the fields that are set.
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        again = pickle.loads(pickle.dumps(check, protocol))
        assert again == check
        assert again.__dict__ == check.__dict__
        assert [type(getattr(again, f.name)) for f in dataclasses.fields(LinkCheck)] == [
            type(getattr(check, f.name)) for f in dataclasses.fields(LinkCheck)
        ]
