"""Reading one capture and judging whether it is the page the author cited.

A capture is read through its archive (``Archive.read``), whatever the archive's kind, and
judged on what came back:

- an answer that is not a capture (the archive's own 404 or 5xx) is no copy; a 404 is
  kept as a verdict, anything else may be the archive's passing trouble and is asked
  again on a later run;
- a captured redirect is followed inside the archive, to the capture the archive serves
  for its target, which then stands for the memento; unless it leads to the site's home
  page (``archiver.check.soft404.redirect_evidence``), loops, or goes further than
  ``MAX_CAPTURED_REDIRECTS``;
- a captured error is rejected, and so is a 200 that says "Page not found" (a soft-404,
  the live checker's detector in ``archiver.check.soft404``);
- anything else is accepted, with the text a reader sees of it for the quote search
  (``archiver.quotes.pagetext``: in the page's charset, without hidden elements), the
  text the ``quotes`` stage searches too.

Verdicts are kept for good (``LookupCache``) where the archive's ``verdicts_last`` says so:
archived bodies do not change, local files may.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archiver.archives.cache import ContentVerdict
from archiver.check.soft404 import PageSummary, not_found_wording, redirect_evidence, summarise
from archiver.models import Memento
from archiver.quotes.pagetext import reader_text

if TYPE_CHECKING:
    from archiver.archives.base import Archive, ArchivedResponse
    from archiver.net.polite import Net

MAX_CAPTURED_REDIRECTS = 5


@dataclass(frozen=True)
class Judgement:
    """A verdict on a capture, with what the quote search needs.

    ``text`` is the capture's reader text (``archiver.quotes.pagetext``), when accepted
    and textual;
    ``lasting`` False means the verdict may change (the archive failed to replay it, or
    the capture is in local files): it is not remembered.
    """

    verdict: ContentVerdict
    text: str | None
    lasting: bool


@dataclass
class _Reading:
    """One memento being read: the captured redirects followed from it so far, and what
    the archive said of its neighbours."""

    memento: Memento
    lasting: bool
    followed: list[str] = field(default_factory=list)  # targets of captured redirects
    previous: Memento | None = None
    first: bool = False

    def rejected(self, reason: str, lasting: bool = True) -> Judgement:
        verdict = ContentVerdict(False, reason, None, self.previous, self.first)
        return Judgement(verdict, None, self.lasting and lasting)


def judge(memento: Memento, archive: Archive, net: Net) -> Judgement:
    """Read ``memento`` from ``archive`` (following captured redirects) and judge it.

    Raises ``NetworkError`` when the archive cannot be reached or asks for a pause.
    """
    reading = _Reading(memento, archive.verdicts_last)
    current = memento
    for hop in range(MAX_CAPTURED_REDIRECTS + 1):
        response = archive.read(current, net)
        redirected = 300 <= response.status < 400
        if not response.captured and not redirected:
            return _not_a_capture(reading, response.status)
        if hop == 0:
            reading.previous, reading.first = response.previous, response.first
        if not redirected:
            return _judge_page(reading, response)
        problem = _redirect_problem(reading, response)
        if problem is not None:
            return reading.rejected(problem)
        assert response.redirect is not None and response.redirect.capture is not None
        reading.followed.append(response.redirect.url)
        current = response.redirect.capture
    return reading.rejected(f"more than {MAX_CAPTURED_REDIRECTS} captured redirects")


def _not_a_capture(reading: _Reading, status: int) -> Judgement:
    if status == 404 and reading.followed:
        return reading.rejected(
            f"captured redirect to {reading.followed[-1]}, which is not archived"
        )
    if status == 404:
        return reading.rejected("the archive has no capture at its replay URL")
    return reading.rejected(f"the archive could not replay it (HTTP {status})", lasting=False)


def _redirect_problem(reading: _Reading, response: ArchivedResponse) -> str | None:
    """Why a captured redirect is not followed, or None when it is."""
    redirect, original = response.redirect, response.memento.original
    if redirect is None:
        return f"captured redirect {response.status} without a usable Location"
    page = PageSummary(
        url=original, final_url=redirect.url, status=response.status, title="", text=""
    )
    evidence = redirect_evidence(page)
    if evidence is not None:  # "redirected to the home page (...)"
        return "captured " + evidence.replace("redirected", "redirect", 1)
    if redirect.url in (original, reading.memento.original, *reading.followed):
        return f"captured redirect loop through {redirect.url}"  # http -> https is no loop
    if redirect.capture is None:
        return f"captured redirect to {redirect.url}, which is not archived"
    return None


def _judge_page(reading: _Reading, response: ArchivedResponse) -> Judgement:
    """Judge a capture that is not a redirect: its status, then its words."""
    status, served = response.status, response.memento
    where = (
        f"captured redirect to {reading.followed[-1]}, whose capture " if reading.followed else ""
    )
    if not 200 <= status < 300:
        return reading.rejected(
            f"{where}has status {status}" if where else f"captured status {status}"
        )
    content_type = response.content_type
    page = summarise(served.original, served.original, status, response.body, content_type)
    wording = not_found_wording(page)
    if wording is not None:
        return reading.rejected(
            f"{where}is a soft-404: {wording}" if where else f"soft-404: {wording}"
        )
    note = ""
    if served.original != reading.memento.original:  # followed by us, or by the archive itself
        captured = (response.datetime or served.datetime)[:10]
        note = f"its capture redirected to {served.original} (captured {captured})"
    verdict = ContentVerdict(True, note, served, reading.previous, reading.first)
    text = reader_text(response.body, content_type)  # None for a PDF or an image
    return Judgement(verdict, text, reading.lasting)
