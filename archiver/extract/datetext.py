"""Dates as authors write them: "Retrieved 2018-01-05", "accessed 5 January 2018".

A citation's date decides which archived copy is the one the author saw, so the
extractor reads the access date written next to a link and, failing that, the date the
article was published. Only unambiguous forms are read: ISO (2018-01-05), day month
year (5 January 2018, 5 Jan. 2018) and month day year (January 5, 2018, Jan 5 2018).
All-numeric dates such as 05/01/2018 mean different days in different countries, so they
are not guessed at. No two parts of a pattern may match the same spaces: "spaces, an
optional colon, spaces" would try every split of a long run of them, in quadratic time.

Dates are returned as ISO ``YYYY-MM-DD`` strings. A timestamp with a zone
(2018-11-28T23:30:00-05:00) keeps its written calendar date: that is the day the author
lived, and shifting it to UTC would move it to the next day.
"""

from __future__ import annotations

import functools
import re
from datetime import date

from archiver.caseless import caseless

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH = (
    r"(?P<{}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
    r"|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATE = (
    r"(?:(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})(?!\d)"
    r"|(?P<dd>\d{1,2})" + _ORDINAL + r"\s+(?:of\s+)?" + _MONTH.format("dm") + r",?\s+(?P<dy>\d{4})"
    r"|" + _MONTH.format("mm") + r"\s+(?P<md>\d{1,2})" + _ORDINAL + r",?\s+(?P<my>\d{4}))(?!\d)"
)
DATE = re.compile(_DATE, re.IGNORECASE)

# "Retrieved 2018-01-05", "accessed on 5 January 2018", "(accessed Jan 5, 2018)".
_ACCESS = re.compile(
    r"\b(?:retrieved|accessed|access[- ]date|last\s+(?:accessed|visited|checked)|"
    r"visited|consulted|viewed)(?:\s+on)?\s*(?:[:,]\s*)?" + _DATE,
    re.IGNORECASE,
)

# "Published Nov 28, 2018 15:05 PM", "Published: 2018-11-28", "Posted on 3 May 2019".
_PUBLISHED_LINE = re.compile(
    r"^\s*(?:first\s+)?(?:published|posted|date(?:d)?|publication\s+date)\b"
    r"(?:\s+on)?\s*(?:[:\-–—]\s*)?(?:on\s+)?" + _DATE,
    re.IGNORECASE,
)


def parse_date(text: str) -> str | None:
    """The first date written in ``text`` in a form listed above, as ISO, or None.

    Short texts are remembered (the last few thousand): an article's citations give the
    same few access dates over and over."""
    if len(text) > _REMEMBERED_LENGTH:
        return _parse_date(text)
    return _remembered_date(text)


def _parse_date(text: str) -> str | None:
    match = DATE.search(text)
    return _iso_from_match(match) if match else None


_REMEMBERED_LENGTH = 100
_remembered_date = functools.lru_cache(maxsize=4096)(_parse_date)


def access_date(text: str) -> str | None:
    """The first "retrieved/accessed <date>" in ``text``, as ISO, or None."""
    match = _ACCESS.search(text)
    return _iso_from_match(match) if match else None


def may_state_access(text: str) -> bool:
    """False when ``access_date`` finds nothing in any part of ``text``: one look at a
    paragraph for the words without which it cannot ("last checked" needs "checked"),
    instead of a search after each of its links (``archiver.caseless``)."""
    folded = caseless(text)
    return (
        "retrieved" in folded
        or "access" in folded
        or "visited" in folded
        or "checked" in folded
        or "consulted" in folded
        or "viewed" in folded
    )


def published_date_from_lines(lines: list[str]) -> str | None:
    """The date of a "Published ..." style line among ``lines`` (an article's first lines)."""
    for line in lines:
        match = _PUBLISHED_LINE.match(line)
        if match:
            found = _iso_from_match(match)
            if found:
                return found
    return None


def _iso_from_match(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    try:
        if groups["iy"]:
            day = date(int(groups["iy"]), int(groups["im"]), int(groups["id"]))
        elif groups["dy"]:
            day = date(int(groups["dy"]), _MONTHS[groups["dm"][:3].lower()], int(groups["dd"]))
        else:
            day = date(int(groups["my"]), _MONTHS[groups["mm"][:3].lower()], int(groups["md"]))
    except ValueError:  # 31 February and the like
        return None
    return day.isoformat()
