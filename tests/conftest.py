"""Shared fixtures: a simulated live web on loopback and the path to ../shared."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer
from archiver.demo.simweb.wayback import (
    FixtureCapture,
    WaybackServer,
    pywb_installed,
    write_fixture_warc,
)


def shared_dir() -> Path:
    """``../shared`` beside the checkout (CI lays it there); ARCHIVER_SHARED overrides."""
    override = os.environ.get("ARCHIVER_SHARED")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared"


def require_shared(*parts: str) -> Path:
    path = shared_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"{path} is absent: the shared reference files are not laid beside the checkout"
        )
    return path


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True, scope="session")
def _state_and_caches_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test writes state or caches into the home directory of the machine running the
    suite (nor into a folder its user chose): module-wide fixtures get these ..."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARCHIVER_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        patch.setenv("ARCHIVER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(autouse=True)
def _state_and_caches_of_the_test(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """... and each test its own, so that no check history or lookup reaches another test
    (a test may still set its own). Subprocesses inherit them with the environment."""
    monkeypatch.setenv("ARCHIVER_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("ARCHIVER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def origin() -> Iterator[OriginServer]:
    with OriginServer() as server:
        yield server


CANARY = "http://canary.example/"

# A report's life in an archive, shared by the find and Memento tests: a draft, the report,
# a captured 404, a captured redirect to the home page, and a later version.
REPORT = "http://news.example/2018/q3-report.html"
REPORT_HISTORY = [
    FixtureCapture(REPORT, datetime(2017, 12, 1, 8, 0, tzinfo=UTC), body=b"<p>Q3 draft</p>"),
    FixtureCapture(REPORT, datetime(2018, 6, 15, 10, 30, tzinfo=UTC), body=b"<p>Q3 report</p>"),
    FixtureCapture(REPORT, datetime(2018, 10, 2, 14, 0, tzinfo=UTC), 404, b"<h1>Not Found</h1>"),
    FixtureCapture(
        REPORT,
        datetime(2018, 11, 20, 9, 0, tzinfo=UTC),
        302,
        headers=[("Location", "http://news.example/")],
    ),
    FixtureCapture(REPORT, datetime(2019, 1, 5, tzinfo=UTC), body=b"<p>Q3 report, v2</p>"),
]


def sandbox_settings(origin: OriginServer, **changes: object) -> Settings:
    """Settings that reach only the origin server: every other name does not resolve.

    The offline canary is one of the origin's names, so the network counts as up.
    """
    base = Settings(
        host_map={**origin.host_map(), "canary.example": origin.address},
        resolve_only=True,
        timeout=2.0,
        retries=0,
        canary_url=CANARY,
    )
    return base.replace(**changes)


@pytest.fixture
def sandbox(origin: OriginServer, tmp_path: Path) -> Settings:
    return sandbox_settings(origin, store=tmp_path / "warcs")


@contextlib.contextmanager
def running_wayback(
    workdir: Path, captures: Sequence[FixtureCapture], extra_warcs: Sequence[Path] = ()
) -> Iterator[WaybackServer]:
    """A real pywb over a WARC of ``captures`` (plus ``extra_warcs``); skips without pywb."""
    if not pywb_installed():
        pytest.skip("pywb is not installed (pip install 'archiver[test]'): no Wayback stand-in")
    fixture = workdir / "fixture.warc.gz"
    write_fixture_warc(fixture, captures)
    with WaybackServer(workdir / "pywb", [fixture, *extra_warcs]) as server:
        yield server


def archive_settings(servers: Mapping[str, WaybackServer], **changes: object) -> Settings:
    """Only the named hosts resolve (each to its pywb); any other name fails like a
    missing host."""
    base = Settings(
        host_map={host: f"127.0.0.1:{server.port}" for host, server in servers.items()},
        resolve_only=True,
        timeout=5.0,
        retries=0,
    )
    return base.replace(**changes)
