"""Archive links unpack into the original URL and the capture time, for every archive."""

from __future__ import annotations

import pytest

from archiver.archives.urls import ArchiveLink, archive_name, parse_archive_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://web.archive.org/web/20180105123456/https://example.com/a?b=1#c",
            ArchiveLink("https://example.com/a?b=1#c", "2018-01-05T12:34:56Z", "ia"),
        ),
        (
            "http://web.archive.org/web/20180105123456/http://example.com/",
            ArchiveLink("http://example.com/", "2018-01-05T12:34:56Z", "ia"),
        ),
        (
            "https://www.web.archive.org/web/20180105123456/http://example.com/",
            ArchiveLink("http://example.com/", "2018-01-05T12:34:56Z", "ia"),
        ),
        (
            "https://web.archive.org/web/2018id_/http://example.com/page",
            ArchiveLink("http://example.com/page", "2018-01-01T00:00:00Z", "ia"),
        ),
        (
            "https://web.archive.org/web/201803if_/http://example.com/page",
            ArchiveLink("http://example.com/page", "2018-03-01T00:00:00Z", "ia"),
        ),
        (
            "https://web.archive.org/web/20180105im_/http://example.com/logo.png",
            ArchiveLink("http://example.com/logo.png", "2018-01-05T00:00:00Z", "ia"),
        ),
        (
            "https://web.archive.org/web/*/http://example.com/page",
            ArchiveLink("http://example.com/page", None, "ia"),
        ),
        (
            "https://web.archive.org/web/2018*/example.com/page",
            ArchiveLink("http://example.com/page", None, "ia"),
        ),
        (
            "https://web.archive.org/web/https://example.com/latest",
            ArchiveLink("https://example.com/latest", None, "ia"),
        ),
        (  # the "//" after the scheme collapsed by some tool on the way
            "https://web.archive.org/web/20180105000000/http:/example.com/x",
            ArchiveLink("http://example.com/x", "2018-01-05T00:00:00Z", "ia"),
        ),
        (
            "https://web.archive.org/web/20180105000000/http%3A%2F%2Fexample.com%2Fx",
            ArchiveLink("http://example.com/x", "2018-01-05T00:00:00Z", "ia"),
        ),
        (  # no such day: still the Internet Archive's link to the page, without a date
            "https://web.archive.org/web/20181345000000/http://example.com/x",
            ArchiveLink("http://example.com/x", None, "ia"),
        ),
        (
            "https://archive.ph/20190203040506/https://news.example.com/story",
            ArchiveLink("https://news.example.com/story", "2019-02-03T04:05:06Z", "archive.today"),
        ),
        (
            "http://archive.is/20190203040506/https://news.example.com/story",
            ArchiveLink("https://news.example.com/story", "2019-02-03T04:05:06Z", "archive.today"),
        ),
        (
            "https://archive.today/2013.07.07-055408/http://news.example.com/old",
            ArchiveLink("http://news.example.com/old", "2013-07-07T05:54:08Z", "archive.today"),
        ),
        (
            "https://archive.li/newest/https://news.example.com/story",
            ArchiveLink("https://news.example.com/story", None, "archive.today"),
        ),
        (
            "https://arquivo.pt/wayback/20170102030405/http://jornal.example.pt/artigo",
            ArchiveLink("http://jornal.example.pt/artigo", "2017-01-02T03:04:05Z", "arquivo.pt"),
        ),
        (
            "https://webarchive.loc.gov/all/20160708091011/https://agency.example.gov/report",
            ArchiveLink("https://agency.example.gov/report", "2016-07-08T09:10:11Z", "loc"),
        ),
        (
            "https://www.webarchive.org.uk/wayback/archive/20150607080910/http://council.example.uk/",
            ArchiveLink("http://council.example.uk/", "2015-06-07T08:09:10Z", "ukwa"),
        ),
        (
            "https://perma-archives.org/warc/20160331221305/https://agency.example.gov/table",
            ArchiveLink("https://agency.example.gov/table", "2016-03-31T22:13:05Z", "perma.cc"),
        ),
        (
            "http://www.webcitation.org/5kwLxW9ad?url=http://journal.example.org/paper",
            ArchiveLink("http://journal.example.org/paper", None, "webcite"),
        ),
        (  # a pywb on loopback, the tests' stand-in for the Wayback Machine
            "http://127.0.0.1:8080/web/20180101000000/http://x.example/",
            ArchiveLink("http://x.example/", "2018-01-01T00:00:00Z", "wayback"),
        ),
        (
            "https://wayback.library.example/collection/20200304050607id_/https://x.example/p",
            ArchiveLink("https://x.example/p", "2020-03-04T05:06:07Z", "wayback"),
        ),
        (  # without a scheme, as editors often paste it
            "web.archive.org/web/20180105123456/example.com/a",
            ArchiveLink("http://example.com/a", "2018-01-05T12:34:56Z", "ia"),
        ),
    ],
)
def test_parse_archive_url_recovers_original_and_datetime(url: str, expected: ArchiveLink) -> None:
    assert parse_archive_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/2018/01/05/story",
        "https://example.com/20180105123456/not-an-original",
        "https://example.com/archive/2019/http-explained",
        "",
    ],
)
def test_ordinary_urls_are_not_archive_links(url: str) -> None:
    assert parse_archive_url(url) is None
    assert archive_name(url) is None


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://archive.ph/AbCd1", "archive.today"),
        ("http://archive.is/XyZ12", "archive.today"),
        ("https://perma.cc/ABCD-1234", "perma.cc"),
        ("http://www.webcitation.org/6ABCdefGH", "webcite"),
        ("https://web.archive.org/web/20180105123456/", "ia"),
    ],
)
def test_short_archive_links_have_no_original_but_are_recognised(url: str, name: str) -> None:
    assert parse_archive_url(url) is None
    assert archive_name(url) == name


def test_archive_name_of_unpackable_links_matches_parse() -> None:
    assert archive_name("https://web.archive.org/web/2018/http://example.com/") == "ia"
    assert archive_name("http://localhost:8080/my-web/20180101000000/http://x.example/") == (
        "wayback"
    )
