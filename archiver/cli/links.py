"""Commands on an article's links: list them (``scan``), check them (``check``), and have
the live ones saved by the Internet Archive (``save``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import click

from archiver.cli.batch import from_file_option, is_batch, scan_many
from archiver.cli.console import EXIT_FOUND_PROBLEMS, counting, emit, show_progress, tell
from archiver.cli.options import (
    build_settings,
    check_options,
    format_option,
    network_options,
    spn_options,
    store_option,
)
from archiver.cli.targets import cited_urls, give_cited_urls, load_citations
from archiver.errors import NetworkError
from archiver.report.formats import formatter
from archiver.report.jsonl_format import StreamedChecks

if TYPE_CHECKING:
    from archiver.check.processes import CheckProcesses
    from archiver.config import Settings
    from archiver.models import LinkCheck


@click.command()
@click.argument("articles", nargs=-1, metavar="ARTICLE...")
@from_file_option
@format_option("table", "json")
@network_options
def scan(articles: tuple[str, ...], fmt: str, from_file: str | None, **params: Any) -> None:
    """List the citations in ARTICLE (a file, '-' for stdin, or an http(s) URL).

    Reads Markdown, HTML, plain text and wikitext. Citations whose link was removed and
    replaced by a marker such as "[link no longer available]" are listed with no URL.
    No network is used unless ARTICLE is itself a URL. Several articles (files, folders,
    globs, MediaWiki XML dumps, sitemaps, --from-file LIST) are listed one after another;
    with --format json, as a list of {"article": ..., "citations": [...]}.

    \b
    Examples:
      archiver scan citations/harbour-sensors.md
      archiver scan tests/fixtures/articles/harbour-report.html --format json
      archiver scan citations/ --format json
    """
    settings = build_settings(params)
    if not is_batch(articles, from_file):
        loaded, citations = load_citations(articles[0], settings)
        emit(formatter(fmt).citations(citations))
        if fmt == "table":
            tell(f"{len(citations)} citation(s) in {loaded.source} ({loaded.fmt})")
        return
    scan_many(articles, from_file, settings, fmt)


@click.command()
@click.argument("targets", nargs=-1, metavar="ARTICLE|URL...")
@from_file_option
@format_option("table", "json", "jsonl")
@network_options
@store_option
@check_options
def check(
    targets: tuple[str, ...],
    fmt: str,
    from_file: str | None,
    **params: Any,
) -> None:
    """Check every cited URL and give each a verdict.

    Each target is an http(s) URL or an article whose citations are checked (also a
    folder, a glob, a MediaWiki XML dump, a sitemap's pages, or --from-file LIST). Verdicts:
    alive, dead, soft-404, server-error, timeout, blocked, unreachable, offline (see the
    README). Every check is kept in the state file; a failure is "confirmed" once it was
    seen --confirm-failures times over at least --confirm-days days. Exits with 3 when a
    link is dead or a soft-404, and with 1 when this machine turns out to be offline
    (also when some results were reused from the state file).

    \b
    Examples:
      archiver check citations/harbour-sensors.md --format jsonl
      archiver check https://example.com/a https://example.com/b --timeout 5 --retries 0
    """
    from archiver.check.links import check_urls, found_offline
    from archiver.check.processes import check_processes_for
    from archiver.state import open_state

    settings = build_settings(params)
    # For a long article, the checking processes start first and get ready while it is read.
    with check_processes_for(targets, settings) as processes:
        urls = _read_urls(targets, from_file, settings)
        if fmt == "jsonl":
            failures, offline = _stream_checks(urls, settings, processes)
        else:
            with open_state(settings) as state, counting(_count(urls), "checking", _none) as shown:
                results = check_urls(
                    urls, settings, state=state, on_result=shown, processes=processes
                )
            emit(formatter(fmt).checks(results))
            failures, offline = sum(r.verdict.is_failure for r in results), found_offline(results)
    if offline:
        raise NetworkError(
            f"this machine seems to be offline (no link answered, nor {settings.canary_url});"
            " no verdict was recorded"
        )
    if failures:
        raise SystemExit(EXIT_FOUND_PROBLEMS)


def _read_urls(
    targets: tuple[str, ...], from_file: str | None, settings: Settings
) -> Sequence[str] | Iterator[str]:
    """The URLs to check; those of long articles read in a process of their own, so that
    what the parse took is not held while they are checked (bench/check_memory.py), and
    given as they come (``check_urls`` takes them in meanwhile), unless a progress bar
    needs their number first."""
    from archiver.check.processes import READ_APART_BYTES, article_bytes, stream_apart

    if article_bytes(targets) < READ_APART_BYTES:
        return cited_urls(targets, from_file, settings)

    def read(give: Callable[[list[str]], None]) -> None:
        give_cited_urls(targets, from_file, settings, give)

    urls = stream_apart(read)
    return list(urls) if show_progress() else urls


def _none(_result: LinkCheck) -> None:
    return None


def _count(urls: Sequence[str] | Iterator[str]) -> int:
    """How many URLs a progress bar counts: none for URLs still coming (no bar is shown
    then: ``_read_urls``)."""
    return len(urls) if isinstance(urls, Sequence) else 0


def _stream_checks(
    urls: Sequence[str] | Iterator[str], settings: Settings, processes: CheckProcesses | None
) -> tuple[int, bool]:
    """``check --format jsonl``: each result written as it arrives, none held (a list
    of any length in flat memory); the number of failures, and whether offline."""
    import sys

    from archiver.check.links import check_urls
    from archiver.state import open_state

    streamed = StreamedChecks(sys.stdout.write)
    with (
        open_state(settings) as state,
        counting(_count(urls), "checking", streamed.arrived) as on_result,
    ):
        offline = check_urls(
            urls, settings, state=state, on_result=on_result, processes=processes, keep=False
        )
    streamed.finish(offline)
    sys.stdout.flush()
    return streamed.failures, bool(offline)


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="ARTICLE|URL...")
@spn_options
@check_options
@format_option("table", "json")
@network_options
@store_option
def save(targets: tuple[str, ...], fmt: str, **params: Any) -> None:
    """Ask the Internet Archive's Save Page Now to capture every cited page still alive.

    Each target is an http(s) URL or an article whose cited URLs are used. Every URL is
    checked first and only the alive ones are submitted; a Wayback capture younger than
    --if-not-archived-within is reused instead of making a new one. Needs Internet Archive
    keys in IA_ACCESS_KEY_ID and IA_SECRET_ACCESS_KEY (or the `ia` tool's config file).
    Statuses: saved, recently-archived, error, pending-timeout, skipped. Exits with 3 when
    a URL was not saved or reused, and with 1 when this machine turns out to be offline.

    \b
    Examples:
      archiver save citations/harbour-sensors.md --if-not-archived-within 7d
    """
    from archiver.pipeline import check_and_save
    from archiver.save.keys import load_keys
    from archiver.save.results import SaveResult

    settings = build_settings(params)
    keys = load_keys()  # before any request: without keys nothing can be saved

    def progress(result: SaveResult) -> None:
        tell(f"{result.status.value}: {result.url}")

    urls = cited_urls(targets)
    report = check_and_save(urls, settings, keys, on_result=progress if show_progress() else None)
    emit(formatter(fmt).saves(report))
    if fmt == "table" and report.quota is not None:
        tell(f"Save Page Now quota: {report.quota.describe()}")
    if report.offline:  # as check says it
        raise NetworkError(
            f"this machine seems to be offline (no link answered, nor {settings.canary_url});"
            " nothing was submitted"
        )
    if not report.all_saved:
        raise SystemExit(EXIT_FOUND_PROBLEMS)
