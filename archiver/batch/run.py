"""The whole job on many articles: each cited URL checked, looked up and stored once.

Articles are read in chunks (up to ``CHUNK_ARTICLES`` articles or ``CHUNK_URLS`` distinct
cited URLs). A chunk's URLs are checked in one go, so the per-host limit holds across
every article of the chunk, and chunks run one after another, so it holds across the
batch. Then each article of the chunk goes through the pipeline with those verdicts: its
archive lookups come from the lookup cache when another article already asked (the state
file keeps the archives' answers) and its captures from the store when another article
already stored them (the capture then also names this article). Nothing of a chunk is
kept once its articles are done, so memory is bounded by a chunk, whatever the batch.

What each article gave is written as it finishes: its JSON report in the reports folder
and one line in that folder's ``articles.jsonl`` (name, report file, counts, hosts). That
journal is how a killed batch resumes: a rerun skips every article it lists (same name,
same size and time for a file, same text for a dump page) and counts it in the batch's
totals. Checks, lookups and captures are kept as they arrive (the history, the lookup
cache, the store), so an article half done when the batch was killed costs little again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archiver.batch.inputs import ArticleSource, read_source
from archiver.check.links import check_urls, found_offline
from archiver.config import Settings
from archiver.dates import SYSTEM_CLOCK, RunClock, to_iso
from archiver.durable import replace_file
from archiver.errors import ArchiverError, NetworkError
from archiver.extract import Article, extract_citations
from archiver.models import Citation, LinkCheck, Verdict, _Serialisable
from archiver.pipeline import RunReport, failed_verification, load_article, run_pipeline
from archiver.report.html_report import render_html
from archiver.report.json_format import to_json
from archiver.save.keys import InternetArchiveKeys
from archiver.state import open_state
from archiver.storage.store import Store
from archiver.storage.verify import VerifyReport, verify_store

CHUNK_ARTICLES = 500
CHUNK_URLS = 20_000
JOURNAL = "articles.jsonl"
WORST_HOSTS = 10  # how many hosts the batch report names


@dataclass(frozen=True)
class ArticleOutcome(_Serialisable):
    """One article of a batch: where its report is, its counts (``RunReport.summary``),
    its links' verdicts by host, or the one-line error that kept it from being read."""

    name: str
    key: str
    report: str | None
    summary: dict[str, int] = field(default_factory=dict)
    hosts: dict[str, dict[str, int]] = field(default_factory=dict)
    error: str | None = None
    problems: tuple[str, ...] = ()


@dataclass
class BatchTotals:
    """What the batch found so far, summed over its articles (those of earlier,
    interrupted runs of the same batch included)."""

    articles: int = 0
    failed: int = 0
    resumed: int = 0
    with_problems: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    hosts: dict[str, Counter[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # the first few, for the summary

    def add(self, outcome: ArticleOutcome, *, resumed: bool = False) -> None:
        self.articles += 1
        self.resumed += resumed
        if outcome.error is not None:
            self.failed += 1
            if len(self.errors) < 20:
                self.errors.append(f"{outcome.name}: {outcome.error}")
            return
        self.with_problems += bool(outcome.problems)
        self.counts.update(outcome.summary)
        for host, verdicts in outcome.hosts.items():
            self.hosts.setdefault(host, Counter()).update(verdicts)

    def worst_hosts(self, limit: int = WORST_HOSTS) -> list[dict[str, Any]]:
        """The hosts with the most links found dead (``Verdict.is_failure``), most first."""
        ranked = []
        for host, verdicts in self.hosts.items():
            failed = sum(n for verdict, n in verdicts.items() if verdict in _FAILED)
            if failed:
                ranked.append((-failed, -sum(verdicts.values()), host))
        ranked.sort()
        return [
            {
                "host": host,
                "links": -links,
                "failed": -failed,
                "verdicts": dict(sorted(self.hosts[host].items())),
            }
            for failed, links, host in ranked[:limit]
        ]


_FAILED = frozenset(verdict.value for verdict in Verdict if verdict.is_failure)


@dataclass(frozen=True)
class BatchReport(_Serialisable):
    started_at: str
    finished_at: str
    store: str
    reports: str
    articles: int
    failed: int
    resumed: int
    with_problems: int
    summary: dict[str, int]
    worst_hosts: list[dict[str, Any]]
    errors: list[str]
    offline: bool = False
    verification: VerifyReport | None = None

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["verification"] = self.verification.to_dict() if self.verification else None
        return data

    @property
    def problems(self) -> list[str]:
        found = []
        if self.failed:
            found.append(f"{self.failed} article(s) could not be read")
        if self.with_problems:
            found.append(f"{self.with_problems} article(s) with problems (see their reports)")
        if self.verification is not None and not self.verification.ok:
            found.append(failed_verification(self.verification))
        return found


@dataclass(frozen=True)
class _Read:
    source: ArticleSource
    key: str
    article: Article | None = None
    citations: tuple[Citation, ...] = ()
    error: str | None = None


def run_batch(
    sources: Iterable[ArticleSource],
    settings: Settings,
    reports: Path,
    *,
    capture: bool = True,
    chunk_articles: int = CHUNK_ARTICLES,
    save_live: InternetArchiveKeys | None = None,
    on_article: Callable[[ArticleOutcome, BatchTotals], None] | None = None,
    clock: RunClock = SYSTEM_CLOCK,
) -> BatchReport:
    """Run the pipeline over every article of ``sources``, writing each one's report into
    ``reports`` (and its line in ``reports/articles.jsonl``) as it finishes; the batch's
    report is returned (and written to ``reports/batch.json``)."""
    started = to_iso(clock.now())
    reports.mkdir(parents=True, exist_ok=True)
    journal = reports / JOURNAL
    done = _finished(journal)
    totals = BatchTotals()
    for outcome in done.values():
        totals.add(outcome, resumed=True)
    offline = False
    with journal.open("a", encoding="utf-8") as log, ExitStack() as batch:
        # One store for the whole batch: its captures go into WARC files rolled at
        # --warc-size, not a file (at least) per article.
        store = batch.enter_context(_store(settings, clock)) if capture else None
        for chunk in _chunks(_pending(sources, done), settings, chunk_articles):
            checks = _check_chunk(chunk, settings, clock)
            offline = offline or found_offline(checks.values())
            for item in chunk:
                outcome = _run_one(item, checks, settings, reports, store, save_live, clock)
                log.write(json.dumps(outcome.to_dict(), ensure_ascii=False) + "\n")
                log.flush()
                totals.add(outcome)
                if on_article is not None:
                    on_article(outcome, totals)
    stored = capture and totals.counts.get("captures", 0) > 0
    report = BatchReport(
        started_at=started,
        finished_at=to_iso(clock.now()),
        store=str(settings.store),
        reports=str(reports),
        articles=totals.articles,
        failed=totals.failed,
        resumed=totals.resumed,
        with_problems=totals.with_problems,
        summary=dict(sorted(totals.counts.items())),
        worst_hosts=totals.worst_hosts(),
        errors=totals.errors,
        offline=offline,
        verification=verify_store(settings.store) if stored else None,
    )
    replace_file(reports / "batch.json", (to_json(report.to_dict()) + "\n").encode())
    return report


def _store(settings: Settings, clock: RunClock) -> Store:
    return Store(settings.store, clock=clock.now, warc_size=settings.warc_size)


def _finished(journal: Path) -> dict[str, ArticleOutcome]:
    """The articles an earlier run of this batch finished, by key (a line cut short by a
    kill is not one of them)."""
    done: dict[str, ArticleOutcome] = {}
    try:
        lines = journal.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return done
    except (OSError, UnicodeDecodeError) as error:
        raise ArchiverError(f"cannot read the batch journal {journal}: {error}") from None
    for line in lines:
        try:
            data = json.loads(line)
            outcome = ArticleOutcome(
                name=data["name"],
                key=data["key"],
                report=data.get("report"),
                summary=dict(data.get("summary") or {}),
                hosts={h: dict(v) for h, v in (data.get("hosts") or {}).items()},
                error=data.get("error"),
                problems=tuple(data.get("problems") or ()),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if outcome.error is None:  # an article that failed is tried again
            done[outcome.key] = outcome
    return done


def source_key(source: ArticleSource) -> str:
    """What identifies an article across runs of a batch: its name, and for a file its
    size and modification time, for a dump page its text (an edited article is redone)."""
    if source.path is not None:
        try:
            info = source.path.stat()
            return f"{source.name}\0{info.st_size}\0{info.st_mtime_ns}"
        except OSError:
            return source.name
    if source.text is not None:
        return f"{source.name}\0{hashlib.sha256(source.text.encode()).hexdigest()}"
    return source.name


def _pending(sources: Iterable[ArticleSource], done: dict[str, ArticleOutcome]) -> Iterator[_Read]:
    for source in sources:
        key = source_key(source)
        if key not in done:
            yield _Read(source, key)


def _chunks(items: Iterator[_Read], settings: Settings, most: int) -> Iterator[list[_Read]]:
    """Articles read, ``most`` or ``CHUNK_URLS`` distinct URLs at a time."""
    chunk: list[_Read] = []
    urls: set[str] = set()
    for item in items:
        read = _read(item, settings)
        chunk.append(read)
        urls.update(c.url for c in read.citations if c.url)
        if len(chunk) >= most or len(urls) >= CHUNK_URLS:
            yield chunk
            chunk, urls = [], set()
    if chunk:
        yield chunk


def load_source(source: ArticleSource, settings: Settings) -> Article:
    """The article ``source`` names, read or fetched."""
    if source.is_url:
        assert source.url is not None
        return load_article(source.url, settings)
    return read_source(source)


def _read(item: _Read, settings: Settings) -> _Read:
    try:
        article = load_source(item.source, settings)
        citations = extract_citations(article.text, article.fmt, source=article.source)
    except ArchiverError as error:
        return replace(item, error=str(error))
    return replace(item, article=article, citations=tuple(citations))


def _check_chunk(chunk: list[_Read], settings: Settings, clock: RunClock) -> dict[str, LinkCheck]:
    urls = [c.url for item in chunk for c in item.citations if c.url]
    if not urls:
        return {}
    with open_state(settings) as state:
        return {c.url: c for c in check_urls(urls, settings, state=state, clock=clock.now)}


def _run_one(
    item: _Read,
    checks: dict[str, LinkCheck],
    settings: Settings,
    reports: Path,
    store: Store | None,
    save_live: InternetArchiveKeys | None,
    clock: RunClock,
) -> ArticleOutcome:
    if item.article is None:
        return ArticleOutcome(name=item.source.name, key=item.key, report=None, error=item.error)
    try:
        report = run_pipeline(
            item.article,
            item.citations,
            settings,
            capture=store is not None,
            store=store,
            checks=checks,
            save_live=save_live,
            clock=clock,
        )
    except NetworkError as error:  # e.g. the article's own archived copies unreachable
        return ArticleOutcome(name=item.source.name, key=item.key, report=None, error=str(error))
    path = reports / _report_name(item.source.name)
    data = report.to_dict()
    replace_file(path, (to_json(data) + "\n").encode())
    replace_file(path.with_suffix(".html"), render_html(data).encode("utf-8"))
    return ArticleOutcome(
        name=item.source.name,
        key=item.key,
        report=path.name,
        summary=report.summary(),
        hosts=_hosts(report),
        problems=tuple(report.problems()),
    )


def _hosts(report: RunReport) -> dict[str, dict[str, int]]:
    hosts: dict[str, Counter[str]] = {}
    for result in report.results:
        if result.check is not None:
            host = (urlsplit(result.check.url).hostname or "").lower()
            hosts.setdefault(host, Counter())[result.check.verdict.value] += 1
    return {host: dict(verdicts) for host, verdicts in hosts.items()}


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _report_name(name: str) -> str:
    """A file name for an article's report: readable, and distinct for distinct names."""
    tail = name.rstrip("/").replace("#", "/").rsplit("/", 1)[-1] or "article"
    slug = _UNSAFE.sub("_", tail).strip("._")[:60] or "article"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{slug}-{digest}.json"


def default_reports(settings: Settings) -> Path:
    return settings.store / "reports"
