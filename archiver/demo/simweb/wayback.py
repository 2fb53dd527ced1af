"""A real pywb on loopback, standing in for the Wayback Machine.

The tests and ``archiver demo`` need an archive that speaks the same protocols as
web.archive.org: the CDX API, ``id_`` raw replay, ``/web/<ts>/<url>`` closest-capture
redirects and Memento TimeMaps. Faking those with a hand-written server would test our
assumptions rather than the protocol, so this module runs pywb itself over WARC fixtures.

Choices that are not obvious:

- pywb runs as a subprocess (``python -m pywb.apps.cli``, what the ``wayback`` command
  runs, found through ``sys.executable`` rather than ``PATH``) because its server
  monkey-patches the whole process with gevent at import.
- ``config.yaml`` sets ``framed_replay: false`` and ``redirect_to_exact: true`` so that
  ``/web/<ts>/<url>`` answers like the Internet Archive: a redirect to the capture closest to
  ``<ts>`` (pywb answers 307 where the IA answers 302), and ``id_`` likewise.
- Proxy variables are removed from pywb's environment: pywb's front end reaches its own
  index server over HTTP on localhost, and a proxy from the environment would capture that.
- Auto-indexing stays off (it polls); the index is built once, before the server starts,
  in-process with pywb's indexer (what ``wb-manager reindex`` runs, without its start-up).
- WARCs are symlinked into the collection (copied where symlinks are not allowed), so shared
  corpus files are read where they are and never duplicated into the project.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import quote

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver.config import Settings
from archiver.dates import to_http_date, to_iso
from archiver.errors import NetworkError, SetupError
from archiver.net.http import build_session, fetch

PYWB_MISSING = "pywb is not installed: pip install 'archiver[demo]'"

_COLLECTION_NAME = re.compile(r"^\w[-\w]*$")
_ARCHIVE_FILE = re.compile(r"\.w?arc(\.gz)?$", re.IGNORECASE)
_PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
# pywb's replay settings that make it answer like web.archive.org (see the module docstring).
_CONFIG_YAML = "framed_replay: false\nredirect_to_exact: true\nenable_memento: true\n"


@dataclass(frozen=True)
class FixtureCapture:
    """One archived HTTP response to put in a fixture WARC.

    ``headers`` are extra response headers; ``Content-Type``, ``Content-Length`` and
    ``Date`` are added unless given there. A 3xx capture must carry a ``Location`` header.
    A naive ``captured_at`` is taken as UTC.
    """

    url: str
    captured_at: datetime
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: Sequence[tuple[str, str]] = ()


def pywb_installed() -> bool:
    return importlib.util.find_spec("pywb") is not None


def ensure_pywb() -> None:
    """Raise ``SetupError`` when pywb cannot be imported (it is the ``demo`` extra)."""
    if not pywb_installed():
        raise SetupError(PYWB_MISSING)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _record_id(capture: FixtureCapture, index: int) -> str:
    # Derived from the capture, so the same fixtures give byte-identical records (apart
    # from gzip headers), which keeps CDX digests and offsets stable between runs.
    name = f"{index} {capture.url} {to_iso(_utc(capture.captured_at))}"
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}>"


def write_fixture_warc(path: Path, captures: Sequence[FixtureCapture]) -> None:
    """Write ``captures`` as gzipped WARC ``response`` records, one per capture.

    The WARC-Date of each record is its ``captured_at``, which is the timestamp pywb
    indexes and replays it under.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for index, capture in enumerate(captures):
            given = {name.lower() for name, _ in capture.headers}
            if 300 <= capture.status < 400 and "location" not in given:
                raise ValueError(f"a {capture.status} capture of {capture.url} needs a Location")
            captured_at = _utc(capture.captured_at)
            headers: list[tuple[str, str]] = []
            if "date" not in given:
                headers.append(("Date", to_http_date(captured_at)))
            if "content-type" not in given:
                headers.append(("Content-Type", capture.content_type))
            if "content-length" not in given:
                headers.append(("Content-Length", str(len(capture.body))))
            headers.extend(capture.headers)
            try:
                reason = HTTPStatus(capture.status).phrase
            except ValueError:
                reason = "Unknown"
            http_headers = StatusAndHeaders(
                f"{capture.status} {reason}", headers, protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                capture.url,
                "response",
                payload=BytesIO(capture.body),
                http_headers=http_headers,
                warc_headers_dict={
                    "WARC-Date": to_iso(captured_at),
                    "WARC-Record-ID": _record_id(capture, index),
                },
            )
            writer.write_record(record)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _child_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARIABLES}
    env["NO_PROXY"] = env["no_proxy"] = "*"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(kept) if kept else "(empty log)"


class WaybackServer:
    """pywb serving ``warcs`` as collection ``collection`` on 127.0.0.1, as a context manager.

    ``workdir`` receives the pywb directory (``config.yaml``, ``collections/``) and
    ``pywb.log``; it should be empty or hold only an earlier ``WaybackServer``'s files.
    ``port`` fixes the port (for a demo a person browses); by default a free one is used.
    ``stock`` runs pywb in its default configuration (no ``config.yaml``: framed replay,
    no redirect to the exact timestamp), as OpenWayback-like servers answer. ``host`` is
    the address pywb listens on (``archiver serve --host``).

    >>> with WaybackServer(tmp_path, [warc]) as archive:  # doctest: +SKIP
    ...     archive.base_url   # "http://127.0.0.1:PORT/web/"
    ...     archive.cdx_url    # "http://127.0.0.1:PORT/web/cdx"
    """

    def __init__(
        self,
        workdir: Path,
        warcs: Sequence[Path],
        collection: str = "web",
        *,
        port: int | None = None,
        startup_timeout: float = 30.0,
        stock: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        if not _COLLECTION_NAME.match(collection):
            raise ValueError(f"invalid pywb collection name: {collection!r}")
        self.workdir = Path(workdir)
        self.warcs = [Path(w) for w in warcs]
        self.collection = collection
        self.startup_timeout = startup_timeout
        self.stock = stock
        self.requested_port = port
        self.host = host
        self.port: int | None = None  # the port pywb listens on, while it runs
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # -- addresses -------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the Wayback server is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def base_url(self) -> str:
        """The replay base: ``<base_url><timestamp>/<url>`` and ``<timestamp>id_/<url>``."""
        return f"{self.root_url}{self.collection}/"

    @property
    def cdx_url(self) -> str:
        return f"{self.base_url}cdx"

    @property
    def spec(self) -> str:
        """The ``--archive`` value that points archiver at this server."""
        return f"wayback:{self.base_url}"

    def timemap_url(self, url: str) -> str:
        return f"{self.base_url}timemap/link/{url}"

    @property
    def pid(self) -> int | None:
        """pywb's process id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path:
        return self.workdir / "pywb.log"

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> WaybackServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Index the WARCs, start pywb and return once it answers CDX queries."""
        ensure_pywb()
        if self._process is not None:
            return
        self._build_collection()
        # Choosing a free port and binding it are two steps; another process can take the
        # port in between, so a start that fails on a busy port is retried on a new one.
        attempts = 1 if self.requested_port is not None else 3
        for attempt in range(1, attempts + 1):
            self.port = self.requested_port or _free_port()
            self._spawn()
            try:
                self._wait_until_ready()
            except SetupError:
                busy = "Address already in use" in _tail(self.log_path)
                self.stop()
                if busy and attempt < attempts:
                    continue
                raise
            except BaseException:  # KeyboardInterrupt included: never leave pywb behind
                self.stop()
                raise
            atexit.register(self.stop)
            return

    def stop(self) -> None:
        """Stop pywb (terminate, then kill after a grace period); safe to call twice."""
        atexit.unregister(self.stop)
        self._terminate()
        self.port = None

    # -- internals -------------------------------------------------------------------

    def _build_collection(self) -> None:
        collection_dir = self.workdir / "collections" / self.collection
        archive_dir = collection_dir / "archive"
        index_dir = collection_dir / "indexes"
        if archive_dir.exists():
            shutil.rmtree(archive_dir)
        for directory in (
            archive_dir,
            index_dir,
            self.workdir / "static",
            self.workdir / "templates",
        ):
            directory.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.yaml"
        if self.stock:
            config.unlink(missing_ok=True)  # pywb's own defaults, as a user installs it
        else:
            config.write_text(_CONFIG_YAML, encoding="utf-8")

        for number, warc in enumerate(self.warcs):
            source = warc.resolve()
            if not source.is_file():
                raise SetupError(f"WARC file not found: {warc}")
            if not _ARCHIVE_FILE.search(source.name):
                raise SetupError(f"not a WARC or ARC file (by its name): {warc}")
            # Numbered, so two WARCs with the same name from different places both count.
            link = archive_dir / f"{number:03d}-{source.name}"
            try:
                link.symlink_to(source)
            except OSError:
                shutil.copy2(source, link)

        with warnings.catch_warnings():
            # pywb imports the "cgi" module, deprecated since Python 3.11; not our concern.
            warnings.simplefilter("ignore", DeprecationWarning)
            from pywb.indexer.cdxindexer import write_multi_cdx_index

        index = index_dir / "index.cdxj"
        try:
            # The options wb-manager's "reindex" uses; filenames are relative to archive/.
            write_multi_cdx_index(
                str(index),
                [str(archive_dir)],
                sort=True,
                cdxj=True,
                recurse=True,
                append_post=True,
            )
        except Exception as e:  # pywb raises many kinds on a damaged file
            raise SetupError(f"pywb could not index the WARCs: {e}") from e

    def _spawn(self) -> None:
        assert self.port is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        command = [
            sys.executable,
            "-m",
            "pywb.apps.cli",
            "--bind",
            self.host,
            "--port",
            str(self.port),
        ]
        self._process = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=_child_environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        # A CDX query goes through pywb's front end and its internal index server, so an
        # answer means both are up (the front page alone would not prove that).
        probe = f"{self.cdx_url}?url={quote('http://readiness.invalid/', safe='')}&limit=1"
        settings = Settings(timeout=2.0, retries=0)
        session = build_session(settings)
        session.trust_env = False  # loopback must never go through a proxy
        deadline = time.monotonic() + self.startup_timeout
        try:
            while True:
                code = self._process.poll()
                if code is not None:
                    raise self._startup_error(f"pywb exited with status {code} while starting")
                try:
                    if fetch(session, probe, settings, max_bytes=64 * 1024).status == 200:
                        return
                except NetworkError:
                    pass
                if time.monotonic() > deadline:
                    raise self._startup_error(
                        f"pywb did not answer on {self.root_url} within {self.startup_timeout:g}s"
                    )
                time.sleep(0.05)
        finally:
            session.close()

    def _startup_error(self, summary: str) -> SetupError:
        """One line for the user (with pywb's last words); the log's tail as a note.

        The note shows in tracebacks (pytest, CI logs), where the detail is needed.
        """
        tail = _tail(self.log_path)
        last = tail.splitlines()[-1].strip() if tail else ""
        error = SetupError(f"{summary}: {last} (log: {self.log_path})")
        error.add_note(f"pywb's log ends:\n{tail}")
        return error

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None


def payload_digest(body: bytes) -> str:
    """The CDX ``digest`` of a payload: sha1, base32, as archives record it."""
    return base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")
