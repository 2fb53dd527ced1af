"""The command line, driven with click's CliRunner against loopback servers."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from archiver.check.processes import EARLY_START_BYTES
from archiver.cli.main import cli
from archiver.config import default_state_file
from archiver.demo.simweb.origin import OriginServer, Page, Site
from archiver.demo.simweb.wayback import FixtureCapture, write_fixture_warc
from tests.conftest import require_shared, shared_dir

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "citations" / "harbour-sensors.md"


def invoke(*args: str, input: bytes | str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), input=input)


def resolve_args(origin: OriginServer) -> list[str]:
    args = []
    for host, address in origin.host_map().items():
        args += ["--resolve", f"{host}={address}"]
    return [*args, "--only-resolved"]


def test_every_command_has_help() -> None:
    assert isinstance(cli, click.Group)
    for name, command in cli.commands.items():
        result = invoke(name, "--help")
        assert result.exit_code == 0, name
        assert command.help and len(command.help.split()) >= 8, f"{name} needs a real docstring"
        assert "Usage: " in result.output


def example_lines(text: str) -> list[str]:
    """The command lines of the ``Examples:`` blocks in ``text`` (a help text or the
    README): the lines after it that start with ``archiver``, until the block ends."""
    lines: list[str] = []
    state = "outside"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "Examples:":
            state = "opening"
        elif state != "outside" and stripped in ("", "```"):
            state = "outside" if state == "inside" else state  # the end, or before the start
        elif state != "outside":
            state = "inside"
            words = shlex.split(stripped)
            while words and "=" in words[0] and not words[0].startswith("-"):
                words.pop(0)  # VARIABLE=value before the command
            if words and words[0] == "archiver":
                lines.append(stripped)
    return lines


def named_paths(line: str) -> list[str]:
    """The files and folders an example command line reads: its arguments that are not
    URLs, and the --archive values that are a collection's path."""
    words = shlex.split(line)
    while words[0] != "archiver":
        words.pop(0)
    if ">" in words:  # the shell's redirection is no argument
        words = words[: words.index(">")]
    name, *args = words[1:]
    command = cli.commands[name]
    context = command.make_context(name, args, resilient_parsing=True)
    paths: list[str] = []
    for param in command.params:
        value = context.params.get(param.name or "")
        values = value if isinstance(value, tuple) else (value,)
        if isinstance(param, click.Argument):
            paths += [str(v) for v in values if v is not None and "://" not in str(v)]
        elif param.name == "archives":
            paths += [v for v in values if "/" in v and not v.startswith(("wayback:", "memento:"))]
    return paths


def existing(path: str) -> bool:
    if path.startswith("../shared/"):  # the shared reference files, where they are laid
        if not shared_dir().exists():
            return True
        return (shared_dir() / path.removeprefix("../shared/")).exists()
    return (ROOT / path).exists()


def test_every_help_example_names_files_that_exist() -> None:
    assert isinstance(cli, click.Group)
    for name, command in cli.commands.items():
        for line in example_lines(command.help or ""):
            assert line.split()[1] == name, line
            missing = [path for path in named_paths(line) if not existing(path)]
            assert missing == [], f"{name} --help: {line}"
    assert len(example_lines(cli.commands["scan"].help or "")) == 3


def test_every_readme_example_names_files_that_exist() -> None:
    lines = example_lines((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(lines) >= 10
    for line in lines:
        missing = [path for path in named_paths(line) if not existing(path)]
        assert missing == [], f"README: {line}"


def test_example_commands_are_found_with_their_paths() -> None:
    help_text = "Does things.\n\n\b\nExamples:\n  archiver scan a.md\n  archiver verify\n"
    assert example_lines(help_text) == ["archiver scan a.md", "archiver verify"]
    readme = "Examples:\n\n```\nX=1 archiver check a.md http://a.example/ > out\n```\nafter\n"
    assert example_lines(readme) == ["X=1 archiver check a.md http://a.example/ > out"]
    assert named_paths("X=1 archiver check a.md http://a.example/ > out") == ["a.md"]
    assert named_paths("archiver verify") == ["warcs"]  # the default store
    line = (
        "archiver find http://a.example/ --archive ia --archive dir/x.warc.gz --archive wayback:h/"
    )
    assert named_paths(line) == ["dir/x.warc.gz"]


def test_scan_the_bundled_example_as_json() -> None:
    result = invoke("scan", str(EXAMPLE), "--format", "json")
    assert result.exit_code == 0, result.output
    citations = json.loads(result.stdout)
    removed = [c for c in citations if c["url"] is None]
    assert [c["marker"] for c in removed] == ["[link no longer available]"] * 2
    assert all(
        c["cited_at"] == "2019-03-14"
        for c in citations
        if c["url"] != "http://harbour-gazette.example/2018/07/masts-go-up"
    )
    gazette = next(
        c for c in citations if c["url"] == "http://harbour-gazette.example/2018/07/masts-go-up"
    )
    assert gazette["cited_at"] == "2018-07-21"
    guidance = next(c for c in citations if c["archive_url"])
    assert guidance["url"] == "http://ombudsman.example/guidance/sensors"
    assert guidance["archived_at"] == "2018-03-05T12:00:00Z"


def test_scan_reads_stdin() -> None:
    result = invoke("scan", "-", "--format", "json", input="See [a](http://a.example/x).\n")
    assert result.exit_code == 0, result.output
    assert [c["url"] for c in json.loads(result.stdout)] == ["http://a.example/x"]


def test_check_exits_3_when_a_link_is_dead(origin: OriginServer, tmp_path: Path) -> None:
    origin.add("http://a.example/ok", Page(body="fine"))
    origin.add("http://a.example/", Page(body="home"))
    args = ["check", "http://a.example/ok", "http://a.example/gone", "--format", "jsonl"]
    result = invoke(*args, "--store", str(tmp_path), *resolve_args(origin))
    assert result.exit_code == 3, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]  # as they end
    assert sorted((r["url"], r["verdict"], r["http_status"]) for r in rows) == [
        ("http://a.example/gone", "dead", 404),
        ("http://a.example/ok", "alive", 200),
    ]


def test_check_exits_0_when_all_alive(origin: OriginServer, tmp_path: Path) -> None:
    origin.add("http://a.example/ok", Page(body="fine"))
    result = invoke("check", "http://a.example/ok", "--store", str(tmp_path), *resolve_args(origin))
    assert result.exit_code == 0, result.output
    assert "alive" in result.stdout


def test_check_a_long_article_in_processes_started_before_it_is_read(
    origin: OriginServer, tmp_path: Path
) -> None:
    # A thousand links: checked in worker processes, started while the article is read.
    page = Page(body="<html><head><title>A story</title></head><body>Words.</body></html>")
    urls = []
    for i in range(1000):
        host = f"{'abcd'[i % 4]}.example"
        origin.sites.setdefault(host, Site())
        if i % 10:
            origin.add(f"http://{host}/story/{i}", page)
        urls.append(f"http://{host}/story/{i}")
    article = tmp_path / "long.md"
    article.write_text(
        "\n\n".join(f"Claim {i} is in [a source]({url})." for i, url in enumerate(urls))
    )
    assert article.stat().st_size >= EARLY_START_BYTES
    args = ["check", str(article), "--format", "jsonl", "--store", str(tmp_path / "store")]
    result = invoke(*args, *resolve_args(origin))
    assert result.exit_code == 3, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["url"] for r in rows) == sorted(urls)  # each line as its check ends
    verdicts = {r["url"]: r["verdict"] for r in rows}
    assert [verdicts[url] for url in urls] == [
        "dead" if i % 10 == 0 else "alive" for i in range(1000)
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "does-not-exist.md"], "archiver: error: "),
        (["check", "ftp://example.com/file"], "archiver: error: not an http(s) URL"),
        (["find", "not a url", "--date", "2018-01-01"], "archiver: error: not an http(s) URL"),
        (
            ["find", "http://a.example/", "--date", "yesterday"],
            "archiver: error: not an ISO 8601 date",
        ),
        (["verify", "no-such-store"], "archiver: error: no such store or file"),
        (["find", "http://a.example/", "--archive", "bogus"], "archiver: error: "),
    ],
)
def test_bad_input_is_one_line_and_exit_1(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_binary_and_non_utf8_articles_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "photo.md"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café http://a.example/".encode("latin-1"))
    for path in (binary, latin):
        result = invoke("scan", str(path))
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("archiver: error: ")
        assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_file_is_refused() -> None:
    # Permissions do not stop root (CI runs as root); reading /proc/self/mem fails for anyone.
    if not Path("/proc/self/mem").exists():
        pytest.skip("needs Linux /proc")
    result = invoke("scan", "/proc/self/mem")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("archiver: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_folder_without_articles_is_refused(tmp_path: Path) -> None:
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    result = invoke("scan", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"archiver: error: no article in the folder {tmp_path}")


def test_usage_errors_exit_2() -> None:
    assert invoke("scan").exit_code == 2
    assert invoke("check", "--format", "xml", "http://a.example/").exit_code == 2
    assert invoke("nonsense").exit_code == 2


def test_demo_runs_the_whole_job_offline_and_the_store_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pywb", reason="the demo needs pywb (pip install 'archiver[demo]')")
    output = tmp_path / "demo"
    # The demo is a throwaway: it keeps its state beside its store, in its output folder,
    # and writes nothing into the user's home or state directory.
    for name in ("HOME", "ARCHIVER_STATE_DIR", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    result = invoke("demo", "--output", str(output))
    assert result.exit_code == 0, result.output
    assert [p for p in tmp_path.iterdir() if p != output] == []
    assert (output / "state.sqlite").is_file()
    store_files = {p.name for p in (output / "warcs").iterdir()}
    assert {n for n in store_files if not n.endswith(".warc.gz")} == {"manifest.json"}
    assert f"report:   {output / 'report.json'}" in result.stdout
    report = json.loads((output / "report.json").read_text())
    assert report["verification"]["ok"] is True
    by_url = {r["citation"]["url"]: r for r in report["results"] if r["citation"]["url"]}
    verdicts = {url: r["check"]["verdict"] for url, r in by_url.items()}
    assert verdicts == {
        "http://council.harbourcity.example/tenders/2018-044": "dead",
        "http://www.tidewater-systems.example/news/harbour-city-award": "alive",
        "http://council.harbourcity.example/tenders/2018-044/annex-b": "dead",
        "http://openstreets-lab.example/reports/wifi-counting": "alive",
        "http://products.tidewater-systems.example/mast-7": "alive",
        "http://harbour-gazette.example/2018/07/masts-go-up": "server-error",
        "http://ombudsman.example/briefings/harbour-sensors": "dead",
        "http://ombudsman.example/guidance/sensors": "dead",
        "http://promenade-residents.example/": "timeout",
        "http://petitions.harbourcity.example/p/1187": "blocked",
        "http://ir.tidewater-systems.example/2018/q3": "dead",
        # the two links the article lost, recovered from its archived copy of 2019-03-15
        "http://council.harbourcity.example/budget/2018/sensor-network-summary": "dead",
        "http://council.harbourcity.example/data-protection/2018-11-letter": "dead",
    }
    for removed in ("sensor-network-summary", "2018-11-letter"):
        [result] = [r for url, r in by_url.items() if url.endswith(removed)]
        assert result["citation"]["marker"] == "[link no longer available]"
        assert result["recovery"]["article_url"] == (
            "http://harbour-watch.example/2019/03/sensor-contracts"
        )
        assert result["recovery"]["article_captured_at"].startswith("2019-03-15")
        assert result["selection"]["memento"] is not None
    assert report["summary"]["recovered"] == 2

    def chosen(url: str) -> str | None:
        memento = by_url[url]["selection"]["memento"]
        return memento["datetime"] if memento else None

    # the tender's closest capture after the citation date is a captured 404: the 2018 one wins
    assert chosen("http://council.harbourcity.example/tenders/2018-044") == "2018-03-20T09:15:00Z"
    # accessed 2018-07-21: the copy from the day before, not the later update
    assert chosen("http://harbour-gazette.example/2018/07/masts-go-up") == "2018-07-20T18:45:00Z"
    # the article linked this memento itself
    assert chosen("http://ombudsman.example/guidance/sensors") == "2018-03-05T12:00:00Z"
    assert chosen("http://promenade-residents.example/") is None
    kinds = {url: sorted(c["source"] for c in r["captures"]) for url, r in by_url.items()}
    assert kinds["http://www.tidewater-systems.example/news/harbour-city-award"] == [
        "live",
        "memento",
    ]
    assert kinds["http://council.harbourcity.example/tenders/2018-044"] == ["memento"]
    manifest = json.loads((output / "warcs" / "manifest.json").read_text())
    assert len(manifest["captures"]) == sum(len(k) for k in kinds.values())
    assert len(manifest["files"]) == 1  # every capture appended to one WARC file
    assert invoke("verify", str(output / "warcs")).exit_code == 0


def test_offline_machine_is_one_line_and_exit_1(tmp_path: Path) -> None:
    # No host resolves and the canary does not answer either: this is not "dead".
    args = ["check", "http://a.example/x", "http://b.example/y", "--only-resolved"]
    result = invoke(*args, "--canary", "http://canary.example/", "--store", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        "archiver: error: this machine seems to be offline (no link answered, nor "
        "http://canary.example/); no verdict was recorded\n"
    )


def test_offline_json_lines_carry_the_offline_verdicts(tmp_path: Path) -> None:
    # Lines are rendered as results arrive; on an offline machine every verdict is then
    # replaced, and the output must show the replacements, not the first answers.
    args = ["check", "http://a.example/x", "http://b.example/y", "--only-resolved"]
    result = invoke(
        *args, "--canary", "http://canary.example/", "--format", "jsonl", "--store", str(tmp_path)
    )
    assert result.exit_code == 1, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["url"], r["verdict"]) for r in rows] == [
        ("http://a.example/x", "offline"),
        ("http://b.example/y", "offline"),
    ]
    assert all(r["reason"].startswith("this machine seems to be offline") for r in rows)


def test_check_table_marks_confirmed_dead_links(origin: OriginServer, tmp_path: Path) -> None:
    origin.add("http://a.example/", Page(body="home"))
    args = ["check", "http://a.example/gone", "--store", str(tmp_path), *resolve_args(origin)]
    confirm = ["--confirm-failures", "2", "--confirm-days", "0", "--fresh-for", "0"]
    first = invoke(*args, *confirm, "--canary", "http://a.example/")
    second = invoke(*args, *confirm, "--canary", "http://a.example/")
    assert (first.exit_code, second.exit_code) == (3, 3)
    assert "dead (confirmed)" not in first.stdout
    assert "dead (confirmed)" in second.stdout


def test_run_on_an_offline_machine_says_so_and_exits_1(tmp_path: Path) -> None:
    # Nothing resolves, not even the canary: every check is "offline", nothing is archived.
    store = tmp_path / "store"
    result = invoke("run", str(EXAMPLE), "--only-resolved", "--store", str(store))
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == (
        "archiver: error: this machine seems to be offline: no link answered, nothing was "
        f"archived (report: {store / 'report.json'})"
    )
    report = json.loads((store / "report.json").read_text())
    assert {r["check"]["verdict"] for r in report["results"] if r["check"]} == {"offline"}
    assert not list(store.glob("*.warc.gz"))
    # The Internet Archive, the one archive, was asked once and could not be reached.
    assert report["offline"] is True
    assert report["notes"] == [
        "live links were not checked: this machine seems to be offline (no link answered, "
        "nor https://web.archive.org/); copies come from the archives that could be reached",
        "not asked again in this run, as it could not be reached: ia: no such host: "
        "web.archive.org",
    ]
    looked_up = {tuple(r["notes"]) for r in report["results"] if r["citation"]["url"]}
    assert looked_up == {("not looked up: no archive could be reached",)}


# -- one situation, one exit code: check, run and archive agree ----------------------------

STORY = "http://news.example/story"
GONE = "http://news.example/gone"
CANARY_URL = "http://canary.example/"
ARTICLES = {
    "alive": f"We read [the story]({STORY}).\n",
    "dead": f"We read [the story]({STORY}) and [the tender]({GONE}).\n",
    "offline": f"We read [the story]({STORY}) and [the tender]({GONE}).\n",
    "removed": f"We read [the story]({STORY}); the minutes [link no longer available] agree.\n",
    "unverified": f"We read [the story]({STORY}).\n",
}
# What each command exits with in each situation (README, "Exit codes"); `check` knows
# nothing of removed links or of the store's files.
EXIT_CODES = {
    "check": {"alive": 0, "dead": 3, "offline": 1},
    "run": {"alive": 0, "dead": 3, "offline": 1, "removed": 3, "unverified": 3},
    "archive": {"alive": 0, "dead": 3, "offline": 1, "removed": 3, "unverified": 3},
}


def story_collection(tmp_path: Path) -> Path:
    """A local WARC collection holding the story and the tender."""
    path = tmp_path / "collection.warc.gz"
    write_fixture_warc(
        path,
        [
            FixtureCapture(STORY, datetime(2019, 1, 2, tzinfo=UTC), body=b"<p>The story</p>"),
            FixtureCapture(GONE, datetime(2018, 5, 6, tzinfo=UTC), body=b"<p>The tender</p>"),
        ],
    )
    return path


def situation_args(command: str, situation: str, origin: OriginServer, tmp_path: Path) -> list[str]:
    """``command`` on the article of ``situation``: online (the origin and the canary
    answer) except when offline (no name resolves at all)."""
    article = tmp_path / f"{situation}.md"
    article.write_text(ARTICLES[situation], encoding="utf-8")
    args = [command, str(article), "--store", str(tmp_path / f"{command}-{situation}")]
    args += ["--canary", CANARY_URL, "--only-resolved"]
    if situation != "offline":
        args += [*resolve_args(origin), "--resolve", f"canary.example={origin.address}"]
    if command != "check":
        args += ["--archive", str(story_collection(tmp_path))]
    return args


@pytest.mark.parametrize(
    ("command", "situation"),
    [(command, situation) for command, codes in EXIT_CODES.items() for situation in codes],
)
def test_one_situation_one_exit_code(
    command: str,
    situation: str,
    origin: OriginServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(tmp_path / "cache"))
    origin.add(STORY, Page(body="<html><title>Story</title><p>" + "words " * 50 + "</p></html>"))
    origin.add("http://canary.example/", Page(body="up"))
    args = situation_args(command, situation, origin, tmp_path)
    if situation == "unverified":  # a store whose file was changed since it was written
        assert invoke(*args).exit_code == 0
        warc = sorted((tmp_path / f"{command}-{situation}").glob("*.warc.gz"))[0]
        warc.write_bytes(warc.read_bytes() + b"changed")
    result = invoke(*args)
    assert result.exit_code == EXIT_CODES[command][situation], result.output


def test_run_and_archive_name_the_problems_they_exit_3_for(
    origin: OriginServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(tmp_path / "cache"))
    origin.add(STORY, Page(body="<html><title>Story</title><p>" + "words " * 50 + "</p></html>"))
    article = tmp_path / "article.md"
    article.write_text(
        f"We read [the tender]({GONE}); the minutes [link no longer available] agree.\n"
    )
    for command in ("run", "archive"):
        args = [command, str(article), "--store", str(tmp_path / command), "--format", "json"]
        args += ["--archive", str(story_collection(tmp_path)), *resolve_args(origin)]
        result = invoke(*args, "--canary", STORY)
        assert result.exit_code == 3, result.output
        assert result.stderr.splitlines()[-1] == (
            "problems: 1 dead link(s), 1 removed link(s) not recovered"
        )


def test_run_and_archive_offline_store_what_reachable_archives_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No name resolves, not even the canary; a local collection is still there.
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(tmp_path / "cache"))
    article = tmp_path / "article.md"
    article.write_text(ARTICLES["offline"], encoding="utf-8")
    collection = str(story_collection(tmp_path))
    offline = ["--only-resolved", "--canary", CANARY_URL, "--archive", collection]

    store = tmp_path / "run"
    ran = invoke("run", str(article), "--store", str(store), *offline)
    assert ran.exit_code == 1, ran.output
    assert ran.stderr.splitlines()[-1] == (
        "archiver: error: this machine seems to be offline: no link answered, so no live "
        "link was checked; 2 capture(s) stored from the archives that could be reached "
        f"(report: {store / 'report.json'})"
    )
    assert ran.stdout.splitlines()[-1] == (
        "live links were not checked: this machine seems to be offline (no link answered, "
        "nor http://canary.example/); copies come from the archives that could be reached"
    )
    report = json.loads((store / "report.json").read_text())
    assert report["offline"] is True
    assert report["verification"]["ok"] is True
    assert sorted((c["url"], c["source"]) for r in report["results"] for c in r["captures"]) == [
        (GONE, "memento"),
        (STORY, "memento"),
    ]

    store = tmp_path / "archive"
    archived = invoke("archive", str(article), "--store", str(store), *offline, "--format", "json")
    assert archived.exit_code == 1, archived.output
    assert archived.stderr.splitlines()[-1] == (
        "archiver: error: this machine seems to be offline: no link answered, so no live "
        "link was checked; 2 capture(s) stored from the archives that could be reached"
    )
    captures = json.loads(archived.stdout)
    assert sorted((c["url"], c["warc_date"]) for c in captures) == [
        (GONE, "2018-05-06T00:00:00Z"),
        (STORY, "2019-01-02T00:00:00Z"),
    ]
    assert invoke("verify", str(store)).exit_code == 0


def test_run_and_archive_take_the_canary_check_takes(
    origin: OriginServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cited host does not resolve. With a canary that answers, that is a dead link
    # (exit 3); with one that does not, this machine is offline (exit 1).
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(tmp_path / "cache"))
    article = tmp_path / "article.md"
    article.write_text(f"We read [the tender]({GONE}).\n", encoding="utf-8")
    origin.add("http://canary.example/", Page(body="up"))
    collection = str(story_collection(tmp_path))
    canary = ["--resolve", f"canary.example={origin.address}", "--only-resolved"]
    for command in ("check", "run", "archive"):
        args = [command, str(article), "--store", str(tmp_path / command), *canary]
        args += [] if command == "check" else ["--archive", collection]
        answered = invoke(*args, "--canary", CANARY_URL, "--fresh-for", "0")
        silent = invoke(*args, "--canary", "http://silent.example/", "--fresh-for", "0")
        assert (answered.exit_code, silent.exit_code) == (3, 1), command


def test_check_is_offline_even_when_some_results_come_from_the_history(
    origin: OriginServer, tmp_path: Path
) -> None:
    # The first link was checked an hour ago and is reused; the second cannot be checked
    # now. That is an offline machine, not "all good".
    origin.add("http://a.example/x", Page(body="fine"))
    store = ["--store", str(tmp_path)]
    assert invoke("check", "http://a.example/x", *store, *resolve_args(origin)).exit_code == 0
    args = ["check", "http://a.example/x", "http://b.example/y", *store, "--only-resolved"]
    result = invoke(*args, "--canary", CANARY_URL, "--format", "json")
    assert result.exit_code == 1, result.output
    assert [(r["verdict"], r["from_cache"]) for r in json.loads(result.stdout)] == [
        ("alive", True),
        ("offline", False),
    ]
    assert result.stderr == (
        "archiver: error: this machine seems to be offline (no link answered, nor "
        "http://canary.example/); no verdict was recorded\n"
    )


def test_an_archivist_without_internet_archives_from_a_warc_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real crawl (iana.org, January 2014) as the one archive of a machine with no network.
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(tmp_path / "cache"))
    crawl = require_shared("corpus", "warcs", "iana.warc.gz")
    article = tmp_path / "article.md"
    article.write_text("The [IANA home page](http://www.iana.org/) was read on 2014-02-01.\n")
    store = tmp_path / "store"
    args = ["archive", str(article), "--archive", str(crawl), "--store", str(store)]
    result = invoke(*args, "--only-resolved", "--canary", CANARY_URL, "--format", "json")
    assert result.exit_code == 1, result.output
    assert [(c["url"], c["warc_date"], c["source"]) for c in json.loads(result.stdout)] == [
        ("http://www.iana.org/", "2014-01-26T20:06:24Z", "memento")
    ]
    assert result.stderr.splitlines()[-1] == (
        "archiver: error: this machine seems to be offline: no link answered, so no live "
        "link was checked; 1 capture(s) stored from the archives that could be reached"
    )
    assert invoke("verify", str(store)).exit_code == 0


def bag_in_place(folder: Path) -> None:
    """Bag ``folder`` with bagit-python, as an archivist would before handing it on. Its
    ``make_bag`` moves the files into ``data/`` and changes the working directory: it runs
    in a process of its own."""
    program = "import sys, bagit; bagit.make_bag(sys.argv[1], checksums=['sha256'])"
    subprocess.run([sys.executable, "-c", program, str(folder)], check=True, timeout=60)


def test_a_bag_of_a_store_stays_valid_after_a_later_check(
    origin: OriginServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store's files are what an archivist preserves; the check history, the lock and
    # caches change on every run, so they live elsewhere (here: a temporary state folder).
    bagit = pytest.importorskip("bagit", reason="pip install 'archiver[test]' brings bagit")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARCHIVER_STATE_DIR", str(tmp_path / "state"))
    url = "http://a.example/report"
    origin.add(url, Page(body="<title>Report</title><p>The figures for 2019.</p>"))
    collection = tmp_path / "collection.warc.gz"
    old = FixtureCapture(url, datetime(2019, 5, 2, tzinfo=UTC), body=b"<p>The figures.</p>")
    write_fixture_warc(collection, [old])
    article = tmp_path / "article.md"
    article.write_text(f"The [report]({url}) was read on 2019-05-03.\n")
    store = tmp_path / "store"
    args = [str(article), "--store", str(store), *resolve_args(origin)]
    ran = invoke("run", *args, "--archive", str(collection))
    assert ran.exit_code == 0, ran.output
    assert sorted(p.name for p in store.iterdir() if not p.name.endswith(".warc.gz")) == [
        "manifest.json",
        "report.html",
        "report.json",
    ]

    bag_in_place(store)
    bagit.Bag(str(store)).validate()
    payload = store / "data"  # the store, after bagging
    args = [str(article), "--store", str(payload), "--fresh-for", "0", *resolve_args(origin)]
    checked = invoke("check", *args)  # later: the links are checked again
    assert checked.exit_code == 0, checked.output
    bagit.Bag(str(store)).validate()  # raises BagValidationError on any changed file

    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == sorted(
        [
            default_state_file(store).name,  # the run's history
            default_state_file(payload).name,  # the check's: the store is data/ now
        ]
    )
    assert not (tmp_path / "home").exists()
