"""Stores to export, made as a user makes them: by ``archiver run`` against the loopback
origin and a real pywb, and by ``archiver archive`` from a crawl of the shared corpus.

Shared by the export tests (``test_export``, ``test_export_replay``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from archiver.cli.main import cli
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import FixtureCapture
from tests.conftest import CANARY, require_shared, running_wayback

ALIVE = "http://news.example/2019/harbour"
GONE = "http://news.example/2019/tender"
ALIVE_TEXT = "The masts went up on the promenade in March."
GONE_TEXT = "The council tendered forty sensor masts."
# An inline style a replay must apply: the page "styled" without any requisite.
STYLED_PAGE = (
    "<html><head><title>Harbour masts</title>"
    "<style>p.lead { color: rgb(0, 128, 0); }</style></head>"
    f'<body><p class="lead">{ALIVE_TEXT}</p></body></html>'
)
# A page styled only by an external stylesheet, through an @import: the replay shows its
# colour only when both were stored as its requisites (issue 13, "Whole pages").
GONE_PAGE = (
    '<html><head><title>Tender 2018-044</title><link rel="stylesheet" href="/css/tender.css">'
    f'</head><body><p class="tender">{GONE_TEXT}</p></body></html>'
)
GONE_CSS = {
    "http://news.example/css/tender.css": '@import url("colours.css");\n',
    "http://news.example/css/colours.css": "p.tender { color: rgb(128, 0, 32); }\n",
}
ARTICLE = f"""# Harbour sensors

The [masts]({ALIVE}) went up, after a [tender]({GONE}) (both read on 2019-03-14).
"""


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def pipeline_store(workdir: Path) -> Path:
    """A store written by ``archiver run``: the live page and a memento of ALIVE (from
    pywb), a memento of GONE (dead on the origin)."""
    store = workdir / "warcs"
    article = workdir / "article.md"
    article.write_text(ARTICLE, encoding="utf-8")
    captures = [
        FixtureCapture(
            ALIVE, datetime(2019, 3, 1, 9, 0, tzinfo=UTC), body=STYLED_PAGE.encode("utf-8")
        ),
        FixtureCapture(GONE, datetime(2018, 11, 2, 9, 0, tzinfo=UTC), body=GONE_PAGE.encode()),
        *(
            FixtureCapture(
                url,
                datetime(2018, 11, 2, 9, 0, 5, tzinfo=UTC),
                body=css.encode(),
                content_type="text/css",
            )
            for url, css in GONE_CSS.items()
        ),
    ]
    with OriginServer() as origin, running_wayback(workdir / "wayback", captures) as wayback:
        origin.add(ALIVE, Page(body=STYLED_PAGE))
        origin.add(CANARY, Page(body="<p>up</p>"))
        resolve: list[str] = []
        hosts = {**origin.host_map(), "canary.example": origin.address}
        hosts["archive.test"] = f"127.0.0.1:{wayback.port}"
        for host, address in hosts.items():
            resolve += ["--resolve", f"{host}={address}"]
        ran = invoke(
            "run",
            str(article),
            "--store",
            str(store),
            "--state",
            str(workdir / "state.sqlite"),
            "--archive",
            "wayback:http://archive.test/web/",
            "--canary",
            CANARY,
            "--only-resolved",
            *resolve,
        )
    assert ran.exit_code == 3, ran.output  # GONE is dead: found problems, copies stored
    stored = json.loads((store / "manifest.json").read_text())["captures"]
    assert sorted((c["url"], c["source"]) for c in stored) == [
        (ALIVE, "live"),
        (ALIVE, "memento"),
        (GONE, "memento"),
    ]
    return store


def corpus_store(workdir: Path) -> Path:
    """A store ``archiver archive`` made from a real crawl (iana.org, January 2014) of
    the shared corpus, used as a local collection."""
    crawl = require_shared("corpus", "warcs", "iana.warc.gz")
    article = workdir / "iana.md"
    article.write_text(
        "The [IANA home page](http://www.iana.org/) and its [domains]"
        "(http://www.iana.org/domains) page were read on 2014-02-01.\n"
    )
    store = workdir / "iana-store"
    args = ["archive", str(article), "--archive", str(crawl), "--store", str(store)]
    ran = invoke(
        *args, "--state", str(workdir / "iana.sqlite"), "--only-resolved", "--canary", CANARY
    )
    assert ran.exit_code == 1, ran.output  # offline: only the collection was reached
    return store
