"""Which link targets are citations, and how they become absolute URLs.

Only http(s) pages can be checked and archived, so ``mailto:``, ``javascript:``,
``tel:`` and the like are not citations. Neither are same-page anchors (``#notes``), nor
a link back to the article itself. A relative link is a citation only when there is an
address to resolve it against (``<base href>``, or the URL the article came from): a
relative path in a saved file names nothing we could fetch.
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urljoin, urlsplit


def resolve_href(href: str, base: str | None, page: str | None = None) -> str | None:
    """The absolute http(s) URL ``href`` names, or None if it is not a citation.

    ``base`` resolves relative references; ``page`` is the article's own URL, links to
    which (with or without a fragment) are not citations.
    """
    # What browsers do: trim, drop tabs and newlines, and send inner spaces as %20.
    value = re.sub(r"[\t\n\r]", "", href.strip()).replace(" ", "%20")
    if not value or value.startswith("#"):
        return None
    try:
        scheme = urlsplit(value).scheme.lower()
        if not scheme:
            if base is None:
                return None
            value = urljoin(base, value)
            scheme = urlsplit(value).scheme.lower()
        if scheme not in ("http", "https") or not urlsplit(value).hostname:
            return None
    except ValueError:  # an unparseable authority such as "http://[::1"
        return None
    if page is not None and urldefrag(value)[0] == urldefrag(page)[0]:
        return None
    return value
