"""Commands on many articles: the options they share, telling a batch from one article,
and the batch's progress and end.

``run``, ``archive``, ``scan`` and ``check`` take several ARTICLE arguments, folders,
globs, sitemaps, MediaWiki dumps and ``--from-file LIST`` (``archiver.batch.inputs``).
One plain article (a file, ``-`` or a URL) keeps the one-article behaviour and output;
anything more is a batch.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from archiver.cli.console import EXIT_FOUND_PROBLEMS, emit, show_progress, tell
from archiver.config import Settings
from archiver.errors import NetworkError

if TYPE_CHECKING:
    from archiver.batch.inputs import ArticleSource
    from archiver.batch.run import ArticleOutcome, BatchReport, BatchTotals
    from archiver.save.keys import InternetArchiveKeys

F = TypeVar("F", bound=Callable[..., Any])
PROGRESS_EVERY = 30.0  # seconds between progress lines when stderr is not a terminal


def from_file_option(func: F) -> F:
    return click.option(
        "--from-file",
        "from_file",
        metavar="LIST",
        help="Also read the articles named in LIST, one a line (paths or URLs; '-' for "
        "stdin; blank lines and lines starting with # are skipped).",
    )(func)


@dataclass(frozen=True)
class BatchRequest:
    """What the batch options of ``run`` and ``archive`` asked for (``batch_options``)."""

    from_file: str | None
    reports_dir: Path | None
    progress_every: float
    batch_size: int

    def wanted(self, articles: Sequence[str], fmt: str, **one_article: object) -> bool:
        """Whether the arguments make a batch; options that only make sense for one
        article (given in ``one_article`` when set) are then a usage error."""
        batch = fmt == "jsonl" or is_batch(articles, self.from_file)
        refuse_for_batch(batch, **one_article)
        if batch and fmt == "csv":
            raise click.UsageError(
                "--format csv is for one article; a batch writes each article's report "
                "(JSON and HTML) into --reports"
            )
        return batch


def batch_options(func: F) -> F:
    """``--from-file``, ``--reports``, ``--batch-size`` and ``--progress-every``: what a
    batch run takes, handed to the command as one ``batch: BatchRequest``."""

    @functools.wraps(func)
    def command(
        *args: Any,
        from_file: str | None,
        reports_dir: Path | None,
        progress_every: float,
        batch_size: int,
        **kwargs: Any,
    ) -> Any:
        batch = BatchRequest(from_file, reports_dir, progress_every, batch_size)
        return func(*args, batch=batch, **kwargs)

    wrapped: Any = command
    wrapped = click.option(
        "--progress-every",
        type=click.FloatRange(min=1),
        default=PROGRESS_EVERY,
        show_default=True,
        help="Seconds between progress lines on stderr when it is not a terminal (on a "
        "terminal a status line is kept up to date).",
    )(wrapped)
    wrapped = click.option(
        "--batch-size",
        type=click.IntRange(min=1),
        default=500,
        show_default=True,
        help="Batch: articles read and checked together (their URLs checked in one go, "
        "each host's limit holding across them).",
    )(wrapped)
    wrapped = click.option(
        "--reports",
        "reports_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Batch: where each article's report, the journal articles.jsonl (how a "
        "killed batch resumes) and batch.json go. [default: STORE/reports]",
    )(wrapped)
    return from_file_option(wrapped)


def is_batch(targets: Sequence[str], from_file: str | None) -> bool:
    """Whether the arguments name more than one plain article."""
    if from_file is not None or len(targets) != 1:
        return True
    from archiver.batch.inputs import looks_like_xml

    target = targets[0]
    if target == "-" or "://" in target:
        return looks_like_xml(target)
    path = Path(target)
    if path.is_dir() or (not path.exists() and set("*?[") & set(target)):
        return True
    if path.is_file() and looks_like_xml(path.name):
        from archiver.batch.xmlfiles import root_element

        return root_element(path) in ("mediawiki", "urlset", "sitemapindex")
    return False


def refuse_for_batch(batch: bool, **options: object) -> None:
    """A usage error for options that name one article's things, given to a batch."""
    given = [name.replace("_", "-") for name, value in options.items() if value is not None]
    if batch and given:
        raise click.UsageError(f"--{given[0]} is for one article, not a batch")


def sources(
    targets: Sequence[str], from_file: str | None, settings: Settings
) -> Iterator[ArticleSource]:
    """Every article the arguments name, lazily; sitemaps on the web fetched politely."""
    from archiver.batch.inputs import expand

    def fetch(url: str) -> bytes:
        from archiver.net.http import build_session, fetch
        from archiver.net.urls import validate_url

        with build_session(settings) as session:
            try:
                answer = fetch(session, validate_url(url), settings)
            except NetworkError as error:
                raise error.with_context(f"cannot fetch the sitemap {url}") from error
        if not 200 <= answer.status < 300:
            raise NetworkError(f"cannot fetch the sitemap {url}: HTTP {answer.status}")
        return answer.body

    if not targets and from_file is None:
        raise click.UsageError("no article given (name files, folders, URLs or --from-file LIST)")
    return expand(targets, from_file, fetch=fetch)


class BatchProgress:
    """Progress of a batch on stderr: on a terminal, a status line rewritten after every
    article; otherwise a line every ``every`` seconds, so a long batch is never silent."""

    def __init__(self, every: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self.started = clock()
        self.last = self.started
        self.terminal = show_progress()

    def __call__(self, outcome: ArticleOutcome, totals: BatchTotals) -> None:
        now = self.clock()
        line = self.line(totals, now)
        if self.terminal:
            click.echo("\r\033[K" + line, err=True, nl=False)
        elif now - self.last >= self.every:
            tell("progress: " + line)
            self.last = now

    def line(self, totals: BatchTotals, now: float) -> str:
        counts = totals.counts
        failed = f" ({totals.failed} unreadable)" if totals.failed else ""
        return (
            f"{totals.articles} article(s){failed}, {counts.get('citations', 0)} citation(s), "
            f"{counts.get('dead', 0)} dead, {counts.get('captures', 0)} capture(s), "
            f"{now - self.started:.0f} s"
        )

    def close(self) -> None:
        if self.terminal:
            click.echo("", err=True)


def run_many(
    targets: Sequence[str],
    batch: BatchRequest,
    settings: Settings,
    *,
    fmt: str,
    capture: bool = True,
    save_live: InternetArchiveKeys | None = None,
) -> None:
    """The whole job on every article the arguments name, ending as ``run`` ends: 1 when
    this machine was offline, 3 when an article could not be read or had problems."""
    from archiver.batch.run import default_reports, run_batch
    from archiver.report.batch import render_batch

    reports = batch.reports_dir or default_reports(settings)
    progress = BatchProgress(batch.progress_every)

    def finished(outcome: ArticleOutcome, totals: BatchTotals) -> None:
        if fmt == "jsonl":
            click.echo(json.dumps(outcome.to_dict(), ensure_ascii=False))
        progress(outcome, totals)

    try:
        report = run_batch(
            sources(targets, batch.from_file, settings),
            settings,
            reports,
            capture=capture,
            chunk_articles=batch.batch_size,
            save_live=save_live,
            on_article=finished,
        )
    finally:
        progress.close()
    emit(render_batch(report, fmt))
    end_batch(report)


def end_batch(report: BatchReport) -> None:
    if report.offline:
        raise NetworkError(
            "this machine seems to be offline: no link answered "
            f"(the batch's reports are in {report.reports})"
        )
    if report.problems:
        tell("problems: " + ", ".join(report.problems) + f" (reports: {report.reports})")
        raise SystemExit(EXIT_FOUND_PROBLEMS)
    if sys.stderr.isatty():
        tell(f"reports: {report.reports}")


def scan_many(targets: Sequence[str], from_file: str | None, settings: Settings, fmt: str) -> None:
    """``scan`` on many articles: each one's citations as it is read (a table under its
    name, or one JSON array of {"article", "citations"} written as it goes)."""
    from archiver.batch.run import load_source
    from archiver.extract import extract_citations
    from archiver.report.formats import formatter

    first, total, articles = True, 0, 0
    if fmt == "json":
        click.echo("[")
    for source in sources(targets, from_file, settings):
        article = load_source(source, settings)
        citations = extract_citations(article.text, article.fmt, source=article.source)
        total, articles = total + len(citations), articles + 1
        if fmt == "json":
            entry = {"article": source.name, "citations": [c.to_dict() for c in citations]}
            click.echo(("" if first else ",\n") + json.dumps(entry, ensure_ascii=False), nl=False)
        else:
            click.echo(f"{'' if first else chr(10)}{source.name} ({article.fmt})")
            emit(formatter("table").citations(citations))
        first = False
    if fmt == "json":
        click.echo("\n]")
    else:
        tell(f"{total} citation(s) in {articles} article(s)")
