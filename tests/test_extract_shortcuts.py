"""The shortcuts extraction takes for speed (issue 12's fourth round) give what the long
way gives.

Each shortcut skips work when a cheap look says it would find nothing, or answers the
common case without the general machinery: a casefolded look before a case-insensitive
search (``archiver.caseless``), the "]" closing a plain Markdown label found without
pairing every bracket of the paragraph, sentence ends judged from one match. These tests
hold each against the long way, on the inputs where the two could part.
"""

from __future__ import annotations

import random
import re
import sys

import pytest

from archiver.archives.urls import _MAYBE_ARCHIVE, _maybe_archive, archive_name
from archiver.caseless import caseless
from archiver.extract import extract_citations
from archiver.extract.datetext import access_date, may_state_access
from archiver.extract.markdownspans import Brackets, _matching_brackets
from archiver.extract.sentences import sentence_spans


def test_caseless_turns_what_a_caseless_pattern_reads_as_a_letter_into_that_letter() -> None:
    letter = re.compile("[a-z]", re.IGNORECASE)
    read_as_letters = [chr(c) for c in range(sys.maxunicode + 1) if letter.fullmatch(chr(c))]
    assert len(read_as_letters) == 56  # A-Z, a-z, "İ", "ı", "ſ" and the Kelvin sign
    for char in read_as_letters:
        folded = caseless(char)
        assert len(folded) == 1 and re.fullmatch(folded, char, re.IGNORECASE), char


@pytest.mark.parametrize(
    "url",
    [
        "https://h12.example/p/123456",
        "https://web.archive.org/web/20180105000000/http://o.example/a",
        "http://ARCHİVE.today/AbCd1",
        "http://archıve.ph/AbCd1",
        "http://ar\u0307chive.example/",
        "http://arch\u0307ive.example/",
        "https://PERMA.cc/ABCD-1234",
        "https://WebCitation.org/5abc",
        "http://arquivo.pt/wayback/20180105000000/http://o.example/",
        "https://x.example/20180105000000/https://o.example/",
        "https://x.example/2018010500000/https://o.example/",
    ],
)
def test_archive_links_are_told_apart_as_the_pattern_tells_them(url: str) -> None:
    assert _maybe_archive(url) == (_MAYBE_ARCHIVE.search(url) is not None)


def test_an_archive_host_in_capitals_or_a_dotted_i_is_still_an_archive() -> None:
    assert archive_name("http://ARCHİVE.today/AbCd1") == "archive.today"
    assert archive_name("http://archıve.is/AbCd1") == "archive.today"
    assert archive_name("https://h12.example/p/123456") is None


@pytest.mark.parametrize(
    "after",
    [
        " (RETRIEVED 5 May 2018)",
        " (Retrİeved 5 May 2018)",
        " (retrıeved 5 May 2018)",
        " (acceſſed 2018-05-05)",
        " last  Checked: 5 May 2018",
        " (viewed on May 5, 2018)",
    ],
)
def test_access_dates_in_any_case_are_read(after: str) -> None:
    assert access_date(after) == "2018-05-05"
    assert may_state_access(f"See https://a.example/{after}.")
    (citation,) = extract_citations(f"See https://a.example/{after}.", "text")
    assert citation.cited_at == "2018-05-05"


def test_a_paragraph_without_an_access_word_is_not_searched_but_loses_nothing() -> None:
    assert not may_state_access("See https://a.example/ (5 May 2018), a report.")
    (citation,) = extract_citations("See https://a.example/ (5 May 2018), a report.", "text")
    assert citation.cited_at is None


def test_brackets_close_where_pairing_every_bracket_says() -> None:
    rng = random.Random(12)
    for _ in range(3000):
        source = "".join(rng.choice("[[]]\\ab ") for _ in range(rng.randint(1, 30)))
        pairs = _matching_brackets(source)
        brackets = Brackets(source)
        for index, char in enumerate(source):
            escaped = (len(source[:index]) - len(source[:index].rstrip("\\"))) % 2 == 1
            if char == "[" and not escaped:
                assert brackets.get(index) == pairs.get(index), (source, index)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Il a dit oui. été venu. Fin.", ["Il a dit oui. été venu.", "Fin."]),
        ("It ended. Éric left.", ["It ended.", "Éric left."]),
        ("See (Dr. Who) now. Then.", ["See (Dr. Who) now.", "Then."]),
        ("x" * 45 + ". Next one.", ["x" * 45 + ".", "Next one."]),
        ("Ends here.   \n", ["Ends here."]),
        ("A. . B", ["A. .", "B"]),
        (
            'He said "one. Two." and "three. Four." Then. "Five. Six." End.',
            ['He said "one. Two." and "three. Four."', "Then.", '"Five. Six."', "End."],
        ),
    ],
)
def test_sentence_ends(text: str, sentences: list[str]) -> None:
    assert [text[start:end] for start, end in sentence_spans(text)] == sentences
