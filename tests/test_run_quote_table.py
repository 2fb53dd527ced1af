"""The ``run`` table shows each quoted citation's verdict, as the ``quotes`` stage found it
in the stored copy, and the memento chosen for it was chosen by that same verdict."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from archiver.cli.main import cli
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import FixtureCapture, write_fixture_warc

REPORT = "http://news.example/2018/q3-report.html"
CAFE = "http://fr.example/cafe"
PAGE = (
    "<html><head><title>Q3 report</title></head><body><h1>Q3 report</h1>"
    "<p>The harbour sensors were installed in 1998 and have never failed since.</p>"
    "<p>Maintenance costs stayed under 40,000 euros a year.</p></body></html>"
)
CAFE_PAGE = (
    '<html><head><meta charset="windows-1252"><title>Café</title></head><body>'
    "<p>Le café “Müller” a rouvert ses portes en 1998, après dix ans.</p>"
    '<p style="display:none">Le café a fermé pour toujours en 2001.</p></body></html>'
)
ARTICLE = f"""---
date: 2018-11-28
---

The council's report says the sensors "were installed in 1998 and have never failed
since" ([Q3 report]({REPORT})).

It adds that "maintenance costs stayed under 45,000 euros a year" ([Q3 report]({REPORT})).

The paper wrote that "Le café “Müller” a rouvert ses portes en 1998" ([Café]({CAFE})).

It also wrote that "le café a fermé pour toujours en 2001" ([Café]({CAFE})).

No quote here ([Q3 report]({REPORT})).
"""


def live_args(origin: OriginServer) -> list[str]:
    """The live pages answer from the origin on loopback, as they were archived."""
    origin.add(REPORT, Page(body=PAGE))
    origin.add(CAFE, Page(body=CAFE_PAGE.encode("cp1252"), content_type="text/html"))
    hosts = [
        arg
        for host, address in origin.host_map().items()
        for arg in ("--resolve", f"{host}={address}")
    ]
    return [*hosts, "--only-resolved", "--timeout", "5", "--retries", "0"]


def run_article(tmp_path: Path, origin: OriginServer, *formats: str) -> list[str]:
    warc = tmp_path / "collection" / "sources.warc.gz"
    warc.parent.mkdir()
    october = datetime(2018, 10, 1, tzinfo=UTC)
    write_fixture_warc(
        warc,
        [
            FixtureCapture(REPORT, october, body=PAGE.encode()),
            FixtureCapture(
                CAFE,
                october,
                body=CAFE_PAGE.encode("cp1252"),
                content_type="text/html; charset=windows-1252",
            ),
        ],
    )
    article = tmp_path / "article.md"
    article.write_text(ARTICLE, encoding="utf-8")
    outputs = []
    for number, output in enumerate(formats):
        result = CliRunner().invoke(
            cli,
            [
                "run",
                str(article),
                "--archive",
                str(warc.parent),
                "--store",
                str(tmp_path / f"warcs{number}"),
                *live_args(origin),
                "--format",
                output,
            ],
        )
        assert result.exit_code in (0, 3), result.output
        outputs.append(result.stdout)
    return outputs


def test_the_run_table_has_a_quote_column(tmp_path: Path, origin: OriginServer) -> None:
    shown, data = run_article(tmp_path, origin, "table", "json")
    lines = shown.splitlines()
    header = lines[0].split()
    assert header[-1] == "quote"
    rows = {int(line.split()[0]): line for line in lines[2:] if line[:1].isdigit()}
    assert rows[6].rstrip().endswith("verbatim")
    assert rows[8].rstrip().endswith("altered: 45,000 → 40,000")
    assert rows[10].rstrip().endswith("verbatim")  # read in its own charset
    assert rows[12].rstrip().endswith("not-found")  # hidden from readers
    assert rows[14].rstrip().endswith("-")  # quotes nothing: the column is empty
    assert "quotes: 2 verbatim, 1 altered, 1 not-found" in lines
    # The memento's reason says the same verdicts, in the quotes stage's words.
    report = json.loads(data)
    reasons = [r["selection"]["reason"].split("; ", 1)[1] for r in report["results"][:4]]
    assert reasons == [
        "contains the quoted passage (verbatim)",
        "holds an altered version of the quoted passage (45,000 → 40,000)",
        "contains the quoted passage (verbatim)",
        "the quoted passage is in no capture read (not-found)",
    ]
    verdicts = ["verbatim", "altered", "verbatim", "not-found"]
    assert [q["verdict"] for q in report["quotes"]] == verdicts
    assert [r["selection"]["quote_verdict"] for r in report["results"]] == [*verdicts, None]


def test_a_run_without_quotes_has_no_quote_column(tmp_path: Path, origin: OriginServer) -> None:
    warc = tmp_path / "collection" / "sources.warc.gz"
    warc.parent.mkdir()
    write_fixture_warc(
        warc, [FixtureCapture(REPORT, datetime(2018, 10, 1, tzinfo=UTC), body=PAGE.encode())]
    )
    article = tmp_path / "article.md"
    article.write_text(f"See [the report]({REPORT}).\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(article),
            *("--archive", str(warc.parent), "--store", str(tmp_path / "w")),
            *live_args(origin),
        ],
    )
    assert result.exit_code in (0, 3), result.output
    header = result.stdout.splitlines()[0].split()
    assert header == ["line", "verdict", "url", "archived", "copy", "stored", "requisites"]
    assert "quotes:" not in result.stdout
