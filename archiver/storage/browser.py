"""A live page captured through a real browser, with everything it loaded.

The plain fetch (``archiver.storage.sources`` and ``wholepage``) finds a page's
requisites by reading its HTML and CSS; what a script loads is out of its sight. Asked for
it (``--browser``), a live capture is taken in headless Chromium instead, driven by
Playwright: the page is loaded, and every response the browser received for it (the
page's own redirects, stylesheets, images, fonts, scripts, what scripts fetched, frames)
is recorded as it finished, until the page and its network are quiet or the page's time
bound (``--requisite-seconds``) is spent. Nothing else changes: the records are written
as a plain live capture's are, the bounds on count and bytes apply, and what was left out
(still loading at the bound, failed in the browser, a 4xx/5xx answer) is listed.

Choices that are not obvious:

- **Bodies as the browser decoded them.** Chromium hands over a body with its
  ``Content-Encoding`` undone, so the stored headers drop ``Content-Encoding`` and
  ``Transfer-Encoding`` and state the stored length in ``Content-Length``; the warcinfo
  record says so. The HTTP version is not reported by the browser; records state
  HTTP/1.1. Header order is the browser's, not the server's.
- **The host map holds in the browser too**: ``--resolve`` becomes Chromium's
  ``--host-resolver-rules``, and with ``--only-resolved`` every other name fails, as it
  does for archiver's own requests. Proxies from the environment are not passed on.
- Requests the browser makes for itself (``/favicon.ico``) are not the page's and are not
  reported to the page, so they are not stored.
- Playwright is imported only here, only when asked for (``pip install
  'archiver[browser]'``); the browser is the one named (a path, or a name on ``PATH``).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from archiver.config import Settings
from archiver.dates import to_iso
from archiver.errors import NetworkError, SetupError
from archiver.net.http import Fetched
from archiver.storage.manifest import LeftOutRequisite
from archiver.storage.requisites import Requisite
from archiver.storage.sources import Obtained, ObtainedRequisite
from archiver.storage.warcwriter import default_warcinfo

__all__ = ["obtain_in_browser"]


@dataclass(frozen=True)
class _Exchange:
    """One finished request, read while the browser runs: its identity (``key``) and the
    one it was redirected from (``previous``), what it was for, and its ``Fetched``."""

    key: int
    previous: int | None
    url: str
    resource_type: str
    frame_url: str | None
    fetched: Fetched
    at: str


_KINDS = {"stylesheet": "stylesheet", "image": "image", "font": "font", "script": "script"}
_DROPPED = {"content-encoding", "transfer-encoding", "content-length"}


def obtain_in_browser(url: str, settings: Settings, clock: Callable[[], datetime]) -> Obtained:
    """Load ``url`` in the browser ``settings.browser`` names; the page as the browser got
    it (its redirects kept as responses), carrying every other response it loaded as its
    requisites, within the bounds. Raises ``SetupError`` without Playwright or the
    browser, ``NetworkError`` when the page itself could not be loaded."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        raise SetupError(
            "the browser capture needs Playwright: pip install 'archiver[browser]'"
        ) from e
    executable = shutil.which(settings.browser or "") if settings.browser else None
    if executable is None:
        raise SetupError(f"no browser at {settings.browser!r}: give the path of a Chromium")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, args=_launch_arguments(settings)
            )
        except PlaywrightError as e:
            raise SetupError(f"could not start {executable}: {_first_line(e)}") from e
        try:
            context = browser.new_context(user_agent=settings.user_agent, service_workers="block")
            page = context.new_page()
            recorder = _Recorder(page, clock)
            deadline = time.monotonic() + settings.requisite_seconds
            main = id(_load(page, url, settings, deadline, PlaywrightError).request)
            while recorder.pending() and time.monotonic() < deadline:  # quiet, not finished
                page.wait_for_timeout(100)
            recorder.stop()
        finally:
            browser.close()
    return _as_obtained(url, main, recorder, settings)


class _Recorder:
    """What a page asked for, and each request as it finished or failed (http(s) only: a
    ``data:`` or ``blob:`` URL is inside the page already)."""

    def __init__(self, page: Any, clock: Callable[[], datetime]) -> None:
        self.page, self.clock = page, clock
        self.asked: list[str] = []
        self.recorded: list[_Exchange] = []
        self.failed: list[tuple[str, str, str]] = []
        page.on("request", self._asked)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._failed)

    def _asked(self, request: Any) -> None:
        if _web(request):
            self.asked.append(request.url)

    def _finished(self, request: Any) -> None:
        if _web(request):
            self.recorded.append(_exchange(request, self.clock))

    def _failed(self, request: Any) -> None:
        if _web(request):
            self.failed.append((request.url, request.resource_type, str(request.failure)))

    def pending(self) -> list[str]:
        """The URLs asked for that have neither finished nor failed."""
        done = {r.url for r in self.recorded} | {url for url, _, _ in self.failed}
        return [url for url in dict.fromkeys(self.asked) if url not in done]

    def stop(self) -> None:
        """Record nothing more: nothing is read from a browser that is closing."""
        for event, handler in [
            ("request", self._asked),
            ("requestfinished", self._finished),
            ("requestfailed", self._failed),
        ]:
            self.page.remove_listener(event, handler)


def _launch_arguments(settings: Settings) -> list[str]:
    rules = [f"MAP {host} {address}" for host, address in settings.host_map.items()]
    if settings.resolve_only:
        rules.append("MAP * ~NOTFOUND")
    arguments = ["--no-sandbox", "--disable-gpu", "--no-proxy-server"]
    if rules:
        arguments.append(f"--host-resolver-rules={', '.join(rules)}")
    return arguments


def _load(page: Any, url: str, settings: Settings, deadline: float, error: type[Exception]) -> Any:
    """The main document's response, once the page loaded and its network went quiet (or
    the page's time bound, ``deadline`` on the monotonic clock, was spent)."""
    bound = settings.requisite_seconds * 1000
    try:
        response = page.goto(url, wait_until="load", timeout=max(settings.timeout * 1000, bound))
    except error as e:
        raise NetworkError(f"could not load {url} in the browser: {_first_line(e)}") from e
    if response is None:
        raise NetworkError(f"could not load {url} in the browser: no response")
    left = max(deadline - time.monotonic(), 0.0) * 1000
    with contextlib.suppress(error):  # still loading at the bound: the rest is listed
        page.wait_for_load_state("networkidle", timeout=left)
    return response


def _exchange(request: Any, clock: Callable[[], datetime]) -> _Exchange:
    """One finished request as a ``Fetched`` (see the module docstring for the headers)."""
    response = request.response()
    at = to_iso(clock())
    body = b""
    if response is not None and not 300 <= response.status < 400:
        try:
            body = response.body()
        except Exception:  # a body the browser no longer holds
            body = b""
    headers = [
        (h["name"], h["value"])
        for h in (response.headers_array() if response is not None else [])
        if h["name"].lower() not in _DROPPED and not h["name"].startswith(":")
    ]
    if response is not None and not 300 <= response.status < 400:
        headers.append(("Content-Length", str(len(body))))
    fetched = Fetched(
        url=request.url,
        final_url=request.url,
        status=response.status if response is not None else 0,
        reason=response.status_text if response is not None else "",
        http_version="HTTP/1.1",
        headers=headers,
        raw_body=body,
        truncated=False,
        request_headers=[(h["name"], h["value"]) for h in request.headers_array()],
    )
    previous = request.redirected_from
    frame = request.frame
    return _Exchange(
        id(request),
        id(previous) if previous is not None else None,
        request.url,
        request.resource_type,
        frame.url if frame is not None else None,
        fetched,
        at,
    )


def _web(request: Any) -> bool:
    return str(request.url).lower().startswith(("http://", "https://"))


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


def _as_obtained(url: str, main: int, recorder: _Recorder, settings: Settings) -> Obtained:
    """The page (``main`` the key of its request), its redirects and its requisites, from
    what the browser recorded."""
    recorded, failed, pending = recorder.recorded, recorder.failed, recorder.pending()
    by_key = {exchange.key: exchange for exchange in recorded}
    chains: list[list[_Exchange]] = []
    followed = {e.previous for e in recorded if e.previous is not None}
    for exchange in recorded:
        if exchange.key in followed:
            continue  # a hop: stored with the chain it led to
        chain = [exchange]
        while chain[0].previous in by_key:
            chain.insert(0, by_key[chain[0].previous])
        chains.append(chain)
    page_chain = next((c for c in chains if c[-1].key == main), None)
    if page_chain is None:
        raise NetworkError(f"could not load {url} in the browser: its answer was not recorded")
    page = replace(
        _chain_obtained(url, page_chain),
        warcinfo=default_warcinfo(
            f"Live capture of {url} in a headless browser ({settings.browser}): bodies as "
            "the browser decoded them (Content-Encoding removed, Content-Length the stored "
            "length); the HTTP version was not reported and is written as HTTP/1.1"
        ),
    )
    others = [c for c in chains if c is not page_chain]
    kept, left_out = _bounded(others, page.target_uri, settings)
    for failed_url, kind, why in failed:
        reason = f"failed in the browser: {why}"
        left_out.append(LeftOutRequisite(failed_url, _KINDS.get(kind, kind), url, reason))
    bound = f"still loading after the page's bound of {settings.requisite_seconds:g} s"
    left_out += [LeftOutRequisite(u, "unknown", url, bound) for u in pending]
    return replace(page, requisites=tuple(kept), requisites_left_out=tuple(left_out))


def _chain_obtained(url: str, chain: list[_Exchange]) -> Obtained:
    parts = [Obtained(e.fetched, e.url, e.url, e.at, e.at, "live", warcinfo={}) for e in chain]
    return replace(parts[-1], url=url, captured_redirects=tuple(parts[:-1]))


def _bounded(
    chains: list[list[_Exchange]], page_url: str, settings: Settings
) -> tuple[list[ObtainedRequisite], list[LeftOutRequisite]]:
    """The requisites within the count and byte bounds, in the order they finished."""
    kept: list[ObtainedRequisite] = []
    left_out: list[LeftOutRequisite] = []
    used = 0
    for chain in chains:
        first, fetched = chain[0], chain[-1].fetched
        kind = _KINDS.get(first.resource_type, first.resource_type)
        found_in = first.frame_url or page_url
        size = sum(len(e.fetched.raw_body) for e in chain)
        reason = None
        if not 200 <= fetched.status < 300:
            reason = f"answered HTTP {fetched.status}"
        elif len(kept) >= settings.requisite_count:
            reason = f"over the page's bound of {settings.requisite_count} requisites"
        elif used + size > settings.requisite_bytes:
            reason = f"over the page's bound of {settings.requisite_bytes:,} bytes"
        if reason is not None:
            left_out.append(LeftOutRequisite(first.url, kind, found_in, reason))
            continue
        used += size
        obtained = _chain_obtained(first.url, chain)
        kept.append(ObtainedRequisite(Requisite(first.url, kind, found_in), obtained))
    return kept, left_out
