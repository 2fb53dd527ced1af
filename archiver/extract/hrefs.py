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

# An absolute http(s) URL whose authority is a plain host name or address, with an
# optional port: urlsplit would find an http(s) scheme and a host in it and raise nothing,
# so the common case needs no urlsplit.
PLAIN_ABSOLUTE = re.compile(r"https?://[a-z0-9._~-]+(?::[0-9]*)?(?:[/?#]|\Z)", re.I | re.A)


def resolve_href(href: str, base: str | None, page: str | None = None) -> str | None:
    """The absolute http(s) URL ``href`` names, or None if it is not a citation.

    ``base`` resolves relative references; ``page`` is the article's own URL, links to
    which (with or without a fragment) are not citations.
    """
    # What browsers do: trim, drop tabs and newlines, and send inner spaces as %20.
    value = href.strip()
    if "\t" in value or "\n" in value or "\r" in value:
        value = re.sub(r"[\t\n\r]", "", value)
    value = value.replace(" ", "%20")
    if not value or value.startswith("#"):
        return None
    if not PLAIN_ABSOLUTE.match(value):
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
