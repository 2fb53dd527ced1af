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
from datetime import UTC, datetime
from pathlib import Path

from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page, Site
from archiver.demo.simweb.wayback import (
    FixtureCapture,
    WaybackServer,
    ensure_pywb,
    write_fixture_warc,
)
from archiver.durable import replace_file
from archiver.errors import SetupError
from archiver.extract import extract_citations, read_article
from archiver.pipeline import run_pipeline
from archiver.report.render import to_json
from archiver.storage.verify import verify_store

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


def archived_copies() -> list[FixtureCapture]:
    """Old copies held by the simulated Wayback Machine."""

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    def page(url: str, when: str, title: str, text: str, status: int = 200) -> FixtureCapture:
        return FixtureCapture(
            url=url, captured_at=at(when), status=status, body=_page(title, text).encode()
        )

    return [
        page(
            TENDER,
            "2018-03-20T09:15:00",
            "Tender 2018-044",
            "A distributed network of flood, air-quality and pedestrian-flow sensors "
            "covering the whole of the harbour promenade.",
        ),
        page(TENDER, "2019-06-01T10:00:00", "Not Found", "No such page.", status=404),
        page(
            ANNEX,
            "2018-04-02T14:30:00",
            "Annex B",
            "Each mast records the hardware addresses of phones within thirty metres.",
        ),
        page(
            PRESS,
            "2018-05-01T08:00:00",
            "Tidewater wins Harbour City",
            "We will operate the network for seven years before handing it to the city.",
        ),
        page(
            GAZETTE,
            "2018-07-20T18:45:00",
            "Masts go up",
            "The first masts went up on the promenade this week.",
        ),
        page(
            GAZETTE,
            "2018-08-15T07:00:00",
            "Masts go up (updated)",
            "The first masts went up in July.",
        ),
        page(
            BRIEFING,
            "2019-02-01T12:00:00",
            "Ombudsman briefing",
            "The council should publish a privacy assessment.",
        ),
        page(
            GUIDANCE,
            "2018-03-05T12:00:00",
            "Guidance on public sensors",
            "Public bodies should assess sensors before buying them.",
        ),
        page(
            INVESTORS,
            "2018-10-30T16:20:00",
            "Q3 briefing",
            "The project is halfway built and fully financed.",
        ),
        page(
            SUMMARY,
            "2018-12-05T11:00:00",
            "Sensor network: budget summary",
            "The sensor network is contingency-funded.",
        ),
        page(
            LETTER,
            "2018-11-20T15:40:00",
            "Letter to councillors",
            "No data-protection assessment was made before the contract was signed.",
        ),
        FixtureCapture(
            url=ARTICLE,
            captured_at=at("2019-03-15T07:30:00"),
            body=article_as_first_published(example_article().read_text(encoding="utf-8")).encode(),
        ),
    ]


def run_demo(output: Path, *, echo: Callable[[str], None], emit: Callable[[str], None]) -> int:
    """Run the demo into ``output``; returns the exit code for the CLI."""
    from archiver.report.render import render_run_report

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
            archives=(f"wayback:{wayback.base_url}",),
            fresh_for=0.0,
        )
        article = read_article(str(article_path))
        citations = extract_citations(article.text, article.fmt, source=article.source)
        echo(f"demo: {len(citations)} citations in {article_path.name}; checking and archiving ...")
        report = run_pipeline(article, citations, settings, on_progress=echo)
    verification = verify_store(settings.store)
    data = {**report.to_dict(), "verification": verification.to_dict()}
    report_path = output / "report.json"
    replace_file(report_path, (to_json(data) + "\n").encode())
    emit(render_run_report(report))
    emit("")
    emit(f"report:   {report_path}")
    emit(f"WARCs:    {settings.store} (manifest: {settings.store / 'manifest.json'})")
    outcome = "OK" if verification.ok else "FAILED"
    emit(f"verified: {outcome} ({verification.records_checked} records)")
    return 0 if verification.ok else 3
