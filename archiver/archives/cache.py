"""What archives told us, kept in the state file so that a rerun does not ask again.

The Internet Archive's CDX API allows about 0.4 requests a second and firewalls clients
that push through 429s, so every answer is worth keeping. Two kinds are kept:

- **lookups**: the captures an archive listed for (archive, URL, moment, kind), where
  the kind is ``replay`` (the one capture closest to the moment, ``Archive.closest``) or
  ``<listing_kind>:<limit>`` (``cdx:25`` for a Wayback server, ``list:25`` for the
  others: ``Archive.find``); ``closest`` and ``listed`` ask through the cache. The
  captures at or before a moment in the past do not change (an archive only adds captures
  at the time it makes them), so a lookup that found something around a moment more than
  ``SETTLED_AFTER`` ago is kept for good. One that found nothing, or that was made around
  a recent moment or "now", expires after ``retry_after`` seconds (a day by default):
  new captures can appear, and archives index them with a delay of hours to days.
- **content verdicts**: what a memento's archived body showed (accepted, or rejected
  and why; the capture that stands for it after captured redirects) and whether it holds
  a quoted passage. An archived body never changes, so these never expire. Failures to
  read a capture are not verdicts and are never stored.

The tables are created by ``archiver.state``'s schema; this module owns what is in them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from archiver.dates import parse_iso, to_iso, to_wayback_timestamp, utcnow
from archiver.errors import StoreError
from archiver.models import Memento, _Serialisable
from archiver.state import State

if TYPE_CHECKING:
    from archiver.archives.base import Archive
    from archiver.net.polite import Net

log = logging.getLogger(__name__)

SETTLED_AFTER = timedelta(days=2)  # archives index new captures within hours to days
NOTHING_FOUND_TTL = 24 * 3600.0  # seconds before an empty or unsettled lookup is redone

PassageFound = Literal["exact", "fuzzy", "no", "unreadable"]
_PASSAGE_FOUND: dict[str, PassageFound] = {
    "exact": "exact",
    "fuzzy": "fuzzy",
    "no": "no",
    "unreadable": "unreadable",
}


@dataclass(frozen=True)
class ContentVerdict(_Serialisable):
    """What the archived body of one memento showed.

    ``memento`` is the capture that stands for it: itself (with the status its replay
    showed), or the capture its captured redirect led to; None when rejected. ``reason``
    says why it was rejected, or for an accepted capture how it was reached ("" when
    directly). ``previous`` and ``first`` come from the archive's ``Link`` header (the
    Internet Archive sends ``prev memento`` and ``first memento``; pywb does not): the
    capture just before this one, and whether this one is the archive's first.
    """

    accepted: bool
    reason: str
    memento: Memento | None = None
    previous: Memento | None = None
    first: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContentVerdict:
        def memento(value: Any) -> Memento | None:
            return Memento(**value) if isinstance(value, dict) else None

        return cls(
            accepted=bool(data["accepted"]),
            reason=str(data["reason"]),
            memento=memento(data.get("memento")),
            previous=memento(data.get("previous")),
            first=bool(data.get("first", False)),
        )


@dataclass(frozen=True)
class PassageMatch:
    """Whether a quoted passage is in a capture: exactly (after normalising), fuzzily, no,
    or "unreadable" when the capture has no text to search (a PDF, an image)."""

    found: PassageFound
    score: float  # rapidfuzz partial_ratio, 0-100 (100 for an exact match)


def moment_key(when: datetime | None) -> str:
    """The lookup's moment as stored: its Wayback timestamp, '' for "newest"."""
    return "" if when is None else to_wayback_timestamp(when)


class LookupCache:
    """Lookups and content verdicts in a state file; ``clock`` is injectable for tests."""

    def __init__(
        self,
        state: State,
        *,
        clock: Callable[[], datetime] = utcnow,
        retry_after: float = NOTHING_FOUND_TTL,
    ) -> None:
        self.state = state
        self.clock = clock
        self.retry_after = retry_after
        self._unwritable = False  # warned that the state file cannot be written

    @classmethod
    def in_memory(cls, *, clock: Callable[[], datetime] = utcnow) -> LookupCache:
        """A cache that lasts as long as the object: for one-off lookups without a state file."""
        return cls(State(Path(":memory:")), clock=clock)

    def _remember(self, sql: str, parameters: tuple[object, ...]) -> None:
        """Keep an answer. One that cannot be kept (a full disk, a state file locked for
        long) is only asked again by the next run: a warning, once, not the run's end."""
        try:
            self.state.execute(sql, parameters)
        except StoreError as e:
            if not self._unwritable:
                log.warning("%s (archive answers are not cached until then)", e)
            self._unwritable = True

    # -- lookups ------------------------------------------------------------------------

    def lookup(
        self, archive: str, url: str, when: datetime | None, kind: str
    ) -> list[Memento] | None:
        """The captures stored for this lookup, or None when there is no live entry."""
        rows = self.state.execute(
            "SELECT mementos, expires_at FROM archive_lookups"
            " WHERE archive = ? AND url = ? AND moment = ? AND kind = ?",
            (archive, url, moment_key(when), kind),
        )
        if not rows:
            return None
        mementos, expires_at = rows[0]
        if expires_at is not None and parse_iso(str(expires_at)) <= self.clock():
            return None
        return [Memento(**item) for item in json.loads(str(mementos))]

    def remember_lookup(
        self,
        archive: str,
        url: str,
        when: datetime | None,
        kind: str,
        mementos: Sequence[Memento],
    ) -> None:
        now = self.clock()
        settled = bool(mementos) and when is not None and when <= now - SETTLED_AFTER
        expires = None if settled else to_iso(now + timedelta(seconds=self.retry_after))
        self._remember(
            "INSERT OR REPLACE INTO archive_lookups"
            " (archive, url, moment, kind, mementos, looked_up_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                archive,
                url,
                moment_key(when),
                kind,
                json.dumps([m.to_dict() for m in mementos]),
                to_iso(now),
                expires,
            ),
        )

    def closest(
        self, archive: Archive, url: str, when: datetime | None, net: Net
    ) -> Memento | None:
        """``archive.closest``, through the cache (kind ``replay``)."""
        cached = self.lookup(archive.spec, url, when, "replay")
        if cached is not None:
            return cached[0] if cached else None
        found = archive.closest(url, when, net)
        self.remember_lookup(archive.spec, url, when, "replay", [found] if found else [])
        return found

    def listed(
        self, archive: Archive, url: str, when: datetime | None, limit: int, net: Net
    ) -> list[Memento]:
        """``archive.find``, through the cache (kind ``<listing_kind>:<limit>``)."""
        kind = f"{archive.listing_kind}:{limit}"
        cached = self.lookup(archive.spec, url, when, kind)
        if cached is not None:
            return cached
        found = archive.find(url, when, limit, net)
        self.remember_lookup(archive.spec, url, when, kind, found)
        return found

    # -- content verdicts ---------------------------------------------------------------

    def verdict(self, raw_url: str) -> ContentVerdict | None:
        rows = self.state.execute(
            "SELECT verdict FROM memento_verdicts WHERE raw_url = ?", (raw_url,)
        )
        return ContentVerdict.from_dict(json.loads(str(rows[0][0]))) if rows else None

    def remember_verdict(self, raw_url: str, verdict: ContentVerdict) -> None:
        self._remember(
            "INSERT OR REPLACE INTO memento_verdicts (raw_url, verdict, judged_at)"
            " VALUES (?, ?, ?)",
            (raw_url, json.dumps(verdict.to_dict()), to_iso(self.clock())),
        )

    def passage(self, raw_url: str, normalised_quote: str) -> PassageMatch | None:
        rows = self.state.execute(
            "SELECT found, score FROM memento_passages WHERE raw_url = ? AND passage = ?",
            (raw_url, _passage_key(normalised_quote)),
        )
        if not rows:
            return None
        found, score = rows[0]
        kind = _PASSAGE_FOUND.get(str(found))
        return PassageMatch(kind, float(str(score))) if kind is not None else None

    def remember_passage(self, raw_url: str, normalised_quote: str, match: PassageMatch) -> None:
        self._remember(
            "INSERT OR REPLACE INTO memento_passages (raw_url, passage, found, score)"
            " VALUES (?, ?, ?, ?)",
            (raw_url, _passage_key(normalised_quote), match.found, match.score),
        )


def _passage_key(normalised_quote: str) -> str:
    return hashlib.sha1(normalised_quote.encode("utf-8")).hexdigest()
