"""Front matter: the YAML (``---``) or TOML (``+++``) block that starts a Markdown file.

Static-site generators keep an article's date and address there, which is where a
citation's date comes from when no access date is written, and the URL its relative
links resolve against. Only those two keys are read, line by line, without a YAML or
TOML parser: a value is what follows ``key:`` or ``key =``, less one pair of quotes.
"""

from __future__ import annotations

import re

from archiver.extract.datetext import parse_date

_DATE_KEYS = r"(?:date|published|pubdate|published_at|publishdate|created)"
_URL_KEYS = r"(?:url|canonical_url|canonical|canonicalurl|permalink)"
# The value runs to the end of the (stripped) line: a lazy ".+?" before optional quotes
# was tried at each of its characters across a run of spaces, in quadratic time.
_DATE = re.compile(rf"^{_DATE_KEYS}\s*[:=]\s*(.+)$", re.IGNORECASE)
_URL = re.compile(rf"^{_URL_KEYS}\s*[:=]\s*[\"']?(https?://\S+?)[\"']?$", re.IGNORECASE)
_MOST_LINES = 500  # a block not closed within these is not front matter


def front_matter(lines: list[str]) -> tuple[int, str | None, str | None]:
    """(index of the first body line, date, url) from the front matter in ``lines``."""
    if not lines or lines[0].strip() not in ("---", "+++"):
        return 0, None, None
    closers = ("---", "...") if lines[0].strip() == "---" else ("+++",)
    for index in range(1, min(len(lines), _MOST_LINES)):
        if lines[index].strip() in closers:
            break
    else:
        return 0, None, None
    published = url = None
    for line in lines[1:index]:
        date_match = _DATE.match(line.strip())
        if date_match and published is None:
            published = parse_date(_unquoted(date_match.group(1)))
        url_match = _URL.match(line.strip())
        if url_match and url is None:
            url = url_match.group(1)
    return index + 1, published, url


def _unquoted(value: str) -> str:
    """``value`` without the quote that opens it and the one that closes it, if any."""
    if len(value) > 1 and value[0] in "\"'":
        value = value[1:]
    if len(value) > 1 and value[-1] in "\"'":
        value = value[:-1]
    return value
