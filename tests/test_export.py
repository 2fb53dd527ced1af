"""``archiver export``: a WACZ that ``wacz validate`` accepts and pywb replays, a BagIt
bag that ``bagit.py --validate`` accepts and ``archiver verify`` reads, an index that is
``cdxj-indexer``'s. Each third-party tool runs for real, as an archivist runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from warcio.archiveiterator import ArchiveIterator

from archiver.export.cdxj import sorted_cdxj
from archiver.export.pages import source_captures
from archiver.storage.manifest import read_manifest
from tests.conftest import closed_port, require_shared
from tests.export_stores import (
    ALIVE,
    ALIVE_TEXT,
    GONE,
    GONE_TEXT,
    corpus_store,
    invoke,
    pipeline_store,
)

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A third-party command installed with the test extra; its absence fails the test."""
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed beside {sys.executable}: pip install -e '.[test]'")
    return str(path)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pipeline_store(tmp_path_factory.mktemp("pipeline"))


@pytest.fixture(scope="module")
def iana_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corpus_store(tmp_path_factory.mktemp("corpus"))


def export(*args: str) -> list[dict[str, object]]:
    result = invoke("export", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def stored_payload(store: Path, url: str, source: str) -> tuple[str, bytes]:
    """(14-digit datetime, payload) of the stored capture of ``url`` from ``source``."""
    manifest = read_manifest(store)
    assert manifest is not None
    [capture] = [c for c in manifest.captures if c.url == url and c.source == source]
    with (store / capture.warc_file).open("rb") as stream:
        stream.seek(capture.offset)
        record = next(iter(ArchiveIterator(stream)))
        payload = record.content_stream().read()
    stamp = "".join(ch for ch in capture.warc_date if ch.isdigit())[:14]
    return stamp, payload


# -- the index -------------------------------------------------------------------------


def cdxj_indexer(paths: list[Path]) -> str:
    ran = subprocess.run(
        [tool("cdxj-indexer"), "--sort", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return ran.stdout


@pytest.mark.parametrize("which", ["store", "iana_store"])
def test_the_index_is_what_cdxj_indexer_writes_for_a_store(
    which: str, request: pytest.FixtureRequest
) -> None:
    warcs = sorted(request.getfixturevalue(which).glob("*.warc.gz"))
    assert len(warcs) == 1  # every capture of a run appended to one file
    assert sorted_cdxj(warcs) == cdxj_indexer(warcs)


@pytest.mark.parametrize(
    "name", ["iana.warc.gz", "dupes.warc.gz", "example.warc.gz", "example-wpull.warc.gz"]
)
def test_the_index_is_what_cdxj_indexer_writes_for_other_tools_warcs(name: str) -> None:
    warc = require_shared("corpus", "warcs", name)
    assert sorted_cdxj([warc]) == cdxj_indexer([warc])


# -- WACZ ------------------------------------------------------------------------------


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    command = [tool("wacz"), "validate", "-f", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_wacz_of_a_run_passes_wacz_validate(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "sources.wacz"
    [written] = export("--wacz", str(out), str(store))
    assert written == {
        "kind": "wacz",
        "path": str(out),
        "store": str(store),
        "files": 4,  # the WARC file of the three captures, the manifest, the report twice
        "bytes": sum(p.stat().st_size for p in store.iterdir()),
        "pages": 2,  # one per cited source, though ALIVE has a memento and a live copy
        "left_out": [],
    }
    checked = wacz_validate(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Version detected as 1.1.1" in checked.stdout
    assert "Validation succeeded, the passed WACZ is valid" in checked.stdout
    assert invoke("verify", str(out)).exit_code == 0


def test_a_wacz_of_a_store_made_from_a_corpus_crawl_passes_wacz_validate(
    iana_store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "iana.wacz"
    assert export("--wacz", str(out), str(iana_store))[0]["pages"] == 2
    checked = wacz_validate(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Validation succeeded, the passed WACZ is valid" in checked.stdout
    with zipfile.ZipFile(out) as package:
        pages = package.read("pages/pages.jsonl").decode().splitlines()[1:]
    assert [(p["url"], p["ts"], p["title"]) for p in map(json.loads, pages)] == [
        ("http://www.iana.org/", "2014-01-26T20:06:24Z", "Internet Assigned Numbers Authority"),
        ("http://www.iana.org/domains", "2014-01-26T20:08:25Z", "IANA — Domain Name Services"),
    ]


def test_a_wacz_holds_the_warcs_their_index_the_pages_and_their_hashes(
    store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sources.wacz"
    export("--wacz", str(out), str(store))
    manifest = read_manifest(store)
    assert manifest is not None
    warcs = [store / entry.name for entry in manifest.files]  # in the order written
    assert sorted(warcs) == sorted(store.glob("*.warc.gz"))
    with zipfile.ZipFile(out) as package:
        names = package.namelist()
        assert names == [
            *(f"archive/{w.name}" for w in warcs),
            "indexes/index.cdx",
            "pages/pages.jsonl",
            "archiver/manifest.json",
            "archiver/run.json",  # the run's report.json
            "archiver/run.html",  # and report.html
            "datapackage.json",
            "datapackage-digest.json",
        ]
        for warc in warcs:  # stored as they are, readable by offset
            info = package.getinfo(f"archive/{warc.name}")
            assert info.compress_type == zipfile.ZIP_STORED
            assert package.read(info) == warc.read_bytes()
            # No data descriptor and no zip64 field in the local header: ReplayWeb.page
            # finds a member's bytes from its local header, and missed them by the size
            # of a zip64 field (every page "not found"; `wacz validate` did not mind).
            assert info.flag_bits & 0x08 == 0
            with out.open("rb") as raw:
                raw.seek(info.header_offset)
                header = raw.read(30)
            assert int.from_bytes(header[28:30], "little") == 0  # extra field length
        assert package.read("indexes/index.cdx").decode() == cdxj_indexer(warcs)
        header, *pages = package.read("pages/pages.jsonl").decode().splitlines()
        datapackage = json.loads(package.read("datapackage.json"))
        digest = json.loads(package.read("datapackage-digest.json"))
    assert json.loads(header) == {
        "format": "json-pages-1.0",
        "id": "pages",
        "title": "Cited sources",
    }
    # One page per cited source, at its memento's time: ALIVE's live copy is no page.
    assert sorted((p["url"], p["ts"], p["title"]) for p in map(json.loads, pages)) == [
        (ALIVE, "2019-03-01T09:00:00Z", "Harbour masts"),
        (GONE, "2018-11-02T09:00:00Z", "Tender 2018-044"),
    ]
    assert datapackage["wacz_version"] == "1.1.1"
    assert datapackage["profile"] == "data-package"
    assert (
        datapackage["title"]
        == f"Archived copies of the sources cited by {store.parent / 'article.md'}"
    )
    assert [r["path"] for r in datapackage["resources"]] == names[:-2]
    assert all(r["hash"].startswith("sha256:") for r in datapackage["resources"])
    assert digest["path"] == "datapackage.json"


def test_the_page_of_a_source_is_its_first_memento_else_its_first_live_copy(
    store: Path,
) -> None:
    manifest = read_manifest(store)
    assert manifest is not None
    [memento] = [c for c in manifest.captures if c.url == ALIVE and c.source == "memento"]
    [live] = [c for c in manifest.captures if c.url == ALIVE and c.source == "live"]
    later = replace(memento, record_id="<urn:uuid:later>", warc_date="2019-04-01T00:00:00Z")
    only_live = replace(live, url="http://news.example/only-live")
    chosen = source_captures([live, only_live, later, memento])
    assert chosen == [later, only_live]  # sources in the order first stored


def test_an_export_refuses_a_store_whose_bytes_changed(store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "store"
    copy.mkdir()
    for path in store.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    victim = sorted(copy.glob("*.warc.gz"))[0]
    data = bytearray(victim.read_bytes())
    data[-10] ^= 1
    victim.write_bytes(bytes(data))
    result = invoke(
        "export", "--wacz", str(tmp_path / "x.wacz"), "--bag", str(tmp_path / "bag"), str(copy)
    )
    assert result.exit_code == 1
    assert f"{victim.name} no longer has the sha256 and size the manifest lists" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # nothing half-written


@pytest.mark.parametrize("kind", ["--wacz", "--bag"])
def test_an_export_refuses_a_store_missing_a_file_in_one_line(
    kind: str, store: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "store"
    copy.mkdir()
    for path in store.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    victim = sorted(copy.glob("*.warc.gz"))[0]
    victim.unlink()
    result = invoke("export", kind, str(tmp_path / "out"), str(copy))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"archiver: error: {victim.name} is listed in the manifest but is not in {copy} "
        "(`archiver verify` names what is missing)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # nothing half-written


@pytest.fixture
def pywb_with(tmp_path: Path) -> Iterator[object]:
    """A function that adds a WACZ to a fresh pywb collection with ``wb-manager`` and
    serves it; the server is stopped after the test."""
    processes: list[subprocess.Popen[bytes]] = []

    def serve(wacz: Path) -> str:
        root = tmp_path / "pywb"
        root.mkdir()
        for step in (["init", "sources"], ["add", "--unpack-wacz", "sources", str(wacz)]):
            subprocess.run([tool("wb-manager"), *step], cwd=root, check=True, timeout=120)
        port = closed_port()
        log = (root / "pywb.log").open("wb")
        command = [
            sys.executable,
            "-m",
            "pywb.apps.cli",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        processes.append(subprocess.Popen(command, cwd=root, stdout=log, stderr=log))
        base = f"http://127.0.0.1:{port}/sources/"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "cdx?url=x", timeout=2).status_code == 200:
                    return base
            except requests.ConnectionError:
                time.sleep(0.1)
        pytest.fail(f"pywb did not start: {(root / 'pywb.log').read_text()[-2000:]}")

    yield serve
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("which", ["pipeline", "corpus"])
def test_pywb_replays_each_cited_page_of_a_wacz(
    which: str, request: pytest.FixtureRequest, pywb_with: object, tmp_path: Path
) -> None:
    root: Path = request.getfixturevalue("store" if which == "pipeline" else "iana_store")
    out = tmp_path / "sources.wacz"
    export("--wacz", str(out), str(root))
    base = pywb_with(out)  # type: ignore[operator]
    cited = [
        (ALIVE, "memento", ALIVE_TEXT),
        (ALIVE, "live", ALIVE_TEXT),
        (GONE, "memento", GONE_TEXT),
    ]
    if which == "corpus":
        cited = [
            ("http://www.iana.org/", "memento", "Internet Assigned Numbers Authority"),
            ("http://www.iana.org/domains", "memento", "Domain Name Services"),
        ]
    for url, source, text in cited:
        stamp, payload = stored_payload(root, url, source)
        answer = requests.get(f"{base}{stamp}id_/{url}", timeout=10)
        assert answer.status_code == 200, (url, source)
        assert answer.content == payload
        assert text in answer.text


# -- BagIt -----------------------------------------------------------------------------


def bagit_validate(bag: Path) -> subprocess.CompletedProcess[str]:
    command = [tool("bagit.py"), "--validate", str(bag)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("which", ["store", "iana_store"])
def test_a_bag_of_a_store_passes_bagit_validate_and_archiver_verify(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    root: Path = request.getfixturevalue(which)
    bag = tmp_path / "sources-bag"
    options = ["--organization", "City Library", "--contact-email", "archive@city.example"]
    [written] = export("--bag", str(bag), *options, "--identifier", "acc-2019-17", str(root))
    payload = sorted(p.name for p in root.iterdir())
    assert written == {
        "kind": "bag",
        "path": str(bag),
        "store": str(root),
        "files": len(payload),
        "bytes": sum(p.stat().st_size for p in root.iterdir()),
        "pages": 0,
        "left_out": [],
    }
    checked = bagit_validate(bag)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "bag is valid" in checked.stderr
    assert sorted(p.name for p in bag.iterdir()) == [
        "bag-info.txt",
        "bagit.txt",
        "data",
        "manifest-sha256.txt",
        "manifest-sha512.txt",
        "tagmanifest-sha256.txt",
        "tagmanifest-sha512.txt",
    ]
    assert sorted(p.name for p in (bag / "data").iterdir()) == payload
    assert (bag / "bagit.txt").read_text() == (
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    )
    article = root.parent / ("article.md" if which == "store" else "iana.md")
    info = dict(line.split(": ", 1) for line in (bag / "bag-info.txt").read_text().splitlines())
    assert info.pop("Bagging-Date") == time.strftime("%Y-%m-%d", time.gmtime())
    assert info == {
        "Source-Organization": "City Library",
        "Contact-Email": "archive@city.example",
        "External-Description": f"Archived copies of the sources cited by {article}",
        "External-Identifier": "acc-2019-17",
        "Payload-Oxum": f"{written['bytes']}.{len(payload)}",
        "Bag-Software-Agent": "archiver 0.1.0",
    }
    for algorithm in ("sha256", "sha512"):
        listed = (bag / f"manifest-{algorithm}.txt").read_text().splitlines()
        assert sorted(line.split("  ", 1)[1] for line in listed) == [f"data/{n}" for n in payload]
    verified = invoke("verify", str(bag))
    assert verified.exit_code == 0, verified.output
    warcs = len(list(root.glob("*.warc.gz")))
    assert verified.stdout.startswith(f"OK: {warcs} file(s)")


def test_a_changed_byte_in_a_bag_fails_bagit_and_archiver_verify(
    store: Path, tmp_path: Path
) -> None:
    bag = tmp_path / "bag"
    export("--bag", str(bag), "--description", "The harbour article's sources", str(store))
    assert (
        "External-Description: The harbour article's sources\n"
        in (bag / "bag-info.txt").read_text()
    )
    victim = sorted((bag / "data").glob("*.warc.gz"))[0]
    data = bytearray(victim.read_bytes())
    data[-10] ^= 1
    victim.write_bytes(bytes(data))
    checked = bagit_validate(bag)
    assert checked.returncode != 0
    assert f"data/{victim.name} sha256 validation failed" in checked.stderr
    verified = invoke("verify", str(bag))
    assert verified.exit_code == 3
    assert f"file-sha256: {victim.name}" in verified.stdout


def test_a_bag_goes_into_a_new_or_empty_folder_only(store: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export("--bag", str(empty), str(store))[0]["path"] == str(empty)
    assert bagit_validate(empty).returncode == 0
    again = invoke("export", "--bag", str(empty), str(store))
    assert again.exit_code == 1
    assert again.stderr == (
        f"archiver: error: {empty} already exists: a bag is written into a new or empty folder\n"
    )
    inside = invoke("export", "--bag", str(store / "bag"), str(store))
    assert inside.exit_code == 1
    assert "is inside the store: write the bag elsewhere" in inside.stderr
    assert not (store / "bag").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]  # no partial folder left


def test_an_export_says_what_it_wrote_and_what_of_the_folder_it_left_out(
    store: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "store"
    copy.mkdir()
    for path in store.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    # what an older archiver left in a store: its state file and lock, no longer the store's
    (copy / "state.sqlite").write_bytes(b"SQLite format 3\0")
    (copy / ".lock").write_bytes(b"")
    wacz, bag = tmp_path / "out.wacz", tmp_path / "bag"
    result = invoke("export", "--wacz", str(wacz), "--bag", str(bag), str(copy))
    assert result.exit_code == 0, result.output
    size = sum(p.stat().st_size for p in store.iterdir())
    assert result.stdout.splitlines() == [
        f"wacz: {wacz}: 4 file(s), {size:,} bytes, 2 page(s) from {copy}",
        "  left out (not the store's): .lock, state.sqlite",
        f"bag: {bag}: 4 file(s), {size:,} bytes from {copy}",
        "  left out (not the store's): .lock, state.sqlite",
    ]
    assert sorted(p.name for p in (bag / "data").iterdir()) == sorted(
        p.name for p in store.iterdir()
    )
    assert bagit_validate(bag).returncode == 0


def test_export_needs_a_store_and_something_to_write(tmp_path: Path) -> None:
    nothing = invoke("export", str(tmp_path))
    assert nothing.exit_code == 2
    assert "say what to write: --wacz OUT.wacz, --bag DIR, or both" in nothing.stderr
    missing = invoke("export", "--wacz", str(tmp_path / "x.wacz"), str(tmp_path / "none"))
    assert missing.exit_code == 1
    assert missing.stderr == f"archiver: error: no such store: {tmp_path / 'none'}\n"
    empty = invoke("export", "--wacz", str(tmp_path / "x.wacz"), str(tmp_path))
    assert empty.exit_code == 1
    assert f"{tmp_path} has no manifest.json: not a store archiver wrote" in empty.stderr
    assert [p.name for p in tmp_path.iterdir()] == []


def test_a_file_a_killed_run_left_named_open_is_exported_under_its_name(
    store: Path, tmp_path: Path
) -> None:
    # Killed while appending a capture to a file the manifest lists (with the captures
    # committed before): the next writer cuts what was written half and renames the file;
    # an export, which writes nothing to the store, carries its committed bytes as listed.
    copy = tmp_path / "store"
    copy.mkdir()
    for path in store.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    pending = sorted(copy.glob("*.warc.gz"))[0]
    pending.rename(copy / f"{pending.name}.open")
    with (copy / f"{pending.name}.open").open("ab") as tail:
        tail.write((store / pending.name).read_bytes()[:300])  # a record written half
    wacz, bag = tmp_path / "out.wacz", tmp_path / "bag"
    result = invoke("export", "--wacz", str(wacz), "--bag", str(bag), str(copy))
    assert result.exit_code == 0, result.output
    assert "left out" not in result.stdout
    with zipfile.ZipFile(wacz) as package:
        assert package.read(f"archive/{pending.name}") == (store / pending.name).read_bytes()
        index = package.read("indexes/index.cdx").decode()
    assert index == cdxj_indexer([store / pending.name])  # its records, under its name
    assert (bag / "data" / pending.name).read_bytes() == (store / pending.name).read_bytes()
    assert bagit_validate(bag).returncode == 0
    assert (copy / f"{pending.name}.open").exists()  # the store is left as it was


def test_what_warcio_finds_odd_is_a_warning_naming_the_file_not_stray_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A record whose Content-Length is one short: warcio prints its own warning to
    stderr and goes on; indexing turns it into one logged warning that names the file."""
    from archiver.export.cdxj import cdxj_lines

    body = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>hi</p>"
    head = (
        b"WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-"
        b"000000000001>\r\nWARC-Date: 2019-03-01T09:00:00Z\r\nWARC-Target-URI: http://a.example/"
        b"\r\nContent-Type: application/http; msgtype=response\r\n"
    )
    odd = tmp_path / "odd.warc"
    odd.write_bytes(head + b"Content-Length: %d\r\n\r\n" % (len(body) - 1) + body + b"\r\n\r\n")
    with caplog.at_level("WARNING"):
        lines = cdxj_lines(odd)
    assert len(lines) == 1 and '"url": "http://a.example/"' in lines[0]
    assert capsys.readouterr().err == ""
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith("odd.warc: WARNING: Record not followed by newline")
