"""collection keys: a local collection matches URLs as pywb does, whatever is installed.

URL keys come from the ``surt`` package, a dependency of archiver itself. They used to
come from it only when pywb (the test extra) had brought it along, and from a hand-written
fallback otherwise, so a plain install answered ``find`` differently from a development one.
The last test here installs archiver plainly in a new virtual environment to prove it
does not any more.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from shutil import ignore_patterns

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver.archives.local import LocalCollection, url_key
from archiver.archives.local.cache import IndexCache
from archiver.archives.local.index import build_index, file_stamp
from archiver.archives.local.keys import canonicaliser_name
from archiver.dates import to_iso
from archiver.models import Memento
from tests.conftest import require_shared

ROOT = Path(__file__).resolve().parents[1]
IANA_DB = "http://www.iana.org/domains/root/db/"
JSON = ("--format", "json")

# URLs whose keys a canonicaliser can get wrong: case, www, ports, query order, session
# ids, userinfo, IDNA, IP addresses, escapes, trailing slashes, fragments.
ODD_URLS = [
    "http://www.Example.com/",
    "https://example.com:443/A/b?z=1&a=2#part",
    "http://example.com:8080/x",
    "http://www2.news.example.org/report",
    "http://iana.org",
    IANA_DB,
    "http://www.iana.org/domains/root/db",
    "http://EXAMPLE.com/%7Efoo?b=1&a=2",
    "http://example.com/x;jsessionid=ABCDEF0123456789ABCDEF0123456789",
    "http://example.com/?sid=0123456789abcdef0123456789abcdef&q=1",
    "http://faß.example/",
    "http://user:pw@www.example.com:80/",
    "http://1.2.3.4/",
    "http://[::1]:8080/x",
    "http://example.com/a%20b",
    "https://example.com/?",
    "http://example.com/index.html?",
]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own index cache (never ~/.cache)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(path))
    return path


def test_surt_is_a_dependency_of_archiver_itself() -> None:
    requirements = importlib.metadata.requires("archiver") or []
    assert [r for r in requirements if r.startswith("surt")] == ["surt>=0.3.1"]  # no extra


def test_a_trailing_slash_is_one_key_with_the_page_it_redirects_to() -> None:
    assert url_key(IANA_DB) == "org,iana)/domains/root/db"
    assert url_key(IANA_DB.rstrip("/")) == "org,iana)/domains/root/db"
    assert url_key("http://example.com:99999/x") == "http://example.com:99999/x"  # as written
    assert canonicaliser_name() == f"surt/{importlib.metadata.version('surt')}"


def test_the_iana_crawl_answers_for_a_url_with_its_slash() -> None:
    path = require_shared("corpus", "warcs", "iana.warc.gz")
    found = LocalCollection(path).find(IANA_DB, datetime(2014, 1, 27, tzinfo=UTC))
    locator = f"{path.absolute().as_uri()}#offset="
    assert found == [
        Memento(
            original=IANA_DB,
            datetime="2014-01-26T20:09:27Z",
            archive=str(path),
            url=f"{locator}671278",
            raw_url=f"{locator}671278",
            http_status=302,
            mimetype="text/html",
            digest="3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ",  # an empty payload
        ),
        Memento(
            original=IANA_DB.rstrip("/"),
            datetime="2014-01-26T20:09:28Z",
            archive=str(path),
            url=f"{locator}672225",
            raw_url=f"{locator}672225",
            http_status=200,
            mimetype="text/html",
            digest="DHXA725IW5VJJFRTWBQT6BEZKRE7H57S",
        ),
    ]


# -- the same keys as pywb's indexer -------------------------------------------------------


def pywb_urlkeys(path: Path) -> dict[int, str]:
    """offset -> urlkey, as pywb's own CDXJ indexer writes them for ``path``."""
    from pywb.indexer.cdxindexer import write_cdx_index

    out = io.BytesIO()
    with path.open("rb") as stream:
        write_cdx_index(out, stream, path.name, cdxj=True)
    keys = {}
    for line in out.getvalue().decode().splitlines():
        if line.startswith(" CDX") or not line.strip():
            continue
        urlkey, _, fields = line.split(" ", 2)
        keys[int(json.loads(fields)["offset"])] = urlkey
    return keys


def our_urlkeys(path: Path) -> dict[int, str]:
    index = build_index(path, file_stamp(path))
    assert index.error is None
    return {entry.offset: entry.urlkey for entry in index.entries}


def test_url_keys_are_the_ones_pywb_indexes(tmp_path: Path) -> None:
    path = tmp_path / "odd.warc.gz"
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for url in ODD_URLS:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/plain")], "HTTP/1.1")
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(url.encode()),
                http_headers=http,
                warc_headers_dict={"WARC-Date": to_iso(datetime(2020, 1, 1, tzinfo=UTC))},
            )
            writer.write_record(record)
    ours, pywb = our_urlkeys(path), pywb_urlkeys(path)
    assert len(ours) == len(ODD_URLS)
    assert ours == {offset: pywb[offset] for offset in ours}
    assert sorted(set(ours.values()))[:3] == ["4,3,2,1)/", "::1:8080)/x", "com,example)/"]


@pytest.mark.parametrize(
    "name",
    ["iana.warc.gz", "dupes.warc.gz", "example.warc.gz", "example-wget-1-14.warc.gz"],
)
def test_url_keys_of_files_from_other_tools_are_pywbs(name: str) -> None:
    path = require_shared("corpus", "warcs", name)
    ours, pywb = our_urlkeys(path), pywb_urlkeys(path)
    assert ours and ours == {offset: pywb[offset] for offset in ours}


# -- the index cache -----------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [("urlkeys", "archiver-fallback/1"), ("version", 1)])
def test_an_index_cached_by_another_canonicaliser_is_rebuilt(
    tmp_path: Path, cache_dir: Path, field: str, value: object
) -> None:
    path = require_shared("corpus", "warcs", "example.warc.gz")
    first = LocalCollection(path, cache_dir=cache_dir)
    assert first.find("http://example.com?example=1", None) and first.index_builds == 1
    cached = IndexCache(cache_dir).path_for(path.absolute())
    head, _, rest = cached.read_text().partition("\n")
    header = json.loads(head.split(" ", 1)[1])
    assert header["urlkeys"] == canonicaliser_name() and header["version"] == 2
    cached.write_text(f"!archiver-cdxj {json.dumps({**header, field: value})}\n{rest}")
    again = LocalCollection(path, cache_dir=cache_dir)
    assert again.find("http://example.com?example=1", None)
    assert (again.index_builds, again.index_loads) == (1, 0)


# -- a plain install -----------------------------------------------------------------------


def find_json(archiver: Path, home: Path) -> dict[str, object]:
    """``archiver find --format json`` run in ``home`` (its state file) with its own cache."""
    path = require_shared("corpus", "warcs", "iana.warc.gz")
    home.mkdir()
    done = subprocess.run(
        [str(archiver), "find", IANA_DB, "--archive", str(path), "--date", "2014-01-27", *JSON],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=home,
        env={**os.environ, "ARCHIVER_CACHE_DIR": str(home / "cache")},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def dependencies(name: str) -> set[str]:
    """``name`` and every distribution it requires, transitively, without any extra: what
    ``pip install`` of it brings."""
    found: set[str] = set()
    waiting = [name]
    while waiting:
        current = canonicalize_name(waiting.pop())
        if current in found:
            continue
        found.add(current)
        for text in metadata.distribution(current).requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                waiting.append(requirement.name)
    return found


def installed_by(names: set[str]) -> set[str]:
    """The top-level entries of site-packages that the distributions ``names`` installed."""
    tops: set[str] = set()
    for name in names:
        for file in metadata.distribution(name).files or []:
            top = file.parts[0]
            if top != ".." and not top.endswith(".pth") and top != "__pycache__":
                tops.add(top)
    return tops


@pytest.mark.slow
def test_a_plain_install_finds_what_the_development_install_finds(tmp_path: Path) -> None:
    """SLOW (a few seconds): archiver in a new virtual environment that holds exactly what
    ``pip install archiver`` (no extra) brings: its declared dependencies, transitively,
    and not pywb. Built offline: those packages are linked from this environment, and
    archiver comes from a copy of the source."""
    require_shared("corpus", "warcs", "iana.warc.gz")
    source = tmp_path / "source"  # a copy, so that nothing is left in the checkout
    shutil.copytree(ROOT / "archiver", source / "archiver", ignore=ignore_patterns("__pycache__"))
    environment = tmp_path / "plain"
    venv.create(environment, with_pip=False)
    ours = Path(sysconfig.get_paths()["purelib"])
    (theirs,) = environment.glob("lib/python*/site-packages")
    for top in sorted(installed_by(dependencies("archiver") - {"archiver"})):
        (theirs / top).symlink_to(ours / top)
    (theirs / "archiver-source.pth").write_text(f"{source}\n")
    python = environment / "bin" / "python"
    script = environment / "bin" / "archiver"
    script.write_text(f"#!{python}\nfrom archiver.cli.main import main\nmain()\n")
    script.chmod(0o755)
    present = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('pywb') is None)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert present.stdout.strip() == "True"  # a plain install: no pywb

    plain = find_json(environment / "bin" / "archiver", tmp_path / "plain-run")
    development = find_json(Path(sys.executable).parent / "archiver", tmp_path / "dev-run")
    assert plain == development
    memento = development["memento"]
    assert isinstance(memento, dict)
    assert (memento["original"], memento["datetime"], memento["http_status"]) == (
        "http://www.iana.org/domains/root/db",
        "2014-01-26T20:09:28Z",
        200,
    )
