"""``archiver serve``: the store replayed through a real pywb, started as a user starts it.

The command runs as a subprocess (the installed ``archiver`` script); the test reads the
addresses it prints, asks the replay for a cited page, a second stored page, a cited URL
whose capture was a redirect, a page requisite (the corpus crawl's stylesheet, stored with its
page) and the CDX API, then stops it with SIGINT as Ctrl-C does
and checks that it ends cleanly: exit 0, pywb gone, its folder removed, the store as it
was. The stores are made by ``archiver archive`` from a local collection: one from a
fixture WARC, one from a real crawl of the shared corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from archiver.demo.simweb.wayback import FixtureCapture, pywb_installed, write_fixture_warc
from tests.conftest import CANARY, closed_port
from tests.export_stores import corpus_store, invoke

ARCHIVER = Path(sys.executable).parent / "archiver"
SITE = "http://news.example/2018/"
REPORT, MOVED, PAGE = f"{SITE}report.html", f"{SITE}moved.html", f"{SITE}page.html"
REPORT_TEXT = "Sales rose in the third quarter."
PAGE_TEXT = "The notice moved here."
CAPTURES = [
    FixtureCapture(
        REPORT,
        datetime(2018, 5, 1, 8, 0, tzinfo=UTC),
        body=f"<html><head><title>Q3 report</title></head><p>{REPORT_TEXT}</p></html>".encode(),
    ),
    # the cited URL MOVED was captured as a redirect to PAGE, a second later
    FixtureCapture(
        MOVED, datetime(2018, 5, 2, 9, 0, 0, tzinfo=UTC), 301, headers=[("Location", "page.html")]
    ),
    FixtureCapture(
        PAGE,
        datetime(2018, 5, 2, 9, 0, 1, tzinfo=UTC),
        body=f"<html><title>Tender notice</title><p>{PAGE_TEXT}</p></html>".encode(),
    ),
]
START_TIMEOUT = 60.0  # seconds for the command to print where it serves


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store ``archiver archive`` made from a collection holding CAPTURES."""
    workdir = tmp_path_factory.mktemp("serve")
    crawl = workdir / "crawl.warc.gz"
    write_fixture_warc(crawl, CAPTURES)
    article = workdir / "article.md"
    article.write_text(f"The [report]({REPORT}) and the [notice]({MOVED}), read 2018-06-01.\n")
    store = workdir / "warcs"
    ran = invoke(
        "archive", str(article), "--archive", str(crawl), "--store", str(store),
        "--state", str(workdir / "state.sqlite"), "--only-resolved", "--canary", CANARY,
    )  # fmt: skip
    assert ran.exit_code == 1, ran.output  # offline: only the collection was reached
    return store


def fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


class Serving:
    """``archiver serve ARGS`` running as a subprocess; ``lines`` is what it printed
    once it said where it serves (its CDX API, the last line of either format)."""

    def __init__(self, args: list[str], tmp: Path) -> None:
        if not pywb_installed():
            pytest.fail("pywb is not installed: pip install -e '.[test]'")
        self.tmp = tmp
        self.process = subprocess.Popen(
            [str(ARCHIVER), "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": str(tmp)},
        )
        printed: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, args=(printed,), daemon=True)
        self.reader.start()
        self.lines: list[str] = []
        while not (self.lines and ("CDX API" in self.lines[-1] or '"cdx"' in self.lines[-1])):
            try:
                line = printed.get(timeout=START_TIMEOUT)
            except queue.Empty:
                self.kill()
                pytest.fail(f"archiver serve said nothing more in {START_TIMEOUT:g}s")
            if not line:  # it ended
                pytest.fail(f"archiver serve ended ({self.process.wait()}): {self._errors()}")
            self.lines.append(line.rstrip("\n"))

    def _read(self, printed: queue.Queue[str]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            printed.put(line)
        printed.put("")

    def _errors(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read()

    @property
    def served(self) -> dict[str, Any]:
        """What ``--format json`` printed."""
        [line] = self.lines
        parsed: dict[str, Any] = json.loads(line)
        return parsed

    def stop(self) -> tuple[int, str]:
        """SIGINT, as Ctrl-C sends; the exit status and what was left on stderr."""
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("archiver serve did not stop on SIGINT")
        return code, self.stop_output()

    def stop_output(self) -> str:
        """What it wrote on stderr, once it has ended."""
        self.reader.join(timeout=10)
        return self._errors()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def serving(store: Path, tmp_path: Path) -> Iterator[Serving]:
    port = closed_port()
    running = Serving(["--port", str(port), "--format", "json", str(store)], tmp_path)
    try:
        assert running.served["port"] == port
        yield running
    finally:
        running.kill()


def get(url: str, **options: Any) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False  # loopback, never through a proxy
        return session.get(url, timeout=30, **options)


def test_serve_replays_each_cited_source_and_stops_cleanly_on_sigint(
    store: Path, serving: Serving
) -> None:
    before = fingerprint(store)
    served = serving.served
    base = f"http://127.0.0.1:{served['port']}/sources/"
    assert served["collection"] == base
    assert served["cdx"] == f"{base}cdx?url=URL"
    # one page per cited source, at the cited URL and the memento's own time
    assert [(p["url"], p["ts"], p["title"], p["replay"]) for p in served["pages"]] == [
        (REPORT, "2018-05-01T08:00:00Z", "Q3 report", f"{base}20180501080000/{REPORT}"),
        (MOVED, "2018-05-02T09:00:01Z", "Tender notice", f"{base}20180502090001/{MOVED}"),
    ]

    framed = get(served["pages"][0]["replay"])  # what a reader opens: pywb's frame
    assert framed.status_code == 200
    assert f'"url": "{REPORT}"' in framed.text
    assert '"request_ts": "20180501080000"' in framed.text
    page = get(f"{base}20180501080000mp_/{REPORT}")  # the page in the frame
    assert page.status_code == 200
    assert REPORT_TEXT in page.text
    assert page.headers["Memento-Datetime"] == "Tue, 01 May 2018 08:00:00 GMT"

    second = get(f"{base}20180502090001mp_/{PAGE}")
    assert second.status_code == 200
    assert PAGE_TEXT in second.text

    # the cited URL replays as the redirect it was captured as, to the page it led to
    moved = get(f"{base}20180502090001mp_/{MOVED}")
    assert [(r.status_code, r.headers["Location"]) for r in moved.history] == [
        (307, f"{base}20180502090000mp_/{MOVED}"),  # to the redirect's own time
        (301, "page.html"),  # the captured redirect, its Location as captured
        (307, f"{base}20180502090001mp_/{PAGE}"),  # to the page's own time
    ]
    assert moved.status_code == 200
    assert PAGE_TEXT in moved.text

    cdx = get(f"{base}cdx", params={"url": MOVED, "output": "json"})
    [line] = [json.loads(text) for text in cdx.text.splitlines()]
    assert (line["url"], line["timestamp"], line["status"]) == (MOVED, "20180502090000", "301")
    assert line["filename"] in before  # read from the store's own WARC file

    code, err = serving.stop()
    assert (code, err) == (0, "archiver: stopped\n")
    with pytest.raises(requests.ConnectionError):
        get(base)  # pywb stopped too
    assert list(serving.tmp.iterdir()) == []  # its configuration and index removed
    assert fingerprint(store) == before  # nothing written into the store


def test_serve_replays_a_store_made_from_a_corpus_crawl(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    iana = corpus_store(tmp_path_factory.mktemp("corpus"))
    running = Serving(["--format", "json", str(iana)], tmp_path)
    try:
        base = running.served["collection"]
        assert [(p["url"], p["replay"]) for p in running.served["pages"]] == [
            ("http://www.iana.org/", f"{base}20140126200624/http://www.iana.org/"),
            ("http://www.iana.org/domains", f"{base}20140126200825/http://www.iana.org/domains"),
        ]
        page = get(f"{base}20140126200825mp_/http://www.iana.org/domains")
        assert page.status_code == 200
        assert "The DNS Root Zone" in page.text
        # A requisite stored with the page (its stylesheet) replays at its own time.
        manifest = json.loads((iana / "manifest.json").read_text())
        [css] = [
            r
            for c in manifest["captures"]
            for r in c.get("requisites") or ()
            if r["kind"] == "stylesheet" and r["target_uri"].endswith("/screen.css")
        ][:1]
        stamp = "".join(ch for ch in css["warc_date"] if ch.isdigit())
        sheet = get(f"{base}{stamp}id_/{css['target_uri']}")
        assert sheet.status_code == 200
        assert hashlib.sha256(sheet.content).hexdigest() == css["payload_sha256"]
    finally:
        code, err = running.stop()
    assert (code, err) == (0, "archiver: stopped\n")


def test_serve_prints_the_addresses_to_open(store: Path, tmp_path: Path) -> None:
    running = Serving([str(store)], tmp_path)
    code, err = running.stop()
    assert (code, err) == (0, "archiver: stopped\n")
    port = running.lines[0].split("127.0.0.1:")[1].split("/")[0]
    base = f"http://127.0.0.1:{port}/sources/"
    assert running.lines == [
        f"Replaying {store} at {base} (pywb; Ctrl-C stops it)",
        "2 cited source(s), each as it was captured:",
        f"  {base}20180501080000/{REPORT}",
        "    Q3 report",
        f"  {base}20180502090001/{MOVED}",
        "    Tender notice",
        f"CDX API: {base}cdx?url=URL",
    ]


def test_serve_listens_only_on_loopback_unless_told_otherwise(store: Path) -> None:
    refused = invoke("serve", "--host", "0.0.0.0", str(store))
    assert refused.exit_code == 2
    assert (
        "Invalid value for --host: 0.0.0.0 is not a loopback address: other machines could "
        "read the store (add --public to allow that)"
    ) in refused.output


def test_serve_without_pywb_says_so_in_one_line(store: Path) -> None:
    # pywb made unimportable in that process alone, as on an install without the extra
    hidden = "import sys; sys.modules['pywb'] = None; from archiver.cli.main import main; main()"
    ran = subprocess.run(
        [sys.executable, "-c", hidden, "serve", str(store)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (ran.returncode, ran.stdout) == (1, "")
    assert ran.stderr == "archiver: error: pywb is not installed: pip install 'archiver[demo]'\n"


def test_serve_refuses_a_folder_that_is_no_store(tmp_path: Path) -> None:
    ran = invoke("serve", str(tmp_path))
    assert ran.exit_code == 1
    assert (
        ran.stderr
        == f"archiver: error: {tmp_path} has no manifest.json: not a store archiver wrote\n"
    )


def test_serve_says_so_when_pywb_dies_under_it(store: Path, tmp_path: Path) -> None:
    running = Serving(["--format", "json", str(store)], tmp_path)
    try:
        children = Path(f"/proc/{running.process.pid}/task/{running.process.pid}/children")
        [pywb] = map(int, children.read_text().split())
        os.kill(pywb, signal.SIGKILL)
        code = running.process.wait(timeout=30)
    finally:
        running.kill()
    err = running.stop_output()
    assert code == 1
    [line] = err.splitlines()
    assert line.startswith("archiver: error: pywb stopped with status -9: ")
    log = Path(line.rsplit("(log: ", 1)[1].rstrip(")"))
    assert log.is_file()  # kept, for the error to point at


def test_serve_stops_on_sigterm_too(store: Path, tmp_path: Path) -> None:
    running = Serving(["--format", "json", str(store)], tmp_path)
    base = running.served["collection"]
    running.process.send_signal(signal.SIGTERM)
    try:
        code = running.process.wait(timeout=30)
    finally:
        running.kill()
    assert (code, running.stop_output()) == (0, "archiver: stopped\n")
    with pytest.raises(requests.ConnectionError):
        get(base)  # pywb did not outlive it
    assert list(tmp_path.iterdir()) == []


def test_a_reader_opening_a_cited_url_in_chromium_sees_the_page_and_its_date(
    store: Path, tmp_path: Path
) -> None:
    """The redirect case as a reader meets it: the printed address of MOVED opens, in a
    real browser, the page it redirected to, under pywb's banner naming the capture."""
    from tests.chromium import chromium

    running = Serving(["--format", "json", str(store)], tmp_path)
    try:
        replay = running.served["pages"][1]["replay"]
        with chromium() as browser:
            context = browser.new_context(locale="en-US", timezone_id="UTC")
            page = context.new_page()
            page.goto(replay)
            frame = page.frame_locator("#replay_iframe")
            frame.locator("p").wait_for(timeout=30_000)
            shown = frame.locator("body").inner_text()
            page.wait_for_function("document.body.innerText.includes('Tender notice')")
            banner = page.locator("body").inner_text()
            address = page.url
    finally:
        code, _ = running.stop()
    assert PAGE_TEXT in shown
    assert "Current Capture: Tender notice | 5/2/2018, 9:00:01 am" in banner
    assert address == f"{running.served['collection']}20180502090001/{PAGE}"
    assert code == 0


def test_serve_on_a_port_already_taken_says_so_in_one_line(store: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = subprocess.run(
            [str(ARCHIVER), "serve", "--port", str(port), str(store)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "TMPDIR": str(tmp_path)},
        )
    assert (ran.returncode, ran.stdout) == (1, "")
    [line] = ran.stderr.splitlines()
    assert line.startswith("archiver: error: pywb exited with status 1 while starting: ")
    assert "Address already in use" in line


@pytest.mark.parametrize("damage", ["missing", "unreadable"])
def test_serve_refuses_a_store_with_a_file_missing_or_damaged_in_one_line(
    damage: str, store: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "store"
    copy.mkdir()
    for path in store.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    victim = sorted(copy.glob("*.warc.gz"))[0]
    if damage == "missing":
        victim.unlink()
        why = (
            f"is listed in the manifest but is not in {copy} "
            "(`archiver verify` names what is missing)"
        )
    else:  # its first record's header bytes overwritten
        data = bytearray(victim.read_bytes())
        data[200:250] = bytes(50)
        victim.write_bytes(bytes(data))
        why = "could not be read (ArchiveLoadFailed): `archiver verify` names what is wrong with it"
    ran = invoke("serve", str(copy))
    assert (ran.exit_code, ran.stdout) == (1, "")
    assert ran.stderr == f"archiver: error: {victim.name} {why}\n"
