"""A batch of articles through the real command (``archiver run`` on a folder, a dump, a
list), against the origin server and a real pywb on loopback: a URL cited by several
articles is checked, looked up and stored once, every article gets its report, and a
batch killed half-way resumes where it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from archiver.cli.main import cli
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import FixtureCapture, WaybackServer
from tests.conftest import CANARY, running_wayback
from tests.wikidump import DumpPage, write_dump

SHARED = "http://news.example/2019/harbour"
GONE = "http://news.example/2019/tender"
OWN = "http://other.example/{n}"
PAGE = "<html><title>Harbour</title><p>" + "The masts went up on the promenade. " * 20 + "</p>"


def _arguments(origin: OriginServer, wayback: WaybackServer, store: Path) -> list[str]:
    hosts = {**origin.host_map(), "canary.example": origin.address}
    hosts["archive.test"] = f"127.0.0.1:{wayback.port}"
    resolve = [f"--resolve={host}={address}" for host, address in hosts.items()]
    return [
        "--store", str(store),
        "--archive", "wayback:http://archive.test/web/",
        "--canary", CANARY,
        "--only-resolved",
        "--timeout", "5",
        "--retries", "0",
        *resolve,
    ]  # fmt: skip


def _articles(folder: Path, count: int) -> None:
    folder.mkdir()
    for n in range(count):
        (folder / f"article-{n}.md").write_text(
            f"---\ndate: 2019-03-14\n---\n\nThe council [announced the masts]({SHARED}) after a "
            f"[tender]({GONE}), as [the paper]({OWN.format(n=n)}) said.\n",
            encoding="utf-8",
        )


def _origin(origin: OriginServer, count: int, delay: float = 0.0) -> None:
    origin.add(SHARED, Page(body=PAGE))
    origin.add(CANARY, Page(body="<p>up</p>"))
    for n in range(count):
        origin.add(
            OWN.format(n=n), Page(body=f"<html><p>Story {n}, in full.</p></html>", delay=delay)
        )


CAPTURES = [
    FixtureCapture(SHARED, datetime(2019, 3, 1, 9, 0, tzinfo=UTC), body=PAGE.encode()),
    FixtureCapture(GONE, datetime(2018, 11, 2, 9, 0, tzinfo=UTC), body=b"<p>Tender 2018-044</p>"),
]


def test_a_folder_of_articles_checks_and_stores_each_shared_url_once(
    origin: OriginServer, tmp_path: Path
) -> None:
    _articles(tmp_path / "articles", 3)
    dump = write_dump(
        tmp_path / "wiki-pages-articles.xml.bz2",
        [DumpPage("Harbour", f"Masts.<ref>{{{{cite web |url={SHARED} |title=H}}}}</ref>")],
    )
    _origin(origin, 3)
    store, reports = tmp_path / "warcs", tmp_path / "reports"
    with running_wayback(tmp_path / "wayback", CAPTURES) as wayback:
        args = _arguments(origin, wayback, store)
        ran = CliRunner().invoke(
            cli,
            ["run", str(tmp_path / "articles"), str(dump), "--reports", str(reports),
             "--format", "jsonl", *args],
        )  # fmt: skip
    assert ran.exit_code == 3, ran.output  # GONE is dead in three articles
    lines = [json.loads(line) for line in ran.stdout.splitlines()]
    articles, batch = lines[:-1], lines[-1]["batch"]
    assert [Path(a["name"]).name for a in articles] == [
        "article-0.md", "article-1.md", "article-2.md", "wiki-pages-articles.xml.bz2#Harbour",
    ]  # fmt: skip
    assert all((reports / a["report"]).is_file() for a in articles)
    assert batch["articles"] == 4 and batch["failed"] == 0
    assert batch["summary"]["citations"] == 10 and batch["summary"]["verdict_dead"] == 3
    assert batch["worst_hosts"][0] == {
        "host": "news.example", "links": 7, "failed": 3, "verdicts": {"alive": 4, "dead": 3},
    }  # fmt: skip
    assert batch["verification"]["ok"] is True
    assert json.loads((reports / "batch.json").read_text())["articles"] == 4

    # The shared page: one check and one live capture, however many articles cite it.
    path = "/2019/harbour"
    assert len([h for h in origin.hits_for("news.example") if h.path == path]) == 2
    manifest = json.loads((store / "manifest.json").read_text())
    shared = [c for c in manifest["captures"] if c["url"] == SHARED]
    assert sorted(c["source"] for c in shared) == ["live", "memento"]
    for capture in shared:  # and each capture names every article that cites it
        cited_by = {label.split("#L")[0] for label in capture["citations"]}
        assert len(cited_by) == 4, capture["citations"]
    # Every article's own report names the shared URL with its verdict.
    for entry in articles:
        report = json.loads((reports / entry["report"]).read_text())
        verdicts = {r["citation"]["url"]: r["check"]["verdict"] for r in report["results"]}
        assert verdicts[SHARED] == "alive"


def test_a_killed_batch_resumes_where_it_was(origin: OriginServer, tmp_path: Path) -> None:
    """A real SIGKILL once the first article is done; the rerun skips it, finishes the
    others, and the store verifies with each capture stored once."""
    count = 6
    _articles(tmp_path / "articles", count)
    _origin(origin, count, delay=0.3)
    store, reports = tmp_path / "warcs", tmp_path / "reports"
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(str(p) for p in sorted((tmp_path / "articles").iterdir())))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with running_wayback(tmp_path / "wayback", CAPTURES) as wayback:
        # One article at a time, so that the kill falls between articles' work.
        args = ["--from-file", str(listing), "--reports", str(reports), "--batch-size", "1"]
        args += _arguments(origin, wayback, store)
        command = [sys.executable, "-c", "from archiver.cli.main import main; main()", "run"]
        command += args
        child = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        journal = reports / "articles.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if journal.exists() and journal.read_text().count("\n") >= 2:
                break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        done_before = journal.read_text().count("\n")
        assert 2 <= done_before < count, "the kill came too late to test resuming"
        ran = CliRunner().invoke(cli, ["run", *args, "--format", "json"])
    assert ran.exit_code == 3, ran.output  # GONE is dead
    batch = json.loads(ran.stdout)
    assert batch["articles"] == count and batch["resumed"] == done_before
    assert batch["verification"]["ok"] is True
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(Path(e["name"]).name for e in entries) == [
        f"article-{n}.md" for n in range(count)
    ]
    manifest = json.loads((store / "manifest.json").read_text())
    kinds = [(c["url"], c["source"]) for c in manifest["captures"]]
    assert len(kinds) == len(set(kinds))  # nothing stored twice


def test_a_batch_keeps_one_store_and_checks_quotes_against_it(
    origin: OriginServer, tmp_path: Path
) -> None:
    """The batch's captures go into one WARC file (rolled at --warc-size), not one per
    article, and each article's quotes are read back from that store while it is open."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for n in range(3):
        (folder / f"quoting-{n}.md").write_text(
            f'---\ndate: 2019-03-14\n---\n\nThe paper wrote: "The masts went up on the '
            f'promenade" ([report]({SHARED})).\n\nSee also [story {n}]({OWN.format(n=n)}).\n',
            encoding="utf-8",
        )
    _origin(origin, 3)
    store, reports = tmp_path / "warcs", tmp_path / "reports"
    with running_wayback(tmp_path / "wayback", CAPTURES) as wayback:
        args = _arguments(origin, wayback, store)
        ran = CliRunner().invoke(cli, ["run", str(folder), "--reports", str(reports), *args])
    assert ran.exit_code == 0, ran.output
    manifest = json.loads((store / "manifest.json").read_text())
    assert len(manifest["captures"]) == 5  # SHARED's memento and live copy, three stories
    assert [f["name"] for f in manifest["files"]] == [p.name for p in store.glob("*.warc.gz")]
    assert len(manifest["files"]) == 1
    for entry in map(json.loads, (reports / "articles.jsonl").read_text().splitlines()):
        report = json.loads((reports / entry["report"]).read_text())
        [quote] = report["quotes"]
        assert (quote["url"], quote["verdict"]) == (SHARED, "verbatim"), quote["archived"]
        assert quote["archived"]["datetime"] == "2019-03-01T09:00:00Z"
