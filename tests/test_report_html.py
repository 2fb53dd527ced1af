"""The report people read: ``run`` writes report.html beside report.json, opened here in
headless Chromium (Debian's, driven by Playwright) to see what it shows and that nothing
from the article or the pages ran; and the CSV ``run --format csv`` prints."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archiver.cli.main import cli
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import FixtureCapture
from archiver.report.csv_report import run_csv
from archiver.report.html_report import render_html
from tests.chromium import chromium
from tests.conftest import CANARY, running_wayback

ALIVE = "http://news.example/2019/harbour"
GONE = "http://news.example/2019/tender"
# Text an attacker controls, in the article and in the pages: each would run, or break out
# of its attribute, if it reached the page unescaped.
SCRIPT = "<script>window.pwnd = 1</script>"
ATTRIBUTE = '" onmouseover="window.pwnd = 2" x="'
IMAGE = '<img src=x onerror="window.pwnd = 3">'
ARTICLE = f"""---
date: 2019-03-14
---

The council [announced {ATTRIBUTE} the masts]({ALIVE}) after a [tender {IMAGE}]({GONE}) that
is gone now, saying "{SCRIPT} the whole promenade".
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``archiver run`` on the hostile article against the origin and a real pywb; the
    report's folder and what ``--format csv`` printed. Made before the browser starts
    (Playwright's sync API keeps an event loop running)."""
    work = tmp_path_factory.mktemp("run")
    article = work / "article.md"
    article.write_text(ARTICLE, encoding="utf-8")
    hostile_page = f"<html><title>{SCRIPT}Harbour</title><p>the whole promenade</p></html>"
    captures = [
        FixtureCapture(ALIVE, datetime(2019, 3, 1, 9, 0, tzinfo=UTC), body=hostile_page.encode()),
        FixtureCapture(GONE, datetime(2018, 11, 2, 9, 0, tzinfo=UTC), body=b"<p>Tender</p>"),
    ]
    with OriginServer() as origin, running_wayback(work / "wayback", captures) as wayback:
        origin.add(ALIVE, Page(body=hostile_page))
        origin.add(CANARY, Page(body="<p>up</p>"))
        hosts = {**origin.host_map(), "canary.example": origin.address}
        hosts["archive.test"] = f"127.0.0.1:{wayback.port}"
        resolve = [f"--resolve={host}={address}" for host, address in hosts.items()]
        result = CliRunner().invoke(
            cli,
            ["run", str(article), "--store", str(work / "warcs"), "--format", "csv",
             "--archive", "wayback:http://archive.test/web/", "--canary", CANARY,
             "--only-resolved", *resolve],
        )  # fmt: skip
    assert result.exit_code == 3, result.output  # GONE is dead
    return work / "warcs", result.stdout


def test_the_html_report_shows_the_run_and_runs_nothing_from_it(
    ran: tuple[Path, str], browser: Any
) -> None:
    store, _ = ran
    report = json.loads((store / "report.json").read_text())
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((store / "report.html").as_uri())
    for section in page.query_selector_all("section.citation"):
        section.hover()  # an injected onmouseover would fire now
    assert page.evaluate("window.pwnd") is None, "text from the data ran as script"
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.images.length") == 0
    assert page.evaluate("document.querySelectorAll('[onmouseover],[onerror]').length") == 0
    text = page.inner_text("body")
    # What it shows: the summary, each citation's sentence (hostile text as text), verdict,
    # memento date and quote.
    assert f"{report['summary']['citations']}\ncitations" in text
    assert ATTRIBUTE.strip() in text  # the link text as the article has it, as text
    sections = page.query_selector_all("section.citation")
    assert len(sections) == len(report["results"]) == 2
    first, second = (s.inner_text() for s in sections)
    assert "alive" in first and "2019-03-01T09:00:00Z" in first and ALIVE in first
    assert "dead" in second and "2018-11-02T09:00:00Z" in second and "HTTP 404" in second
    assert "the whole promenade" in first + second  # the quote
    assert page.eval_on_selector("section.citation mark", "m => m.textContent").startswith(
        "announced"
    )
    links = page.eval_on_selector_all("a", "links => links.map(a => a.href)")
    assert ALIVE in links and all(link.startswith("http") for link in links)
    assert errors == []
    page.close()


def test_the_csv_has_a_row_a_citation_and_no_formula(ran: tuple[Path, str]) -> None:
    _, printed = ran
    rows = list(csv.DictReader(io.StringIO(printed)))
    assert [(r["url"], r["verdict"]) for r in rows] == [(ALIVE, "alive"), (GONE, "dead")]
    assert rows[0]["memento_datetime"] == "2019-03-01T09:00:00Z"
    hostile = {"results": [{"citation": {"url": "http://x.example/", "text": "=HYPERLINK(1)"},
                            "notes": ["+cmd|' /C calc'!A0"]}]}  # fmt: skip
    row = next(csv.DictReader(io.StringIO(run_csv(hostile))))
    assert row["text"] == "'=HYPERLINK(1)" and row["notes"].startswith("'+cmd")


def test_text_from_every_field_is_shown_as_text_and_never_runs(
    browser: Any, tmp_path: Path
) -> None:
    """Hostile text in every field the page shows (pages' titles, reasons, notes, URLs
    that are not web links): shown as it is, nothing of it run."""
    report = _hostile_report(SCRIPT + IMAGE + ATTRIBUTE)
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    page = browser.new_page()
    page.goto(path.as_uri())
    for section in page.query_selector_all("section.citation"):
        section.hover()
    assert page.evaluate("window.pwnd") is None
    assert page.evaluate("document.scripts.length + document.images.length") == 0
    text = page.inner_text("body")
    assert text.count(SCRIPT) >= 6 and text.count(IMAGE) >= 6
    assert page.eval_on_selector_all("a", "links => links.length") == 0  # none is http(s)
    page.close()


def _hostile_report(hostile: str) -> dict[str, Any]:
    return {
        "article": hostile,
        "summary": {"citations": 1, f"verdict_{hostile}": 1},
        "notes": [hostile],
        "results": [
            {
                "citation": {
                    "url": "javascript:window.pwnd=4",
                    "text": hostile,
                    "context": f"before {hostile} after",
                    "quote": hostile,
                },
                "check": {"verdict": hostile, "reason": hostile, "final_url": "data:text/html,x"},
                "selection": {
                    "memento": {"url": "javascript:window.pwnd=5", "datetime": hostile},
                    "reason": hostile,
                },
                "notes": [hostile],
            }
        ],
    }


def test_only_web_links_become_links_and_every_field_is_escaped() -> None:
    hostile = '"><script>alert(1)</script>'
    report = _hostile_report(hostile)
    page = render_html(report)
    assert "<script>" not in page and "javascript:" not in page.split("<body>")[0]
    assert 'href="javascript' not in page and 'href="data' not in page
    assert page.count("&lt;script&gt;") >= 6
