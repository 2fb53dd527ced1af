"""Plain verify hashes in helper processes (``digests.Sha256Helper``): the answers must be
exactly what hashing here gives, errors included, whatever the file is called."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.net.http import build_session
from archiver.storage.digests import Sha256Helper, file_sha256
from archiver.storage.hashing import serve_sha256
from archiver.storage.store import Store
from archiver.storage.verify import verify_store


@pytest.fixture
def helper() -> Iterator[Sha256Helper]:
    started = Sha256Helper()
    yield started
    started.close()


def test_the_helper_hashes_what_file_sha256_hashes(helper: Sha256Helper, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one read
    path = tmp_path / "a file with spaces\nand a newline.warc.gz"
    path.write_bytes(data)
    whole = (hashlib.sha256(data).hexdigest(), len(data))
    assert helper.sha256(path) == whole == file_sha256(path)
    assert helper.sha256(path, 1000) == (hashlib.sha256(data[:1000]).hexdigest(), 1000)
    assert helper.sha256(path, len(data) + 5) == whole  # shorter than asked: what is there
    (tmp_path / "empty.warc").write_bytes(b"")
    assert helper.sha256(tmp_path / "empty.warc", 10) == (hashlib.sha256().hexdigest(), 0)


def test_a_name_that_is_not_utf8_reaches_the_helper_intact(
    helper: Sha256Helper, tmp_path: Path
) -> None:
    path = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.warc"))
    try:
        path.write_bytes(b"bytes")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system takes only UTF-8 names")
    assert helper.sha256(path) == (hashlib.sha256(b"bytes").hexdigest(), 5)


def test_the_helper_raises_the_error_reading_would_raise(
    helper: Sha256Helper, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError) as missing:
        helper.sha256(tmp_path / "gone.warc")
    assert missing.value.strerror == os.strerror(2)
    with pytest.raises(IsADirectoryError):
        helper.sha256(tmp_path)
    (tmp_path / "x.warc").write_bytes(b"still answering")
    assert helper.sha256(tmp_path / "x.warc")[1] == 15  # an error does not stop it


def test_a_helper_that_stopped_is_replaced_by_hashing_here(
    helper: Sha256Helper, tmp_path: Path
) -> None:
    path = tmp_path / "x.warc"
    path.write_bytes(b"record")
    process = helper._process
    assert process is not None
    process.kill()
    process.wait()
    assert helper.sha256(path) == (hashlib.sha256(b"record").hexdigest(), 6)
    assert helper._process is None  # not asked again


def test_serve_answers_one_line_per_question(tmp_path: Path) -> None:
    path = tmp_path / "x.warc"
    path.write_bytes(b"abcdef")
    questions = b"%s 3\n%s -1\n" % (
        os.fsencode(path).hex().encode(),
        os.fsencode(tmp_path / "nothing").hex().encode(),
    )
    answers = io.BytesIO()
    serve_sha256(io.BytesIO(questions), answers)
    first, second = answers.getvalue().splitlines()
    assert first == b"ok %s 3" % hashlib.sha256(b"abc").hexdigest().encode()
    kind, errno, message = second.split()
    assert (kind, int(errno)) == (b"error", 2)
    assert bytes.fromhex(message.decode()).decode() == os.strerror(2)


def test_plain_verify_names_a_damaged_file_through_the_helpers(
    origin: OriginServer, tmp_path: Path
) -> None:
    """Each helper's answer lands on its own file, and a damaged byte is found."""
    urls = [f"http://news.example/{n}" for n in range(3)]
    for n, url in enumerate(urls):
        origin.add(url, Page(body=f"<p>story {n}</p>" * (200 + n)))
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    session = build_session(settings)
    store = Store(tmp_path / "store", warc_size=1)  # a file for each capture
    for url in urls:
        store.capture_live(url, session, settings, [url])
    store.close()
    root = store.root
    files = sorted(root.glob("*.warc.gz"))
    assert len(files) == 3
    assert verify_store(root, deep=False, workers=3).ok
    damaged = files[-1]
    data = bytearray(damaged.read_bytes())
    data[-5] ^= 0xFF
    damaged.write_bytes(bytes(data))
    report = verify_store(root, deep=False, workers=3)
    assert [(p.file, p.check) for p in report.problems] == [(damaged.name, "file-sha256")]
    assert report.files_checked == len(files)
    assert report.bytes_checked == sum(path.stat().st_size for path in files)


def test_plain_verify_starts_without_what_only_deep_verify_reads(
    origin: OriginServer, tmp_path: Path
) -> None:
    """Start-up is part of verify's time (issue 13): record readers are not imported."""
    url = "http://news.example/story"
    origin.add(url, Page(body="<p>A story.</p>"))
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    root = tmp_path / "store"
    with Store(root) as store:
        store.capture_live(url, build_session(settings), settings, [url])
    heavy = ("warcio", "zipfile", "archiver.storage.warccheck", "archiver.storage.waczcheck")
    program = (
        "import sys\n"
        "from archiver.cli.main import main\n"
        "try:\n"
        f"    main(['verify', '--no-log', {str(root)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('loaded:' + ','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.startswith("OK: 1 file(s)")
    assert done.stdout.strip().splitlines()[-1] == "loaded:"


def test_the_helper_started_early_is_the_one_that_hashes(
    origin: OriginServer, tmp_path: Path
) -> None:
    """``archiver verify`` starts a helper before it reads the manifest: a plain check
    takes it (and stops it when done), a deep check, which hashes no file apart, does not."""
    from click.testing import CliRunner

    from archiver.cli.main import cli
    from archiver.storage import digests

    url = "http://news.example/story"
    origin.add(url, Page(body="<p>A story.</p>"))
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    with Store(tmp_path / "store") as store:
        store.capture_live(url, build_session(settings), settings, [url])
    result = CliRunner().invoke(cli, ["verify", "--no-log", str(store.root)])
    assert result.exit_code == 0, result.output
    assert digests._EARLY == []
    digests.start_helper_early()
    early = digests._EARLY[0]
    assert verify_store(store.root, deep=True).ok
    assert digests._EARLY[:] == [early]  # still waiting
    assert early._process is not None
    assert verify_store(store.root, deep=False).ok
    assert digests._EARLY == [] and early._process is None  # taken, then stopped


def test_a_file_asked_ahead_answers_only_for_the_bytes_asked(
    helper: Sha256Helper, tmp_path: Path
) -> None:
    data = os.urandom(2 * 1024 * 1024 + 3)
    first, second = tmp_path / "a.warc.gz", tmp_path / "b.warc.gz"
    first.write_bytes(data)
    second.write_bytes(data[:1000])
    helper.ask_ahead(first)
    assert helper.sha256(first, len(data)) == (hashlib.sha256(data).hexdigest(), len(data))
    helper.ask_ahead(first)  # the file was longer than asked for: hashed again, up to there
    assert helper.sha256(first, 500) == (hashlib.sha256(data[:500]).hexdigest(), 500)
    helper.ask_ahead(first)  # another file asked first: the guess is dropped
    assert helper.sha256(second, 1000) == (hashlib.sha256(data[:1000]).hexdigest(), 1000)
    assert helper.sha256(first, 10) == (hashlib.sha256(data[:10]).hexdigest(), 10)
    helper.ask_ahead(tmp_path / "gone.warc.gz")
    with pytest.raises(FileNotFoundError):
        helper.sha256(tmp_path / "gone.warc.gz", 10)


def test_a_wrong_guess_at_the_first_file_changes_no_result(
    origin: OriginServer, tmp_path: Path
) -> None:
    """``archiver verify`` hashes the largest WARC in the folder ahead: here one the
    manifest does not list, which must still be named, the listed one still checked."""
    from click.testing import CliRunner

    from archiver.cli.main import cli

    url = "http://news.example/story"
    origin.add(url, Page(body="<p>A story.</p>"))
    settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
    with Store(tmp_path / "store") as store:
        store.capture_live(url, build_session(settings), settings, [url])
    stray = store.root / "stray.warc.gz"
    stray.write_bytes(os.urandom(4 * 1024 * 1024))
    result = CliRunner().invoke(cli, ["verify", "--no-log", "--format", "json", str(store.root)])
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert [(p["file"], p["check"]) for p in report["problems"]] == [
        ("stray.warc.gz", "unknown-file")
    ]
    assert report["files_checked"] == 1
