"""JSON nested too deep to read is refused in one line, wherever archiver reads JSON.

Python's parser raised ``RecursionError`` past about a thousand levels; each reader here
turned that into an internal error (issue 12).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from archiver.archives.local.cache import IndexCache
from archiver.archives.local.index import FileIndex
from archiver.errors import StoreError
from archiver.extract import extract_citations
from archiver.jsontext import JSONTooDeep, nesting_depth, parse_json
from archiver.storage.manifest import MANIFEST_NAME, read_manifest
from archiver.storage.verify import verify_warc

DEEP = "[" * 100_000 + "]" * 100_000


def test_json_nested_too_deep_is_a_one_line_value_error() -> None:
    with pytest.raises(JSONTooDeep) as refused:
        parse_json(DEEP)
    assert isinstance(refused.value, ValueError)
    assert str(refused.value) == "JSON nested 100,000 levels deep, too deep to read"
    with pytest.raises(JSONTooDeep, match=r"^JSON nested 50,000 levels deep"):
        parse_json(('{"a": ' * 50_000 + "1" + "}" * 50_000).encode())


def test_json_of_ordinary_depth_is_read_as_json_reads_it() -> None:
    text = '{"a": [1, {"b": "[[[{{"}], "c": null}'
    assert parse_json(text) == json.loads(text)
    assert parse_json(text.encode()) == json.loads(text)
    assert parse_json("[" * 200 + "]" * 200) == json.loads("[" * 200 + "]" * 200)
    with pytest.raises(ValueError) as malformed:
        parse_json('{"a": ')
    assert not isinstance(malformed.value, JSONTooDeep)


def test_nesting_depth_skips_brackets_inside_strings() -> None:
    assert nesting_depth('[{"a": "[[[[\\"[["}, [[]]]') == 3
    assert nesting_depth("[" * 7) == 7  # unclosed: as deep as it got
    assert nesting_depth('"]]]"') == 0


def test_a_manifest_nested_too_deep_is_a_one_line_store_error(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text(DEEP)
    with pytest.raises(StoreError) as refused:
        read_manifest(tmp_path)
    assert str(refused.value) == (
        f"{tmp_path / MANIFEST_NAME} is corrupt: JSON nested 100,000 levels deep, too deep to read"
    )


def test_a_wacz_whose_datapackage_nests_too_deep_is_a_problem_not_a_crash(
    tmp_path: Path,
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("datapackage.json", '{"resources": ' + DEEP + "}")
    path = tmp_path / "deep.wacz"
    path.write_bytes(buffer.getvalue())
    report = verify_warc(path)
    assert [(p.file, p.check, p.message) for p in report.problems] == [
        (
            "deep.wacz/datapackage.json",
            "wacz-datapackage",
            "deep.wacz/datapackage.json: unusable: JSON nested 100,001 levels deep, too deep"
            " to read",
        ),
        ("deep.wacz/archive", "wacz-layout", "deep.wacz/archive: no WARC file under archive/"),
    ]


def test_an_index_cache_nested_too_deep_is_ignored_and_rebuilt(tmp_path: Path) -> None:
    warc = tmp_path / "a.warc"
    warc.write_bytes(b"")
    cache = IndexCache(tmp_path / "cache")
    cache.directory.mkdir(parents=True)
    cache.path_for(warc).write_text(f"!archiver-cdxj {DEEP}\n")
    assert cache.load(warc, (0, 0)) is None
    cache.save(warc, FileIndex((0, 0)))
    assert cache.load(warc, (0, 0)) == FileIndex((0, 0))
    with cache.path_for(warc).open("a") as stream:
        stream.write(f"com,example)/ 20200101000000 {DEEP}\n")
    assert cache.load(warc, (0, 0)) is None


def test_an_html_page_whose_json_ld_nests_too_deep_is_read_without_it() -> None:
    page = (
        '<html><head><script type="application/ld+json">' + DEEP + "</script></head>"
        '<body><p>See <a href="https://a.example/">a</a>.</p></body></html>'
    )
    assert [c.url for c in extract_citations(page, "html")] == ["https://a.example/"]
