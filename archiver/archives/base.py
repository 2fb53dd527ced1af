"""What every archive is to the stages above it: the ``Archive`` protocol.

Three kinds implement it: Wayback servers (``archiver.archives.wayback``), Memento archives
(``archiver.archives.memento``) and local WARC/WACZ collections (``archiver.archives.local``).
``find_mementos``, ``select`` and ``recover`` hold archives only through this protocol and
never ask which kind they have; a ``Memento`` names its archive by ``spec``, and a stage
that needs the archive back looks it up in the archives it was given (``by_spec``).

An archive can do three things:

- ``find``: the captures of a URL nearest a date (a CDX query, a TimeMap, the index);
- ``closest``: the one capture nearest a date, as cheaply as the kind allows (a Wayback
  replay request, which spares the CDX budget; a TimeGate; the index);
- ``read``: one capture's bytes and headers, as an ``ArchivedResponse``. The archive's own
  redirects (to the exact capture it means) are followed; a captured redirect is not: it
  comes back as the redirect it is, with its target (``CapturedRedirect``), for the caller
  to judge and follow.

Every HTTP request an archive makes goes through ``archiver.net.polite`` with the ``Net``
it is handed, so the pace and the ``Retry-After`` rules apply to every read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from archiver.archives.linkformat import http_date_or_none, iter_links
from archiver.dates import to_iso
from archiver.errors import InputError
from archiver.models import Memento
from archiver.net.bodies import decode_body
from archiver.net.http import Fetched, header_value

if TYPE_CHECKING:
    from archiver.net.polite import Net

__all__ = [
    "Archive",
    "ArchivedResponse",
    "CapturedRedirect",
    "by_spec",
    "split_spec_options",
    "stated_original",
]


class Archive(Protocol):
    """An archive, whatever its kind (see the module docstring)."""

    @property
    def spec(self) -> str:
        """The ``--archive`` value it was made from; ``Memento.archive`` names it so."""

    @property
    def listing_kind(self) -> str:
        """How a listing of its captures is kept in the lookup cache: ``"cdx"`` or ``"list"``
        (the cache key is ``<kind>:<limit>``, as it always was)."""

    @property
    def closest_first(self) -> bool:
        """Whether ``closest`` spends a cheaper budget than ``find`` (a Wayback replay request
        against a CDX query), so that asking it first may spare the listing."""

    @property
    def verdicts_last(self) -> bool:
        """Whether a verdict on a capture's content may be kept for good (False for local
        files, which change)."""

    def find(self, url: str, when: datetime | None, limit: int, net: Net) -> list[Memento]:
        """The (up to ``limit``) captures of ``url`` nearest ``when`` (None: now), oldest
        first. Raises ``NetworkError`` (or ``InputError`` for a local collection) when the
        archive cannot be asked; no captures is ``[]``."""

    def closest(self, url: str, when: datetime | None, net: Net) -> Memento | None:
        """The capture of ``url`` nearest ``when`` (None: now), or None when there is none."""

    def read(self, memento: Memento, net: Net, *, max_bytes: int | None = None) -> ArchivedResponse:
        """The capture ``memento`` names, its body cut at ``max_bytes`` (None: the settings'
        cap). Raises ``NetworkError`` when the archive cannot be reached or asks for a pause
        (``InputError`` for a record a local collection cannot read); an answer that is not
        a capture (a 404 from the archive) is returned, not raised."""


def by_spec(archives: Iterable[Archive] | Mapping[str, Archive]) -> dict[str, Archive]:
    """The archives by their ``spec``: how a stage finds the archive a memento came from."""
    if isinstance(archives, Mapping):
        return dict(archives)
    return {archive.spec: archive for archive in archives}


@dataclass(frozen=True)
class CapturedRedirect:
    """Where a captured redirect points.

    ``url`` is the target, absolute; ``timestamp`` the 14 digits of the target's capture
    when the archive named one. ``capture`` is the capture this archive serves for the
    target, to be read next (None: the archive holds none, or cannot address one).
    """

    url: str
    timestamp: str | None
    capture: Memento | None


@dataclass(frozen=True)
class ArchivedResponse:
    """One capture as an archive served it: what ``select`` judges and ``store`` keeps.

    - ``memento``: the capture this answer stands for, with the status its replay showed
      (the memento asked for, or the one the archive's own redirects led to);
    - ``requested``: what was asked first (``memento.raw_url``); ``url``: where the bytes
      came from (the archive URL fetched after the archive's own redirects, or the record's
      locator in a local collection); ``history``: the archive's own redirects followed,
      as (URL, status);
    - ``status``, ``reason``, ``http_version``, ``headers``: the answer as served (an HTTP
      archive's own framing, such as ``Memento-Datetime``, included); ``payload``: the body
      as the original server sent it (content-encoding intact); ``truncated``: cut at the
      size cap;
    - ``captured``: the answer is a capture (``Memento-Datetime``, or a WARC record), not
      the archive's own answer (a 404 "not archived", a 5xx);
    - ``datetime`` and ``original``: as the archive stated them (``Memento-Datetime`` and
      ``Link: rel="original"``; the WARC record's date and target URI), None when it did
      not; ``digest``: the archive's sha1 of the payload (base32) when known;
    - ``redirect``: for a captured 3xx with a usable ``Location``, its target;
    - ``previous`` and ``first``: the capture just before this one and whether this one is
      the archive's first, when the archive says so (the Internet Archive's ``Link``
      header does: ``prev memento``, ``first memento``);
    - ``request_headers``: the request sent (none for a local collection).
    """

    memento: Memento
    requested: str
    url: str
    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    payload: bytes
    truncated: bool
    captured: bool
    datetime: str | None = None
    original: str | None = None
    digest: str | None = None
    redirect: CapturedRedirect | None = None
    previous: Memento | None = None
    first: bool = False
    history: tuple[tuple[str, int], ...] = ()
    request_headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_http(
        cls,
        answer: Fetched,
        memento: Memento,
        served: Memento,
        *,
        history: tuple[tuple[str, int], ...] = (),
        redirect: CapturedRedirect | None = None,
        previous: Memento | None = None,
        first: bool = False,
    ) -> ArchivedResponse:
        """An HTTP archive's ``answer`` to a read of ``memento``, which served ``served``:
        ``Memento-Datetime`` and ``Link: rel="original"`` say what the archive stated, and
        the digest is the one it listed for ``memento``."""
        stated = http_date_or_none(answer.header("Memento-Datetime"))
        return cls(
            memento=served,
            requested=memento.raw_url,
            url=answer.final_url,
            status=answer.status,
            reason=answer.reason,
            http_version=answer.http_version,
            headers=tuple(answer.headers),
            payload=answer.raw_body,
            truncated=answer.truncated,
            captured=answer.header("Memento-Datetime") is not None,
            datetime=to_iso(stated) if stated is not None else None,
            original=stated_original(answer),
            # The listed digest is the asked capture's; an archive may serve another.
            digest=memento.digest if served.raw_url == memento.raw_url else None,
            redirect=redirect,
            previous=previous,
            first=first,
            history=history,
            request_headers=tuple(answer.request_headers),
        )

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    @property
    def content_type(self) -> str:
        """The media type, lower-cased, without parameters ("" when none was sent)."""
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def body(self) -> bytes:
        """The payload decoded (``Content-Encoding`` undone)."""
        return decode_body(self.payload, self.header("Content-Encoding"))

    def text(self) -> str:
        return self.as_fetched().text()

    def as_fetched(self) -> Fetched:
        """This answer as a ``Fetched``, the form ``storage.store`` writes to WARC."""
        return Fetched(
            url=self.requested,
            final_url=self.url,
            status=self.status,
            reason=self.reason,
            http_version=self.http_version,
            headers=list(self.headers),
            raw_body=self.payload,
            truncated=self.truncated,
            request_headers=list(self.request_headers),
            history=self.history,
        )


def stated_original(answer: Fetched) -> str | None:
    """The original URL an archive names in its ``Link`` header(s), if it does."""
    for name, value in answer.headers:
        if name.lower() == "link":
            for link in iter_links(value):
                if "original" in link.rels:
                    return link.target
    return None


def split_spec_options(spec: str, text: str, option: re.Pattern[str]) -> tuple[str, dict[str, str]]:
    """``text`` cut at its first ``,name=`` (``option`` matches the names an archive kind
    takes), and the options after it; an option given twice is an ``InputError``."""
    first = option.search(text)
    if not first:
        return text, {}
    options: dict[str, str] = {}
    parts = option.split(text[first.start() :])
    # split gives ["", key1, value1, key2, value2, ...]
    for key, value in zip(parts[1::2], parts[2::2], strict=True):
        if key in options:
            raise InputError(f"archive {spec!r}: {key}= given twice")
        options[key] = value
    return text[: first.start()], options
