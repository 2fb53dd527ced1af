"""Stores under stress (issue 12): two processes on one store, a full disk, a read-only
store, damaged or locked state files, folders where files should be.

Each failure is one line naming the file and what to do (never "internal error"), the
store stays consistent (it verifies, no ``.open`` file is left) and a rerun finishes the
job. Every ``archiver`` here is a real process, against the origin server (the live web)
and a local WARC collection (the archive) on loopback.

The full disk is real at the OS level, two ways: a 2 MiB tmpfs, filled up, where this
machine lets the test mount one (as root); and everywhere, a child process whose file
size limit (``RLIMIT_FSIZE``) makes the kernel refuse the write (``EFBIG``) as a full
disk refuses it (``ENOSPC``). Read-only is a read-only bind mount as root (root ignores
file modes), else a folder without write permission.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.archives.cache import LookupCache
from archiver.config import default_state_file
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import FixtureCapture, write_fixture_warc
from archiver.errors import StateError
from archiver.state import State
from archiver.storage.verify import verify_store

ROOT = Path(__file__).resolve().parents[1]
CANARY = "http://canary.example/"
PROGRAM = "from archiver.cli.main import main; main()"


def story(number: int) -> str:
    return f"http://news.example/story{number}"


def write_article(path: Path, urls: list[str]) -> Path:
    lines = [f"We read [story {i}]({url}) on 2019-02-01.\n" for i, url in enumerate(urls)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


class Web:
    """The origin server's stories (``big`` ones are 1.2 MB that gzip cannot shrink
    much) and a collection holding a 2019 copy of each: every citation stores a memento
    and a live capture."""

    def __init__(self, origin: OriginServer, folder: Path) -> None:
        self.origin = origin
        self.collection = folder / "collection.warc.gz"
        self.urls: list[str] = []
        origin.add(CANARY, Page(body="up"))

    def add(self, count: int, *, big: frozenset[int] = frozenset(), delay: float = 0.0) -> None:
        for number in range(count):
            words = "words " * 300
            if number in big:
                words = base64.b64encode(os.urandom(900_000)).decode()
            body = f"<html><title>Story {number}</title><p>{words}</p></html>"
            self.origin.add(story(number), Page(body=body, delay=delay))
            self.urls.append(story(number))
        moment = datetime(2019, 1, 2, tzinfo=UTC)
        old = [FixtureCapture(u, moment, body=f"<p>{u} in 2019</p>".encode()) for u in self.urls]
        write_fixture_warc(self.collection, old)

    def args(self) -> list[str]:
        address = self.origin.address
        return [
            *("--archive", str(self.collection), "--canary", CANARY, "--only-resolved"),
            *("--resolve", f"news.example={address}", "--resolve", f"canary.example={address}"),
        ]


@pytest.fixture
def web(origin: OriginServer, tmp_path: Path) -> Web:
    return Web(origin, tmp_path)


def start(
    args: list[str], preexec: Callable[[], None] | None = None, **env: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PROGRAM, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    )


def archiver(
    args: list[str], preexec: Callable[[], None] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    process = start(args, preexec, **env)
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def manifest_of(store: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((store / "manifest.json").read_text(encoding="utf-8"))


def assert_consistent(store: Path) -> None:
    """The store verifies and holds no file half-written."""
    assert sorted(p.name for p in store.iterdir() if p.name.endswith(".open")) == []
    report = verify_store(store)
    assert report.ok, report.problems


# -- two processes, one store ----------------------------------------------------------


def test_two_processes_archiving_one_article_store_each_capture_once(
    web: Web, tmp_path: Path
) -> None:
    # Both ask "already stored?" before fetching (nothing is, yet), fetch the same pages
    # at the same time, and each then asks again under the store's lock before listing
    # its copy: the second to get there keeps the first one's capture.
    web.add(6, delay=0.2)
    article = write_article(tmp_path / "article.md", web.urls)
    store = tmp_path / "store"
    args = ["archive", str(article), "--store", str(store), "--format", "json", *web.args()]
    both = [start(args), start(args)]
    outputs = [process.communicate(timeout=300) for process in both]
    assert [process.returncode for process in both] == [0, 0], outputs

    manifest = manifest_of(store)
    stored = sorted((c["url"], c["source"]) for c in manifest["captures"])
    assert stored == sorted((url, kind) for url in web.urls for kind in ("live", "memento"))
    files = sorted(entry["name"] for entry in manifest["files"])
    assert sorted(p.name for p in store.glob("*.warc.gz")) == files
    assert len(files) in (1, 2)  # each process appends to a file of its own
    kept = sorted(
        (c["url"], c["source"], c["warc_file"], c["record_id"]) for c in manifest["captures"]
    )
    for out, _ in outputs:  # each process reports the captures the store kept
        told = json.loads(out)
        assert sorted((c["url"], c["source"], c["warc_file"], c["record_id"]) for c in told) == kept
    assert_consistent(store)


# -- a full disk ---------------------------------------------------------------------


class FullDisk:
    """A folder that takes only ``room`` more bytes (``fill``) until ``free``.

    ``tmpfs``: a 2 MiB tmpfs filled up to ``room`` by a filler file. ``file-size-limit``:
    a plain folder, and a limit on the size of any file the child process writes."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind, self.folder = kind, folder
        self._room: int | None = None

    def fill(self, room: int) -> None:
        self._room = room
        if self.kind == "tmpfs":
            free = os.statvfs(self.folder).f_bavail * os.statvfs(self.folder).f_frsize
            (self.folder / "filler").write_bytes(b"\0" * (free - room))

    def free(self) -> None:
        self._room = None
        (self.folder / "filler").unlink(missing_ok=True)

    def preexec(self) -> Callable[[], None] | None:
        room = self._room
        if self.kind != "file-size-limit" or room is None:
            return None

        def limit() -> None:
            import resource
            import signal

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails (EFBIG) instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))

        return limit

    @property
    def reason(self) -> str:
        """How the kernel's refusal reads in archiver's error line."""
        if self.kind == "tmpfs":
            return "no space left on device; free some space, then run the command again"
        return "file too large; raise the file size limit (ulimit -f), then run the command again"


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def mounted(*args: str, at: Path, why: str) -> Iterator[None]:
    """``mount ARGS AT`` for the block, or a skip that says why this machine cannot."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip(f"mounting needs root and mount(8): {why}")
    try:
        mount(*args, str(at))
    except (subprocess.CalledProcessError, OSError) as e:
        pytest.skip(f"this machine cannot mount ({e}): {why}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(at)], check=False, timeout=30)


@pytest.fixture(params=["tmpfs", "file-size-limit"])
def full_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FullDisk]:
    folder = tmp_path / "disk"
    folder.mkdir()
    if request.param == "file-size-limit":
        yield FullDisk("file-size-limit", folder)
        return
    why = "the file-size-limit case stands for a full disk here"
    with mounted("-t", "tmpfs", "-o", "size=2m", "tmpfs", at=folder, why=why):
        yield FullDisk("tmpfs", folder)


@pytest.mark.parametrize("command", ["archive", "run"])
def test_a_full_disk_is_one_line_the_store_stays_consistent_and_a_rerun_finishes(
    command: str, full_disk: FullDisk, web: Web, tmp_path: Path
) -> None:
    # The live copy of story 1 does not fit: storing stops there; story 2 is not tried.
    web.add(3, big=frozenset({1}))
    article = write_article(tmp_path / "article.md", web.urls)
    store = full_disk.folder / "store"
    args = [command, str(article), "--store", str(store), "--format", "json", *web.args()]
    full_disk.fill(600_000)
    result = archiver(args, full_disk.preexec())

    assert result.returncode == 1, result
    written = f"; report: {store / 'report.json'}" if command == "run" else ""
    assert re.fullmatch(
        f"archiver: error: cannot write {re.escape(str(store))}/[0-9a-f-]+\\.warc\\.gz\\.open: "
        f"{re.escape(full_disk.reason)} \\(3 capture\\(s\\) not stored{re.escape(written)}\\)\n",
        result.stderr,
    ), result.stderr
    output = json.loads(result.stdout)
    if command == "run":  # the report was kept, and says what was not stored
        assert json.loads((store / "report.json").read_text()) == output
        assert output["summary"]["not_stored"] == 3
        not_stored = [f for r in output["results"] for f in r["not_stored"]]
    else:  # archive lists what it stored, then what it did not and why
        assert [(c["url"], c["source"]) for c in output[:3]] == [
            (story(0), "memento"),
            (story(0), "live"),
            (story(1), "memento"),
        ]
        not_stored = output[3:]
        assert {f["warc_file"] for f in not_stored} == {None}
    error = result.stderr.removeprefix("archiver: error: ").split(" (3 capture")[0]
    assert [(f["url"], f["source"], f["reason"]) for f in not_stored] == [
        (story(1), "live", error),
        (story(2), "memento", f"not tried, storing stopped: {error}"),
        (story(2), "live", f"not tried, storing stopped: {error}"),
    ]
    assert len(manifest_of(store)["captures"]) == 3
    assert_consistent(store)

    full_disk.free()
    again = archiver(args)
    assert again.returncode == 0, again
    stored = sorted((c["url"], c["source"]) for c in manifest_of(store)["captures"])
    assert stored == sorted((url, kind) for url in web.urls for kind in ("live", "memento"))
    assert_consistent(store)


def test_a_state_file_on_a_full_disk_is_one_line(
    full_disk: FullDisk, web: Web, tmp_path: Path
) -> None:
    web.add(1)
    article = write_article(tmp_path / "article.md", web.urls)
    state = full_disk.folder / "state.sqlite"
    args = ["archive", str(article), "--store", str(tmp_path / "store"), "--state", str(state)]
    full_disk.fill(4096)
    result = archiver([*args, *web.args()], full_disk.preexec())
    assert result.returncode == 1, result
    what = {  # SQLite's words for the two: SQLITE_FULL, and SQLITE_IOERR for EFBIG
        "tmpfs": "cannot grow: the disk is full; free some space, then run again",
        "file-size-limit": "could not be read or written (a disk I/O error); check that the "
        "disk has room and works, then run again",
    }[full_disk.kind]
    assert result.stderr == f"archiver: error: the state file {state} {what}\n"
    full_disk.free()
    assert archiver([*args, *web.args()]).returncode == 0


# -- read-only ------------------------------------------------------------------------


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[str]:
    """``folder`` read-only for the block; yields how a write there is refused."""
    if os.geteuid() != 0:  # file modes hold for everyone but root
        folder.chmod(0o555)
        try:
            yield "permission denied; give this user access to it, or use another folder"
        finally:
            folder.chmod(0o755)
        return
    why = "root ignores file modes, so only a read-only mount makes a read-only folder"
    with mounted("--bind", str(folder), at=folder, why=why):
        mount("-o", "remount,bind,ro", str(folder))
        yield "read-only file system; make it writable, or use another folder"


def test_a_read_only_store_is_one_line_and_the_report_says_it_was_not_written(
    web: Web, tmp_path: Path
) -> None:
    web.add(2)
    store = tmp_path / "store"
    first = write_article(tmp_path / "first.md", web.urls[:1])
    assert archiver(["run", str(first), "--store", str(store), *web.args()]).returncode == 0
    before = manifest_of(store)
    article = write_article(tmp_path / "article.md", web.urls)
    args = ["run", str(article), "--store", str(store), *web.args()]
    with read_only(store) as refused:
        result = archiver(args)
    assert result.returncode == 1, result
    assert result.stderr == (
        f"archiver: error: cannot write {store / 'manifest.journal'}: {refused} (4 capture(s) "
        f"not stored; nor was the report written to {store / 'report.json'})\n"
    )
    assert "not_stored=4" in result.stdout  # the run's table is still shown
    assert manifest_of(store) == before
    assert_consistent(store)
    assert archiver(args).returncode == 0
    assert len(manifest_of(store)["captures"]) == 4


def test_a_report_that_cannot_be_written_is_said_with_where(web: Web, tmp_path: Path) -> None:
    web.add(1)
    article = write_article(tmp_path / "article.md", web.urls)
    elsewhere = tmp_path / "reports"
    elsewhere.mkdir()
    store = tmp_path / "store"
    args = ["run", str(article), "--store", str(store), "--format", "json", *web.args()]
    with read_only(elsewhere) as refused:
        result = archiver([*args, "--report", str(elsewhere / "report.json")])
    assert result.returncode == 1, result
    assert result.stderr == (
        f"archiver: error: the report was not written: cannot write "
        f"{elsewhere / 'report.json'}: {refused}\n"
    )
    assert json.loads(result.stdout)["summary"]["captures"] == 2  # the report, on stdout
    assert_consistent(store)


# -- folders where files should be --------------------------------------------------


def test_a_stale_open_file_that_is_a_folder_is_one_line(web: Web, tmp_path: Path) -> None:
    web.add(1)
    article = write_article(tmp_path / "article.md", web.urls)
    store = tmp_path / "store"
    stale = store / "20200101000000-0123abcd-0123456789ab.warc.gz.open"
    stale.mkdir(parents=True)
    args = ["archive", str(article), "--store", str(store), *web.args()]
    result = archiver(args)
    assert result.returncode == 1, result
    assert result.stderr == (
        f"archiver: error: {stale} is a folder, where archiver leaves a file it was "
        "writing: move it out of the store, then run the command again\n"
    )
    stale.rmdir()
    assert archiver(args).returncode == 0
    assert_consistent(store)


def test_a_warc_replaced_by_a_folder_is_one_line_and_the_report_is_kept(
    web: Web, tmp_path: Path
) -> None:
    web.add(1)
    article = write_article(tmp_path / "article.md", web.urls)
    store = tmp_path / "store"
    args = ["run", str(article), "--store", str(store), *web.args()]
    assert archiver(args).returncode == 0
    warc = sorted(store.glob("*.warc.gz"))[0]
    warc.unlink()
    warc.mkdir()
    (store / "report.json").unlink()
    result = archiver(args)
    # verify names it as a problem of the store (since fixity13's verify), the run says so
    assert result.returncode == 3, result
    assert result.stderr.endswith(
        f"problems: the store failed verification ({warc.name}: cannot be read (is a "
        "directory); restore it from a copy (see the manifest))\n"
    )
    verification = json.loads((store / "report.json").read_text())["verification"]
    assert [(p["file"], p["check"]) for p in verification["problems"]] == [
        (warc.name, "unreadable")
    ]


# -- the state file: damaged, a folder, locked -----------------------------------------


def damaged_state(path: Path) -> None:
    """A real state file whose pages after the header were overwritten."""
    State(path).close()
    data = bytearray(path.read_bytes())
    data[100:] = b"\xff" * (len(data) - 100)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (
            damaged_state,
            "is damaged; move it aside (a new history starts) or give another file with --state",
        ),
        (
            lambda path: path.write_bytes(b"not a database " * 300),
            "is not an SQLite database; move it aside (a new history starts) or give another "
            "file with --state",
        ),
        (
            lambda path: path.mkdir(),
            "is a folder: move it out of the way, or give another file with --state",
        ),
    ],
    ids=["damaged", "not-a-database", "folder"],
)
def test_an_unusable_state_file_is_one_line(
    make: Callable[[Path], None], what: str, web: Web, tmp_path: Path
) -> None:
    web.add(1)
    article = write_article(tmp_path / "article.md", web.urls)
    store = tmp_path / "store"
    state = default_state_file(store)  # where the store's history is kept (no --state)
    state.parent.mkdir(parents=True, exist_ok=True)
    make(state)
    result = archiver(["archive", str(article), "--store", str(store), *web.args()])
    assert result.returncode == 1, result
    assert result.stderr == f"archiver: error: the state file {state} {what}\n"


HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


def test_a_state_file_locked_by_another_process_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    State(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(StateError) as raised:
            State(path, busy_timeout=0.2)
    finally:
        holder.communicate(timeout=30)
    assert str(raised.value) == (
        f"the state file {path} is locked by another process, for longer than archiver "
        "waits; let it finish, or give another file with --state"
    )
    with State(path) as state:  # released: usable again
        assert state.history("http://a.example/") == []
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- caches ---------------------------------------------------------------------------


def test_an_index_cache_that_cannot_be_written_is_a_warning_not_the_end(
    web: Web, tmp_path: Path
) -> None:
    web.add(1)
    article = write_article(tmp_path / "article.md", web.urls)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "cdxj").write_bytes(b"")  # a file where the index cache's folder goes
    store = tmp_path / "store"
    args = ["archive", str(article), "--store", str(store), *web.args()]
    result = archiver(args, ARCHIVER_CACHE_DIR=str(cache))
    assert result.returncode == 0, result
    assert result.stderr == (
        f"archiver: warning: cannot write {cache / 'cdxj'}: file exists; a file is where "
        "archiver needs a folder: move it out of the way (indexes are not cached until then)\n"
    )
    assert len(manifest_of(store)["captures"]) == 2


def test_archive_answers_that_cannot_be_cached_are_a_warning_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The state file is locked for longer than archiver waits while a run has answers to
    # keep: they are not kept (the next run asks again), and the run goes on.
    path = tmp_path / "state.sqlite"
    state = State(path, busy_timeout=0.2)
    cache = LookupCache(state, clock=lambda: datetime(2024, 5, 1, tzinfo=UTC))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with caplog.at_level("WARNING", logger="archiver.archives.cache"):
            for url in ("http://a.example/", "http://b.example/"):
                cache.remember_lookup("ia", url, None, "replay", [])
    finally:
        holder.communicate(timeout=30)
    assert [record.getMessage() for record in caplog.records] == [
        f"the state file {path} is locked by another process, for longer than archiver "
        "waits; let it finish, or give another file with --state (archive answers are not "
        "cached until then)"
    ]
    assert cache.lookup("ia", "http://a.example/", None, "replay") is None
    state.close()


def test_a_capture_the_web_did_not_serve_is_listed_and_exits_3(web: Web, tmp_path: Path) -> None:
    # HEAD says the file is there (alive), then its GET redirects to a host that does not
    # resolve: the live capture is not stored, which is a problem the run found (3).
    web.add(1)
    pdf = "http://news.example/report.pdf"
    moved = Page(
        status=302,
        head_status=200,
        content_type="application/pdf",
        location="http://gone.example/report.pdf",
    )
    web.origin.add(pdf, moved)
    article = write_article(tmp_path / "article.md", [*web.urls, pdf])
    store = tmp_path / "store"
    args = ["archive", str(article), "--store", str(store), "--format", "json", *web.args()]
    result = archiver(args)
    assert result.returncode == 3, result
    assert result.stderr.splitlines()[-1] == "problems: 1 capture(s) not stored"
    not_stored = [entry for entry in json.loads(result.stdout) if entry["warc_file"] is None]
    assert [(f["url"], f["source"], f["citations"]) for f in not_stored] == [
        (pdf, "live", [f"{article}#L2"])
    ]
    assert not_stored[0]["reason"].startswith(f"could not fetch {pdf}: ")
    assert len(manifest_of(store)["captures"]) == 2
    assert_consistent(store)
