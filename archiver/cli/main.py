"""The ``archiver`` command: the group every command belongs to, and ``main``, the
console script's entry point.

This is the only place where errors become messages and exit codes (listed in
``archiver.cli.console``): an ``ArchiverError`` is one line and its own code, anything
unexpected one line and 1 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from archiver import __version__
from archiver.cli.archiving import archive, find, verify
from archiver.cli.console import EXIT_ERROR
from archiver.cli.links import check, save, scan
from archiver.cli.packages import export
from archiver.cli.quotes import quotes
from archiver.cli.repair import repair
from archiver.cli.serve import serve
from archiver.cli.whole import demo, run
from archiver.errors import ArchiverError

# Every stage is imported inside the commands that use it: `archiver --help` and
# `check --help` need none of them, `scan` needs no HTTP client or state file, and
# `archiver check` on a long article should not pay for warcio/waybackpy.


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


for command in (scan, check, find, archive, save, run, repair, quotes, verify, export, serve, demo):
    cli.add_command(command)


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
