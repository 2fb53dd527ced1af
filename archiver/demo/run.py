"""``archiver demo``: the main job on the bundled example, against a simulated web.

The example article (``harbour-sensors.md`` beside this module, shipped in the package;
``citations/`` links to it) cites invented sites under the reserved ``.example`` domain.
The demo serves them from an origin server on loopback (some alive, some dead, one hung,
one behind a wall, one host that no longer exists) and starts a real pywb holding old
copies of them, standing in for the Wayback Machine. The archive also holds the article
itself as first published, from which the two links now replaced by "[link no longer
available]" are recovered (``archiver.recover.removed``). Then it runs the same pipeline
as ``archiver run`` with a host map that sends every name to loopback and treats every
other name as nonexistent, so the demo cannot reach the internet even by mistake.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from archiver.config import Settings
from archiver.dates import as_utc
from archiver.demo.simweb.origin import OriginServer, Page, Site
from archiver.demo.simweb.wayback import (
    FixtureCapture,
    WaybackServer,
    ensure_pywb,
    write_fixture_warc,
)
from archiver.errors import SetupError
from archiver.extract import extract_citations, read_article
from archiver.pipeline import finish_run, html_path, run_pipeline
from archiver.report.table import TableFormat

EXAMPLE = "harbour-sensors.md"


def example_article() -> Path:
    """The bundled article, shipped inside the package (``citations/`` links to it)."""
    path = Path(__file__).resolve().parent / EXAMPLE
    if not path.is_file():
        raise SetupError(f"the bundled example is missing ({path}); reinstall archiver")
    return path


def _page(title: str, text: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{text}</p></body></html>"
    )


TENDER = "http://council.harbourcity.example/tenders/2018-044"
ANNEX = "http://council.harbourcity.example/tenders/2018-044/annex-b"
PRESS = "http://www.tidewater-systems.example/news/harbour-city-award"
LAB = "http://openstreets-lab.example/reports/wifi-counting"
PRODUCT = "http://products.tidewater-systems.example/mast-7"
GAZETTE = "http://harbour-gazette.example/2018/07/masts-go-up"
BRIEFING = "http://ombudsman.example/briefings/harbour-sensors"
GUIDANCE = "http://ombudsman.example/guidance/sensors"
RESIDENTS = "http://promenade-residents.example/"
PETITION = "http://petitions.harbourcity.example/p/1187"
INVESTORS = "http://ir.tidewater-systems.example/2018/q3"
# The article's own address (its front matter's url:) and the two sources whose links
# were later replaced by "[link no longer available]"; the archive's copy of the article
# from the day after publication still has them.
ARTICLE = "http://harbour-watch.example/2019/03/sensor-contracts"
SUMMARY = "http://council.harbourcity.example/budget/2018/sensor-network-summary"
LETTER = "http://council.harbourcity.example/data-protection/2018-11-letter"
_LINKS_BEFORE_REMOVAL = (
    ("own summary [link no longer available]", f"own [summary]({SUMMARY})"),
    ("wrote to councillors [link no longer available]", f"[wrote to councillors]({LETTER})"),
)
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")


def live_web() -> OriginServer:
    """Today's web: what is left of the article's sources."""
    web = OriginServer(
        {
            "council.harbourcity.example": Site(),  # the tender and its annex are gone
            "petitions.harbourcity.example": Site(fallback=Page(status=403, body="Access denied")),
            "www.tidewater-systems.example": Site(),
            "products.tidewater-systems.example": Site(),
            "ir.tidewater-systems.example": Site(),
            "openstreets-lab.example": Site(),
            "harbour-gazette.example": Site(fallback=Page(status=503, body="Service Unavailable")),
            "promenade-residents.example": Site(fallback=Page(hang=True)),
        }
    )
    web.add(ANNEX, Page(status=410, body="Gone"))
    web.add(
        PRESS,
        Page(
            body=_page(
                "Tidewater wins Harbour City",
                "We will operate the network for seven years before handing it to the city.",
            )
        ),
    )
    web.add(LAB, Page(body=_page("WiFi counting", "Device counting is tracking by another name.")))
    web.add(PRODUCT, Page(status=301, location="/products/mast-7-sensor"))
    web.add(
        "http://products.tidewater-systems.example/products/mast-7-sensor",
        Page(body=_page("Mast 7", "Optional module: device counting.")),
    )
    return web


def article_as_first_published(markdown: str) -> str:
    """The bundled article as its site served it on publication: HTML, with the two links
    that were later removed still in place.

    Derived from the article itself, so the two copies never drift apart in wording; only
    what this article uses is rendered (headings, paragraphs, blockquotes, inline links).
    """
    for now, then in _LINKS_BEFORE_REMOVAL:
        markdown = markdown.replace(now, then)
    body = markdown.split("\n---\n", 1)[1] if markdown.startswith("---\n") else markdown
    blocks = []
    for block in re.split(r"\n\s*\n", body.strip()):
        lines = [line.strip() for line in block.splitlines()]
        tag = "p"
        if lines[0].startswith("#"):
            tag = f"h{len(lines[0]) - len(lines[0].lstrip('#'))}"
            lines[0] = lines[0].lstrip("#").strip()
        elif lines[0].startswith(">"):
            tag = "blockquote"
            lines = [line.removeprefix(">").strip() for line in lines]
        text = _MARKDOWN_LINK.sub(r'<a href="\2">\1</a>', html.escape(" ".join(lines), quote=False))
        blocks.append(f"<{tag}>{text}</{tag}>")
    head = (
        f'<meta charset="utf-8"><link rel="canonical" href="{ARTICLE}">'
        '<meta property="article:published_time" content="2019-03-14">'
    )
    return f"<!doctype html><html><head>{head}</head><body>{''.join(blocks)}</body></html>"


class _OldPage(NamedTuple):
    url: str
    captured_at: str  # ISO 8601, UTC
    title: str
    text: str
    status: int = 200


_OLD_PAGES = (
    _OldPage(
        TENDER,
        "2018-03-20T09:15:00",
        "Tender 2018-044",
        "A distributed network of flood, air-quality and pedestrian-flow sensors "
        "covering the whole of the harbour promenade.",
    ),
    _OldPage(TENDER, "2019-06-01T10:00:00", "Not Found", "No such page.", status=404),
    _OldPage(
        ANNEX,
        "2018-04-02T14:30:00",
        "Annex B",
        "Each mast records the hardware addresses of phones within thirty metres.",
    ),
    _OldPage(
        PRESS,
        "2018-05-01T08:00:00",
        "Tidewater wins Harbour City",
        "We will operate the network for seven years before handing it to the city.",
    ),
    _OldPage(
        GAZETTE,
        "2018-07-20T18:45:00",
        "Masts go up",
        "The first masts went up on the promenade this week.",
    ),
    _OldPage(
        GAZETTE,
        "2018-08-15T07:00:00",
        "Masts go up (updated)",
        "The first masts went up in July.",
    ),
    _OldPage(
        BRIEFING,
        "2019-02-01T12:00:00",
        "Ombudsman briefing",
        "The council should publish a privacy assessment.",
    ),
    _OldPage(
        GUIDANCE,
        "2018-03-05T12:00:00",
        "Guidance on public sensors",
        "Public bodies should assess sensors before buying them.",
    ),
    _OldPage(
        INVESTORS,
        "2018-10-30T16:20:00",
        "Q3 briefing",
        "The project is halfway built and fully financed.",
    ),
    _OldPage(
        SUMMARY,
        "2018-12-05T11:00:00",
        "Sensor network: budget summary",
        "The sensor network is contingency-funded.",
    ),
    _OldPage(
        LETTER,
        "2018-11-20T15:40:00",
        "Letter to councillors",
        "No data-protection assessment was made before the contract was signed.",
    ),
)


def archived_copies() -> list[FixtureCapture]:
    """Old copies held by the simulated Wayback Machine: the sources' pages, then the
    article as first published."""
    pages = [
        FixtureCapture(
            url=page.url,
            captured_at=as_utc(datetime.fromisoformat(page.captured_at)),
            status=page.status,
            body=_page(page.title, page.text).encode(),
        )
        for page in _OLD_PAGES
    ]
    article = FixtureCapture(
        url=ARTICLE,
        captured_at=as_utc(datetime.fromisoformat("2019-03-15T07:30:00")),
        body=article_as_first_published(example_article().read_text(encoding="utf-8")).encode(),
    )
    return [*pages, article]


def run_demo(output: Path, *, echo: Callable[[str], None], emit: Callable[[str], None]) -> int:
    """Run the demo into ``output``; returns the exit code for the CLI."""
    ensure_pywb()

    article_path = example_article()
    output.mkdir(parents=True, exist_ok=True)
    archive_dir = output / "simulated-archive"
    shutil.rmtree(archive_dir, ignore_errors=True)
    archive_dir.mkdir()
    fixture = archive_dir / "old-copies.warc.gz"
    write_fixture_warc(fixture, archived_copies())
    echo("demo: serving the live web and a Wayback-compatible archive on loopback ...")
    with live_web() as web, WaybackServer(archive_dir / "pywb", [fixture]) as wayback:
        settings = Settings(
            host_map=web.host_map(),
            resolve_only=True,
            timeout=1.5,
            retries=0,
            store=output / "warcs",
            # a throwaway: its history stays in its folder, beside (not in) the store
            state_path=output / "state.sqlite",
            archives=(f"wayback:{wayback.base_url}",),
            fresh_for=0.0,
        )
        article = read_article(str(article_path))
        citations = extract_citations(article.text, article.fmt, source=article.source)
        echo(f"demo: {len(citations)} citations in {article_path.name}; checking and archiving ...")
        report = run_pipeline(article, citations, settings, on_progress=echo)
    finished = finish_run(report, settings, output / "report.json")
    verification = finished.verification  # None only if nothing was stored
    ok = verification is None or verification.ok
    emit(TableFormat().run(finished))
    emit("")
    emit(f"report:   {finished.path} (to read in a browser: {html_path(output / 'report.json')})")
    emit(f"WARCs:    {settings.store} (manifest: {settings.store / 'manifest.json'})")
    records = verification.records_checked if verification is not None else 0
    emit(f"verified: {'OK' if ok else 'FAILED'} ({records} records)")
    return 0 if ok else 3
