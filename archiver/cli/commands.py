"""The command line: a thin layer that parses options, builds ``Settings``, calls a stage
and renders its result.

This is the only place where errors become messages and exit codes:

    0  all good            2  usage error (click)
    1  error               3  dead links found, or verification failed
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from archiver import __version__
from archiver.config import Settings
from archiver.errors import ArchiverError, InputError, NetworkError
from archiver.report.render import (
    render_run_report,
    render_save_report,
    table,
    terminal_width,
    to_json,
    to_jsonl,
)

# Every stage is imported inside the commands that use it: `archiver --help` and
# `check --help` need none of them, `scan` needs no HTTP client or state file, and
# `archiver check` on a long article should not pay for warcio/waybackpy.
if TYPE_CHECKING:
    from archiver.extract import Article
    from archiver.models import Citation, LinkCheck
    from archiver.pipeline import RunReport
    from archiver.save.keys import InternetArchiveKeys

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_FOUND_PROBLEMS = 0, 1, 2, 3
DEFAULTS = Settings()  # option defaults come from the library's, so the two never drift

F = TypeVar("F", bound=Callable[..., Any])


class _Group(click.Group):
    """Turns every ArchiverError (and anything unexpected) into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArchiverError as e:
            click.echo(f"archiver: error: {e}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("archiver: interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as e:  # a bug: still one line, with the traceback on request
            if ctx.obj and ctx.obj.get("debug"):
                import traceback

                traceback.print_exc()
            click.echo(
                f"archiver: internal error: {type(e).__name__}: {e} (--debug shows details)",
                err=True,
            )
            ctx.exit(EXIT_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archiver")
@click.option("--debug", is_flag=True, help="Show a traceback on internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Keep an article's citations alive.

    archiver reads an article, checks every cited link, finds the archived copy of each
    source closest to the date it was cited, stores it as WARC with a hash-verified
    manifest, and reports what it found. Start with `archiver demo`.
    """
    import logging  # not at the top: `archiver --help` does not need it

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    # Stages log what the user should know but that does not stop the run (an archive
    # that did not answer while another did); shown as warnings on stderr.
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="archiver: %(levelname)s: %(name)s: %(message)s"
        if debug
        else "archiver: warning: %(message)s",
        stream=sys.stderr,
    )


# -- shared options ---------------------------------------------------------------


def format_option(*choices: str) -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format: a readable table, or machine-readable JSON.",
    )


def store_option(func: F) -> F:
    return click.option(
        "--store",
        type=click.Path(file_okay=False, path_type=Path),
        default=DEFAULTS.store,
        show_default=True,
        help="Directory of WARC files, manifest and state.",
    )(func)


def archive_option(func: F) -> F:
    return click.option(
        "--archive",
        "archives",
        multiple=True,
        metavar="SPEC",
        help="Archive to search; repeatable, the best copy across all wins. 'ia' (the "
        "Internet Archive, default), 'wayback:BASE_URL' (any Wayback-compatible server), "
        "'memento:TIMEMAP_OR_TIMEGATE_URL', a preset (archive.today, arquivo.pt, loc, ukwa, "
        "perma.cc), or the path of a WARC/WACZ file or folder.",
    )(func)


def article_url_option(func: F) -> F:
    return click.option(
        "--article-url",
        metavar="URL",
        help="The article's own address: its archived copies are searched for links that "
        "were removed from the text. [default: the article's canonical link, og:url or "
        "front-matter url]",
    )(func)


def network_options(func: F) -> F:
    options = [
        click.option(
            "--ca-bundle",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Trust the CA certificates in this PEM file instead of the system's.",
        ),
        click.option(
            "--user-agent",
            default=DEFAULTS.user_agent,
            show_default=True,
            help="The User-Agent header sent with every request.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=DEFAULTS.timeout,
            show_default=True,
            help="Seconds to wait: a link check's whole request (connecting and the"
            " answer, per redirect hop); archive requests' connection and each read.",
        ),
        click.option(
            "--link-deadline",
            type=click.FloatRange(min=0.1),
            metavar="SECONDS",
            help="Seconds one link's whole check may take: every redirect, HEAD then GET,"
            " pauses a server asks for, and retries. [default: 3 × --timeout]",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0),
            default=DEFAULTS.retries,
            show_default=True,
            help="Extra attempts after a timeout or failed connection.",
        ),
        click.option(
            "--per-host",
            type=click.IntRange(min=1),
            default=DEFAULTS.per_host,
            show_default=True,
            help="Requests in flight to one host at most.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=DEFAULTS.workers,
            show_default=True,
            help="Requests in flight overall at most.",
        ),
        click.option(
            "--resolve",
            multiple=True,
            metavar="HOST=IP:PORT",
            help="Send requests for HOST to IP:PORT instead of asking DNS "
            "(like curl's --resolve); repeatable.",
        ),
        click.option(
            "--only-resolved",
            is_flag=True,
            help="Treat every host not given with --resolve as nonexistent (a sandboxed run).",
        ),
        click.option(
            "--state",
            "state_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="State file (SQLite) with the history of checks. [default: STORE/state.sqlite]",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def spn_options(func: F) -> F:
    """Options of Save Page Now 2 (the keys come from the environment, never from flags)."""
    options = [
        click.option(
            "--if-not-archived-within",
            "spn_if_not_archived_within",
            default=DEFAULTS.spn_if_not_archived_within,
            show_default=True,
            metavar="AGE",
            help="Reuse a Wayback capture younger than AGE instead of making a new one "
            "('30d', '3d 5h 20m', or seconds).",
        ),
        click.option(
            "--poll-interval",
            "spn_poll_interval",
            type=click.FloatRange(min=0.0),
            default=DEFAULTS.spn_poll_interval,
            show_default=True,
            help="Seconds between polls of a capture job.",
        ),
        click.option(
            "--job-timeout",
            "spn_job_timeout",
            type=click.FloatRange(min=0.0),
            default=DEFAULTS.spn_job_timeout,
            show_default=True,
            help="Stop waiting for one capture job after this many seconds.",
        ),
        click.option(
            "--spn-endpoint",
            default=DEFAULTS.spn_endpoint,
            show_default=True,
            metavar="URL",
            help="Save Page Now 2 endpoint (another one only for testing).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_settings(params: dict[str, Any]) -> Settings:
    """Settings from the shared options present in ``params``."""
    host_map: dict[str, str] = {}
    for item in params.get("resolve") or ():
        host, sep, address = item.partition("=")
        if not sep or not host or not address:
            raise click.BadParameter(f"expected HOST=IP:PORT, got {item!r}", param_hint="--resolve")
        host_map[host.strip().lower()] = address.strip()
    changes: dict[str, Any] = {
        "host_map": host_map,
        "resolve_only": bool(params.get("only_resolved")),
    }
    keys = ("timeout", "retries", "per_host", "workers", "store", "state_path", "user_agent")
    for key in (*keys, "ca_bundle", "link_deadline"):
        if params.get(key) is not None:
            changes[key] = params[key]
    if params.get("archives"):
        changes["archives"] = tuple(params["archives"])
    for key in ("spn_endpoint", "spn_poll_interval", "spn_job_timeout"):
        if params.get(key) is not None:
            changes[key] = params[key]
    if params.get("spn_if_not_archived_within") is not None:
        from archiver.save.spn import validate_within

        changes["spn_if_not_archived_within"] = validate_within(
            params["spn_if_not_archived_within"]
        )
    return Settings().replace(**changes)


def show_progress() -> bool:
    return sys.stderr.isatty()


def emit(text: str) -> None:
    if text:
        click.echo(text)


# -- commands -------------------------------------------------------------------------


@cli.command()
@click.argument("article")
@format_option("table", "json")
@network_options
def scan(article: str, fmt: str, **params: Any) -> None:
    """List the citations in ARTICLE (a file, '-' for stdin, or an http(s) URL).

    Reads Markdown, HTML, plain text and wikitext. Citations whose link was removed and
    replaced by a marker such as "[link no longer available]" are listed with no URL.
    No network is used unless ARTICLE is itself a URL.

    Example: archiver scan citations/dahua-xinjiang.md --format json
    """
    settings = build_settings(params)
    loaded, citations = load_citations(article, settings)
    if fmt == "json":
        emit(to_json([c.to_dict() for c in citations]))
        return
    rows = [(c.line, c.url or c.marker, c.text, c.cited_at or "", c.quote or "") for c in citations]
    width = terminal_width()
    emit(table(["line", "url", "text", "cited", "quote"], rows, [0, width // 2, 30, 0, 30]))
    click.echo(f"{len(citations)} citation(s) in {loaded.source} ({loaded.fmt})", err=True)


@cli.command()
@click.argument("targets", nargs=-1, required=True, metavar="ARTICLE|URL...")
@format_option("table", "json", "jsonl")
@network_options
@store_option
@click.option(
    "--confirm-failures",
    type=click.IntRange(min=1),
    default=DEFAULTS.confirm_failures,
    show_default=True,
    help="Failed checks needed before a dead link counts as confirmed.",
)
@click.option(
    "--confirm-days",
    type=click.FloatRange(min=0),
    default=DEFAULTS.confirm_days,
    show_default=True,
    help="Days the failed checks must span before a dead link counts as confirmed.",
)
@click.option(
    "--canary",
    metavar="URL",
    default=DEFAULTS.canary_url,
    show_default=True,
    help="A URL that always answers, tried when no link does, to tell 'offline' from 'dead'.",
)
@click.option(
    "--fresh-for",
    type=click.FloatRange(min=0),
    default=DEFAULTS.fresh_for / 3600,
    show_default=True,
    help="Reuse a result from the state file younger than this many hours (0: always check).",
)
def check(
    targets: tuple[str, ...],
    fmt: str,
    fresh_for: float,
    confirm_failures: int,
    confirm_days: float,
    canary: str,
    **params: Any,
) -> None:
    """Check every cited URL and give each a verdict.

    Each target is an http(s) URL or an article whose citations are checked. Verdicts:
    alive, dead, soft-404, server-error, timeout, blocked, unreachable, offline (see the
    README). Every check is kept in the state file; a failure is "confirmed" once it was
    seen --confirm-failures times over at least --confirm-days days. Exits with 3 when a
    link is dead or a soft-404, and with 1 when this machine turns out to be offline.

    Example: archiver check article.md --format jsonl
    """
    from archiver.check.links import check_processes_for, check_urls
    from archiver.models import Verdict
    from archiver.net.urls import validate_url
    from archiver.state import State

    settings = build_settings(params).replace(
        fresh_for=fresh_for * 3600,
        confirm_failures=confirm_failures,
        confirm_days=confirm_days,
        canary_url=validate_url(canary),
    )
    # JSON lines are written out while the checks run (the process mostly waits then), so
    # the end of a long run does not spend a moment on it; a result that changed since
    # (offline verdicts) is rendered again.
    lines: dict[str, tuple[LinkCheck, str]] = {}

    def arrived(result: LinkCheck) -> None:
        if fmt == "jsonl":
            lines[result.url] = (result, to_jsonl([result.to_dict()]))

    # For a long article, the checking processes start first and get ready while it is read.
    with check_processes_for(targets, settings) as processes:
        distinct = cited_urls(targets)
        with State(settings.state_file) as state:
            if show_progress() and distinct:
                with click.progressbar(
                    length=len(distinct), label="checking", file=sys.stderr
                ) as bar:

                    def counted(result: LinkCheck) -> None:
                        arrived(result)
                        bar.update(1)

                    results = check_urls(
                        distinct, settings, state=state, on_result=counted, processes=processes
                    )
            else:
                results = check_urls(
                    distinct, settings, state=state, on_result=arrived, processes=processes
                )
    if fmt == "json":
        emit(to_json([r.to_dict() for r in results]))
    elif fmt == "jsonl":
        emit("\n".join(_line_for(r, lines) for r in results))
    else:
        rows = [
            (
                r.verdict.value + (" (confirmed)" if r.confirmed else ""),
                r.http_status or "",
                r.url,
                r.reason,
            )
            for r in results
        ]
        emit(table(["verdict", "status", "url", "reason"], rows, [0, 0, terminal_width() // 2, 70]))
    if results and all(r.verdict is Verdict.OFFLINE for r in results):
        raise NetworkError(
            f"this machine seems to be offline (no link answered, nor {settings.canary_url});"
            " no verdict was recorded"
        )
    if any(r.verdict.is_failure for r in results):
        raise SystemExit(EXIT_FOUND_PROBLEMS)


@cli.command()
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

    Example: archiver find http://example.com/report --date 2018-11-28
    """
    from archiver.archives.cache import LookupCache
    from archiver.archives.specs import parse_archive_spec
    from archiver.dates import date_to_datetime, parse_iso
    from archiver.net.http import build_session
    from archiver.net.urls import validate_url
    from archiver.select.choose import find_best_memento
    from archiver.state import State

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
    specs = [parse_archive_spec(spec) for spec in settings.archives]
    with State(settings.state_file) as state, build_session(settings) as session:
        cache = LookupCache(state)
        selection = find_best_memento(url, moment, specs, session, settings, cache=cache)
    if fmt == "json":
        emit(to_json({"url": url, "date": when, **selection.to_dict()}))
    else:
        memento = selection.memento
        if memento is not None:
            emit(
                table(
                    ["datetime", "status", "archive", "memento"],
                    [(memento.datetime, memento.http_status or "", memento.archive, memento.url)],
                )
            )
        click.echo(selection.reason, err=memento is not None)
    if selection.memento is None:
        raise SystemExit(EXIT_FOUND_PROBLEMS)


@cli.command()
@click.argument("article")
@archive_option
@store_option
@format_option("table", "json")
@network_options
@article_url_option
def archive(
    article: str, archives: tuple[str, ...], fmt: str, article_url: str | None, **params: Any
) -> None:
    """Store the best copy of every source ARTICLE cites, as WARC plus a manifest.

    For each citation: the memento closest to its date (and a fresh capture of the live
    page when it is still alive). Captures already in the store are not fetched again.
    Links removed from the text are first recovered from archived copies of the article.

    Example: archiver archive article.md --store warcs
    """
    settings = build_settings({**params, "archives": archives})
    report = run_for(article, settings, article_url=article_url)
    if report.offline:
        raise NetworkError("this machine seems to be offline: no link answered, nothing archived")
    if fmt == "json":
        emit(to_json([c.to_dict() for r in report.results for c in r.captures]))
        return
    rows = [
        (c.source, c.warc_date, c.target_uri, c.warc_file)
        for r in report.results
        for c in r.captures
    ]
    emit(table(["kind", "date", "url", "file"], rows, [0, 0, terminal_width() // 2, 0]))


@cli.command()
@click.argument("targets", nargs=-1, required=True, metavar="ARTICLE|URL...")
@spn_options
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
    a URL was not saved or reused.

    Example: archiver save article.md --if-not-archived-within 7d
    """
    from archiver.check.links import check_urls
    from archiver.save.keys import load_keys
    from archiver.save.results import SaveResult
    from archiver.save.run import save_checks
    from archiver.state import State

    settings = build_settings(params)
    keys = load_keys()  # before any request: without keys nothing can be saved
    with State(settings.state_file) as state:
        checks = check_urls(cited_urls(targets), settings, state=state)

    def tell(result: SaveResult) -> None:
        click.echo(f"{result.status.value}: {result.url}", err=True)

    report = save_checks(checks, settings, keys, on_result=tell if show_progress() else None)
    if fmt == "json":
        emit(to_json(report.to_dict()))
    else:
        emit(render_save_report(report))
        if report.quota is not None:
            click.echo(f"Save Page Now quota: {report.quota.describe()}", err=True)
    if not report.all_saved:
        raise SystemExit(EXIT_FOUND_PROBLEMS)


@cli.command()
@click.argument("article")
@archive_option
@store_option
@format_option("table", "json")
@network_options
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
    help="Also write the JSON report here. [default: STORE/report.json]",
)
@article_url_option
def run(
    article: str,
    archives: tuple[str, ...],
    fmt: str,
    report_path: Path | None,
    save_live: bool,
    article_url: str | None,
    **params: Any,
) -> None:
    """Do the whole job on ARTICLE: check, find, store, verify, report.

    A link removed from the text (only a marker such as "[link no longer available]" is
    left) is first looked for in archived copies of the article (see --article-url).
    With --save-live, alive links are also submitted to Save Page Now. Exits with 3 when
    a link is dead, the store fails verification, or a --save-live capture failed.

    Example: archiver run article.md --store warcs
    """
    from archiver.durable import replace_file
    from archiver.save.keys import load_keys
    from archiver.storage.verify import verify_store

    settings = build_settings({**params, "archives": archives})
    keys = load_keys() if save_live else None  # missing keys: stop before any request
    report = run_for(article, settings, save_live=keys, article_url=article_url)
    verification = verify_store(settings.store) if any(r.captures for r in report.results) else None
    data = {**report.to_dict(), "verification": verification.to_dict() if verification else None}
    target = report_path or settings.store / "report.json"
    replace_file(target, (to_json(data) + "\n").encode())
    if report.offline:
        raise NetworkError(
            f"this machine seems to be offline: no link answered, nothing was archived "
            f"(report: {target})"
        )
    if fmt == "json":
        emit(to_json(data))
    else:
        emit(render_run_report(report))
        click.echo(f"report: {target}", err=True)
    if report.dead_links or (verification is not None and not verification.ok):
        raise SystemExit(EXIT_FOUND_PROBLEMS)
    if report.failed_saves:
        raise SystemExit(EXIT_FOUND_PROBLEMS)


@cli.command()
@click.argument("store", required=False, type=click.Path(path_type=Path), default=Path("warcs"))
@format_option("table", "json")
def verify(store: Path, fmt: str) -> None:
    """Re-hash everything in STORE (default ./warcs) against its manifest.

    STORE may also be a single WARC or WACZ file, whose own digests are checked. Every
    mismatch is named: file, record, and which hash. Exits with 3 on any problem.

    Example: archiver verify warcs
    """
    from archiver.storage.verify import verify_store, verify_warc

    if not store.exists():
        raise InputError(f"no such store or file: {store}")
    result = verify_store(store) if store.is_dir() else verify_warc(store)
    if fmt == "json":
        emit(to_json(result.to_dict()))
    else:
        for problem in result.problems:
            emit(f"{problem.check}: {problem.message}")
        status = "OK" if result.ok else f"FAILED ({len(result.problems)} problem(s))"
        emit(
            f"{status}: {result.files_checked} file(s), {result.records_checked} record(s) checked"
        )
    if not result.ok:
        raise SystemExit(EXIT_FOUND_PROBLEMS)


@cli.command()
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
    `archiver run` on citations/ against them, and says where everything went.
    Needs no network. Requires pywb: pip install 'archiver[demo]'.
    """
    from archiver.demo.run import run_demo

    code = run_demo(output, echo=lambda line: click.echo(line, err=True), emit=emit)
    if code:
        raise SystemExit(code)


# -- helpers shared by the commands ---------------------------------------------------


def load_citations(source: str, settings: Settings) -> tuple[Article, list[Citation]]:
    from archiver.extract import extract_citations, read_article

    if "://" in source:
        from archiver.pipeline import load_article

        loaded = load_article(source, settings)
    else:
        loaded = read_article(source)
    return loaded, extract_citations(loaded.text, loaded.fmt, source=loaded.source)


def _line_for(result: LinkCheck, lines: dict[str, tuple[LinkCheck, str]]) -> str:
    rendered = lines.get(result.url)
    return (
        rendered[1]
        if rendered is not None and rendered[0] is result
        else to_jsonl([result.to_dict()])
    )


def cited_urls(targets: Sequence[str]) -> list[str]:
    """The distinct URLs of ``targets``: each an http(s) URL, or an article whose cited
    URLs are taken (only the URLs are kept, so a long article's parse can be freed)."""
    from archiver.net.urls import validate_url

    urls: list[str] = []
    for target in targets:
        if "://" in target:
            urls.append(validate_url(target))
        else:
            from archiver.extract import extract_urls, read_article

            article = read_article(target)
            urls.extend(extract_urls(article.text, article.fmt, source=article.source))
    return list(dict.fromkeys(urls))


def run_for(
    article: str,
    settings: Settings,
    save_live: InternetArchiveKeys | None = None,
    article_url: str | None = None,
) -> RunReport:
    from archiver.net.urls import validate_url
    from archiver.pipeline import run_pipeline

    if article_url is not None:
        article_url = validate_url(article_url)  # before the article is read or fetched
    loaded, citations = load_citations(article, settings)
    say = (lambda line: click.echo(line, err=True)) if show_progress() else None
    return run_pipeline(
        loaded, citations, settings, on_progress=say, save_live=save_live, article_url=article_url
    )


def main(argv: Sequence[str] | None = None) -> None:
    if argv is not None:  # called from Python: an ordinary return or SystemExit
        cli.main(args=list(argv), prog_name="archiver")
        return
    try:
        cli.main(prog_name="archiver")
    except SystemExit as finished:
        code = finished.code
        if code is not None and not isinstance(code, int):
            raise
        # As a command, everything is written, flushed and closed by now: skip the
        # interpreter's teardown, which spent 30 ms (2,000 links) to 100 ms (20,000)
        # freeing objects one by one just before exiting.
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass
        os._exit(code or 0)
