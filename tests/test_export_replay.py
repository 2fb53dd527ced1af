"""A WACZ from ``archiver export`` opened in ReplayWeb.page, in a real headless Chromium.

ReplayWeb.page is Webrecorder's browser-side replay: its built site (``index.html``,
``ui.js``, ``sw.js``, from the npm package ``replaywebpage`` 2.5) is served from loopback
together with the WACZ by a server that honours HTTP Range (the client reads the zip's
directory and each record by their offsets), and opened at
``?source=<wacz>#view=pages&url=<url>&ts=<14 digits>``. Its service worker replays the
page in an iframe under ``/w/``; the test reads that frame's text and style.

Nothing is downloaded here: ``tests/install-tools.sh`` (the README's test command runs
it) installs Debian's ``chromium`` and unpacks ``replaywebpage`` into
``$ARCHIVER_REPLAYWEBPAGE`` (by default ``~/.cache/archiver-ci/replaywebpage/package``);
Playwright drives the installed Chromium. A missing piece fails the test: CI installs
them, so absent means CI is broken.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.chromium import chromium
from tests.export_stores import ALIVE, ALIVE_TEXT, GONE, GONE_TEXT, corpus_store, invoke
from tests.export_stores import pipeline_store as make_pipeline_store
from tests.range_server import RangeServer

REPLAY_TIMEOUT = 60.0  # seconds for a page to show in the replay frame


def replaywebpage_site() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    default = cache / "archiver-ci" / "replaywebpage" / "package"
    site = Path(os.environ.get("ARCHIVER_REPLAYWEBPAGE", default))
    missing = [n for n in ("index.html", "ui.js", "sw.js") if not (site / n).is_file()]
    if missing:
        pytest.fail(
            f"ReplayWeb.page's built site is not at {site} (missing {', '.join(missing)}): "
            "run .ci/run, which unpacks the npm package replaywebpage@2.5 there, or set "
            "ARCHIVER_REPLAYWEBPAGE to a folder that holds it"
        )
    return site


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RangeServer, Path]]:
    """The ReplayWeb.page site and the packages (a run's, a corpus crawl's), on one
    loopback server. The stores are made before the browser starts: Playwright's sync
    API keeps an event loop running, where archiver's own could not run."""
    site = replaywebpage_site()
    packages = tmp_path_factory.mktemp("packages")
    stores = {
        "harbour.wacz": make_pipeline_store(tmp_path_factory.mktemp("pipeline")),
        "iana.wacz": corpus_store(tmp_path_factory.mktemp("corpus")),
    }
    for name, store in stores.items():
        result = invoke("export", "--wacz", str(packages / name), str(store))
        assert result.exit_code == 0, result.output
    with RangeServer(site, packages) as server:
        yield server, packages


@pytest.fixture(scope="module")
def browser(served: tuple[RangeServer, Path]) -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def styled(frame: Any, selector: str, script: str, wanted: Any) -> Any:
    """The computed style ``script`` reads, once it is ``wanted`` or the time is up: a
    stylesheet the replay fetches from the package (by range requests) may apply a moment
    after the text shows, more so on a loaded machine."""
    deadline = time.monotonic() + REPLAY_TIMEOUT
    while True:
        value = frame.eval_on_selector(selector, script)
        if value == wanted or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def replay_frame(page: Any, url: str, stamp: str, text: str) -> Any:
    """The replay iframe once it shows ``text`` (fails with what it showed instead)."""
    deadline = time.monotonic() + REPLAY_TIMEOUT
    shown = ""
    while time.monotonic() < deadline:
        for handle in page.locator("iframe").element_handles():
            frame = handle.content_frame()
            if frame is None or "/w/" not in frame.url:
                continue
            try:
                shown = frame.inner_text("body", timeout=2000)
            except Exception:  # the frame is still navigating
                continue
            if text in shown and frame.url.endswith(f"{stamp}mp_/{url}"):
                return frame
        time.sleep(0.25)
    page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / "replaywebpage.png"))
    pytest.fail(f"ReplayWeb.page did not show {text!r} for {url} at {stamp}; it showed {shown!r}")


def open_in_replaywebpage(browser: Any, server: RangeServer, wacz: str, url: str, ts: str) -> Any:
    context = browser.new_context()
    page = context.new_page()
    address = f"{server.url}?source={quote(server.url + wacz, safe=':/')}"
    page.goto(f"{address}#view=pages&url={quote(url, safe='')}&ts={ts}")
    return context, page


def test_replaywebpage_shows_each_cited_page_of_a_run_styled(
    served: tuple[RangeServer, Path], browser: Any
) -> None:
    server, _ = served
    wacz = "harbour.wacz"
    for url, stamp, text in [
        (GONE, "20181102090000", GONE_TEXT),  # dead now: only the memento
        (ALIVE, "20190301090000", ALIVE_TEXT),
    ]:
        context, page = open_in_replaywebpage(browser, server, wacz, url, stamp)
        try:
            frame = replay_frame(page, url, stamp, text)
            color = "p => getComputedStyle(p).color"
            if url == ALIVE:  # the page's own style applies in the replay
                assert styled(frame, "p.lead", color, "rgb(0, 128, 0)") == "rgb(0, 128, 0)"
            else:  # the stylesheet it links to, and the one that imports, were stored too
                wanted = "rgb(128, 0, 32)"
                assert styled(frame, "p.tender", color, wanted) == wanted
        finally:
            context.close()
    assert any(line.startswith(f"GET /{wacz} bytes=") for line in server.requests)


def test_replaywebpage_shows_a_page_of_a_store_made_from_a_corpus_crawl(
    served: tuple[RangeServer, Path], browser: Any
) -> None:
    server, _ = served
    wacz = "iana.wacz"
    url, stamp = "http://www.iana.org/domains", "20140126200825"
    context, page = open_in_replaywebpage(browser, server, wacz, url, stamp)
    try:
        frame = replay_frame(page, url, stamp, "Domain Name Services")
        assert "The DNS Root Zone" in frame.inner_text("body")
        # styled by the crawl's own screen.css, stored with the page as its requisite
        style = "b => [getComputedStyle(b).color, getComputedStyle(b).fontSize]"
        wanted = ["rgb(85, 85, 85)", "13px"]
        assert styled(frame, "body", style, wanted) == wanted
        assert page.title() == "Archive of IANA — Domain Name Services | ReplayWeb.page"
    finally:
        context.close()
