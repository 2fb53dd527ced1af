"""Commands that do the whole job: on an article (``run``), or on the bundled example
against a simulated web (``demo``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from archiver.cli.batch import BatchRequest, batch_options, run_many
from archiver.cli.console import emit, end_run, tell
from archiver.cli.options import (
    archive_option,
    article_url_option,
    build_settings,
    check_options,
    format_option,
    look_up_option,
    network_options,
    requisite_options,
    spn_options,
    store_option,
    warc_size_option,
)
from archiver.cli.repair import check_repair_target, repair_after_run, repair_options
from archiver.cli.targets import run_on
from archiver.errors import ArchiverError
from archiver.report.formats import formatter

if TYPE_CHECKING:
    from archiver.config import Settings
    from archiver.pipeline import FinishedRun, RunReport
    from archiver.repair.plan import Change


@click.command()
@click.argument("articles", nargs=-1, metavar="ARTICLE...")
@batch_options
@archive_option
@look_up_option
@store_option
@warc_size_option
@format_option("table", "json", "jsonl", "csv")
@network_options
@check_options
@click.option(
    "--save-live",
    is_flag=True,
    help="Also submit every alive link to Save Page Now (needs IA_ACCESS_KEY_ID and "
    "IA_SECRET_ACCESS_KEY, see `archiver save`).",
)
@spn_options
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the JSON report here, and the HTML report beside it (same name, "
    ".html). [default: STORE/report.json]",
)
@requisite_options
@article_url_option
@click.option(
    "--repair",
    "repair_path",
    metavar="OUT",
    help="Also write ARTICLE repaired to OUT, as `archiver repair` does (its options "
    "below); ARTICLE must then be a file.",
)
@repair_options
def run(
    articles: tuple[str, ...],
    archives: tuple[str, ...],
    fmt: str,
    report_path: Path | None,
    save_live: bool,
    article_url: str | None,
    repair_path: str | None,
    batch: BatchRequest,
    **params: Any,
) -> None:
    """Do the whole job on ARTICLE: check, find, store, verify, report.

    Several articles (files, folders, globs, sitemaps, MediaWiki XML dumps, --from-file
    LIST) make a batch: each cited URL is checked, looked up and stored once, each
    article gets its report in --reports, and a killed batch resumes where it stopped.

    A link removed from the text (only a marker such as "[link no longer available]" is
    left) is first looked for in archived copies of the article (see --article-url).
    With --save-live, alive links are also submitted to Save Page Now; with --repair,
    the article is also written back repaired (see `archiver repair`). On a machine
    that is offline, the archives that can be reached (a local collection, one on the
    local network) are still asked and their copies stored. Exits as `check` does: 1
    when offline, 3 when a link is dead; and with 3 when a removed link was not
    recovered, a capture was not stored, the store fails verification, or a --save-live
    capture failed; with 1 when the store or the report cannot be written (a full disk).

    \b
    Examples:
      archiver run citations/harbour-sensors.md --store warcs
      archiver run citations/harbour-sensors.md --report report.json --archive ia
      archiver run citations/ --reports reports --format jsonl
    """
    from archiver.save.keys import load_keys

    settings = build_settings({**params, "archives": archives})
    many = batch.wanted(
        articles, fmt, report=report_path, article_url=article_url, repair=repair_path
    )
    if repair_path is not None:
        check_repair_target(articles[0], repair_path, params)
        if params.get("every_citation") and settings.look_up == "broken":
            raise click.UsageError("--all needs every citation looked up: drop --look-up broken")
    keys = load_keys() if save_live else None  # missing keys: stop before any request
    if many:
        run_many(articles, batch, settings, fmt=fmt, save_live=keys)
        return
    report = run_on(articles[0], settings, save_live=keys, article_url=article_url)
    changes: tuple[Change, ...] = ()
    failed: ArchiverError | None = None
    if repair_path is not None:
        try:  # before the report is written, so that it says what changed
            changes = repair_after_run(articles[0], repair_path, report, params)
        except ArchiverError as e:  # the run's report is kept all the same
            failed = e
    finished = _finish(report, settings, fmt, report_path, changes)
    if failed is not None:
        raise failed
    end_run(finished)


def _finish(
    report: RunReport, settings: Settings, fmt: str, path: Path | None, changes: tuple[Change, ...]
) -> FinishedRun:
    """A run's end: verified, its report written (JSON and HTML) and shown."""
    from archiver.pipeline import finish_run, html_path

    finished = finish_run(report, settings, path, changes)
    if fmt == "csv":
        from archiver.report.csv_report import run_csv

        emit(run_csv(finished.to_dict()))
    else:
        emit(formatter(fmt).run(finished))
    if fmt == "table" and not report.offline and finished.path is not None:
        # offline or unwritten, the error line says where
        tell(f"report: {finished.path} (to read: {html_path(finished.path)})")
    return finished


@click.command()
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Where the demo writes its WARCs and report.",
)
def demo(output: Path) -> None:
    """Run the main job on the bundled example article, against a simulated web.

    Starts an origin server (the live web: some sources alive, some dead) and a real
    pywb (standing in for the Wayback Machine, holding old copies) on loopback, runs
    `archiver run` against them on the example article that ships with archiver
    (citations/harbour-sensors.md in its repository), and says where everything went.
    Needs no network. Requires pywb: pip install 'archiver[demo]'.
    """
    from archiver.demo.run import run_demo

    code = run_demo(output, echo=tell, emit=emit)
    if code:
        raise SystemExit(code)
