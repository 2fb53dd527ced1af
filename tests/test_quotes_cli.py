"""``archiver quotes`` and the run report's ``quotes`` section, end to end: real pages of
the shared iana.org crawl, a local WARC collection, and drift between a real pywb's
memento and the origin server's changed page."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from archiver.cli.main import cli
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import FixtureCapture, write_fixture_warc
from tests.conftest import require_shared, running_wayback

FIXTURE = Path(__file__).parent / "fixtures" / "articles" / "iana-quotes.md"
REPORT = "http://news.example/2018/q3-report.html"
PAGE_2018 = (
    "<html><head><title>Q3 report</title></head><body><h1>Q3 report</h1>"
    "<p>The harbour sensors were installed in 1998 and have never failed since.</p>"
    "<p>Maintenance costs stayed under 40,000 euros a year.</p></body></html>"
)
PAGE_NOW = (
    "<html><head><title>Q3 report</title></head><body><h1>Q3 report (updated)</h1>"
    "<p>The harbour sensors were replaced in 2021 after two failures.</p>"
    "<p>Maintenance costs stayed under 40,000 euros a year.</p></body></html>"
)
ARTICLE = f"""---
date: 2018-11-28
---

The council's report says the sensors "were installed in 1998 and have never failed
since" ([Q3 report]({REPORT})).

It adds that "maintenance costs stayed under 45,000 euros a year" ([Q3 report]({REPORT})).
"""


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def resolve_args(origin: OriginServer, **hosts: str) -> list[str]:
    args = []
    for host, address in {**origin.host_map(), **hosts}.items():
        args += ["--resolve", f"{host}={address}"]
    return [*args, "--only-resolved", "--timeout", "5", "--retries", "0"]


def test_quotes_of_a_real_article_against_the_iana_crawl() -> None:
    iana = require_shared("corpus", "warcs", "iana.warc.gz")
    result = invoke(
        "quotes",
        str(FIXTURE),
        "--archive",
        str(iana),
        "--no-live",
        "--only-resolved",
        "--format",
        "json",
    )
    assert result.exit_code == 3, result.output  # a misquote was found
    data = json.loads(result.stdout)
    verdicts = [(q["url"], q["verdict"]) for q in data["quotes"]]
    assert verdicts == [
        ("http://www.iana.org/about", "verbatim"),
        ("http://www.iana.org/about", "altered"),
        ("http://www.iana.org/time-zones", "verbatim"),
        ("http://www.iana.org/domains/reserved", "verbatim"),
    ]
    nested, misquote, verbatim, blockquote = data["quotes"]
    # (“protocols”) on the page, ("protocols") in the article: the marks are made plain
    assert (nested["score"], nested["archived"]["forms"]) == (100.0, [])
    assert nested["archived"]["passage"]["exact"].endswith(
        "technical standards (“protocols”) that drive the Internet"
    )
    assert nested["memento"]["datetime"] == "2014-01-26T20:07:06Z"
    assert misquote["archived"]["changes"] == [
        {"quote": "1980s", "source": "1970s", "kinds": ["number"], "shown": "1980s → 1970s"}
    ]
    assert misquote["archived"]["passage"]["exact"] == (
        "with its activities dating back to the 1970s"
    )
    assert verbatim["archived"]["selector"] == {
        "type": "TextQuoteSelector",
        "exact": "is updated periodically to reflect changes made by political bodies to "
        "time zone boundaries, UTC offsets, and daylight-saving rules",
        "prefix": " locations around the globe. It ",
        "suffix": ". Its management procedure is do",
    }
    assert verbatim["archived"]["fragment"] == (
        ":~:text=is%20updated%20periodically%20to%20reflect,"
        "UTC%20offsets%2C%20and%20daylight%2Dsaving%20rules"
    )
    assert verbatim["archived"]["link"] is None  # a record in a local file opens in no browser
    # the blockquote's “IANA” is "IANA" in the article, and its final period is no word
    assert blockquote["archived"]["passage"]["exact"].endswith(
        "specific policy or technical purposes"
    )
    assert data["summary"] == {
        "quotes": 4,
        "verbatim": 3,
        "equivalent": 0,
        "altered": 1,
        "not-found": 0,
        "not-checked": 0,
        "drifted": 0,
    }


def test_the_table_shows_the_changed_number() -> None:
    iana = require_shared("corpus", "warcs", "iana.warc.gz")
    result = invoke("quotes", str(FIXTURE), "--archive", str(iana), "--no-live", "--only-resolved")
    assert result.exit_code == 3
    assert "  archived: altered (87.5%)\n    changed: 1980s → 1970s\n" in result.stdout
    assert result.stdout.rstrip().endswith("4 quote(s): 3 verbatim, 1 altered")


def test_a_local_collection_is_checked_like_any_archive(tmp_path: Path) -> None:
    """Local WARCs were judged by their recorded status alone before issue 10 unified
    the archives, so every quote read "not checked"; now the record's text is read."""
    warc = tmp_path / "collection" / "report.warc.gz"
    warc.parent.mkdir()
    write_fixture_warc(
        warc, [FixtureCapture(REPORT, datetime(2018, 10, 1, tzinfo=UTC), body=PAGE_2018.encode())]
    )
    article = tmp_path / "article.md"
    article.write_text(ARTICLE, encoding="utf-8")
    result = invoke(
        "quotes",
        str(article),
        "--archive",
        str(warc.parent),
        "--no-live",
        "--only-resolved",
        "--format",
        "json",
    )
    data = json.loads(result.stdout)
    assert [(q["verdict"], q["score"]) for q in data["quotes"]] == [
        ("verbatim", 100.0),
        ("altered", data["quotes"][1]["score"]),
    ]
    assert data["quotes"][1]["archived"]["changes"][0]["shown"] == "45,000 → 40,000"
    assert data["quotes"][0]["memento"]["datetime"] == "2018-10-01T00:00:00Z"
    assert result.exit_code == 3

    store = tmp_path / "warcs"
    ran = invoke(
        "run",
        str(article),
        "--archive",
        str(warc.parent),
        "--store",
        str(store),
        "--only-resolved",
        "--format",
        "json",
    )
    report = json.loads(ran.stdout)
    assert [q["verdict"] for q in report["quotes"]] == ["verbatim", "altered"]
    first = report["quotes"][0]
    # read back from the store's own WARC: the stored copy is what is proved
    assert first["archived"]["datetime"] == "2018-10-01T00:00:00Z"
    assert first["live"]["verdict"] == "not-checked"
    assert report["quote_summary"]["verbatim"] == 1
    assert "contains the quoted passage" in report["results"][0]["selection"]["reason"]
    # The page people read shows each quote's verdict beside its citation, with what differs.
    page = (store / "report.html").read_text(encoding="utf-8")
    second = page.split('id="c2"')[1].split("</section>")[0]
    assert ">altered</span>" in second and "<code>45,000 → 40,000</code>" in second
    assert ">verbatim</span>" in page.split('id="c1"')[1].split("</section>")[0]


def test_drift_between_the_memento_and_the_live_page(origin: OriginServer, tmp_path: Path) -> None:
    origin.add(REPORT, Page(body=PAGE_NOW))
    origin.add("http://news.example/", Page(body="<html><title>News</title></html>"))
    captures = [
        FixtureCapture(REPORT, datetime(2018, 10, 1, 9, 0, tzinfo=UTC), body=PAGE_2018.encode())
    ]
    article = tmp_path / "article.md"
    article.write_text(ARTICLE, encoding="utf-8")
    with running_wayback(tmp_path / "wayback", captures) as wayback:
        archive = ["--archive", "wayback:http://archive.test/web/"]
        hosts = resolve_args(origin, **{"archive.test": f"127.0.0.1:{wayback.port}"})
        result = invoke("quotes", str(article), *archive, *hosts, "--format", "json")
        store = tmp_path / "warcs"
        ran = invoke(
            "run", str(article), *archive, *hosts, "--store", str(store), "--format", "json"
        )
    data = json.loads(result.stdout)
    first, second = data["quotes"]
    assert first["verdict"] == "verbatim"
    assert first["memento"]["url"] == f"http://archive.test/web/20181001090000/{REPORT}"
    assert first["archived"]["link"] == (
        f"http://archive.test/web/20181001090000/{REPORT}#:~:text=were%20installed"
        "%20in%201998%20and%20have%20never%20failed%20since"
    )
    assert first["live"]["verdict"] in ("altered", "not-found")
    assert first["drifted"] is True
    assert first["drift"]["drifted"] is True
    assert 20 < first["drift"]["changed_percent"] < 80
    assert "the memento holds the quote, the live page does not" in first["drift"]["reason"]
    # the misquote is altered in both copies: nothing drifted
    assert (second["verdict"], second["live"]["verdict"], second["drifted"]) == (
        "altered",
        "altered",
        False,
    )
    assert data["summary"]["drifted"] == 1

    report = json.loads(ran.stdout)
    in_run = report["quotes"][0]
    assert (in_run["verdict"], in_run["drifted"]) == ("verbatim", True)
    assert in_run["archived"]["url"] == first["memento"]["url"]
    assert in_run["drift"]["changed_percent"] == first["drift"]["changed_percent"]
