"""A linear reader for the plainest wikitext, so that mwparserfromhell is only asked about
the rest.

mwparserfromhell builds a tree of Python objects for every node (about 11 µs a node, so
200,000 ``<ref>{{cite web}}</ref>`` took 28 s before archiver read one); most of a
link-dense article is text, ``[url title]``, bare URLs, ``<ref>{{cite ...}}</ref>``,
``{{dead link}}``, ``[[wikilinks]]`` and ``''italics''``, which one regular expression
reads in a pass. ``pieces`` yields those in order, for ``wikitext`` to render with the
very code that renders mwparserfromhell's nodes; the moment it meets anything it cannot
decide exactly as mwparserfromhell would (any other template or tag, a heading, a list,
a table, an entity, a comment, a link with markup in its title, a URL of another
scheme, ``[`` that may open a link, ``''`` it cannot pair...), it raises ``NotPlain`` and
the whole article is read by mwparserfromhell instead. Each piece must render as
mwparserfromhell's nodes for the same characters do: ``tests/test_extract_wikiscan.py``
compares the two readers' citations over generated articles and the fixtures.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mwparserfromhell.definitions import URI_SCHEMES

from archiver.extract.markers import DEAD_LINK_TEMPLATES

# A bracketed URL ends at a space (then its title) or "]"; a free one where a space, a
# newline, a bracket, "<", ">" or '"' follows (with anything else, it is left alone), less
# the punctuation that ends it; parentheses are never in it (mwparserfromhell's rule for
# them depends on where its tokenizer cut the text). Plain parts have none of the
# characters that may start markup.
_URL = r"https?://[A-Za-z0-9][^ \n\[\]<>\"{}|&']*"
_FREE_URL = r"https?://[A-Za-z0-9][^ \n\[\]<>\"{}|&'()]*(?=[ \n\[\]<>\"]|\Z)"
_PLAIN = r"(?:[^\[\]{}<>&|\n']|'(?!'))"
_FIELD = r"(?:[^\[\]{}<>&|']|'(?!'))"
_PIECE = re.compile(
    # Every alternative starts with one of these: the scan skips all else at C speed.
    r"(?=[\[{}<'&:h])(?:"
    rf"\[(?P<bracketed>{_URL})(?:(?P<space> )(?P<title>{_PLAIN}*))?\]"
    rf"|(?<![^\x00-\x7f])(?<![A-Za-z0-9_])(?P<free>{_FREE_URL})"
    r"|\[\[(?P<page>(?:[^\[\]{}<>&|\n:']|'(?!'))+)(?:\|(?P<label>" + _PLAIN + r"*))?\]\]"
    r"|\{\{(?P<template>" + _FIELD + r"+)(?P<fields>(?:\|" + _FIELD + r"*)*)\}\}"
    r"|(?P<ref><ref>)|(?P<unref></ref>)"
    r"|(?<!')(?P<style>'''?)(?!')(?P<styled>[^\[\]{}<>&|\n']+)(?P=style)(?!')"
    r"|(?P<colon>:)"  # after a word that may be a URL's scheme
    # What may be markup, and only mwparserfromhell can tell:
    r"|(?P<markup>\[\[|\[(?://|[A-Za-z0-9+.\-]*:)|[{}]|''|<(?![\s\d=<])|&[#\w])"
    r")"
)
# Line-start markup: headings, lists, definition lists, horizontal rules.
_LINE_MARKUP = re.compile(r"^(?:[=*#:;]|----)", re.MULTILINE)
_SCHEME_WORD = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z0-9_]+):")
_WORD_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_FREE_LINK_PUNCTUATION = ",;\\.:!?"


class NotPlain(Exception):
    """The article holds markup that ``pieces`` leaves to mwparserfromhell."""


@dataclass(slots=True)
class Text:
    start: int
    end: int


@dataclass(slots=True)
class ExternalLink:
    start: int
    url: str
    title: str | None  # None: a free link, or ``[url]`` with no title
    brackets: bool


@dataclass(slots=True)
class PageLink:
    start: int
    page: str
    label: str | None


@dataclass(slots=True)
class CiteTemplate:
    start: int
    fields: dict[str, str]  # name as written, stripped -> value as written (the last one)


@dataclass(slots=True)
class DeadLinkTemplate:
    start: int
    end: int


@dataclass(slots=True)
class RefBoundary:
    """``<ref>`` (``opens``) or ``</ref>``; ``start`` is where the ref's contents start or end."""

    start: int
    opens: bool


Piece = Text | ExternalLink | PageLink | CiteTemplate | DeadLinkTemplate | RefBoundary


def pieces(text: str) -> Iterator[Piece]:
    """The pieces of ``text`` in order; raises ``NotPlain`` where mwparserfromhell must read."""
    line_markup = _LINE_MARKUP.search(text)
    if line_markup is not None:
        raise NotPlain(line_markup.start())
    position = 0
    in_ref = False
    for match in _PIECE.finditer(text):
        kind = match.lastgroup if match.lastgroup != "space" else "bracketed"
        start, end = match.span()
        if kind == "colon":
            if _scheme_before(text, start):
                raise NotPlain(start)
            continue  # "Note:" is text
        if kind == "markup":
            raise NotPlain(start)
        if start > position:
            yield Text(position, start)
        position = end
        if kind in ("bracketed", "title"):
            title = match.group("title")
            if title is not None and (_has_scheme(title) or "''" in title):
                raise NotPlain(start)
            yield ExternalLink(start, match.group("bracketed"), title, True)
        elif kind == "free":
            url = match.group("free")
            kept = url.rstrip(_FREE_LINK_PUNCTUATION)
            position = start + len(kept)
            yield ExternalLink(start, kept, None, False)
        elif kind in ("page", "label"):
            label = match.group("label")
            if label is not None and (_has_scheme(label) or "''" in label):
                raise NotPlain(start)
            yield PageLink(start, match.group("page"), label)
        elif kind in ("template", "fields"):
            yield _template(match)
        elif kind in ("ref", "unref"):
            if in_ref == (kind == "ref"):
                raise NotPlain(start)  # a ref in a ref, or a stray closing tag
            in_ref = not in_ref
            yield RefBoundary(end if in_ref else start, in_ref)
        else:  # ''italic'' or '''bold''': their text
            if _has_scheme(match.group("styled")):
                raise NotPlain(start)
            style = len(match.group("style"))
            yield Text(start + style, end - style)
    if in_ref:
        raise NotPlain(len(text))
    if position < len(text):
        yield Text(position, len(text))


def _template(match: re.Match[str]) -> CiteTemplate | DeadLinkTemplate:
    written = match.group("template")
    name = " ".join(written.replace("_", " ").split()).lower().removeprefix("template:")
    start, end = match.span()
    if "\n" in written.strip() or _has_scheme(written):
        raise NotPlain(start)
    if name in DEAD_LINK_TEMPLATES:
        return DeadLinkTemplate(start, end)
    if not (name.startswith("cite") or name == "citation"):
        raise NotPlain(start)
    fields: dict[str, str] = {}
    for field in match.group("fields").split("|")[1:]:
        key, equals, value = field.partition("=")
        if "\n" in key.strip():
            raise NotPlain(start)
        if equals:  # a positional field is never a cite template's named one
            fields[key.strip()] = value
    return CiteTemplate(start, fields)


def _has_scheme(text: str) -> bool:
    if ":" not in text:
        return False
    return any(word.group(1).lower() in URI_SCHEMES for word in _SCHEME_WORD.finditer(text))


def _scheme_before(text: str, colon: int) -> bool:
    """Whether the word before ``colon`` is a URL scheme, or may be one for all we know
    (a letter outside ASCII touches it)."""
    start = colon
    while start > 0 and text[start - 1] in _WORD_CHARACTERS:
        start -= 1
    if start == colon:
        return False
    if text[start:colon].lower() in URI_SCHEMES:
        return True
    return start > 0 and not text[start - 1].isascii() and text[start - 1].isalnum()
