"""HTML with its nesting taken out, for documents deeper than libxml2 builds trees.

libxml2 stops building a tree at 2,048 levels of elements (256 without ``huge_tree``)
and drops the rest of the document. A page nested that deep is almost always a machine's
work: a ``<div>`` or ``<span>`` per word, markup that never closes, a thread of quotes
within quotes. What ``html`` reads from most elements is only where a block begins and
ends, so ``flatten_html`` rewrites the start and end tags of every element that is not
``kept`` (links, quotes, skipped and literal elements, the document's own structure) and
has no ``hidden`` or ``role`` attribute: a block's become ``<hr>``, an inline element's
disappear. A blockquote inside another only separates words, so it becomes ``<br>``.
The text, the kept elements and the source lines (the newlines inside tags stay, in the
replacement) are as they were, so the same walk reads the same citations from it.

One pass over the text, in linear time: tags are found with ``str.find`` and anchored
regexes; an attribute value whose quote never closes runs to the end, as in a browser.
"""

from __future__ import annotations

import re
from functools import cache

_MARKUP = re.compile(
    r"<(?:(?P<comment>!--)|(?P<other>[!?])|(?P<slash>/?)(?P<name>[A-Za-z][^\s/>]*))"
)
_TAG_END = re.compile(r"=\s*(?P<quote>[\"'])|>")
_ATTRIBUTES_KEPT = re.compile(r"\s(?:hidden|role)\b", re.IGNORECASE)
_RAW_TEXT_WORDS = "script style textarea title xmp iframe noembed noframes plaintext"
_RAW_TEXT = frozenset(_RAW_TEXT_WORDS.split())
_VOID_WORDS = "area base br col embed hr img input link meta param source track wbr"
_VOID = frozenset(_VOID_WORDS.split())


def flatten_html(text: str, blocks: frozenset[str], kept: frozenset[str]) -> str:
    """``text`` with the tags of elements not in ``kept`` replaced (see the module)."""
    return _Flattener(blocks, kept | _VOID | _RAW_TEXT).run(text)


class _Flattener:
    def __init__(self, blocks: frozenset[str], kept: frozenset[str]) -> None:
        self.blocks = blocks
        self.kept = kept
        self.opened: dict[str, list[bool]] = {}  # per name: whether each open one was kept
        self.quotes = 0  # blockquotes open

    def run(self, text: str) -> str:
        out: list[str] = []
        position = 0
        while (start := text.find("<", position)) >= 0:
            found = _MARKUP.match(text, start)
            if found is None:
                out.append(text[position : start + 1])
                position = start + 1
                continue
            out.append(text[position:start])
            if found.group("comment"):
                close = text.find("-->", found.end())
                end = len(text) if close < 0 else close + 3
                out.append(text[start:end])
            elif found.group("other"):
                close = text.find(">", found.end())
                end = len(text) if close < 0 else close + 1
                out.append(text[start:end])
            else:
                end = _tag_end(text, found.end())
                name = found.group("name").lower()
                if found.group("slash"):
                    out.append(self.end_tag(text[start:end], name))
                else:
                    out.append(self.start_tag(text[start:end], name))
                    if name in _RAW_TEXT:  # its text is not markup: up to its end tag
                        closing = _closing(name).search(text, end) if name != "plaintext" else None
                        raw_end = closing.start() if closing else len(text)
                        out.append(text[end:raw_end])
                        end = raw_end
            position = end
        out.append(text[position:])
        return "".join(out)

    def start_tag(self, tag: str, name: str) -> str:
        if name == "blockquote":
            self.quotes += 1
            return tag if self.quotes == 1 else _replacement(tag, "br")
        if name in self.kept:
            return tag
        keep = _ATTRIBUTES_KEPT.search(tag) is not None
        self.opened.setdefault(name, []).append(keep)
        return tag if keep else _replacement(tag, "hr" if name in self.blocks else None)

    def end_tag(self, tag: str, name: str) -> str:
        if name == "blockquote":
            self.quotes = max(self.quotes - 1, 0)
            return tag if self.quotes == 0 else _replacement(tag, "br")
        if name in self.kept:
            return tag
        opened = self.opened.get(name)
        if opened and opened.pop():
            return tag
        return _replacement(tag, "hr" if name in self.blocks else None)


def _replacement(tag: str, void: str | None) -> str:
    """``tag`` as the ``void`` element (None: as nothing), with the lines it spans.

    libxml2 dates an element from the line its tag ends on, so a tag's newlines go
    inside the replacement (``<hr\\n>``); an inline tag that spans lines becomes an
    ``<img\\n>``, which reads as nothing (no text, no alt).
    """
    newlines = tag.count("\n")
    if void is None:
        if not newlines:
            return ""
        void = "img"
    return f"<{void}{chr(10) * newlines}>"


def _tag_end(text: str, position: int) -> int:
    """Where the tag whose attributes start at ``position`` ends (after its ``>``)."""
    while True:
        found = _TAG_END.search(text, position)
        if found is None:
            return len(text)
        quote = found.group("quote")
        if quote is None:
            return found.end()
        close = text.find(quote, found.end())
        if close < 0:
            return len(text)
        position = close + 1


@cache
def _closing(name: str) -> re.Pattern[str]:
    return re.compile(rf"</{name}[\s/>]", re.IGNORECASE)
