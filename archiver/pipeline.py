"""The whole job: extract → check → find → select → store, ending in a report.

Each stage stays a plain function; this module only wires them together, decides which
copy of each source is "best", and collects what happened into a ``RunReport`` that the
CLI renders. Per-citation trouble (an archive that did not answer, a capture that failed)
is recorded in that citation's result, so one bad source never stops the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests

from archiver.archives.cache import LookupCache
from archiver.archives.specs import parse_archive_spec
from archiver.check.links import check_urls
from archiver.config import Settings
from archiver.dates import date_to_datetime, parse_iso, to_iso, utcnow
from archiver.errors import ArchiverError, InputError, NetworkError
from archiver.extract import Article, parse_article_bytes, read_article
from archiver.models import Citation, LinkCheck, Recovery, Selection, Verdict, _Serialisable
from archiver.net.http import build_session, fetch
from archiver.net.urls import validate_url
from archiver.recover.removed import apply_recovery, is_removed_link, recover_removed_links
from archiver.save.spn import InternetArchiveKeys, SaveResult, save_urls
from archiver.select.choose import find_best_memento
from archiver.state import State
from archiver.storage.store import Capture, Store

if TYPE_CHECKING:
    from archiver.archives.base import Archive


@dataclass(frozen=True)
class CitationResult(_Serialisable):
    citation: Citation
    check: LinkCheck | None = None
    selection: Selection | None = None
    captures: tuple[Capture, ...] = ()
    notes: tuple[str, ...] = ()
    saved: SaveResult | None = None  # Save Page Now's capture of the live page (--save-live)
    recovery: Recovery | None = None  # a removed link looked for in the article's old copies


@dataclass(frozen=True)
class RunReport(_Serialisable):
    article: str
    started_at: str
    finished_at: str
    store: str
    results: tuple[CitationResult, ...] = field(default_factory=tuple)

    @property
    def dead_links(self) -> int:
        return sum(1 for r in self.results if r.check is not None and r.check.verdict.is_failure)

    @property
    def offline(self) -> bool:
        """True when every link check found this machine offline (nothing was looked up)."""
        checks = [r.check for r in self.results if r.check is not None]
        return bool(checks) and all(c.verdict is Verdict.OFFLINE for c in checks)

    @property
    def failed_saves(self) -> int:
        return sum(1 for r in self.results if r.saved is not None and not r.saved.status.is_success)

    def summary(self) -> dict[str, int]:
        verdicts: dict[str, int] = {}
        saves: dict[str, int] = {}
        for result in self.results:
            key = result.check.verdict.value if result.check else "removed"
            verdicts[key] = verdicts.get(key, 0) + 1
            if result.saved is not None:
                saves[result.saved.status.value] = saves.get(result.saved.status.value, 0) + 1
        return {
            "citations": len(self.results),
            "dead": self.dead_links,
            "recovered": sum(1 for r in self.results if r.recovery and r.recovery.url),
            "with_memento": sum(1 for r in self.results if r.selection and r.selection.memento),
            "captures": sum(len(r.captures) for r in self.results),
            **{f"verdict_{k}": v for k, v in sorted(verdicts.items())},
            **{f"save_{k}": v for k, v in sorted(saves.items())},
        }

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["summary"] = self.summary()
        return data


def load_article(source: str, settings: Settings) -> Article:
    """Read an article from a file, '-' (stdin) or an http(s) URL."""
    if "://" not in source:
        return read_article(source)
    url = validate_url(source)
    with build_session(settings) as session:
        try:
            answer = fetch(session, url, settings)
        except requests.RequestException as e:
            raise NetworkError(f"cannot fetch the article {url}: {e}") from e
    if not 200 <= answer.status < 300:
        raise NetworkError(f"cannot fetch the article {url}: HTTP {answer.status}")
    if answer.truncated:
        raise InputError(f"the article {url} is larger than {settings.max_bytes} bytes")
    return parse_article_bytes(answer.body, answer.final_url, answer.header("Content-Type"))


def citation_date(citation: Citation) -> datetime | None:
    """The moment whose copy we want: the archive link's date, else the citation date."""
    if citation.archived_at:
        return parse_iso(citation.archived_at)
    if citation.cited_at:
        return date_to_datetime(parse_iso(citation.cited_at).date())
    return None


def citation_label(article: Article, citation: Citation) -> str:
    return f"{article.source}#L{citation.line}"


def run_pipeline(
    article: Article,
    citations: Sequence[Citation],
    settings: Settings,
    *,
    capture: bool = True,
    save_live: InternetArchiveKeys | None = None,
    on_progress: Callable[[str], None] | None = None,
    clock: Callable[[], datetime] = utcnow,
    article_url: str | None = None,
) -> RunReport:
    """Check every cited URL, choose a memento for each, and store the best copies.

    With ``save_live`` (Internet Archive keys), every alive URL is also submitted to Save
    Page Now; keys refused or an unusable endpoint stop the run (SetupError, NetworkError).
    Removed links (a marker, no URL) are first looked for in archived copies of the
    article (``archiver.recover.removed``), at ``article_url`` or else ``article.url``; those
    recovered are then checked and archived like the rest.
    """
    started = to_iso(clock())
    archives = [parse_archive_spec(spec) for spec in settings.archives]
    say = on_progress or (lambda _message: None)
    if article_url is not None:
        article_url = validate_url(article_url)
    with State(settings.state_file) as state, build_session(settings) as session:
        cache = LookupCache(state)  # archive answers, kept so a rerun need not ask again
        recoveries: list[Recovery | None] = [None] * len(citations)
        if any(is_removed_link(c) for c in citations):
            say("looking for removed links in archived copies of the article")
            recoveries = recover_removed_links(
                article,
                citations,
                archives,
                session,
                settings,
                article_url=article_url,
                cache=cache,
            )
            citations = [apply_recovery(c, r) for c, r in zip(citations, recoveries, strict=True)]
        urls = [c.url for c in citations if c.url]
        say(f"checking {len(set(urls))} URL(s)")
        checks = {check.url: check for check in check_urls(urls, settings, state=state)}
        offline = bool(checks) and all(c.verdict is Verdict.OFFLINE for c in checks.values())
        saved: dict[str, SaveResult] = {}
        if save_live is not None:
            alive = [url for url, check in checks.items() if check.verdict is Verdict.ALIVE]
            say(f"saving {len(alive)} live URL(s) with Save Page Now")
            saved = {r.url: r for r in save_urls(alive, settings, save_live).results}
        store = Store(settings.store) if capture else None
        results = []
        for number, citation in enumerate(citations, 1):
            say(f"[{number}/{len(citations)}] {citation.url or citation.marker}")
            if offline:  # every archive lookup would fail the same way: ask none
                note = "not looked up: this machine seems to be offline"
                results.append(
                    CitationResult(citation, check=checks.get(citation.url or ""), notes=(note,))
                )
                continue
            result = _process(
                article,
                citation,
                checks,
                archives,
                store,
                session,
                settings,
                cache=cache,
                recovery=recoveries[number - 1],
            )
            if citation.url in saved:
                result = replace(result, saved=saved[citation.url])
            results.append(result)
    return RunReport(
        article=article.source,
        started_at=started,
        finished_at=to_iso(clock()),
        store=str(settings.store),
        results=tuple(results),
    )


def _process(
    article: Article,
    citation: Citation,
    checks: dict[str, LinkCheck],
    archives: Sequence[Archive],
    store: Store | None,
    session: requests.Session,
    settings: Settings,
    *,
    cache: LookupCache | None = None,
    recovery: Recovery | None = None,
) -> CitationResult:
    if citation.url is None:
        note = (
            "the link was removed from the text; recovering it needs an archived copy of "
            "the article itself"
        )
        if recovery is not None:
            note = f"the link was removed from the text and not recovered: {recovery.reason}"
        return CitationResult(citation=citation, notes=(note,), recovery=recovery)
    check = checks.get(citation.url)
    notes: list[str] = []
    if recovery is not None and recovery.url is not None:
        notes.append(f"the removed link's URL was {recovery.reason}")
    selection: Selection | None = None
    try:
        selection = find_best_memento(
            citation.url,
            citation_date(citation),
            archives,
            session,
            settings,
            quote=citation.quote,
            cache=cache,
        )
    except ArchiverError as e:
        notes.append(f"archive lookup failed: {e}")
    captures: list[Capture] = []
    if store is not None:
        label = [citation_label(article, citation)]
        if selection is not None and selection.memento is not None:
            try:
                captures.append(store.capture_memento(selection.memento, session, settings, label))
            except ArchiverError as e:
                notes.append(f"storing the memento failed: {e}")
        if check is not None and check.verdict is Verdict.ALIVE:
            try:
                captures.append(store.capture_live(citation.url, session, settings, label))
            except ArchiverError as e:
                notes.append(f"live capture failed: {e}")
    return CitationResult(
        citation=citation,
        check=check,
        selection=selection,
        captures=tuple(captures),
        notes=tuple(notes),
        recovery=recovery,
    )
