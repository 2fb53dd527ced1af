"""URLs written out in prose, without markup around them.

A URL in running text is usually followed by punctuation that belongs to the sentence
("see https://example.com/report."), and often sits inside parentheses or quotes. The
rules are the ones people expect from a mail client: trailing ``.,;:!?`` and closing
quotes are not part of the URL, nor is a closing parenthesis or bracket without a
matching opening one inside the URL (so Wikipedia's ``/wiki/Foo_(bar)`` keeps its own).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from archiver.extract.hrefs import PLAIN_ABSOLUTE

# "https?://" after its "h", in any case, spelled as re.IGNORECASE reads it ("ſ", a long
# s, is an "s" to it). A pattern that starts with one character or character class is
# scanned at C speed to the next place it may match; a case-insensitive "https?://", or a
# choice at the start, is tried at every position instead (five times slower in prose).
HTTP_AFTER_H = "[tT][tT][pP][sSſ]?://"
# Characters that cannot appear unescaped in a URL end it: whitespace, <>, ", curly
# quotes and guillemets. Backticks too, so Markdown code delimiters are left out. Not
# after a word character or one of "/@.-" (the lookbehind sees the "h" too).
_BARE_URL = re.compile(rf"[hH](?<![\w/@.-][hH]){HTTP_AFTER_H}[^\s<>\"“”‘«»`]+")
_TRAILING = ".,;:!?'’*_"
_PAIRS = {")": "(", "]": "[", "}": "{"}


def find_bare_urls(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, url) for each URL written out in ``text``."""
    for match in _BARE_URL.finditer(text):
        url = trim_url(match.group(0))
        if _has_host(url):
            yield match.start(), match.start() + len(url), url


def _has_host(url: str) -> bool:
    if PLAIN_ABSOLUTE.match(url):  # most URLs: a host urlsplit would find, and no error
        return True
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # "http://[::1" and other unparseable authorities
        return False


def trim_url(url: str) -> str:
    """``url`` without the sentence punctuation and unbalanced closers stuck to its end."""
    end = len(url)
    balance: dict[str, int] = {}  # per closer kept so far: closers less openers in url[:end]
    while end:
        last = url[end - 1]
        if last in _TRAILING:
            end -= 1
            continue
        if last not in _PAIRS:
            break
        if last not in balance:  # counted once, then kept up to date as closers go
            balance[last] = url.count(last, 0, end) - url.count(_PAIRS[last], 0, end)
        if balance[last] <= 0:
            break
        balance[last] -= 1
        end -= 1
    return url[:end]


def bare_url_at(text: str, position: int) -> str | None:
    """The URL written out at ``position`` in ``text`` (trimmed), or None if none starts there."""
    match = _BARE_URL.match(text, position)
    if match is None:
        return None
    url = trim_url(match.group(0))
    return url if _has_host(url) else None
