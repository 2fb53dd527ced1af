"""Words an editor leaves where a link used to be, or next to a link that died.

"[link no longer available]" replaces a link whose URL is gone from the text; "[dead
link]" after a link (Wikipedia's rendering of ``{{dead link}}``) says that URL is dead.
Both are worth a citation: the first as a source to recover from the article's archived
copies, the second as a URL to look up in archives.

Matched case-insensitively, in square brackets or parentheses (not mixed).
"""

from __future__ import annotations

import re

_PHRASES = (
    r"link\s+no\s+longer\s+(?:available|active|works?)"
    r"|no\s+longer\s+available"
    r"|(?:permanent(?:ly)?\s+)?dead\s+(?:link|url)"
    r"|broken\s+link"
    r"|link\s+(?:broken|removed|dead|expired)"
)

MARKER = re.compile(rf"\[\s*(?:{_PHRASES})\s*\]|\(\s*(?:{_PHRASES})\s*\)", re.IGNORECASE)

# Wikitext templates that mark the link before them as dead (names compared lowercased,
# with "_" read as a space).
DEAD_LINK_TEMPLATES = frozenset(
    {
        "dead link",
        "deadlink",
        "dead-link",
        "dead url",
        "deadurl",
        "dl",
        "404",
        "broken link",
        "link broken",
        "permanent dead link",
        "permanently dead link",
    }
)


def find_markers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, exact text) of every marker in ``text``."""
    return [(match.start(), match.end(), match.group(0)) for match in MARKER.finditer(text)]
