"""Link-format (RFC 6690 / RFC 8288), as TimeMaps and ``Link`` headers use it.

A TimeMap (RFC 7089 section 5) is a list of links, one per memento with its ``datetime``,
plus the original URL, the TimeGate and further TimeMap pages; the ``Link`` header of a
memento uses the same syntax. Entries may span lines, quoted values may hold commas and
semicolons, and archives send irregular forms that link-format allows: the parser here
reads them all, and skips what it cannot read rather than failing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from urllib.parse import urljoin

from archiver.dates import parse_http_date


@dataclass(frozen=True)
class Link:
    """One link: its target and parameters (names lower-cased, first occurrence kept)."""

    target: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def rels(self) -> frozenset[str]:
        """Relation types, lower-cased: ``rel="first memento"`` is {"first", "memento"}."""
        return frozenset(self.params.get("rel", "").lower().split())


_TARGET = re.compile(r"[\s,]*<([^>]*)>")
_PARAM = re.compile(
    r"\s*;\s*([^\s=;,\"<>]+)\s*(?:=\s*(\"(?:[^\"\\]|\\.)*\"|[^\s;,\"<>]*))?", re.DOTALL
)
_END_OF_LINK = re.compile(r"\s*(?:(,)|(?=<)|$)")
_NEXT_LINK = re.compile(r",\s*(?=<)")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def iter_links(text: str, *, complete: bool = True) -> Iterator[Link]:
    """The links in link-format ``text``, in order; entries it cannot read are skipped.

    Entries may span lines, and commas and semicolons inside ``<...>`` or quoted values
    are not separators. With ``complete`` False (a body cut short by a size cap) the last
    entry is dropped unless a comma shows it ended.
    """
    position, length = 0, len(text)
    while position < length:
        target = _TARGET.match(text, position)
        if target is None:
            if not text[position:].strip(" \t\r\n,"):
                break
            skip = _NEXT_LINK.search(text, position)  # not a link: resume at the next one
            if skip is None:
                break
            position = skip.end()
            continue
        position = target.end()
        params: dict[str, str] = {}
        while True:
            param = _PARAM.match(text, position)
            if param is None:
                break
            position = param.end()
            name, value = param.group(1).lower(), param.group(2) or ""
            if value.startswith('"'):
                value = value[1:-1]
                if "\\" in value:
                    value = _ESCAPE.sub(r"\1", value)
            params.setdefault(name, value)
        end = _END_OF_LINK.match(text, position)
        if end is None:  # garbage after the parameters: drop the entry, go to the next one
            skip = _NEXT_LINK.search(text, position)
            if skip is None:
                break
            position = skip.end()
            continue
        position = end.end()
        # Only a comma or the next "<" proves an entry whole; the end of a cut body does not.
        if end.group(1) or position < length or complete:
            yield Link(target.group(1).strip(), MappingProxyType(params))


@dataclass(frozen=True)
class TimeMapMemento:
    url: str
    datetime: datetime
    mimetype: str | None = None


@dataclass(frozen=True)
class TimeMapPage:
    """Another TimeMap this one points to, with the range of datetimes it says it covers."""

    url: str
    start: datetime | None = None
    end: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment <= self.end
        )


@dataclass(frozen=True)
class TimeMap:
    """What a TimeMap says: the original URL, its TimeGate, its mementos (in the order
    listed) and further pages; ``skipped`` counts memento entries without a usable
    datetime."""

    original: str | None
    timegate: str | None
    mementos: tuple[TimeMapMemento, ...]
    pages: tuple[TimeMapPage, ...] = ()
    skipped: int = 0


_PAGE_RELS = frozenset({"timemap", "next", "prev", "previous"})
_ABSOLUTE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
_RFC1123 = re.compile(
    r"\s*[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT\s*$"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def parse_timemap(text: str, base_url: str = "", *, complete: bool = True) -> TimeMap:
    """Parse an ``application/link-format`` TimeMap; relative URLs resolve against ``base_url``.

    Every link whose relation types include ``memento`` (``"first memento"``,
    ``"last memento"``, ``"first last memento"``...) is a memento; its ``datetime`` is an
    RFC 1123 date. ``complete`` is as for ``iter_links``.
    """
    original: str | None = None
    timegate: str | None = None
    mementos: list[TimeMapMemento] = []
    pages: list[TimeMapPage] = []
    skipped = 0
    for link in iter_links(text, complete=complete):
        rels = link.rels
        url = link.target
        if base_url and not _ABSOLUTE.match(url):
            url = urljoin(base_url, url)
        if "memento" in rels:
            moment = http_date_or_none(link.params.get("datetime"))
            if moment is None:
                skipped += 1
                continue
            mementos.append(TimeMapMemento(url, moment, link.params.get("type") or None))
        elif "original" in rels:
            original = original or url
        elif "timegate" in rels:
            timegate = timegate or url
        elif rels & _PAGE_RELS and "self" not in rels:
            kind = link.params.get("type", "application/link-format").lower()
            if "link-format" in kind:
                start = http_date_or_none(link.params.get("from"))
                end = http_date_or_none(link.params.get("until"))
                pages.append(TimeMapPage(url, start, end))
    return TimeMap(original, timegate, tuple(mementos), tuple(pages), skipped)


def http_date_or_none(text: str | None) -> datetime | None:
    """An HTTP date (a TimeMap ``datetime``, a ``Memento-Datetime``) in UTC, or None when
    there is none or it cannot be read."""
    if not text:
        return None
    # The RFC 1123 form every TimeMap entry uses, read directly: email.utils is slow
    # enough to dominate the parsing of a TimeMap with 100,000 entries.
    fixed = _RFC1123.match(text)
    if fixed and fixed.group(2).title() in _MONTHS:
        day, month, year, hour, minute, second = fixed.group(1, 2, 3, 4, 5, 6)
        try:
            return datetime(
                int(year),
                _MONTHS[month.title()],
                int(day),
                int(hour),
                int(minute),
                int(second),
                tzinfo=UTC,
            )
        except ValueError:
            return None
    try:
        return parse_http_date(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
