"""The options several commands share, as decorators, and the ``Settings`` they build.

Defaults come from the library's ``Settings()``, so the two never drift.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from archiver.config import Settings

DEFAULTS = Settings()

F = TypeVar("F", bound=Callable[..., Any])


def _all_of(options: Sequence[Callable[[Any], Any]]) -> Callable[[F], F]:
    """One decorator applying ``options``, listed in the order ``--help`` shows them."""

    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


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
        help="Directory of WARC files and their manifest (the store).",
    )(func)


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:([KMGT])(i?)B?|B?)", re.IGNORECASE)


class ByteSize(click.ParamType):
    """A number of bytes: ``1000000``, or with a unit: ``500MB``, ``1GB`` (powers of
    1000), ``64MiB``, ``1GiB`` (powers of 1024)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.fullmatch(str(value).strip())
        size = 0
        if match is not None:
            number, unit, binary = match.groups()
            power = "KMGT".index(unit.upper()) + 1 if unit else 0
            size = int(float(number) * (1024 if binary else 1000) ** power)
        if not 1 <= size < 2**63:
            self.fail(f"{value!r} is not a size such as 1GB, 500MB, 64MiB or 1000000", param, ctx)
        return size


def warc_size_option(func: F) -> F:
    return click.option(
        "--warc-size",
        type=ByteSize(),
        default=DEFAULTS.warc_size,
        show_default=True,
        help="Roll the store's WARC files at this size: captures are appended to one file "
        "until it holds this many bytes (1GB, 500MB, 64MiB, or bytes).",
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


def look_up_option(func: F) -> F:
    return click.option(
        "--look-up",
        "look_up",
        type=click.Choice(["every", "broken"]),
        help="Which citations are looked up in the archives: every one (the copy the "
        "author saw is stored for live links too), or only those whose link is not alive "
        "(dead, soft-404, blocked, ...; far fewer archive requests on a large first pass). "
        "[default: every]",
    )(func)


check_options = _all_of(
    [
        click.option(
            "--confirm-failures",
            type=click.IntRange(min=1),
            default=DEFAULTS.confirm_failures,
            show_default=True,
            help="Failed checks needed before a dead link counts as confirmed.",
        ),
        click.option(
            "--confirm-days",
            type=click.FloatRange(min=0),
            default=DEFAULTS.confirm_days,
            show_default=True,
            help="Days the failed checks must span before a dead link counts as confirmed.",
        ),
        click.option(
            "--canary",
            metavar="URL",
            default=DEFAULTS.canary_url,
            show_default=True,
            help="A URL that always answers, tried when no link does, to tell 'offline' "
            "from 'dead'.",
        ),
        click.option(
            "--fresh-for",
            type=click.FloatRange(min=0),
            default=DEFAULTS.fresh_for / 3600,
            show_default=True,
            help="Reuse a result from the state file younger than this many hours "
            "(0: always check).",
        ),
        click.option(
            "--cluster",
            metavar="ADDRESS",
            envvar="ARCHIVER_CLUSTER",
            help="Check links on this Dask scheduler's workers (tcp://HOST:8786; also "
            "$ARCHIVER_CLUSTER), each host's links on one worker. Needs archiver[cluster] "
            "on the workers too. [default: this machine]",
        ),
    ]
)
"""The options of every command that checks links (check, save, archive, run)."""


network_options = _all_of(
    [
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
            help="State file (SQLite): the history of checks and the archives' answers. "
            "[default: one per store, outside it, in $ARCHIVER_STATE_DIR, else "
            "$XDG_STATE_HOME/archiver, else ~/.local/state/archiver]",
        ),
    ]
)
"""The options of every command that goes online."""

spn_options = _all_of(
    [
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
)
"""Options of Save Page Now 2 (the keys come from the environment, never from flags)."""


requisite_options = _all_of(
    [
        click.option(
            "--requisites/--no-requisites",
            default=DEFAULTS.requisites,
            show_default=True,
            help="Store each captured page's stylesheets, images, fonts, scripts and icons "
            "with it (for a memento, from the same archive near the page's time).",
        ),
        click.option(
            "--requisite-count",
            type=click.IntRange(min=0),
            default=DEFAULTS.requisite_count,
            show_default=True,
            help="Ask for at most this many requisites per page.",
        ),
        click.option(
            "--requisite-bytes",
            type=click.IntRange(min=0),
            default=DEFAULTS.requisite_bytes,
            show_default=True,
            help="Store at most this many bytes of requisites per page.",
        ),
        click.option(
            "--requisite-seconds",
            type=click.FloatRange(min=0.0),
            default=DEFAULTS.requisite_seconds,
            show_default=True,
            help="Spend at most this many seconds on one page's requisites.",
        ),
        click.option(
            "--browser",
            metavar="CHROMIUM",
            help="Capture live pages in this headless Chromium (a path or a name on PATH), "
            "recording everything the page loads, scripts' requests included; needs "
            "Playwright (pip install 'archiver[browser]'). [default: a plain fetch]",
        ),
    ]
)
"""The options of the commands that store captures (archive, run): page requisites."""


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
    for key in (*keys, "warc_size", "ca_bundle", "link_deadline", "cluster"):
        if params.get(key) is not None:
            changes[key] = params[key]
    for key in ("confirm_failures", "confirm_days"):
        if params.get(key) is not None:
            changes[key] = params[key]
    if params.get("fresh_for") is not None:
        changes["fresh_for"] = params["fresh_for"] * 3600  # hours on the command line
    if params.get("canary") is not None:
        from archiver.net.urls import validate_url

        changes["canary_url"] = validate_url(params["canary"])
    if params.get("archives"):
        changes["archives"] = tuple(params["archives"])
    if params.get("look_up") is not None:
        changes["look_up"] = params["look_up"]
    for key in ("requisites", "requisite_count", "requisite_bytes", "requisite_seconds"):
        if params.get(key) is not None:
            changes[key] = params[key]
    if params.get("browser") is not None:
        import shutil

        if shutil.which(params["browser"]) is None:
            message = f"no browser at {params['browser']!r}: give the path of a Chromium"
            raise click.BadParameter(message, param_hint="--browser")
        changes["browser"] = params["browser"]
    for key in ("spn_endpoint", "spn_poll_interval", "spn_job_timeout"):
        if params.get(key) is not None:
            changes[key] = params[key]
    if params.get("spn_if_not_archived_within") is not None:
        from archiver.save.spn import validate_within

        changes["spn_if_not_archived_within"] = validate_within(
            params["spn_if_not_archived_within"]
        )
    return Settings().replace(**changes)
