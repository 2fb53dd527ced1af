"""JSON read from files and servers, refused in one line when nested too deep to read.

Python's ``json`` parser recurses once per level of nesting and raises ``RecursionError``
past about a thousand: a manifest, a WACZ ``datapackage.json``, an index cache or a
server's answer made of ``[[[[...`` would end the run as an internal error, while every
caller is ready for the ``ValueError`` that malformed JSON raises. ``parse_json`` raises
that instead, saying how deep the text nests. Nothing archiver reads nests more than a
few levels, so the refusal costs no real input.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A JSON string (skipped whole, so brackets inside it do not count) or a bracket.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class JSONTooDeep(ValueError):
    """JSON nested deeper than the parser can recurse."""


def parse_json(text: str | bytes) -> Any:
    """``json.loads(text)``, with ``JSONTooDeep`` (a ``ValueError``) for too deep a text."""
    try:
        return json.loads(text)
    except RecursionError:
        pass  # out of the parser's frames: the stack is whole again here
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    raise JSONTooDeep(f"JSON nested {nesting_depth(text):,} levels deep, too deep to read")


def nesting_depth(text: str) -> int:
    """How many arrays and objects deep ``text`` nests at most (strings skipped)."""
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth = max(depth - 1, 0)
    return deepest
