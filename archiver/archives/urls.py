"""Recognise links that point into a web archive and recover what they archive.

Articles often cite an archived copy rather than the source itself, and editors who
repair dead links write such archive links back. To check, re-find or re-store a source
we need the original URL and the moment it was captured, so every stage that meets a
URL asks ``parse_archive_url`` first.

Replay URLs of Wayback-style archives carry both: ``/<timestamp>[flags_]/<original>``.
Some archive links carry neither: archive.today short ids (``archive.ph/AbCd1``) and
Perma.cc ids (``perma.cc/ABCD-1234``) name a capture only the archive can resolve.
For those ``parse_archive_url`` returns None, because there is no original to give,
and ``archive_name`` still says which archive the link belongs to, so a caller can
tell "an archive link we cannot unpack" from "not an archive link at all".

Archive names: "ia" (Internet Archive), "archive.today", "arquivo.pt", "loc" (Library
of Congress), "ukwa" (UK Web Archive), "perma.cc", "archive-it", "webcite", and
"wayback" for any other host whose path has the generic ``/<14 digits>/<http...>``
form (a local pywb, a national library's OpenWayback).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from archiver.caseless import caseless
from archiver.dates import parse_wayback_timestamp, to_iso


@dataclass(frozen=True)
class ArchiveLink:
    """What an archive link says about the capture it names.

    ``archived_at`` is None when the link does not fix a moment (``/web/*/url``,
    ``archive.ph/newest/url``, a Perma.cc id).
    """

    original: str
    archived_at: str | None  # ISO 8601, "YYYY-MM-DDTHH:MM:SSZ"
    archive: str


# Timestamp, optional replay flags (id_, if_, im_, ...), then the original URL.
_TS_FLAGS_REST = r"(?P<ts>\d{1,14})(?P<star>\*)?(?:[a-z]{2}_)?/+(?P<rest>.*)"

_ARCHIVE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "ia",
        re.compile(
            r"(?:www\.)?(?:web|wayback|web-beta)\.archive\.org/web/"
            r"(?:(?P<listing>\d{0,14}\*)(?:[a-z]{2}_)?/+(?P<lrest>.*)|"
            # "web/<url>" with no timestamp at all replays the latest capture.
            r"(?P<nrest>https?:.*)|" + _TS_FLAGS_REST + r")",
            re.I | re.S,
        ),
    ),
    (
        "archive.today",
        re.compile(
            r"(?:www\.)?archive\.(?:today|ph|is|li|vn|fo|md)/"
            r"(?:(?P<dotted>\d{4}\.\d{2}\.\d{2}-\d{6})/+(?P<drest>.*)|"
            r"(?:newest|oldest|timegate)/+(?P<nrest>.*)|" + _TS_FLAGS_REST + r")",
            re.I | re.S,
        ),
    ),
    (
        "arquivo.pt",
        re.compile(
            r"(?:www\.)?arquivo\.pt/(?:wayback|noFrame/replay)/" + _TS_FLAGS_REST, re.I | re.S
        ),
    ),
    ("loc", re.compile(r"webarchive\.loc\.gov/[a-z0-9_-]+/" + _TS_FLAGS_REST, re.I | re.S)),
    (
        "ukwa",
        re.compile(
            r"(?:www\.)?webarchive\.org\.uk/wayback/(?:[a-z]{2}/)?archive/" + _TS_FLAGS_REST,
            re.I | re.S,
        ),
    ),
    (
        "perma.cc",
        re.compile(
            r"(?:perma-archives\.org/warc|perma\.cc)/"
            r"(?:(?P<guid>[0-9A-Z]{4}-[0-9A-Z]{4})/+(?P<grest>.*)|" + _TS_FLAGS_REST + r")",
            re.I | re.S,
        ),
    ),
    ("archive-it", re.compile(r"wayback\.archive-it\.org/\d+/" + _TS_FLAGS_REST, re.I | re.S)),
)

# Hosts that are archives even when a link into them cannot be unpacked.
_ARCHIVE_HOSTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ia", re.compile(r"(?:www\.)?(?:web|wayback|web-beta)\.archive\.org", re.I)),
    ("archive.today", re.compile(r"(?:www\.)?archive\.(?:today|ph|is|li|vn|fo|md)", re.I)),
    ("arquivo.pt", re.compile(r"(?:www\.)?arquivo\.pt", re.I)),
    ("loc", re.compile(r"webarchive\.loc\.gov", re.I)),
    ("ukwa", re.compile(r"(?:www\.)?webarchive\.org\.uk", re.I)),
    ("perma.cc", re.compile(r"(?:www\.)?(?:perma\.cc|perma-archives\.org)", re.I)),
    ("archive-it", re.compile(r"wayback\.archive-it\.org", re.I)),
    ("webcite", re.compile(r"(?:www\.)?webcitation\.org", re.I)),
)
_WEBCITE = re.compile(r"(?:www\.)?webcitation\.org/", re.I)

# Any host: ".../<14-digit timestamp>[flags_]/http(s)://...". Requiring all 14 digits and
# an explicit scheme keeps ordinary URLs with a year in the path from matching.
_GENERIC = re.compile(r"/(?P<ts>\d{14})(?:[a-z]{2}_)?/+(?P<rest>https?(?::|%3A).*)", re.I | re.S)

# Every archive above has one of these in its host, or a 14-digit timestamp in the path:
# one search rules out the ordinary URLs that make up most of an article.
_MAYBE_ARCHIVE = re.compile(r"archive|arquivo|perma|webcitation|/\d{14}", re.I)
_TIMESTAMP = re.compile(r"/\d{14}")


def _maybe_archive(text: str) -> bool:
    """``_MAYBE_ARCHIVE.search(text)``, ruling most URLs out first at a third of its cost
    (a case-insensitive search for words tries every position; ``archiver.caseless``)."""
    folded = caseless(text)
    if (
        "archive" not in folded
        and "arquivo" not in folded
        and "perma" not in folded
        and "webcitation" not in folded
        and _TIMESTAMP.search(text) is None
    ):
        return False
    return _MAYBE_ARCHIVE.search(text) is not None


_SCHEME_AND_REST = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//(?P<rest>.*)$", re.I | re.S)
_HOSTLIKE = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z0-9-]+(?::\d+)?(?:[/?#]|$)|^localhost\b", re.I)


def parse_archive_url(url: str) -> ArchiveLink | None:
    """The original URL and capture time named by an archive link, or None.

    None means either "not an archive link" or "an archive link that does not name its
    original" (a short id); ``archive_name`` tells the two apart.
    """
    text = url.strip()
    if not _maybe_archive(text):
        return None
    scheme_match = _SCHEME_AND_REST.match(text)
    after_scheme = scheme_match.group("rest") if scheme_match else text
    for name, pattern in _ARCHIVE_PATTERNS:
        match = pattern.match(after_scheme)
        if match:
            return _link_from_match(name, match)
    if _WEBCITE.match(after_scheme):
        return _webcite_link(text)
    generic = _GENERIC.search(after_scheme)
    if generic:
        original = _original_url(generic.group("rest"))
        if original:
            return ArchiveLink(original, _iso_timestamp(generic.group("ts")), "wayback")
    return None


def archive_name(url: str) -> str | None:
    """Which archive a link points into, even when ``parse_archive_url`` cannot unpack it."""
    text = url.strip()
    if not _maybe_archive(text):
        return None
    scheme_match = _SCHEME_AND_REST.match(text)
    after_scheme = scheme_match.group("rest") if scheme_match else text
    host = re.split(r"[/?#]", after_scheme, maxsplit=1)[0]
    for name, pattern in _ARCHIVE_HOSTS:
        if pattern.fullmatch(host):
            return name
    parsed = parse_archive_url(text)
    return parsed.archive if parsed else None


def _link_from_match(archive: str, match: re.Match[str]) -> ArchiveLink | None:
    groups = match.groupdict()
    archived_at: str | None = None
    if groups.get("listing") is not None:
        rest = groups["lrest"]
    elif groups.get("dotted"):
        rest = groups["drest"]
        archived_at = _iso_timestamp(re.sub(r"\D", "", groups["dotted"]))
    elif groups.get("nrest") is not None:
        rest = groups["nrest"]
    elif groups.get("guid"):
        rest = groups["grest"]
    else:
        rest = groups["rest"]
        # "web/*/url", "web/2018*/url" list captures; "web/2/url" means "the latest".
        if not groups.get("star") and len(groups["ts"]) >= 4:
            archived_at = _iso_timestamp(groups["ts"])
    original = _original_url(rest)
    if original is None:
        return None
    return ArchiveLink(original, archived_at, archive)


def _webcite_link(url: str) -> ArchiveLink | None:
    # WebCite ids are opaque, but its links usually carry the original in ?url=.
    values = parse_qs(urlsplit(url).query).get("url")
    original = _original_url(values[0]) if values else None
    return ArchiveLink(original, None, "webcite") if original else None


def _original_url(rest: str) -> str | None:
    """The archived URL as a full http(s) URL, repairing what archives and editors do to it."""
    value = rest.strip()
    if re.match(r"https?%3A", value, re.I):
        value = unquote(value)
    # Some tools collapse "//" after the scheme ("http:/example.com").
    fixed = re.match(r"^(https?):/*(.*)$", value, re.I | re.S)
    if fixed:
        host_and_path = fixed.group(2)
        scheme = fixed.group(1).lower()
    else:
        host_and_path = value.lstrip("/")
        scheme = "http"
    if not host_and_path or not _HOSTLIKE.match(host_and_path):
        return None
    return f"{scheme}://{host_and_path}"


def _iso_timestamp(ts: str) -> str | None:
    try:
        return to_iso(parse_wayback_timestamp(ts))
    except ValueError:  # month 13 and the like: still an archive link, just no date
        return None
