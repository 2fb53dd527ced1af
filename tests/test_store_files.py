"""The store's WARC files: captures appended to one file, rolled at ``--warc-size``, and a
store that verifies whenever a run is killed (``archiver.storage.warcfile``).

Kills are real SIGKILLs of a subprocess that captures pages from the origin server; a
failed write is a real one too (a file size limit, ``RLIMIT_FSIZE``, makes ``write`` fail
with EFBIG as a full disk would).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiver.cli.main import cli
from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import FixtureCapture, write_fixture_warc
from archiver.errors import InputError
from archiver.net.http import build_session
from archiver.storage.manifest import MANIFEST_NAME, MANIFEST_TEMP_NAME, Manifest, read_manifest
from archiver.storage.store import Store
from archiver.storage.verify import verify_store
from tests.warcfiles import all_accepted

ROOT = Path(__file__).resolve().parents[1]
PAGES = [f"http://kill.example/page/{n}" for n in range(100)]

WORKER = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    from pathlib import Path
    from archiver.config import Settings
    from archiver.errors import StoreError
    from archiver.net.http import build_session
    from archiver.demo.simweb.origin import OriginServer, Page
    from archiver.storage.store import Store

    root, job = Path(sys.argv[1]), json.loads(sys.argv[2])
    numbers = range(job["first"], job["first"] + job["count"])
    urls = [f"http://kill.example/page/{n}" for n in numbers]
    seen = {"committed": 0, "nth": 0}

    def on_step(step):
        # killed at the nth `kill` step once `committed` captures were committed (-1: any)
        if step == job.get("kill") and job.get("committed", 0) in (seen["committed"], -1):
            seen["nth"] += 1
            if seen["nth"] == job.get("nth", 1):
                os.kill(os.getpid(), signal.SIGKILL)
        if step == "manifest-written":
            seen["committed"] += 1
            seen["nth"] = 0

    with OriginServer() as origin:
        for n, url in enumerate(urls):
            big = job.get("big", {}).get(url)  # bytes of a page that does not compress
            body = f"<p>{os.urandom(big // 2).hex()}</p>" if big else f"<p>page {n}</p>" * 50
            origin.add(url, Page(body=body))
        settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
        session = build_session(settings)
        if "file_size_limit" in job:  # writing past it fails with EFBIG, as on a full disk
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (job["file_size_limit"],) * 2)
        sizes = {"warc_size": 10**9, "compact_at": 2**20}
        sizes.update((k, job[k]) for k in sizes if k in job)
        with Store(root, on_step=on_step, **sizes) as store:
            for url in urls:
                try:
                    store.capture_live(url, session, settings, [url])
                    print("captured", url, flush=True)
                except StoreError as e:
                    print("failed", url, e, flush=True)
    """
)


def run_worker(root: Path, first: int = 0, count: int = 1, **job: object) -> subprocess.Popen[str]:
    """A process capturing ``count`` pages into the store ``root`` (see WORKER for ``job``)."""
    spec = json.dumps({"first": first, "count": count, **job})
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(root), spec],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> int:
    _, err = process.communicate(timeout=60)
    if process.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(err)
    return process.returncode


def gzip_members(data: bytes) -> tuple[int, int]:
    """(whole gzip members at the start of ``data``, bytes left after them)."""
    count = 0
    while data:
        decompressor = zlib.decompressobj(31)
        try:
            decompressor.decompress(data)
        except zlib.error:
            break
        if not decompressor.eof:
            break
        count += 1
        data = decompressor.unused_data
    return count, len(data)


def manifest_of(root: Path) -> Manifest:
    manifest = read_manifest(root)
    assert manifest is not None
    return manifest


def open_files(root: Path) -> list[Path]:
    return sorted(root.glob("*.open"))


# Each capture is 3 records (warcinfo, response, request), 2 writes each (the gzip header,
# then the rest of the member). (kill step, committed before it, nth step, warc_size) ->
# (.open files left, captures left, records whole and half in the uncommitted tail, files
# after the rerun).
KILLS = {
    "appended, never listed": (("open-written", 0, 1, None), (1, 0, None, 1)),
    "appended to a listed file": (("open-written", 1, 1, None), (1, 1, (3, 0), 2)),
    "a record half written": (("bytes-written", 1, 1, None), (1, 1, (0, 10), 2)),
    "a record whole, the next half": (("bytes-written", 1, 3, None), (1, 1, (1, 10), 2)),
    "two records whole": (("bytes-written", 1, 4, None), (1, 1, (2, 0), 2)),
    "first capture listed": (("manifest-written", 0, 1, None), (1, 1, (0, 0), 2)),
    "second capture listed": (("manifest-written", 1, 1, None), (1, 2, (0, 0), 1)),
    "closed at the end": (("renamed", 2, 1, None), (0, 2, None, 1)),
    "manifest compacted, journal not deleted": (
        ("manifest-compacted", 2, 1, None),
        (0, 2, None, 1),
    ),
    "rolled at the size limit": (("renamed", 1, 1, 1), (0, 1, None, 2)),
}


@pytest.mark.parametrize("case", list(KILLS))
def test_killed_at_each_step_then_rerun_verifies(tmp_path: Path, case: str) -> None:
    (kill, committed, nth, warc_size), (left_open, captures, tail, files) = KILLS[case]
    root = tmp_path / "store"
    job: dict[str, object] = {"kill": kill, "committed": committed, "nth": nth}
    if warc_size is not None:
        job["warc_size"] = warc_size
    assert finish(run_worker(root, count=2, **job)) == -signal.SIGKILL
    assert len(open_files(root)) == left_open
    if tail is not None:  # what the killed run wrote after the committed bytes
        (path,) = open_files(root)
        (entry,) = manifest_of(root).files
        assert gzip_members(path.read_bytes()[entry.size :]) == tail
    # Right after the kill, the store verifies: only the committed bytes count.
    report = verify_store(root)
    assert report.ok, report.problems

    store = Store(root)  # settles what the killed run left
    assert open_files(root) == []
    assert len(store.captures) == captures
    if captures:
        report = verify_store(root)
        assert report.ok, report.problems
        assert report.notes == ()
        for entry in manifest_of(root).files:  # cut to the committed bytes
            assert (root / entry.name).stat().st_size == entry.size
    else:  # nothing was ever stored: an empty folder, which verify never calls OK
        with pytest.raises(InputError, match=r"^nothing to verify in "):
            verify_store(root)

    assert finish(run_worker(root, count=2)) == 0  # the rerun finishes the job
    manifest = manifest_of(root)
    assert [c.url for c in manifest.captures] == PAGES[:2]
    assert len(manifest.files) == files
    report = verify_store(root)
    assert report.ok, report.problems
    assert (report.files_checked, report.records_checked, report.notes) == (files, 6, ())
    indexed = all_accepted(sorted(root.glob("*.warc.gz")))
    assert sorted(url for lines in indexed for url, _, _ in lines) == PAGES[:2]


def test_a_real_kill_mid_run_then_rerun_verifies(tmp_path: Path) -> None:
    root = tmp_path / "store"
    count = 60
    process = run_worker(root, count=count)
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    captured = 0
    while captured < 15 and time.monotonic() < deadline:  # let it get well under way
        line = process.stdout.readline()
        if not line:
            break
        captured += line.startswith("captured")
    process.send_signal(signal.SIGKILL)
    assert finish(process) == -signal.SIGKILL
    assert verify_store(root).ok  # whatever it was writing when killed

    assert finish(run_worker(root, count=count)) == 0
    manifest = manifest_of(root)
    urls = [c.url for c in manifest.captures]
    assert sorted(urls) == sorted(PAGES[:count])
    assert len(set(urls)) == count  # nothing captured twice
    assert open_files(root) == []
    report = verify_store(root)
    assert report.ok, report.problems
    # the killed run's file (its committed captures) and the rerun's
    assert (report.files_checked, report.records_checked) == (2, 3 * count)
    indexed = all_accepted(sorted(root.glob("*.warc.gz")))
    assert sum(len(lines) for lines in indexed) == count


def test_two_processes_capture_into_one_store_each_into_its_own_file(tmp_path: Path) -> None:
    root = tmp_path / "store"
    Store(root)
    workers = [run_worker(root, first=0, count=15), run_worker(root, first=15, count=15)]
    assert [finish(w) for w in workers] == [0, 0]
    manifest = manifest_of(root)
    assert sorted(c.url for c in manifest.captures) == sorted(PAGES[:30])
    assert len(manifest.files) == 2
    by_file = {
        e.name: {c.url for c in manifest.captures if c.warc_file == e.name} for e in manifest.files
    }
    assert sorted(by_file.values(), key=min) == [set(PAGES[:15]), set(PAGES[15:30])]
    assert verify_store(root).ok


def test_a_failed_write_is_cut_off_and_the_next_capture_appended(tmp_path: Path) -> None:
    # The second page is too big for the file size limit: its write fails half way.
    root = tmp_path / "store"
    job = {"file_size_limit": 64_000, "big": {PAGES[1]: 400_000}}
    process = run_worker(root, count=3, **job)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert [line.split()[:2] for line in out.splitlines()] == [
        ["captured", PAGES[0]],
        ["failed", PAGES[1]],
        ["captured", PAGES[2]],
    ]
    assert "file too large" in out.splitlines()[1].lower()
    manifest = manifest_of(root)
    assert [c.url for c in manifest.captures] == [PAGES[0], PAGES[2]]
    (entry,) = manifest.files
    data = (root / entry.name).read_bytes()
    assert (len(data), gzip_members(data)) == (entry.size, (6, 0))  # no trace of the failure
    assert PAGES[1].encode() not in data
    report = verify_store(root)
    assert report.ok, report.problems
    assert report.notes == ()


def test_many_captures_go_into_one_file_and_a_small_warc_size_rolls(
    origin: OriginServer, tmp_path: Path
) -> None:
    for n, url in enumerate(PAGES[:30]):
        origin.add(url, Page(body=f"<p>page {n}</p>" * 50))
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    session = build_session(settings)
    with Store(tmp_path / "one") as store:
        for url in PAGES[:30]:
            store.capture_live(url, session, settings, [url])
    (entry,) = manifest_of(store.root).files
    assert sorted(p.name for p in store.root.iterdir()) == sorted([MANIFEST_NAME, entry.name])
    records = manifest_of(store.root).records
    assert [r.offset for r in records] == sorted(r.offset for r in records)
    assert records[-1].offset + records[-1].length == entry.size
    limit = entry.size // 4  # about 7 captures a file
    with Store(tmp_path / "rolled", warc_size=limit) as rolled:
        for url in PAGES[:30]:
            rolled.capture_live(url, session, settings, [url])
    manifest = manifest_of(rolled.root)
    sizes = [(rolled.root / e.name).stat().st_size for e in manifest.files]
    assert sizes == [e.size for e in manifest.files]
    assert len(sizes) in (4, 5)
    assert all(size >= limit for size in sizes[:-1])  # each file rolled once full ...
    for file in manifest.files:  # ... and not later: its last capture began below the limit
        last = [c for c in manifest.captures if c.warc_file == file.name][-1]
        begun = min(r.offset for r in manifest.records if r.capture_record_id == last.record_id)
        assert begun < limit
    assert [c.url for c in manifest.captures] == PAGES[:30]
    report = verify_store(rolled.root)
    assert report.ok, report.problems
    assert (report.files_checked, report.records_checked) == (len(sizes), 90)


def test_citations_added_later_reach_only_that_captures_records(
    origin: OriginServer, tmp_path: Path
) -> None:
    for url in PAGES[:2]:
        origin.add(url, Page(body="<p>a page</p>"))
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    session = build_session(settings)
    with Store(tmp_path / "store") as store:
        first = store.capture_live(PAGES[0], session, settings, ["a.md#L1"])
        store.capture_live(PAGES[1], session, settings, ["a.md#L2"])
        store.capture_live(PAGES[0], session, settings, ["b.md#L7"])  # reused
    manifest = manifest_of(store.root)
    assert len(manifest.files) == 1
    by_capture = {
        c.url: {r.citations for r in manifest.records if r.capture_record_id == c.record_id}
        for c in manifest.captures
    }
    assert by_capture == {PAGES[0]: {("a.md#L1", "b.md#L7")}, PAGES[1]: {("a.md#L2",)}}
    assert manifest.captures[0].record_id == first.record_id


def test_leftovers_of_a_kill_mid_write_are_cleared(origin: OriginServer, tmp_path: Path) -> None:
    origin.add(PAGES[0], Page(body="<p>a page</p>"))
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    with Store(tmp_path / "store") as store:
        capture = store.capture_live(PAGES[0], build_session(settings), settings)
    partial = store.root / "20260301120000-000000000000.warc.gz.open"
    partial.write_bytes(store.path_of(capture).read_bytes()[:100])  # killed mid-write
    (store.root / MANIFEST_TEMP_NAME).write_bytes(b'{"format": "archiver-st')  # mid-replace
    report = verify_store(store.root)
    assert report.ok
    assert [n.check for n in report.notes] == ["incomplete-file"]

    Store(store.root)
    assert sorted(p.name for p in store.root.iterdir()) == sorted(
        [MANIFEST_NAME, capture.warc_file]
    )
    assert verify_store(store.root).ok


def test_a_listed_open_file_whose_bytes_changed_is_kept_and_reported(
    origin: OriginServer, tmp_path: Path
) -> None:
    origin.add(PAGES[0], Page(body="<p>a page</p>"))
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    with Store(tmp_path / "store") as store:
        capture = store.capture_live(PAGES[0], build_session(settings), settings)
    pending = store.root / f"{capture.warc_file}.open"  # as a killed run leaves it ...
    data = bytearray(store.path_of(capture).read_bytes())
    data[-20] ^= 0xFF  # ... but with a committed byte changed since
    store.path_of(capture).unlink()
    pending.write_bytes(bytes(data))
    Store(store.root)  # does not throw the file away, nor take it for whole
    assert pending.read_bytes() == bytes(data)
    report = verify_store(store.root)
    assert "file-sha256" in [p.check for p in report.problems]


def test_an_open_file_still_being_written_is_left_alone(tmp_path: Path) -> None:
    import fcntl

    tmp_path.joinpath(MANIFEST_NAME).write_bytes(
        b'{"format": "archiver-store-manifest", '
        b'"version": 1, "files": [], "records": [], '
        b'"captures": []}'
    )
    busy = tmp_path / "20260301120000-00000000-000000000001.warc.gz.open"
    with busy.open("wb") as stream:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX)  # as a writer in another process holds it
        Store(tmp_path)
        assert busy.exists()
    Store(tmp_path)
    assert not busy.exists()


def test_a_second_store_in_one_process_writes_its_own_file(
    origin: OriginServer, tmp_path: Path
) -> None:
    for url in PAGES[:2]:
        origin.add(url, Page(body="<p>a page</p>"))
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    session = build_session(settings)
    first = Store(tmp_path / "store")
    first.capture_live(PAGES[0], session, settings)
    with Store(tmp_path / "store") as second:  # leaves the first one's file alone
        second.capture_live(PAGES[1], session, settings)
    first.capture_live(PAGES[1], session, settings, reuse=False)
    first.close()
    manifest = manifest_of(first.root)
    assert sorted(
        len([c for c in manifest.captures if c.warc_file == e.name]) for e in manifest.files
    ) == [1, 2]
    assert open_files(first.root) == []
    assert verify_store(first.root).ok


def test_run_takes_warc_size(
    origin: OriginServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(tmp_path / "cache"))
    urls = [f"http://a.example/report/{n}" for n in range(3)]
    for url in urls:
        origin.add(url, Page(body=f"<title>{url}</title><p>The figures.</p>"))
    collection = tmp_path / "collection.warc.gz"
    when = datetime(2019, 5, 2, tzinfo=UTC)
    write_fixture_warc(
        collection, [FixtureCapture(url, when, body=b"<p>Figures.</p>") for url in urls]
    )
    article = tmp_path / "article.md"
    article.write_text(" ".join(f"[r{n}]({url})" for n, url in enumerate(urls)) + " (2019-05-03)\n")
    resolve = [
        arg
        for host, address in origin.host_map().items()
        for arg in ("--resolve", f"{host}={address}")
    ]
    for size, files in (("1GB", 1), ("1", 6)):
        store = tmp_path / f"store-{size}"
        args = [
            str(article),
            "--store",
            str(store),
            "--archive",
            str(collection),
            "--warc-size",
            size,
        ]
        ran = CliRunner().invoke(cli, ["run", *args, *resolve, "--only-resolved"])
        assert ran.exit_code == 0, ran.output
        manifest = manifest_of(store)
        assert len(manifest.captures) == 6  # a memento and the live page of each
        assert sorted(p.name for p in store.glob("*.warc.gz*")) == sorted(
            e.name for e in manifest.files
        )
        assert len(manifest.files) == files
    bad = CliRunner().invoke(cli, ["run", str(article), "--warc-size", "0"])
    assert bad.exit_code == 2
    assert "'0' is not a size such as 1GB" in bad.output
