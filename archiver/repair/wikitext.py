"""Repairing wikitext as InternetArchiveBot does.

- A CS1 template (``{{cite web}}``, any ``{{cite ...}}``, ``{{citation}}``) gets
  ``archive-url``, ``archive-date`` and ``url-status`` (``dead``; ``live`` for a live
  source archived on request), written in the template's own style: the spacing around
  ``|`` and ``=``, one parameter a line or all on one, hyphenated names or the old
  run-together ones (``archiveurl``), placed after ``access-date`` (else ``url``).
  Parameters already there but empty are filled where they stand; an old ``dead-url``
  gets ``yes``/``no`` rather than a second, conflicting ``url-status``. A template an
  editor marked ``url-status=usurped``, ``unfit`` or ``deviated`` is left to them.
- A bracketed ``[url text]`` or bare URL gets ``{{webarchive |url= |date=}}`` after it.
- A dead link without an archived copy gets ``{{dead link |date=Month YYYY |bot=archiver}}``
  after it, unless a dead-link tag is already there; a ``{{dead link}}`` right after a
  citation that gets its copy is removed, as the copy answers it.
- Dates follow the template's own (``access-date``, ``date``), else the article's
  ``{{use dmy dates}}``/``{{use mdy dates}}``, else ISO 8601.
- Opt-outs: ``{{cbignore}}`` after a citation leaves it alone; ``{{nobots}}`` or
  ``{{bots|deny=...}}`` naming archiver (or all) leaves the whole article alone.

Offsets come from mwparserfromhell's tree (``str(parsed) == text``, byte for byte): each
node's offset is its parent's plus the lengths of what precedes it there, so an edit
replaces exactly the template it rewrites, or inserts right after the link it follows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import mwparserfromhell
from mwparserfromhell.nodes import ExternalLink, Heading, Tag, Template, Text, Wikilink

from archiver.dates import parse_iso, utcnow
from archiver.errors import InputError
from archiver.extract.bareurls import trim_url
from archiver.extract.markers import DEAD_LINK_TEMPLATES
from archiver.extract.wikinodes import absolute_url, opening_length, param_text, url_template
from archiver.repair.edits import Edit, LineIndex, cited_key, match_spots
from archiver.repair.plan import ALREADY_ARCHIVED, RepairOptions, Target

ARCHIVE_TEMPLATES = frozenset({"webarchive", "wayback", "web archive", "webcite", "webcitation"})
OPT_OUT_TEMPLATES = frozenset({"cbignore"})
_OFFICIAL_TEMPLATES = frozenset({"official website", "official site", "officialwebsite"})
_EDITORS_STATUSES = frozenset({"usurped", "unfit", "deviated"})  # judgements, not a check's
_UNREAD_TAGS = frozenset({"nowiki", "pre", "code", "syntaxhighlight", "source", "math"})
_MONTHS = "January February March April May June July August September October November December"
_MONTH_NAMES = _MONTHS.split()
_ISO_DAY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")
_DMY = re.compile(r"^\s*\d{1,2} [A-Z][a-z]+ \d{4}\s*$")
_MDY = re.compile(r"^\s*[A-Z][a-z]+ \d{1,2}, \d{4}\s*$")


@dataclass(frozen=True)
class _Spot:
    """A citation's node where it stands: ``nodes[index]``, at ``start``..``end``."""

    node: Any
    start: int
    end: int
    nodes: Sequence[Any]
    index: int
    kind: str  # "cite", "link" or "other" (a link archiver does not rewrite, e.g. {{URL}})


@dataclass(frozen=True)
class _Follower:
    kind: str  # "archive", "dead" or "opt-out"
    start: int
    end: int


def edit_wikitext(
    text: str, targets: Sequence[Target], options: RepairOptions, page_url: str | None = None
) -> list[tuple[Edit | None, str]]:
    """An edit (or None) and what it does (or why there is none), for each target."""
    code = mwparserfromhell.parse(text)
    if str(code) != text:  # never seen; writing it back would change other bytes
        raise InputError("cannot repair the article: its wikitext does not parse back as read")
    opted_out = _bots_denied(code)
    lines = LineIndex(text)
    spots = list(_spots(code.nodes))
    found = [(url, lines.line_of(spot.start), spot) for url, spot in spots]
    matched = match_spots([(t.citation.url or "", t.citation.line) for t in targets], found)
    style = _page_date_style(code)
    now = options.now or utcnow()
    outcomes: list[tuple[Edit | None, str]] = []
    for target, spot in zip(targets, matched, strict=True):
        if opted_out:
            outcomes.append((None, f"the article opts out of bots ({opted_out})"))
        elif spot is None or spot.kind == "other":
            outcomes.append((None, "not found in the article's wikitext as a citation to edit"))
        else:
            outcomes.append(_edit(text, spot, target, options, style, now))
    return outcomes


def _spots(top: Sequence[Any]) -> Iterator[tuple[str, _Spot]]:
    """(URL, spot) of every citation node, in document order; the walk keeps its own
    stack, so deep nesting never reaches Python's recursion limit."""
    pending: list[tuple[Sequence[Any], int]] = [(top, 0)]
    while pending:
        nodes, offset = pending.pop()
        children: list[tuple[Sequence[Any], int]] = []
        for index, node in enumerate(nodes):
            length = len(str(node))
            found = _spot_of(node, offset, length, nodes, index)
            if found is not None:
                yield found
            else:
                children.extend(_children(node, offset))
            offset += length
        pending.extend(reversed(children))


def _spot_of(
    node: Any, offset: int, length: int, nodes: Sequence[Any], index: int
) -> tuple[str, _Spot] | None:
    if isinstance(node, ExternalLink):
        raw = str(node.url).strip()
        url: str | None = absolute_url(raw if node.brackets else trim_url(raw))
        end = offset + length if node.brackets else offset + len(trim_url(str(node.url)))
        return (cited_key(url), _Spot(node, offset, end, nodes, index, "link")) if url else None
    if not isinstance(node, Template):
        return None
    name = template_name(node)
    kind = "other"
    if name.startswith("cite") or name == "citation":
        url = absolute_url(param_text(node, "url", "chapter-url", "chapterurl"))
        kind = "cite"
    elif name == "url":
        url = url_template(node)[0]
    elif name in _OFFICIAL_TEMPLATES:
        url = absolute_url(param_text(node, "1", "url", raw=True))
    elif name in ARCHIVE_TEMPLATES | DEAD_LINK_TEMPLATES | OPT_OUT_TEMPLATES:
        return ("", _Spot(node, offset, offset + length, nodes, index, "other"))
    else:
        return None
    return (url or "", _Spot(node, offset, offset + length, nodes, index, kind))


def _children(node: Any, offset: int) -> Iterator[tuple[Sequence[Any], int]]:
    """The node lists inside ``node`` that may hold citations, with their offsets."""
    if isinstance(node, Template):
        position = offset + 2 + len(str(node.name))
        for param in node.params:
            position += 1
            if param.showkey:
                position += len(str(param.name)) + 1
            yield param.value.nodes, position
            position += len(str(param.value))
    elif isinstance(node, Tag):
        name = str(node.tag).strip().lower()
        if not node.self_closing and node.contents is not None and name not in _UNREAD_TAGS:
            yield node.contents.nodes, offset + opening_length(node)
    elif isinstance(node, Wikilink) and node.text is not None:
        yield node.text.nodes, offset + 2 + len(str(node.title)) + 1
    elif isinstance(node, Heading):
        yield node.title.nodes, offset + node.level


def template_name(node: Any) -> str:
    name = " ".join(str(node.name).replace("_", " ").split()).lower()
    return name.removeprefix("template:")


def _followers(spot: _Spot) -> list[_Follower]:
    """The archive, dead-link and opt-out templates right after a citation (spaces
    between them allowed), where IABot and editors put them."""
    found = []
    position = spot.start + len(str(spot.node))
    for node in spot.nodes[spot.index + 1 :]:
        length = len(str(node))
        if isinstance(node, Text) and not str(node).strip():
            position += length
            continue
        if not isinstance(node, Template):
            break
        name = template_name(node)
        if name in ARCHIVE_TEMPLATES:
            found.append(_Follower("archive", position, position + length))
        elif name in DEAD_LINK_TEMPLATES:
            found.append(_Follower("dead", position, position + length))
        elif name in OPT_OUT_TEMPLATES:
            found.append(_Follower("opt-out", position, position + length))
        else:
            break
        position += length
    return found


def _edit(
    text: str, spot: _Spot, target: Target, options: RepairOptions, style: str, now: datetime
) -> tuple[Edit | None, str]:
    followers = _followers(spot)
    kinds = {f.kind for f in followers}
    if "opt-out" in kinds:
        return None, "left alone: {{cbignore}} follows it"
    dead_tag = next((f for f in followers if f.kind == "dead"), None)
    if target.action == "tag-dead":
        if dead_tag is not None or (spot.kind == "cite" and _has_archive(spot.node)):
            return None, "already tagged as a dead link"
        tag = f"{{{{dead link |date={_MONTH_NAMES[now.month - 1]} {now.year} |bot=archiver}}}}"
        return Edit(spot.end, spot.end, tag), "tagged as a dead link: no archived copy found"
    assert target.memento is not None and target.memento_date is not None
    if spot.kind == "cite":
        return _edit_cite(text, spot, target, style, dead_tag, options)
    link = archive_link(spot)
    if target.citation.archive_url and link is not None:  # --replace-archived
        return Edit(*link, target.memento), "its archive link replaced"
    archive = next((f for f in followers if f.kind == "archive"), None)
    date = format_date(target.memento_date, _date_style("", style))
    webarchive = f"{{{{webarchive |url={target.memento} |date={date}}}}}"
    if archive is not None:
        if not options.replace_archived:
            return None, f"{ALREADY_ARCHIVED} ({{{{webarchive}}}})"
        return Edit(archive.start, archive.end, webarchive), "its {{webarchive}} replaced"
    if dead_tag is not None:
        return Edit(dead_tag.start, dead_tag.end, webarchive), "{{dead link}} replaced by its copy"
    return Edit(spot.end, spot.end, webarchive), "{{webarchive}} added after the link"


def archive_link(spot: _Spot) -> tuple[int, int] | None:
    """The span of a link's URL when the link goes straight into a web archive."""
    raw = str(spot.node.url) if spot.node.brackets else trim_url(str(spot.node.url))
    if cited_key(raw.strip()) == raw.strip():
        return None
    start = spot.start + (1 if spot.node.brackets else 0) + len(raw) - len(raw.lstrip())
    return start, start + len(raw.strip())


def _edit_cite(
    text: str,
    spot: _Spot,
    target: Target,
    style: str,
    dead_tag: _Follower | None,
    options: RepairOptions,
) -> tuple[Edit | None, str]:
    node = spot.node
    if _has_archive(node) and not options.replace_archived:
        return None, f"{ALREADY_ARCHIVED} (archive-url)"
    status = param_text(node, "url-status").lower()
    if status in _EDITORS_STATUSES:
        return None, f"url-status={status} is the editor's call: left as it is"
    assert target.memento is not None and target.memento_date is not None
    old_style = any(node.has(n) for n in ("accessdate", "archiveurl", "archivedate"))
    names = ("archiveurl", "archivedate") if old_style else ("archive-url", "archive-date")
    own = param_text(node, "access-date", "accessdate", "date", "archive-date", "archivedate")
    date = format_date(target.memento_date, _date_style(own, style))
    values = [(names[0], target.memento), (names[1], date)]
    old_dead = next((n for n in ("dead-url", "deadurl") if node.has(n)), None)
    if old_dead is not None and not node.has("url-status"):
        values.append((old_dead, "yes" if target.status == "dead" else "no"))
    else:
        values.append(("url-status", target.status))
    anchor = next((n for n in ("access-date", "accessdate", "url") if node.has(n)), None)
    set_params(node, values, anchor)
    end = spot.end
    if dead_tag is not None:  # the copy answers the tag: it goes, with the space before it
        end = dead_tag.end
    what = f"archive-url, archive-date and url-status={target.status} set"
    if old_dead is not None and not node.has("url-status"):
        what = f"archive-url, archive-date and {old_dead} set"
    if dead_tag is not None:
        what += "; {{dead link}} removed"
    return Edit(spot.start, end, str(node)), what


def _has_archive(node: Any) -> bool:
    return bool(param_text(node, "archive-url", "archiveurl"))


def set_params(node: Any, values: Sequence[tuple[str, str]], anchor: str | None) -> None:
    """Set each (name, value) on template ``node`` in its own spacing style: a parameter
    already there keeps its place, a new one goes after ``anchor`` (None: at the end).

    mwparserfromhell's ``Template.add`` copies the spacing around names and ``=``; the
    whitespace before the next ``|`` is set here: what the template has between its
    parameters (after its name when it has one parameter), and the template's own
    ending after its last parameter."""
    names = [str(p.name).strip() for p in node.params]
    after = names.index(anchor) if anchor in names else len(names) - 1
    following = node.params[after + 1] if after + 1 < len(node.params) else None
    last = node.params[-1] if node.params else None
    between = _trailing(str(node.params[0].value) if len(names) >= 2 else str(node.name))
    trail = _trailing(str(last.value)) if last is not None else ""
    width = _aligned_width(node)
    new = []
    for name, value in values:
        if node.has(name):
            node.add(name, value, preserve_spacing=True)
            continue
        before = {"before": following} if following is not None else {}
        new.append(node.add(name, value, preserve_spacing=True, **before))
    for param in new:
        text = str(param.value)
        param.value = text.rstrip() + between
        if width is not None:  # "| url         = ...": names padded to one width
            raw = str(param.name)
            lead = raw[: len(raw) - len(raw.lstrip())]
            param.name = (lead + raw.strip()).ljust(width - 1) + " "
            if not text[:1].isspace():
                param.value = " " + str(param.value)
    if following is None and new and last is not None:
        last.value = str(last.value).rstrip() + between
        new[-1].value = str(new[-1].value).rstrip() + trail


def _trailing(text: str) -> str:
    return text[len(text.rstrip()) :]


def _aligned_width(node: Any) -> int | None:
    """The width every named parameter's name is padded to, when they all are."""
    raw = [str(p.name) for p in node.params if p.showkey]
    widths = {len(name) for name in raw}
    padded = any(name.endswith("  ") for name in raw)
    return widths.pop() if len(raw) >= 2 and len(widths) == 1 and padded else None


def format_date(iso: str, style: str) -> str:
    """The day of ``iso`` as ``iso`` (2018-03-20), ``dmy`` (20 March 2018) or ``mdy``."""
    day = parse_iso(iso)
    if style == "dmy":
        return f"{day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"
    if style == "mdy":
        return f"{_MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"
    return day.strftime("%Y-%m-%d")


def _date_style(own: str, page: str) -> str:
    if _ISO_DAY.match(own):
        return "iso"
    if _DMY.match(own):
        return "dmy"
    if _MDY.match(own):
        return "mdy"
    return page


def _page_date_style(code: Any) -> str:
    """``{{use dmy dates}}``/``{{use mdy dates}}``, else the style most of the article's
    citation dates are written in, else ISO."""
    counts = {"iso": 0, "dmy": 0, "mdy": 0}
    for node in code.filter_templates():
        name = template_name(node)
        if name in ("use dmy dates", "use dmy"):
            return "dmy"
        if name in ("use mdy dates", "use mdy"):
            return "mdy"
        own = param_text(node, "access-date", "accessdate", "date")
        if own:
            style = _date_style(own, "")
            if style:
                counts[style] += 1
    best = max(counts, key=lambda style: counts[style])
    return best if counts[best] else "iso"


def _bots_denied(code: Any) -> str | None:
    """The template by which the article keeps bots out, if it does (``{{nobots}}``,
    ``{{bots|deny=all}}``, ``{{bots|deny=archiver}}``, ``{{bots|allow=none}}``)."""
    for node in code.filter_templates():
        name = template_name(node)
        if name == "nobots":
            return "{{nobots}}"
        if name != "bots":
            continue
        deny = {b.strip().lower() for b in param_text(node, "deny", raw=True).split(",")}
        allow = {b.strip().lower() for b in param_text(node, "allow", raw=True).split(",")}
        if deny & {"all", "archiver"} or "none" in allow:
            return str(node)
    return None
