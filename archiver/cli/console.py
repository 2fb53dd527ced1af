"""Where the commands write, and how they end.

Results go to stdout, rendered by ``archiver.report``; progress and notes go to stderr,
progress only when stderr is a terminal. Exit codes (the README's table says which
situation gives which, the same for ``check``, ``archive`` and ``run``):

    0  all good            2  usage error (click)
    1  error, or offline   3  problems found: dead links, removed links not recovered,
                              a store that failed verification, a failed capture
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import click

from archiver.errors import NetworkError, StoreError

if TYPE_CHECKING:
    from archiver.pipeline import FinishedRun

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_FOUND_PROBLEMS = 0, 1, 2, 3

T = TypeVar("T")


def show_progress() -> bool:
    return sys.stderr.isatty()


def emit(text: str) -> None:
    """Print a rendered result on stdout (nothing for an empty one)."""
    if text:
        click.echo(text)


def tell(line: str) -> None:
    """Print a note for the user on stderr."""
    click.echo(line, err=True)


def progress_notes() -> Callable[[str], None] | None:
    """Where a stage's progress notes go: stderr when it is a terminal, else nowhere."""
    return tell if show_progress() else None


@contextmanager
def counting(
    total: int, label: str, then: Callable[[T], None] | None
) -> Iterator[Callable[[T], None] | None]:
    """A callback for each of ``total`` results: ``then``, and, when stderr is a
    terminal, a step of a progress bar there."""
    if not (show_progress() and total):
        yield then
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:

        def counted(result: T) -> None:
            if then is not None:
                then(result)
            bar.update(1)

        yield counted


def end_run(finished: FinishedRun) -> None:
    """End ``run`` or ``archive`` as ``check`` ends in the same situation: an error (1)
    when this machine was offline or the store or report could not be written, 3 when the
    run found problems (named on stderr)."""
    if finished.report.offline:
        stored = finished.report.summary()["captures"]
        what = (
            f", so no live link was checked; {stored} capture(s) stored from the archives "
            "that could be reached"
            if stored
            else ", nothing was archived"
        )
        written = f" (report: {finished.path})" if finished.path is not None else ""
        raise NetworkError(f"this machine seems to be offline: no link answered{what}{written}")
    unfinished = finished.unfinished
    if unfinished:
        raise StoreError(unfinished)
    if finished.problems:
        tell("problems: " + ", ".join(finished.problems))
        raise SystemExit(EXIT_FOUND_PROBLEMS)
