"""Edits as spans of the original text, and the bytes they make.

Every format's editor finds where each citation stands in the article (its own scanner
over the raw text: the extractors keep no offsets) and answers with ``Edit``s: replace
``text[start:end]`` with ``new``. Only those spans change; ``apply_edits`` copies every
other character through, and ``encode_like`` writes the result in the article's own
encoding (its byte-order mark kept), after checking that the original text encodes back
to exactly the bytes read, so that "every other byte unchanged" holds for bytes, not only
for characters.

Citations carry no offsets, only a URL (or marker) and a line: ``match_spots`` pairs each
citation with a spot a scanner found, by URL, the spot on the citation's own line first.
"""

from __future__ import annotations

import bisect
import codecs
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from archiver.archives.urls import parse_archive_url
from archiver.errors import InputError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHARSET = re.compile(rb"charset\s*=\s*[\"']?\s*([a-z0-9_.:-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` with ``new`` (``start == end``: insert)."""

    start: int
    end: int
    new: str


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with ``edits`` made; they must not overlap (a bug if they do)."""
    parts: list[str] = []
    position = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < position:
            raise AssertionError(f"overlapping edits at {edit.start}")
        parts.append(text[position : edit.start])
        parts.append(edit.new)
        position = edit.end
    parts.append(text[position:])
    return "".join(parts)


def encode_like(original: bytes, text: str, new_text: str, label: str) -> bytes:
    """``new_text`` in the encoding ``original`` was read in (``text`` is how it read).

    Raises ``InputError`` when no encoding gives ``original`` back from ``text``: writing
    would then change bytes outside the edits.
    """
    for bom, codec in _BOMS:
        if original.startswith(bom):
            if text.encode(codec) == original[len(bom) :]:
                return bom + new_text.encode(codec)
            break
    candidates = ["utf-8"]
    declared = _CHARSET.search(original[:8192])
    if declared is not None:
        candidates.append(declared.group(1).decode("ascii"))
    candidates.append("cp1252")
    for codec in candidates:
        try:
            if text.encode(codec) == original:
                return new_text.encode(codec)
        except (LookupError, UnicodeEncodeError):
            continue
    raise InputError(
        f"cannot repair {label}: its text does not encode back to the bytes read, so other "
        "bytes than the citations' would change"
    )


def unified_diff(before: str, after: str, name: str) -> str:
    """The change as a unified diff (``a/NAME`` → ``b/NAME``), "" when there is none."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        f"a/{name}",
        f"b/{name}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


class LineIndex:
    """1-based line numbers of offsets in a text."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


S = TypeVar("S")


def match_spots(
    keys: Sequence[tuple[str, int]], found: Sequence[tuple[str, int, S]]
) -> list[S | None]:
    """For each (key, line) of ``keys``, its spot among ``found`` (key, line, spot): the
    first one not taken yet under that key on that line, else the first not taken under
    that key; None when every spot under the key is taken."""
    by_key: dict[str, list[int]] = {}
    for number, (key, _line, _spot) in enumerate(found):
        by_key.setdefault(key, []).append(number)
    taken: set[int] = set()
    matched: list[S | None] = []
    for key, line in keys:
        free = [n for n in by_key.get(key, ()) if n not in taken]
        if not free:
            matched.append(None)
            continue
        chosen = next((n for n in free if found[n][1] == line), free[0])
        taken.add(chosen)
        matched.append(found[chosen][2])
    return matched


def cited_key(url: str) -> str:
    """What a link found in the text is matched to a citation by: the original URL of a
    link into a web archive (as the extractors give it), else the URL itself."""
    archived = parse_archive_url(url)
    return archived.original if archived is not None else url
