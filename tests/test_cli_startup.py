"""What a command imports before it does its work: start-up time is most of a short run.

Each case runs in a fresh interpreter (this test process has imported everything already)
and lists which of the heavy modules got loaded.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from archiver.demo.simweb.origin import OriginServer, Page, Site

EXAMPLE = Path(__file__).resolve().parents[1] / "citations" / "harbour-sensors.md"
HEAVY = (
    "archiver.check.links",
    "archiver.state",
    "archiver.extract",
    "archiver.extract.html",
    "archiver.extract.wikitext",
    "lxml",
    "mwparserfromhell",
    "sqlite3",
    "email.utils",
    "logging",
)


def loaded_after(*args: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    """The ``modules`` loaded after running ``archiver ARGS`` in a new interpreter."""
    program = (
        "import sys\n"
        "from archiver.cli.main import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('loaded:' + ','.join(m for m in {modules!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("loaded:")
    return [name for name in last.removeprefix("loaded:").split(",") if name]


def test_help_loads_no_stage() -> None:
    assert loaded_after("--help") == []
    assert loaded_after("check", "--help") == ["logging"]  # the group sets up warnings


def test_scanning_markdown_loads_only_the_markdown_parser() -> None:
    loaded = loaded_after("scan", str(EXAMPLE), "--format", "json")
    assert loaded == ["archiver.extract", "logging"]


def test_scanning_html_loads_the_html_parser() -> None:
    html = EXAMPLE.parent.parent / "tests" / "fixtures" / "articles" / "harbour-report.html"
    loaded = loaded_after("scan", str(html), "--format", "json")
    assert "archiver.extract.html" in loaded and "lxml" in loaded
    assert "archiver.extract.wikitext" not in loaded


def test_checking_a_long_article_leaves_the_requests_to_the_worker_processes(
    origin: OriginServer, tmp_path: Path
) -> None:
    # The worker processes import the checker (and asyncio) while the parent reads the
    # article; the parent never needs them, so never spends the time.
    for host in "abcdefgh":
        origin.sites[f"{host}.example"] = Site(fallback=Page(body="<title>A</title><p>Words.</p>"))
    article = tmp_path / "long.md"
    article.write_text(
        "\n\n".join(
            f"Claim {i} is in [a source](http://{'abcdefgh'[i % 8]}.example/{i})."
            for i in range(1000)
        )
    )
    resolve = [f"--resolve={host}={address}" for host, address in origin.host_map().items()]
    args = ["check", str(article), "--store", str(tmp_path), "--only-resolved", *resolve]
    loaded = loaded_after(
        *args, modules=("archiver.check.checker", "asyncio", "archiver.net.aioclient")
    )
    assert loaded == []
