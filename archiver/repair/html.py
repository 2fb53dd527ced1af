"""Repairing HTML with Robust Links, editing each ``<a>`` tag's bytes where they stand.

Robust Links (robustlinks.mementoweb.org): ``href`` stays the original, and
``data-versionurl`` (the memento) and ``data-versiondate`` (its date, YYYY-MM-DD) are
added after the tag's last attribute; with ``html_swap_dead`` a dead link's ``href``
becomes the memento and the original moves to ``data-originalurl``. Nothing else of the
document is touched: no parser rebuilds it. A small lexer walks the raw text, skipping
comments, ``<!...>``/``<?...>`` declarations and the raw text of ``<script>``, ``<style>``,
``<textarea>`` and the like, and reads each start tag's attributes with their spans.
Values written are escaped for a quoted attribute.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from archiver.extract.hrefs import resolve_href
from archiver.repair.edits import Edit, LineIndex, cited_key, match_spots
from archiver.repair.plaintext import MARKER_FORMS, NOT_FOUND, marker_spots, restore_marker
from archiver.repair.plaintext import target_key as plain_target_key
from archiver.repair.plan import ALREADY_ARCHIVED, RepairOptions, Target

_RAW_TEXT = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"}
)
_CITING = {"a": "href", "q": "cite", "blockquote": "cite"}  # the attribute naming the source
_MARKUP = re.compile(r"<(?:!--|!|\?|/?[a-zA-Z])")
_TAG_NAME = re.compile(r"<([a-zA-Z][^\t\n\f\r />]*)")
_ATTRIBUTE = re.compile(
    r"[\t\n\f\r /]*(?P<name>[^\t\n\f\r />=][^\t\n\f\r />=]*)"
    r"(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<uq>[^\t\n\f\r >]+)))?"
)
_TAG_END = re.compile(r"[\t\n\f\r /]*>")


@dataclass(frozen=True)
class Attribute:
    name: str  # lower-cased
    value: str  # raw, entities not decoded
    end: int  # where the attribute ends in the text
    value_start: int  # the value's span (without quotes); both == end when it has none
    value_end: int
    quote: str  # '"', "'" or "" (unquoted or no value)


@dataclass(frozen=True)
class StartTag:
    name: str
    start: int
    end: int  # after ">"
    attributes: tuple[Attribute, ...]

    def get(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)

    @property
    def attributes_end(self) -> int:
        """Where a new attribute goes: after the last one (or the tag's name)."""
        if self.attributes:
            return self.attributes[-1].end
        return self.start + 1 + len(self.name)


def scan_tags(text: str) -> Iterator[StartTag | tuple[int, int]]:
    """Each start tag, and each (start, end) of text between markup, in document order."""
    position = 0
    while position < len(text):
        found = _MARKUP.search(text, position)
        if found is None:
            break
        if found.start() > position:
            yield (position, found.start())
        start, opener = found.start(), found.group(0)
        if opener == "<!--":
            close = text.find("-->", start + 4)
            position = len(text) if close < 0 else close + 3
        elif opener in ("<!", "<?") or opener.startswith("</"):
            close = text.find(">", start)
            position = len(text) if close < 0 else close + 1
        else:
            tag = _start_tag(text, start)
            if tag is None:
                yield (start, start + 1)
                position = start + 1
                continue
            yield tag
            position = tag.end
            if tag.name in _RAW_TEXT:
                ending = _raw_text_end(tag.name).search(text, tag.end)
                position = len(text) if ending is None else ending.start()
    if position < len(text):
        yield (position, len(text))


@functools.cache
def _raw_text_end(name: str) -> re.Pattern[str]:
    return re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE)


def _start_tag(text: str, start: int) -> StartTag | None:
    name_match = _TAG_NAME.match(text, start)
    if name_match is None:
        return None
    position = name_match.end()
    attributes: list[Attribute] = []
    while True:
        end = _TAG_END.match(text, position)
        if end is not None:
            return StartTag(name_match.group(1).lower(), start, end.end(), tuple(attributes))
        found = _ATTRIBUTE.match(text, position)
        if found is None or found.end() == position:
            return None
        group = next((g for g in ("dq", "sq", "uq") if found.group(g) is not None), None)
        if group is None:
            value_start = value_end = found.end()
            value, quote = "", ""
        else:
            value_start, value_end = found.span(group)
            value, quote = found.group(group), {"dq": '"', "sq": "'", "uq": ""}[group]
        attributes.append(
            Attribute(
                found.group("name").lower(), value, found.end(), value_start, value_end, quote
            )
        )
        position = found.end()


def link_spots(
    text: str, page_url: str | None, lines: LineIndex
) -> list[tuple[str, int, StartTag]]:
    """(cited URL, line, tag) of every ``<a>`` with an http(s) target, and of every
    quotation whose ``cite`` names its source."""
    base = page_url
    found = []
    for item in scan_tags(text):
        if not isinstance(item, StartTag):
            continue
        given = item.get("href")
        if item.name == "base" and given is not None and base == page_url:
            base = resolve_href(html.unescape(given.value), page_url) or base
        if item.name not in _CITING:
            continue
        cited = item.get("data-originalurl") or item.get(_CITING[item.name])
        url = resolve_href(html.unescape(cited.value), base) if cited is not None else None
        if url:
            found.append((cited_key(url), lines.line_of(item.start), item))
    return found


def edit_html(
    text: str, targets: Sequence[Target], options: RepairOptions, page_url: str | None
) -> list[tuple[Edit | None, str]]:
    lines = LineIndex(text)
    texts = [item for item in scan_tags(text) if isinstance(item, tuple)]
    found: list[tuple[str, int, StartTag | tuple[int, int]]] = []
    for start, end in texts:
        found += _markers(text, start, end, lines)
    found += link_spots(text, page_url, lines)
    keys = [(plain_target_key(t), t.citation.line) for t in targets]
    outcomes: list[tuple[Edit | None, str]] = []
    for target, spot in zip(targets, match_spots(keys, found), strict=True):
        if spot is None:
            outcomes.append((None, NOT_FOUND))
        elif isinstance(spot, tuple):
            form = MARKER_FORMS["html"]
            outcomes.append(restore_marker(target, spot, form, _attribute_escape))
        else:
            outcomes.append(edit_anchor(text, spot, target, options))
    return outcomes


def _markers(
    text: str, start: int, end: int, lines: LineIndex
) -> list[tuple[str, int, tuple[int, int]]]:
    """The markers in ``text[start:end]``, with their offsets and lines in ``text``."""
    spots = marker_spots(text[start:end], lines)
    return [(key, lines.line_of(start + s), (start + s, start + e)) for key, _, (s, e) in spots]


def _attribute_escape(value: str) -> str:
    return html.escape(value, quote=True)


def edit_anchor(
    text: str, tag: StartTag, target: Target, options: RepairOptions
) -> tuple[Edit | None, str]:
    """The Robust Links edit of one ``<a>`` tag (the tag's bytes only)."""
    if target.action == "tag-dead":
        return None, "no archived copy found"
    assert target.memento is not None and target.memento_date is not None
    existing = tag.get("data-versionurl")
    if existing is not None and not options.replace_archived:
        return None, f"{ALREADY_ARCHIVED} (data-versionurl)"
    memento = _attribute_escape(target.memento)
    href = tag.get("href")
    swap = options.html_swap_dead and target.status == "dead" and href is not None
    pieces: list[tuple[int, int, str]] = []  # (start, end, new) inside the tag
    added: list[str] = []
    if existing is None and href is not None and target.citation.archive_url:
        # --replace-archived, on a link straight to an archive: that link is the copy
        pieces.append((href.value_start, href.value_end, _quoted_like(href, memento)))
        return _spliced(text, pieces), "its archive link replaced"
    if swap and href is not None:
        pieces.append((href.value_start, href.value_end, _quoted_like(href, memento)))
        if tag.get("data-originalurl") is None:
            added.append(f'data-originalurl="{_attribute_escape(html.unescape(href.value))}"')
    if existing is not None:
        pieces.append((existing.value_start, existing.value_end, _quoted_like(existing, memento)))
    elif not swap:
        added.append(f'data-versionurl="{memento}"')
    date = target.memento_date[:10]
    stated = tag.get("data-versiondate")
    if stated is not None:
        pieces.append((stated.value_start, stated.value_end, _quoted_like(stated, date)))
    else:
        added.append(f'data-versiondate="{date}"')
    if added:
        pieces.append((tag.attributes_end, tag.attributes_end, "".join(" " + a for a in added)))
    return _spliced(text, pieces), _anchor_note(swap, existing is not None)


def _quoted_like(attribute: Attribute, value: str) -> str:
    """``value`` for the span of ``attribute``'s value: quoted if it was not."""
    if attribute.quote == "'":
        return value.replace("'", "&#39;")
    if attribute.quote == "":
        return f'"{value}"' if attribute.value_start < attribute.value_end else f'="{value}"'
    return value


def _spliced(text: str, pieces: list[tuple[int, int, str]]) -> Edit:
    """One edit from the first change in a tag to its last, the text between kept."""
    pieces.sort(key=lambda p: (p[0], p[1]))
    start, end = pieces[0][0], max(p[1] for p in pieces)
    parts, position = [], start
    for piece_start, piece_end, new in pieces:
        parts += [text[position:piece_start], new]
        position = piece_end
    parts.append(text[position:end])
    return Edit(start, end, "".join(parts))


def _anchor_note(swap: bool, replaced: bool) -> str:
    if swap:
        return "href now the archived copy, the original in data-originalurl (Robust Links)"
    if replaced:
        return "data-versionurl replaced (Robust Links)"
    return "data-versionurl and data-versiondate added (Robust Links)"
