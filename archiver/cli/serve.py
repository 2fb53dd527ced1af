"""``serve``: the store replayed through pywb on this machine (``archiver.serve``)."""

from __future__ import annotations

import json
import shutil
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from archiver.cli.console import emit, tell
from archiver.cli.options import format_option
from archiver.errors import InputError, SetupError

if TYPE_CHECKING:
    from archiver.serve.replay import StoreReplay


def _render(fmt: str, store: Path, server: StoreReplay, pages: Sequence[dict[str, str]]) -> str:
    cdx = f"{server.cdx_url}?url=URL"
    if fmt == "json":  # one line, so a script can read it as soon as it is printed
        served = {
            "store": str(store),
            "host": server.host,
            "port": server.port,
            "collection": server.base_url,
            "cdx": cdx,
            "pages": list(pages),
        }
        return json.dumps(served, ensure_ascii=False)
    lines = [
        f"Replaying {store} at {server.base_url} (pywb; Ctrl-C stops it)",
        f"{len(pages)} cited source(s), each as it was captured:",
    ]
    for page in pages:
        lines += [f"  {page['replay']}", f"    {page['title']}"]
    lines.append(f"CDX API: {cdx}")
    return "\n".join(lines)


def _stop_on_signals() -> None:
    """Ctrl-C (SIGINT) and SIGTERM stop the replay the same way, pywb included: SIGINT
    even when the shell started archiver with it ignored (a background job), SIGTERM
    rather than ending archiver and leaving pywb running."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


@click.command()
@click.argument("store", required=False, type=click.Path(path_type=Path), default=Path("warcs"))
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="The port to listen on.  [default: a free one]",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on: a loopback one, unless --public.",
)
@click.option(
    "--public",
    is_flag=True,
    help="Allow a --host that other machines reach: anyone there reads the whole store.",
)
@format_option("table", "json")
def serve(store: Path, port: int | None, host: str, public: bool, fmt: str) -> None:
    """Replay STORE (default ./warcs) through pywb on this machine, until Ctrl-C.

    Each cited source opens as it was captured, at its cited URL (a captured redirect
    replays as the redirect it was) and its memento time; the addresses to open are
    printed, with pywb's CDX API. The store is read where it is, never changed or
    copied: pywb reads its WARC files through an index made from them. Needs pywb
    (pip install 'archiver[demo]').

    \b
    Examples:
      archiver serve warcs
      archiver serve --port 8080 warcs
    """
    from archiver.dates import parse_iso, to_wayback_timestamp
    from archiver.demo.simweb.wayback import ensure_pywb
    from archiver.export.contents import read_store
    from archiver.export.pages import cited_pages
    from archiver.serve.replay import StoreReplay, is_loopback, write_replay_index

    ensure_pywb()
    if not (public or is_loopback(host)):
        raise click.BadParameter(
            f"{host} is not a loopback address: other machines could read the store "
            "(add --public to allow that)",
            param_hint="--host",
        )
    if not store.is_dir():
        raise InputError(f"no such store: {store}")
    workdir = Path(tempfile.mkdtemp(prefix="archiver-serve-"))
    keep = False  # pywb's log is kept when it failed, for the error to point at
    try:
        with read_store(store) as contents:  # the lock is held while indexing only
            index = write_replay_index(contents, workdir)
            pages = cited_pages(contents.captures, contents.path_of)
        server = StoreReplay(workdir / "pywb", store, index, host=host, port=port)
        _stop_on_signals()
        server.start()
        try:
            listed = []
            for page in pages:
                stamp = to_wayback_timestamp(parse_iso(page.ts))
                listed.append({**page.to_dict(), "replay": server.replay_url(page.url, stamp)})
            emit(_render(fmt, store, server, listed))
            server.wait()
        except KeyboardInterrupt:
            tell("archiver: stopped")
        finally:
            server.stop()
    except SetupError:
        keep = True
        raise
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
