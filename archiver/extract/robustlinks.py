"""Robust Links: a link that names its archived snapshot and the day it was made.

The Robust Links convention (robustlinks.mementoweb.org) puts three attributes on an
``<a>``: ``data-originalurl`` (the resource cited), ``data-versionurl`` (a snapshot of
it, in a web archive or a versioning system) and ``data-versiondate`` (when the link
was made and the snapshot taken: a day or a full ISO 8601 datetime). ``href`` is most
often the original and sometimes the snapshot. A later draft lets ``data-versionurl``
hold several snapshots, each followed by its own date; the first is read.

A citation made of one reports the original as its ``url``, the snapshot as its archive
link, dated by the snapshot URL's own timestamp when it has one (``citations`` sees to
that, as for any archive link), else by the snapshot's date or ``data-versiondate``.
``data-versiondate`` is also the day the author linked the source, which is what an
access date says, so it dates the citation the way a wikitext ``access-date=`` does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from archiver.archives.urls import archive_name
from archiver.dates import parse_iso, to_iso
from archiver.extract.blocks import Link
from archiver.extract.datetext import parse_date

ATTRIBUTES = ("data-originalurl", "data-versionurl", "data-versiondate")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_ATTRIBUTE = re.compile(
    r"\s(data-originalurl|data-versionurl|data-versiondate)\s*=\s*"
    r"(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RobustLink:
    url: str
    archive_url: str | None
    archived_at: str | None  # ISO datetime of the snapshot, as far as the markup says
    linked_on: str | None  # ISO date the link was made

    def link(self, text: str, start: int, end: int, line: int) -> Link:
        """The ``Link`` a format parser hands on for it."""
        return Link(
            self.url,
            text,
            start,
            end,
            line,
            accessed=self.linked_on,
            archive_url=self.archive_url,
            archived_at=self.archived_at,
        )


def read_robust_link(
    href: str | None,
    original: str | None,
    version: str | None,
    date: str | None,
    resolve: Callable[[str], str | None],
) -> RobustLink | None:
    """The citation an ``<a>`` with these attribute values makes, or None without a URL.

    ``resolve`` makes a written URL absolute (None for what is not a citation).
    """
    href_url = resolve(href) if href else None
    original_url = resolve(original) if original else None
    snapshot, snapshot_date = _first_snapshot(version or "", resolve)
    url = original_url or href_url or snapshot
    if url is None:
        return None
    archive_url = snapshot
    if archive_url is None and href_url is not None:
        if original_url is not None and href_url != original_url:
            archive_url = href_url  # href is the snapshot of data-originalurl
        elif original_url is None and archive_name(href_url) is not None:
            archive_url = href_url  # href is a snapshot that data-versiondate dates
    linked_on = parse_date(date) if date else None
    archived_at = None
    if archive_url is not None:
        archived_at = _moment(snapshot_date) or _moment(date)
    return RobustLink(url, archive_url, archived_at, linked_on)


def robust_link_in_tag(
    tag: str, href: str, resolve: Callable[[str], str | None]
) -> RobustLink | None:
    """What the Robust Link attributes of a raw ``<a ...>`` tag's text say, if any."""
    if "data-" not in tag:
        return None
    found: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(tag):
        value = next(group for group in match.groups()[1:] if group is not None)
        found.setdefault(match.group(1).lower(), html.unescape(value))
    if not found:
        return None
    original, version, date = (found.get(name) for name in ATTRIBUTES)
    return read_robust_link(href, original, version, date, resolve)


def _first_snapshot(
    value: str, resolve: Callable[[str], str | None]
) -> tuple[str | None, str | None]:
    words = value.split()
    for index, word in enumerate(words):
        url = resolve(word)
        if url:
            following = words[index + 1] if index + 1 < len(words) else None
            return url, following if following and parse_date(following) else None
    return None, None


def _moment(written: str | None) -> str | None:
    """A written date or datetime as an ISO datetime in UTC (a day starts at midnight)."""
    if not written:
        return None
    value = written.strip()
    if _ISO_DATETIME.match(value):
        try:
            return to_iso(parse_iso(value))
        except ValueError:
            pass
    day = parse_date(value)
    return f"{day}T00:00:00Z" if day else None
