"""Recognising a "not found" page served with a success status (a soft-404).

Following Bar-Yossef et al. ("Sic Transit Gloria Telae", WWW 2004), the strongest
evidence is comparative: ask the same host for a URL in the same directory that surely
does not exist. A host that answers that with a real 404 serves honest statuses; a host
that answers 200 shows us its "not found" page, and a cited page that looks the same is
one. Two cheaper signals need no probe: a redirect to the site's home page or to a
/404-style page, and a title or heading that says "not found" (in several languages).

The functions here are pure (pages in, evidence out) so the live checker and the memento
selector share them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

# Phrases that a "not found" page puts in its title or main heading.
NOT_FOUND_PHRASES = [
    r"^\W*404\b",
    r"\b404 error|error 404",
    r"page (?:was )?not found",
    r"not found",
    r"page (?:you requested )?(?:could not|cannot|can't|couldn't) be found",
    r"no longer (?:available|exists?)",
    r"page (?:does not|doesn't) exist",
    r"(?:seite|datei) nicht gefunden",  # de
    r"página no encontrada|no se encontr[oó]",  # es
    r"page introuvable|page non trouvée",  # fr
    r"pagina non trovata",  # it
    r"pagina niet gevonden",  # nl
    r"página não encontrada",  # pt
    r"страница не найдена",  # ru
    r"nie znaleziono strony",  # pl
    r"sayfa bulunamadı",  # tr
    r"找不到|页面不存在|頁面不存在",  # zh
    r"ページが見つかりません",  # ja
    r"페이지를 찾을 수 없습니다",  # ko
]
_NOT_FOUND = re.compile("|".join(f"(?:{p})" for p in NOT_FOUND_PHRASES), re.IGNORECASE)
# Whatever a phrase above matches holds one of these once lowercased. Looking for them
# (~1 us) spares nearly every page the search for all the phrases (~10 us per title or
# text, ~35 ms of scenario A's first wave in bench/). None has an "i", "s" or "k", nor
# the Cyrillic letters that the search's ignore-case also finds in letters lower() keeps
# apart ("ı", "ſ", "ᲁ"), so the look never rules out what the search would find.
_NOT_FOUND_WORDS = (
    "404",
    "found",
    "no longer",
    "page doe",
    "gefunden",
    "encontr",
    "trouv",
    "trovata",
    "gevonden",
    "ница не на",
    "znalez",
    "bulunamad",
    "找不到",
    "不存在",
    "ページが見つかりません",
    "페이지를 찾을 수 없습니다",
)
_MAY_SAY_NOT_FOUND = re.compile("|".join(re.escape(word) for word in _NOT_FOUND_WORDS))
_ERROR_PATH = re.compile(
    r"(?:^|/)(?:404|not[-_]?found|page[-_]?not[-_]?found|error(?:[-_]?404)?)(?:\.\w+)?/?$",
    re.IGNORECASE,
)
SIMILAR_ENOUGH = 90.0  # rapidfuzz ratio (0-100) above which two pages count as the same


@dataclass(frozen=True)
class PageSummary:
    """What the detector needs of a page: where it ended up, status, title, text."""

    url: str
    final_url: str
    status: int
    title: str
    text: str

    @cached_property
    def comparable(self) -> str:
        """Title and text with the page's own URL words removed, so two error pages
        naming different missing URLs still compare as equal. Kept once worked out: a
        host's probe is compared with every page in its directory."""
        text = f"{self.title} {self.text}"
        for url in (self.url, self.final_url):
            path = _parts(url)[2]
            for piece in [url, path, *path.split("/")]:
                if len(piece) > 2:
                    text = text.replace(piece, " ")
        text = re.sub(r"\d+", "#", text)
        return " ".join(text.split()).lower()

    def comparable_at_most(self) -> int:
        """A length ``comparable`` cannot exceed, known without working it out: its
        removals, its digits and spaces made one character each, only shorten the title
        and text, and lower() keeps the length of ASCII text (only that of some other
        letters grows, such as "İ", two letters lowercased: for those it is worked out)."""
        if self.title.isascii() and self.text.isascii():
            return len(self.title) + 1 + len(self.text)
        return len(self.comparable)


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_HEADING = re.compile(rb"<h[12][^>]*>(.*?)</h[12]\s*>", re.IGNORECASE | re.DOTALL)
_INVISIBLE = re.compile(
    rb"<(script|style|noscript|template)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(rb"<[^>]*>")


def _plain(fragment: bytes) -> str:
    return " ".join(html.unescape(_TAG.sub(b" ", fragment).decode("utf-8", "replace")).split())


def _starts_like_html(body: bytes) -> bool:
    return body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))


def summarise(url: str, final_url: str, status: int, body: bytes, content_type: str) -> PageSummary:
    """Title and visible text of an HTML page (empty for other types).

    Regular expressions rather than a parser: the checker summarises every page it
    fetches, and a full parse costs more than the rest of the check together. Only the
    title and the rough text are needed, and both survive malformed markup.
    """
    title = ""
    text = ""
    # (the body's start looked at only when the type does not say: lstrip copies it all)
    if "html" in content_type.lower() or _starts_like_html(body):
        visible = _INVISIBLE.sub(b" ", body)
        match = _TITLE.search(visible) or _HEADING.search(visible)
        if match:
            title = _plain(match.group(1))
        text = _plain(visible)
    return PageSummary(url=url, final_url=final_url, status=status, title=title, text=text)


def not_found_wording(page: PageSummary) -> str | None:
    """The "not found" words in the page's title, or in the body of a very short page."""
    # A long title that merely mentions "404" is an article, not an error page.
    if len(page.title) <= 80 and _may_say_not_found(page.title) and _NOT_FOUND.search(page.title):
        return f"its title says {page.title!r}"
    if len(page.text) < 600 and _may_say_not_found(page.text):
        match = _NOT_FOUND.search(page.text)
        if match:
            return f"its text says {match.group(0)!r}"
    return None


def _may_say_not_found(text: str) -> bool:
    return _MAY_SAY_NOT_FOUND.search(text.lower()) is not None


def redirect_evidence(page: PageSummary) -> str | None:
    """A redirect that replaced the page with the home page or an error page."""
    if page.final_url == page.url:
        return None
    asked, landed = urlsplit(page.url), urlsplit(page.final_url)
    asked_path = asked.path.rstrip("/")
    landed_path = landed.path.rstrip("/")
    if asked_path and not landed_path and not landed.query:
        return f"redirected to the home page ({page.final_url})"
    if _ERROR_PATH.search(landed.path) and not _ERROR_PATH.search(asked.path):
        return f"redirected to an error page ({page.final_url})"
    return None


def probe_evidence(page: PageSummary, probe: PageSummary) -> str | None:
    """Compare a page with what the host answered for a made-up URL in the same directory."""
    if not 200 <= probe.status < 300:
        return None  # the host says "404" honestly; its 200s can be believed
    if probe.final_url != probe.url and probe.final_url == page.final_url:
        return f"redirected to where made-up URLs go ({page.final_url})"
    probe_length = len(probe.comparable)
    at_most = page.comparable_at_most()
    # Shorter than the probe's text by more than the similarity allows, however much
    # shorter it is once worked out: as most pages of a site are than its "not found"
    # page (scenario C in bench/: 75,000 a process, ~5 us each).
    if at_most <= probe_length and not could_be_similar(at_most, probe_length):
        return None
    if not could_be_similar(len(page.comparable), probe_length):
        return None
    from rapidfuzz import fuzz  # here, not at start-up: most pages need no comparing

    score = fuzz.ratio(page.comparable, probe.comparable)
    if score >= SIMILAR_ENOUGH:
        return f"same page the site serves for a made-up URL (similarity {score:.0f}%)"
    return None


def could_be_similar(length: int, other: int) -> bool:
    """Whether texts of these lengths can reach ``SIMILAR_ENOUGH``: rapidfuzz's ratio is
    100 * 2 * (characters in common, in order) / (both lengths), so at most
    100 * 2 * shorter / both. Most pages differ in length from their site's "not found"
    page by more than that allows, and need neither the comparison nor its import."""
    return 200 * min(length, other) >= SIMILAR_ENOUGH * (length + other)


def probe_url_for(url: str, token: str) -> str:
    """A URL in the same directory as ``url`` that surely does not exist."""
    origin, directory = probe_key(url)
    return f"{origin}{directory}/{token}"


def probe_key(url: str) -> tuple[str, str]:
    """``url``'s origin and directory: the pages that one probe answers for."""
    scheme, netloc, path = _parts(url)
    directory = path.rsplit("/", 1)[0] if "/" in path else ""
    return (f"{scheme}://{netloc}", directory)


# An absolute URL's scheme, authority and path, in the shape nearly every one has; what
# urlsplit reads otherwise (it took ~2 us a page, asked three times for each).
_PARTS = re.compile(
    r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#\[\]\t\r\n]*)((?:/[^?#\t\r\n]*)?)(?=[?#]|$)"
)


def _parts(url: str) -> tuple[str, str, str]:
    """``urlsplit(url)``'s scheme, netloc and path (tests/test_check.py compares them)."""
    match = _PARTS.match(url)
    if match is None or not match[2].isascii():
        parts = urlsplit(url)
        return parts.scheme, parts.netloc, parts.path
    return match[1].lower(), match[2], match[3]
