"""What a wikitext node says, read off mwparserfromhell's tree for ``wikitext``.

Template parameters as plain text, tag attributes, where a tag's contents start in the
source (``Tag.__str__`` would rebuild them whole), an image's caption, which templates
are laid out as boxes, and whether a text may still hold markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from mwparserfromhell.nodes import Comment, ExternalLink, Tag, Template, Text

from archiver.extract.hrefs import resolve_href

_DEAD_STATUS = frozenset({"dead", "yes", "y", "true"})
_LINE_MARKUP = re.compile(r"^[=*#:;{]", re.MULTILINE)
_SCHEME = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def may_hold_markup(value: str) -> bool:
    """Whether ``value`` has anything mwparserfromhell could read as markup (linear)."""
    return (
        ("{{" in value and "}}" in value)
        or ("[" in value and "]" in value)
        or ("<" in value and ">" in value)
        or "''" in value
        or "://" in value
        or _LINE_MARKUP.search(value) is not None
    )


def is_ref(node: Any) -> bool:
    return isinstance(node, Tag) and str(node.tag).strip().lower() == "ref"


def cites(nodes: Sequence[Any]) -> bool:
    """Whether ``nodes`` hold anything that may be a citation."""
    return any(isinstance(node, Tag | Template | ExternalLink) for node in nodes)


def image_caption(nodes: Sequence[Any], offset: int) -> tuple[list[Any], int]:
    """The caption of an image link (what follows its last ``|``) and its offset."""
    position = offset
    start, start_offset = 0, offset
    head: list[Any] = []
    for index, node in enumerate(nodes):
        text = str(node)
        if isinstance(node, Text) and "|" in text:
            cut = text.rindex("|") + 1
            start, start_offset = index + 1, position + cut
            head = [Text(text[cut:])] if cut < len(text) else []
        position += len(text)
    return head + list(nodes[start:]), start_offset


def laid_out_as_box(node: Any, name: str) -> bool:
    """An infobox, or a template written one field a line."""
    if name.startswith("infobox"):
        return True
    for code in (node.name, *(param.value for param in node.params)):
        last = code.nodes[-1] if code.nodes else None
        if isinstance(last, Text) and "\n" in str(last)[len(str(last).rstrip()) :]:
            return True
    return False


def url_template(node: Any) -> tuple[str | None, str]:
    """``{{URL|example.com|shown}}``: the URL (http:// when none is written) and its text."""
    written = param_text(node, "1", "url", raw=True)
    if not written:
        return None, ""
    url = absolute_url(written if _SCHEME.match(written) else "http://" + written)
    shown = param_text(node, "2") or _SCHEME.sub("", written).removesuffix("/")
    return url, shown


def attribute_text(tag: Any, name: str) -> str:
    return str(tag.get(name).value).strip() if tag.has(name) else ""


def opening_length(tag: Any) -> int:
    """Characters before a tag's contents (mirrors ``Tag.__str__``)."""
    attributes = sum(len(str(attribute)) for attribute in tag.attributes)
    padding = len(tag.padding or "")
    if tag.wiki_markup:
        return len(tag.wiki_markup) + attributes + padding + len(tag.wiki_style_separator or "")
    return (3 if tag.invalid else 2) + len(str(tag.tag)) + attributes + padding


def closing_length(tag: Any) -> int:
    if tag.wiki_markup:
        return len(tag.closing_wiki_markup or "")
    return 3 + len(str(tag.closing_tag))


_URL_PARAMETERS = frozenset({"url", "chapter-url", "chapterurl", "archive-url", "archiveurl"})


def param_text(node: Any, *names: str, raw: bool = False) -> str:
    """The first of ``names`` that the template sets, as plain text ("" if none).

    URLs (and any value when ``raw``) are taken as written minus comments; other values
    with markup stripped.
    """
    return first_text(lambda name: _value_text(node, name, raw), names)


def first_text(value_of: Callable[[str], str | None], names: Sequence[str]) -> str:
    """The first of ``names`` whose value (``value_of``, None if unset) is not blank, with
    its whitespace normalised ("" if none)."""
    for name in names:
        text = value_of(name)
        if text is not None and text.strip():
            return " ".join(text.split())
    return ""


def _value_text(node: Any, name: str, raw: bool) -> str | None:
    if not node.has(name):
        return None
    value = node.get(name).value
    if raw or name in _URL_PARAMETERS:
        return "".join(str(n) for n in value.nodes if not isinstance(n, Comment))
    return str(value.strip_code())


def dead_status(node: Any) -> str | None:
    return dead_status_of(lambda name: str(node.get(name).value) if node.has(name) else None)


def dead_status_of(value_of: Callable[[str], str | None]) -> str | None:
    """``url-status=dead`` (or an older spelling) as written, from the values of a cite
    template's fields (``value_of``, None if unset)."""
    for name in ("url-status", "dead-url", "deadurl"):
        value = value_of(name)
        if value is not None and value.strip().lower() in _DEAD_STATUS:
            return f"{name}={value.strip()}"
    return None


def absolute_url(url: str) -> str | None:
    value = url.strip()
    if value.startswith("//"):
        value = "https:" + value
    return resolve_href(value, None)
