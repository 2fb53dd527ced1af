"""``archiver quotes``: whether every quoted passage of an article is in its source."""

from __future__ import annotations

from typing import Any

import click

from archiver.cli.console import EXIT_FOUND_PROBLEMS, emit, progress_notes
from archiver.cli.options import archive_option, build_settings, format_option, network_options


@click.command()
@click.argument("article")
@archive_option
@format_option("table", "json")
@click.option(
    "--ignore-case",
    is_flag=True,
    help="Count a passage that differs from the quote only in case as verbatim.",
)
@click.option(
    "--no-live",
    is_flag=True,
    help="Do not read the live pages (no drift is then reported).",
)
@network_options
def quotes(
    article: str,
    archives: tuple[str, ...],
    fmt: str,
    ignore_case: bool,
    no_live: bool,
    **params: Any,
) -> None:
    """Check every quoted passage of ARTICLE against its source.

    Each quote is looked for in the archived copy of its source closest to the citation
    date (the one `find` chooses, preferring a copy that holds the quote) and in the live
    page when it is alive. Verdicts: verbatim, equivalent (differs only in case or
    punctuation), altered (words or numbers differ: the changed words are shown),
    not-found, not-checked (no copy, or no text). A live page that no longer holds a
    passage its memento holds has drifted. Evidence: the passage with its context, a W3C
    TextQuoteSelector and a link that highlights the passage (a text fragment). Works
    the same with every kind of archive, local WARC/WACZ collections included. Exits
    with 3 when a quote is altered or not found.

    \b
    Examples:
      archiver quotes citations/harbour-sensors.md --no-live
      archiver quotes tests/fixtures/articles/iana-quotes.md --format json
    """
    from archiver.cli.targets import load_citations
    from archiver.quotes.article import check_article_quotes
    from archiver.quotes.render import quotes_json, quotes_table

    settings = build_settings({**params, "archives": archives})
    _, citations = load_citations(article, settings)
    results = check_article_quotes(
        citations,
        settings,
        live=not no_live,
        ignore_case=ignore_case,
        on_progress=progress_notes(),
    )
    emit(quotes_json(results) if fmt == "json" else quotes_table(results))
    if any(result.verdict in ("altered", "not-found") for result in results):
        raise SystemExit(EXIT_FOUND_PROBLEMS)
