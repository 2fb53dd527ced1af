"""``archiver repair``: the article written back with working archive links, and the
options ``run --repair`` shares with it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from archiver.cli.console import EXIT_FOUND_PROBLEMS, emit, progress_notes, tell
from archiver.cli.options import (
    _all_of,
    archive_option,
    article_url_option,
    build_settings,
    check_options,
    format_option,
    network_options,
    store_option,
)
from archiver.errors import InputError, NetworkError

if TYPE_CHECKING:
    from archiver.extract import Article
    from archiver.pipeline import RunReport
    from archiver.repair.article import Repair
    from archiver.repair.plan import Change, RepairOptions

repair_options = _all_of(
    [
        click.option(
            "--all",
            "every_citation",
            is_flag=True,
            help="Add an archived copy to every citation, not only the dead ones (those "
            "still alive are marked live).",
        ),
        click.option(
            "--confirmed-only",
            is_flag=True,
            help="Leave dead links the failures-over-days rule has not confirmed yet "
            "(see --confirm-failures, --confirm-days) as they are.",
        ),
        click.option(
            "--replace-archived",
            is_flag=True,
            help="Also rewrite citations that already link an archived copy.",
        ),
        click.option(
            "--served-at",
            metavar="URL",
            help="Where a local collection given with --archive is served for readers "
            "(a pywb collection such as https://example.org/sources/): links become "
            "URL<timestamp>/<original>. [default: the archive each copy was fetched from]",
        ),
        click.option(
            "--markdown-form",
            metavar="FORM",
            help="How a dead Markdown link is rewritten, with {text}, {memento}, {url}, "
            "{date} and {title} (the link's title, if any). [default: [{text}]({memento}{title}) "
            "([original]({url}))]",
        ),
        click.option(
            "--html-swap-dead",
            is_flag=True,
            help="In HTML, point a dead link's href at its archived copy and keep the "
            "original in data-originalurl (default: keep href, add data-versionurl).",
        ),
    ]
)
"""The options of ``repair`` that ``run --repair`` takes too."""


def options_from(params: dict[str, Any]) -> RepairOptions:
    """``RepairOptions`` from the parsed ``repair_options``."""
    from archiver.net.urls import validate_url
    from archiver.repair.plan import DEFAULT_MARKDOWN_FORM, MARKDOWN_FIELDS, RepairOptions

    served_at = params.get("served_at")
    form = params.get("markdown_form") or DEFAULT_MARKDOWN_FORM
    try:
        form.format(**dict.fromkeys(MARKDOWN_FIELDS, ""))
    except (KeyError, IndexError, ValueError) as e:
        raise click.BadParameter(
            f"{form!r} is not a form: {type(e).__name__} {e} (fields: "
            + ", ".join("{" + f + "}" for f in MARKDOWN_FIELDS)
            + ")",
            param_hint="--markdown-form",
        ) from None
    return RepairOptions(
        every_citation=bool(params.get("every_citation")),
        confirmed_only=bool(params.get("confirmed_only")),
        replace_archived=bool(params.get("replace_archived")),
        served_at=validate_url(served_at) if served_at else None,
        markdown_form=form,
        html_swap_dead=bool(params.get("html_swap_dead")),
    )


@click.command()
@click.argument("article")
@click.option(
    "-o",
    "--output",
    metavar="OUT",
    help="Where the repaired article goes ('-': standard output).",
)
@click.option("--dry-run", is_flag=True, help="Write nothing: print the change as a unified diff.")
@click.option("--overwrite", is_flag=True, help="Allow OUT to be ARTICLE itself.")
@repair_options
@archive_option
@store_option
@format_option("table", "json")
@network_options
@check_options
@article_url_option
def repair(
    article: str,
    output: str | None,
    dry_run: bool,
    overwrite: bool,
    archives: tuple[str, ...],
    fmt: str,
    article_url: str | None,
    **params: Any,
) -> None:
    """Write ARTICLE back with working archive links, changing nothing else.

    Checks every cited link and finds its archived copy (as `run` does, storing
    nothing), then rewrites the citations found dead or soft-404 in this run: wikitext as
    InternetArchiveBot does (archive-url, archive-date and url-status in CS1 templates,
    {{webarchive}} after a bare link, {{dead link}} when there is no copy), Markdown
    links pointed at their copy with the original kept visible, HTML with Robust Links
    (data-versionurl, data-versiondate), and "[link no longer available]" markers whose
    link was recovered put back with their copy. Every other byte stays as it was.
    The summary says what changed and why. Exits with 3 when a dead link is left
    without an archived copy, with 1 when offline (nothing is written then, unless
    --all).

    \b
    Examples:
      archiver repair tests/fixtures/articles/river-dam.wiki -o river-dam.fixed.wiki
      archiver repair citations/harbour-sensors.md --dry-run
      archiver repair tests/fixtures/articles/harbour-report.html -o report.html --all
    """
    from archiver.extract import extract_citations
    from archiver.pipeline import run_pipeline

    if output is None and not dry_run:
        raise click.UsageError("give -o OUT for the repaired article, or --dry-run")
    options = options_from(params)
    settings = build_settings({**params, "archives": archives})
    target = None if dry_run else output
    if target is not None:
        refuse_input_as_output(article, target, overwrite)
    data, loaded = read_for_repair(article)
    citations = extract_citations(loaded.text, loaded.fmt, source=loaded.source)
    report = run_pipeline(
        loaded,
        citations,
        settings,
        capture=False,
        on_progress=progress_notes(),
        article_url=article_url,
    )
    repaired = repaired_article(data, loaded, report, options)
    deliver(repaired, loaded, target, fmt)
    if report.offline:  # only --all gets this far: offline wins over the rest, as in `check`
        raise NetworkError(
            "this machine seems to be offline: no link was checked; the archived copies "
            "that could be found were added all the same (--all)"
        )
    counts = repaired.summary()
    if counts["dead_left"] + counts["tagged_dead"]:
        raise SystemExit(EXIT_FOUND_PROBLEMS)


def deliver(repaired: Repair, article: Article, target: str | None, fmt: str) -> None:
    """The repaired article written to ``target`` (None: a dry run, whose unified diff
    is the output), and the summary."""
    from archiver.repair.edits import unified_diff
    from archiver.repair.summary import closing_line, render_repair

    if target is None:
        emit(unified_diff(article.text, repaired.text, Path(article.source).name).rstrip("\n"))
        tell(render_repair(repaired, fmt, None))
    else:
        write_output(target, repaired.data)
        (tell if target == "-" else emit)(render_repair(repaired, fmt, target))
    if fmt == "table":
        tell(closing_line(repaired, target))


def repaired_article(
    data: bytes, article: Article, report: RunReport, options: RepairOptions
) -> Repair:
    """The repair of ``article`` from ``report``; offline, only ``--all`` has anything
    to go on (no link was found dead), else it is an error and nothing is written."""
    from dataclasses import replace

    from archiver.dates import parse_iso
    from archiver.repair.article import repair_article

    if report.offline and not options.every_citation:
        raise NetworkError(
            "this machine seems to be offline: no link answered, so no link can be called "
            "dead; nothing was written (--all adds the archived copies all the same)"
        )
    moment = parse_iso(report.started_at)
    return repair_article(data, article, report.results, replace(options, now=moment))


def read_for_repair(source: str) -> tuple[bytes, Article]:
    """The article's bytes and what they read as: a file, or '-' for standard input."""
    from archiver.extract import parse_article_bytes, read_article

    if "://" in source:
        raise InputError(
            f"cannot repair {source}: repair writes a file, so it reads the article from a "
            "file (or - for standard input); save the page first"
        )
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(source).read_bytes()  # read once: the bytes kept are the bytes read
        except OSError:
            read_article(source)  # a missing or unreadable file: its one-line error
            raise
    return data, parse_article_bytes(data, source)


def refuse_input_as_output(
    article: str, output: str, overwrite: bool, hint: str = "give --overwrite to replace it"
) -> None:
    """An ``InputError`` when OUT is ARTICLE itself and ``--overwrite`` was not given."""
    if overwrite or output == "-" or article == "-":
        return
    try:
        same = os.path.samefile(article, output)
    except OSError:
        same = False
    if same:
        raise InputError(f"{output} is the article itself: {hint}")


def write_output(output: str, data: bytes) -> None:
    """``data`` to ``output``, atomically ('-': standard output)."""
    from archiver.durable import replace_file

    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(output)
    if path.is_dir():
        raise InputError(f"cannot write the repaired article to {output}: it is a directory")
    try:
        replace_file(path, data)
    except OSError as e:
        raise InputError(
            f"cannot write the repaired article to {output}: {e.strerror or e}"
        ) from None


def check_repair_target(article: str, output: str, params: dict[str, Any]) -> None:
    """Before ``run --repair`` starts: ARTICLE must be a file, other than OUT, and the
    repair options usable."""
    if "://" in article or article == "-":
        raise InputError("--repair needs ARTICLE as a file: the repaired copy is made from it")
    hint = "write it elsewhere (`archiver repair --overwrite` replaces it)"
    refuse_input_as_output(article, output, overwrite=False, hint=hint)
    options_from(params)


def repair_after_run(
    article: str, output: str, report: RunReport, params: dict[str, Any]
) -> tuple[Change, ...]:
    """``run --repair OUT``: the run's article repaired from its report, written to OUT,
    and one line on stderr saying what changed; the changes (for the run's report)."""
    from archiver.repair.summary import closing_line

    options = options_from(params)
    if report.offline and not options.every_citation:
        tell("repair: nothing written: no link could be checked (see the error below)")
        return ()
    data, loaded = read_for_repair(article)
    repaired = repaired_article(data, loaded, report, options)
    write_output(output, repaired.data)
    tell("repair: " + closing_line(repaired, output))
    return repaired.changes
