"""Host names as browsers write them, and the host map that pins them (``archiver.net.hostmap``)."""

from __future__ import annotations

import socket

import pytest

from archiver.config import Settings
from archiver.net.hostmap import HostMap, ascii_host
from archiver.net.http import build_session, fetch
from tests.scripted_server import ScriptedServer, answers, ok


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("news.example", "news.example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("faß.example", "xn--fa-hia.example"),  # UTS 46, non-transitional: not fass.example
        ("βόλος.example", "xn--nxasmm1c.example"),  # the final sigma stays
        ("☕.example", "xn--53h.example"),  # allowed by UTS 46 as browsers apply it
        ("ｎｅｗｓ．example", "news.example"),  # full-width letters and dot are mapped
    ],
)
def test_host_names_are_written_as_browsers_write_them(name: str, written: str) -> None:
    assert ascii_host(name) == written


@pytest.mark.parametrize(
    "name",
    [
        "a..example",
        "x" * 64 + ".example",
        "ü" + "x" * 70 + ".example",  # refused here, not by the resolver's codec
        "bad\u0000.example",  # getaddrinfo raised ValueError on it, which ended the run
        "a b.example",
        "a%20b.example",
    ],
)
def test_names_no_browser_would_ask_for_are_refused(name: str) -> None:
    with pytest.raises(UnicodeError):
        ascii_host(name)


@pytest.mark.parametrize("key", ["faß.example", "FAß.example.", "xn--fa-hia.example"])
def test_the_map_finds_a_name_however_it_is_spelled(key: str) -> None:
    host_map = HostMap({key: "127.0.0.9:8080"}, resolve_only=True)
    assert host_map.resolve("xn--fa-hia.example", 80) == ("127.0.0.9", 8080)
    with pytest.raises(socket.gaierror):
        host_map.resolve("fass.example", 80)  # another registrant's name


def test_archive_requests_reach_a_mapped_international_name() -> None:
    # requests names hosts by UTS 46 too: the map, keyed as the user wrote the name,
    # must find it (with IDNA 2003 keys it looked up fass.example and found nothing).
    with ScriptedServer(answers(ok(b"archived"))) as server:
        settings = Settings(
            timeout=2.0, resolve_only=True, host_map={"faß.example": server.address}
        )
        with build_session(settings) as session:
            answer = fetch(session, "http://faß.example/page", settings)
    assert answer.body == b"archived"
    assert server.requests[0].headers["host"] == "xn--fa-hia.example"
