"""``archiver repair`` and ``run --repair`` end to end: the origin server as the live web,
a real pywb (reached as archive.test) as the Wayback Machine, local collections, and the
seed's removed links recovered from an HTML copy of it built at test time."""

from __future__ import annotations

import html
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archiver.cli.main import cli
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import FixtureCapture, WaybackServer
from archiver.extract import extract_citations, read_article
from archiver.repair.plan import Change
from archiver.repair.replay import NO_ADDRESS
from tests.conftest import require_shared, running_wayback, shared_dir
from tests.repair_helpers import assert_only_edits_differ, write

REPLAY = "http://archive.test/web/"
ARCHIVE = f"wayback:{REPLAY}"
CANARY = "http://canary.example/"

DAM = "http://news.example/2016/dam"
RAISED = "http://paper.example/1961/raised"
ALIVE = "http://alive.example/page"
WALLED = "http://walled.example/x"
NO_COPY = "http://nocopy.example/gone"

ARTICLE = (
    (
        "The dam was finished in 1931.<ref>{{cite web "
        f"|url={DAM} |title=The dam |access-date=12 March 2016}}}}</ref>\n"
    )
    + f"""It was raised in 1961.<ref>{{{{Cite news
| url         = {RAISED}
| title       = Raised
| access-date = 2017-07-04
}}}}</ref> Visitors come every year.<ref>[{ALIVE} Visiting]</ref>
The [{WALLED} owners] will not say.<ref>[{NO_COPY} A report]</ref>
"""
)

SEED_ARTICLE = "http://ipvm.example/2018/dahua-xinjiang"
MARKER = "[link no longer available]"


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def seed_captures() -> list[FixtureCapture]:
    """The seed as its site served it the day after publication, its four links in
    place (built from the seed's own sentences, read now and never stored), and the
    four sources, archived before."""
    seed = shared_dir() / "seed" / "ipvm-dahua-xinjiang-2018.txt"
    if not seed.exists():
        return []
    article = read_article(str(seed))
    removed = [c for c in extract_citations(article.text, article.fmt) if c.url is None]
    paragraphs = ["<p>An unrelated opening paragraph, for company.</p>"]
    for number, citation in enumerate(removed):
        before, _, after = citation.context.partition(MARKER)
        anchor = " ".join(citation.text.split()[-2:])
        lead = before.rstrip()[: -len(anchor)]
        link = f'<a href="http://source.example/{number}">{anchor}</a>'
        paragraphs.append(f"<p>{html.escape(lead)}{link}{html.escape(after)}</p>")
    page = "<html><body>" + "".join(paragraphs) + "</body></html>"
    sources = [
        FixtureCapture(f"http://source.example/{n}", at(2018, 11, 1 + n), body=b"<p>source</p>")
        for n in range(len(removed))
    ]
    return [FixtureCapture(SEED_ARTICLE, at(2018, 11, 29), body=page.encode()), *sources]


CAPTURES = [
    FixtureCapture(DAM, at(2015, 6, 1), body=b"<html><title>The dam</title></html>"),
    FixtureCapture(RAISED, at(2016, 12, 1), body=b"<html><title>Raised</title></html>"),
    FixtureCapture(ALIVE, at(2016, 1, 2), body=b"<html><title>Visiting</title></html>"),
    FixtureCapture(WALLED, at(2016, 1, 3), body=b"<html><title>Owners</title></html>"),
]


@pytest.fixture(scope="module")
def wayback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WaybackServer]:
    captures = CAPTURES + seed_captures()
    with running_wayback(tmp_path_factory.mktemp("wayback"), captures) as server:
        yield server


@pytest.fixture
def live(origin: OriginServer) -> OriginServer:
    origin.add(DAM, Page(status=404, body="Not Found"))
    origin.add(RAISED, Page(status=410, body="Gone"))
    origin.add(ALIVE, Page(body="<html><title>Visiting</title></html>"))
    origin.add(WALLED, Page(status=403, body="Forbidden"))
    origin.add(NO_COPY, Page(status=404, body="Not Found"))
    origin.add(CANARY, Page(body="ok"))
    for number in range(4):
        origin.add(f"http://source.example/{number}", Page(status=404, body="Not Found"))
    return origin


def sandbox(origin: OriginServer, wayback: WaybackServer | None, tmp_path: Path) -> list[str]:
    args = ["--store", str(tmp_path / "warcs"), "--canary", CANARY, "--only-resolved"]
    for host, address in origin.host_map().items():
        args += ["--resolve", f"{host}={address}"]
    if wayback is not None:
        args += ["--resolve", f"archive.test=127.0.0.1:{wayback.port}", "--archive", ARCHIVE]
    return [*args, "--timeout", "3", "--retries", "0"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def changes_of(result: Result) -> list[Change]:
    return [Change(**change) for change in json.loads(result.stdout)["changes"]]


def test_repair_writes_archive_links_into_wikitext_and_nothing_else(
    live: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    article = write(tmp_path / "dam.wiki", ARTICLE)
    out = tmp_path / "dam.fixed.wiki"
    args = ["repair", str(article), "-o", str(out), "--format", "json"]
    result = invoke(*args, *sandbox(live, wayback, tmp_path))
    assert result.exit_code == 3, result.output  # one dead link has no copy: tagged
    text = out.read_text(encoding="utf-8")
    assert text.splitlines() == [
        f"The dam was finished in 1931.<ref>{{{{cite web |url={DAM} |title=The dam "
        f"|access-date=12 March 2016 |archive-url={REPLAY}20150601000000/{DAM} "
        "|archive-date=1 June 2015 |url-status=dead}}</ref>",
        "It was raised in 1961.<ref>{{Cite news",
        f"| url         = {RAISED}",
        "| title       = Raised",
        "| access-date = 2017-07-04",
        f"| archive-url = {REPLAY}20161201000000/{RAISED}",
        "| archive-date = 2016-12-01",
        "| url-status  = dead",
        f"}}}}</ref> Visitors come every year.<ref>[{ALIVE} Visiting]</ref>",
        f"The [{WALLED} owners] will not say.<ref>[{NO_COPY} A report]"
        "{{dead link |date=" + datetime.now(UTC).strftime("%B %Y") + " |bot=archiver}}</ref>",
    ]
    changes = changes_of(result)
    assert [(c.url, c.action, c.verdict) for c in changes] == [
        (DAM, "archived", "dead"),
        (RAISED, "archived", "dead"),
        (ALIVE, "kept", "alive"),
        (WALLED, "kept", "blocked"),
        (NO_COPY, "tagged-dead", "dead"),
    ]
    assert changes[0].confirmed is False  # one failure: not yet confirmed, still repaired
    assert json.loads(result.stdout)["output"] == str(out)
    original = article.read_bytes()
    assert_only_edits_differ(original, original.decode(), out.read_bytes(), changes)


def test_dry_run_prints_a_unified_diff_and_writes_nothing(
    live: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    article = write(tmp_path / "dam.wiki", ARTICLE)
    result = invoke("repair", str(article), "--dry-run", *sandbox(live, wayback, tmp_path))
    assert result.exit_code == 3, result.output
    diff = result.stdout.splitlines()
    assert diff[:3] == ["--- a/dam.wiki", "+++ b/dam.wiki", "@@ -1,7 +1,10 @@"]
    assert f"+| archive-url = {REPLAY}20161201000000/{RAISED}" in diff
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dam.wiki"]  # no store either
    assert result.stderr.splitlines()[-1] == (
        "2 of 5 citation(s) now link an archived copy; 1 tagged as dead (no copy); 3 of "
        "those dead are not yet confirmed by the failures-over-days rule (--confirmed-only "
        "holds them back); nothing written (--dry-run)"
    )


def test_confirmed_only_holds_back_links_not_yet_confirmed(
    live: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    article = write(tmp_path / "dam.wiki", ARTICLE)
    out = tmp_path / "out.wiki"
    args = ["repair", str(article), "-o", str(out), "--confirmed-only", "--format", "json"]
    result = invoke(*args, *sandbox(live, wayback, tmp_path))
    assert result.exit_code == 3
    assert out.read_bytes() == article.read_bytes()
    reasons = {c.url: c.reason for c in changes_of(result)}
    assert reasons[DAM].startswith("dead, not yet confirmed: 1 failure(s) since ")
    # the rule satisfied (one failure needed, over no time): repaired
    confirmed = ["--confirm-failures", "1", "--confirm-days", "0", "--fresh-for", "0"]
    result = invoke(*args, *confirmed, *sandbox(live, wayback, tmp_path))
    assert {c.url: c.action for c in changes_of(result)}[DAM] == "archived"


def test_all_archives_live_links_too_and_marks_them_live(
    live: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    article = write(tmp_path / "a.md", f"See [the page]({ALIVE}) and [owners]({WALLED}).\n")
    out = tmp_path / "out.md"
    result = invoke(
        "repair", str(article), "-o", str(out), "--all", *sandbox(live, wayback, tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert out.read_text() == (
        f"See [the page]({ALIVE}) ([archived copy]({REPLAY}20160102000000/{ALIVE})) and "
        f"[owners]({WALLED}) ([archived copy]({REPLAY}20160103000000/{WALLED})).\n"
    )


def test_the_input_is_not_overwritten_unless_asked(
    live: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    article = write(tmp_path / "a.md", f"See [the dam]({DAM}).\n")
    result = invoke("repair", str(article), "-o", str(article), *sandbox(live, wayback, tmp_path))
    assert result.exit_code == 1
    assert (
        result.output
        == f"archiver: error: {article} is the article itself: give --overwrite to replace it\n"
    )
    assert article.read_text() == f"See [the dam]({DAM}).\n"
    result = invoke(
        "repair", str(article), "-o", str(article), "--overwrite", *sandbox(live, wayback, tmp_path)
    )
    assert result.exit_code == 0, result.output
    copy = f"{REPLAY}20150601000000/{DAM}"
    assert article.read_text() == f"See [the dam]({copy}) ([original]({DAM})).\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_repair_needs_an_output_and_a_file(tmp_path: Path) -> None:
    article = write(tmp_path / "a.md", "Nothing cited.\n")
    result = invoke("repair", str(article))
    assert result.exit_code == 2
    assert "give -o OUT for the repaired article, or --dry-run" in result.output
    result = invoke("repair", "http://example.com/post", "-o", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert result.output.startswith("archiver: error: cannot repair http://example.com/post: ")
    result = invoke("repair", str(tmp_path / "missing.md"), "-o", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert (
        result.output
        == f"archiver: error: cannot read article {tmp_path / 'missing.md'}: no such file\n"
    )


def test_offline_nothing_is_written(tmp_path: Path) -> None:
    article = write(tmp_path / "a.md", f"See [the dam]({DAM}).\n")
    out = tmp_path / "out.md"
    result = invoke(
        "repair",
        str(article),
        "-o",
        str(out),
        "--only-resolved",
        "--canary",
        CANARY,
        "--store",
        str(tmp_path / "warcs"),
        "--archive",
        ARCHIVE,
    )
    assert result.exit_code == 1
    assert "offline" in result.output and "nothing was written" in result.output
    assert not out.exists()


def test_run_repair_writes_the_repaired_article_after_the_run(
    live: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    article = write(tmp_path / "a.md", f"See [the dam]({DAM}), or [a page]({ALIVE}).\n")
    out = tmp_path / "out.md"
    result = invoke("run", str(article), "--repair", str(out), *sandbox(live, wayback, tmp_path))
    assert result.exit_code == 3, result.output  # the run found a dead link
    copy = f"{REPLAY}20150601000000/{DAM}"
    assert out.read_text() == f"See [the dam]({copy}) ([original]({DAM})), or [a page]({ALIVE}).\n"
    assert (
        "repair: 1 of 2 citation(s) now link an archived copy; 1 of those dead are not yet "
        f"confirmed by the failures-over-days rule (--confirmed-only holds them back); "
        f"written to {out}"
    ) in result.stderr
    # The run's report says what the repair changed, in its JSON and on its page.
    report = json.loads((tmp_path / "warcs" / "report.json").read_text())
    assert [(c["url"], c["action"]) for c in report["repair"]] == [
        (DAM, "archived"),
        (ALIVE, "kept"),
    ]
    page = (tmp_path / "warcs" / "report.html").read_text()
    dam = page.split('id="c1"')[1].split("</section>")[0]
    assert ">archived</span>" in dam and f"<code>[the dam]({DAM})</code>" in dam


def test_look_up_broken_asks_the_archives_only_for_links_that_are_not_alive(
    live: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    article = write(tmp_path / "a.md", f"See [the dam]({DAM}), or [a page]({ALIVE}).\n")
    out, state = tmp_path / "out.md", tmp_path / "state.db"
    sandboxed = [*sandbox(live, wayback, tmp_path), "--state", str(state)]
    result = invoke("run", str(article), "--look-up", "broken", "--repair", str(out), *sandboxed)
    assert result.exit_code == 3, result.output
    report = json.loads((tmp_path / "warcs" / "report.json").read_text())
    results = {r["citation"]["url"]: r for r in report["results"]}
    assert results[ALIVE]["selection"] is None
    assert results[ALIVE]["notes"] == [
        "not looked up in the archives: the link is alive (--look-up broken)"
    ]
    assert [c["source"] for c in results[ALIVE]["captures"]] == ["live"]
    assert results[DAM]["selection"]["memento"]["datetime"] == "2015-06-01T00:00:00Z"
    with sqlite3.connect(state) as db:
        asked = {url for (url,) in db.execute("SELECT url FROM archive_lookups")}
    assert DAM in asked and ALIVE not in asked
    copy = f"{REPLAY}20150601000000/{DAM}"
    assert out.read_text() == f"See [the dam]({copy}) ([original]({DAM})), or [a page]({ALIVE}).\n"
    refused = invoke(
        "run", str(article), "--look-up", "broken", "--repair", str(out), "--all", *sandboxed
    )
    assert (refused.exit_code, refused.output.splitlines()[-1]) == (
        2,
        "Error: --all needs every citation looked up: drop --look-up broken",
    )


def test_the_seeds_markers_become_their_recovered_links_and_copies(
    live: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    seed = require_shared("seed", "ipvm-dahua-xinjiang-2018.txt")
    out = tmp_path / "seed.txt"
    args = ["repair", str(seed), "-o", str(out), "--article-url", SEED_ARTICLE, "--format", "json"]
    result = invoke(*args, *sandbox(live, wayback, tmp_path))
    assert result.exit_code == 0, result.output
    changes = changes_of(result)
    assert [(c.action, c.before, c.after) for c in changes] == [
        (
            "restored",
            MARKER,
            f"http://source.example/{n} (archived copy: "
            f"{REPLAY}201811{n + 1:02d}000000/http://source.example/{n})",
        )
        for n in range(4)
    ]
    original = seed.read_bytes()
    assert_only_edits_differ(original, original.decode(), out.read_bytes(), changes)


def test_a_local_collection_links_the_archive_its_copies_came_from(
    live: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    article = write(tmp_path / "a.md", f"See [the dam]({DAM}).\n")
    stored = invoke("archive", str(article), *sandbox(live, wayback, tmp_path))
    assert stored.exit_code == 3, stored.output
    collection = str(tmp_path / "warcs")
    local = [*sandbox(live, None, tmp_path / "elsewhere"), "--archive", collection]
    out = tmp_path / "out.md"
    result = invoke("repair", str(article), "-o", str(out), *local)
    assert result.exit_code == 0, result.output
    copy = f"{REPLAY}20150601000000/{DAM}"  # its WARC-Source-URI, as a reader opens it
    assert out.read_text() == f"See [the dam]({copy}) ([original]({DAM})).\n"
    served = "https://sources.example.org/dam/"
    result = invoke("repair", str(article), "-o", str(out), "--served-at", served, *local)
    assert result.exit_code == 0, result.output
    assert out.read_text() == f"See [the dam]({served}20150601000000/{DAM}) ([original]({DAM})).\n"
    assert "file:" not in out.read_text()


def test_a_third_party_collection_needs_its_public_address(
    live: OriginServer, tmp_path: Path
) -> None:
    warc = require_shared("corpus", "warcs", "iana.warc.gz")
    about = "http://www.iana.org/about"
    article = write(tmp_path / "a.md", f"See [IANA]({about}).\n")
    out = tmp_path / "out.md"
    local = [*sandbox(live, None, tmp_path), "--archive", str(warc), "--format", "json"]
    result = invoke("repair", str(article), "-o", str(out), *local)
    assert result.exit_code == 3, result.output  # dead (no such host), and left as it was
    assert out.read_bytes() == article.read_bytes()
    assert [c.reason for c in changes_of(result)] == [NO_ADDRESS]
    served = "https://replay.example.org/iana/"
    result = invoke("repair", str(article), "-o", str(out), "--served-at", served, *local)
    assert result.exit_code == 0, result.output
    (change,) = changes_of(result)
    stamp = change.memento_date.replace("-", "").replace(":", "").replace("T", "")[:14]  # type: ignore[union-attr]
    assert stamp.startswith("2014")
    assert out.read_text() == f"See [IANA]({served}{stamp}/{about}) ([original]({about})).\n"


def test_a_markdown_form_with_an_unknown_field_is_a_usage_error(tmp_path: Path) -> None:
    article = write(tmp_path / "a.md", "Nothing cited.\n")
    result = invoke("repair", str(article), "--dry-run", "--markdown-form", "[{text}]({link})")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for --markdown-form: '[{text}]({link})' is not a form: KeyError "
        "'link' (fields: {text}, {memento}, {url}, {date}, {title})"
    )


def test_run_repair_refuses_before_running(tmp_path: Path) -> None:
    article = write(tmp_path / "a.md", "Nothing cited.\n")
    result = invoke("run", str(article), "--repair", str(article))
    assert result.exit_code == 1
    assert result.output == (
        f"archiver: error: {article} is the article itself: write it elsewhere "
        "(`archiver repair --overwrite` replaces it)\n"
    )
    result = invoke("run", "http://example.com/post", "--repair", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output == (
        "archiver: error: --repair needs ARTICLE as a file: the repaired copy is made from it\n"
    )
    assert not (tmp_path / "warcs").exists()


def test_the_bundled_example_is_repaired_on_the_demos_simulated_web(tmp_path: Path) -> None:
    """``citations/harbour-sensors.md`` on the demo's web: sources gone, blocked, failing
    and hanging, one already linked to an archive, and two links removed from the text
    that the article's archived copy still has."""
    from archiver.demo import run as demo

    example = Path(__file__).parents[1] / "citations" / "harbour-sensors.md"
    out = tmp_path / "repaired.md"
    with demo.live_web() as web, running_wayback(tmp_path, demo.archived_copies()) as archive:
        args = ["repair", str(example), "-o", str(out), "--format", "json", "--only-resolved"]
        args += ["--archive", f"wayback:{archive.base_url}", "--timeout", "1", "--retries", "0"]
        args += ["--store", str(tmp_path / "warcs")]
        for host, address in web.host_map().items():
            args += ["--resolve", f"{host}={address}"]
        result = invoke(*args)
        replay = archive.base_url
    assert result.exit_code == 0, result.output  # every dead link now has its copy
    changes = changes_of(result)
    assert [(c.line, c.action, c.verdict) for c in changes] == [
        (15, "archived", "dead"),
        (21, "kept", "alive"),
        (24, "restored", "dead"),
        (29, "archived", "dead"),
        (31, "kept", "alive"),
        (37, "kept", "alive"),
        (38, "kept", "server-error"),
        (43, "restored", "dead"),
        (46, "archived", "dead"),
        (48, "already-archived", "dead"),
        (52, "kept", "timeout"),
        (53, "kept", "blocked"),
        (56, "archived", "dead"),
    ]
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[23] == (
        f"The council's own summary <{demo.SUMMARY}> ([archived copy]({replay}20181205110000/"
        f"{demo.SUMMARY})) described the budget as"
    )
    assert lines[14] == (
        f"The city council's [tender notice]({replay}20180320091500/{demo.TENDER}) "
        f"([original]({demo.TENDER})) of"
    )
    original = example.read_bytes()
    assert_only_edits_differ(original, original.decode(), out.read_bytes(), changes)


def test_standard_input_to_standard_output(
    live: OriginServer, wayback: WaybackServer, tmp_path: Path
) -> None:
    text = f"See [the dam]({DAM}).\r\n"
    result = CliRunner().invoke(
        cli, ["repair", "-", "-o", "-", *sandbox(live, wayback, tmp_path)], input=text.encode()
    )
    assert result.exit_code == 0, result.output
    copy = f"{REPLAY}20150601000000/{DAM}"
    assert result.stdout_bytes == f"See [the dam]({copy}) ([original]({DAM})).\r\n".encode()
    assert result.stderr.splitlines()[-1] == (
        "1 of 1 citation(s) now link an archived copy; 1 of those dead are not yet confirmed "
        "by the failures-over-days rule (--confirmed-only holds them back); written to "
        "standard output"
    )


def test_offline_all_still_adds_the_copies_and_says_it_was_offline(
    wayback: WaybackServer, tmp_path: Path
) -> None:
    article = write(tmp_path / "a.md", f"See [the dam]({DAM}).\n")
    out = tmp_path / "out.md"
    result = invoke(
        "repair", str(article), "-o", str(out), "--all", "--only-resolved", "--canary", CANARY,
        "--resolve", f"archive.test=127.0.0.1:{wayback.port}", "--archive", ARCHIVE,
        "--store", str(tmp_path / "warcs"),
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "archiver: error: this machine seems to be offline: no link was checked; the archived "
        "copies that could be found were added all the same (--all)"
    )
    copy = f"{REPLAY}20150601000000/{DAM}"
    assert out.read_text() == f"See [the dam]({DAM}) ([archived copy]({copy})).\n"
