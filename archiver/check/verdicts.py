"""What one answer alone says of a link, before any soft-404 comparison: the verdict its
status supports, a bot wall or challenge page in its place, and whether its URL names a
file (which the checker asks with HEAD, see ``archiver.check.checker``).

Pure functions of a status, an answer or a URL, apart from the requests: the checker
asks them of every link.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from archiver.models import Verdict
from archiver.net.aioclient import Response
from archiver.net.urls import AUTHORITY

# 999: LinkedIn's (and a few others') answer to clients it takes for bots
BLOCKED_STATUSES = {401, 402, 403, 407, 429, 451, 999}
DEAD_STATUSES = {404, 410}
FILE_EXTENSIONS = {
    "pdf", "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "png", "jpg", "jpeg", "gif",
    "webp", "svg", "tif", "tiff", "mp3", "mp4", "m4a", "wav", "ogg", "webm", "mov", "avi",
    "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "epub", "csv", "iso", "dmg",
}  # fmt: skip
CHALLENGE_WORDS = (
    "just a moment...",
    "attention required! | cloudflare",
    "checking your browser",
    "are you a robot",
    "verify you are human",
    "captcha",
    "ddos protection by",
    "access denied",
    "request unsuccessful. incapsula",
)


@functools.cache  # three digits: at most 1,000 statuses, each worked out once
def verdict_for_status(status: int) -> tuple[Verdict, str]:
    """The verdict an HTTP status alone supports, and the reason to show."""
    if 200 <= status < 300:
        return Verdict.ALIVE, f"HTTP {status}"
    if status in DEAD_STATUSES:
        return Verdict.DEAD, f"HTTP {status}: {'gone' if status == 410 else 'not found'}"
    if status in BLOCKED_STATUSES:
        return Verdict.BLOCKED, f"HTTP {status}: access refused to this client, not proof of death"
    if status >= 500:
        return Verdict.SERVER_ERROR, f"HTTP {status}: the server failed"
    if 300 <= status < 400:
        return Verdict.SERVER_ERROR, f"HTTP {status}: redirect without a usable Location"
    return Verdict.BLOCKED, f"HTTP {status}: the server refused the request; inconclusive"


def alive_reason(answer: Response) -> str:
    """The reason shown for a link found alive."""
    reason = f"HTTP {answer.status}"
    if answer.redirects:
        reason += f" after {answer.redirects} redirect(s)"
    if answer.method == "HEAD":
        reason += f" (HEAD; {answer.content_type or 'no type'})"
    return reason


def looks_like_file(url: str) -> bool:
    """Whether ``url``'s path ends in a file name with one of ``FILE_EXTENSIONS``."""
    if url.rfind(".") < url.rfind("/") and "?" not in url and "#" not in url:
        return False  # no dot after the last slash: most pages' URLs, decided at once
    return _names_a_file(url)


def _names_a_file(url: str) -> bool:
    """``looks_like_file`` the long way: the path's last segment read out."""
    authority = AUTHORITY.match(url)
    path = url[authority.end() :] if authority else urlsplit(url).path
    last = path.partition("?")[0].partition("#")[0].rsplit("/", 1)[-1]
    return "." in last and last.rsplit(".", 1)[1].lower() in FILE_EXTENSIONS


def bot_wall(answer: Response) -> str | None:
    """What shows that ``answer`` is a bot wall or challenge page, if anything does."""
    if answer.headers.get("cf-mitigated", "").lower() == "challenge":
        return "a bot wall (cf-mitigated: challenge)"
    head = answer.body[:8192].decode("utf-8", errors="replace").lower()
    for words in CHALLENGE_WORDS:
        if words in head:
            return f"a bot wall or challenge page ({words!r})"
    return None
