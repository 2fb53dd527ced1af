"""What a page needs to look as its reader saw it: its requisites, found in HTML and CSS.

A page's *requisites* are the files a browser loads to show it: stylesheets (and what they
``@import``), the images, fonts and other files their ``url()``s name, images (``src``,
``srcset``, ``<picture><source srcset>``), scripts and the icons it declares.
``find_in_html`` and ``find_in_css`` name them, each resolved against its base (a
``<base href>``, the stylesheet's own URL), without a fragment, once per URL; nothing here
goes online (``archiver.storage.wholepage`` fetches them).

Choices that are not obvious:

- **Declared icons only.** A browser also asks for ``/favicon.ico`` when a page declares no
  icon; archives seldom hold it, and a lookup per page that nearly always misses costs
  the archive's budget for nothing, so only ``<link rel="icon">`` (and its kin) is taken.
- **Every ``srcset`` candidate**, since replay picks one by the screen it runs on; they
  come after every other requisite (``Requisite.tier``), so a page's bound is spent on
  what shows first: stylesheets, then fonts, images, icons, scripts, then alternatives.
- **Not requisites**: frames (a page of their own, with its own requisites), audio and
  video sources (often huge), links and prefetches of other pages, ``data:`` URLs (already
  inside the page) and anything that is not http(s).
- CSS is read with patterns (comments removed, then ``@import`` and ``url()``), not
  parsed: every form CSS 2.1 and 3 allow for them is matched, escapes are not undone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree, html  # type: ignore[import-untyped]

__all__ = ["Requisite", "find_in_css", "find_in_html", "is_css", "is_html", "parse_srcset"]

log = logging.getLogger(__name__)

# The order a page's bound is spent in (see the module docstring).
TIERS = {"stylesheet": 0, "font": 1, "image": 2, "icon": 3, "script": 4, "alternative": 5}

_ICON_RELS = {"icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"}
_PRELOADED = {"style": "stylesheet", "script": "script", "font": "font", "image": "image"}


@dataclass(frozen=True)
class Requisite:
    """One file a page needs: its absolute ``url``, its ``kind`` (stylesheet, image, font,
    script, icon), and ``found_in``, the page or stylesheet that names it."""

    url: str
    kind: str
    found_in: str
    alternative: bool = False  # a srcset candidate: replay may show another one

    @property
    def tier(self) -> int:
        return TIERS["alternative" if self.alternative else self.kind]


def is_html(content_type: str, body: bytes) -> bool:
    """Whether a response is an HTML page (by its type, else by its first bytes)."""
    media = content_type.split(";")[0].strip().lower()
    if media:
        return media in ("text/html", "application/xhtml+xml")
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def is_css(content_type: str, url: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "text/css" or (not media and urlsplit(url).path.lower().endswith(".css"))


def _absolute(reference: str | None, base: str) -> str | None:
    """``reference`` resolved against ``base``, without its fragment; None unless http(s)."""
    if reference is None:
        return None
    reference = reference.strip()
    if not reference or reference.startswith("#"):
        return None
    try:
        url = urldefrag(urljoin(base, reference)).url
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def parse_srcset(value: str) -> list[str]:
    """The URLs of a ``srcset`` (candidates split as the HTML standard does: a URL runs to
    whitespace, a comma ending it ends the candidate, a descriptor runs to a comma)."""
    urls: list[str] = []
    position, size = 0, len(value)
    while position < size:
        while position < size and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < size and not value[position].isspace():
            position += 1
        url = value[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            while position < size and value[position] != ",":
                position += 1  # the descriptor ("2x", "640w")
        if url:
            urls.append(url)
    return urls


# -- CSS ----------------------------------------------------------------------------------

_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
_IMPORT = re.compile(
    r"""@import\s+(?:url\(\s*(?P<q1>["']?)(?P<u1>.*?)(?P=q1)\s*\)|(?P<q2>["'])(?P<u2>.*?)(?P=q2))""",
    re.IGNORECASE | re.DOTALL,
)
_URL = re.compile(r"""url\(\s*(?P<q>["']?)(?P<u>.*?)(?P=q)\s*\)""", re.IGNORECASE | re.DOTALL)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)


def find_in_css(text: str, base: str, found_in: str | None = None) -> list[Requisite]:
    """The requisites a stylesheet (or a ``style`` attribute's declarations) names:
    ``@import``s as stylesheets, ``url()``s in ``@font-face`` as fonts, other ``url()``s as
    images. ``base`` resolves them (the stylesheet's URL, or the page's for inline CSS)."""
    text = _COMMENT.sub(" ", text)
    where = found_in or base
    found: list[Requisite] = []
    imported: set[tuple[int, int]] = set()
    for match in _IMPORT.finditer(text):
        named = match.group("u1") if match.group("u1") is not None else match.group("u2")
        url = _absolute(named, base)
        imported.add(match.span())
        if url is not None:
            found.append(Requisite(url, "stylesheet", where))
    fonts = [m.span() for m in _FONT_FACE.finditer(text)]
    for match in _URL.finditer(text):
        if any(start <= match.start() < end for start, end in imported):
            continue
        url = _absolute(match.group("u"), base)
        if url is None:
            continue
        in_font_face = any(start <= match.start() < end for start, end in fonts)
        found.append(Requisite(url, "font" if in_font_face else "image", where))
    return _once(found)


# -- HTML ---------------------------------------------------------------------------------


def find_in_html(body: bytes, base: str) -> list[Requisite]:
    """The requisites an HTML page names (see the module docstring), in document order,
    each URL once; ``base`` is the page's own URL (a ``<base href>`` overrides it)."""
    try:
        root = html.document_fromstring(body) if body.strip() else None
    except (etree.ParserError, ValueError) as e:
        log.info("%s: not parsed as HTML (%s): no requisites taken", base, e)
        return []
    if root is None:
        return []
    for element in root.iter("base"):
        href = _absolute(element.get("href"), base)
        if href is not None:
            base = href
        break
    return _once(list(_requisites_of(root, base)))


def _requisites_of(root: html.HtmlElement, base: str) -> Iterator[Requisite]:
    for element in root.iter(etree.Element):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if tag == "link":
            yield from _from_link(element, base)
        elif tag in ("img", "source"):
            if tag == "img" or _in_picture(element):
                yield from _image(element.get("src"), base)
                for candidate in parse_srcset(element.get("srcset") or ""):
                    yield from _image(candidate, base, alternative=True)
        elif tag == "script":
            url = _absolute(element.get("src"), base)
            if url is not None:
                yield Requisite(url, "script", base)
        elif tag == "input" and (element.get("type") or "").lower() == "image":
            yield from _image(element.get("src"), base)
        elif tag == "style":
            yield from find_in_css(element.text_content(), base)
        if tag in ("body", "table", "td", "th"):
            yield from _image(element.get("background"), base)
        style = element.get("style")
        if style:
            yield from find_in_css(style, base)


def _in_picture(source: html.HtmlElement) -> bool:
    """Whether a ``<source>`` is a ``<picture>``'s (an image), not a video's or audio's."""
    parent = source.getparent()
    return parent is not None and isinstance(parent.tag, str) and parent.tag.lower() == "picture"


def _image(reference: str | None, base: str, *, alternative: bool = False) -> Iterator[Requisite]:
    url = _absolute(reference, base)
    if url is not None:
        yield Requisite(url, "image", base, alternative)


def _from_link(element: html.HtmlElement, base: str) -> Iterator[Requisite]:
    rels = set((element.get("rel") or "").lower().split())
    kind: str | None = None
    if "stylesheet" in rels and "alternate" not in rels:
        kind = "stylesheet"
    elif rels & _ICON_RELS:
        kind = "icon"
    elif "preload" in rels:
        kind = _PRELOADED.get((element.get("as") or "").lower())
    elif "modulepreload" in rels:
        kind = "script"
    if kind is None:
        return
    url = _absolute(element.get("href"), base)
    if url is not None:
        yield Requisite(url, kind, base)
    if kind == "image":
        for candidate in parse_srcset(element.get("imagesrcset") or ""):
            yield from _image(candidate, base, alternative=True)


def _once(found: list[Requisite]) -> list[Requisite]:
    """Each URL once, as first named (an alternative named again as a plain image is one)."""
    kept: dict[str, Requisite] = {}
    for requisite in found:
        earlier = kept.get(requisite.url)
        if earlier is None or (earlier.alternative and not requisite.alternative):
            kept[requisite.url] = requisite
    return list(kept.values())
