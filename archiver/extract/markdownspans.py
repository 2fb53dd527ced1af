"""Where Markdown's inline spans end: a code span's closing backticks, the "]" that closes
a "[", and the end of an inline link's "(url "title")".

The scans the inline renderer (``markdown``) makes from a span's opening character, each
bounded so that a paragraph of unclosed openers is read in linear time.
"""

from __future__ import annotations

import functools
import re

LINK_SCAN_LIMIT = 2000  # characters read for a link's destination, or up to its "</a>"


@functools.lru_cache(maxsize=64)
def code_closer(run: int) -> re.Pattern[str]:
    """What closes a code span opened by ``run`` backticks: as many, and no more."""
    return re.compile(rf"(?<!`)`{{{run}}}(?!`)")


_BRACKET_OR_ESCAPE = re.compile(r"\\.|[\[\]]", re.S)


class Brackets:
    """Where each "[" of ``source`` is closed: by its matching "]", escapes skipped.

    Most labels hold no bracket and no backslash: their "[" is closed by the first "]"
    after it, found without reading the rest of the paragraph. At the first "[" that is
    not so simple, every pair of the paragraph is worked out at once, and looked up from
    then on (each "[" of a long run of nested ones must not read on to its "]").
    """

    __slots__ = ("pairs", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.pairs: dict[int, int] | None = None

    def get(self, index: int) -> int | None:
        """The index of the "]" closing the "[" at ``index``, or None."""
        if self.pairs is None:
            source = self.source
            close = source.find("]", index + 1)
            if (
                close >= 0
                and source.find("[", index + 1, close) < 0
                and source.find("\\", index + 1, close) < 0
            ):
                return close
            self.pairs = _matching_brackets(source)
        return self.pairs.get(index)


def _matching_brackets(source: str) -> dict[int, int]:
    """Index of each "[" mapped to the index of its matching "]" (escapes skipped)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for match in _BRACKET_OR_ESCAPE.finditer(source):
        char = match.group(0)
        if char == "[":
            stack.append(match.start())
        elif char == "]" and stack:
            pairs[stack.pop()] = match.start()
    return pairs


# "(url)" with nothing in the URL that the scan below treats specially.
_PLAIN_DESTINATION = re.compile(r"\(([^\s()<\\]*)\)")


def inline_destination(source: str, open_paren: int) -> tuple[str, int] | None:
    """(url, index after the closing ")") of an inline link's "(url "title")", or None."""
    limit = min(len(source), open_paren + LINK_SCAN_LIMIT)
    plain = _PLAIN_DESTINATION.match(source, open_paren, limit)
    if plain:
        return plain.group(1), plain.end()
    index = open_paren + 1
    while index < limit and source[index] in " \t\n":
        index += 1
    if index < limit and source[index] == "<":
        close = source.find(">", index, limit)
        if close < 0:
            return None
        url = source[index + 1 : close]
        index = close + 1
    else:
        start = index
        depth = 0
        while index < limit:
            char = source[index]
            if char == "\\":
                index += 2
                continue
            if char.isspace():
                break
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            index += 1
        url = source[start:index]
    while index < limit and source[index] in " \t\n":
        index += 1
    if index < limit and source[index] in "\"'(":
        closer = ")" if source[index] == "(" else source[index]
        end = source.find(closer, index + 1, limit)
        if end < 0:
            return None
        index = end + 1
        while index < limit and source[index] in " \t\n":
            index += 1
    if index < limit and source[index] == ")":
        return url, index + 1
    return None
