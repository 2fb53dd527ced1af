"""The browser the tests open pages in: Debian's ``chromium`` (``.ci/run`` installs it;
``ARCHIVER_CHROMIUM`` names another), driven by Playwright, which downloads no browser of
its own. A missing browser or Playwright fails the test: a replay or report test that
skipped would prove nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


def chromium_path() -> str:
    found = os.environ.get("ARCHIVER_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "no chromium on this machine: .ci/run installs Debian's (apt-get install -y "
            "chromium), or set ARCHIVER_CHROMIUM to a Chromium binary"
        )
    return found


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``), closed at the end."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()
