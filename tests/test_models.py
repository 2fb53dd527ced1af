"""The plain data records: what a stage hands on must behave as the dataclass it says it is."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from archiver.models import Citation


def test_citation_init_takes_exactly_its_fields_with_their_defaults() -> None:
    # Citation writes its own __init__ (for speed): it must stay the one dataclass would make.
    parameters = list(inspect.signature(Citation).parameters.values())
    fields = dataclasses.fields(Citation)
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
