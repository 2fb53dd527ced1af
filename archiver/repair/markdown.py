"""Repairing Markdown: a dead link points at its memento and keeps the original visible.

The default form, ``[text](memento) ([original](url))``, is ``RepairOptions.markdown_form``;
an autolink or a URL written out becomes ``[url](memento)`` (the URL still shows); a link
archived on request while still alive (``--all``) keeps its target and gets
`` ([archived copy](memento))`` after it. Raw ``<a>`` tags get Robust Links attributes, as
in HTML, and a recovered "[link no longer available]" becomes ``<url> ([archived
copy](memento))``.

The scanner works on a masked copy of the text, in which fenced and indented code blocks,
code spans, HTML comments and reference definitions are blanked out (same length, line
breaks kept, so offsets hold): links there are not citations. It then reads inline links
``[text](dest "title")`` (brackets nested, backslash escapes honoured), reference links
``[text][label]``, ``[label][]`` and ``[label]`` with a definition, autolinks ``<http...>``
and, outside all of those, URLs written out in the text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from archiver.extract.bareurls import find_bare_urls
from archiver.extract.hrefs import resolve_href
from archiver.repair.edits import Edit, LineIndex, cited_key, match_spots
from archiver.repair.html import StartTag, edit_anchor, link_spots, scan_tags
from archiver.repair.plaintext import MARKER_FORMS, NOT_FOUND, marker_spots, restore_marker
from archiver.repair.plaintext import target_key as plain_target_key
from archiver.repair.plan import RepairOptions, Target

BARE_FORM = "[{url}]({memento})"
LIVE_NOTE = " ([archived copy]({memento}))"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_DEFINITION = re.compile(
    r"^ {0,3}\[(?P<label>(?:[^\[\]\\]|\\.)+)\]:[ \t]*\n?[ \t]*(?P<dest><[^<>\n]*>|\S+)[^\n]*",
    re.MULTILINE,
)
_AUTOLINK = re.compile(r"<(https?://[^\s<>]+)>", re.IGNORECASE)
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_BACKTICKS = re.compile(r"`+")
_HTML_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class _Link:
    kind: str  # "inline", "ref", "auto", "bare"
    start: int
    end: int
    text: str = ""  # the link text as written
    dest: str = ""  # the destination as written (for "ref": the definition's)
    title: str = ""  # " \"title\"" as written, or ""
    dest_start: int = 0  # where ``dest`` starts in the text (inline links)


def edit_markdown(
    text: str, targets: Sequence[Target], options: RepairOptions, page_url: str | None
) -> list[tuple[Edit | None, str]]:
    """An edit (or None) and what it does (or why there is none), for each target."""
    lines = LineIndex(text)
    masked, definitions = _masked(text)
    found: list[tuple[str, int, _Link | StartTag | tuple[int, int]]] = []
    taken: list[tuple[int, int]] = []
    for link in _bracket_links(masked, definitions):
        url = resolve_href(_unescape(link.dest), page_url)
        taken.append((link.start, link.end))
        if url:
            found.append((cited_key(url), lines.line_of(link.start), link))
    found += link_spots(masked, page_url, lines)
    taken += [
        (item.start, item.end)
        for item in scan_tags(masked)
        if isinstance(item, StartTag) and _HTML_NAME.match(item.name)  # not <http://...>
    ]
    for match in _AUTOLINK.finditer(masked):
        if not _inside(match.start(), taken):
            taken.append(match.span())
            link = _Link("auto", match.start(), match.end(), dest=match.group(1))
            found.append((cited_key(match.group(1)), lines.line_of(match.start()), link))
    for start, end, url in find_bare_urls(masked):
        if not _inside(start, taken):
            link = _Link("bare", start, end, dest=url)
            found.append((cited_key(url), lines.line_of(start), link))
    found += marker_spots(masked, lines)
    keys = [(plain_target_key(t), t.citation.line) for t in targets]
    return [
        _edit(text, spot, target, options)
        for target, spot in zip(targets, match_spots(keys, found), strict=True)
    ]


def _edit(
    text: str,
    spot: _Link | StartTag | tuple[int, int] | None,
    target: Target,
    options: RepairOptions,
) -> tuple[Edit | None, str]:
    if spot is None:
        return None, NOT_FOUND
    if isinstance(spot, tuple):
        return restore_marker(target, spot, MARKER_FORMS["markdown"], lambda s: s)
    if isinstance(spot, StartTag):
        return edit_anchor(text, spot, target, options)
    if target.action == "tag-dead":
        return None, "no archived copy found"
    assert target.memento is not None and target.memento_date is not None
    memento = destination(target.memento)
    if target.citation.archive_url:  # --replace-archived: the archive link itself
        return _replace_archive_link(spot, target.memento, memento)
    if target.status == "live":
        return Edit(spot.end, spot.end, LIVE_NOTE.format(memento=memento)), (
            "a link to its archived copy added after it"
        )
    if spot.kind in ("auto", "bare"):
        new = BARE_FORM.format(url=spot.dest, memento=memento)
        return Edit(spot.start, spot.end, new), "the link now points at its archived copy"
    fields = {
        "text": spot.text,
        "memento": memento,
        "url": spot.dest,
        "date": target.memento_date[:10],
        "title": spot.title,
    }
    new = options.markdown_form.format(**fields)  # checked when the option was read
    return Edit(spot.start, spot.end, new), "the link now points at its archived copy"


def _replace_archive_link(
    spot: _Link, memento: str, as_destination: str
) -> tuple[Edit | None, str]:
    if spot.kind == "ref":
        return None, "its archive link is in a reference definition: left to the editor"
    if spot.kind == "inline":
        return Edit(spot.dest_start, spot.dest_start + len(spot.dest), as_destination), (
            "its archive link replaced"
        )
    start = spot.start + (1 if spot.kind == "auto" else 0)
    return Edit(start, start + len(spot.dest), memento), "its archive link replaced"


def destination(url: str) -> str:
    """``url`` as a link destination: in ``<...>`` when it has spaces or parentheses."""
    if re.search(r"[\s()<>]", url):
        return "<" + url.replace("<", "%3C").replace(">", "%3E") + ">"
    return url


def _unescape(dest: str) -> str:
    value = dest.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return html.unescape(_ESCAPED.sub(r"\1", value))


def _inside(position: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


def _masked(text: str) -> tuple[str, dict[str, str]]:
    """``text`` with code, comments and reference definitions blanked out, and the
    definitions (normalised label → destination as written)."""
    out = []
    fence: str | None = None
    previous_blank = True
    in_indented = False
    for line in text.splitlines(keepends=True):
        opener = _FENCE.match(line)
        if fence is not None:
            out.append(_blank(line))
            stripped = line.strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
            continue
        if opener is not None:
            fence = opener.group(1)
            out.append(_blank(line))
            continue
        indented = line.startswith(("    ", "\t")) and bool(line.strip())
        in_indented = indented and (previous_blank or in_indented)
        out.append(_blank(line) if in_indented else line)
        previous_blank = not line.strip()
    masked = "".join(out)
    masked = re.sub(r"<!--.*?(?:-->|\Z)", lambda m: _blank(m.group(0)), masked, flags=re.S)
    masked = _mask_code_spans(masked)
    definitions: dict[str, str] = {}
    for match in _DEFINITION.finditer(masked):
        definitions.setdefault(_label(match.group("label")), match.group("dest"))
    masked = _DEFINITION.sub(lambda m: _blank(m.group(0)), masked)
    return masked, definitions


def _mask_code_spans(text: str) -> str:
    parts, position = [], 0
    for run in _BACKTICKS.finditer(text):
        if run.start() < position:
            continue
        closing = re.compile(rf"(?<!`){run.group(0)}(?!`)").search(text, run.end())
        if closing is None:
            continue
        parts += [text[position : run.start()], _blank(text[run.start() : closing.end()])]
        position = closing.end()
    parts.append(text[position:])
    return "".join(parts)


def _label(label: str) -> str:
    return " ".join(label.split()).casefold()


def _bracket_links(masked: str, definitions: dict[str, str]) -> list[_Link]:
    """Inline and reference links, in document order."""
    links = []
    position = 0
    while (start := masked.find("[", position)) >= 0:
        position = start + 1
        if _escaped(masked, start) or (start and masked[start - 1] == "!"):
            continue
        close = _matching_bracket(masked, start)
        if close is None:
            continue
        link = _link_after(masked, start, close, definitions)
        if link is not None:
            links.append(link)
            position = link.end
    return links


def _link_after(masked: str, start: int, close: int, definitions: dict[str, str]) -> _Link | None:
    text = masked[start + 1 : close]
    after = close + 1
    if masked.startswith("(", after):
        inline = _inline_destination(masked, after)
        if inline is not None:
            dest, title, end, dest_start = inline
            return _Link("inline", start, end, text, dest, title, dest_start)
    label, end = text, after
    if masked.startswith("[", after):
        label_close = masked.find("]", after + 1)
        if label_close < 0 or "[" in masked[after + 1 : label_close]:
            return None
        label = masked[after + 1 : label_close] or text  # "[text][]" is "[text][text]"
        end = label_close + 1
    elif masked.startswith(":", after):
        return None
    defined = definitions.get(_label(label))
    return _Link("ref", start, end, text, defined) if defined is not None else None


def _inline_destination(masked: str, paren: int) -> tuple[str, str, int, int] | None:
    """(destination, title with its leading space, end, where the destination starts) of
    ``(dest "title")`` at ``paren``."""
    found = re.compile(
        r"\(\s*(?P<dest><[^<>\n]*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*)"
        r"(?P<title>\s+(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?\s*\)"
    ).match(masked, paren)
    if found is None:
        return None
    return found.group("dest"), found.group("title") or "", found.end(), found.start("dest")


def _escaped(text: str, index: int) -> bool:
    slashes = 0
    while index - slashes - 1 >= 0 and text[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _matching_bracket(text: str, start: int) -> int | None:
    """The ``]`` closing the ``[`` at ``start`` (nesting counted), not past a blank line."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index
        elif char == "\n" and _BLANK_LINE.match(text, index):
            return None
        index += 1
    return None
