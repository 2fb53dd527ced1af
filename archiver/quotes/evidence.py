"""Evidence a reader can click and a tool can reuse, for a passage found in a page's text.

- ``Passage``: the passage as the page has it, with the text around it (``CONTEXT``
  characters each side, cut between words) and its place in the page's reader text.
- A W3C Web Annotation ``TextQuoteSelector`` (https://www.w3.org/TR/annotation-model/
  #text-quote-selector): ``exact``, and ``prefix``/``suffix`` of ``SELECTOR_CONTEXT``
  characters, as annotation tools (Hypothesis) anchor a quote.
- A text fragment (https://wicg.github.io/scroll-to-text-fragment/): ``:~:text=`` with
  ``textStart`` (and ``textEnd`` when the passage is long: its first and last
  ``FRAGMENT_WORDS`` words), with a ``prefix-`` and ``-suffix`` of a few words when the
  bare text would first match elsewhere in the page: a browser highlights the first
  match. Matching is simulated as the spec says browsers do it: case-blind, on whole
  words, across whitespace. Each term is percent-encoded as the spec requires: every
  character but ASCII letters, digits and ``._~`` (so ``-``, ``,`` and ``&``, which are
  the directive's own syntax, are always encoded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote as percent_encode

from archiver.models import _Serialisable

CONTEXT = 160  # characters of the page shown each side of the passage
SELECTOR_CONTEXT = 32  # characters of prefix and suffix in the selector
FRAGMENT_WORDS = 5  # words of textStart and textEnd when the passage is long
_CONTEXT_WORDS = 3  # words of a fragment's prefix and suffix when one is needed
_WORDS = re.compile(r"\S+")


@dataclass(frozen=True)
class Passage(_Serialisable):
    """The passage found: ``exact`` as the page has it (whitespace collapsed), ``before``
    and ``after`` (the text around it), ``start`` and ``end`` (characters of the page's
    reader text)."""

    exact: str
    before: str
    after: str
    start: int
    end: int


def passage_at(text: str, start: int, end: int) -> Passage:
    before = text[max(start - CONTEXT, 0) : start]
    after = text[end : end + CONTEXT]
    if start > CONTEXT and " " in before:
        before = before[before.index(" ") + 1 :]
    if end + CONTEXT < len(text) and " " in after:
        after = after[: after.rindex(" ")]
    return Passage(
        _flat(text[start:end]), _flat(before, keep_edges=True), _flat(after, True), start, end
    )


def text_quote_selector(text: str, start: int, end: int) -> dict[str, str]:
    """The W3C ``TextQuoteSelector`` of ``text[start:end]``."""
    return {
        "type": "TextQuoteSelector",
        "exact": _flat(text[start:end]),
        "prefix": _flat(text[max(start - SELECTOR_CONTEXT, 0) : start], keep_edges=True),
        "suffix": _flat(text[end : end + SELECTOR_CONTEXT], keep_edges=True),
    }


def text_fragment(text: str, start: int, end: int) -> str:
    """The fragment directive (``:~:text=...``) that highlights ``text[start:end]``."""
    words = _WORDS.findall(text[start:end])
    if not words:
        return ""
    if len(words) > 2 * FRAGMENT_WORDS:
        start_term = " ".join(words[:FRAGMENT_WORDS])
        end_term: str | None = " ".join(words[-FRAGMENT_WORDS:])
    else:
        start_term, end_term = " ".join(words), None
    prefix = suffix = None
    if _first_match(text, None, start_term, end_term, None) != start:
        prefix = " ".join(_WORDS.findall(text[:start])[-_CONTEXT_WORDS:]) or None
        suffix = " ".join(_WORDS.findall(text[end:])[:_CONTEXT_WORDS]) or None
    terms = [_encode(start_term)]
    if prefix:
        terms.insert(0, _encode(prefix) + "-")
    if end_term:
        terms.append(_encode(end_term))
    if suffix:
        terms.append("-" + _encode(suffix))
    return ":~:text=" + ",".join(terms)


def fragment_link(url: str, directive: str) -> str | None:
    """``url`` with the fragment directive, for a page a browser can open (http/https):
    appended to the URL's own fragment, as the spec allows; None for other URLs."""
    if not directive or not url.lower().startswith(("http://", "https://")):
        return None
    return f"{url}{directive}" if "#" in url else f"{url}#{directive}"


def _encode(term: str) -> str:
    return percent_encode(term, safe="").replace("-", "%2D")


def _first_match(
    text: str, prefix: str | None, start_term: str, end_term: str | None, suffix: str | None
) -> int:
    """Where a browser's first match of the directive's start begins, or -1."""
    pattern = r"(?<!\w)"
    if prefix:
        pattern += _flexible(prefix) + r"\s*"
    pattern += "(" + _flexible(start_term) + ")"
    if end_term:
        pattern += r"[\s\S]*?" + _flexible(end_term)
    pattern += r"(?!\w)"
    if suffix:
        pattern += r"\s*" + _flexible(suffix)
    found = re.search(pattern, text, re.IGNORECASE)
    return found.start(1) if found else -1


def _flexible(term: str) -> str:
    return r"\s+".join(re.escape(word) for word in term.split())


def _flat(text: str, keep_edges: bool = False) -> str:
    flat = " ".join(text.split())
    if keep_edges and flat:
        flat = (" " if text[:1].isspace() else "") + flat + (" " if text[-1:].isspace() else "")
    return flat
