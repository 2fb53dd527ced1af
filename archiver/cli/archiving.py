"""Commands on archived copies: find the best one (``find``), store every source's
(``archive``), and re-hash a store (``verify``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from archiver.cli.batch import BatchRequest, batch_options, run_many
from archiver.cli.console import EXIT_FOUND_PROBLEMS, emit, end_run, tell
from archiver.cli.options import (
    archive_option,
    article_url_option,
    build_settings,
    check_options,
    format_option,
    network_options,
    requisite_options,
    store_option,
    warc_size_option,
)
from archiver.cli.targets import run_on
from archiver.errors import InputError
from archiver.report.formats import formatter


@click.command()
@click.argument("url")
@click.option(
    "--date",
    "when",
    metavar="DATE",
    help="The date the source was cited (ISO 8601). [default: now]",
)
@archive_option
@format_option("table", "json")
@network_options
def find(url: str, when: str | None, archives: tuple[str, ...], fmt: str, **params: Any) -> None:
    """Find the archived copy of URL closest to DATE.

    Prefers the latest capture at or before DATE, then the earliest one after it, skipping
    captured errors, soft-404s and redirects to a home page (the closest pages are read to
    tell). Answers are cached in the state file. Exits with 3 when no archive holds a
    usable copy.

    \b
    Examples:
      archiver find http://example.com/report --date 2018-11-28
      archiver find http://example.com/report --archive wayback:http://127.0.0.1:8080/web/
    """
    from archiver.dates import date_to_datetime, parse_iso
    from archiver.net.urls import validate_url
    from archiver.pipeline import find_copy

    settings = build_settings({**params, "archives": archives})
    validate_url(url)
    moment = None
    if when:
        try:
            moment = parse_iso(when)
        except ValueError as e:
            raise InputError(f"not an ISO 8601 date: {when!r}") from e
        if len(when.strip()) == 10:
            moment = date_to_datetime(moment.date())
    selection = find_copy(url, moment, settings)
    emit(formatter(fmt).selection(url, when, selection))
    if fmt == "table":  # the reason is the answer when there is no copy, else a note
        click.echo(selection.reason, err=selection.memento is not None)
    if selection.memento is None:
        raise SystemExit(EXIT_FOUND_PROBLEMS)


@click.command()
@click.argument("articles", nargs=-1, metavar="ARTICLE...")
@batch_options
@archive_option
@store_option
@warc_size_option
@format_option("table", "json", "jsonl")
@network_options
@check_options
@requisite_options
@article_url_option
def archive(
    articles: tuple[str, ...],
    archives: tuple[str, ...],
    fmt: str,
    article_url: str | None,
    batch: BatchRequest,
    **params: Any,
) -> None:
    """Store the best copy of every source ARTICLE cites, as WARC plus a manifest.

    For each citation: the memento closest to its date (and a fresh capture of the live
    page when it is still alive). Captures already in the store are not fetched again,
    and the store is verified afterwards. Links removed from the text are first recovered
    from archived copies of the article. Offline, the archives that can be reached (a
    local collection, one on the local network) are still asked. What was not stored is
    listed too, with why. Exits as `run` does. Several articles make a batch, as for `run`.

    \b
    Examples:
      archiver archive citations/harbour-sensors.md --store warcs
      archiver archive citations/ --store warcs
    """
    from archiver.pipeline import verify_run

    settings = build_settings({**params, "archives": archives})
    if batch.wanted(articles, fmt, article_url=article_url):
        run_many(articles, batch, settings, fmt=fmt)
        return
    finished = verify_run(run_on(articles[0], settings, article_url=article_url), settings)
    report = finished.report
    stored = [c for r in report.results for c in r.captures]
    emit(formatter(fmt).captures(stored, report.not_stored))
    end_run(finished)


@click.command()
@click.argument("store", required=False, type=click.Path(path_type=Path), default=Path("warcs"))
@click.option(
    "--deep",
    is_flag=True,
    help="Also inflate every record and check its WARC digests, its payload's sha256 and "
    "the archive's digest against the manifest (slower: every byte inflated).",
)
@click.option(
    "--history",
    is_flag=True,
    help="Show the store's fixity log (every verification recorded) instead of verifying.",
)
@click.option(
    "--no-log",
    is_flag=True,
    help="Do not record this verification in the store's fixity log (a read-only copy).",
)
@format_option("table", "json")
def verify(store: Path, deep: bool, history: bool, no_log: bool, fmt: str) -> None:
    """Re-hash everything in STORE (default ./warcs) against its manifest.

    Every stored byte is checked against the sha256 and size the manifest lists (and the
    manifest against its own digest); --deep also reads every record. Each verification
    of a store is appended to its fixity log, STORE/fixity.jsonl (--history shows it).
    STORE may also be a single WARC or WACZ file, whose own digests are checked, or a
    folder without a manifest: each file in it is checked, but nothing proves the set
    complete, so it never passes. Every mismatch is named: file, record, and which hash.
    Exits with 3 on any problem, and with 1 when there is nothing to verify.

    \b
    Examples:
      archiver verify warcs
      archiver verify --deep warcs
      archiver verify --history warcs
      archiver verify tests/fixtures/golden/live_capture.warc
    """
    if not deep and not history and store.is_dir():
        from archiver.storage.digests import start_helper_early

        # Its start-up, and hashing the largest file (checked first), overlap what follows:
        # imports, reading the manifest.
        start_helper_early(_largest_warc(store))
    from archiver.storage.verify import verify_warc

    if not store.exists():
        raise InputError(f"no such store or file: {store}")
    if history:
        _show_fixity_log(store, fmt)
        return
    if store.is_dir():
        result = _verify_and_log(store, deep=deep, log=not no_log)
    else:
        result = verify_warc(store)
    emit(formatter(fmt).verification(result))
    if not result.ok:
        raise SystemExit(EXIT_FOUND_PROBLEMS)


def _largest_warc(folder: Path) -> Path | None:
    """The largest WARC file in ``folder`` itself, if any: a guess at what a plain verify
    hashes first, to start early (a wrong guess costs time, never a wrong result)."""
    found: list[tuple[int, str]] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith((".warc.gz", ".warc")) and entry.is_file():
                    found.append((entry.stat().st_size, entry.path))
    except OSError:
        return None
    return Path(max(found)[1]) if found else None


def _verify_and_log(store: Path, *, deep: bool, log: bool) -> Any:
    """Verify a store folder and append the run to its fixity log (not a bag's: a bag
    stays as it was made; nor a folder without a manifest, which is not a store)."""
    from archiver.storage.fixity import verify_logged
    from archiver.storage.verify import store_root, verify_snapshot

    root = store_root(store)
    if root != store:  # a bag's data/: verified as it is, never written to
        return verify_snapshot(root, deep=deep)[0]
    return verify_logged(root, lambda say: tell(f"archiver: warning: {say}"), deep=deep, log=log)


def _show_fixity_log(store: Path, fmt: str) -> None:
    from archiver.storage.fixity import LOG_NAME, read_log
    from archiver.storage.verify import store_root

    if not store.is_dir():
        raise InputError(f"{store} is a file: --history shows the fixity log of a store")
    root = store_root(store)
    runs, damaged = read_log(root)
    if damaged:
        lines = ", ".join(map(str, damaged))
        tell(
            f"archiver: warning: {root / LOG_NAME}: line(s) {lines} could not be read and were "
            "skipped (a run killed while writing its line, or damage)"
        )
    emit(formatter(fmt).fixity(runs))
