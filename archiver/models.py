"""The plain data that flows between pipeline stages.

Every stage takes and returns these frozen dataclasses, so a stage can run alone, be
cached in the state file, or be tested without the others. ``to_dict`` gives the stable
JSON form documented in the README; dates are ISO 8601 strings (UTC, ``Z`` suffix) so the
objects serialise without custom encoders.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from dataclasses import dataclass, field
from typing import Any

_PLAIN = frozenset({str, int, float, bool, type(None)})  # JSON as they are


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields_jsonable(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() rebuilds its answer on every call; a long report asks 10^5 times
    return tuple(f.name for f in dataclasses.fields(cls))


def _fields_jsonable(value: Any) -> dict[str, Any]:
    # Most fields are plain; not calling _jsonable for those halves the time a report of
    # 20,000 checks takes to become JSON.
    result = {}
    for name in _field_names(value.__class__):
        item = getattr(value, name)
        result[name] = item if type(item) in _PLAIN else _jsonable(item)
    return result


class _Serialisable:
    __slots__ = ()  # so that a subclass with slots has no __dict__ after all

    def to_dict(self) -> dict[str, Any]:
        return _fields_jsonable(self)


# What a citation's context may hold: a sentence, or this much of it around the link, so
# that a paragraph of thousands of links (or one without a full stop) costs each citation
# no more than this.
CONTEXT_LIMIT = 400
CUT = "…"  # stands where a context was cut


class ContextWindow:
    """A cut context not yet written out: ``text[start:end]`` whitespace-normalised, with
    ``CUT`` before it when ``cut_before`` and after it when ``cut_after``.

    ``text`` is the whole paragraph, shared by every window into it: a sentence of 50 MB
    with a link every 76 bytes gives 660,000 contexts of up to 400 characters, and "…"
    makes each a string of two bytes a character (570 MB held at once); a window is
    about 130 bytes, and its context is written out only when it is read
    (``Citation.context``), the same string each time.
    """

    __slots__ = ("cut_after", "cut_before", "end", "start", "text")

    def __init__(self, text: str, start: int, end: int, cut_before: bool, cut_after: bool):
        self.text = text
        self.start = start
        self.end = end
        self.cut_before = cut_before
        self.cut_after = cut_after

    def __str__(self) -> str:
        context = " ".join(self.text[self.start : self.end].split())
        if self.cut_before:
            context = f"{CUT} {context}"
        if self.cut_after:
            context = f"{context} {CUT}"
        return context


_set_field = object.__setattr__


@dataclass(frozen=True, init=False, slots=True)
class Citation(_Serialisable):
    """One cited source in an article.

    ``context`` is the sentence around the link or marker, at most ``CONTEXT_LIMIT``
    characters: a longer one is cut around the link, at word boundaries, and "…" stands
    where it was cut ("… the board said in its report [link removed] that …"). A cut
    context may be given as a ``ContextWindow`` into its paragraph: it is kept as that and
    written out each time ``context`` is read, so it always reads as a string (``to_dict``,
    equality, pickling and ``dataclasses.replace`` included).
    ``url`` is None when the link was removed and only a ``marker`` such as
    "[link no longer available]" is left. When the article linked to a web archive,
    ``url`` is the original URL and ``archive_url``/``archived_at`` keep the archive link.
    A removed link whose URL was read back from an archived copy of the article
    (``archiver.recover.removed``) has ``url`` set, its ``marker`` kept, and ``recovered_from``
    (that copy's replay URL) and ``recovered_at`` (its capture datetime) set.
    """

    url: str | None
    text: str
    context: str
    line: int
    quote: str | None = None
    cited_at: str | None = None  # ISO date (YYYY-MM-DD) the citation is taken to be from
    marker: str | None = None
    archive_url: str | None = None
    archived_at: str | None = None  # ISO datetime of the memento named by archive_url
    recovered_from: str | None = None  # replay URL of the article's capture that had the link
    recovered_at: str | None = None  # ISO datetime of that capture

    def __init__(
        self,
        url: str | None,
        text: str,
        context: str | ContextWindow,
        line: int,
        quote: str | None = None,
        cited_at: str | None = None,
        marker: str | None = None,
        archive_url: str | None = None,
        archived_at: str | None = None,
        recovered_from: str | None = None,
        recovered_at: str | None = None,
    ) -> None:
        # A 50 MB article has half a million citations: with slots each takes 128 bytes
        # instead of 528 (its own dict), and setting them one by one through a local name
        # is as fast as the dict update it replaces.
        _set_field(self, "url", url)
        _set_field(self, "text", text)
        _set_field(self, "context", context)
        _set_field(self, "line", line)
        _set_field(self, "quote", quote)
        _set_field(self, "cited_at", cited_at)
        _set_field(self, "marker", marker)
        _set_field(self, "archive_url", archive_url)
        _set_field(self, "archived_at", archived_at)
        _set_field(self, "recovered_from", recovered_from)
        _set_field(self, "recovered_at", recovered_at)


# ``context`` reads its slot through a property that writes a ContextWindow out; setting
# it (``__init__``, unpickling) goes to the slot itself.
_CONTEXT_SLOT: Any = Citation.__dict__["context"]


def _read_context(citation: Citation) -> str:
    value = _CONTEXT_SLOT.__get__(citation, Citation)
    return value if type(value) is str else str(value)


setattr(Citation, "context", property(_read_context, _CONTEXT_SLOT.__set__))  # noqa: B010


@dataclass(frozen=True)
class Recovery(_Serialisable):
    """A removed link looked for in archived copies of the article (``archiver.recover.removed``).

    ``url`` is the recovered URL, or None with ``reason`` saying why it was not found.
    ``article_memento`` and ``article_captured_at`` name the capture of the article the
    link came from (when not recovered: the capture whose sentence came closest).
    """

    url: str | None
    reason: str
    article_url: str | None = None  # the article's own URL, whose captures were read
    article_memento: str | None = None
    article_captured_at: str | None = None  # ISO datetime
    score: float | None = None  # how alike the two sentences are, 0-100
    anchor: str | None = None  # the link's text in the archived copy
    archive_url: str | None = None  # when that link itself pointed into a web archive
    archived_at: str | None = None
    captures_read: int = 0


class Verdict(enum.StrEnum):
    """What a link check concluded; the README documents each value."""

    ALIVE = "alive"
    DEAD = "dead"
    SOFT_404 = "soft-404"
    SERVER_ERROR = "server-error"
    TIMEOUT = "timeout"
    BLOCKED = "blocked"
    UNREACHABLE = "unreachable"
    OFFLINE = "offline"

    @property
    def is_failure(self) -> bool:
        """True for verdicts that say the source is gone (not merely hard to reach)."""
        return self in FAILING


# The verdicts that say the source is gone: ``verdict in FAILING`` is ``is_failure``,
# without a property's call (a long run asks it of every result, several times).
FAILING = frozenset({Verdict.DEAD, Verdict.SOFT_404})


@dataclass(frozen=True)
class History(_Serialisable):
    """The checks of one URL kept in the state file, as far as they bear on "dead"."""

    checks: int  # every recorded check of the URL
    failures: int  # dead or soft-404 answers since the last alive one
    first_failure: str | None
    last_failure: str | None


@dataclass(frozen=True, init=False)
class LinkCheck(_Serialisable):
    """The verdict on one URL, with the evidence behind it.

    ``confirmed`` is set when the failure has been seen often enough, over enough days,
    to act on (see ``archiver.check.history.confirm``); a single check never confirms anything.
    """

    url: str
    verdict: Verdict
    http_status: int | None
    final_url: str | None
    reason: str
    checked_at: str
    method: str | None = None  # the HTTP method whose answer decided the verdict
    from_cache: bool = False
    confirmed: bool = False
    history: History | None = None

    def __init__(
        self,
        url: str,
        verdict: Verdict,
        http_status: int | None,
        final_url: str | None,
        reason: str,
        checked_at: str,
        method: str | None = None,
        from_cache: bool = False,
        confirmed: bool = False,
        history: History | None = None,
    ) -> None:
        # As Citation's: a long list's every check is made, read back from the state file
        # and replaced (with its history) by the ten thousand.
        self.__dict__.update(
            url=url,
            verdict=verdict,
            http_status=http_status,
            final_url=final_url,
            reason=reason,
            checked_at=checked_at,
            method=method,
            from_cache=from_cache,
            confirmed=confirmed,
            history=history,
        )

    def judged(self, confirmed: bool, history: History) -> LinkCheck:
        """This check with its history and whether that confirms it: what
        ``dataclasses.replace`` makes, at a tenth of its cost (a long run makes one a
        result)."""
        judged = object.__new__(LinkCheck)
        judged.__dict__.update(self.__dict__, confirmed=confirmed, history=history)
        return judged

    def __reduce__(self) -> tuple[type[LinkCheck], tuple[Any, ...]]:
        # Pickled as its fields in a tuple, not as a dict of them: the worker processes
        # send every check to their parent, which unpickled 200,000 a third faster so.
        d = self.__dict__
        fields: tuple[Any, ...] = (
            d["url"], d["verdict"], d["http_status"], d["final_url"], d["reason"],
            d["checked_at"], d["method"],
        )  # fmt: skip
        if d["from_cache"] or d["confirmed"] or d["history"] is not None:
            fields += (d["from_cache"], d["confirmed"], d["history"])
        return LinkCheck, fields


@dataclass(frozen=True)
class Memento(_Serialisable):
    """One archived capture of ``original`` in some archive."""

    original: str
    datetime: str  # ISO 8601 UTC
    archive: str  # the archive's name as given to --archive ("ia", "wayback:http://...")
    url: str  # the replay URL a person would open
    raw_url: str  # the URL that returns the original bytes (Wayback "id_" form)
    http_status: int | None = None  # status the archive recorded for the capture
    mimetype: str | None = None
    digest: str | None = None  # the archive's payload digest (sha1, base32) when it gives one


@dataclass(frozen=True)
class Rejection(_Serialisable):
    memento: Memento
    reason: str


@dataclass(frozen=True)
class Selection(_Serialisable):
    """The memento chosen for a citation, or None with the reason none was.

    ``quote_verdict``: when the citation quotes a passage and a memento was chosen, the
    quote's verdict in it, as ``archiver.quotes`` says it (``verbatim``, ``equivalent``,
    ``altered``, ``not-found``, ``not-checked`` for a capture with no text); else None.
    """

    memento: Memento | None
    reason: str
    rejected: tuple[Rejection, ...] = field(default_factory=tuple)
    quote_verdict: str | None = None
