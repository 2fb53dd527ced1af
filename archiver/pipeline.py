"""The whole job: extract → check → find → select → store, ending in a report.

Each stage stays a plain function; this module only wires them together, decides which
copy of each source is "best", and collects what happened into a ``RunReport``.
Per-citation trouble (an archive that did not answer, a capture that failed) is recorded
in that citation's result, so one bad source never stops the run. ``finish_run`` ends a
run (the store verified, the report written) for ``archiver run`` and the demo alike;
``find_copy`` and ``check_and_save`` are the ``find`` and ``save`` commands' stages, run
alone. What any of it looks like on screen is ``archiver.report``'s business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from archiver.archives.base import by_spec
from archiver.archives.cache import LookupCache
from archiver.archives.specs import parse_archive_spec
from archiver.check.links import check_urls, found_offline
from archiver.config import Settings
from archiver.dates import SYSTEM_CLOCK, RunClock, date_to_datetime, parse_iso, to_iso
from archiver.durable import file_error, replace_file
from archiver.errors import ArchiverError, InputError, NetworkError, StoreError
from archiver.extract import Article, parse_article_bytes, read_article
from archiver.models import Citation, LinkCheck, Recovery, Selection, Verdict, _Serialisable
from archiver.net.http import build_session, fetch
from archiver.net.polite import Net
from archiver.net.urls import validate_url
from archiver.quotes.inrun import check_run_quotes
from archiver.quotes.result import QuoteResult, quote_summary
from archiver.recover.removed import apply_recovery, is_removed_link, recover_removed_links
from archiver.report.html_report import render_html
from archiver.report.json_format import to_json
from archiver.save.keys import InternetArchiveKeys
from archiver.save.results import SaveReport, SaveResult
from archiver.save.run import save_checks, save_urls
from archiver.select.choose import find_best_memento
from archiver.state import State, open_state
from archiver.storage.store import Capture, Store
from archiver.storage.verify import VerifyReport, verify_store

if TYPE_CHECKING:
    from archiver.archives.base import Archive


@dataclass(frozen=True)
class NotStored(_Serialisable):
    """A capture the run should have stored and did not: the memento chosen, or the live
    page of an alive link, and why (the archive failed to serve it, the disk was full)."""

    source: str  # "memento" or "live", as Capture.source
    url: str  # the cited URL
    citations: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class CitationResult(_Serialisable):
    citation: Citation
    check: LinkCheck | None = None
    selection: Selection | None = None
    captures: tuple[Capture, ...] = ()
    notes: tuple[str, ...] = ()
    saved: SaveResult | None = None  # Save Page Now's capture of the live page (--save-live)
    recovery: Recovery | None = None  # a removed link looked for in the article's old copies
    not_stored: tuple[NotStored, ...] = ()


OFFLINE_NOTE = (
    "live links were not checked: this machine seems to be offline (no link answered, "
    "nor {canary}); copies come from the archives that could be reached"
)
NO_ARCHIVE_NOTE = "not looked up: no archive could be reached"
UNREACHABLE = frozenset({"no-such-host", "dns-temporary", "connect", "timeout", "tls"})


@dataclass(frozen=True)
class RunReport(_Serialisable):
    article: str
    started_at: str
    finished_at: str
    store: str
    results: tuple[CitationResult, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()  # about the whole run (OFFLINE_NOTE)
    # Why storing stopped before the run's end (the store cannot be written: a full disk,
    # a read-only folder); the captures after it were not tried. None: it did not stop.
    store_stopped: str | None = None
    quotes: tuple[QuoteResult, ...] = ()  # each quoted passage checked (archiver.quotes)

    @property
    def dead_links(self) -> int:
        return sum(1 for r in self.results if r.check is not None and r.check.verdict.is_failure)

    @property
    def offline(self) -> bool:
        """True when the link checks found this machine offline (the archives that could
        be reached were still asked)."""
        return found_offline(r.check for r in self.results if r.check is not None)

    @property
    def unrecovered_links(self) -> int:
        """Links removed from the text whose URL no archived copy of the article gave back."""
        return sum(1 for r in self.results if r.citation.url is None)

    @property
    def not_stored(self) -> tuple[NotStored, ...]:
        """The captures this run should have stored and did not."""
        return tuple(failure for r in self.results for failure in r.not_stored)

    @property
    def failed_saves(self) -> int:
        return sum(1 for r in self.results if r.saved is not None and not r.saved.status.is_success)

    def problems(self, verification: str | None = None) -> list[str]:
        """What the run found wrong, in a few words each (``verification``: what its
        store's verification found, when it failed)."""
        found = []
        if self.dead_links:
            found.append(f"{self.dead_links} dead link(s)")
        if self.unrecovered_links:
            found.append(f"{self.unrecovered_links} removed link(s) not recovered")
        if verification is not None:
            found.append(verification)
        if self.failed_saves:
            found.append(f"{self.failed_saves} Save Page Now capture(s) failed")
        if self.not_stored:
            found.append(f"{len(self.not_stored)} capture(s) not stored")
        return found

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
            "not_stored": len(self.not_stored),
            **{f"verdict_{k}": v for k, v in sorted(verdicts.items())},
            **{f"save_{k}": v for k, v in sorted(saves.items())},
        }

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["offline"] = self.offline
        data["summary"] = self.summary()
        data["quote_summary"] = quote_summary(self.quotes)
        return data


@dataclass(frozen=True)
class FinishedRun:
    """A run and what finishing it added: the store's verification (None when the run
    stored nothing) and the file its JSON report was written to (None: not written)."""

    report: RunReport
    verification: VerifyReport | None
    path: Path | None = None
    unwritten: tuple[Path, str] | None = None  # the report file not written, and why
    # What ``run --repair`` changed in the article (``archiver.repair.plan.Change``s)
    repair: tuple[Any, ...] = ()

    @property
    def problems(self) -> list[str]:
        """What the run found wrong, each in a few words: dead links, removed links not
        recovered, a store that failed verification, failed Save Page Now captures. Any
        makes ``run`` and ``archive`` exit 3, as a dead link makes ``check``."""
        verification = self.verification
        if verification is None or verification.ok:
            return self.report.problems()
        return self.report.problems(failed_verification(verification))

    @property
    def unfinished(self) -> str | None:
        """Why the run could not finish its job, in one line: storing stopped (a full disk,
        a read-only store) or the report could not be written; None when it could."""
        stopped, unwritten = self.report.store_stopped, self.unwritten
        if stopped is None:
            return None if unwritten is None else f"the report was not written: {unwritten[1]}"
        missing = f"{len(self.report.not_stored)} capture(s) not stored"
        if unwritten is not None:
            return f"{stopped} ({missing}; nor was the report written to {unwritten[0]})"
        written = f"; report: {self.path}" if self.path is not None else ""
        return f"{stopped} ({missing}{written})"

    def to_dict(self) -> dict[str, Any]:
        verification = self.verification.to_dict() if self.verification is not None else None
        data = {**self.report.to_dict(), "verification": verification}
        if self.repair:
            data["repair"] = [change.to_dict() for change in self.repair]
        return data


def failed_verification(verification: VerifyReport) -> str:
    """A failed verification in a few words, naming its first problem (``verify``
    names them all)."""
    first, more = verification.problems[0], len(verification.problems) - 1
    also = f"; {more} more: `archiver verify` names them" if more else ""
    return f"the store failed verification ({first.message}{also})"


def verify_run(report: RunReport, settings: Settings) -> FinishedRun:
    """The run with its store re-hashed, when it stored anything. A file of the store
    that cannot be read at all (a folder where a WARC should be) is a ``StoreError``."""
    if not any(result.captures for result in report.results):
        return FinishedRun(report, None)
    try:
        return FinishedRun(report, verify_store(settings.store))
    except OSError as e:
        where = Path(e.filename) if e.filename else settings.store
        raise file_error(e, where, doing="verify") from e


def finish_run(
    report: RunReport,
    settings: Settings,
    report_path: Path | None = None,
    repair: tuple[Any, ...] = (),
) -> FinishedRun:
    """End a run: re-hash the store when the run stored anything, and write the report
    with that verification to ``report_path`` (default STORE/report.json), and the same
    as a page people read beside it (``html_path``), each file replaced atomically, also
    when the machine turned out to be offline.

    A report that cannot be written is said in ``FinishedRun.unwritten``; a store that
    cannot be verified is a ``StoreError`` that says where the report went."""
    path = report_path or settings.store / "report.json"
    unverified: StoreError | None = None
    try:
        finished = replace(verify_run(report, settings), path=path, repair=repair)
    except StoreError as e:  # the report is still worth keeping, with no verification
        finished, unverified = FinishedRun(report, None, path, repair=repair), e
    data = finished.to_dict()
    target = path
    try:
        replace_file(target, (to_json(data) + "\n").encode())
        target = html_path(path)
        replace_file(target, render_html(data).encode("utf-8"))
    except OSError as e:  # the run's results are still shown; the caller says this too
        written = path if target != path else None  # the JSON report, when only the page failed
        finished = replace(finished, path=written, unwritten=(target, str(file_error(e, target))))
    if unverified is not None:
        kept = f"report: {path}" if finished.path else f"nor was the report written to {path}"
        raise StoreError(f"{unverified} ({kept})") from unverified
    return finished


def html_path(report_path: Path) -> Path:
    """Where the HTML report of a run whose JSON report is ``report_path`` goes."""
    if report_path.suffix.lower() in (".html", ".htm"):
        return report_path.with_name(report_path.name + ".html")
    return report_path.with_suffix(".html")


def find_copy(
    url: str, when: datetime | None, settings: Settings, *, clock: RunClock = SYSTEM_CLOCK
) -> Selection:
    """The find and select stages alone: the archived copy of ``url`` closest to ``when``
    (a citation's date; None: the newest) across ``settings.archives``, with the
    archives' answers cached in the state file."""
    validate_url(url)
    archives = [parse_archive_spec(spec) for spec in settings.archives]
    with open_state(settings) as state, build_session(settings) as session:
        cache = LookupCache(state, clock=clock.now)
        return find_best_memento(url, when, archives, session, settings, cache=cache)


def check_and_save(
    urls: Sequence[str],
    settings: Settings,
    keys: InternetArchiveKeys,
    *,
    on_result: Callable[[SaveResult], None] | None = None,
    clock: RunClock = SYSTEM_CLOCK,
) -> SaveReport:
    """The save stage alone: check every URL (kept in the state file's history), then ask
    Save Page Now to capture the alive ones; the others are reported as skipped (all of
    them on an offline machine, which the report then says)."""
    with open_state(settings) as state:
        checks = check_urls(urls, settings, state=state, clock=clock.now)
    report = save_checks(
        checks,
        settings,
        keys,
        on_result=on_result,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        clock=clock.now,
    )
    return replace(report, offline=found_offline(checks))


def load_article(source: str, settings: Settings) -> Article:
    """Read an article from a file, '-' (stdin) or an http(s) URL."""
    if "://" not in source:
        return read_article(source)
    url = validate_url(source)
    with build_session(settings) as session:
        try:
            answer = fetch(session, url, settings)
        except NetworkError as e:
            raise e.with_context(f"cannot fetch the article {url}") from e
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
    clock: RunClock = SYSTEM_CLOCK,
    article_url: str | None = None,
    checks: Mapping[str, LinkCheck] | None = None,
    store: Store | None = None,
) -> RunReport:
    """Check every cited URL (but those in ``checks``: a batch checks many articles' URLs
    at once), choose a memento for each, store the best copies (in ``store``, a batch's,
    else one opened for the run). With ``save_live`` (Internet Archive keys), every alive
    URL is also submitted to Save Page Now; keys refused or an unusable endpoint stop the
    run (SetupError, NetworkError). Removed links (a marker, no URL) are first looked for
    in archived copies of the article (``archiver.recover.removed``), at ``article_url``
    or else ``article.url``; those recovered are then checked and archived like the rest.
    ``clock`` is the run's time: every date the run writes down comes from it.
    """
    started = to_iso(clock.now())
    archives = [parse_archive_spec(spec) for spec in settings.archives]
    say = on_progress or (lambda _message: None)
    if article_url is not None:
        article_url = validate_url(article_url)
    with open_state(settings) as state, build_session(settings) as session, ExitStack() as run:
        cache = LookupCache(state, clock=clock.now)  # archive answers, so a rerun need not ask
        citations, recoveries = _recover(
            article, citations, archives, session, settings, cache, article_url, say
        )
        checks = _checked(citations, checks, settings, state, clock, say)
        saved = _save_alive(checks, settings, save_live, say, clock)
        store = (store or _open_store(settings, clock, run)) if capture else None
        tools = _Tools(archives, session, cache, store)
        notes: tuple[str, ...] = ()
        if found_offline(checks.values()):
            tools, notes = _offline(tools, citations, settings)
        results = []
        for number, (citation, recovery) in enumerate(zip(citations, recoveries, strict=True), 1):
            say(f"[{number}/{len(citations)}] {citation.url or citation.marker}")
            check = checks.get(citation.url or "")
            if citation.url and not tools.archives:
                results.append(CitationResult(citation, check, notes=(NO_ARCHIVE_NOTE,)))
                continue
            result = _process(article, citation, check, tools, settings, recovery)
            if citation.url in saved:
                result = replace(result, saved=saved[citation.url])
            results.append(result)
    return RunReport(
        article=article.source,
        started_at=started,
        finished_at=to_iso(clock.now()),
        store=str(settings.store),
        results=tuple(results),
        notes=notes,
        store_stopped=tools.stopped[0] if tools.stopped else None,
        quotes=check_run_quotes(results, settings.store) if capture else (),
    )


def _open_store(settings: Settings, clock: RunClock, run: ExitStack) -> Store:
    """The run's store; its WARC file is closed (gets its final name) when ``run`` ends,
    however the run ends."""
    return run.enter_context(Store(settings.store, clock=clock.now, warc_size=settings.warc_size))


def _checked(
    citations: Sequence[Citation],
    known: Mapping[str, LinkCheck] | None,
    settings: Settings,
    state: State,
    clock: RunClock,
    say: Callable[[str], None],
) -> dict[str, LinkCheck]:
    """A verdict for every cited URL: those in ``known``, the others checked now."""
    urls = list(dict.fromkeys(c.url for c in citations if c.url))
    checks = {url: known[url] for url in urls if url in known} if known is not None else {}
    missing = [url for url in urls if url not in checks]
    if missing or known is None:
        say(f"checking {len(missing)} URL(s)")
        checks.update(
            (c.url, c) for c in check_urls(missing, settings, state=state, clock=clock.now)
        )
    return checks


def _recover(
    article: Article,
    citations: Sequence[Citation],
    archives: Sequence[Archive],
    session: requests.Session,
    settings: Settings,
    cache: LookupCache,
    article_url: str | None,
    say: Callable[[str], None],
) -> tuple[list[Citation], list[Recovery | None]]:
    """The citations with their removed links filled in where archived copies of the
    article had them, and each one's ``Recovery`` (None where no link was removed)."""
    if not any(is_removed_link(c) for c in citations):
        return list(citations), [None] * len(citations)
    say("looking for removed links in archived copies of the article")
    recoveries = recover_removed_links(
        article, citations, archives, session, settings, article_url=article_url, cache=cache
    )
    recovered = [apply_recovery(c, r) for c, r in zip(citations, recoveries, strict=True)]
    return recovered, recoveries


@dataclass(frozen=True)
class _Tools:
    """What every citation of a run is looked up and stored with."""

    archives: Sequence[Archive]
    session: requests.Session
    cache: LookupCache
    store: Store | None
    stopped: list[str] = field(default_factory=list)  # why storing stopped (StoreError)


def _offline(
    tools: _Tools, citations: Sequence[Citation], settings: Settings
) -> tuple[_Tools, tuple[str, ...]]:
    """An offline run's tools and notes: the archives are asked all the same (a local
    collection or one on the local network answers without the internet), each first for
    one citation; one that cannot be reached then is not asked again in this run (asking a
    public archive for every citation would cost its pause between requests each time)."""
    notes = [OFFLINE_NOTE.format(canary=settings.canary_url)]
    first = next((c for c in citations if c.url), None)
    reached = []
    for archive in tools.archives:
        try:
            if first is not None:
                _find(first, [archive], tools, settings)  # its answer is cached for later
        except NetworkError as e:
            if e.kind in UNREACHABLE:
                notes.append(f"not asked again in this run, as it could not be reached: {e}")
                continue
        except ArchiverError:
            pass  # it was reached; each citation's own lookup says what went wrong
        reached.append(archive)
    return replace(tools, archives=reached), tuple(notes)


def _find(
    citation: Citation, archives: Sequence[Archive], tools: _Tools, settings: Settings
) -> Selection:
    """The select stage for one citation: its best copy among ``archives``."""
    assert citation.url is not None
    return find_best_memento(
        citation.url,
        citation_date(citation),
        archives,
        tools.session,
        settings,
        quote=citation.quote,
        cache=tools.cache,
    )


def _save_alive(
    checks: dict[str, LinkCheck],
    settings: Settings,
    keys: InternetArchiveKeys | None,
    say: Callable[[str], None],
    clock: RunClock,
) -> dict[str, SaveResult]:
    """Save Page Now's answer for each alive URL, when there are keys to ask with."""
    if keys is None:
        return {}
    alive = [url for url, check in checks.items() if check.verdict is Verdict.ALIVE]
    say(f"saving {len(alive)} live URL(s) with Save Page Now")
    report = save_urls(
        alive, settings, keys, sleep=clock.sleep, monotonic=clock.monotonic, clock=clock.now
    )
    return {r.url: r for r in report.results}


def _process(
    article: Article,
    citation: Citation,
    check: LinkCheck | None,
    tools: _Tools,
    settings: Settings,
    recovery: Recovery | None,
) -> CitationResult:
    if citation.url is None:
        note = (
            "the link was removed from the text; recovering it needs an archived copy of "
            "the article itself"
        )
        if recovery is not None:
            note = f"the link was removed from the text and not recovered: {recovery.reason}"
        return CitationResult(citation=citation, notes=(note,), recovery=recovery)
    notes: list[str] = []
    if recovery is not None and recovery.url is not None:
        notes.append(f"the removed link's URL was {recovery.reason}")
    selection: Selection | None = None
    if settings.look_up == "broken" and check is not None and check.verdict is Verdict.ALIVE:
        notes.append(LIVE_NOT_LOOKED_UP)
    else:
        try:
            selection = _find(citation, tools.archives, tools, settings)
        except ArchiverError as e:
            notes.append(f"archive lookup failed: {e}")
    captures, not_stored = _capture(article, citation, check, selection, tools, settings)
    return CitationResult(
        citation=citation,
        check=check,
        selection=selection,
        captures=tuple(captures),
        notes=(*notes, *(f"{_FAILED[f.source]}: {f.reason}" for f in not_stored)),
        recovery=recovery,
        not_stored=tuple(not_stored),
    )


_FAILED = {"memento": "storing the memento failed", "live": "live capture failed"}
LIVE_NOT_LOOKED_UP = "not looked up in the archives: the link is alive (--look-up broken)"


def _capture(
    article: Article,
    citation: Citation,
    check: LinkCheck | None,
    selection: Selection | None,
    tools: _Tools,
    settings: Settings,
) -> tuple[list[Capture], list[NotStored]]:
    """Store the copy chosen for ``citation`` and, when its link is alive, the live page.

    A failure of the store itself (``StoreError``: a full disk, a read-only folder) stops
    storing for the rest of the run (``tools.stopped``), as every later capture would fail
    alike after fetching for nothing; those are reported as not stored, not tried.
    """
    store, url = tools.store, citation.url
    if store is None or url is None:
        return [], []
    label = (citation_label(article, citation),)
    wanted: list[tuple[str, Callable[[], Capture]]] = []
    memento = selection.memento if selection is not None else None
    if memento is not None:
        archive = by_spec(tools.archives)[memento.archive]
        net = Net(tools.session, settings)
        wanted.append(
            ("memento", lambda: store.capture_memento(memento, archive, net, label, cited=url))
        )
    if check is not None and check.verdict is Verdict.ALIVE:
        wanted.append(("live", lambda: store.capture_live(url, tools.session, settings, label)))
    captures, not_stored = [], []
    for source, capture in wanted:
        if tools.stopped:
            reason = f"not tried, storing stopped: {tools.stopped[0]}"
            not_stored.append(NotStored(source, url, label, reason))
            continue
        try:
            captures.append(capture())
        except ArchiverError as e:
            if isinstance(e, StoreError):
                tools.stopped.append(str(e))
            not_stored.append(NotStored(source, url, label, str(e)))
    return captures, not_stored
