"""How long mwparserfromhell would take over a text, estimated in one linear pass.

mwparserfromhell's tokenizer tries every ``{{x|``, ``[[x|``, ``<tag>``, ``{|`` and
``<!--`` as the start of a construct and, when nothing closes it, reads on to the end of
the text before it gives up and takes it as plain text. Each unclosed opener therefore
costs a scan of the rest of the text: 10,000 of them in 100 kB take 40 s, and 100,000
nested ``{{x|`` would take hours. Wikitext an editor wrote has a handful at most.

An external link's ``[http://...`` that nothing closes is read to the end of its line.

``parse_seconds`` adds up those scans (the characters from each unclosed opener to the
end, at the pace measured for its kind with mwparserfromhell 0.7's C tokenizer) by
matching openers and closers the simple way, one stack per kind; ``wikitext`` refuses a
text estimated over ``PARSE_BUDGET`` seconds rather than hang on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARSE_BUDGET = 3.0  # seconds

# Seconds per character scanned in vain, measured (and rounded up) for each kind.
_PACE = {
    "braces": 110e-9,  # {{x| and {{{x|
    "link": 20e-9,
    "tag": 25e-9,
    "table": 40e-9,
    "comment": 6e-9,
}
# Tags mwparserfromhell reads without a closing tag.
_SINGLE_TAGS = frozenset(
    {"br", "wbr", "hr", "meta", "link", "img", "li", "dt", "dd", "th", "td", "tr"}
)
_TOKENS = re.compile(
    r"(?P<open_braces>\{\{+)|(?P<close_braces>\}\}+)|(?P<open_link>\[\[)|(?P<close_link>\]\])"
    r"|(?P<open_comment><!--)|(?P<close_comment>-->)"
    r"|^[ \t]*(?:(?P<open_table>\{\|)|(?P<close_table>\|\}))"
    r"|<(?P<slash>/?)(?P<tag>[A-Za-z][A-Za-z0-9]*)(?P<rest>[^<>]*)>",
    re.MULTILINE,
)


# An external link's "[" (not a wikilink's "[["), its closer, and the end of a line.
_EXTERNAL = re.compile(r"(?<!\[)\[(?![\[])(?:[A-Za-z][A-Za-z0-9+.-]*:|//)|\]|\n")
_EXTERNAL_PACE = 40e-9  # seconds per character, measured with a wikilink's "[[x|" before each


@dataclass(frozen=True)
class ParseCost:
    seconds: float  # estimated time spent on the unclosed openers
    unclosed: int
    first_unclosed: int | None  # offset of the first unclosed opener


@dataclass
class _Openers:
    braces: list[list[int]]  # [offset, braces still open]
    links: list[int]
    tables: list[int]
    comments: list[int]
    tags: dict[str, list[int]]


def parse_cost(text: str) -> ParseCost:
    found = _Openers([], [], [], [], {})
    for match in _TOKENS.finditer(text):
        kind = match.lastgroup
        if kind == "open_braces":
            found.braces.append([match.start(), len(match.group())])
        elif kind == "close_braces":
            _close_braces(found.braces, len(match.group()))
        elif kind in ("open_link", "open_table", "open_comment"):
            getattr(found, kind.removeprefix("open_") + "s").append(match.start())
        elif kind in ("close_link", "close_table"):
            opened = getattr(found, kind.removeprefix("close_") + "s")
            if opened:
                opened.pop()
        elif kind == "close_comment":
            found.comments.clear()  # comments do not nest: one closer ends them all
        else:
            _tag(found.tags, match)
    unclosed = {
        "braces": [offset for offset, _ in found.braces],
        "link": found.links,
        "table": found.tables,
        "comment": found.comments,
        "tag": [offset for offsets in found.tags.values() for offset in offsets],
    }
    seconds = sum(
        _PACE[kind] * sum(len(text) - offset for offset in offsets)
        for kind, offsets in unclosed.items()
    )
    external_seconds, external = _unclosed_external_links(text)
    every = [offset for offsets in unclosed.values() for offset in offsets] + external
    return ParseCost(seconds + external_seconds, len(every), min(every) if every else None)


def _unclosed_external_links(text: str) -> tuple[float, list[int]]:
    """(seconds, offsets) of the external links ``[http://...`` that their line does not
    close: each is read to the end of its line (an external link never spans two), so
    100,000 of them on one line took hours."""
    seconds = 0.0
    unclosed: list[int] = []
    opened: list[int] = []
    for match in _EXTERNAL.finditer(text):
        token = match.group()
        if token == "\n":
            if opened:
                seconds += _EXTERNAL_PACE * sum(match.start() - offset for offset in opened)
                unclosed += opened
                opened = []
        elif token == "]":
            if opened:
                opened.pop()
        else:
            opened.append(match.start())
    seconds += _EXTERNAL_PACE * sum(len(text) - offset for offset in opened)
    return seconds, unclosed + opened


def deep_braces(text: str, levels: int) -> int:
    """Offset of the run of ``{`` that first leaves more than ``levels`` ``{{{arguments}}}``
    open (as many braces as that), else of the one that leaves the most open."""
    braces: list[list[int]] = []
    open_now = deepest = where = 0
    for match in _TOKENS.finditer(text):
        if match.lastgroup == "open_braces":
            braces.append([match.start(), len(match.group())])
            open_now += len(match.group())
            if open_now > deepest:
                deepest, where = open_now, match.start()
                if deepest > 3 * levels:
                    break
        elif match.lastgroup == "close_braces":
            open_now -= _close_braces(braces, len(match.group()))
    return where


def _close_braces(braces: list[list[int]], count: int) -> int:
    """Close up to ``count`` of the braces open; how many open braces that took away."""
    closed = 0
    while count >= 2 and braces:
        top = braces[-1]
        used = min(top[1], count)
        top[1] -= used
        count -= used
        closed += used
        if top[1] < 2:
            closed += top[1]  # a lone brace left over opens nothing
            braces.pop()
    return closed


def _tag(tags: dict[str, list[int]], match: re.Match[str]) -> None:
    name = match.group("tag").lower()
    if name in _SINGLE_TAGS or match.group("rest").rstrip().endswith("/"):
        return
    if match.group("slash"):
        opened = tags.get(name)
        if opened:
            opened.pop()
    else:
        tags.setdefault(name, []).append(match.start())
