"""collection damage: a damaged file costs its own captures, never the collection's.

A folder collection with one damaged WARC (a record whose Content-Length is absurd, a
gzip member cut short) still answers from its other files, with one warning naming the
damaged one; given alone, the damaged file is a one-line error. A few MB of gzip that
inflate to gigabytes (a "gzip bomb": a record body, a header line or the gap between two
records that never ends) are read in bounded memory: each is indexed, and verified, in a
child process whose peak resident memory is measured.
"""

from __future__ import annotations

import gzip
import json
import random
import struct
import subprocess
import sys
import zlib
from datetime import datetime
from hashlib import md5
from pathlib import Path

import pytest

from archiver.archives.local import LocalCollection
from archiver.demo.simweb.wayback import FixtureCapture, write_fixture_warc
from archiver.errors import InputError

GOOD = "http://news.example/good"
FIRST = "http://news.example/first"
BOMB = "http://news.example/bomb"
URLS = (GOOD, FIRST, BOMB)
JSON = ("--format", "json")
DATE = ("--date", "2018-01-01")
HTTP_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
MIB = 1 << 20
INFLATED = 2 << 30  # what each bomb inflates to: 2 GiB, from about 2 MB on disk
PEAK_LIMIT_MIB = 200  # generous: these take 80 to 110 MiB in all, the interpreter included


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own index cache (never ~/.cache)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(path))
    return path


def warc_head(url: str, length: int | str) -> bytes:
    """The WARC header block of a response record whose block is ``length`` bytes."""
    return (
        "WARC/1.1\r\nWARC-Type: response\r\n"
        f"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-{md5(url.encode()).hexdigest()[:12]}>"
        "\r\n"
        f"WARC-Target-URI: {url}\r\nWARC-Date: 2018-01-01T00:00:00Z\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def record(url: str, body: bytes = b"hello") -> bytes:
    return warc_head(url, len(HTTP_HEAD) + len(body)) + HTTP_HEAD + body + b"\r\n\r\n"


# -- a damaged file in a folder ------------------------------------------------------------


LAST = "http://news.example/last"
LAST_BODY = random.Random(0).randbytes(3000)  # incompressible, so that cutting it bites


def damaged_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "collection"
    write_fixture_warc(folder / "good.warc.gz", [FixtureCapture(GOOD, datetime(2018, 1, 1))])
    block = HTTP_HEAD + b"hello"
    absurd = warc_head(BOMB, 10**15) + block + b"\r\n\r\n"  # declares a petabyte
    (folder / "absurd.warc.gz").write_bytes(gzip.compress(absurd, mtime=0))
    (folder / "cut.warc.gz").write_bytes(gzip.compress(record(FIRST), mtime=0) + cut_member())
    return folder


def cut_member() -> bytes:
    """The gzip member of a record, cut in the middle."""
    member = gzip.compress(record(LAST, LAST_BODY), mtime=0)
    return member[: len(member) // 2]


def archiver(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``archiver ARGS`` in a new process, in ``home`` (where its state file goes): what a
    user sees, warnings on stderr included."""
    program = "import sys\nfrom archiver.cli.main import main\nmain(sys.argv[1:])"
    return subprocess.run(
        [sys.executable, "-c", program, *args],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_damaged_file_is_skipped_with_a_warning_and_the_others_answer(tmp_path: Path) -> None:
    folder = damaged_folder(tmp_path)
    absurd, cut = folder / "absurd.warc.gz", folder / "cut.warc.gz"
    first_length = len(gzip.compress(record(FIRST), mtime=0))
    inflated = zlib.decompressobj(31).decompress(cut_member())  # what is left of the record
    block_read = len(inflated) - len(warc_head(LAST, len(HTTP_HEAD) + 3000))
    for url in (GOOD, FIRST):  # the second run takes the indexes from the cache
        result = archiver(tmp_path, "find", url, "--archive", str(folder), *DATE, *JSON)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["memento"]["original"] == url
        assert result.stderr.splitlines() == [
            f"archiver: warning: {absurd}: skipped: cannot read it: the record at offset 0 "
            "ends after 53 of its 1000000000000000 bytes",
            f"archiver: warning: {cut}: indexed 1 captures, then stopped: the record at offset "
            f"{first_length} ends after {block_read} of its {len(HTTP_HEAD) + 3000} bytes",
        ]

    with pytest.raises(InputError) as raised:
        LocalCollection(absurd, spec="absurd.warc.gz").find(BOMB, None)
    assert str(raised.value) == (
        "archive 'absurd.warc.gz': cannot read it: the record at offset 0 ends after 53 of "
        "its 1000000000000000 bytes"
    )
    result = archiver(tmp_path, "find", BOMB, "--archive", str(absurd))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"archiver: error: archive '{absurd}': cannot read it: the record at offset 0 ends "
        "after 53 of its 1000000000000000 bytes\n"
    )


# -- gzip bombs ----------------------------------------------------------------------------


def zeros_member(prefix: bytes, zeros: int, suffix: bytes = b"") -> bytes:
    """One gzip member holding ``prefix``, ``zeros`` NUL bytes and ``suffix``, made in about
    a second however many gigabytes: after a full flush, deflate turns each MiB of NULs
    into the same bytes, so they are made once and repeated."""
    assert zeros % MIB == 0
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [deflate.compress(prefix) + deflate.flush(zlib.Z_FULL_FLUSH)]
    nothing = bytes(MIB)
    repeated = deflate.compress(nothing) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(zeros // MIB):
        crc = zlib.crc32(nothing, crc)
    parts.append(repeated * (zeros // MIB))
    parts.append(deflate.compress(suffix) + deflate.flush())
    crc = zlib.crc32(suffix, crc)
    size = (len(prefix) + zeros + len(suffix)) & 0xFFFFFFFF
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + b"".join(parts) + struct.pack("<II", crc, size)


def test_the_bomb_maker_makes_what_it_says() -> None:
    member = zeros_member(b"head", 3 * MIB, b"tail")
    assert len(member) < 10_000
    assert gzip.decompress(member) == b"head" + bytes(3 * MIB) + b"tail"


def bomb(shape: str) -> bytes:
    """A WARC.gz of about 2 MB: one good record, then ``shape`` inflating to 2 GiB."""
    if shape == "record body":  # a real record, with a 2 GiB body: indexed
        head = warc_head(BOMB, len(HTTP_HEAD) + INFLATED) + HTTP_HEAD
        tail = zeros_member(head, INFLATED, b"\r\n\r\n")
    elif shape == "HTTP head":  # a header value that never ends
        start = b"HTTP/1.1 200 OK\r\nX-Bomb: "
        tail = zeros_member(warc_head(BOMB, len(start) + INFLATED) + start, INFLATED)
    elif shape == "WARC headers":
        tail = zeros_member(b"WARC/1.1\r\nX-Bomb: ", INFLATED)
    else:  # "after a record": where blank lines are due, no end of line at all
        tail = zeros_member(record(BOMB), INFLATED)
    return gzip.compress(record(FIRST), mtime=0) + tail


PROBE = """
import json, resource, sys
from pathlib import Path

limit = 2 << 30  # a failure is a MemoryError here, not a machine out of memory
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from archiver.archives.local import LocalCollection
from archiver.storage.verify import verify_warc

folder, cache, bomb, verify = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
collection = LocalCollection(folder, cache_dir=cache)
found = {
    url: [(m.original, m.http_status) for m in collection.find(url, None)]
    for url in sys.argv[5:]
}
problems = [p.message for p in verify_warc(folder / bomb).problems] if verify == "yes" else []
print(json.dumps({
    "found": found,
    "index_problems": list(collection.problems),
    "verify_problems": problems,
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""

SHAPES = {
    # shape: (what verify says, what the index says)
    "record body": ([], None),
    "HTTP head": (
        [
            "bomb.warc.gz: cannot read past offset {offset}: HeadTooLong: the HTTP head of the "
            "record at offset {offset} runs past 1 MiB without ending (a damaged record, or a "
            "decompression bomb)"
        ],
        "{path}: indexed 1 captures, then stopped: the HTTP head of the record at offset "
        "{offset} runs past 1 MiB without ending (a damaged record, or a decompression bomb)",
    ),
    "WARC headers": (
        [
            "bomb.warc.gz: cannot read past offset {offset}: HeadTooLong: more than 1 MiB of "
            "WARC headers, or of lines between two records (a damaged file, or a decompression "
            "bomb)"
        ],
        "{path}: indexed 1 captures, then stopped: more than 1 MiB of WARC headers, or of "
        "lines between two records (a damaged file, or a decompression bomb)",
    ),
    "after a record": (
        [
            "bomb.warc.gz: cannot read past offset {offset}: HeadTooLong: more than 1 MiB of "
            "WARC headers, or of lines between two records (a damaged file, or a decompression "
            "bomb)"
        ],
        "{path}: indexed 1 captures, then stopped: more than 1 MiB of WARC headers, or of "
        "lines between two records (a damaged file, or a decompression bomb)",
    ),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_gzip_bomb_is_read_in_bounded_memory(tmp_path: Path, shape: str) -> None:
    folder = tmp_path / "collection"
    write_fixture_warc(folder / "good.warc.gz", [FixtureCapture(GOOD, datetime(2018, 1, 1))])
    path = folder / "bomb.warc.gz"
    path.write_bytes(bomb(shape))
    assert path.stat().st_size < 5 * MIB
    verify = "no" if shape == "record body" else "yes"  # hashing 2 GiB twice takes long
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            str(folder),
            str(tmp_path / "cache"),
            path.name,
            verify,
            *URLS,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    offset = len(gzip.compress(record(FIRST), mtime=0))
    verify_problems, index_problem = SHAPES[shape]
    assert result["found"] == {
        GOOD: [[GOOD, 200]],
        FIRST: [[FIRST, 200]],
        BOMB: [[BOMB, 200]] if shape == "record body" else [],
    }
    expected = [] if index_problem is None else [index_problem.format(path=path, offset=offset)]
    assert result["index_problems"] == expected
    assert result["verify_problems"] == [p.format(offset=offset) for p in verify_problems]
    assert result["peak_mib"] < PEAK_LIMIT_MIB
