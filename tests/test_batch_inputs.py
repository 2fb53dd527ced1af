"""What many ARTICLE arguments name (archiver.batch.inputs): folders, globs, lists,
sitemaps and MediaWiki dumps made here, the dumps compressed and streamed."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiver.batch.inputs import ArticleSource, expand
from archiver.cli.main import cli
from archiver.errors import InputError
from tests.wikidump import DumpPage, write_dump


def _names(sources: list[ArticleSource], root: Path) -> list[str]:
    return [str(Path(s.name).relative_to(root)) if s.path else s.name for s in sources]


def _tree(root: Path) -> None:
    for name in [
        "a.md",
        "b.html",
        "notes.txt",
        "sub/c.wiki",
        "sub/deeper/d.markdown",
        "sub/image.png",
        "script.py",
        ".hidden.md",
        ".git/e.md",
    ]:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"[{name}](http://cited.example/{name})\n", encoding="utf-8")


def test_a_folder_gives_every_article_in_it_and_below_in_name_order(tmp_path: Path) -> None:
    _tree(tmp_path)
    names = _names(list(expand([str(tmp_path)])), tmp_path)
    assert names == ["a.md", "b.html", "notes.txt", "sub/c.wiki", "sub/deeper/d.markdown"]


def test_a_glob_gives_what_it_matches_and_one_that_matches_nothing_is_an_error(
    tmp_path: Path,
) -> None:
    _tree(tmp_path)
    found = _names(list(expand([f"{tmp_path}/**/*.m*"])), tmp_path)
    assert found == ["a.md", "sub/deeper/d.markdown"]
    with pytest.raises(InputError, match=r"no file matches .*\*\.rst"):
        list(expand([f"{tmp_path}/*.rst"]))


def test_a_list_file_names_paths_and_urls_and_skips_comments(tmp_path: Path) -> None:
    _tree(tmp_path)
    listing = tmp_path / "list.txt"
    listing.write_text(
        f"# articles to check\n\n{tmp_path / 'a.md'}\nhttp://news.example/story\n"
        f"  {tmp_path / 'sub'}  \n",
        encoding="utf-8",
    )
    sources = list(expand([str(tmp_path / "b.html")], str(listing)))
    assert [s.name for s in sources] == [
        str(tmp_path / "b.html"),
        str(tmp_path / "a.md"),
        "http://news.example/story",
        str(tmp_path / "sub" / "c.wiki"),
        str(tmp_path / "sub" / "deeper" / "d.markdown"),
    ]
    assert sources[2].is_url and not sources[1].is_url
    from_stdin = list(
        expand([], "-", stdin=io.BytesIO(b"http://a.example/\n#x\nhttp://b.example/\n"))
    )
    assert [s.url for s in from_stdin] == ["http://a.example/", "http://b.example/"]


@pytest.mark.parametrize("suffix", [".xml", ".xml.bz2", ".xml.gz"])
def test_a_mediawiki_dump_gives_its_articles_latest_text(tmp_path: Path, suffix: str) -> None:
    dump = write_dump(
        tmp_path / f"testwiki-pages-articles{suffix}",
        [
            DumpPage("Alan Turing", "Cited [http://a.example/ here] & <ref>x</ref>", older="old"),
            DumpPage("Talk:Alan Turing", "[http://talk.example/ talk]", namespace=1),
            DumpPage("Turing", "#REDIRECT [[Alan Turing]]", redirect="Alan Turing"),
            DumpPage("Café/Menu", "{{cite web |url=http://b.example/ |title=B}}"),
        ],
    )
    sources = list(expand([str(dump)]))
    assert [(s.name, s.url, s.text) for s in sources] == [
        (
            f"{dump}#Alan Turing",
            "https://wiki.example/wiki/Alan_Turing",
            "Cited [http://a.example/ here] & <ref>x</ref>",
        ),
        (
            f"{dump}#Café/Menu",
            "https://wiki.example/wiki/Caf%C3%A9/Menu",
            "{{cite web |url=http://b.example/ |title=B}}",
        ),
    ]


def test_a_dump_is_read_in_the_memory_of_one_page_whatever_its_length(tmp_path: Path) -> None:
    """Peak memory (tracemalloc, in a process of its own) reading 1,000 and 8,000 pages
    of a .bz2 dump: streamed, the longer dump needs no more than the shorter."""
    script = textwrap.dedent(
        """
        import sys, tracemalloc
        from pathlib import Path
        from archiver.batch.inputs import expand
        tracemalloc.start()
        count = sum(len(s.text) for s in expand([sys.argv[1]]))
        print(tracemalloc.get_traced_memory()[1], count)
        """
    )
    peaks = {}
    for pages in (1000, 8000):
        body = "Some prose [http://x.example/{n} cited] here. " * 40
        dump = write_dump(
            tmp_path / f"d{pages}.xml.bz2",
            (DumpPage(f"Page {n}", body.format(n=n)) for n in range(pages)),
        )
        out = subprocess.run(
            [sys.executable, "-c", script, str(dump)], capture_output=True, text=True, check=True
        ).stdout.split()
        peaks[pages] = int(out[0])
        assert int(out[1]) >= pages * 1000  # every page's text was read
    assert peaks[8000] < peaks[1000] * 1.5, peaks


def test_a_damaged_dump_is_one_line(tmp_path: Path) -> None:
    dump = tmp_path / "broken-pages-articles.xml"
    dump.write_text(
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/">\n'
        "<page><title>A</title><ns>0</ns><revision><text>[http://a.example/ a]</text>"
        "</revision></page>\n<page><title>B</title><revision>",
        encoding="utf-8",
    )
    sources = expand([str(dump)])
    assert next(sources).text == "[http://a.example/ a]"  # what came before is read
    with pytest.raises(InputError, match=r"cannot read the dump .*not well-formed XML"):
        next(sources)
    bz = tmp_path / "cut-pages-articles.xml.bz2"
    whole = write_dump(tmp_path / "whole.xml.bz2", [DumpPage("A", "a")]).read_bytes()
    bz.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match="cannot read"):
        list(expand([str(bz)]))


def test_a_local_sitemap_gives_the_pages_it_lists(tmp_path: Path) -> None:
    sitemap = tmp_path / "sitemap.xml"
    sitemap.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        "  <url><loc>https://news.example/a</loc><lastmod>2024-01-01</lastmod></url>\n"
        "  <url><loc> https://news.example/b?x=1&amp;y=2 </loc></url>\n"
        "</urlset>\n",
        encoding="utf-8",
    )
    assert [(s.name, s.is_url) for s in expand([str(sitemap)])] == [
        ("https://news.example/a", True),
        ("https://news.example/b?x=1&y=2", True),
    ]


def test_commands_refuse_a_missing_article_or_an_empty_glob_in_one_line(tmp_path: Path) -> None:
    for args in (
        ["check", str(tmp_path / "nothing-*.md")],
        ["run", str(tmp_path / "a.md"), str(tmp_path / "missing.md"), "--store", str(tmp_path)],
    ):
        result = CliRunner().invoke(cli, args)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 1, (args, result.output)
        assert len(lines) == 1 and lines[0].startswith("archiver: error: "), result.output
    assert CliRunner().invoke(cli, ["check"]).exit_code == 2  # nothing named: usage


def test_a_sitemap_index_on_the_web_gives_the_pages_of_its_sitemaps(origin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``archiver check`` of a sitemap index's URL: both sitemaps are fetched (one
    gzipped) and every page they list is checked; the sitemaps themselves are not."""
    import gzip

    from archiver.demo.simweb.origin import Page
    from tests.conftest import CANARY

    def urlset(*locs: str) -> str:
        entries = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
        return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'

    index = (
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>http://news.example/sitemap-1.xml</loc></sitemap>"
        "<sitemap><loc>http://news.example/sitemap-2.xml.gz</loc></sitemap></sitemapindex>"
    )
    origin.add("http://news.example/sitemap.xml", Page(body=index, content_type="application/xml"))
    origin.add(
        "http://news.example/sitemap-1.xml",
        Page(
            body=urlset("http://news.example/a", "http://news.example/b"),
            content_type="application/xml",
        ),
    )
    origin.add(
        "http://news.example/sitemap-2.xml.gz",
        Page(
            body=gzip.compress(urlset("http://news.example/c").encode()),
            content_type="application/gzip",
        ),
    )
    for page in "abc":
        origin.add(
            f"http://news.example/{page}", Page(body=f"<html><p>Story {page}, in full.</p></html>")
        )
    origin.add(CANARY, Page(body="<p>up</p>"))
    resolve = [f"--resolve={host}={address}" for host, address in origin.host_map().items()]
    result = CliRunner().invoke(
        cli,
        ["check", "http://news.example/sitemap.xml", "--format", "json", "--only-resolved",
         f"--resolve=canary.example={origin.address}", "--canary", CANARY,
         "--store", str(tmp_path / "warcs"), *resolve],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    checked = {r["url"]: r["verdict"] for r in json.loads(result.stdout)}
    assert checked == {f"http://news.example/{p}": "alive" for p in "abc"}
